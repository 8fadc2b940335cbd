"""An APDU's top-level components, read from its BER without decoding them: which are present
(:func:`present_fields`, enough to tell an acknowledgement from a refusal), their encodings
(:func:`components`, :func:`members`, to build an answer from the sender's own elements), and
removing one, or some of its extensions, without re-encoding anything else
(:func:`without_field`, :func:`without_extensions`).

An ILL-APDU is ``[APPLICATION n]`` (an explicit tag: the module has no IMPLICIT TAGS) around a
SEQUENCE, so two headers enclose the components. Cutting a component out changes only their
lengths (cutting an extension, also the extensions component's): a definite length is
rewritten in minimal form (its identifier octets kept), an indefinite one stays as it is.
Every other byte is the sender's.
"""

from __future__ import annotations

from typing import NamedTuple

from isoill.codec import plan
from isoill.codec.ber import (
    CONTEXT,
    INDEFINITE,
    UNIVERSAL,
    NeedMore,
    encode_header,
    read_header,
    tag_key,
    tag_name,
)
from isoill.codec.decoder import decode_node
from isoill.codec.errors import DecodeError, UnrecognizedApdu
from isoill.codec.schema import Node

_COMPONENTS = frozenset(field.name for node in plan.APDUS.values() for field in node.fields)
_APDU_NAMES = {id(node): name for name, node in plan.APDUS.items()}
_END_OF_CONTENTS = b"\x00\x00"
_ITEM = tag_key(CONTEXT, 2)  # Extension's item [2] ANY
_EXTERNAL = tag_key(UNIVERSAL, 8)
_DIRECT_REFERENCE = tag_key(UNIVERSAL, 6)  # EXTERNAL's direct-reference OBJECT IDENTIFIER
_OID = plan.EXTERNAL.by_tag[_DIRECT_REFERENCE].node


class _Header(NamedTuple):
    start: int
    length_at: int  # where the length octets start
    content: int  # where the contents start
    length: int  # or INDEFINITE


def without_field(ber: bytes, field: str) -> bytes:
    """``ber``, one whole ILL-APDU, without its component ``field`` (e.g. ``"client-id"``).

    Returns ``ber`` itself when the APDU has no such component. Raises a
    :class:`~isoill.codec.errors.CodecError` when ``ber`` is not one BER-framed ILL-APDU, and
    ``ValueError`` when no APDU type has a component named ``field``.
    """
    if field not in _COMPONENTS:
        raise ValueError(f"no ILL-APDU has a component {field!r}")
    try:
        node, headers, components = _layout(ber)
    except NeedMore:
        raise DecodeError("truncated APDU", offset=len(ber)) from None
    tags = {key for key, member in node.by_tag.items() if member.name == field}
    found = [(start, end) for key, start, end in components if key in tags]
    if not found:
        return ber
    if len(found) > 1:
        raise DecodeError(f"{field} appears twice", offset=found[1][0])
    return _cut(ber, headers, found)


def without_extensions(ber: bytes, oid: str) -> bytes:
    """``ber``, one whole ILL-APDU, without the Extensions of its ``...-extensions`` component
    whose item is an EXTERNAL with direct-reference ``oid`` (dotted, e.g. Prompt-1's
    ``"1.2.840.10003.8.1"``); without the component when no Extension is left.

    Only the direct-reference is decoded (as the decoder reads it, so that whatever the decoder
    takes for such an EXTERNAL is cut). Returns ``ber`` itself when no Extension has ``oid``.
    Raises a :class:`~isoill.codec.errors.CodecError` when ``ber`` is not one BER-framed
    ILL-APDU or its extensions are not BER.
    """
    try:
        node, headers, spans = _layout(ber)
        field = next(member.name for member in node.fields if member.name.endswith("-extensions"))
        tags = {key for key, member in node.by_tag.items() if member.name == field}
        found = [(start, end) for key, start, end in spans if key in tags]
        if not found:
            return ber
        if len(found) > 1:
            raise DecodeError(f"{field} appears twice", offset=found[1][0])
        start, end = found[0]
        _, constructed, length, content = read_header(ber, start)
        if not constructed:
            raise DecodeError(f"{field} must be constructed", offset=start)
        extensions: list[tuple[int, int]] = []
        pos = content
        while pos < end and not (length == INDEFINITE and ber[pos : pos + 2] == _END_OF_CONTENTS):
            extensions.append((pos, _element(ber, pos, end)[1]))
            pos = extensions[-1][1]
    except NeedMore:
        raise DecodeError("truncated APDU", offset=len(ber)) from None
    cut = [(first, last) for first, last in extensions if _direct_reference(ber[first:last]) == oid]
    if not cut:
        return ber
    if len(cut) == len(extensions):
        return without_field(ber, field)
    component = _Header(start, _identifier_end(ber, start), content, length)
    return _cut(ber, [*headers, component], cut)


