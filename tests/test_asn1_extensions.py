"""Extension syntaxes (isoill.asn1.ext) and their OID registry.

Every registered syntax gets a sample value that is BER-encoded, decoded with its spec and
re-encoded, alone and wrapped in an EXTERNAL. A few encodings are checked byte by byte
against the tags the ASN.1 modules give (quoted next to each expectation).
"""

from collections.abc import Callable
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ

from isoill.asn1.ext import EXTENSION_SYNTAXES, ExtensionSyntax, syntax_for
from isoill.asn1.ext.apdu_delivery_info import APDUDeliveryInfo
from isoill.asn1.ext.forwarded_additional_info import ForwardedAddInfo
from isoill.asn1.ext.intermediary_control import IntermediaryControl
from isoill.asn1.ext.internal_reference_number import InternalReference
from isoill.asn1.ext.ipig_ill_request import IPIGILLRequestExtension
from isoill.asn1.ext.ipig_system_number import IPIGsystemnumber
from isoill.asn1.ext.ipig_user_error import AdditionalUserErrorReportInfo
from isoill.asn1.ext.oclc_ill_request import OCLCILLRequestExtension
from isoill.asn1.ext.oclc_ill_service import OCLCILLService
from isoill.asn1.ext.oclc_prism_ill_error import OCLCPrismIllError
from isoill.asn1.ext.oclc_shipped import OCLCShippedExtension
from isoill.asn1.ext.oclc_specific_results import OCLCSpecificResults
from isoill.asn1.ext.prompt1 import PromptObject
from isoill.asn1.ext.supplemental_client_info import SupplementalClientInfo
from isoill.asn1.ext.suppliers_reference import SuppliersReference
from isoill.asn1.ext.system_no import SystemNo
from isoill.asn1.external import External


def put(component: Any, text: str) -> None:
    """Fill an ILL-String component with its first alternative, GeneralString."""
    component.setComponentByPosition(0, text)


def put_system_id(system_id: Any, symbol: str) -> None:
    put(system_id["person-or-institution-symbol"]["institution-symbol"], symbol)


# ---------------------------------------------------------------------------------------
# one sample value per registered syntax: mandatory fields and some optional ones


def sample_prompt1() -> Any:
    # what OCLC sends on the first ILL-Request of a connection
    value = PromptObject()
    response = value["response"]
    for number, (kind, text) in enumerate(((1, "100012345"), (2, "secret"))):
        entry = response[number]
        entry["promptId"]["enummeratedPrompt"]["type"] = kind
        entry["promptResponse"]["string"] = text
    return value


def sample_oclc_prism_ill_error() -> Any:
    value = OCLCPrismIllError()
    value[0]["prism-Ill-Field-Id"] = 12
    value[0]["prism-Ill-Error-Code"] = "missing-required-field"
    put(value[0]["prism-Ill-Error-Text"], "title is required")
    value[1]["prism-Ill-Error-Code"] = "unknown-result"
    return value


def sample_oclc_ill_request() -> Any:
    value = OCLCILLRequestExtension()
    put(value["clientDepartment"], "Chemistry")
    put(value["paymentMethod"], "ifm")
    put(value["source"], "ILLiad")
    return value


def sample_apdu_delivery_info() -> Any:
    value = APDUDeliveryInfo()
    for field, host in (("sender-info", "ill.example.org:499"), ("recipient-info", "oclc:499")):
        parameters = value[field][0]
        parameters["encoding"].extend(["bER", "bER-IN-MIME"])
        put(parameters["transport"]["telecom-service-identifier"], "TCP")
        put(parameters["transport"]["telecom-service-address"], host)
    put_system_id(value["sender-info"][0]["aliases"][0], "REQLIB")
    return value


def sample_supplemental_client_info() -> Any:
    value = SupplementalClientInfo()
    data = value[0]
    data["infoType"]["standard"] = "nameInfo"
    put(data["infoContent"][0]["stringContent"], "Jane Patron")
    data["infoContent"][1]["statusCode"] = "faculty"
    nested = data["infoContent"][2]["nested"]
    nested["infoType"]["local"].setComponentByPosition(0, "department")
    nested["infoContent"][0]["definedNumber"] = 42
    amount = value[1]
    amount["infoType"]["standard"] = "maximumCost"
    amount["infoContent"][0]["amount"]["monetary-value"] = "25.00"
    return value


