"""Property tests of the codec: whatever the bytes, only CodecError; whatever decodes, round trips.

Runs are derandomized and bounded, so they are quick and the same on every run. A failure that
is not a CodecError is a codec bug: hypothesis prints the minimal input.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from apdu_examples import full_apdu
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import CAPTURES
from pydantic import BaseModel

from isoill.codec import plan
from isoill.codec.ber import NeedMore, encode_header, read_header
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError, FramingError
from isoill.codec.framing import Framer
from isoill.codec.jsonform import from_json, to_json
from isoill.codec.models import IllApdu
from isoill.codec.text import Text

CAPTURE_BYTES = [(CAPTURES / f"yaz-illclient-{n}.ber").read_bytes() for n in (1, 2, 3)]

NAMES = list(plan.APDUS)
VARIANTS = range(6)

QUICK = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def frame_and_decode(data: bytes) -> list[IllApdu]:
    """Everything a server would do with ``data`` arriving on a socket; CodecError passes."""
    decoded = []
    framer = Framer(max_apdu_size=1 << 16)
    framer.feed(data)
    try:
        while (apdu := framer.next_apdu()) is not None:
            with contextlib.suppress(CodecError):
                decoded.append(decode(apdu))
    except FramingError:
        pass
    return decoded


def decode_or_none(data: bytes) -> IllApdu | None:
    try:
        return decode(data)
    except CodecError:
        return None


def assert_as_validated(decoded: object, validated: object) -> None:
    """The decoder builds its models without validation (``AsnModel.decoded``): each must be
    the model that validation builds, down to which fields were given."""
    assert type(decoded) is type(validated)
    if isinstance(decoded, BaseModel):
        assert isinstance(validated, BaseModel)
        assert decoded.model_fields_set == validated.model_fields_set
        assert decoded.__pydantic_private__ == validated.__pydantic_private__
        for name in type(decoded).model_fields:
            assert_as_validated(getattr(decoded, name), getattr(validated, name))
    elif isinstance(decoded, tuple):
        assert isinstance(validated, tuple) and len(decoded) == len(validated)
        for mine, theirs in zip(decoded, validated, strict=True):
            assert_as_validated(mine, theirs)
    else:
        assert decoded == validated


def assert_round_trips(apdu: IllApdu) -> None:
    again = decode(encode(apdu))
    assert again == apdu
    validated = type(again).model_validate(again.model_dump(exclude_unset=True))
    validated._ber = again.ber
    assert_as_validated(again, validated)
    assert encode(again) == encode(apdu)
    assert from_json(json.loads(json.dumps(to_json(apdu)))) == apdu


# --- (a) random bytes -------------------------------------------------------------------------

APDU_IDENTIFIERS = [encode_header(node.wrappers[0], True, 0)[:-1] for node in plan.APDUS.values()]

IDENTIFIERS = [
    *(bytes((0x80 | n,)) for n in range(26)),  # [n] primitive
    *(bytes((0xA0 | n,)) for n in range(26)),  # [n] constructed
    *(bytes.fromhex(h) for h in ("bf2e", "bf2f", "bf31", "9f1f", "bf20", "bf22", "bf2a")),
    *(bytes.fromhex(h) for h in ("01", "02", "04", "06", "0a", "1a", "1b", "3b", "28", "30")),
]


def _header(identifier: bytes, length: int | None) -> bytes:
    if length is None:
        return identifier + b"\x80"
    return identifier + encode_header(0, False, length)[1:]


@st.composite
def ber_trees(draw: st.DrawFn) -> bytes:
    """A well-formed BER element tree of plausible ILL tags: reaches past the framer."""

    def leaf(pair: tuple[bytes, bytes]) -> bytes:
        identifier, body = pair
        identifier = bytes((identifier[0] & ~0x20,)) + identifier[1:]
        return _header(identifier, len(body)) + body

    def node(args: tuple[bytes, list[bytes], bool]) -> bytes:
        identifier, kids, indefinite = args
        identifier = bytes((identifier[0] | 0x20,)) + identifier[1:]
        body = b"".join(kids)
        if indefinite:
            return _header(identifier, None) + body + b"\x00\x00"
        return _header(identifier, len(body)) + body

    ids = st.sampled_from(IDENTIFIERS)
    leaves = st.tuples(ids, st.binary(max_size=6)).map(leaf)
    tree = st.recursive(
        leaves,
        lambda kids: st.tuples(ids, st.lists(kids, max_size=5), st.booleans()).map(node),
        max_leaves=25,
    )
    members = draw(st.lists(tree, max_size=8))
    outer = draw(st.sampled_from(APDU_IDENTIFIERS))
    sequence = node((b"\x30", members, draw(st.booleans())))
    return node((outer, [sequence], draw(st.booleans())))


random_bytes = st.one_of(
    st.binary(max_size=300),
    st.tuples(st.sampled_from(APDU_IDENTIFIERS), st.binary(max_size=300)).map(b"".join),
    st.tuples(
        st.sampled_from(APDU_IDENTIFIERS), st.just(b"\x80\x30\x80"), st.binary(max_size=300)
    ).map(b"".join),
)


@QUICK
@given(random_bytes)
def test_random_bytes_raise_only_codec_errors(data: bytes) -> None:
    frame_and_decode(data)
    decoded = decode_or_none(data)
    if decoded is not None:
        assert_round_trips(decoded)


@QUICK
@given(ber_trees())
def test_random_ber_trees_raise_only_codec_errors(data: bytes) -> None:
    framer = Framer()
    framer.feed(data)
    assert framer.next_apdu() == data  # well-formed by construction
    decoded = decode_or_none(data)
    if decoded is not None:
        assert_round_trips(decoded)


# --- (b) mutated valid APDUs ------------------------------------------------------------------


def _header_offsets(data: bytes) -> list[int]:
    """Offsets of every identifier and length octet in a BER element, and of the contents of
    short primitives (INTEGER, ENUMERATED, BOOLEAN values): where a mutation matters most."""
    offsets: list[int] = []
    pos = 0
    while pos < len(data):
        if data[pos] == 0 and pos + 1 < len(data) and data[pos + 1] == 0:
            offsets.append(pos)
            pos += 2
            continue
        try:
            _, constructed, length, content = read_header(data, pos)
        except (NeedMore, FramingError):  # pragma: no cover - the corpus is valid
            break
        offsets.extend(range(pos, content))
        if not constructed and length <= 4:
            offsets.extend(range(content, content + length))
        pos = content if constructed else content + length
    return offsets


CORPUS = [
    *(encode(full_apdu(name, variant)) for name in NAMES for variant in (0, 1)),
    *CAPTURE_BYTES,
]
HEADERS = [_header_offsets(data) for data in CORPUS]


@st.composite
def mutated_apdus(draw: st.DrawFn) -> bytes:
    which = draw(st.integers(0, len(CORPUS) - 1))
    data = bytearray(CORPUS[which])
    headers = HEADERS[which]
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        if draw(st.booleans()) and headers:
            pos = min(draw(st.sampled_from(headers)), len(data) - 1)
        else:
            pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "splice"]))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[pos] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF, 0x1F]))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 4))]
        elif op == "truncate":
            del data[pos:]
        else:
            start = draw(st.integers(0, len(data) - 1))
            data[pos:pos] = data[start : start + draw(st.integers(1, 40))]
    return bytes(data)


@settings(QUICK, max_examples=400)
@given(mutated_apdus())
def test_mutated_apdus_decode_or_raise_codec_error(data: bytes) -> None:
    frame_and_decode(data)
    decoded = decode_or_none(data)
    if decoded is not None:
        assert_round_trips(decoded)


Tree = tuple[bytes, bool, "bytes | list[Tree]"]


def _parse(data: bytes, pos: int = 0) -> tuple[Tree, int]:
    """One element as (identifier octets, constructed, contents or children), and its end."""
    _, constructed, length, content = read_header(data, pos)
    identifier = data[pos : _identifier_end(data, pos)]
    if not constructed:
        return (identifier, False, data[content : content + length]), content + length
    kids: list[Tree] = []
    pos = content
    while (length == -1 and data[pos : pos + 2] != b"\x00\x00") or (
        length != -1 and pos < content + length
    ):
        kid, pos = _parse(data, pos)
        kids.append(kid)
    return (identifier, True, kids), pos + 2 if length == -1 else pos


def _identifier_end(data: bytes, pos: int) -> int:
    pos += 1
    if data[pos - 1] & 0x1F == 0x1F:
        while data[pos] & 0x80:
            pos += 1
        pos += 1
    return pos


def _serialize(tree: Tree) -> bytes:
    identifier, _, body = tree
    octets = body if isinstance(body, bytes) else b"".join(_serialize(kid) for kid in body)
    return identifier + encode_header(0, False, len(octets))[1:] + octets


def _leaves(tree: Tree, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    _, constructed, body = tree
    if not constructed:
        return [path]
    assert isinstance(body, list)
    return [leaf for i, kid in enumerate(body) for leaf in _leaves(kid, (*path, i))]


def _replace(tree: Tree, path: tuple[int, ...], contents: bytes) -> Tree:
    identifier, _, body = tree
    if not path:
        return (identifier, False, contents)
    assert isinstance(body, list)
    kids = list(body)
    kids[path[0]] = _replace(kids[path[0]], path[1:], contents)
    return (identifier, True, kids)


TREES = [_parse(data)[0] for data in CORPUS]
LEAVES = [_leaves(tree) for tree in TREES]

SCALAR_CONTENTS = st.one_of(
    st.binary(max_size=3),
    st.sampled_from([b"\x80", b"\xff", b"\x00\x00", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff"]),
    st.binary(min_size=4, max_size=20),
)


@st.composite
def apdus_with_other_values(draw: st.DrawFn) -> bytes:
    """A corpus APDU, re-encoded with definite lengths, some primitive values replaced."""
    which = draw(st.integers(0, len(CORPUS) - 1))
    tree = TREES[which]
    for _ in range(draw(st.integers(1, 3))):
        leaf = draw(st.sampled_from(LEAVES[which]))
        tree = _replace(tree, leaf, draw(SCALAR_CONTENTS))
    return _serialize(tree)


def test_corpus_trees_serialize_back() -> None:
    for data, tree in zip(CORPUS, TREES, strict=True):
        assert decode(_serialize(tree)) == decode(data)


@settings(QUICK, max_examples=400)
@given(apdus_with_other_values())
def test_other_primitive_values_decode_or_raise_codec_error(data: bytes) -> None:
    decoded = decode_or_none(data)
    if decoded is not None:
        assert_round_trips(decoded)


def _serialize_headers(tree: Tree, data: st.DataObject) -> bytes:
    """``tree`` with each length in a form drawn for it: the shortest, a long form one octet
    longer than needed, or (constructed elements only) indefinite."""
    identifier, constructed, body = tree
    if isinstance(body, bytes):
        octets = body
    else:
        octets = b"".join(_serialize_headers(kid, data) for kid in body)
    forms = ["short", "long", "indefinite"] if constructed else ["short", "long"]
    chosen = data.draw(st.sampled_from(forms))
    if chosen == "indefinite":
        return identifier + b"\x80" + octets + b"\x00\x00"
    if chosen == "long":
        size = (len(octets).bit_length() + 7) // 8 + 1
        return identifier + bytes((0x80 | size,)) + len(octets).to_bytes(size, "big") + octets
    return identifier + encode_header(0, False, len(octets))[1:] + octets


@settings(QUICK, max_examples=300)
@given(st.integers(0, len(CORPUS) - 1), st.data())
def test_every_length_form_decodes_alike(which: int, data: st.DataObject) -> None:
    # The decoder reads the shortest form in line and every other on a general path: the two
    # must agree, element by element, in any mix.
    reheadered = _serialize_headers(TREES[which], data)
    assert _shortest(decode(reheadered)) == _shortest(decode(CORPUS[which]))


def _shortest(value: object) -> object:
    """``value`` with the BER an ANY keeps as received in the shortest form (and any octets
    that happen to read as BER, alike on both sides of a comparison)."""
    if isinstance(value, bytes):
        with contextlib.suppress(IndexError, NeedMore, FramingError):
            tree, end = _parse(value)
            if end == len(value):
                return _serialize(tree)
        return value
    if isinstance(value, tuple):
        return tuple(_shortest(item) for item in value)
    if isinstance(value, BaseModel):
        update = {name: _shortest(getattr(value, name)) for name in type(value).model_fields}
        return value.model_copy(update=update)
    return value


def test_corpus_header_offsets_found() -> None:
    for data, headers in zip(CORPUS, HEADERS, strict=True):
        assert headers == sorted(set(headers))
        assert headers[-1] < len(data)
        assert headers[:2] == [0, 1]
        assert len(headers) > 20


# --- (c) model -> BER -> model ----------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", NAMES)
def test_full_apdu_round_trip(name: str, variant: int) -> None:
    apdu = full_apdu(name, variant)
    data = encode(apdu)
    decoded = decode(data)
    assert decoded == apdu
    validated = apdu.model_copy()
    validated._ber = data
    assert_as_validated(decoded, validated)
    assert decoded.ber == data
    assert encode(decoded) == data
    assert from_json(json.loads(json.dumps(to_json(apdu)))) == apdu


def _with_texts(value: object, data: st.DataObject, texts: st.SearchStrategy[bytes]) -> object:
    if isinstance(value, Text):
        return Text(data.draw(texts), value.edifact)
    if isinstance(value, tuple):
        return tuple(_with_texts(item, data, texts) for item in value)
    if isinstance(value, BaseModel):
        update = {
            name: _with_texts(getattr(value, name), data, texts)
            for name in type(value).model_fields
        }
        return value.model_copy(update=update)
    return value


TEXTS = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=20).map(str.encode),
    st.binary(min_size=126, max_size=300),
)


@settings(QUICK, max_examples=120)
@given(st.sampled_from(NAMES), st.sampled_from(VARIANTS), st.data())
def test_round_trip_with_any_text(name: str, variant: int, data: st.DataObject) -> None:
    apdu = _with_texts(full_apdu(name, variant), data, TEXTS)
    assert isinstance(apdu, IllApdu)
    encoded = encode(apdu)
    decoded = decode(encoded)
    assert decoded == apdu
    assert encode(decoded) == encoded
    assert from_json(json.loads(json.dumps(to_json(apdu)))) == apdu
    assert frame_and_decode(encoded) == [apdu]
