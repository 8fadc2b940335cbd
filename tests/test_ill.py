"""ISO 10161's terms (isoill.ill): the versions, the APDU types and who sends each, and the
transaction-id as a key."""

from __future__ import annotations

from isoill.ill.versions import PROTOCOL_VERSION, SUPPORTED_VERSIONS, reply_version


def test_an_apdu_is_answered_in_its_version_if_it_is_one_the_standard_defines() -> None:
    assert SUPPORTED_VERSIONS == (1, 2)
    assert PROTOCOL_VERSION == 2
    assert [reply_version(version) for version in (1, 2)] == [1, 2]
    assert [reply_version(version) for version in (0, 3, -1, 2**31)] == [2, 2, 2, 2]