def sample_forwarded_additional_info() -> Any:
    value = ForwardedAddInfo()
    value["reason-unfilled"] = 5  # not-owned
    return value


def sample_ipig_user_error() -> Any:
    value = AdditionalUserErrorReportInfo()
    put(value[0]["missing-required-element"], "ILL-REQUEST.item-id.title")
    truncated = value[1]["element-truncated"]
    put(truncated["element"], "ILL-REQUEST.item-id.author")
    put(truncated["truncated-value"], "Le Guin, Urs")
    length = value[2]["unsupported-field-length"]
    put(length["element"], "ILL-REQUEST.item-id.title")
    length["max-length"] = 100
    put(value[3]["unrecognized-data"]["element"], "ILL-REQUEST.service-date-time")
    put(value[4]["other"], "something else")
    return value


def sample_suppliers_reference() -> Any:
    value = SuppliersReference()
    put(value["supplier-authority"], "OCLC")
    put(value["supplier-reference"], "123456789")
    return value


def sample_internal_reference() -> Any:
    value = InternalReference()
    put(value["requester-reference"]["reference-authority"], "REQLIB")
    put(value["requester-reference"]["internal-reference"], "ILL-0042")
    put(value["responder-reference"]["internal-reference"], "R-17")
    return value


def sample_ipig_ill_request() -> Any:
    value = IPIGILLRequestExtension()
    put(value[0]["uniform-title"], "Hamlet")
    value[1]["material-type"] = "monograph-bound"
    thesis = value[2]["dissertation-thesis"]
    thesis["type"]["phD-dissertation"] = ""
    put(thesis["details"]["granting-institution"], "UNT")
    language = value[3]["requested-material-language"]
    put(language[0], "eng")
    put(language[1], "ANY")
    payment = value[4]["payment-method"]
    payment[0]["oCLC-iFM"] = ""
    card = payment[1]["credit-card"]
    card["type"]["visa"] = ""
    put(card["card-number"], "4111111111111111")
    put(card["expiry-date"], "2030-01")
    put(card["name-on-card"], "J PATRON")
    value[5]["this-edition-only"] = ""
    rights = value[6]["rights-info"]
    put(rights["rights-information-country"], "US")
    put(rights["rights-information-type"], "copyright")
    put(rights["rights-information-value"], "CCG")
    return value


def sample_oclc_ill_service() -> Any:
    value = OCLCILLService()
    value["oCLCILLServiceType"] = "directToLender"
    return value


def sample_oclc_specific_results() -> Any:
    value = OCLCSpecificResults()
    value["oclcSpecificStatus"] = "review"
    value["reasonInReviewList"][0]["reasonInReview"] = "noShipToAddress"
    put(value["reasonInReviewList"][0]["reasonInReviewText"], "no ship-to address")
    value["reasonInReviewList"][1]["reasonInReview"] = "noVerification"
    return value


def sample_intermediary_control() -> Any:
    value = IntermediaryControl()
    value["actionFlag"] = "controlRequest"
    last = value["lastResponder"]
    last["transactionResults"] = 3  # unfilled
    last["resultsExplanation"]["unfilledResults"]["reason-unfilled"] = 5
    put_system_id(last["responderId"], "RESPLIB")
    put_system_id(value["currentResponderId"], "NEXTLIB")
    return value


def sample_oclc_shipped() -> Any:
    value = OCLCShippedExtension()
    put(value["paymentMethod"], "ifm")
    return value


def sample_ipig_system_number() -> Any:
    value = IPIGsystemnumber()
    value[0]["type"]["well-known"] = "oCLC"
    put(value[0]["number"], "12345678")
    put_system_id(value[1]["type"]["other"], "DNB")
    put(value[1]["database-ID"], "main")
    put(value[1]["number"], "987")
    return value


def sample_system_no() -> Any:
    value = SystemNo()
    value[0]["system"] = "oclc"
    put(value[0]["recordNo"], "12345678")
    return value


