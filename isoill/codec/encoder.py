"""Typed models -> BER, driven by the compiled plan (:mod:`isoill.codec.plan`).

Writes definite lengths throughout, and writes DEFAULT values as well (as YAZ does), so that a
peer whose decoder treats DEFAULT as OPTIONAL still sees every value.
"""

from __future__ import annotations

from typing import Any

from isoill.codec import plan
from isoill.codec.ber import encode_header
from isoill.codec.errors import EncodeError
from isoill.codec.models import Extension, IllApdu
from isoill.codec.schema import Kind, Node
from isoill.codec.text import Text
from isoill.codec.values import AsnModel, ExternalModel

plan.bound()


def encode(apdu: IllApdu) -> bytes:
    """BER of one ILL-APDU model."""
    return encode_node(plan.APDUS[apdu.apdu_type], apdu)


def encode_extension(extension: Extension) -> bytes:
    """BER of one Extension, as it stands inside an APDU's ``...-extensions`` component (to
    add to an APDU's own bytes with :func:`isoill.codec.splice.with_extension`)."""
    return encode_node(plan.EXTENSION, extension)


def encode_node(node: Node, value: Any) -> bytes:
    body = _contents(node, value)
    for wrapper in reversed(node.wrappers):
        body = encode_header(wrapper, True, len(body)) + body
    return body


def _contents(node: Node, value: Any) -> bytes:
    kind = node.kind
    if kind is Kind.CHOICE:
        for alternative in node.fields:
            chosen = getattr(value, alternative.attr)
            if chosen is not None:
                return encode_node(alternative.node, chosen)
        raise EncodeError(f"{node.name} has no alternative set")
    if kind is Kind.ANY:
        if isinstance(value, ExternalModel):
            return encode_node(plan.EXTERNAL, value)
        return bytes(value)
    if kind is Kind.TEXT:
        text: Text = value
        for key, edifact in node.text_tags.items():
            if edifact == text.edifact:
                return encode_header(key, False, len(text.raw)) + text.raw
        raise EncodeError(f"{node.name} cannot hold an EDIFACTString")
    assert node.tag is not None
    if kind in (Kind.SEQUENCE, Kind.EXTERNAL):
        octets = b"".join(_members(node, value))
    elif kind is Kind.SEQUENCE_OF:
        assert node.element is not None
        octets = b"".join(encode_node(node.element, item) for item in value)
    else:
        octets = _primitive(kind, value)
        return encode_header(node.tag, False, len(octets)) + octets
    return encode_header(node.tag, True, len(octets)) + octets


def _members(node: Node, model: AsnModel) -> list[bytes]:
    parts = []
    for member in node.fields:
        value = getattr(model, member.attr)
        if value is None:
            if not member.optional:
                raise EncodeError(f"{node.name} lacks mandatory {member.name}")
            continue
        if node.kind is Kind.EXTERNAL and member.name == "encoding":
            value = _external_encoding(model, value)
        parts.append(encode_node(member.node, value))
    return parts


def _external_encoding(external: Any, encoding: Any) -> Any:
    """A decoded extension value goes back into single-ASN1-type as the BER of its syntax."""
    content = encoding.single_asn1_type
    if content is None or isinstance(content, bytes):
        return encoding
    syntax = plan.EXTENSIONS.get(external.direct_reference or "")
    if syntax is None:
        raise EncodeError(f"no registered syntax for EXTERNAL {external.direct_reference}")
    return type(encoding).model_construct(single_asn1_type=encode_node(syntax, content))


def _primitive(kind: Kind, value: Any) -> bytes:
    if kind is Kind.INTEGER or kind is Kind.ENUMERATED:
        number = int(value)
        size = (number if number >= 0 else ~number).bit_length() // 8 + 1
        return number.to_bytes(size, "big", signed=True)
    if kind is Kind.BOOLEAN:
        return b"\xff" if value else b"\x00"
    if kind is Kind.NULL:
        return b""
    if kind is Kind.STRING:
        return str(value).encode("latin-1")
    if kind is Kind.OID:
        return _oid(value)
    return bytes(value)


def _oid(dotted: str) -> bytes:
    try:
        arcs = [int(arc) for arc in dotted.split(".")]
        if len(arcs) < 2 or arcs[0] > 2 or min(arcs) < 0:
            raise ValueError(dotted)
    except ValueError:
        raise EncodeError(f"not an OBJECT IDENTIFIER: {dotted!r}") from None
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        groups = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            groups.append(rest & 0x7F | 0x80)
            rest >>= 7
        out.extend(reversed(groups))
    return bytes(out)
