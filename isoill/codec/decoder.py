"""BER -> typed models, driven by the compiled plan (:mod:`isoill.codec.plan`).

Accepts what X.690 allows a BER sender (definite and indefinite lengths, long-form tags and
lengths, constructed strings, components of a SEQUENCE in any order) and what real peers do
although the module forbids it (empty System-Id, empty strings, ISBNs of 13 characters,
ENUMERATED values the module does not list): constraints are left to the rules. Anything
that cannot be read raises a :class:`~isoill.codec.errors.DecodeError` naming the byte
offset and the field path.

Each node of the plan is turned once into a function that decodes it, with its tags, kind and
components resolved when it is made rather than looked up for every element. The common case,
a one-octet tag as expected with a short definite length, is read in line; anything else
(long tags and lengths, indefinite lengths, constructed strings, every error) takes the general
path, so both read the same encodings and raise the same errors. That check is written out in
each kind's decoder rather than called: a call per element cost as much as the check itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from isoill.codec import plan
from isoill.codec.ber import INDEFINITE, NeedMore, read_header, tag_name
from isoill.codec.errors import CodecError, DecodeError, UnrecognizedApdu
from isoill.codec.models import IllApdu
from isoill.codec.schema import Kind, Node
from isoill.codec.text import Text
from isoill.codec.values import NULL

models = plan.bound()

MAX_DEPTH = 128
"""Nesting of decoded types; only EXTERNALs inside ANYs can nest without a bound in the plan."""

MAX_INTEGER_OCTETS = 8
"""INTEGER and ENUMERATED values of ISO 10161 are small; a longer one is refused."""

_EXTERNAL_KEY = 8 << 2  # [UNIVERSAL 8], the tag of EXTERNAL

Decoder = Callable[[bytes, int, int, int], tuple[Any, int]]
"""Decodes one node's element at ``pos`` that ends by ``limit``, at nesting ``depth``:
returns the value and the position after it."""


def decode(data: bytes) -> IllApdu:
    """Decode one whole ILL-APDU. The result keeps ``data`` as its ``ber``."""
    try:
        key = read_header(data, 0)[0]
    except NeedMore:
        raise DecodeError("truncated APDU", offset=len(data)) from None
    node = plan.BY_TAG.get(key)
    if node is None:
        raise UnrecognizedApdu(f"{tag_name(key)} is not an ILL-APDU", offset=0)
    apdu, end = decode_node(node, data, 0, len(data))
    if end != len(data):
        raise DecodeError(f"{len(data) - end} bytes after the APDU", offset=end)
    apdu._ber = bytes(data)
    return apdu  # type: ignore[no-any-return]


def decode_node(node: Node, buf: bytes, pos: int, limit: int) -> tuple[Any, int]:
    """Decode the value of ``node`` whose encoding starts at ``pos`` and ends by ``limit``."""
    try:
        return _decoder(node)(buf, pos, limit, 0)
    except NeedMore:
        raise DecodeError("truncated element", offset=limit) from None


_DECODERS: dict[int, tuple[Node, Decoder]] = {}
"""id(node) -> the node (held so that its id is not reused) and its decoder."""


def _decoder(node: Node) -> Decoder:
    found = _DECODERS.get(id(node))
    if found is not None:
        return found[1]
    made: list[Decoder] = []  # a type that contains itself reaches it through this

    def ahead(buf: bytes, pos: int, limit: int, depth: int) -> tuple[Any, int]:
        return made[0](buf, pos, limit, depth)

    _DECODERS[id(node)] = node, ahead
    decoder = _wrapped(node.wrappers, _contents(node))
    made.append(decoder)
    _DECODERS[id(node)] = node, decoder
    return decoder


def _octet(key: int, constructed: bool) -> int:
    """The one identifier octet of tag ``key``; -1 (matching no octet) for a long-form tag."""
    number = key >> 2
    if number >= 0x1F:
        return -1
    return (key & 3) << 6 | (0x20 if constructed else 0) | number


def _header(buf: bytes, pos: int, limit: int) -> tuple[int, bool, int, int]:
    if pos >= limit:
        raise DecodeError("element expected, contents ended", offset=pos)
    key, constructed, length, content = read_header(buf, pos)
    if length != INDEFINITE and content + length > limit:
        raise DecodeError(f"length {length} runs past the enclosing element", offset=pos)
    if content > limit:
        raise DecodeError("header runs past the enclosing element", offset=pos)
    return key, constructed, length, content


def _at_end(buf: bytes, pos: int, end: int, indefinite: bool) -> bool:
    if not indefinite:
        if pos > end:
            raise DecodeError("element overruns its enclosing element", offset=end)
        return pos == end
    if pos + 1 < end and buf[pos] == 0 and buf[pos + 1] == 0:
        return True
    if pos >= end:
        raise DecodeError("end-of-contents missing", offset=pos)
    return False


def _too_deep(pos: int) -> DecodeError:
    return DecodeError(f"types nested deeper than {MAX_DEPTH}", offset=pos)


def _wrapped(wrappers: tuple[int, ...], inner: Decoder) -> Decoder:
    """``inner`` inside explicit tags, outermost first."""
    for wrapper in reversed(wrappers):
        inner = _explicit(wrapper, inner)
    return inner


def _explicit(wrapper: int, inner: Decoder) -> Decoder:
    octet = _octet(wrapper, True)

    def explicit(buf: bytes, pos: int, limit: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise _too_deep(pos)
        end = pos + 2 + buf[pos + 1] if pos + 1 < limit and buf[pos] == octet else limit + 1
        if end <= limit and buf[pos + 1] < 0x80:  # one tag octet, short length: in line
            value, after = inner(buf, pos + 2, end, depth)
        else:
            key, constructed, length, content = _header(buf, pos, limit)
            if key != wrapper or not constructed:
                found = tag_name(key)
                raise DecodeError(f"expected {tag_name(wrapper)}, found {found}", offset=pos)
            if length == INDEFINITE:
                value, after = inner(buf, content, limit, depth)
                if not _at_end(buf, after, limit, True):
                    raise DecodeError("more than one element inside an explicit tag", offset=after)
                return value, after + 2
            end = content + length
            value, after = inner(buf, content, end, depth)
        if after != end:
            raise DecodeError("more than one element inside an explicit tag", offset=after)
        return value, after

    return explicit


def _contents(node: Node) -> Decoder:
    """The decoder of a node's own element (inside its explicit tags)."""
    kind = node.kind
    if kind is Kind.CHOICE:
        return _choice(node)
    if kind is Kind.ANY:
        return _any
    if kind is Kind.SEQUENCE_OF:
        return _tagged(node, _sequence_of(node))
    if kind in (Kind.SEQUENCE, Kind.EXTERNAL):
        return _tagged(node, _sequence(node))
    return _primitive(node)