SAMPLES: dict[str, Callable[[], Any]] = {
    "1.2.840.10003.8.1": sample_prompt1,
    "1.0.10161.13.1": sample_oclc_prism_ill_error,
    "1.0.10161.13.2": sample_oclc_ill_request,
    "1.0.10161.13.3": sample_apdu_delivery_info,
    "1.0.10161.13.4": sample_supplemental_client_info,
    "1.0.10161.13.5": sample_forwarded_additional_info,
    "1.0.10161.13.6": sample_ipig_user_error,
    "1.0.10161.13.7": sample_suppliers_reference,
    "1.0.10161.13.8": sample_internal_reference,
    "1.0.10161.13.9": sample_ipig_ill_request,
    "1.0.10161.4.1000.2.1": sample_oclc_ill_service,
    "1.0.10161.8.1000.2.1": sample_oclc_specific_results,
    "1.0.10161.13.1000.2.7": sample_intermediary_control,
    "1.0.10161.13.1000.2.6": sample_oclc_shipped,
    "1.0.10161.6.1": sample_ipig_system_number,
    "1.2.124.10161.2": sample_system_no,
}

EXPECTED_REGISTRY = {
    "1.2.840.10003.8.1": ("AccessControlFormat-prompt-1", PromptObject),
    "1.0.10161.13.1": ("OCLC-Prism-ILL-Error", OCLCPrismIllError),
    "1.0.10161.13.2": ("OCLCILLRequestExtension", OCLCILLRequestExtension),
    "1.0.10161.13.3": ("ILL-APDU-Delivery-Info", APDUDeliveryInfo),
    "1.0.10161.13.4": ("ILL-Supplemental-Client-Info", SupplementalClientInfo),
    "1.0.10161.13.5": ("Forwarded-Additional-Info", ForwardedAddInfo),
    "1.0.10161.13.6": ("IPIG-Additional-User-Error-Information", AdditionalUserErrorReportInfo),
    "1.0.10161.13.7": ("Suppliers-Reference", SuppliersReference),
    "1.0.10161.13.8": ("Internal-Reference-Number", InternalReference),
    "1.0.10161.13.9": ("IPIG-ILL-Request-Extension", IPIGILLRequestExtension),
    "1.0.10161.4.1000.2.1": ("OCLCILLService", OCLCILLService),
    "1.0.10161.8.1000.2.1": ("OCLCSpecificResults", OCLCSpecificResults),
    "1.0.10161.13.1000.2.7": ("Intermediary-Control", IntermediaryControl),
    "1.0.10161.13.1000.2.6": ("OCLC-Shipped-Extension", OCLCShippedExtension),
    "1.0.10161.6.1": ("IPIG-System-Number", IPIGsystemnumber),
    "1.2.124.10161.2": ("SystemNo", SystemNo),
}


def decode_all(data: bytes, spec: Any) -> Any:
    value, rest = decoder.decode(data, asn1Spec=spec)
    assert rest == b"", f"{len(rest)} bytes left over"
    return value


def wrap(oid: str, payload: bytes) -> Any:
    external = External()
    external["direct-reference"] = univ.ObjectIdentifier(oid)
    external["encoding"]["single-ASN1-type"] = payload
    return external


# ---------------------------------------------------------------------------------------
# the registry


def test_registry_contents() -> None:
    got = {oid: (syntax.name, syntax.spec) for oid, syntax in EXTENSION_SYNTAXES.items()}
    assert got == EXPECTED_REGISTRY


def test_registry_keys_match_entries_and_have_samples() -> None:
    for oid, syntax in EXTENSION_SYNTAXES.items():
        assert syntax.oid == oid
        assert str(univ.ObjectIdentifier(oid)) == oid  # a well-formed dotted OID
    assert set(SAMPLES) == set(EXTENSION_SYNTAXES)


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        EXTENSION_SYNTAXES["1.2.3"] = ExtensionSyntax("1.2.3", "x", univ.Null)  # type: ignore[index]
    syntax = EXTENSION_SYNTAXES["1.0.10161.13.7"]
    with pytest.raises(AttributeError):
        syntax.name = "other"  # type: ignore[misc]


def test_syntax_for_accepts_oid_objects_and_unknown_oids() -> None:
    by_object = syntax_for(univ.ObjectIdentifier("1.2.840.10003.8.1"))
    assert by_object is not None
    assert by_object.spec is PromptObject
    assert syntax_for("1.0.10161.13.9") is EXTENSION_SYNTAXES["1.0.10161.13.9"]
    assert syntax_for("1.0.10161.13.99") is None


# ---------------------------------------------------------------------------------------
# round trips of every registered syntax


