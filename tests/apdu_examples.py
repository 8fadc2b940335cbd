"""Values for tests, derived from the plan: every field of every type filled.

``full_value(node, variant)`` fills every OPTIONAL field too; ``variant`` rotates through
CHOICE alternatives, ENUMERATED members and string forms, so that a handful of variants
covers every alternative of every CHOICE.
"""

from __future__ import annotations

from typing import Any

from isoill.codec import plan
from isoill.codec.models import IllApdu
from isoill.codec.schema import Kind, Node
from isoill.codec.text import Text
from isoill.codec.values import NULL

models = plan.bound()

OCLC_REQUEST_EXTENSION = "1.0.10161.13.2"
MAX_NESTING = 5  # recursive extension types are cut here


def full_value(node: Node, variant: int = 0, depth: int = 0) -> Any:
    kind = node.kind
    if kind in (Kind.SEQUENCE, Kind.EXTERNAL):
        if kind is Kind.EXTERNAL:
            return _external(variant, depth)
        values = {
            f.attr: full_value(f.node, variant + i, depth + 1) for i, f in enumerate(node.fields)
        }
        return node.model(**values)
    if kind is Kind.CHOICE:
        choices = node.fields
        if depth >= MAX_NESTING:
            choices = (
                tuple(f for f in choices if f.node.kind not in (Kind.SEQUENCE, Kind.CHOICE))
                or choices
            )
        chosen = choices[variant % len(choices)]
        return node.model(**{chosen.attr: full_value(chosen.node, variant, depth + 1)})
    if kind is Kind.SEQUENCE_OF:
        assert node.element is not None
        count = 0 if depth >= MAX_NESTING else 2
        return tuple(full_value(node.element, variant + i, depth + 1) for i in range(count))
    if kind is Kind.ENUMERATED:
        members = list(node.model)
        return members[variant % len(members)]
    if kind is Kind.INTEGER:
        named = [value for _, value in node.named_values]
        return named[variant % len(named)] if named else 1 + variant % 200
    return _scalar(node, variant)


def _scalar(node: Node, variant: int) -> Any:
    kind = node.kind
    if kind is Kind.BOOLEAN:
        return variant % 2 == 0
    if kind is Kind.NULL:
        return NULL
    if kind is Kind.OCTETS:
        return bytes(range(variant % 5 + 1))
    if kind is Kind.BITS:
        return b"\x00\xa5"
    if kind is Kind.OID:
        return "1.2.840.10003.8.1"
    if kind is Kind.TEXT:
        if True in node.text_tags.values() and variant % 3 == 1:
            return Text(b"EDIFACT 1", edifact=True)
        return Text.of(["Dune", "Ünïcödé title", "x" * 200][variant % 3])
    if kind is Kind.STRING:
        return {"ISOTime": "101530", "PrintableString": "123"}.get(node.name, "20250101")
    if kind is Kind.ANY:
        return bytes.fromhex("0403616263")  # OCTET STRING "abc"
    raise AssertionError(f"no example for {kind}")


def _external(variant: int, depth: int) -> Any:
    external = plan.EXTERNAL.model
    encoding = models.ExternalEncoding
    if depth >= MAX_NESTING or variant % 2:
        return external(
            direct_reference="1.2.3.4",
            encoding=encoding(octet_aligned=b"opaque"),
        )
    syntax = plan.EXTENSIONS[OCLC_REQUEST_EXTENSION]
    return external(
        direct_reference=OCLC_REQUEST_EXTENSION,
        encoding=encoding(single_asn1_type=full_value(syntax, variant, depth + 1)),
    )


def full_apdu(name: str, variant: int = 0) -> IllApdu:
    value = full_value(plan.APDUS[name], variant)
    assert isinstance(value, IllApdu)
    return value
