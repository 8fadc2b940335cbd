"""The decode/encode plan: the pyasn1 types of :mod:`isoill.asn1` compiled into plain nodes.

pyasn1's classes are the one description of the ISO 10161 types. This module walks them once
and turns each into a :class:`Node` that says which tags to expect (explicit wrappers first,
then the type's own tag), how the contents are laid out, and which model class holds the value.
The decoder, the encoder and the model generator all work from these nodes, so none of them
restates a tag or a field.

Tags follow pyasn1: ``tagSet.superTags`` lists the innermost (the type's own) tag first; every
tag above it is an explicit wrapper. CHOICE and ANY have no tag of their own.
"""

from __future__ import annotations

import enum
import importlib
import keyword
import pkgutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pyasn1.type import base, char, constraint, univ
from pydantic import BaseModel

from isoill.asn1 import ext, ill9702
from isoill.asn1.external import External
from isoill.codec.ber import tag_key


class Kind(enum.Enum):
    SEQUENCE = "SEQUENCE"
    SEQUENCE_OF = "SEQUENCE OF"
    CHOICE = "CHOICE"
    EXTERNAL = "EXTERNAL"
    INTEGER = "INTEGER"
    ENUMERATED = "ENUMERATED"
    BOOLEAN = "BOOLEAN"
    NULL = "NULL"
    OCTETS = "OCTET STRING"
    BITS = "BIT STRING"
    OID = "OBJECT IDENTIFIER"
    TEXT = "GeneralString"  # GeneralString, GraphicString, and ILL-String's two alternatives
    STRING = "VisibleString"  # VisibleString, PrintableString and the like: plain text
    ANY = "ANY"


#: Kinds whose value is held in a generated model class.
MODEL_KINDS = frozenset({Kind.SEQUENCE, Kind.CHOICE, Kind.EXTERNAL, Kind.ENUMERATED})


@dataclass(eq=False, slots=True)
class Field:
    """A component of a SEQUENCE or an alternative of a CHOICE."""

    name: str  # the standard's name, e.g. "protocol-version-num"
    attr: str  # the Python attribute, e.g. "protocol_version_num"
    node: Node
    optional: bool = False
    default: object = None


@dataclass(eq=False, slots=True)
class Node:
    kind: Kind
    name: str  # the model class (or a readable type name for the other kinds)
    wrappers: tuple[int, ...]  # explicit tags, outermost first
    tag: int | None  # the type's own tag; None for CHOICE, ANY and ILL-String
    fields: tuple[Field, ...] = ()
    element: Node | None = None  # SEQUENCE OF
    named_values: tuple[tuple[str, int], ...] = ()  # ENUMERATED, named INTEGER
    text_tags: dict[int, bool] = field(default_factory=dict)  # TEXT: tag -> is EDIFACTString
    by_tag: dict[int, Field] = field(default_factory=dict)  # SEQUENCE, CHOICE: first tag -> field
    model: Any = None  # the generated class, bound by isoill.codec.models

    @property
    def first_tags(self) -> frozenset[int] | None:
        """Tags an encoding of this node can start with; ``None`` means any (ANY)."""
        if self.wrappers:
            return frozenset((self.wrappers[0],))
        if self.tag is not None:
            return frozenset((self.tag,))
        if self.kind is Kind.TEXT:
            return frozenset(self.text_tags)
        if self.kind is Kind.CHOICE:
            tags: set[int] = set()
            for alternative in self.fields:
                first = alternative.node.first_tags
                if first is None:
                    return None
                tags |= first
            return frozenset(tags)
        return None

    def walk(self, seen: set[int] | None = None) -> Iterator[Node]:
        """This node and every node below it, depth first, each once (types may recurse)."""
        seen = set() if seen is None else seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield self
        for child in self.fields:
            yield from child.node.walk(seen)
        if self.element is not None:
            yield from self.element.walk(seen)


def python_name(asn1_name: str) -> str:
    """``iLL-service-type`` -> ``ill_service_type``; ``_`` appended where Python needs it."""
    name = asn1_name.replace("-", "_").lower()
    return f"{name}_" if keyword.iskeyword(name) or hasattr(BaseModel, name) else name


def class_name(asn1_name: str) -> str:
    """``date-time-of-this-service`` -> ``DateTimeOfThisService``."""
    return "".join(part[:1].upper() + part[1:] for part in asn1_name.split("-") if part)


def _modules() -> list[ModuleType]:
    found = [ill9702, importlib.import_module("isoill.asn1.external")]
    for info in pkgutil.iter_modules(ext.__path__):
        found.append(importlib.import_module(f"{ext.__name__}.{info.name}"))
    return found