@pytest.mark.parametrize("oid", sorted(SAMPLES))
def test_round_trip(oid: str) -> None:
    syntax = EXTENSION_SYNTAXES[oid]
    value = SAMPLES[oid]()
    assert isinstance(value, syntax.spec)
    encoded = encoder.encode(value)
    decoded = decode_all(encoded, syntax.spec())
    # pyasn1's == trips over absent OPTIONAL members; compare the printed trees instead
    assert decoded.prettyPrint() == value.prettyPrint()
    assert encoder.encode(decoded) == encoded


def to_indefinite(data: bytes) -> bytes:
    """Rewrite definite-length BER the way YAZ writes long elements: every constructed
    element with indefinite length (``80`` ... ``00 00``), primitives unchanged.

    Done by hand because pyasn1 0.6's own ``defMode=False`` output is wrong for an explicit
    tag around a primitive (definite length *and* an end-of-contents, ``a2 03 02 01 05 00 00``).
    """
    out = bytearray()
    position = 0
    while position < len(data):
        start = position
        position += 1
        if data[start] & 0x1F == 0x1F:  # high tag number form
            while data[position] & 0x80:
                position += 1
            position += 1
        tag_bytes = data[start:position]
        length = data[position]
        position += 1
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[position : position + count], "big")
            position += count
        content = data[position : position + length]
        position += length
        if tag_bytes[0] & 0x20:
            out += tag_bytes + b"\x80" + to_indefinite(content) + b"\x00\x00"
        else:
            out += data[start:position]
    return bytes(out)


def test_to_indefinite_helper() -> None:
    assert to_indefinite(bytes.fromhex("30 05 a2 03 02 01 05")) == bytes.fromhex(
        "30 80 a2 80 02 01 05 00 00 00 00"
    )


@pytest.mark.parametrize("oid", sorted(SAMPLES))
def test_decodes_indefinite_length(oid: str) -> None:
    # YAZ writes constructed elements longer than 127 bytes with indefinite length
    definite = encoder.encode(SAMPLES[oid]())
    decoded = decode_all(to_indefinite(definite), EXTENSION_SYNTAXES[oid].spec())
    assert encoder.encode(decoded) == definite


@pytest.mark.parametrize("oid", sorted(SAMPLES))
def test_round_trip_inside_external(oid: str) -> None:
    syntax = EXTENSION_SYNTAXES[oid]
    payload = encoder.encode(SAMPLES[oid]())
    encoded = encoder.encode(wrap(oid, payload))
    assert encoded[0] == 0x28  # [UNIVERSAL 8] constructed
    header = 2 if encoded[1] < 0x80 else 2 + (encoded[1] & 0x7F)
    assert encoded[header] == 0x06  # direct-reference OBJECT IDENTIFIER comes first

    external = decode_all(encoded, External())
    assert str(external["direct-reference"]) == oid
    found = syntax_for(external["direct-reference"])
    assert found is syntax
    inner = external["encoding"]["single-ASN1-type"]
    assert bytes(inner) == payload
    assert encoder.encode(decode_all(bytes(inner), found.spec())) == payload
    assert encoder.encode(external) == encoded


# ---------------------------------------------------------------------------------------
# bytes checked by hand against the modules


def test_prompt1_oclc_login_bytes() -> None:
    # PromptObject ::= CHOICE { ..., response [2] IMPLICIT Response }  -> a2
    # Response ::= SEQUENCE OF SEQUENCE {                               -> 30
    #   promptId [1] PromptId,                                          -> a1 (explicit)
    #     enummeratedPrompt [1] IMPLICIT SEQUENCE {                     -> a1
    #       type [1] IMPLICIT INTEGER {userId(1), password(2) ...}      -> 81 01 0n
    #   promptResponse [2] CHOICE {                                     -> a2 (explicit)
    #     string [1] IMPLICIT InternationalString                       -> 81 len text
    value = PromptObject()
    for number, (kind, text) in enumerate((("userId", "100"), ("password", "pw"))):
        value["response"][number]["promptId"]["enummeratedPrompt"]["type"] = kind
        value["response"][number]["promptResponse"]["string"] = text
    expected = bytes.fromhex(
        "a2 1f"
        " 30 0e  a1 05 a1 03 81 01 01  a2 05 81 03 313030"
        " 30 0d  a1 05 a1 03 81 01 02  a2 04 81 02 7077"
    )
    assert encoder.encode(value) == expected

    decoded = decode_all(expected, PromptObject())
    assert decoded.getName() == "response"
    entries = [
        (
            entry["promptId"]["enummeratedPrompt"]["type"].prettyPrint(),
            str(entry["promptResponse"]["string"]),
        )
        for entry in decoded["response"]
    ]
    assert entries == [("userId", "100"), ("password", "pw")]


