"""Tests for the ISO-10161-ILL-1 pyasn1 types (isoill.asn1.ill9702) and EXTERNAL.

The types are pure definitions; what checks them against the ASN.1 here is pyasn1's own BER
decoder (isoill does not use it at run time, so it reads the types independently of isoill's
codec). It must read, with nothing left over and with the expected field values:

* the YAZ captures (indefinite lengths, empty System-Ids, a 13-digit ISBN, UTF-8 text);
* hand-written encodings whose tag bytes were worked out by hand from the module text;
* isoill's encoding of fully filled values of all twenty APDUs, compared field by field with
  the isoill model that was encoded (:func:`agrees`).

isoill's plan is compiled from these same pyasn1 types, so the third check cannot notice a tag
that is wrong in the types themselves; the captures and the hand-written bytes are for that.
"""

from __future__ import annotations

from typing import Any

import pytest
from apdu_examples import full_apdu
from paths import CAPTURES
from pyasn1.codec.ber import decoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, univ
from pyasn1.type.base import noValue

from isoill.asn1 import ill9702 as ill
from isoill.asn1.ext import EXTENSION_SYNTAXES
from isoill.asn1.external import External
from isoill.codec import plan
from isoill.codec.decoder import decode, decode_node
from isoill.codec.encoder import encode, encode_node
from isoill.codec.schema import Kind, Node
from isoill.codec.values import NULL, ExternalModel

VARIANTS = range(6)  # enough for full_apdu to go through every CHOICE alternative


# --- helpers -----------------------------------------------------------------


def pyasn1_decode(data: bytes, spec: Any) -> Any:
    """Decode one value with pyasn1's BER decoder; nothing may be left over."""
    value, rest = decoder.decode(data, asn1Spec=spec)
    assert bytes(rest) == b"", f"pyasn1 left {len(rest)} bytes over"
    return value


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


def text(value: Any) -> str:
    """The text of an ILL-String sent as GeneralString, read as UTF-8."""
    return bytes(value["GeneralString"].asOctets()).decode("utf-8")


def alternative_node(node: Node, name: str) -> Node:
    for member in node.fields:
        if member.name == name:
            return member.node
    raise AssertionError(f"{node.name} has no member {name}")


def agrees(value: Any, model: Any, node: Node, path: str = "") -> None:
    """Assert that the pyasn1 ``value`` holds what the isoill ``model`` of ``node`` holds.

    ANY contents are decoded with pyasn1 too: an EXTERNAL with ``External()``, the
    single-ASN1-type of a registered extension with that extension's spec.
    """
    kind = node.kind
    if kind in (Kind.SEQUENCE, Kind.EXTERNAL):
        for member in node.fields:
            here = f"{path}.{member.name}"
            component = value.getComponentByName(member.name, instantiate=False)
            expected = getattr(model, member.attr)
            if expected is None:
                assert component is noValue, f"{here}: pyasn1 has a value isoill has not"
            elif kind is Kind.EXTERNAL and member.name == "encoding":
                _agrees_external_encoding(component, expected, model, member.node, here)
            else:
                assert component is not noValue, f"{here}: missing in pyasn1's value"
                agrees(component, expected, member.node, here)
    elif kind is Kind.CHOICE:
        name, content = model.chosen
        assert value.getName() == name, f"{path}: pyasn1 chose {value.getName()}, not {name}"
        agrees(value.getComponent(), content, alternative_node(node, name), f"{path}.{name}")
    elif kind is Kind.SEQUENCE_OF:
        assert node.element is not None
        assert len(value) == len(model), f"{path}: {len(value)} items, not {len(model)}"
        for number, (item, expected) in enumerate(zip(value, model, strict=True)):
            agrees(item, expected, node.element, f"{path}[{number}]")
    elif kind is Kind.ANY:
        octets = bytes(value)
        if isinstance(model, ExternalModel):
            agrees(pyasn1_decode(octets, External()), model, plan.EXTERNAL, f"{path}<EXTERNAL>")
        else:
            assert octets == model, path
    elif kind is Kind.TEXT:
        if isinstance(value, univ.Choice):  # ILL-String ::= CHOICE {GeneralString, EDIFACTString}
            form = "EDIFACTString" if model.edifact else "GeneralString"
            assert value.getName() == form, path
            value = value.getComponent()
        assert bytes(value) == model.raw, path
    elif kind is Kind.BITS:  # isoill keeps the contents octets: unused-bit count, then bits
        assert bytes([-len(value) % 8]) + bytes(value.asOctets()) == model, path
    elif kind is Kind.NULL:
        assert isinstance(value, univ.Null) and model is NULL, path
    elif kind in (Kind.OID, Kind.STRING):
        assert str(value) == model, f"{path}: {value} != {model}"
    elif kind is Kind.OCTETS:
        assert bytes(value) == model, path
    else:  # INTEGER, ENUMERATED, BOOLEAN
        assert int(value) == int(model), f"{path}: {int(value)} != {int(model)}"


