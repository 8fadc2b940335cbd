"""ISO 10161's terms (isoill.ill): the versions, the APDU types and who sends each, and the
transaction-id as a key."""

from __future__ import annotations

from isoill.codec.plan import APDUS
from isoill.ill.apdus import APDU_FLOW, ApduType, Flow, Role
from isoill.ill.versions import PROTOCOL_VERSION, SUPPORTED_VERSIONS, reply_version

FROM_REQUESTER = [
    "ILL-Request", "Conditional-Reply", "Cancel", "Received", "Returned", "Renew"
]  # fmt: skip
FROM_RESPONDER = [
    "Forward-Notification", "Shipped", "ILL-Answer", "Cancel-Reply", "Recall", "Checked-In",
    "Overdue", "Renew-Answer",
]  # fmt: skip
EITHER = ["Lost", "Damaged", "Message", "Status-Query", "Status-Or-Error-Report", "Expired"]


def test_an_apdu_is_answered_in_its_version_if_it_is_one_the_standard_defines() -> None:
    assert SUPPORTED_VERSIONS == (1, 2)
    assert PROTOCOL_VERSION == 2
    assert [reply_version(version) for version in (1, 2)] == [1, 2]
    assert [reply_version(version) for version in (0, 3, -1, 2**31)] == [2, 2, 2, 2]


def test_the_apdu_types_are_the_codecs_by_the_standards_names_in_its_order() -> None:
    assert list(ApduType) == list(APDUS)
    for apdu_type, node in zip(ApduType, APDUS.values(), strict=True):
        assert apdu_type == node.model.apdu_type  # a member equals the model's string
        assert str(apdu_type) == node.model.apdu_type and f"{apdu_type}" == apdu_type.value
        assert ApduType(node.model.apdu_type) is apdu_type


def test_flow_table_covers_the_codec_apdus() -> None:
    assert set(APDU_FLOW) == set(APDUS)
    assert {name for name, flow in APDU_FLOW.items() if flow is Flow.FROM_REQUESTER} == set(
        FROM_REQUESTER
    )
    assert {name for name, flow in APDU_FLOW.items() if flow is Flow.FROM_RESPONDER} == set(
        FROM_RESPONDER
    )
    assert {name for name, flow in APDU_FLOW.items() if flow is Flow.EITHER} == set(EITHER)


def test_the_flow_table_looks_up_by_member_and_by_string() -> None:
    for apdu_type in ApduType:
        assert APDU_FLOW[apdu_type] is APDU_FLOW[apdu_type.value]
        assert APDU_FLOW.get(str(apdu_type)) is APDU_FLOW[apdu_type]
    assert APDU_FLOW.get("ILL-REQUEST") is None  # the standard's spelling only
    assert "Forward" not in APDU_FLOW


def test_each_role_has_the_other() -> None:
    assert Role.REQUESTER.other is Role.RESPONDER
    assert Role.RESPONDER.other is Role.REQUESTER
