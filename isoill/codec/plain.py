"""The pydantic schema of the codec's own value classes (GeneralString's text, NULL, the
ENUMERATED values): each validates with its ``from_value`` and has a JSON form of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_core import core_schema


def plain_schema(
    from_value: Callable[[Any], Any], to_json: Callable[[Any], Any]
) -> core_schema.CoreSchema:
    """A schema that validates with ``from_value`` and serializes to JSON with ``to_json``."""
    return core_schema.no_info_plain_validator_function(
        from_value,
        serialization=core_schema.plain_serializer_function_ser_schema(to_json, when_used="json"),
    )