def _agrees_external_encoding(
    value: Any, encoding: Any, external: Any, node: Node, path: str
) -> None:
    name, content = encoding.chosen
    assert value.getName() == name, f"{path}: pyasn1 chose {value.getName()}, not {name}"
    if name == "single-ASN1-type" and not isinstance(content, bytes):
        oid = external.direct_reference
        inner = pyasn1_decode(bytes(value.getComponent()), EXTENSION_SYNTAXES[oid].spec())
        agrees(inner, content, plan.EXTENSIONS[oid], f"{path}<{oid}>")
    else:
        agrees(value.getComponent(), content, alternative_node(node, name), f"{path}.{name}")


def tlv(tag: str, *contents: bytes) -> bytes:
    """One definite-length element: the tag octets written out in hex, the length counted."""
    body = b"".join(contents)
    if len(body) < 0x80:
        length = bytes([len(body)])
    else:
        octets = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes.fromhex(tag) + length + body


def isoill_roundtrip(data: bytes) -> bytes:
    """isoill's decoder and encoder on an APDU: writes the same bytes back if both agree."""
    return encode(decode(data))


def load_capture(n: int) -> tuple[bytes, Any]:
    data = (CAPTURES / f"yaz-illclient-{n}.ber").read_bytes()
    return data, pyasn1_decode(data, ill.ILLAPDU())


# The part every APDU starts with (inside its [APPLICATION n] and SEQUENCE):
HEADER = bytes.fromhex(
    "80 01 02"  # protocol-version-num [0] IMPLICIT INTEGER: version-2
    "a1 0f"  # transaction-id [1] IMPLICIT Transaction-Id
    " a1 05 1b 03 677270"  # transaction-group-qualifier [1] ILL-String: GeneralString "grp"
    " a2 06 1b 04 54582d31"  # transaction-qualifier [2] ILL-String: GeneralString "TX-1"
    "a2 0c"  # service-date-time [2] IMPLICIT Service-Date-Time
    " a0 0a"  # date-time-of-this-service [0] IMPLICIT SEQUENCE
    " 80 08 3230323430333135"  # date [0] IMPLICIT ISO-Date (VisibleString): "20240315"
)

# Extension ::= SEQUENCE { identifier [0] IMPLICIT INTEGER, critical [1] IMPLICIT BOOLEAN
#   DEFAULT FALSE, item [2] ANY DEFINED BY identifier }, the item an EXTERNAL:
EXTERNAL_ITEM = bytes.fromhex(
    "28 0e"  # EXTERNAL ::= [UNIVERSAL 8] IMPLICIT SEQUENCE
    " 06 05 28cf310d63"  # direct-reference OBJECT IDENTIFIER 1.0.10161.13.99 (not registered)
    " a0 05 1a 03 616263"  # single-ASN1-type [0] ANY: VisibleString "abc"
)
EXTENSION = (
    bytes.fromhex(
        "30 18"  # SEQUENCE
        " 80 01 01"  # identifier [0] IMPLICIT INTEGER: 1
        " 81 01 ff"  # critical [1] IMPLICIT BOOLEAN: TRUE
        " a2 10"  # item [2] ANY: explicit [2] around the EXTERNAL's own TLV
    )
    + EXTERNAL_ITEM
)


def assert_is_extension(value: Any) -> None:
    assert int(value["identifier"]) == 1
    assert bool(value["critical"]) is True
    item = bytes(value["item"])
    assert item == EXTERNAL_ITEM
    external = pyasn1_decode(item, External())
    assert str(external["direct-reference"]) == "1.0.10161.13.99"
    inner = bytes(external["encoding"]["single-ASN1-type"])
    assert pyasn1_decode(inner, char.VisibleString()) == "abc"