def present_fields(ber: bytes) -> tuple[str, frozenset[str]]:
    """The APDU type of ``ber`` (one whole ILL-APDU) and the names of the top-level components
    it carries. The components are skipped, not decoded: this checks the framing of the
    APDU's outer layers only. Raises a :class:`~isoill.codec.errors.CodecError` otherwise."""
    try:
        node, _, components = _layout(ber)
    except NeedMore:
        raise DecodeError("truncated APDU", offset=len(ber)) from None
    names = frozenset(node.by_tag[key].name for key, _, _ in components if key in node.by_tag)
    return _APDU_NAMES[id(node)], names


def components(ber: bytes) -> tuple[str, dict[str, bytes]]:
    """The APDU type of ``ber`` (one whole ILL-APDU) and each top-level component's encoding
    (its whole element, as received), by the standard's name. Framing is checked as by
    :func:`present_fields`; nothing is decoded."""
    try:
        node, _, spans = _layout(ber)
    except NeedMore:
        raise DecodeError("truncated APDU", offset=len(ber)) from None
    found = {
        node.by_tag[key].name: ber[start:end] for key, start, end in spans if key in node.by_tag
    }
    return _APDU_NAMES[id(node)], found


def members(element: bytes) -> dict[int, bytes]:
    """The elements inside one constructed element (its whole encoding), by tag; as
    :func:`components`, read without decoding them."""
    try:
        _, constructed, length, pos = read_header(element, 0)
        if not constructed:
            raise DecodeError("a constructed element expected", offset=0)
        limit = len(element) if length == INDEFINITE else pos + length
        found: dict[int, bytes] = {}
        while pos < limit and element[pos : pos + 2] != _END_OF_CONTENTS:
            key, end = _element(element, pos, limit)
            found.setdefault(key, element[pos:end])
            pos = end
    except NeedMore:
        raise DecodeError("truncated element", offset=len(element)) from None
    return found


def retagged(element: bytes, key: int) -> bytes:
    """``element`` (one whole encoding) with its tag replaced by ``key``; the length and the
    contents are kept as they are."""
    constructed = bool(element[0] & 0x20)
    identifier = encode_header(key, constructed, 0)[:-1]
    return identifier + element[_identifier_end(element, 0) :]


def _cut(ber: bytes, headers: list[_Header], spans: list[tuple[int, int]]) -> bytes:
    """``ber`` without the ``spans`` (start, end; in order, all inside the innermost of
    ``headers``), with the definite lengths of ``headers`` (outermost first, each inside the
    one before) rewritten."""
    shrink = sum(end - start for start, end in spans)
    rewritten: list[bytes] = []
    for header in reversed(headers):  # innermost first: an inner header may shrink too
        old = ber[header.start : header.content]
        if header.length == INDEFINITE:
            rewritten.append(old)
            continue
        # [UNIVERSAL 0] has a one-octet identifier, so this slice is the length octets alone.
        length_octets = encode_header(0, False, header.length - shrink)[1:]
        new = ber[header.start : header.length_at] + length_octets
        shrink += len(old) - len(new)
        rewritten.append(new)
    pieces: list[bytes] = []
    pos = 0
    for header, new in zip(headers, reversed(rewritten), strict=True):
        pieces += (ber[pos : header.start], new)
        pos = header.content
    for start, end in spans:
        pieces.append(ber[pos:start])
        pos = end
    pieces.append(ber[pos:])
    return b"".join(pieces)


