"""Extension syntaxes (isoill.asn1.ext) and their OID registry.

pyasn1's BER decoder reads every registered syntax with its spec, with nothing left over:
isoill's encoding of fully filled values (``full_value``), alone, rewritten with indefinite
lengths as YAZ writes them, and wrapped in an EXTERNAL; each is compared field by field with
the value that was encoded. isoill's plan is compiled from these same pyasn1 types, so a tag
that is wrong in the types would go unnoticed there; the encodings checked byte by byte against
the tags the ASN.1 modules give (quoted next to each) are for that. isoill's own codec must
write those bytes back unchanged, too.
"""

from typing import Any

import pytest
from apdu_examples import full_value
from pyasn1.codec.ber import decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pyasn1.type.base import noValue
from test_asn1_ill9702 import agrees, alternative_node, pyasn1_decode, tlv

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
from isoill.codec import plan
from isoill.codec.decoder import decode_node
from isoill.codec.encoder import encode_node
from isoill.codec.schema import Kind, Node

models = plan.bound()

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

OIDS = sorted(EXPECTED_REGISTRY)


def variants(oid: str) -> range:
    """The full_value variants to try: enough to go through every CHOICE alternative."""
    if oid == "1.2.124.10161.2":
        # RecordNo ::= ILL-String (SIZE (1..50)), and full_value writes a 200-character string
        # in every third variant; in variants 2 and 5 no RecordNo gets it.
        return range(2, 6, 3)
    return range(8)


def value_of(oid: str, variant: int) -> tuple[Node, Any, bytes]:
    """The plan node of a registered syntax, a filled value of it and isoill's encoding."""
    node = plan.EXTENSIONS[oid]
    value = full_value(node, variant)
    return node, value, encode_node(node, value)


def isoill_rewrites(node: Node, data: bytes) -> bytes:
    """isoill's decoder and encoder on one value: writes the same bytes back if both agree."""
    value, end = decode_node(node, data, 0, len(data))
    assert end == len(data)
    return encode_node(node, value)


# ---------------------------------------------------------------------------------------
# the registry


def test_registry_contents() -> None:
    got = {oid: (syntax.name, syntax.spec) for oid, syntax in EXTENSION_SYNTAXES.items()}
    assert got == EXPECTED_REGISTRY


def test_registry_keys_match_entries_and_are_planned() -> None:
    for oid, syntax in EXTENSION_SYNTAXES.items():
        assert syntax.oid == oid
        assert str(univ.ObjectIdentifier(oid)) == oid  # a well-formed dotted OID
    assert set(plan.EXTENSIONS) == set(EXTENSION_SYNTAXES)


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
# every registered syntax, as isoill writes it


@pytest.mark.parametrize("oid", OIDS)
def test_pyasn1_reads_isoill_encoding(oid: str) -> None:
    spec = EXTENSION_SYNTAXES[oid].spec
    for variant in variants(oid):
        node, value, encoded = value_of(oid, variant)
        decoded = pyasn1_decode(encoded, spec())
        assert isinstance(decoded, spec)
        agrees(decoded, value, node, f"{oid}/{variant}")