# --- real captures -------------------------------------------------------------


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
def test_capture_reads_the_same_in_pyasn1_and_isoill(n: int) -> None:
    data, apdu = load_capture(n)
    model = decode(data)
    node = plan.APDUS[model.apdu_type]
    agrees(apdu.getComponent(), model, node, model.apdu_type)
    # isoill's definite-length re-encoding holds exactly what pyasn1 read from the capture
    again = pyasn1_decode(encode(model), ill.ILLAPDU())
    agrees(again.getComponent(), model, node, model.apdu_type)
    assert plain(again) == plain(apdu)


# --- tagging, against bytes worked out by hand ------------------------------------


def test_ill_request_is_application_1_wrapping_sequence() -> None:
    data, _ = load_capture(2)
    definite = encode(decode(data))  # isoill writes definite lengths
    assert definite[0] == 0x61  # [APPLICATION 1], constructed
    assert definite[1] == 0x82  # definite long form, two length octets
    assert definite[4] == 0x30  # the SEQUENCE inside the explicit application tag
    request = pyasn1_decode(definite, ill.ILLRequest())
    assert text(request["item-id"]["title"]) == "The Left Hand of Darkness"
    # the SEQUENCE alone, without its application tag, is not an ILL-Request
    with pytest.raises(PyAsn1Error):
        decoder.decode(definite[4:], asn1Spec=ill.ILLRequest())


def test_requester_note_is_explicit_46_around_general_string() -> None:
    # Cancel ::= [APPLICATION 6] SEQUENCE { ..., requester-note [46] ILL-String OPTIONAL, ... }
    # [46] in an EXPLICIT TAGS module wraps the GeneralString: bf 2e 07 1b 05 "hello"
    data = tlv("66", tlv("30", HEADER, bytes.fromhex("bf 2e 07 1b 05 68656c6c6f")))
    apdu = pyasn1_decode(data, ill.ILLAPDU())
    assert apdu.getName() == "Cancel"
    cancel = apdu["Cancel"]
    assert int(cancel["protocol-version-num"]) == 2
    assert text(cancel["transaction-id"]["transaction-group-qualifier"]) == "grp"
    assert text(cancel["transaction-id"]["transaction-qualifier"]) == "TX-1"
    assert str(cancel["service-date-time"]["date-time-of-this-service"]["date"]) == "20240315"
    assert text(cancel["requester-note"]) == "hello"
    # OPTIONAL components not sent stay absent
    for name in ("requester-id", "responder-id", "cancel-extensions"):
        assert cancel.getComponentByName(name, instantiate=False) is noValue
    tid = cancel["transaction-id"]
    assert tid.getComponentByName("initial-requester-id", instantiate=False) is noValue
    assert isoill_roundtrip(data) == data


def test_overdue_extensions_are_explicitly_tagged() -> None:
    # Overdue ::= [APPLICATION 12] SEQUENCE { ..., date-due [41] IMPLICIT Date-Due,
    #   responder-note [46] ILL-String OPTIONAL, overdue-extensions [49] SEQUENCE OF Extension
    #   OPTIONAL }: no IMPLICIT on [49], so bf 31 wraps the SEQUENCE OF -> bf 31 .. 30 .. 30
    # Date-Due ::= SEQUENCE { date-due-field [0] IMPLICIT ISO-Date, renewable [1] IMPLICIT
    #   BOOLEAN DEFAULT TRUE }; the DEFAULT is written out, as isoill (and YAZ) do
    date_due = bytes.fromhex("bf 29 0d 80 08 3230323430343031 81 01 ff")
    explicit = tlv("bf 31", tlv("30", EXTENSION))
    assert explicit[:6] == bytes.fromhex("bf 31 1c 30 1a 30")
    data = tlv("6c", tlv("30", HEADER, date_due, explicit))
    overdue = pyasn1_decode(data, ill.ILLAPDU())["Overdue"]
    assert str(overdue["date-due"]["date-due-field"]) == "20240401"
    assert bool(overdue["date-due"]["renewable"]) is True
    assert len(overdue["overdue-extensions"]) == 1
    assert_is_extension(overdue["overdue-extensions"][0])
    assert isoill_roundtrip(data) == data
    # the implicit form every other APDU uses is not an Overdue
    implicit = tlv("6c", tlv("30", HEADER, date_due, tlv("bf 31", EXTENSION)))
    with pytest.raises(PyAsn1Error):
        decoder.decode(implicit, asn1Spec=ill.ILLAPDU())