def _direct_reference(extension: bytes) -> str | None:
    """The direct-reference of the EXTERNAL an Extension's item holds, if it holds one."""
    item = members(extension).get(_ITEM)
    if item is None:
        return None
    # [2] is explicit: the ANY's element is the only one inside.
    external = next(iter(members(item).values()), None)
    if external is None:
        return None
    key, constructed, _, _ = read_header(external, 0)
    if key != _EXTERNAL or not constructed:  # the decoder keeps these as bytes, no EXTERNAL
        return None
    reference = members(external).get(_DIRECT_REFERENCE)
    if reference is None:
        return None
    dotted: str = decode_node(_OID, reference, 0, len(reference))[0]
    return dotted


def _layout(ber: bytes) -> tuple[Node, list[_Header], list[tuple[int, int, int]]]:
    """The APDU's node, the headers enclosing its components (outermost first), and each
    component as (tag, start, end)."""
    key = read_header(ber, 0)[0]
    node = plan.BY_TAG.get(key)
    if node is None:
        raise UnrecognizedApdu(f"{tag_name(key)} is not an ILL-APDU", offset=0)
    assert node.tag is not None  # every APDU is a SEQUENCE
    headers: list[_Header] = []
    pos, limit = 0, len(ber)
    for expected in (*node.wrappers, node.tag):
        key, constructed, length, content = read_header(ber, pos)
        if key != expected or not constructed:
            raise DecodeError(f"expected {tag_name(expected)}, found {tag_name(key)}", offset=pos)
        if content > limit or (length != INDEFINITE and content + length > limit):
            raise DecodeError("length runs past the enclosing element", offset=pos)
        if length != INDEFINITE:
            limit = content + length
        headers.append(_Header(pos, _identifier_end(ber, pos), content, length))
        pos = content
    components: list[tuple[int, int, int]] = []
    while not _closes(ber, pos, headers[-1], limit):
        key, end = _element(ber, pos, limit)
        components.append((key, pos, end))
        pos = end
    for header in reversed(headers):
        if header.length == INDEFINITE:
            if ber[pos : pos + 2] != _END_OF_CONTENTS:
                raise DecodeError("end-of-contents missing", offset=pos)
            pos += 2
        elif pos != header.content + header.length:
            raise DecodeError("more than one element inside an explicit tag", offset=pos)
    if pos != len(ber):
        raise DecodeError(f"{len(ber) - pos} bytes after the APDU", offset=pos)
    return node, headers, components


def _closes(ber: bytes, pos: int, sequence: _Header, limit: int) -> bool:
    """Whether the SEQUENCE's contents end at ``pos``."""
    if sequence.length != INDEFINITE:
        return pos == limit
    if ber[pos : pos + 2] == _END_OF_CONTENTS:
        return True
    if pos >= limit:
        raise DecodeError("end-of-contents missing", offset=pos)
    return False


def _element(ber: bytes, pos: int, limit: int) -> tuple[int, int]:
    """The tag and the end of the element at ``pos``: the end at once for a definite length,
    by :func:`_skip` for an indefinite one."""
    if pos >= limit:
        raise DecodeError("element expected, contents ended", offset=pos)
    key, _, length, content = read_header(ber, pos)
    if length == INDEFINITE:
        return key, _skip(ber, pos, limit)
    if content + length > limit:
        raise DecodeError("element overruns its enclosing element", offset=limit)
    return key, content + length


def _skip(ber: bytes, pos: int, limit: int) -> int:
    """The end of the element at ``pos``; nested indefinite lengths are counted, not recursed."""
    open_indefinite = 0
    while True:
        if open_indefinite and ber[pos : pos + 2] == _END_OF_CONTENTS:
            open_indefinite -= 1
            pos += 2
        else:
            if pos >= limit:
                raise DecodeError("element expected, contents ended", offset=pos)
            _, _, length, pos = read_header(ber, pos)
            if length == INDEFINITE:
                open_indefinite += 1
            else:
                pos += length
        if pos > limit:
            raise DecodeError("element overruns its enclosing element", offset=limit)
        if not open_indefinite:
            return pos


def _identifier_end(ber: bytes, pos: int) -> int:
    """Where the length octets of the (already validated) header at ``pos`` start."""
    if ber[pos] & 0x1F != 0x1F:
        return pos + 1
    pos += 1
    while ber[pos] & 0x80:
        pos += 1
    return pos + 1
