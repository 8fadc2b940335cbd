"""Reaching into a decoded APDU by the standard's element names, and the check builders most
rules are made of.

Paths are dotted ASN.1 names below the APDU (``item-id.title``), the form IPIG's
Additional User Error Information uses after the APDU's name. :func:`walk` visits every
element of an APDU with its node in the codec's plan, so rules about a kind of element (every
ISO-Date, every ENUMERATED) follow the ASN.1 types instead of restating them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from isoill.codec.models import IllApdu
from isoill.codec.plan import APDUS
from isoill.codec.schema import Kind, Node, python_name
from isoill.codec.text import Text
from isoill.codec.values import ChoiceModel
from isoill.rules.engine import Check, Context, Problem, Violation


def value_at(model: object, path: str) -> object:
    """The value at ``path``; ``None`` where any step is absent."""
    for attribute in _attributes(path):
        if model is None:
            return None
        model = getattr(model, attribute, None)
    return model


@functools.cache
def _attributes(path: str) -> tuple[str, ...]:
    """The model attributes a path steps through (rules ask for a few paths, many times)."""
    return tuple(python_name(name) for name in path.split("."))


def text_at(model: object, path: str) -> str | None:
    """The text at ``path``, stripped; ``None`` when absent or blank (yaz-illclient and others
    send empty strings for fields they have no value for)."""
    value = value_at(model, path)
    if value is None:
        return None
    if isinstance(value, ChoiceModel):  # Name-Of-Person-Or-Institution and the like
        value = value.chosen[1]
    text = value.text if isinstance(value, Text) else str(value)
    return text.strip() or None


class Element:
    """An element a walk found: its path, its node in the plan and its value. A plain class,
    not a frozen dataclass: compiled, a dataclass's ``__init__`` stays the Python one that
    dataclasses writes, several times the cost of the walk's step that makes it."""

    __slots__ = ("node", "path", "value")

    def __init__(self, path: str, node: Node, value: Any) -> None:
        self.path = path
        self.node = node
        self.value = value


def walk(apdu: IllApdu, wanted: Callable[[Node], bool]) -> list[Element]:
    """Every present element of ``apdu`` whose node is ``wanted``, depth first. Only subtrees
    whose types can hold such an element are entered, so a rule about ISO-Dates reads no
    more of an APDU than where dates can be. Elements of a SEQUENCE OF share their list's
    path (IPIG identifiers have no index); EXTERNALs are not entered."""
    holds = _HOLDS.get(wanted)
    if holds is None:
        holds = _HOLDS[wanted] = _Holds(wanted)
    found: list[Element] = []
    _walk(APDUS[apdu.apdu_type], apdu, "", holds, found)
    return found


class _Holds:
    """Whether a node's type, or any type inside it, is ``wanted``; worked out once a node,
    with what a walk does there (its :class:`_Step`)."""

    def __init__(self, wanted: Callable[[Node], bool]) -> None:
        self.wanted = wanted
        self._known: dict[int, bool] = {}
        self._steps: dict[int, _Step] = {}

    def __call__(self, node: Node) -> bool:
        known = self._known.get(id(node))
        if known is None:
            self._known[id(node)] = False  # a type inside itself adds nothing
            inner = [field.node for field in node.fields]
            if node.element is not None:
                inner.append(node.element)
            known = self.wanted(node) or any(self(child) for child in inner)
            self._known[id(node)] = known
        return known

    def step(self, node: Node) -> _Step:
        step = self._steps.get(id(node))
        if step is None:
            step = self._steps[id(node)] = _Step(node, self)
        return step


class _Step:
    """What a walk does at a node: keep its element (``found``), enter these components or
    alternatives (attribute, name, node: those whose types can hold one), or the items of a
    SEQUENCE OF (``items``: their node, if they can hold one)."""

    __slots__ = ("enter", "found", "items")

    def __init__(self, node: Node, holds: _Holds) -> None:
        self.found = holds.wanted(node)
        kind = node.kind
        entered = kind is Kind.SEQUENCE or kind is Kind.CHOICE
        self.enter = tuple(
            (field.attr, field.name, field.node)
            for field in (node.fields if entered else ())
            if holds(field.node)
        )
        element = node.element
        items = kind is Kind.SEQUENCE_OF and element is not None and holds(element)
        self.items = element if items else None


_HOLDS: dict[Callable[[Node], bool], _Holds] = {}


def _walk(node: Node, value: object, path: str, holds: _Holds, found: list[Element]) -> None:
    """Add the wanted elements at and below ``node`` to ``found`` (a list, not a generator:
    a generator's frame for each node entered cost more than the walk itself)."""
    step = holds.step(node)
    if step.found:
        found.append(Element(path, node, value))
    for attr, name, inner in step.enter:
        child = getattr(value, attr, None)
        if child is not None:
            _walk(inner, child, f"{path}.{name}" if path else name, holds, found)
    if step.items is not None:
        for item in value:  # type: ignore[attr-defined]
            _walk(step.items, item, path, holds, found)


def required(*paths: str, why: str) -> Check:
    """Each path must hold a value (for text: a non-blank one)."""

    def check(apdu: IllApdu, context: Context) -> Iterable[Violation]:
        for path in paths:
            if text_at(apdu, path) is None:
                yield Violation(Problem.MISSING, path, f"missing; {why}")

    return check


def one_of(*paths: str, why: str) -> Check:
    """At least one of the paths must hold a value; reported against the first."""

    def check(apdu: IllApdu, context: Context) -> Iterable[Violation]:
        if all(text_at(apdu, path) is None for path in paths):
            names = ", ".join(paths)
            yield Violation(Problem.MISSING, paths[0], f"none of {names} is present; {why}")

    return check


def allowed(path: str, values: Iterable[str], why: str) -> Check:
    """The text at ``path``, when present, must be one of ``values`` (case-insensitive)."""
    wanted = {value.casefold() for value in values}
    listed = ", ".join(values)

    def check(apdu: IllApdu, context: Context) -> Iterable[Violation]:
        text = text_at(apdu, path)
        if text is not None and text.casefold() not in wanted:
            message = f"{text!r} is not one of {listed}; {why}"
            yield Violation(Problem.UNRECOGNIZED, path, message, data=text)

    return check