def test_other_extensions_are_implicitly_tagged() -> None:
    # Cancel ::= [APPLICATION 6] SEQUENCE { ..., cancel-extensions [49] IMPLICIT SEQUENCE OF
    #   Extension OPTIONAL }: bf 31 replaces the SEQUENCE OF tag, the Extension follows directly
    implicit = tlv("bf 31", EXTENSION)
    assert implicit[:3] == bytes.fromhex("bf 31 1a")
    assert implicit[3] == 0x30
    data = tlv("66", tlv("30", HEADER, implicit))
    cancel = pyasn1_decode(data, ill.ILLAPDU())["Cancel"]
    assert len(cancel["cancel-extensions"]) == 1
    assert_is_extension(cancel["cancel-extensions"][0])
    assert isoill_roundtrip(data) == data
    # Overdue's explicit form is not a Cancel
    explicit = tlv("66", tlv("30", HEADER, tlv("bf 31", tlv("30", EXTENSION))))
    with pytest.raises(PyAsn1Error):
        decoder.decode(explicit, asn1Spec=ill.ILLAPDU())


def test_extension_item_holds_external_tlv() -> None:
    # identifier [0] IMPLICIT, critical [1] IMPLICIT, item [2] explicit around EXTERNAL (28)
    assert EXTENSION.startswith(bytes.fromhex("3018 800101 8101ff a210"))
    assert EXTENSION[10] == 0x28
    assert_is_extension(pyasn1_decode(EXTENSION, ill.Extension()))
    # critical may be left out (DEFAULT FALSE)
    without = tlv("30", bytes.fromhex("80 01 07"), tlv("a2", EXTERNAL_ITEM))
    extension = pyasn1_decode(without, ill.Extension())
    assert int(extension["identifier"]) == 7
    assert extension.getComponentByName("critical", instantiate=False) is noValue
    assert plain(extension)["critical"] is False


def test_external_encodings() -> None:
    octet_aligned = bytes.fromhex(
        "28 1d"  # EXTERNAL ::= [UNIVERSAL 8] IMPLICIT SEQUENCE
        " 06 07 2a8648ce13050a"  # direct-reference 1.2.840.10003.5.10 (840 -> 86 48,
        #                          10003 -> ce 13)
        " 02 01 03"  # indirect-reference INTEGER 3
        " 07 0b 4d415243207265636f7264"  # data-value-descriptor ObjectDescriptor: "MARC record"
        " 81 02 0102"  # octet-aligned [1] IMPLICIT OCTET STRING
    )
    ext = pyasn1_decode(octet_aligned, External())
    assert str(ext["direct-reference"]) == "1.2.840.10003.5.10"
    assert int(ext["indirect-reference"]) == 3
    assert str(ext["data-value-descriptor"]) == "MARC record"
    assert ext["encoding"].getName() == "octet-aligned"
    assert bytes(ext["encoding"]["octet-aligned"]) == b"\x01\x02"

    # arbitrary [2] IMPLICIT BIT STRING: 4 unused bits, bits 1010
    arbitrary = bytes.fromhex("28 04 82 02 04 a0")
    bits = pyasn1_decode(arbitrary, External())
    assert bits.getComponentByName("direct-reference", instantiate=False) is noValue
    assert tuple(bits["encoding"]["arbitrary"]) == (1, 0, 1, 0)

    # isoill's codec writes both back byte for byte
    for data in (octet_aligned, arbitrary):
        value, end = decode_node(plan.EXTERNAL, data, 0, len(data))
        assert end == len(data)
        assert encode_node(plan.EXTERNAL, value) == data


