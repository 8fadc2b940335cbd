"""A readable tree of an APDU for people (``isoill decode --format text``), built from its
JSON form so that both show the same names and values."""

from __future__ import annotations

import json

from isoill.codec.jsonform import to_json
from isoill.codec.models import IllApdu


def render(apdu: IllApdu) -> str:
    lines: list[str] = []
    _walk(to_json(apdu), 0, lines)
    return "\n".join(lines) + "\n"


def _walk(value: object, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}")
                _walk(item, depth + 1, lines)
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}[{index}]")
                _walk(item, depth + 1, lines)
            else:
                lines.append(f"{pad}[{index}] {_scalar(item)}")


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value)