def to_indefinite(data: bytes) -> bytes:
    """Rewrite definite-length BER the way YAZ writes long elements: every constructed
    element with indefinite length (``80`` ... ``00 00``), primitives unchanged.
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
    assert to_indefinite(bytes.fromhex("bf 31 03 02 01 05")) == bytes.fromhex(
        "bf 31 80 02 01 05 00 00"
    )


def reaches_any(node: Node, value: Any) -> bool:
    """Whether ``value`` holds an ANY (an EXTERNAL's single-ASN1-type included) somewhere."""
    kind = node.kind
    if kind is Kind.ANY:
        return True
    if kind in (Kind.SEQUENCE, Kind.EXTERNAL):
        return any(
            reaches_any(member.node, getattr(value, member.attr))
            for member in node.fields
            if getattr(value, member.attr) is not None
        )
    if kind is Kind.CHOICE:
        name, content = value.chosen
        return reaches_any(alternative_node(node, name), content)
    if kind is Kind.SEQUENCE_OF:
        assert node.element is not None
        return any(reaches_any(node.element, item) for item in value)
    return False


@pytest.mark.parametrize("oid", OIDS)
def test_pyasn1_reads_indefinite_lengths(oid: str) -> None:
    # YAZ writes constructed elements longer than 127 bytes with indefinite length.
    # pyasn1 0.6 cannot decode a tagged ANY sent with indefinite length (its ANY decoder hands
    # a bare bytes object up: AttributeError 'effectiveTagSet'), a bug of pyasn1's and not of
    # the types; values that hold an ANY are read in their definite form only
    # (test_pyasn1_reads_isoill_encoding).
    spec = EXTENSION_SYNTAXES[oid].spec
    checked = 0
    for variant in variants(oid):
        node, value, encoded = value_of(oid, variant)
        if reaches_any(node, value):
            continue
        indefinite = to_indefinite(encoded)
        assert indefinite != encoded
        agrees(pyasn1_decode(indefinite, spec()), value, node, f"{oid}/{variant}")
        checked += 1
    assert checked >= 2, "every syntax has variants without an ANY"


@pytest.mark.parametrize("oid", OIDS)
def test_pyasn1_reads_isoill_encoding_inside_external(oid: str) -> None:
    syntax = EXTENSION_SYNTAXES[oid]
    node, value, payload = value_of(oid, 0 if oid != "1.2.124.10161.2" else 2)
    external = plan.EXTERNAL.model(
        direct_reference=oid, encoding=models.ExternalEncoding(single_asn1_type=payload)
    )
    encoded = encode_node(plan.EXTERNAL, external)
    assert encoded[0] == 0x28  # [UNIVERSAL 8] constructed
    header = 2 if encoded[1] < 0x80 else 2 + (encoded[1] & 0x7F)
    assert encoded[header] == 0x06  # direct-reference OBJECT IDENTIFIER comes first

    decoded = pyasn1_decode(encoded, External())
    assert str(decoded["direct-reference"]) == oid
    found = syntax_for(decoded["direct-reference"])
    assert found is syntax
    inner = decoded["encoding"]["single-ASN1-type"]
    assert bytes(inner) == payload
    agrees(pyasn1_decode(bytes(inner), found.spec()), value, node, oid)


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
    expected = bytes.fromhex(
        "a2 1f"
        " 30 0e  a1 05 a1 03 81 01 01  a2 05 81 03 313030"
        " 30 0d  a1 05 a1 03 81 01 02  a2 04 81 02 7077"
    )
    decoded = pyasn1_decode(expected, PromptObject())
    assert decoded.getName() == "response"
    entries = [
        (
            entry["promptId"]["enummeratedPrompt"]["type"].prettyPrint(),
            str(entry["promptResponse"]["string"]),
        )
        for entry in decoded["response"]
    ]
    assert entries == [("userId", "100"), ("password", "pw")]
    assert isoill_rewrites(plan.EXTENSIONS["1.2.840.10003.8.1"], expected) == expected


def test_prompt1_challenge_bytes() -> None:
    # Challenge entry: promptId [1] PromptId -> a1, nonEnumeratedPrompt [2] IMPLICIT -> 82;
    # responseRequired [5] IMPLICIT NULL -> 85 00; dataType [8] IMPLICIT INTEGER -> 88 01 04
    expected = bytes.fromhex("a1 0f 30 0d a1 06 82 04 59656172 85 00 88 01 04")
    decoded = pyasn1_decode(expected, PromptObject())
    assert decoded.getName() == "challenge"
    entry = decoded["challenge"][0]
    assert str(entry["promptId"]["nonEnumeratedPrompt"]) == "Year"
    assert isinstance(entry["responseRequired"], univ.Null)
    assert entry["dataType"].prettyPrint() == "alphaNumeric"
    assert isoill_rewrites(plan.EXTENSIONS["1.2.840.10003.8.1"], expected) == expected


def test_prompt1_diagnostic_is_kept_as_encoded_diagrec() -> None:
    # promptResponse diagnostic [4] DiagRec: an explicit [4] around the DiagRec's own TLV
    diag_rec = bytes.fromhex("30 03 02 01 02")  # stands for a DefaultDiagFormat SEQUENCE
    expected = bytes.fromhex("a2 12 30 10 a1 05 a1 03 81 01 02 a2 07 a4 05") + diag_rec
    decoded = pyasn1_decode(expected, PromptObject())
    entry = decoded["response"][0]
    assert entry["promptId"]["enummeratedPrompt"]["type"].prettyPrint() == "password"
    assert entry["promptResponse"].getName() == "diagnostic"
    assert bytes(entry["promptResponse"]["diagnostic"]) == diag_rec
    assert isoill_rewrites(plan.EXTENSIONS["1.2.840.10003.8.1"], expected) == expected


def test_ipig_user_error_bytes() -> None:
    # SEQUENCE OF CHOICE {
    #   element-truncated [4] IMPLICIT Element-Truncated,  -> a4, then
    #     element [0] Identifier, truncated-value [1] ILL-String  -> a0 / a1 around 1b
    #   missing-required-element [5] Identifier,            -> a5 (explicit) around 1b
    path = b"ILL-REQUEST.item-id.title"
    expected = (
        bytes.fromhex("30 44 a5 1b 1b 19")
        + path
        + bytes.fromhex("a4 25 a0 1b 1b 19")
        + path
        + bytes.fromhex("a1 06 1b 04")
        + b"Dune"
    )
    decoded = pyasn1_decode(expected, AdditionalUserErrorReportInfo())
    assert decoded[0].getName() == "missing-required-element"
    assert str(decoded[0]["missing-required-element"].getComponent()) == path.decode()
    assert decoded[1].getName() == "element-truncated"
    assert str(decoded[1]["element-truncated"]["element"].getComponent()) == path.decode()
    assert str(decoded[1]["element-truncated"]["truncated-value"].getComponent()) == "Dune"
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.13.6"], expected) == expected


def test_oclc_ill_request_extension_bytes() -> None:
    # clientDepartment [0] EXPLICIT ILL-String, source [7] EXPLICIT ILL-String
    expected = bytes.fromhex("30 0d a0 06 1b 04 4368656d a7 03 1b 01 58")
    decoded = pyasn1_decode(expected, OCLCILLRequestExtension())
    assert str(decoded["clientDepartment"]["GeneralString"]) == "Chem"
    assert str(decoded["source"]["GeneralString"]) == "X"
    assert decoded.getComponentByName("paymentMethod", instantiate=False) is noValue
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.13.2"], expected) == expected


def test_oclc_specific_results_bytes() -> None:
    # oclcSpecificStatus [0] IMPLICIT ENUMERATED -> 80; reasonInReviewList [1] IMPLICIT
    # SEQUENCE OF -> a1; reasonInReview [0] IMPLICIT ENUMERATED -> 80 01 17 (noShipToAddress)
    expected = bytes.fromhex("30 0a 80 01 01 a1 05 30 03 80 01 17")
    decoded = pyasn1_decode(expected, OCLCSpecificResults())
    assert decoded["oclcSpecificStatus"].prettyPrint() == "review"
    assert decoded["reasonInReviewList"][0]["reasonInReview"].prettyPrint() == "noShipToAddress"
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.8.1000.2.1"], expected) == expected


def test_oclc_ill_service_bytes() -> None:
    # oCLCILLServiceType [0] IMPLICIT ENUMERATED -> 80 01 03 (directToReview)
    expected = bytes.fromhex("30 03 80 01 03")
    decoded = pyasn1_decode(expected, OCLCILLService())
    assert decoded["oCLCILLServiceType"].prettyPrint() == "directToReview"
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.4.1000.2.1"], expected) == expected


def test_apdu_delivery_info_bytes() -> None:
    # encoding [0] IMPLICIT SEQUENCE SIZE (1..3) OF APDU-Encoding -> a0 around 0a 01 03
    # transport [1] IMPLICIT System-Address -> a1; telecom-service-address [1] ILL-String
    parameters = bytes.fromhex("30 0c a0 03 0a 01 03 a1 05 a1 03 1b 01 68")
    expected = bytes.fromhex("30 20 a0 0e") + parameters + bytes.fromhex("a1 0e") + parameters
    decoded = pyasn1_decode(expected, APDUDeliveryInfo())
    for field in ("sender-info", "recipient-info"):
        (entry,) = decoded[field]
        assert [item.prettyPrint() for item in entry["encoding"]] == ["bER"]
        address = entry["transport"]["telecom-service-address"]
        assert str(address["GeneralString"]) == "h"
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.13.3"], expected) == expected


def test_apdu_delivery_info_allows_at_most_three_encodings() -> None:
    # pyasn1's decoder accepts a SEQUENCE OF of the wrong size and flags it as inconsistent
    for count, too_many in ((3, False), (4, True)):
        parameters = tlv(
            "30",
            tlv("a0", bytes.fromhex("0a 01 03") * count),
            bytes.fromhex("a1 05 a1 03 1b 01 68"),
        )
        value = pyasn1_decode(
            tlv("30", tlv("a0", parameters), tlv("a1", parameters)), APDUDeliveryInfo()
        )
        encodings = value["sender-info"][0]["encoding"]
        assert len(encodings) == count
        assert bool(encodings.isInconsistent) is too_many


def test_system_no_bytes() -> None:
    # SEQUENCE SIZE (1..10) OF SEQUENCE { system System, recordNo RecordNo }: no tags
    expected = bytes.fromhex("30 0f 30 0d 0a 01 03 1b 08") + b"12345678"
    decoded = pyasn1_decode(expected, SystemNo())
    assert decoded[0]["system"].prettyPrint() == "oclc"
    assert str(decoded[0]["recordNo"]["GeneralString"]) == "12345678"
    assert isoill_rewrites(plan.EXTENSIONS["1.2.124.10161.2"], expected) == expected


def test_system_no_size_limits() -> None:
    # SEQUENCE SIZE (1..10) OF: flagged inconsistent with eleven entries, not with ten
    entry = bytes.fromhex("30 06 0a 01 03 1b 01 37")
    for count, too_many in ((10, False), (11, True)):
        value = pyasn1_decode(tlv("30", entry * count), SystemNo())
        assert len(value) == count
        assert bool(value.isInconsistent) is too_many

    # RecordNo ::= ILL-String (SIZE (1..50))
    record = b"9" * 51
    too_long = bytes.fromhex("30 3a 30 38 0a 01 03 1b 33") + record
    with pytest.raises(PyAsn1Error):
        decoder.decode(too_long, asn1Spec=SystemNo())
    fits = bytes.fromhex("30 39 30 37 0a 01 03 1b 32") + record[:50]
    assert str(pyasn1_decode(fits, SystemNo())[0]["recordNo"]["GeneralString"]) == "9" * 50


def test_ipig_system_number_bytes() -> None:
    # type CHOICE { well-known [1] Well-Known-System, ... } is untagged: a1 03 0a 01 04
    # number [4] ILL-String -> a4
    expected = bytes.fromhex("30 0c 30 0a a1 03 0a 01 04 a4 03 1b 01 37")
    decoded = pyasn1_decode(expected, IPIGsystemnumber())
    assert decoded[0]["type"].getName() == "well-known"
    assert decoded[0]["type"]["well-known"].prettyPrint() == "oCLC"
    assert str(decoded[0]["number"]["GeneralString"]) == "7"
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.6.1"], expected) == expected


def test_ipig_ill_request_bytes() -> None:
    # material-type [1] Requested-Material-Format -> a1 03 0a 01 10 (monograph-bound, 16)
    # this-edition-only [10] IMPLICIT NULL -> 8a 00
    # dissertation-thesis [3] Dissertation-Thesis -> a3 around 30; inside:
    #   type [1] CHOICE {masters-thesis [2] IMPLICIT NULL} -> a1 02 82 00
    #   details [2] IMPLICIT Dissertation-Thesis-Details -> a2 00 (both members optional)
    expected = bytes.fromhex("30 11 a1 03 0a 01 10 8a 00 a3 08 30 06 a1 02 82 00 a2 00")
    decoded = pyasn1_decode(expected, IPIGILLRequestExtension())
    assert [item.getName() for item in decoded] == [
        "material-type",
        "this-edition-only",
        "dissertation-thesis",
    ]
    assert decoded[0]["material-type"].prettyPrint() == "monograph-bound"
    thesis = decoded[2]["dissertation-thesis"]
    assert thesis["type"].getName() == "masters-thesis"
    assert len(thesis["details"]) == 0
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.13.9"], expected) == expected


def test_supplemental_client_info_nests_recursively() -> None:
    # ClientInfoData ::= SEQUENCE { infoType ClientInfoType, infoContent [3] IMPLICIT
    #   SEQUENCE OF ClientInfoContent }; nested [6] IMPLICIT ClientInfoData -> a6
    # standard [1] Standard-Client-Info-Type -> a1 03 0a 01 xx
    # definedNumber [5] IMPLICIT INTEGER -> 85 01 xx
    innermost = bytes.fromhex("a1 03 0a 01 00 a3 03 85 01 02")
    middle = bytes.fromhex("a1 03 0a 01 00 a3 0f 85 01 01 a6 0a") + innermost
    outer = bytes.fromhex("30 22 a1 03 0a 01 00 a3 1b 85 01 00 a6 16") + middle
    expected = bytes.fromhex("30 24") + outer
    decoded = pyasn1_decode(expected, SupplementalClientInfo())
    level = decoded[0]
    for depth in range(3):
        assert level["infoType"]["standard"].prettyPrint() == "idInfo"
        assert int(level["infoContent"][0]["definedNumber"]) == depth
        if depth < 2:
            level = level["infoContent"][1]["nested"]
    assert len(level["infoContent"]) == 1
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.13.4"], expected) == expected


def test_suppliers_reference_bytes() -> None:
    # supplier-authority [0] ILL-String -> a0; supplier-reference [1] ILL-String -> a1
    expected = bytes.fromhex("30 0b a0 04 1b 02 424c a1 03 1b 01 31")
    decoded = pyasn1_decode(expected, SuppliersReference())
    assert str(decoded["supplier-authority"]["GeneralString"]) == "BL"
    assert str(decoded["supplier-reference"]["GeneralString"]) == "1"
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.13.7"], expected) == expected


def test_external_bytes_for_suppliers_reference() -> None:
    # EXTERNAL -> 28; direct-reference OBJECT IDENTIFIER 1.0.10161.13.7 -> 06 05 28 cf 31 0d 07
    # (arcs 1.0 -> 0x28, 10161 = 79 * 128 + 49 -> cf 31); single-ASN1-type [0] ANY -> a0
    payload = bytes.fromhex("30 0b a0 04 1b 02 424c a1 03 1b 01 31")
    oid_tlv = bytes.fromhex("06 05 28 cf 31 0d 07")
    expected = bytes.fromhex("28 16") + oid_tlv + bytes.fromhex("a0 0d") + payload
    decoded = pyasn1_decode(expected, External())
    assert str(decoded["direct-reference"]) == "1.0.10161.13.7"
    assert bytes(decoded["encoding"]["single-ASN1-type"]) == payload
    # isoill decodes the payload with the registered syntax and writes it back unchanged
    value, end = decode_node(plan.EXTERNAL, expected, 0, len(expected))
    assert end == len(expected)
    reference = value.encoding.single_asn1_type
    assert isinstance(reference, models.SuppliersReference)
    assert str(reference.supplier_authority) == "BL"
    assert encode_node(plan.EXTERNAL, value) == expected


def test_forwarded_add_info_is_unfilled_results() -> None:
    # Forwarded-Add-Info ::= Unfilled-Results: reason-unfilled [0] IMPLICIT ENUMERATED -> 80
    expected = bytes.fromhex("30 03 80 01 05")
    decoded = pyasn1_decode(expected, ForwardedAddInfo())
    assert decoded["reason-unfilled"].prettyPrint() == "not-owned"
    assert int(decoded["reason-unfilled"]) == 5
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.13.5"], expected) == expected


def test_intermediary_control_tags() -> None:
    # actionFlag [0] IMPLICIT -> 80 01 02; lastResponder [1] IMPLICIT SEQUENCE -> a1;
    # transactionResults [1] IMPLICIT -> 81 01 03; resultsExplanation [2] CHOICE -> a2,
    # unfilledResults [3] -> a3 30 03 80 01 05; responderId [3] IMPLICIT System-Id -> a3
    expected = bytes.fromhex("30 13 80 01 02 a1 0e 81 01 03 a2 07 a3 05 30 03 80 01 05 a3 00")
    decoded = pyasn1_decode(expected, IntermediaryControl())
    assert decoded["actionFlag"].prettyPrint() == "controlRequest"
    last = decoded["lastResponder"]
    assert int(last["transactionResults"]) == 3
    assert last["resultsExplanation"].getName() == "unfilledResults"
    assert int(last["resultsExplanation"]["unfilledResults"]["reason-unfilled"]) == 5
    responder = last["responderId"]  # an empty System-Id, as yaz sends them
    for name in ("person-or-institution-symbol", "name-of-person-or-institution"):
        assert responder.getComponentByName(name, instantiate=False) is noValue
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.13.1000.2.7"], expected) == expected


def test_prism_error_bytes() -> None:
    # prism-Ill-Field-Id [0] IMPLICIT INTEGER -> 80; prism-Ill-Error-Code [1] IMPLICIT
    # ENUMERATED -> 81; prism-Ill-Error-Text [2] ILL-String -> a2
    expected = bytes.fromhex("30 0d 30 0b 80 01 03 81 01 02 a2 03 1b 01 78")
    decoded = pyasn1_decode(expected, OCLCPrismIllError())
    assert int(decoded[0]["prism-Ill-Field-Id"]) == 3
    assert decoded[0]["prism-Ill-Error-Code"].prettyPrint() == "invalid-field-length"
    assert str(decoded[0]["prism-Ill-Error-Text"]["GeneralString"]) == "x"
    assert isoill_rewrites(plan.EXTENSIONS["1.0.10161.13.1"], expected) == expected
