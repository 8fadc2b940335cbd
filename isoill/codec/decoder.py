"""BER -> typed models, driven by the compiled plan (:mod:`isoill.codec.plan`).

Accepts what X.690 allows a BER sender (definite and indefinite lengths, long-form tags and
lengths, constructed strings, components of a SEQUENCE in any order) and what real peers do
although the module forbids it (empty System-Id, empty strings, ISBNs of 13 characters,
ENUMERATED values the module does not list): constraints are left to the rules. Anything
that cannot be read raises a :class:`~isoill.codec.errors.DecodeError` naming the byte
offset and the field path.
"""

from __future__ import annotations

from typing import Any

from isoill.codec import plan
from isoill.codec.ber import INDEFINITE, NeedMore, read_header, tag_name
from isoill.codec.errors import CodecError, DecodeError, UnrecognizedApdu
from isoill.codec.schema import Kind, Node
from isoill.codec.values import NULL, ApduModel, Text

models = plan.bound()

MAX_DEPTH = 128
"""Nesting of decoded types; only EXTERNALs inside ANYs can nest without a bound in the plan."""

MAX_INTEGER_OCTETS = 8
"""INTEGER and ENUMERATED values of ISO 10161 are small; a longer one is refused."""

_EXTERNAL_KEY = 8 << 2  # [UNIVERSAL 8], the tag of EXTERNAL


def decode(data: bytes) -> ApduModel:
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
        return _decode(node, buf, pos, limit, 0)
    except NeedMore:
        raise DecodeError("truncated element", offset=limit) from None


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


def _decode(node: Node, buf: bytes, pos: int, limit: int, depth: int) -> tuple[Any, int]:
    if depth > MAX_DEPTH:
        raise DecodeError(f"types nested deeper than {MAX_DEPTH}", offset=pos)
    if not node.wrappers:
        return _contents(node, buf, pos, limit, depth)
    closers: list[tuple[bool, int]] = []
    for wrapper in node.wrappers:
        key, constructed, length, content = _header(buf, pos, limit)
        if key != wrapper or not constructed:
            raise DecodeError(f"expected {tag_name(wrapper)}, found {tag_name(key)}", offset=pos)
        indefinite = length == INDEFINITE
        end = limit if indefinite else content + length
        closers.append((indefinite, end))
        pos, limit = content, end
    value, pos = _contents(node, buf, pos, limit, depth)
    for indefinite, end in reversed(closers):
        if indefinite:
            if not _at_end(buf, pos, end, True):
                raise DecodeError("more than one element inside an explicit tag", offset=pos)
            pos += 2
        elif pos != end:
            raise DecodeError("more than one element inside an explicit tag", offset=pos)
    return value, pos


def _contents(node: Node, buf: bytes, pos: int, limit: int, depth: int) -> tuple[Any, int]:
    kind = node.kind
    key, constructed, length, content = _header(buf, pos, limit)
    if kind is Kind.CHOICE:
        alternative = node.by_tag.get(key)
        if alternative is None:
            raise DecodeError(f"{tag_name(key)} is no alternative of {node.name}", offset=pos)
        try:
            value, pos = _decode(alternative.node, buf, pos, limit, depth + 1)
        except CodecError as error:
            _inside(error, alternative.name)
            raise
        return node.model.decoded({alternative.attr: value}), pos
    if kind is Kind.ANY:
        return _any(buf, pos, limit, depth)
    edifact = node.text_tags.get(key, False) if kind is Kind.TEXT else False
    if kind is Kind.TEXT:
        if key not in node.text_tags:
            raise DecodeError(f"expected a string, found {tag_name(key)}", offset=pos)
    elif key != node.tag:
        expected = tag_name(node.tag) if node.tag is not None else node.name
        raise DecodeError(f"expected {expected}, found {tag_name(key)}", offset=pos)
    indefinite = length == INDEFINITE
    end = limit if indefinite else content + length
    if kind in (Kind.SEQUENCE, Kind.EXTERNAL, Kind.SEQUENCE_OF):
        if not constructed:
            raise DecodeError(f"{node.name} must be constructed", offset=pos)
        if kind is Kind.SEQUENCE_OF:
            assert node.element is not None
            items: list[Any] = []
            pos = content
            while not _at_end(buf, pos, end, indefinite):
                try:
                    item, pos = _decode(node.element, buf, pos, end, depth + 1)
                except CodecError as error:
                    _inside(error, f"[{len(items)}]")
                    raise
                items.append(item)
            return tuple(items), pos + 2 if indefinite else pos
        return _sequence(node, buf, content, end, indefinite, depth)
    octets, after = _primitive(buf, pos, key, constructed, content, end, indefinite)
    return _scalar(node, octets, pos, edifact), after


