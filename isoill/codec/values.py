"""Building blocks of the typed models: value types for ASN.1 strings, NULL and ENUMERATED,
and the base classes of every generated model (see :mod:`isoill.codec.models`).

The JSON form of a value is defined here, once, through pydantic serializers:

- GeneralString (and ILL-String) text that is valid UTF-8 is a JSON string; other bytes are
  ``{"latin1": "..."}`` (every byte one character, so the bytes survive exactly); an
  EDIFACTString is ``{"EDIFACTString": "..."}``.
- ENUMERATED values are their names in the standard (``"will-supply"``); integers are accepted.
  A value the module does not list is kept and written as its number in a string (``"0"``).
- NULL is the string ``"NULL"``; OCTET STRING, BIT STRING and ANY are hex strings.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator
from pydantic_core import core_schema

from isoill.codec.making import Maker
from isoill.codec.plain import plain_schema


class Null:
    """The single value of ASN.1 NULL."""

    __slots__ = ()
    _instance: ClassVar[Null | None] = None

    def __new__(cls) -> Null:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NULL"

    @classmethod
    def from_value(cls, value: object) -> Null:
        if isinstance(value, Null) or value == "NULL":
            return NULL
        raise ValueError('expected "NULL"')

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return plain_schema(cls.from_value, lambda v: "NULL")


NULL = Null()


class AsnEnum(enum.IntEnum):
    """An ENUMERATED type; each member knows its name in the standard."""

    asn1_name: str

    def __new__(cls, value: int, asn1_name: str) -> Self:
        member = int.__new__(cls, value)
        member._value_ = value
        member.asn1_name = asn1_name
        return member

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        """A value the module does not list (peers send such, e.g. 0 for "not set"): kept as
        a member of its own, so it decodes, forwards and round-trips; rules judge it."""
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNLISTED_{value}"
        member._value_ = value
        member.asn1_name = str(value)
        return member

    @property
    def listed(self) -> bool:
        """Whether the module names this value."""
        return self._name_ in type(self).__members__

    @classmethod
    def from_value(cls, value: object) -> Self:
        if isinstance(value, cls):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)  # type: ignore[call-arg]  # by value: Enum's lookup, not __new__
        if isinstance(value, str):
            for member in cls:
                if member.asn1_name == value:
                    return member
            try:
                number = int(value)
            except ValueError:
                pass
            else:
                return cls(number)  # type: ignore[call-arg]  # an unlisted value
        names = ", ".join(m.asn1_name for m in cls)
        raise ValueError(f"expected one of {names}")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return plain_schema(cls.from_value, lambda v: v.asn1_name)


class AsnModel(BaseModel):
    """A SEQUENCE: fields named in Python, aliased to the standard's names."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        ser_json_bytes="hex",
        val_json_bytes="hex",
    )

    @classmethod
    def maker(cls) -> Callable[[dict[str, Any]], Self]:
        """What builds the model of ``values`` that are of their fields' types already, as the
        decoder's are (its plan and these models come from the same ASN.1 types, and it has
        checked that a SEQUENCE has its mandatory components and a CHOICE one alternative):
        without validating them again, which costs as much as the decoder's walk."""
        return Maker(cls, *_layout(cls))


def _layout(model: type[AsnModel]) -> tuple[dict[str, object], dict[str, object] | None]:
    """A model's fields with their defaults, in order (``None`` for a mandatory one: always
    given), and its private attributes' defaults: what :meth:`AsnModel.maker` fills in."""
    fields = {
        name: None if field.is_required() else field.default
        for name, field in model.model_fields.items()
    }
    private: dict[str, object] = {
        name: attribute.default for name, attribute in model.__private_attributes__.items()
    }
    return fields, private or None


class ChoiceModel(AsnModel):
    """A CHOICE: exactly one field is set."""

    @model_validator(mode="after")
    def _one_alternative(self) -> Self:
        chosen = [name for name, _ in _alternatives(type(self)) if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(f"a CHOICE takes exactly one alternative, got {len(chosen)}")
        return self

    @property
    def chosen(self) -> tuple[str, object]:
        """The standard's name of the alternative and its value."""
        for name, asn1_name in _alternatives(type(self)):
            value = getattr(self, name)
            if value is not None:
                return asn1_name, value
        raise AssertionError("validated CHOICE has no alternative")


@functools.cache
def _alternatives(model: type[ChoiceModel]) -> tuple[tuple[str, str], ...]:
    """A CHOICE's alternatives: attribute and the standard's name (read on every access to a
    choice, so worked out once a class)."""
    return tuple((name, field.alias or name) for name, field in model.model_fields.items())


class ApduModel(AsnModel):
    """One of the 20 ILL-APDUs. A decoded APDU keeps the bytes it was decoded from.

    Code names the generated subclass, :class:`isoill.codec.models.IllApdu`, which declares
    the components every APDU begins with."""

    apdu_type: ClassVar[str]
    _ber: bytes | None = PrivateAttr(None)

    @property
    def ber(self) -> bytes | None:
        """The bytes this APDU was decoded from; ``None`` for one built in code."""
        return self._ber

    def __eq__(self, other: object) -> bool:
        """Equal values are equal APDUs, whichever bytes they came from."""
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = AsnModel.__hash__


class ExternalModel(AsnModel):
    """EXTERNAL. Its single-ASN1-type is decoded by the syntax its direct-reference names."""

    #: Dotted OID -> validator of that syntax's value; filled by :func:`isoill.codec.plan.bound`.
    syntaxes: ClassVar[dict[str, Callable[[object], object]]] = {}

    @model_validator(mode="before")
    @classmethod
    def _by_direct_reference(cls, data: object) -> object:
        """Plain data for a registered syntax (the JSON form) becomes that syntax's model."""
        if not isinstance(data, dict):
            return data
        oid = data.get("direct-reference", data.get("direct_reference"))
        encoding = data.get("encoding")
        validate = cls.syntaxes.get(oid) if isinstance(oid, str) else None
        if validate is None or not isinstance(encoding, dict):
            return data
        for key in ("single-ASN1-type", "single_asn1_type"):
            content = encoding.get(key)
            if isinstance(content, dict | list):
                return {**data, "encoding": {**encoding, key: validate(content)}}
        return data