class Compiler:
    """Compiles pyasn1 specs into nodes, naming anonymous types deterministically.

    A named type keeps its pyasn1 class name. An anonymous (inline) SEQUENCE, CHOICE or
    ENUMERATED is named after its field (``results-explanation`` -> ``ResultsExplanation``);
    when that name is taken by a different type, the enclosing type's name is put in front.
    """

    def __init__(self) -> None:
        self._declared = {
            name: obj
            for module in _modules()
            for name, obj in vars(module).items()
            if isinstance(obj, type)
            and issubclass(obj, base.Asn1Type)
            and obj.__module__ == module.__name__
        }
        self._inline: dict[str, str] = {}  # name -> structural signature
        self._memo: dict[tuple[type, Any], Node] = {}

    def compile(self, spec: Any, hint: str, parent: str = "") -> Node:
        kind = _kind(spec)
        chain = tuple(tag_key(t.tagClass >> 6, t.tagId) for t in reversed(spec.tagSet.superTags))
        own_tagged = kind not in (Kind.CHOICE, Kind.ANY) and not isinstance(spec, ill9702.ILLString)
        wrappers = chain[:-1] if own_tagged else chain
        tag = chain[-1] if own_tagged else None
        node = Node(kind, self._type_name(spec, kind, hint), wrappers, tag)
        declared = self._is_declared(spec)
        if declared:  # shared, so that a recursive type compiles to a cycle
            key = (type(spec), spec.tagSet)
            if key in self._memo:
                return self._memo[key]
            self._memo[key] = node
        if kind is Kind.TEXT:
            if tag is None:  # ILL-String ::= CHOICE {GeneralString, EDIFACTString}
                node.text_tags = {tag_key(0, 27): False, tag_key(0, 26): True}
            else:
                node.text_tags = {tag: False}
                node.tag = None
        elif kind in (Kind.SEQUENCE, Kind.EXTERNAL, Kind.CHOICE):
            node.fields = tuple(
                self._field(named, node.name) for named in spec.componentType.namedTypes
            )
            node.by_tag = _index(node)
        elif kind is Kind.SEQUENCE_OF:
            node.element = self.compile(spec.componentType, f"{hint}-item", parent)
        if kind in (Kind.ENUMERATED, Kind.INTEGER):
            allowed = _single_values(spec.subtypeSpec)
            node.named_values = tuple(
                (str(n), int(v))
                for n, v in spec.namedValues.items()
                if allowed is None or int(v) in allowed
            )
        if kind in MODEL_KINDS and not declared:
            node.name = self._claim(node, parent)
        return node

    def _field(self, named: Any, parent: str) -> Field:
        node = self.compile(named.asn1Object, named.name, parent)
        default = None
        if named.isDefaulted:
            value = named.asn1Object
            default = bool(value) if node.kind is Kind.BOOLEAN else int(value)
        return Field(
            named.name,
            python_name(named.name),
            node,
            named.isOptional or named.isDefaulted,
            default,
        )

    def _is_declared(self, spec: Any) -> bool:
        """A type the module names, rather than an inline type built on a module's base class."""
        cls = type(spec)
        return self._declared.get(cls.__name__) is cls and getattr(
            spec, "componentType", None
        ) is getattr(cls, "componentType", None)

    def _type_name(self, spec: Any, kind: Kind, hint: str) -> str:
        if self._is_declared(spec):
            return type(spec).__name__
        return class_name(hint) if kind in MODEL_KINDS else type(spec).__name__

    def _claim(self, node: Node, parent: str) -> str:
        name = node.name
        signature = _signature(node)
        while True:
            taken = self._inline.get(name)
            if name not in self._declared and taken in (None, signature):
                self._inline[name] = signature
                return name
            name = parent + name


def _kind(spec: Any) -> Kind:
    checks: tuple[tuple[type, Kind], ...] = (
        (External, Kind.EXTERNAL),
        (ill9702.ILLString, Kind.TEXT),
        (univ.Any, Kind.ANY),
        (univ.Choice, Kind.CHOICE),
        (univ.SequenceOf, Kind.SEQUENCE_OF),
        (univ.SetOf, Kind.SEQUENCE_OF),
        (univ.Sequence, Kind.SEQUENCE),
        (univ.Set, Kind.SEQUENCE),
        (univ.Boolean, Kind.BOOLEAN),  # pyasn1 derives BOOLEAN and ENUMERATED from INTEGER
        (univ.Enumerated, Kind.ENUMERATED),
        (univ.Integer, Kind.INTEGER),
        (univ.Null, Kind.NULL),
        (univ.ObjectIdentifier, Kind.OID),
        (univ.BitString, Kind.BITS),
        (char.GeneralString, Kind.TEXT),
        (char.GraphicString, Kind.TEXT),
        (char.AbstractCharacterString, Kind.STRING),
        (univ.OctetString, Kind.OCTETS),
    )
    for cls, kind in checks:
        if isinstance(spec, cls):
            return kind
    raise TypeError(f"no plan for ASN.1 type {type(spec).__name__}")


def _single_values(constraints: Any) -> set[int] | None:
    """Values a SingleValueConstraint allows (``Shipped-Service-Type ::= ILL-Service-Type
    (loan | copy-non-returnable)``), or None when the type is not restricted that way."""
    if isinstance(constraints, constraint.SingleValueConstraint):
        return {int(value) for value in constraints}
    if isinstance(constraints, constraint.ConstraintsIntersection):
        for member in constraints:
            found = _single_values(member)
            if found is not None:
                return found
    return None


def _index(node: Node) -> dict[int, Field]:
    index: dict[int, Field] = {}
    for member in node.fields:
        first = member.node.first_tags
        if first is None:
            raise TypeError(f"{node.name}.{member.name}: an untagged ANY cannot be told apart")
        for key in first:
            if key in index:
                raise TypeError(f"{node.name}.{member.name}: tag shared with {index[key].name}")
            index[key] = member
    return index


def _signature(node: Node) -> str:
    parts: list[str] = [node.kind.value, repr(node.named_values)]
    parts.extend(f"{f.name}:{f.node.name}:{f.node.wrappers}:{f.node.tag}" for f in node.fields)
    return "|".join(parts)


def apdu_specs() -> list[tuple[str, Any]]:
    """The 20 ILL-APDU alternatives as (standard name, pyasn1 spec), in tag order."""
    return [(named.name, named.asn1Object) for named in ill9702.ILLAPDU.componentType.namedTypes]


def compile_all(roots: Iterable[tuple[str, Any]]) -> list[Node]:
    compiler = Compiler()
    return [compiler.compile(spec, name) for name, spec in roots]