def test_prompt1_challenge_bytes() -> None:
    # Challenge entry: promptId [1] PromptId -> a1, nonEnumeratedPrompt [2] IMPLICIT -> 82;
    # responseRequired [5] IMPLICIT NULL -> 85 00; dataType [8] IMPLICIT INTEGER -> 88 01 04
    value = PromptObject()
    entry = value["challenge"][0]
    entry["promptId"]["nonEnumeratedPrompt"] = "Year"
    entry["responseRequired"] = ""
    entry["dataType"] = "alphaNumeric"
    expected = bytes.fromhex("a1 0f 30 0d a1 06 82 04 59656172 85 00 88 01 04")
    assert encoder.encode(value) == expected
    assert encoder.encode(decode_all(expected, PromptObject())) == expected


def test_prompt1_diagnostic_is_kept_as_encoded_diagrec() -> None:
    # promptResponse diagnostic [4] DiagRec: an explicit [4] around the DiagRec's own TLV
    diag_rec = bytes.fromhex("30 03 02 01 02")  # stands for a DefaultDiagFormat SEQUENCE
    value = PromptObject()
    entry = value["response"][0]
    entry["promptId"]["enummeratedPrompt"]["type"] = "password"
    entry["promptResponse"]["diagnostic"] = diag_rec
    encoded = encoder.encode(value)
    assert bytes.fromhex("a2 07 a4 05") + diag_rec in encoded
    decoded = decode_all(encoded, PromptObject())
    assert bytes(decoded["response"][0]["promptResponse"]["diagnostic"]) == diag_rec


def test_ipig_user_error_bytes() -> None:
    # SEQUENCE OF CHOICE {
    #   element-truncated [4] IMPLICIT Element-Truncated,  -> a4, then
    #     element [0] Identifier, truncated-value [1] ILL-String  -> a0 / a1 around 1b
    #   missing-required-element [5] Identifier,            -> a5 (explicit) around 1b
    value = AdditionalUserErrorReportInfo()
    put(value[0]["missing-required-element"], "ILL-REQUEST.item-id.title")
    put(value[1]["element-truncated"]["element"], "ILL-REQUEST.item-id.title")
    put(value[1]["element-truncated"]["truncated-value"], "Dune")
    path = b"ILL-REQUEST.item-id.title"
    expected = (
        bytes.fromhex("30 44 a5 1b 1b 19")
        + path
        + bytes.fromhex("a4 25 a0 1b 1b 19")
        + path
        + bytes.fromhex("a1 06 1b 04")
        + b"Dune"
    )
    assert encoder.encode(value) == expected
    decoded = decode_all(expected, AdditionalUserErrorReportInfo())
    assert decoded[0].getName() == "missing-required-element"
    assert decoded[1].getName() == "element-truncated"
    assert str(decoded[1]["element-truncated"]["truncated-value"].getComponent()) == "Dune"


def test_oclc_ill_request_extension_bytes() -> None:
    # clientDepartment [0] EXPLICIT ILL-String, source [7] EXPLICIT ILL-String
    value = OCLCILLRequestExtension()
    put(value["clientDepartment"], "Chem")
    put(value["source"], "X")
    expected = bytes.fromhex("30 0d a0 06 1b 04 4368656d a7 03 1b 01 58")
    assert encoder.encode(value) == expected
    assert encoder.encode(decode_all(expected, OCLCILLRequestExtension())) == expected


def test_oclc_specific_results_bytes() -> None:
    # oclcSpecificStatus [0] IMPLICIT ENUMERATED -> 80; reasonInReviewList [1] IMPLICIT
    # SEQUENCE OF -> a1; reasonInReview [0] IMPLICIT ENUMERATED -> 80 01 17 (noShipToAddress)
    value = OCLCSpecificResults()
    value["oclcSpecificStatus"] = "review"
    value["reasonInReviewList"][0]["reasonInReview"] = "noShipToAddress"
    expected = bytes.fromhex("30 0a 80 01 01 a1 05 30 03 80 01 17")
    assert encoder.encode(value) == expected
    decoded = decode_all(expected, OCLCSpecificResults())
    assert decoded["reasonInReviewList"][0]["reasonInReview"].prettyPrint() == "noShipToAddress"


