"""Agency ids and request ids both ways: the symbol rule and its overrides, and the request id
encoding of a transaction-id, exact both ways (properties over any qualifiers and any id an
XML document can carry), through the wire layer too."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import ISO18626_SAMPLES

from isoill.bridge.agency import AgencyId, AgencyMap, agency_of, symbol_for
from isoill.bridge.ids import (
    GROUP,
    Keyed,
    request_id_for,
    retry_transaction_id,
    supplying_request_id_for,
    transaction_for,
    xml_text,
)
from isoill.codec.models import SystemId, TransactionId
from isoill.codec.text import Text
from isoill.ill.symbols import symbol_key, system_id
from isoill.ill.transaction_id import transaction_key
from isoill.iso18626 import v1_2, wire

PROPERTIES = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

REQUESTER = "ALIB"


def tid(
    group: bytes,
    qualifier: bytes,
    sub: bytes | None = None,
    initial: SystemId | None = None,
) -> TransactionId:
    return TransactionId(
        initial_requester_id=initial,
        transaction_group_qualifier=Text(group),
        transaction_qualifier=Text(qualifier),
        sub_transaction_qualifier=Text(sub) if sub is not None else None,
    )


def institution(raw: bytes) -> SystemId:
    return SystemId.model_validate({"person-or-institution-symbol": {"institution-symbol": raw}})


# --- agency ids ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "agency"),
    [
        ("DK-710100", AgencyId("ISIL", "DK-710100")),
        ("isil:dk-710100", AgencyId("ISIL", "DK-710100")),
        ("RESHARE:DIKUA", AgencyId("RESHARE", "DIKUA")),
        ("OCLC:A:B", AgencyId("OCLC", "A:B")),  # split at the first colon
        (":X", AgencyId("ISIL", ":X")),  # nothing before the colon: an ISIL
        ("X:", AgencyId("ISIL", "X:")),
        ("  alib ", AgencyId("ISIL", "ALIB")),
    ],
)
def test_a_symbol_is_type_and_value_split_at_the_first_colon(symbol: str, agency: AgencyId) -> None:
    assert agency_of(symbol) == agency


@pytest.mark.parametrize(
    ("agency", "symbol"),
    [
        (AgencyId("ISIL", "US-ocolcm"), "US-OCOLCM"),
        (AgencyId("isil", "DK-1"), "DK-1"),
        (AgencyId("ISIL", "A:B"), "ISIL:A:B"),  # an ISIL with a colon keeps its type
        (AgencyId("RESHARE", "diku"), "RESHARE:DIKU"),
    ],
)
def test_an_agency_id_is_read_as_the_symbol_rule_keeps_it(agency: AgencyId, symbol: str) -> None:
    assert symbol_for(agency) == symbol


def test_overrides_win_both_ways_and_keep_the_peers_spelling() -> None:
    overrides = AgencyMap.of({"OCOLCM": AgencyId("ISIL", "US-ocolcm")})
    assert agency_of("ocolcm", overrides) == AgencyId("ISIL", "US-ocolcm")
    assert symbol_for(AgencyId("isil", "US-OCOLCM"), overrides) == "OCOLCM"
    assert agency_of("OTHER", overrides) == AgencyId("ISIL", "OTHER")


def test_an_agency_map_names_each_symbol_and_agency_once() -> None:
    with pytest.raises(ValueError, match="symbol twice"):
        AgencyMap((("a", AgencyId("ISIL", "X")), ("A", AgencyId("ISIL", "Y"))))
    with pytest.raises(ValueError, match="agency id twice"):
        AgencyMap((("A", AgencyId("ISIL", "X")), ("B", AgencyId("isil", "x"))))


_PART = st.text(st.characters(codec="utf-8", exclude_characters=":"), min_size=1)


@PROPERTIES
@given(kind=_PART, value=st.text(st.characters(codec="utf-8"), min_size=1))
def test_an_agency_id_comes_back_from_its_symbol(kind: str, value: str) -> None:
    agency = AgencyId(kind, value)
    symbol = symbol_for(agency)
    assert symbol == symbol_key(symbol)
    assert symbol_for(agency_of(symbol)) == symbol  # a symbol names one agency
    if kind == symbol_key(kind) and value == symbol_key(value) and value:
        assert agency_of(symbol) == agency


# --- request ids --------------------------------------------------------------------------------


def test_a_transaction_started_on_10161_is_named_by_its_qualifiers() -> None:
    name = tid(b"grp", b"42", initial=system_id(REQUESTER))
    assert request_id_for(name, REQUESTER) == "grp/42"
    assert request_id_for(name, REQUESTER, retry=2) == "grp/42+2"
    assert transaction_for(REQUESTER, "grp/42+2") == Keyed(name, 2)


def test_reserved_and_non_ascii_bytes_are_escaped() -> None:
    name = tid(b"a/b", "Bücher 100%".encode(), b"@+", initial=system_id(REQUESTER))
    encoded = request_id_for(name, REQUESTER)
    assert encoded == "a%2Fb/B%C3%BCcher%20100%25/%40%2B"
    assert transaction_for(REQUESTER, encoded).transaction_id == name


def test_another_initial_requester_is_named_and_none_is_an_empty_one() -> None:
    other = tid(b"grp", b"1", initial=system_id("BLIB"))
    assert request_id_for(other, REQUESTER) == "grp/1@BLIB"
    nobody = tid(b"grp", b"1")
    assert request_id_for(nobody, REQUESTER) == "grp/1@"
    for name in (other, nobody):
        assert transaction_for(REQUESTER, request_id_for(name, REQUESTER)).transaction_id == name
    # a symbol spelt otherwise than the requester's is kept as spelt
    lower = tid(b"grp", b"1", initial=institution(b"alib"))
    assert request_id_for(lower, REQUESTER) == "grp/1@alib"


@pytest.mark.parametrize("request_id", ["my123", "168166854", "ISO18626/x", "%41/b", "a/b/c/d"])
def test_a_request_id_of_another_form_is_an_18626_requesters_own(request_id: str) -> None:
    keyed = transaction_for(REQUESTER, request_id)
    assert keyed == Keyed(tid(GROUP.encode(), request_id.encode(), initial=system_id(REQUESTER)))
    assert request_id_for(keyed.transaction_id, REQUESTER) == request_id


def test_an_18626_id_that_looks_like_an_encoding_is_read_as_one_consistently() -> None:
    keyed = transaction_for(REQUESTER, "2024/15")
    assert keyed.transaction_id == tid(b"2024", b"15", initial=system_id(REQUESTER))
    assert request_id_for(keyed.transaction_id, REQUESTER) == "2024/15"


def test_a_retry_that_reuses_its_id_is_a_transaction_of_its_own() -> None:
    at = datetime(2024, 5, 1, 12, 30, 5, tzinfo=UTC)
    retry = retry_transaction_id(REQUESTER, "my123", at)
    assert retry.sub_transaction_qualifier == Text.of("retry-20240501T123005Z")
    original = transaction_for(REQUESTER, "my123").transaction_id
    assert transaction_key(retry) != transaction_key(original)
    # its messages carry the old id, and the bridge's supplying id tells them apart
    assert request_id_for(retry, REQUESTER) == "my123"
    supplying = supplying_request_id_for(retry, REQUESTER)
    assert transaction_for(REQUESTER, "my123", supplying).transaction_id == retry
    assert transaction_for(REQUESTER, "my123").transaction_id == original


def test_a_supplying_id_that_disagrees_with_the_request_id_is_not_believed() -> None:
    other = supplying_request_id_for(tid(b"grp", b"9", initial=system_id(REQUESTER)), REQUESTER)
    keyed = transaction_for(REQUESTER, "grp/1", other)
    assert keyed.transaction_id == tid(b"grp", b"1", initial=system_id(REQUESTER))
    assert transaction_for(REQUESTER, "grp/1", "S-900").transaction_id == keyed.transaction_id


_RAW = st.binary(max_size=12) | st.text(max_size=8).map(str.encode)
_INITIAL = st.one_of(
    st.none(),
    st.just(system_id(REQUESTER)),
    st.binary(min_size=1, max_size=8).map(institution),
)
_XML_TEXT = st.text(st.characters(codec="utf-8").filter(xml_text), max_size=16)


@PROPERTIES
@given(
    group=_RAW | st.just(GROUP.encode()),
    qualifier=_RAW,
    sub=st.none() | _RAW,
    initial=_INITIAL,
    retry=st.integers(0, 3),
)
def test_every_transaction_id_comes_back_from_its_request_id(
    group: bytes, qualifier: bytes, sub: bytes | None, initial: SystemId | None, retry: int
) -> None:
    name = tid(group, qualifier, sub, initial)
    if sub is not None and sub.startswith(b"retry-") and group == GROUP.encode():
        sub = b"x" + sub  # the Retry of a reused id: its own property below
        name = tid(group, qualifier, sub, initial)
    encoded = request_id_for(name, REQUESTER, retry)
    assert xml_text(encoded)
    assert transaction_for(REQUESTER, encoded) == Keyed(name, retry)


@PROPERTIES
@given(request_id=_XML_TEXT)
def test_every_request_id_comes_back_from_its_transaction_id(request_id: str) -> None:
    keyed = transaction_for(REQUESTER, request_id)
    assert request_id_for(keyed.transaction_id, REQUESTER, keyed.retry) == request_id


@PROPERTIES
@given(request_id=_XML_TEXT, group=_RAW, qualifier=_RAW, sub=st.none() | _RAW)
def test_a_supplying_id_names_its_transaction_whatever_the_request_id(
    request_id: str, group: bytes, qualifier: bytes, sub: bytes | None
) -> None:
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    for name in (retry_transaction_id(REQUESTER, request_id, at), tid(group, qualifier, sub)):
        carried = request_id_for(name, REQUESTER)
        supplying = supplying_request_id_for(name, REQUESTER)
        assert transaction_for(REQUESTER, carried, supplying).transaction_id == name


_CANCEL = ISO18626_SAMPLES / "RequestingAgencyMessageCancel.xml"


@settings(PROPERTIES, max_examples=60)
@given(group=_RAW, qualifier=_RAW, sub=st.none() | _RAW, initial=_INITIAL)
def test_a_request_id_survives_the_wire(
    group: bytes, qualifier: bytes, sub: bytes | None, initial: SystemId | None
) -> None:
    name = tid(group, qualifier, sub, initial)
    sent = _through_the_wire(_CANCEL, request_id_for(name, REQUESTER))
    assert transaction_key(transaction_for(REQUESTER, sent).transaction_id) == transaction_key(name)


@settings(PROPERTIES, max_examples=60)
@given(request_id=_XML_TEXT)
def test_an_18626_request_id_survives_the_wire(request_id: str) -> None:
    sent = _through_the_wire(_CANCEL, request_id)
    assert sent == request_id


def _through_the_wire(sample: Path, request_id: str) -> str:
    model = wire.parse(sample.read_bytes()).model
    assert isinstance(model, v1_2.Iso18626Message)
    ram = model.requesting_agency_message
    assert ram is not None
    header = dataclasses.replace(
        ram.header, requesting_agency_request_id=v1_2.RequestingAgencyRequestId(value=request_id)
    )
    changed = dataclasses.replace(
        model, requesting_agency_message=dataclasses.replace(ram, header=header)
    )
    parsed = wire.parse(wire.serialise(changed)).model
    assert isinstance(parsed, v1_2.Iso18626Message)
    assert parsed.requesting_agency_message is not None
    return parsed.requesting_agency_message.header.requesting_agency_request_id.value