Contents = Callable[[bytes, int, int, bool, int], tuple[Any, int]]
"""Decodes a constructed node's contents from ``pos`` to ``end`` (``indefinite``: to its
end-of-contents) at ``depth``."""


def _tagged(node: Node, contents: Contents) -> Decoder:
    """A constructed node's own tag around its contents."""
    tag = node.tag
    assert tag is not None
    octet = _octet(tag, True)
    expected = tag_name(tag)

    def tagged(buf: bytes, pos: int, limit: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise _too_deep(pos)
        end = pos + 2 + buf[pos + 1] if pos + 1 < limit and buf[pos] == octet else limit + 1
        if end <= limit and buf[pos + 1] < 0x80:
            return contents(buf, pos + 2, end, False, depth)
        key, constructed, length, content = _header(buf, pos, limit)
        if key != tag:
            raise DecodeError(f"expected {expected}, found {tag_name(key)}", offset=pos)
        if not constructed:
            raise DecodeError(f"{node.name} must be constructed", offset=pos)
        indefinite = length == INDEFINITE
        return contents(buf, content, limit if indefinite else content + length, indefinite, depth)

    return tagged


def _inside(error: CodecError, name: str) -> None:
    """Put the component (alternative, item) ``name`` that ``error`` was raised inside on its
    path."""
    error.path = f"{name}.{error.path}" if error.path else name


def _choice(node: Node) -> Decoder:
    alternatives = {
        key: (field.attr, field.name, _decoder(field.node)) for key, field in node.by_tag.items()
    }
    make = node.model.maker()

    def choice(buf: bytes, pos: int, limit: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise _too_deep(pos)
        first = buf[pos] if pos + 1 < limit else 0x1F
        if first & 0x1F != 0x1F and buf[pos + 1] < 0x80 and pos + 2 + buf[pos + 1] <= limit:
            key = (first & 0x1F) << 2 | first >> 6
        else:
            key = _header(buf, pos, limit)[0]
        alternative = alternatives.get(key)
        if alternative is None:
            raise DecodeError(f"{tag_name(key)} is no alternative of {node.name}", offset=pos)
        attr, name, decoder = alternative
        try:
            value, pos = decoder(buf, pos, limit, depth + 1)
        except CodecError as error:
            _inside(error, name)
            raise
        return make({attr: value}), pos

    return choice


def _sequence(node: Node) -> Contents:
    members = {
        key: (field.attr, field.name, _decoder(field.node)) for key, field in node.by_tag.items()
    }
    mandatory = frozenset(field.attr for field in node.fields if not field.optional)
    external = node.kind is Kind.EXTERNAL
    make = node.model.maker()

    def sequence(buf: bytes, pos: int, end: int, indefinite: bool, depth: int) -> tuple[Any, int]:
        start = pos
        values: dict[str, Any] = {}
        while not _at_end(buf, pos, end, True) if indefinite else pos < end:
            first = buf[pos]  # the tag, read here from its one octet when it has one
            key = (
                read_header(buf, pos)[0]
                if first & 0x1F == 0x1F
                else (first & 0x1F) << 2 | first >> 6
            )
            member = members.get(key)
            if member is None:
                raise DecodeError(f"unexpected {tag_name(key)} in {node.name}", offset=pos)
            attr, name, decoder = member
            if attr in values:
                raise DecodeError(f"{name} appears twice", offset=pos)
            try:
                values[attr], pos = decoder(buf, pos, end, depth + 1)
            except CodecError as error:
                _inside(error, name)
                raise
        if not values.keys() >= mandatory:
            lacking = next(f.name for f in node.fields if not f.optional and f.attr not in values)
            raise DecodeError(f"{node.name} lacks mandatory {lacking}", offset=start)
        if indefinite:
            pos += 2
        if external:
            values = _external_content(values, start, depth)
        return make(values), pos

    return sequence


def _sequence_of(node: Node) -> Contents:
    assert node.element is not None
    element = _decoder(node.element)

    def sequence_of(
        buf: bytes, pos: int, end: int, indefinite: bool, depth: int
    ) -> tuple[Any, int]:
        items: list[Any] = []
        while not _at_end(buf, pos, end, indefinite):
            try:
                item, pos = element(buf, pos, end, depth + 1)
            except CodecError as error:
                _inside(error, f"[{len(items)}]")
                raise
            items.append(item)
        return tuple(items), pos + 2 if indefinite else pos

    return sequence_of


def _external_content(values: dict[str, Any], pos: int, depth: int) -> dict[str, Any]:
    """Decode a single-ASN1-type whose direct-reference is a registered syntax."""
    syntax = plan.EXTENSIONS.get(values.get("direct_reference", ""))
    encoding = values["encoding"]
    raw = encoding.single_asn1_type
    if raw is not None and not isinstance(raw, bytes):  # its ANY held an EXTERNAL
        raise DecodeError("an EXTERNAL inside an EXTERNAL's single-ASN1-type", offset=pos)
    if syntax is None or not isinstance(raw, bytes):
        return values
    try:
        content, end = _decoder(syntax)(raw, 0, len(raw), depth + 1)
    except (CodecError, NeedMore):
        return values  # kept as received: an extension we cannot read is still forwarded
    if end != len(raw):
        return values
    return {**values, "encoding": type(encoding)(single_asn1_type=content)}


def _any(buf: bytes, pos: int, limit: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise _too_deep(pos)
    key, constructed, _, _ = _header(buf, pos, limit)
    if key == _EXTERNAL_KEY and constructed:
        return _decoder(plan.EXTERNAL)(buf, pos, limit, depth + 1)
    end = _skip(buf, pos, limit, depth)
    return bytes(buf[pos:end]), end


def _skip(buf: bytes, pos: int, limit: int, depth: int) -> int:
    """The end of the element at ``pos``."""
    if depth > MAX_DEPTH:
        raise DecodeError(f"elements nested deeper than {MAX_DEPTH}", offset=pos)
    _, _, length, content = _header(buf, pos, limit)
    if length != INDEFINITE:
        return content + length
    pos = content
    while not _at_end(buf, pos, limit, True):
        pos = _skip(buf, pos, limit, depth + 1)
    return pos + 2


def _primitive(node: Node) -> Decoder:
    """A value of a scalar kind: INTEGER, strings, OBJECT IDENTIFIER and the like."""
    if node.kind is Kind.TEXT:
        tags, expected = node.text_tags, "a string"
    else:
        assert node.tag is not None
        tags, expected = {node.tag: False}, tag_name(node.tag)
    octets_to_tags = {
        octet: edifact for key, edifact in tags.items() if (octet := _octet(key, False)) >= 0
    }
    scalar = _scalar(node)

    def primitive(buf: bytes, pos: int, limit: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise _too_deep(pos)
        edifact = octets_to_tags.get(buf[pos]) if pos + 1 < limit else None
        if edifact is not None:
            end = pos + 2 + buf[pos + 1]
            if buf[pos + 1] < 0x80 and end <= limit:
                return scalar(bytes(buf[pos + 2 : end]), pos, edifact), end
        key, constructed, length, content = _header(buf, pos, limit)
        edifact = tags.get(key)
        if edifact is None:
            raise DecodeError(f"expected {expected}, found {tag_name(key)}", offset=pos)
        end = limit if length == INDEFINITE else content + length
        octets, after = _string(buf, constructed, content, end, length == INDEFINITE)
        return scalar(octets, pos, edifact), after

    return primitive


def _string(
    buf: bytes, constructed: bool, content: int, end: int, indefinite: bool
) -> tuple[bytes, int]:
    """Contents octets of a primitive value; a constructed string is joined from its segments."""
    if not constructed:
        return bytes(buf[content:end]), end
    segments = []
    pos = content
    while not _at_end(buf, pos, end, indefinite):
        _, inner_constructed, length, inner = _header(buf, pos, end)
        if inner_constructed or length == INDEFINITE:
            raise DecodeError("nested constructed string segments", offset=pos)
        segments.append(bytes(buf[inner : inner + length]))
        pos = inner + length
    return b"".join(segments), pos + 2 if indefinite else pos


Scalar = Callable[[bytes, int, bool], Any]
"""Turns a scalar's contents octets (its element at the given offset; EDIFACTString or not)
into its value."""


def _scalar(node: Node) -> Scalar:
    kind = node.kind
    if kind is Kind.TEXT:
        return lambda octets, pos, edifact: Text(octets, edifact)
    if kind is Kind.STRING:
        return lambda octets, pos, edifact: octets.decode("latin-1")
    if kind in (Kind.OCTETS, Kind.BITS):
        return lambda octets, pos, edifact: octets
    if kind is Kind.NULL:
        return lambda octets, pos, edifact: NULL
    if kind is Kind.BOOLEAN:
        return lambda octets, pos, edifact: any(_nonempty(octets, kind, pos))
    if kind is Kind.OID:
        return lambda octets, pos, edifact: _oid(_nonempty(octets, kind, pos), pos)
    enumerated = node.model if kind is Kind.ENUMERATED else int

    def number(octets: bytes, pos: int, edifact: bool) -> Any:
        if len(_nonempty(octets, kind, pos)) > MAX_INTEGER_OCTETS:
            raise DecodeError(f"{kind.value} of {len(octets)} octets is too large", offset=pos)
        return enumerated(int.from_bytes(octets, "big", signed=True))

    return number


def _nonempty(octets: bytes, kind: Kind, pos: int) -> bytes:
    if not octets:
        raise DecodeError(f"empty {kind.value}", offset=pos)
    return octets


def _oid(octets: bytes, pos: int) -> str:
    arcs: list[int] = []
    value = 0
    for octet in octets:
        value = value << 7 | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    if octets[-1] & 0x80:
        raise DecodeError("OBJECT IDENTIFIER ends inside an arc", offset=pos)
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, (first, arcs[0] - 40 * first, *arcs[1:])))


# Every type made at import: the first APDU of a type pays nothing extra, and no thread can
# meet a decoder still being made.
for _root in (*plan.APDUS.values(), *plan.EXTENSIONS.values(), plan.EXTERNAL):
    _decoder(_root)