def test_oclc_ill_service_bytes() -> None:
    value = OCLCILLService()
    value["oCLCILLServiceType"] = "directToReview"
    assert encoder.encode(value) == bytes.fromhex("30 03 80 01 03")


def test_apdu_delivery_info_bytes() -> None:
    # encoding [0] IMPLICIT SEQUENCE SIZE (1..3) OF APDU-Encoding -> a0 around 0a 01 03
    # transport [1] IMPLICIT System-Address -> a1; telecom-service-address [1] ILL-String
    value = APDUDeliveryInfo()
    for field in ("sender-info", "recipient-info"):
        value[field][0]["encoding"].append("bER")
        put(value[field][0]["transport"]["telecom-service-address"], "h")
    parameters = bytes.fromhex("30 0c a0 03 0a 01 03 a1 05 a1 03 1b 01 68")
    expected = bytes.fromhex("30 20 a0 0e") + parameters + bytes.fromhex("a1 0e") + parameters
    assert encoder.encode(value) == expected
    assert encoder.encode(decode_all(expected, APDUDeliveryInfo())) == expected


def test_apdu_delivery_info_allows_at_most_three_encodings() -> None:
    value = sample_apdu_delivery_info()
    value["sender-info"][0]["encoding"].extend(["eDIFACT", "bER"])  # now four
    with pytest.raises(PyAsn1Error):
        encoder.encode(value)


def test_system_no_bytes() -> None:
    # SEQUENCE SIZE (1..10) OF SEQUENCE { system System, recordNo RecordNo }: no tags
    value = sample_system_no()
    expected = bytes.fromhex("30 0f 30 0d 0a 01 03 1b 08") + b"12345678"
    assert encoder.encode(value) == expected
    assert encoder.encode(decode_all(expected, SystemNo())) == expected


def test_system_no_size_limits() -> None:
    too_many = SystemNo()
    for number in range(11):
        too_many[number]["system"] = "oclc"
        put(too_many[number]["recordNo"], str(number))
    with pytest.raises(PyAsn1Error):
        encoder.encode(too_many)

    # RecordNo ::= ILL-String (SIZE (1..50))
    record = b"9" * 51
    too_long = bytes.fromhex("30 3a 30 38 0a 01 03 1b 33") + record
    with pytest.raises(PyAsn1Error):
        decoder.decode(too_long, asn1Spec=SystemNo())
    fits = bytes.fromhex("30 39 30 37 0a 01 03 1b 32") + record[:50]
    assert encoder.encode(decode_all(fits, SystemNo())) == fits


def test_ipig_system_number_bytes() -> None:
    # type CHOICE { well-known [1] Well-Known-System, ... } is untagged: a1 03 0a 01 04
    # number [4] ILL-String -> a4
    value = IPIGsystemnumber()
    value[0]["type"]["well-known"] = "oCLC"
    put(value[0]["number"], "7")
    expected = bytes.fromhex("30 0c 30 0a a1 03 0a 01 04 a4 03 1b 01 37")
    assert encoder.encode(value) == expected
    assert encoder.encode(decode_all(expected, IPIGsystemnumber())) == expected


def test_ipig_ill_request_bytes() -> None:
    # material-type [1] Requested-Material-Format -> a1 03 0a 01 10 (monograph-bound, 16)
    # this-edition-only [10] IMPLICIT NULL -> 8a 00
    # dissertation-thesis [3] Dissertation-Thesis -> a3 around 30; inside:
    #   type [1] CHOICE {masters-thesis [2] IMPLICIT NULL} -> a1 02 82 00
    #   details [2] IMPLICIT Dissertation-Thesis-Details -> a2 00 (both members optional)
    value = IPIGILLRequestExtension()
    value[0]["material-type"] = "monograph-bound"
    value[1]["this-edition-only"] = ""
    value[2]["dissertation-thesis"]["type"]["masters-thesis"] = ""
    value[2]["dissertation-thesis"]["details"]  # instantiates the empty SEQUENCE
    expected = bytes.fromhex("30 11 a1 03 0a 01 10 8a 00 a3 08 30 06 a1 02 82 00 a2 00")
    assert encoder.encode(value) == expected
    assert encoder.encode(decode_all(expected, IPIGILLRequestExtension())) == expected


