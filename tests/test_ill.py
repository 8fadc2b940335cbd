"""ISO 10161's terms (isoill.ill): the versions, the APDU types and who sends each, and the
transaction-id as a key."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import get_args

import pytest

from isoill.codec.models import APDU, ILLAPDUType, MostRecentService, SystemId, TransactionId
from isoill.codec.plan import APDUS
from isoill.codec.text import Text
from isoill.ill.apdus import APDU_FLOW, ApduType, Flow, Role
from isoill.ill.enumerated import ILL_APDU_TYPE, MOST_RECENT_SERVICE
from isoill.ill.symbols import system_id
from isoill.ill.transaction_id import KeyParts, json_array, key_parts, shown, transaction_key
from isoill.ill.versions import PROTOCOL_VERSION, SUPPORTED_VERSIONS, reply_version

FROM_REQUESTER = [
    "ILL-Request", "Conditional-Reply", "Cancel", "Received", "Returned", "Renew"
]  # fmt: skip
FROM_RESPONDER = [
    "Forward-Notification", "Shipped", "ILL-Answer", "Cancel-Reply", "Recall", "Checked-In",
    "Overdue", "Renew-Answer",
]  # fmt: skip
MODULES = ["apdus", "enumerated", "symbols", "transaction_id", "versions"]

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


def transaction_id(
    initial: SystemId | None, group: bytes, qualifier: bytes, sub: bytes | None = None
) -> TransactionId:
    return TransactionId(
        initial_requester_id=initial,
        transaction_group_qualifier=Text(group),
        transaction_qualifier=Text(qualifier),
        sub_transaction_qualifier=None if sub is None else Text(sub),
    )


@pytest.mark.parametrize(
    ("tid", "key"),
    [
        (transaction_id(system_id("ALIB"), b"grp", b"42"), '["ALIB", "grp", "42", null]'),
        # the symbol as kept, the qualifiers as sent, not ASCII-escaped
        (
            transaction_id(system_id(" alib "), b"", "Ü 1".encode(), b"s"),
            '["ALIB", "", "Ü 1", "s"]',
        ),
        (transaction_id(None, b"g", b"\xe9"), '[null, "g", "é", null]'),  # Latin-1, decoded
        (transaction_id(SystemId(), b"g", b'"q"'), '[null, "g", "\\"q\\"", null]'),
    ],
)
def test_the_key_of_a_transaction_id_is_stored_form_byte_for_byte(
    tid: TransactionId, key: str
) -> None:
    assert transaction_key(tid) == key
    parts = key_parts(key)
    assert parts is not None
    assert parts.group_qualifier == tid.transaction_group_qualifier.text
    assert parts.qualifier == tid.transaction_qualifier.text


def test_a_key_comes_apart_into_the_transaction_ids_parts() -> None:
    assert key_parts('["ALIB", "grp", "42", null]') == KeyParts("ALIB", "grp", "42", None)
    parts = key_parts('[null, "", "Ü 1", "sub"]')
    assert parts is not None
    assert parts._asdict() == {
        "initial_requester": None,
        "group_qualifier": "",
        "qualifier": "Ü 1",
        "sub_qualifier": "sub",
    }


@pytest.mark.parametrize(
    "other",
    ["", "ALIB/grp/42", "{}", '"ALIB"', '["ALIB", "grp", "42"]', '["A", "g", "q", null, null]',
     '["A", null, "q", null]', '["A", "g", 42, null]', '[1, "g", "q", null]', '["A", "g", "q", 1]'],
)  # fmt: skip
def test_a_string_of_another_form_is_no_key(other: str) -> None:
    assert key_parts(other) is None
    assert shown(other) == json.dumps(other, ensure_ascii=False)


def test_the_key_as_people_read_it() -> None:
    assert shown('["ALIB", "grp", "42", null]') == 'ALIB/"grp"/"42"'
    assert shown('[null, "", "Ü 1", "sub"]') == '-/""/"Ü 1"/"sub"'
    assert shown('["ALIB", "g\\n", "\\u0007", null]') == 'ALIB/"g\\n"/"\\u0007"'  # escaped
    # the simulated peer showed the initial requester as sent; now as kept, as everywhere
    assert shown(transaction_key(transaction_id(system_id(" alib "), b"g", b"1"))) == 'ALIB/"g"/"1"'


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_nothing_but_the_codec_and_no_io(module: str) -> None:
    """Each in a fresh interpreter: what it loads of isoill, and whether asyncio."""
    probe = (
        f"import json, sys, isoill.ill.{module}; "
        "print(json.dumps([n for n in sys.modules if n.startswith(('isoill.', 'asyncio'))]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    assert f"isoill.ill.{module}" in loaded  # the probe sees what it imports
    assert [name for name in loaded if not name.startswith(("isoill.ill", "isoill.codec"))] == []
    if module != "enumerated":  # the others serve commands that must not build the models
        assert "isoill.codec.models" not in loaded


@pytest.mark.parametrize("ascii_only", [False, True])
@pytest.mark.parametrize(
    "parts",
    [
        [],
        [None],
        ["ALIB", "grp", "42", None],
        ['quote " and \\ backslash', "tab\tnewline\n", "\x00\x1f\x7f", "straße İ €", "😀 \ud800"],
    ],
)
def test_json_array_writes_what_json_dumps_writes(
    parts: list[str | None], ascii_only: bool
) -> None:
    assert json_array(parts, ascii_only) == json.dumps(parts, ensure_ascii=ascii_only)
