"""Tests for the ISO-10161-ILL-1 pyasn1 types (isoill.asn1.ill9702) and EXTERNAL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, univ
from pyasn1.type.base import noValue

from isoill.asn1 import ill9702 as ill
from isoill.asn1.external import External, ber_decode

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "captures"


# --- helpers -----------------------------------------------------------------


def plain(value: Any) -> Any:
    """Turn a pyasn1 value into plain Python data, DEFAULTs filled in, absent OPTIONALs left out."""
    if isinstance(value, univ.Choice):
        return {value.getName(): plain(value.getComponent())}
    if isinstance(value, univ.SequenceOf):
        return [plain(item) for item in value]
    if isinstance(value, univ.Sequence):
        out: dict[str, Any] = {}
        for idx, named_type in enumerate(value.componentType.namedTypes):
            component = value.getComponentByPosition(idx, instantiate=False)
            if component is noValue:
                if not named_type.isDefaulted:
                    continue
                component = named_type.asn1Object
            out[named_type.name] = plain(component)
        return out
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, univ.BitString):
        return str(value)
    if isinstance(value, univ.OctetString):  # also Any and every character string type
        return bytes(value.asOctets())
    if isinstance(value, univ.Boolean):
        return bool(value)
    if isinstance(value, univ.Integer):  # also Enumerated
        return int(value)
    raise TypeError(f"unexpected pyasn1 type {type(value).__name__}")


def roundtrip(value: Any, spec: Any) -> Any:
    data = encoder.encode(value)
    decoded, rest = decoder.decode(data, asn1Spec=spec)
    assert rest == b""
    return decoded


def text(value: Any) -> str:
    """The text of an ILL-String read as UTF-8."""
    return bytes(value["GeneralString"].asOctets()).decode("utf-8")


def load_capture(n: int) -> tuple[bytes, Any]:
    data = (CAPTURES / f"yaz-illclient-{n}.ber").read_bytes()
    apdu, rest = decoder.decode(data, asn1Spec=ill.ILLAPDU())
    assert rest == b""
    return data, apdu


def fill_header(apdu: Any) -> None:
    """Set the mandatory components every APDU shares."""
    apdu["protocol-version-num"] = 2
    tid = apdu["transaction-id"]
    tid["transaction-group-qualifier"]["GeneralString"] = "grp"
    tid["transaction-qualifier"]["GeneralString"] = "TX-1"
    apdu["service-date-time"]["date-time-of-this-service"]["date"] = "20240315"


def system_id(symbol: str) -> Any:
    value = ill.SystemId()
    value["person-or-institution-symbol"]["institution-symbol"]["GeneralString"] = symbol
    return value


def set_system_id(target: Any, symbol: str) -> None:
    target["person-or-institution-symbol"]["institution-symbol"]["GeneralString"] = symbol


def fill_external(ext: Any) -> Any:
    """Fill an EXTERNAL (tagged or not) in place with an OID and a single-ASN1-type."""
    ext["direct-reference"] = "1.0.10161.13.3"
    ext["encoding"]["single-ASN1-type"] = encoder.encode(char.VisibleString("abc"))
    return ext


def an_external() -> External:
    ext = External()
    fill_external(ext)
    return ext


def an_extension(identifier: int = 1) -> ill.Extension:
    extension = ill.Extension()
    extension["identifier"] = identifier
    extension["critical"] = True
    extension["item"] = encoder.encode(an_external())
    return extension


# --- 1/2: real captures --------------------------------------------------------


def test_capture_1_decodes() -> None:
    _, apdu = load_capture(1)
    assert apdu.getName() == "ILL-Request"
    request = apdu["ILL-Request"]
    assert int(request["protocol-version-num"]) == 2
    assert text(request["item-id"]["title"]) == "Dune"
    # yaz sends an empty System-Id (a3 00) and empty strings: accepted as-is
    requester = request["requester-id"]
    assert (
        requester.getComponentByName("person-or-institution-symbol", instantiate=False) is noValue
    )
    assert text(request["transaction-id"]["transaction-qualifier"]) == ""


def test_capture_2_decodes() -> None:
    data, apdu = load_capture(2)
    assert data[:4] == bytes.fromhex("61803080")  # indefinite lengths
    request = apdu["ILL-Request"]
    tid = request["transaction-id"]
    assert text(tid["transaction-qualifier"]) == "TX-0002"
    assert text(tid["transaction-group-qualifier"]) == "grp1"
    requester = request["requester-id"]["person-or-institution-symbol"]
    assert text(requester["institution-symbol"]) == "REQLIB"
    responder = request["responder-id"]["person-or-institution-symbol"]
    assert text(responder["institution-symbol"]) == "RESPLIB"
    assert [int(x) for x in request["iLL-service-type"]] == [1]
    assert request["iLL-service-type"][0].prettyPrint() == "loan"
    assert text(request["item-id"]["title"]) == "The Left Hand of Darkness"
    assert text(request["requester-note"]) == "Please send by courier"
    # a 13-digit ISBN although the module says SIZE (10): must still decode
    assert text(request["item-id"]["iSBN"]) == "9780441478125"
    date_time = request["service-date-time"]["date-time-of-this-service"]
    assert str(date_time["date"]) == "20240315"
    assert str(date_time["time"]) == "101530"


def test_capture_3_decodes() -> None:
    _, apdu = load_capture(3)
    request = apdu["ILL-Request"]
    item = request["item-id"]
    title = bytes(item["title"]["GeneralString"].asOctets())
    assert title.decode("utf-8") == "Journal of Ünïcödé Studies"
    assert len(item["title-of-article"]["GeneralString"].asOctets()) == 167
    postal = request["delivery-address"]["postal-address"]
    assert text(postal["city"]) == "Denton"


@pytest.mark.parametrize("n", [1, 2, 3])
def test_capture_reencodes_to_same_values(n: int) -> None:
    _, apdu = load_capture(n)
    before = plain(apdu)
    again = roundtrip(apdu, ill.ILLAPDU())
    assert plain(again) == before
    # encoding did not add components that were absent
    assert plain(apdu) == before


def test_ber_decode_matches_pyasn1_on_captures() -> None:
    for n in (1, 2, 3):
        data, apdu = load_capture(n)
        value, rest = ber_decode(data, ill.ILLAPDU())
        assert rest == b""
        assert plain(value) == plain(apdu)


def test_ber_decode_handles_indefinite_length_any() -> None:
    # Cancel with one extension whose [2] item and EXTERNAL use indefinite lengths,
    # the way YAZ writes constructed values longer than 127 octets.
    external = bytes.fromhex("28800603281e01a0801a0361626300000000")
    extension = bytes.fromhex("3080800101a280") + external + bytes.fromhex("00000000")
    apdu = _header_only(ill.Cancel)
    head = encoder.encode(apdu)
    body = head[2:] + bytes.fromhex("bf3180") + extension + bytes.fromhex("0000")
    data = bytes([0x66, 0x80, 0x30, 0x80]) + body[2:] + bytes.fromhex("00000000")
    value, rest = ber_decode(data, ill.ILLAPDU())
    assert rest == b""
    item = value["Cancel"]["cancel-extensions"][0]["item"]
    assert bytes(item.asOctets()) == external
    ext, rest = ber_decode(bytes(item.asOctets()), External())
    assert rest == b""
    assert str(ext["direct-reference"]) == "1.0.30.1"
    assert bytes(ext["encoding"]["single-ASN1-type"].asOctets()) == bytes.fromhex("1a03616263")


# --- 3: tagging ------------------------------------------------------------------


def _header_only(cls: Callable[[], Any]) -> Any:
    apdu = cls()
    fill_header(apdu)
    return apdu


def test_ill_request_is_application_1_wrapping_sequence() -> None:
    _, apdu = load_capture(2)
    data = encoder.encode(apdu["ILL-Request"])
    assert data[0] == 0x61
    assert data[1] == 0x82  # definite long form, two length octets
    assert data[4] == 0x30


def test_requester_note_is_explicit_46_around_general_string() -> None:
    apdu = _header_only(ill.Cancel)
    apdu["requester-note"]["GeneralString"] = "hello"
    data = encoder.encode(apdu)
    assert bytes.fromhex("bf2e071b0568656c6c6f") in data


def test_overdue_extensions_are_explicitly_tagged() -> None:
    apdu = _header_only(ill.Overdue)
    apdu["date-due"]["date-due-field"] = "20240401"
    apdu["overdue-extensions"].append(an_extension())
    data = encoder.encode(apdu)
    at = data.index(b"\xbf\x31")
    # [49] (explicit) -> SEQUENCE OF (30) -> Extension SEQUENCE (30) -> identifier [0] (80)
    assert data[at + 3] == 0x30
    assert data[at + 5] == 0x30
    assert data[at + 7] == 0x80
    decoded = roundtrip(apdu, ill.Overdue())
    assert plain(decoded) == plain(apdu)


def test_other_extensions_are_implicitly_tagged() -> None:
    apdu = _header_only(ill.Cancel)
    apdu["cancel-extensions"].append(an_extension())
    data = encoder.encode(apdu)
    at = data.index(b"\xbf\x31")
    # [49] IMPLICIT replaces the SEQUENCE OF tag: the Extension SEQUENCE follows directly
    assert data[at + 3] == 0x30
    assert data[at + 5] == 0x80


def test_extension_item_holds_external_tlv() -> None:
    extension = an_extension()
    data = encoder.encode(extension)
    # identifier [0] IMPLICIT, critical [1] IMPLICIT, item [2] explicit around EXTERNAL (28)
    assert data.startswith(bytes.fromhex("3018800101810101a210"))
    assert data[10] == 0x28
    decoded = roundtrip(extension, ill.Extension())
    external, rest = decoder.decode(bytes(decoded["item"].asOctets()), asn1Spec=External())
    assert rest == b""
    assert str(external["direct-reference"]) == "1.0.10161.13.3"
    inner = bytes(external["encoding"]["single-ASN1-type"].asOctets())
    assert decoder.decode(inner, asn1Spec=char.VisibleString())[0] == "abc"


def test_external_encodings() -> None:
    ext = External()
    ext["direct-reference"] = univ.ObjectIdentifier("1.2.840.10003.5.10")
    ext["indirect-reference"] = 3
    ext["data-value-descriptor"] = "MARC record"
    ext["encoding"]["octet-aligned"] = b"\x01\x02"
    data = encoder.encode(ext)
    assert data[0] == 0x28
    assert bytes.fromhex("070b") + b"MARC record" in data
    assert data.endswith(bytes.fromhex("81020102"))
    assert plain(roundtrip(ext, External())) == plain(ext)

    bits = External()
    bits["encoding"]["arbitrary"] = (1, 0, 1, 0)
    assert encoder.encode(bits).startswith(bytes.fromhex("2804"))
    assert plain(roundtrip(bits, External())) == plain(bits)


def test_unset_optional_sequences_are_not_encoded() -> None:
    apdu = _header_only(ill.Cancel)
    data = encoder.encode(apdu)
    decoded = roundtrip(apdu, ill.Cancel())
    for name in ("requester-id", "responder-id"):
        assert decoded.getComponentByName(name, instantiate=False) is noValue
    tid = decoded["transaction-id"]
    assert tid.getComponentByName("initial-requester-id", instantiate=False) is noValue
    assert b"\xa3\x00" not in data


def test_constraints() -> None:
    with pytest.raises(PyAsn1Error):
        ill.ShippedServiceType(3)
    assert int(ill.ShippedServiceType("copy-non-returnable")) == 2
    with pytest.raises(PyAsn1Error):
        ill.EDIFACTString("a@b")
    assert ill.EDIFACTString("ABC 123.,-()/=!\"%&*;<>'+:?") is not None
    with pytest.raises(PyAsn1Error):
        ill.AmountString("12a")
    amount = ill.Amount()
    with pytest.raises(PyAsn1Error):
        amount.setComponentByName("currency-code", "EURO")
    amount["currency-code"] = "EUR"
    amount["monetary-value"] = "12.50"
    assert plain(roundtrip(amount, ill.Amount())) == {
        "currency-code": b"EUR",
        "monetary-value": b"12.50",
    }


# --- 4: one value of every APDU --------------------------------------------------


def _ill_request(apdu: Any) -> None:
    set_system_id(apdu["requester-id"], "REQ")
    set_system_id(apdu["responder-id"], "RESP")
    apdu["iLL-service-type"].extend([1, 2])
    messages = apdu["requester-optional-messages"]
    messages["can-send-RECEIVED"] = True
    messages["can-send-RETURNED"] = False
    messages["requester-SHIPPED"] = "requires"
    messages["requester-CHECKED-IN"] = "neither"
    apdu["item-id"]["item-type"] = "monograph"
    apdu["item-id"]["title"]["GeneralString"] = "Dune"
    fill_external(apdu["item-id"]["system-no"])
    apdu["delivery-service"]["physical-delivery"]["GeneralString"] = "courier"
    apdu["search-type"]["expiry-flag"] = "other-Date"
    apdu["search-type"]["expiry-date"] = "20240601"
    medium = ill.SupplyMediumInfoType()
    medium["supply-medium-type"] = "photocopy"
    apdu["supply-medium-info-type"].append(medium)
    apdu["place-on-hold"] = "yes"
    apdu["cost-info-type"]["maximum-cost"]["monetary-value"] = "10"
    apdu["cost-info-type"]["will-pay-fee"] = True
    third = apdu["third-party-info-type"]
    third["permission-to-forward"] = True
    third["already-tried-list"].append(system_id("TRIED"))
    entry = third["send-to-list"].getComponentType().clone()
    set_system_id(entry["system-id"], "NEXT")
    entry["account-number"]["GeneralString"] = "ACC-1"
    third["send-to-list"].append(entry)
    apdu["retry-flag"] = True
    apdu["requester-note"]["GeneralString"] = "please"
    apdu["iLL-request-extensions"].append(an_extension(7))


def _forward_notification(apdu: Any) -> None:
    set_system_id(apdu["responder-id"], "RESP")
    set_system_id(apdu["intermediary-id"], "MID")
    apdu["notification-note"]["GeneralString"] = "forwarded"


def _shipped(apdu: Any) -> None:
    apdu["shipped-service-type"] = "loan"
    details = apdu["supply-details"]
    details["date-shipped"] = "20240316"
    details["date-due"]["date-due-field"] = "20240416"
    details["date-due"]["renewable"] = False
    details["chargeable-units"] = 3
    details["shipped-conditions"] = "library-use-only"
    eds = details["shipped-via"]["electronic-delivery"]
    eds["e-delivery-service"]["e-delivery-mode"] = "1.3.6.1"
    eds["e-delivery-service"]["e-delivery-parameters"] = encoder.encode(univ.Integer(5))
    eds["e-delivery-details"]["e-delivery-address"]["telecom-service-address"]["GeneralString"] = (
        "ftp://example.org/"
    )
    eds["delivery-time"] = "120000"
    units = ill.UnitsPerMediumType()
    units["medium"] = "printed"
    units["no-of-units"] = 2
    details["no-of-units-per-medium"].append(units)
    apdu["supplemental-item-description"].append(an_external())


def _ill_answer(apdu: Any) -> None:
    apdu["transaction-results"] = "will-supply"
    will = apdu["results-explanation"]["will-supply-results"]
    will["reason-will-supply"] = "being-processed-for-supply"
    will["supply-date"] = "20240320"
    will["return-to-address"]["city"]["GeneralString"] = "Denton"
    location = ill.LocationInfo()
    set_system_id(location["location-id"], "ELSEWHERE")
    will["locations"].append(location)
    apdu["responder-optional-messages"]["can-send-SHIPPED"] = True
    apdu["responder-optional-messages"]["can-send-CHECKED-IN"] = True
    apdu["responder-optional-messages"]["responder-RECEIVED"] = "desires"
    apdu["responder-optional-messages"]["responder-RETURNED"] = "requires"


def _answer(apdu: Any) -> None:
    apdu["answer"] = True


def _received(apdu: Any) -> None:
    apdu["date-received"] = "20240317"
    apdu["shipped-service-type"] = "copy-non-returnable"


def _returned(apdu: Any) -> None:
    apdu["date-returned"] = "20240318"
    apdu["returned-via"]["GeneralString"] = "post"
    apdu["insured-for"]["monetary-value"] = "100.00"


def _checked_in(apdu: Any) -> None:
    apdu["date-checked-in"] = "20240319"


def _overdue(apdu: Any) -> None:
    apdu["date-due"]["date-due-field"] = "20240401"


def _renew(apdu: Any) -> None:
    apdu["desired-due-date"] = "20240501"


def _renew_answer(apdu: Any) -> None:
    apdu["answer"] = False
    apdu["date-due"]["date-due-field"] = "20240501"


def _damaged(apdu: Any) -> None:
    apdu["damaged-details"]["damaged-portion"]["specific-units"].extend([3, 4])


def _message(apdu: Any) -> None:
    apdu["note"]["GeneralString"] = "a message"


def _status_or_error_report(apdu: Any) -> None:
    report = apdu["error-report"]
    report["correlation-information"]["GeneralString"] = "corr"
    report["report-source"] = "provider"
    prohibited = report["provider-error-report"]["state-transition-prohibited"]
    prohibited["aPDU-type"] = "rENEW"
    prohibited["current-state"] = "sHIPPED"


def _nothing(apdu: Any) -> None:
    return None


BUILDERS: dict[str, Callable[[Any], None]] = {
    "ILL-Request": _ill_request,
    "Forward-Notification": _forward_notification,
    "Shipped": _shipped,
    "ILL-Answer": _ill_answer,
    "Conditional-Reply": _answer,
    "Cancel": _nothing,
    "Cancel-Reply": _answer,
    "Received": _received,
    "Recall": _nothing,
    "Returned": _returned,
    "Checked-In": _checked_in,
    "Overdue": _overdue,
    "Renew": _renew,
    "Renew-Answer": _renew_answer,
    "Lost": _nothing,
    "Damaged": _damaged,
    "Message": _message,
    "Status-Query": _nothing,
    "Status-Or-Error-Report": _status_or_error_report,
    "Expired": _nothing,
}


def test_twenty_apdus() -> None:
    assert list(BUILDERS) == list(ill.APDU_TYPES)
    assert len(ill.APDU_TYPES) == 20
    assert [ill.ILLAPDU.componentType.getNameByPosition(i) for i in range(20)] == list(
        ill.APDU_TYPES
    )


@pytest.mark.parametrize("name", list(ill.APDU_TYPES))
def test_apdu_roundtrip(name: str) -> None:
    cls = ill.APDU_TYPES[name]
    apdu = cls()
    fill_header(apdu)
    BUILDERS[name](apdu)
    wrapped = ill.ILLAPDU()
    wrapped[name] = apdu
    data = encoder.encode(wrapped)
    number = list(ill.APDU_TYPES).index(name) + 1
    assert data[0] == 0x60 | number  # [APPLICATION n], constructed
    decoded, rest = decoder.decode(data, asn1Spec=ill.ILLAPDU())
    assert rest == b""
    assert decoded.getName() == name
    assert plain(decoded) == plain(wrapped)
    assert encoder.encode(decoded) == data
    # the APDU type on its own decodes too
    alone, rest = decoder.decode(data, asn1Spec=cls())
    assert rest == b""
    assert plain(alone) == plain(apdu)


def test_status_report_and_history() -> None:
    apdu = _header_only(ill.StatusOrErrorReport)
    history = apdu["status-report"]["user-status-report"]
    history["date-of-last-transition"] = "20240320"
    history["most-recent-service"] = "fORWARD"
    history["date-of-most-recent-service"] = "20240320"
    set_system_id(history["initiator-of-most-recent-service"], "REQ")
    history["shipped-service-type"] = "loan"
    apdu["status-report"]["provider-status-report"] = "iN-PROCESS"
    decoded = roundtrip(apdu, ill.StatusOrErrorReport())
    assert plain(decoded) == plain(apdu)
    assert decoded["status-report"]["user-status-report"]["most-recent-service"] == 21