def test_supplemental_client_info_nests_recursively() -> None:
    # ClientInfoData ::= SEQUENCE { infoType ClientInfoType, infoContent [3] IMPLICIT
    #   SEQUENCE OF ClientInfoContent }; nested [6] IMPLICIT ClientInfoData -> a6
    # standard [1] Standard-Client-Info-Type -> a1 03 0a 01 xx
    # definedNumber [5] IMPLICIT INTEGER -> 85 01 xx
    value = SupplementalClientInfo()
    level = value[0]
    for depth in range(3):
        level["infoType"]["standard"] = "idInfo"
        level["infoContent"][0]["definedNumber"] = depth
        if depth < 2:
            level = level["infoContent"][1]["nested"]
    innermost = bytes.fromhex("a1 03 0a 01 00 a3 03 85 01 02")
    middle = bytes.fromhex("a1 03 0a 01 00 a3 0f 85 01 01 a6 0a") + innermost
    outer = bytes.fromhex("30 22 a1 03 0a 01 00 a3 1b 85 01 00 a6 16") + middle
    expected = bytes.fromhex("30 24") + outer
    assert encoder.encode(value) == expected
    decoded = decode_all(expected, SupplementalClientInfo())
    deepest = decoded[0]["infoContent"][1]["nested"]["infoContent"][1]["nested"]
    assert int(deepest["infoContent"][0]["definedNumber"]) == 2


def test_suppliers_reference_bytes() -> None:
    value = SuppliersReference()
    put(value["supplier-authority"], "BL")
    put(value["supplier-reference"], "1")
    expected = bytes.fromhex("30 0b a0 04 1b 02 424c a1 03 1b 01 31")
    assert encoder.encode(value) == expected


def test_external_bytes_for_suppliers_reference() -> None:
    # EXTERNAL -> 28; direct-reference OBJECT IDENTIFIER 1.0.10161.13.7 -> 06 05 28 cf 31 0d 07
    # (arcs 1.0 -> 0x28, 10161 = 79 * 128 + 49 -> cf 31); single-ASN1-type [0] ANY -> a0
    payload = encoder.encode(sample_suppliers_reference())
    oid_tlv = bytes.fromhex("06 05 28 cf 31 0d 07")
    expected = (
        bytes([0x28, len(oid_tlv) + 2 + len(payload)])
        + oid_tlv
        + bytes([0xA0, len(payload)])
        + payload
    )
    assert encoder.encode(wrap("1.0.10161.13.7", payload)) == expected


def test_forwarded_add_info_is_unfilled_results() -> None:
    # Forwarded-Add-Info ::= Unfilled-Results: reason-unfilled [0] IMPLICIT ENUMERATED -> 80
    value = sample_forwarded_additional_info()
    assert encoder.encode(value) == bytes.fromhex("30 03 80 01 05")


def test_intermediary_control_tags() -> None:
    # actionFlag [0] IMPLICIT -> 80 01 02; lastResponder [1] IMPLICIT SEQUENCE -> a1;
    # transactionResults [1] IMPLICIT -> 81 01 03; resultsExplanation [2] CHOICE -> a2,
    # unfilledResults [3] -> a3 30 03 80 01 05; responderId [3] IMPLICIT System-Id -> a3
    value = IntermediaryControl()
    value["actionFlag"] = "controlRequest"
    value["lastResponder"]["transactionResults"] = 3
    value["lastResponder"]["resultsExplanation"]["unfilledResults"]["reason-unfilled"] = 5
    value["lastResponder"]["responderId"]  # an empty System-Id, as yaz sends them
    expected = bytes.fromhex("30 13 80 01 02 a1 0e 81 01 03 a2 07 a3 05 30 03 80 01 05 a3 00")
    assert encoder.encode(value) == expected
    assert encoder.encode(decode_all(expected, IntermediaryControl())) == expected


def test_prism_error_bytes() -> None:
    # prism-Ill-Field-Id [0] IMPLICIT INTEGER -> 80; prism-Ill-Error-Code [1] IMPLICIT
    # ENUMERATED -> 81; prism-Ill-Error-Text [2] ILL-String -> a2
    value = OCLCPrismIllError()
    value[0]["prism-Ill-Field-Id"] = 3
    value[0]["prism-Ill-Error-Code"] = "invalid-field-length"
    put(value[0]["prism-Ill-Error-Text"], "x")
    expected = bytes.fromhex("30 0d 30 0b 80 01 03 81 01 02 a2 03 1b 01 78")
    assert encoder.encode(value) == expected
    assert encoder.encode(decode_all(expected, OCLCPrismIllError())) == expected
