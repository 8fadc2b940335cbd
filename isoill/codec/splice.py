"""An APDU's top-level components, read from its BER without decoding them: which are present
(:func:`present_fields`, enough to tell an acknowledgement from a refusal), their encodings
(:func:`components`, :func:`members`, to build an answer from the sender's own elements),
removing one, or some of its extensions (:func:`without_field`, :func:`without_extensions`),
and adding an extension (:func:`with_extension`, the gateway's own Prompt-1 login), without
re-encoding anything else.

An ILL-APDU is ``[APPLICATION n]`` (an explicit tag: the module has no IMPLICIT TAGS) around a
SEQUENCE, so two headers enclose the components; the extensions component is the last, its
tag IMPLICIT in every APDU type but Overdue, whose ``[49]`` is explicit around a SEQUENCE OF.
Cutting or adding an element changes only the lengths of the headers that enclose it: a
definite length is rewritten in minimal form (its identifier octets kept), an indefinite one
stays as it is. Every other byte is the sender's.
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
from isoill.codec.errors import CodecError, DecodeError, UnrecognizedApdu
from isoill.codec.schema import Field, Node

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
    found = _span(node, components, field)
    if found is None:
        return ber
    return _splice(ber, headers, [(*found, b"")])


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
        field = _extensions_field(node)
        found = _span(node, spans, field.name)
        if found is None:
            return ber
        inside = _enclosed(ber, *found, _tags(field.node))
    except NeedMore:
        raise DecodeError("truncated APDU", offset=len(ber)) from None
    cut = [
        (start, end, b"")
        for _, start, end in inside.elements
        if _direct_reference(ber[start:end]) == oid
    ]
    if not cut:
        return ber
    if len(cut) == len(inside.elements):
        return without_field(ber, field.name)
    return _splice(ber, [*headers, *inside.headers], cut)


def with_extension(ber: bytes, extension: bytes) -> bytes:
    """``ber``, one whole ILL-APDU, with ``extension`` (the whole encoding of one Extension,
    e.g. from :func:`~isoill.codec.encoder.encode_extension`) after the Extensions of its
    ``...-extensions`` component. An APDU without the component gets one, with a definite
    length, after its other components (it is the last of every APDU type).

    Raises a :class:`~isoill.codec.errors.CodecError` when ``ber`` is not one BER-framed
    ILL-APDU, and ``ValueError`` when ``extension`` is not the encoding of one Extension.
    """
    try:  # decoded whole, so that an APDU that decodes still does with it
        _, end = decode_node(plan.EXTENSION, extension, 0, len(extension))
        if end != len(extension):
            raise DecodeError(f"{len(extension) - end} bytes after it", offset=end)
    except CodecError as error:
        raise ValueError(f"not one Extension: {error}") from None
    try:
        node, headers, spans = _layout(ber)
        field = _extensions_field(node)
        tags = _tags(field.node)
        found = _span(node, spans, field.name)
        if found is None:
            at = spans[-1][2] if spans else headers[-1].content
            for key in reversed(tags):
                extension = encode_header(key, True, len(extension)) + extension
        else:
            inside = _enclosed(ber, *found, tags)
            headers, at = [*headers, *inside.headers], inside.contents_end
    except NeedMore:
        raise DecodeError("truncated APDU", offset=len(ber)) from None
    return _splice(ber, headers, [(at, at, extension)])


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


def _splice(ber: bytes, headers: list[_Header], edits: list[tuple[int, int, bytes]]) -> bytes:
    """``ber`` with each edit's bytes (start, end, replacement; in order, all inside the
    innermost of ``headers``) replaced, and the definite lengths of ``headers`` (outermost
    first, each inside the one before) rewritten to match."""
    growth = sum(len(new) - (end - start) for start, end, new in edits)
    rewritten: list[bytes] = []
    for header in reversed(headers):  # innermost first: an inner header may change size too
        old = ber[header.start : header.content]
        if header.length == INDEFINITE:
            rewritten.append(old)
            continue
        # [UNIVERSAL 0] has a one-octet identifier, so this slice is the length octets alone.
        length_octets = encode_header(0, False, header.length + growth)[1:]
        new = ber[header.start : header.length_at] + length_octets
        growth += len(new) - len(old)
        rewritten.append(new)
    pieces: list[bytes] = []
    pos = 0
    for header, new in zip(headers, reversed(rewritten), strict=True):
        pieces += (ber[pos : header.start], new)
        pos = header.content
    for start, end, new in edits:
        pieces += (ber[pos:start], new)
        pos = end
    pieces.append(ber[pos:])
    return b"".join(pieces)


def _extensions_field(node: Node) -> Field:
    """The APDU's ``...-extensions`` component."""
    return next(member for member in node.fields if member.name.endswith("-extensions"))


def _tags(node: Node) -> tuple[int, ...]:
    """The tags of a constructed node's headers, outermost first."""
    assert node.tag is not None
    return (*node.wrappers, node.tag)


def _span(node: Node, components: list[tuple[int, int, int]], field: str) -> tuple[int, int] | None:
    """(start, end) of the APDU's component ``field``, if it has it."""
    tags = {key for key, member in node.by_tag.items() if member.name == field}
    found = [(start, end) for key, start, end in components if key in tags]
    if len(found) > 1:
        raise DecodeError(f"{field} appears twice", offset=found[1][0])
    return found[0] if found else None


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
    apdu = _enclosed(ber, 0, len(ber), _tags(node))
    if apdu.end != len(ber):
        raise DecodeError(f"{len(ber) - apdu.end} bytes after the APDU", offset=apdu.end)
    return node, apdu.headers, apdu.elements


class _Enclosed(NamedTuple):
    headers: list[_Header]  # outermost first
    elements: list[tuple[int, int, int]]  # inside the innermost: (tag, start, end)
    contents_end: int  # where the innermost's contents end (its end-of-contents, if any)
    end: int  # where the outermost ends


def _enclosed(ber: bytes, pos: int, limit: int, tags: tuple[int, ...]) -> _Enclosed:
    """The constructed headers ``tags`` (outermost first, each the only element inside the one
    before) at ``pos``, ending by ``limit``, and the elements inside the innermost."""
    headers: list[_Header] = []
    for expected in tags:
        key, constructed, length, content = read_header(ber, pos)
        if key != expected:
            raise DecodeError(f"expected {tag_name(expected)}, found {tag_name(key)}", offset=pos)
        if not constructed:
            raise DecodeError(f"{tag_name(key)} must be constructed", offset=pos)
        if content > limit or (length != INDEFINITE and content + length > limit):
            raise DecodeError("length runs past the enclosing element", offset=pos)
        if length != INDEFINITE:
            limit = content + length
        headers.append(_Header(pos, _identifier_end(ber, pos), content, length))
        pos = content
    elements: list[tuple[int, int, int]] = []
    while not _closes(ber, pos, headers[-1], limit):
        key, end = _element(ber, pos, limit)
        elements.append((key, pos, end))
        pos = end
    contents_end = pos
    for header in reversed(headers):
        if header.length == INDEFINITE:
            if ber[pos : pos + 2] != _END_OF_CONTENTS:
                raise DecodeError("end-of-contents missing", offset=pos)
            pos += 2
        elif pos != header.content + header.length:
            raise DecodeError("more than one element inside an explicit tag", offset=pos)
    return _Enclosed(headers, elements, contents_end, pos)


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