def _inside(error: CodecError, name: str) -> None:
    """Put the component (alternative, item) ``name`` that ``error`` was raised inside on its
    path."""
    error.path = f"{name}.{error.path}" if error.path else name


def _sequence(
    node: Node, buf: bytes, pos: int, end: int, indefinite: bool, depth: int
) -> tuple[Any, int]:
    start = pos
    values: dict[str, Any] = {}
    by_tag = node.by_tag
    while not _at_end(buf, pos, end, indefinite):
        first = buf[pos]  # the tag, read here from its one octet when it has one
        key = read_header(buf, pos)[0] if first & 0x1F == 0x1F else (first & 0x1F) << 2 | first >> 6
        member = by_tag.get(key)
        if member is None:
            raise DecodeError(f"unexpected {tag_name(key)} in {node.name}", offset=pos)
        if member.attr in values:
            raise DecodeError(f"{member.name} appears twice", offset=pos)
        try:
            values[member.attr], pos = _decode(member.node, buf, pos, end, depth + 1)
        except CodecError as error:
            _inside(error, member.name)
            raise
    for member in node.fields:
        if not member.optional and member.attr not in values:
            raise DecodeError(f"{node.name} lacks mandatory {member.name}", offset=start)
    if indefinite:
        pos += 2
    if node.kind is Kind.EXTERNAL:
        values = _external_content(values, start, depth)
    return node.model.decoded(values), pos


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
        content, end = _decode(syntax, raw, 0, len(raw), depth + 1)
    except (CodecError, NeedMore):
        return values  # kept as received: an extension we cannot read is still forwarded
    if end != len(raw):
        return values
    return {**values, "encoding": type(encoding)(single_asn1_type=content)}


def _any(buf: bytes, pos: int, limit: int, depth: int) -> tuple[Any, int]:
    key, constructed, _, _ = _header(buf, pos, limit)
    if key == _EXTERNAL_KEY and constructed:
        return _decode(plan.EXTERNAL, buf, pos, limit, depth + 1)
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


def _primitive(
    buf: bytes, pos: int, key: int, constructed: bool, content: int, end: int, indefinite: bool
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


def _scalar(node: Node, octets: bytes, pos: int, edifact: bool) -> Any:
    kind = node.kind
    if kind is Kind.TEXT:
        return Text(octets, edifact)
    if kind is Kind.STRING:
        return octets.decode("latin-1")
    if kind in (Kind.OCTETS, Kind.BITS):
        return octets
    if kind is Kind.NULL:
        return NULL
    if not octets:
        raise DecodeError(f"empty {kind.value}", offset=pos)
    if kind is Kind.BOOLEAN:
        return any(octets)
    if kind is Kind.OID:
        return _oid(octets, pos)
    if len(octets) > MAX_INTEGER_OCTETS:
        raise DecodeError(f"{kind.value} of {len(octets)} octets is too large", offset=pos)
    number = int.from_bytes(octets, "big", signed=True)
    if kind is Kind.ENUMERATED:
        return node.model(number)
    return number


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
