"""What the decoder refuses (class, offset, field path) and what it must accept from real peers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from apdu_examples import full_apdu
from paths import CAPTURES

from isoill.codec import plan
from isoill.codec.ber import encode_header, read_header
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError, DecodeError, UnrecognizedApdu
from isoill.codec.jsonform import from_json, to_json
from isoill.codec.models import ILLAnswer, ILLRequest
from isoill.codec.text import Text

models = plan.bound()

CAPTURE_2 = (CAPTURES / "yaz-illclient-2.ber").read_bytes()


def hexb(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- building APDUs from parts ----------------------------------------------------------------


def make(key: int, constructed: bool, content: bytes) -> bytes:
    return encode_header(key, constructed, len(content)) + content


def parse(element: bytes) -> tuple[int, bool, bytes]:
    key, constructed, length, content = read_header(element, 0)
    assert content + length == len(element), "helper expects one definite element"
    return key, constructed, element[content:]


def children(element: bytes) -> list[bytes]:
    _, constructed, content = parse(element)
    assert constructed
    parts = []
    pos = 0
    while pos < len(content):
        _, _, length, start = read_header(content, pos)
        parts.append(content[pos : start + length])
        pos = start + length
    return parts


def rebuild(element: bytes, parts: list[bytes]) -> bytes:
    key, constructed, _ = parse(element)
    return make(key, constructed, b"".join(parts))


def request_of(data: bytes) -> ILLRequest:
    decoded = decode(data)
    assert isinstance(decoded, ILLRequest)
    return decoded


def answer_of(data: bytes) -> ILLAnswer:
    decoded = decode(data)
    assert isinstance(decoded, ILLAnswer)
    return decoded


def key_of(element: bytes) -> int:
    return read_header(element, 0)[0]


def field_key(apdu: str, *names: str) -> int:
    node = plan.APDUS[apdu]
    for name in names:
        node = next(f.node for f in node.fields if f.name == name)
    if node.wrappers:
        return node.wrappers[0]
    assert node.tag is not None, names  # only an untagged CHOICE has neither
    return node.tag


@dataclass
class Apdu:
    """An encoded APDU, [APPLICATION n] { SEQUENCE { fields } }, split into its fields."""

    name: str
    fields: list[bytes]

    @classmethod
    def full(cls, name: str) -> Apdu:
        (sequence,) = children(encode(full_apdu(name)))
        return cls(name, children(sequence))

    def index(self, *names: str) -> int:
        key = field_key(self.name, *names[:1])
        return next(i for i, f in enumerate(self.fields) if key_of(f) == key)

    def field(self, name: str) -> bytes:
        return self.fields[self.index(name)]

    def encoded(self) -> bytes:
        sequence = make(16 << 2, True, b"".join(self.fields))
        return make(plan.APDUS[self.name].wrappers[0], True, sequence)

    def offset(self, index: int) -> int:
        """Offset of field ``index`` in :meth:`encoded`."""
        return len(self.encoded()) - sum(len(f) for f in self.fields[index:])

    def replace(self, name: str, *new: bytes) -> Apdu:
        i = self.index(name)
        return Apdu(self.name, [*self.fields[:i], *new, *self.fields[i + 1 :]])

    def drop(self, name: str) -> Apdu:
        return self.replace(name)


REQUEST = Apdu.full("ILL-Request")
REQUEST_BYTES = encode(full_apdu("ILL-Request"))
TITLE_KEY = field_key("ILL-Request", "item-id", "title")
GENERAL_STRING = 27 << 2


def item_id_with(*replace: tuple[int, list[bytes]]) -> bytes:
    """The full item-id with each member of key k replaced by the given elements."""
    item_id = REQUEST.field("item-id")
    parts = children(item_id)
    for key, new in replace:
        i = next(j for j, p in enumerate(parts) if key_of(p) == key)
        parts[i : i + 1] = new
    return rebuild(item_id, parts)


def unique_offset(data: bytes, part: bytes) -> int:
    assert data.count(part) == 1, part.hex()
    return data.index(part)


# --- malformed APDUs --------------------------------------------------------------------------


@dataclass
class Bad:
    data: bytes
    error: type[CodecError]
    offset: int
    path: str
    says: tuple[str, ...] = ()


def _unknown_application_tag() -> Bad:
    return Bad(hexb("75") + REQUEST_BYTES[1:], UnrecognizedApdu, 0, "", ("[APPLICATION 21]",))


def _unknown_long_application_tag() -> Bad:
    return Bad(hexb("7f 2a") + REQUEST_BYTES[1:], UnrecognizedApdu, 0, "", ("[APPLICATION 42]",))


def _universal_sequence_outside() -> Bad:
    return Bad(REQUEST_BYTES[REQUEST_BYTES.index(0x30) :], UnrecognizedApdu, 0, "")


def _missing_item_id() -> Bad:
    apdu = REQUEST.drop("item-id")
    data = apdu.encoded()
    return Bad(data, DecodeError, apdu.offset(0), "", ("item-id", "ILLRequest"))


def _missing_nested_mandatory() -> Bad:
    tid = REQUEST.field("transaction-id")
    qualifier = field_key("ILL-Request", "transaction-id", "transaction-qualifier")
    new = rebuild(tid, [p for p in children(tid) if key_of(p) != qualifier])
    data = REQUEST.replace("transaction-id", new).encoded()
    start = unique_offset(data, new) + len(new) - len(parse(new)[2])
    return Bad(
        data, DecodeError, start, "transaction-id", ("transaction-qualifier", "TransactionId")
    )


def _unexpected_tag_in_sequence() -> Bad:
    stranger = hexb("9f 7f 01 00")  # [127]
    apdu = Apdu("ILL-Request", [REQUEST.fields[0], stranger, *REQUEST.fields[1:]])
    return Bad(apdu.encoded(), DecodeError, apdu.offset(1), "", ("[127]",))


def _unexpected_tag_in_nested_sequence() -> Bad:
    stranger = hexb("bf 63 00")  # [99] constructed, empty
    item_id = REQUEST.field("item-id")
    new = rebuild(item_id, [stranger, *children(item_id)])
    data = REQUEST.replace("item-id", new).encoded()
    content = unique_offset(data, new) + len(new) - len(parse(new)[2])
    return Bad(data, DecodeError, content, "item-id", ("[99]",))


def _truncated_by_one() -> Bad:
    return Bad(REQUEST_BYTES[:-1], DecodeError, 0, "")


def _truncated_in_the_header() -> Bad:
    return Bad(REQUEST_BYTES[:1], DecodeError, 1, "")


def _truncated_indefinite_no_end_of_contents() -> Bad:
    return Bad(CAPTURE_2[:-2], DecodeError, len(CAPTURE_2) - 2, "")


def _truncated_inside_indefinite() -> Bad:
    client_id = CAPTURE_2.index(hexb("af 19 a0 0d"))
    return Bad(CAPTURE_2[: client_id + 15], DecodeError, client_id, "client-id")


def _trailing_byte() -> Bad:
    return Bad(REQUEST_BYTES + b"\x00", DecodeError, len(REQUEST_BYTES), "", ("1 bytes",))


def _two_apdus() -> Bad:
    return Bad(REQUEST_BYTES * 2, DecodeError, len(REQUEST_BYTES), "")


def _empty_enumerated() -> Bad:
    """ENUMERATED values the module does not list decode (see test_unlisted_enumerated_value);
    an ENUMERATED without contents octets has no value at all."""
    answer = Apdu.full("ILL-Answer")
    bad = hexb("9f 1f 00")  # transaction-results, no contents
    assert key_of(bad) == field_key("ILL-Answer", "transaction-results")
    answer = answer.replace("transaction-results", bad)
    index = answer.index("transaction-results")
    at = answer.offset(index)
    return Bad(answer.encoded(), DecodeError, at, "transaction-results", ("ENUMERATED",))


def _empty_integer() -> Bad:
    apdu = REQUEST.replace("protocol-version-num", hexb("80 00"))
    return Bad(apdu.encoded(), DecodeError, apdu.offset(0), "protocol-version-num")


def _duplicate_field() -> Bad:
    first = REQUEST.fields[0]
    apdu = Apdu("ILL-Request", [first, first, *REQUEST.fields[1:]])
    return Bad(apdu.encoded(), DecodeError, apdu.offset(1), "", ("protocol-version-num", "twice"))


def _duplicate_nested_field() -> Bad:
    title = make(TITLE_KEY, True, make(GENERAL_STRING, False, b"Twice told"))
    new = item_id_with((TITLE_KEY, [title, title]))
    data = REQUEST.replace("item-id", new).encoded()
    second = data.index(title) + len(title)
    return Bad(data, DecodeError, second, "item-id", ("title", "twice"))


def _wrong_universal_tag_in_explicit() -> Bad:
    inner = make(4 << 2, False, b"OCTETS!")  # OCTET STRING where a GeneralString belongs
    title = make(TITLE_KEY, True, inner)
    data = REQUEST.replace("item-id", item_id_with((TITLE_KEY, [title]))).encoded()
    at = unique_offset(data, title) + 2
    return Bad(data, DecodeError, at, "item-id.title", ("[UNIVERSAL 4]",))


def _explicit_tag_holding_two() -> Bad:
    one = make(GENERAL_STRING, False, b"first title")
    two = make(GENERAL_STRING, False, b"second title")
    title = make(TITLE_KEY, True, one + two)
    data = REQUEST.replace("item-id", item_id_with((TITLE_KEY, [title]))).encoded()
    return Bad(data, DecodeError, unique_offset(data, two), "item-id.title")


def _indefinite_explicit_tag_holding_two() -> Bad:
    one = make(GENERAL_STRING, False, b"first title")
    two = make(GENERAL_STRING, False, b"second title")
    title = hexb("a4 80") + one + two + hexb("00 00")
    data = REQUEST.replace("item-id", item_id_with((TITLE_KEY, [title]))).encoded()
    return Bad(data, DecodeError, unique_offset(data, two), "item-id.title")


def _primitive_sequence() -> Bad:
    tid = REQUEST.field("transaction-id")
    flat = bytes((tid[0] & ~0x20,)) + tid[1:]
    apdu = REQUEST.replace("transaction-id", flat)
    at = apdu.offset(apdu.index("transaction-id"))
    return Bad(apdu.encoded(), DecodeError, at, "transaction-id", ("constructed",))


def _no_such_choice_alternative() -> Bad:
    requester = hexb("a3 05 a0 03 82 01 41")
    apdu = REQUEST.replace("requester-id", requester)
    data = apdu.encoded()
    at = apdu.offset(apdu.index("requester-id")) + 4
    return Bad(
        data,
        DecodeError,
        at,
        "requester-id.person-or-institution-symbol",
        ("[2]", "PersonOrInstitutionSymbol"),
    )


def _wrong_tag_in_sequence_of() -> Bad:
    service = hexb("a9 06 0a 01 01 02 01 02")  # iLL-service-type { loan, INTEGER 2 }
    apdu = REQUEST.replace("iLL-service-type", service)
    at = apdu.offset(apdu.index("iLL-service-type")) + 5
    return Bad(apdu.encoded(), DecodeError, at, "iLL-service-type.[1]", ("[UNIVERSAL 2]",))


def _external_inside_external() -> Bad:
    """An EXTERNAL whose single-ASN1-type holds another EXTERNAL: no syntax of ISO 10161 or
    its registered extensions is one, and nothing could encode it again."""
    external = 8 << 2
    inner = make(external, True, hexb("81 01 00"))  # EXTERNAL { octet-aligned '00'H }
    outer = make(external, True, make(0 << 2 | 2, True, inner))  # single-ASN1-type [0]
    extension = make(16 << 2, True, hexb("80 01 01") + make(2 << 2 | 2, True, outer))
    extensions = make(field_key("ILL-Request", "iLL-request-extensions"), True, extension)
    apdu = REQUEST.replace("iLL-request-extensions", extensions)
    data = apdu.encoded()
    at = unique_offset(data, outer) + 2  # its contents, where the SEQUENCE begins
    path = "iLL-request-extensions.[0].item"
    return Bad(data, DecodeError, at, path, ("EXTERNAL inside an EXTERNAL",))


BAD: dict[str, Callable[[], Bad]] = {
    name.removeprefix("_"): fn
    for name, fn in globals().items()
    if name.startswith("_") and callable(fn) and fn.__annotations__.get("return") == "Bad"
}


@pytest.mark.parametrize("case", BAD.values(), ids=BAD.keys())
def test_malformed_apdu_refused(case: Callable[[], Bad]) -> None:
    bad = case()
    with pytest.raises(CodecError) as info:
        decode(bad.data)
    error = info.value
    assert type(error) is bad.error, f"{error!r}: expected {bad.error.__name__}"
    assert (error.offset, error.path) == (bad.offset, bad.path), str(error)
    text = str(error)
    assert f"offset {bad.offset}" in text
    assert bad.path in text
    for word in bad.says:
        assert word in error.reason, text


def test_table_is_complete() -> None:
    assert len(BAD) >= 20


def test_unrecognized_apdu_general_problem() -> None:
    with pytest.raises(UnrecognizedApdu) as info:
        decode(_unknown_application_tag().data)
    assert info.value.general_problem == "unrecognized-APDU"
    with pytest.raises(DecodeError) as other:
        decode(_missing_item_id().data)
    assert other.value.general_problem == "badly-structured-APDU"


def test_full_request_itself_decodes() -> None:
    """The base every malformed case is mutated from is valid."""
    assert decode(REQUEST.encoded()) == full_apdu("ILL-Request")
    assert REQUEST.encoded() == REQUEST_BYTES
    answer = Apdu.full("ILL-Answer")
    assert decode(answer.encoded()) == full_apdu("ILL-Answer")


# --- lenient cases that must decode -----------------------------------------------------------


def test_empty_system_id() -> None:
    data = REQUEST.replace("requester-id", hexb("a3 00")).encoded()
    decoded = request_of(data)
    full = full_apdu("ILL-Request")
    assert isinstance(full, ILLRequest)
    assert decoded.requester_id == models.SystemId()
    assert decoded.responder_id == full.responder_id
    assert encode(decoded) == data


def test_capture_with_empty_system_id_and_string() -> None:
    capture = (CAPTURES / "yaz-illclient-1.ber").read_bytes()
    decoded = request_of(capture)
    assert decoded.requester_id == models.SystemId()
    assert decoded.transaction_id.transaction_group_qualifier == Text(b"")
    assert decoded.item_id.title == Text.of("Dune")
    assert decoded.ber == capture


def test_empty_general_string() -> None:
    title = make(TITLE_KEY, True, make(GENERAL_STRING, False, b""))
    data = REQUEST.replace("item-id", item_id_with((TITLE_KEY, [title]))).encoded()
    decoded = request_of(data)
    assert decoded.item_id.title == Text(b"")
    assert decoded.item_id.title.text == ""
    assert encode(decoded) == data


def test_thirteen_character_isbn() -> None:
    isbn_key = field_key("ILL-Request", "item-id", "iSBN")
    isbn = make(isbn_key, True, make(GENERAL_STRING, False, b"9780441478125"))
    data = REQUEST.replace("item-id", item_id_with((isbn_key, [isbn]))).encoded()
    decoded = request_of(data)
    assert decoded.item_id.isbn is not None
    assert decoded.item_id.isbn.text == "9780441478125"
    assert encode(decoded) == data


def _answer_with_transaction_results(element: bytes) -> bytes:
    assert key_of(element) == field_key("ILL-Answer", "transaction-results")
    return Apdu.full("ILL-Answer").replace("transaction-results", element).encoded()


@pytest.mark.parametrize(("contents", "value"), [("63", 99), ("00", 0), ("ff", -1)])
def test_unlisted_enumerated_value(contents: str, value: int) -> None:
    """transaction-results 99 in an ILL-Answer: kept as an unlisted member, for the rules."""
    data = _answer_with_transaction_results(hexb("9f 1f 01" + contents))
    decoded = answer_of(data)
    results = decoded.transaction_results
    assert int(results) == value
    assert not results.listed
    assert to_json(decoded)["ILL-Answer"]["transaction-results"] == str(value)
    assert encode(decoded) == data
    assert from_json(json.loads(json.dumps(to_json(decoded)))) == decoded


def test_listed_enumerated_value_in_long_form() -> None:
    data = _answer_with_transaction_results(hexb("9f 1f 03 00 00 03"))
    results = answer_of(data).transaction_results
    assert results == models.TransactionResults.UNFILLED
    assert results.listed


def _huge_contents(count: int) -> bytes:
    return b"\x7f" + b"\xff" * (count - 1)  # 2**(8 * count - 1) - 1: more than 4300 digits


def test_huge_enumerated_raises_only_codec_error() -> None:
    """1786 contents octets make a number Python refuses to turn into a string."""
    element = make(field_key("ILL-Answer", "transaction-results"), False, _huge_contents(1786))
    data = _answer_with_transaction_results(element)
    try:
        decoded = decode(data)
    except CodecError as error:
        assert error.path == "transaction-results"
        return
    assert json.dumps(to_json(decoded))
    assert encode(decoded) == data


def test_huge_integer_decodes_to_something_json_can_write() -> None:
    element = make(field_key("ILL-Request", "protocol-version-num"), False, _huge_contents(2000))
    data = REQUEST.replace("protocol-version-num", element).encoded()
    try:
        decoded = decode(data)
    except CodecError as error:
        assert error.path == "protocol-version-num"
        return
    assert encode(decoded) == data
    assert from_json(json.loads(json.dumps(to_json(decoded)))) == decoded


def test_protocol_version_zero() -> None:
    data = REQUEST.replace("protocol-version-num", hexb("80 01 00")).encoded()
    assert request_of(data).protocol_version_num == 0


@pytest.mark.parametrize("order", ["reversed", "rotated", "swapped"])
def test_fields_in_another_order(order: str) -> None:
    fields = list(REQUEST.fields)
    if order == "reversed":
        fields.reverse()
    elif order == "rotated":
        fields = fields[5:] + fields[:5]
    else:
        fields[0], fields[-1] = fields[-1], fields[0]
    data = Apdu("ILL-Request", fields).encoded()
    assert data != REQUEST_BYTES
    assert decode(data) == full_apdu("ILL-Request")


def test_fields_of_item_id_in_another_order() -> None:
    item_id = REQUEST.field("item-id")
    data = REQUEST.replace("item-id", rebuild(item_id, children(item_id)[::-1])).encoded()
    assert decode(data) == full_apdu("ILL-Request")


@pytest.mark.parametrize(
    "title",
    [
        "a4 0c 3b 0a 1b 02 44 75 1b 04 6e 65 21 21",  # definite segments
        "a4 80 3b 80 1b 02 44 75 1b 04 6e 65 21 21 00 00 00 00",  # indefinite
        "a4 0e 3b 80 1b 02 44 75 1b 04 6e 65 21 21 00 00",
        "a4 80 3b 0a 1b 02 44 75 04 04 6e 65 21 21 00 00",  # segment of another tag
        "a4 08 3b 06 1b 00 1b 02 44 75",  # empty segment first... "Du"
    ],
)
def test_constructed_general_string(title: str) -> None:
    data = REQUEST.replace("item-id", item_id_with((TITLE_KEY, [hexb(title)]))).encoded()
    decoded = request_of(data)
    expected = b"Du" if title.endswith("44 75") else b"Dune!!"
    assert decoded.item_id.title == Text(expected)
    assert decoded.ber == data


def test_latin1_title() -> None:
    raw = b"Caf\xe9 cr\xe8me \xbf"
    title = make(TITLE_KEY, True, make(GENERAL_STRING, False, raw))
    data = REQUEST.replace("item-id", item_id_with((TITLE_KEY, [title]))).encoded()
    decoded = request_of(data)
    assert decoded.item_id.title is not None
    assert decoded.item_id.title.raw == raw
    assert decoded.item_id.title.text == "Café crème ¿"
    document = to_json(decoded)
    assert document["ILL-Request"]["item-id"]["title"] == {"latin1": "Café crème ¿"}
    again = from_json(json.loads(json.dumps(document)))
    assert again == decoded
    assert isinstance(again, ILLRequest) and again.item_id.title is not None
    assert again.item_id.title.raw == raw
    assert encode(again) == data


def test_utf8_title_is_a_plain_json_string() -> None:
    raw = "Ünïcödé".encode()
    title = make(TITLE_KEY, True, make(GENERAL_STRING, False, raw))
    data = REQUEST.replace("item-id", item_id_with((TITLE_KEY, [title]))).encoded()
    decoded = decode(data)
    assert to_json(decoded)["ILL-Request"]["item-id"]["title"] == "Ünïcödé"
    assert encode(from_json(json.loads(json.dumps(to_json(decoded))))) == data