def test_status_report_and_history() -> None:
    # Status-Or-Error-Report ::= [APPLICATION 19] SEQUENCE { ...,
    #   status-report [44] IMPLICIT Status-Report OPTIONAL, ... }
    # Status-Report ::= SEQUENCE { user-status-report [0] IMPLICIT History-Report,
    #   provider-status-report [1] IMPLICIT Current-State }
    history = bytes.fromhex(
        "85 08 3230323430333230"  # date-of-last-transition [5] IMPLICIT ISO-Date
        "86 01 15"  # most-recent-service [6] IMPLICIT ENUMERATED: fORWARD (21)
        "87 08 3230323430333230"  # date-of-most-recent-service [7] IMPLICIT ISO-Date
        "a8 09 a0 07 a1 05 1b 03 524551"  # initiator-of-most-recent-service [8] IMPLICIT
        #   System-Id: person-or-institution-symbol [0], institution-symbol [1], "REQ"
        "89 01 01"  # shipped-service-type [9] IMPLICIT Shipped-Service-Type: loan (1)
    )
    status = tlv("bf 2c", tlv("a0", history), bytes.fromhex("81 01 03"))  # iN-PROCESS (3)
    data = tlv("73", tlv("30", HEADER, status))
    apdu = pyasn1_decode(data, ill.ILLAPDU())
    assert apdu.getName() == "Status-Or-Error-Report"
    report = apdu["Status-Or-Error-Report"]["status-report"]
    user = report["user-status-report"]
    assert user["most-recent-service"] == 21
    assert user["most-recent-service"].prettyPrint() == "fORWARD"
    assert str(user["date-of-last-transition"]) == "20240320"
    symbol = user["initiator-of-most-recent-service"]["person-or-institution-symbol"]
    assert text(symbol["institution-symbol"]) == "REQ"
    assert user["shipped-service-type"].prettyPrint() == "loan"
    assert report["provider-status-report"].prettyPrint() == "iN-PROCESS"
    assert isoill_roundtrip(data) == data


def test_constraints() -> None:
    with pytest.raises(PyAsn1Error):
        ill.ShippedServiceType(3)
    assert int(ill.ShippedServiceType("copy-non-returnable")) == 2
    with pytest.raises(PyAsn1Error):
        ill.EDIFACTString("a@b")
    assert ill.EDIFACTString("ABC 123.,-()/=!\"%&*;<>'+:?") is not None
    with pytest.raises(PyAsn1Error):
        ill.AmountString("12a")
    # Amount ::= SEQUENCE { currency-code [0] IMPLICIT PrintableString (SIZE (3)) OPTIONAL,
    #   monetary-value [1] IMPLICIT AmountString (SIZE (1..10)) }
    amount = pyasn1_decode(bytes.fromhex("30 0c 80 03 455552 81 05 31322e3530"), ill.Amount())
    assert plain(amount) == {"currency-code": b"EUR", "monetary-value": b"12.50"}
    with pytest.raises(PyAsn1Error):  # currency code "EURO"
        decoder.decode(
            bytes.fromhex("30 0d 80 04 4555524f 81 05 31322e3530"), asn1Spec=ill.Amount()
        )
    with pytest.raises(PyAsn1Error):  # monetary value "12a"
        decoder.decode(bytes.fromhex("30 05 81 03 313261"), asn1Spec=ill.Amount())


# --- all twenty APDUs, as isoill writes them --------------------------------------------


def test_twenty_apdus() -> None:
    assert list(plan.APDUS) == list(ill.APDU_TYPES)
    assert len(ill.APDU_TYPES) == 20
    assert [ill.ILLAPDU.componentType.getNameByPosition(i) for i in range(20)] == list(
        ill.APDU_TYPES
    )


@pytest.mark.parametrize("name", list(ill.APDU_TYPES))
def test_pyasn1_reads_isoill_apdu(name: str) -> None:
    cls = ill.APDU_TYPES[name]
    number = list(ill.APDU_TYPES).index(name) + 1
    node = plan.APDUS[name]
    for variant in VARIANTS:
        apdu = full_apdu(name, variant)
        data = encode(apdu)
        assert data[0] == 0x60 | number  # [APPLICATION n], constructed
        decoded = pyasn1_decode(data, ill.ILLAPDU())
        assert decoded.getName() == name
        agrees(decoded.getComponent(), apdu, node, f"{name}/{variant}")
        # the APDU type on its own decodes too
        agrees(pyasn1_decode(data, cls()), apdu, node, f"{name}/{variant}")
