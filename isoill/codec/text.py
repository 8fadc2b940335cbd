"""The bytes of a GeneralString (or ILL-String) as decoded: a module of its own so that mypyc
compiles the class (every decoded APDU makes a few of them and reads their text), which it
cannot do in :mod:`isoill.codec.values` beside the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic_core import core_schema

from isoill.codec.plain import plain_schema


class Text:
    """The bytes of a GeneralString (or ILL-String), kept exactly as received.

    ``text`` decodes them as UTF-8, falling back to Latin-1 for older peers.
    """

    __slots__ = ("edifact", "raw")

    def __init__(self, raw: bytes, edifact: bool = False) -> None:
        self.raw = raw
        self.edifact = edifact

    @classmethod
    def of(cls, text: str) -> Text:
        return cls(text.encode("utf-8"))

    @property
    def text(self) -> str:
        try:
            return self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return self.raw.decode("latin-1")

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Text({self.text!r}{', edifact=True' if self.edifact else ''})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Text):
            return self.raw == other.raw and self.edifact == other.edifact
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.raw, self.edifact))

    def to_json(self) -> str | dict[str, str]:
        if self.edifact:
            return {"EDIFACTString": self.raw.decode("latin-1")}
        try:
            return self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return {"latin1": self.raw.decode("latin-1")}

    @classmethod
    def from_value(cls, value: object) -> Text:
        if isinstance(value, Text):
            return value
        if isinstance(value, str):
            return cls.of(value)
        if isinstance(value, bytes):
            return cls(value)
        if isinstance(value, dict) and len(value) == 1:
            ((form, text),) = value.items()
            if form == "latin1" and isinstance(text, str):
                return cls(text.encode("latin-1"))
            if form == "EDIFACTString" and isinstance(text, str):
                return cls(text.encode("latin-1"), edifact=True)
        raise ValueError('expected a string, {"latin1": ...} or {"EDIFACTString": ...}')

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return plain_schema(cls.from_value, lambda v: v.to_json())
