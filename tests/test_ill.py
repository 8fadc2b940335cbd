"""ISO 10161's terms (isoill.ill): the versions, the APDU types and who sends each, and the
transaction-id as a key."""

from __future__ import annotations

from typing import get_args

from isoill.codec.models import APDU, ILLAPDUType, MostRecentService
from isoill.codec.plan import APDUS
from isoill.ill.apdus import APDU_FLOW, ApduType, Flow, Role
from isoill.ill.enumerated import ILL_APDU_TYPE, MOST_RECENT_SERVICE
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
    for apdu_type, model in zip(ApduType, get_args(APDU), strict=True):
        assert apdu_type == model.apdu_type  # a member equals the model's string
        assert str(apdu_type) == model.apdu_type and f"{apdu_type}" == apdu_type.value
        assert ApduType(model.apdu_type) is apdu_type


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


def test_every_apdu_type_is_an_ill_apdu_type_of_its_own_name() -> None:
    assert list(ILL_APDU_TYPE) == list(ApduType)
    assert list(ILL_APDU_TYPE.values()) == list(ILLAPDUType)  # each once, in order
    for apdu_type in ApduType:
        value = ILL_APDU_TYPE[apdu_type]
        assert value.asn1_name.casefold() == apdu_type.value.casefold()
        assert ILL_APDU_TYPE[apdu_type.value] is value


def test_most_recent_service_names_every_apdu_type_but_overdue_and_renew() -> None:
    assert set(ApduType) - set(MOST_RECENT_SERVICE) == {ApduType.OVERDUE, ApduType.RENEW}
    assert set(MostRecentService) - set(MOST_RECENT_SERVICE.values()) == {MostRecentService.FORWARD}
    for apdu_type, value in MOST_RECENT_SERVICE.items():
        assert value.asn1_name.casefold() == apdu_type.casefold()
        assert int(value) == int(ILL_APDU_TYPE[apdu_type])  # the two number APDUs alike
