"""What the console reads from a request: ids, limits, filters, a routes edit, from a form or
a JSON body alike; anything else is :class:`InputError`, answered 400 with its sentence."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from isoill.service.route_edits import MoveEdit, RouteEdit

MAX_FIELD = 2000
_SPLIT = re.compile(r"[\s,]+")


class InputError(Exception):
    """A request the console cannot take as it is; nothing changed."""


def text(values: Mapping[str, object], name: str, default: str = "") -> str:
    value = values.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InputError(f"{name}: expected text")
    if len(value) > MAX_FIELD:
        raise InputError(f"{name}: longer than {MAX_FIELD} characters")
    if any(ord(c) < 32 and c not in "\r\n\t" for c in value):
        raise InputError(f"{name}: control characters")
    return value.strip()


def optional(values: Mapping[str, object], name: str) -> str | None:
    return text(values, name) or None


def number(values: Mapping[str, object], name: str, default: int, high: int = 1000) -> int:
    raw = values.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise InputError(f"{name}: expected a whole number")
    if isinstance(raw, str) and not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise InputError(f"{name}: expected a whole number, not {raw[:40]!r}")
    value = int(raw)
    if not 1 <= value <= high:
        raise InputError(f"{name}: must be 1..{high}")
    return value


def identifier(raw: str, what: str) -> int:
    """An id from a path."""
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= 18) or int(raw) == 0:
        raise InputError(f"{what} {raw[:40]!r}: expected a number from 1")
    return int(raw)


def listed(values: Mapping[str, object], name: str) -> tuple[str, ...]:
    """A list: a JSON list of strings, or text split at commas and white space."""
    raw = values.get(name)
    if isinstance(raw, list):
        if not all(isinstance(item, str) for item in raw) or len(raw) > 100:
            raise InputError(f"{name}: expected a list of strings")
        return tuple(item.strip() for item in raw if item.strip())
    return tuple(part for part in _SPLIT.split(text(values, name)) if part)


def moment(values: Mapping[str, object], name: str) -> datetime:
    """An ISO 8601 date and time; one without an offset (a form's datetime-local) is UTC."""
    raw = text(values, name)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{name}: not an ISO 8601 date and time: {raw[:40]!r}") from None
    return parsed if parsed.utcoffset() is not None else parsed.replace(tzinfo=UTC)


def route_edit(values: Mapping[str, object]) -> RouteEdit:
    """A peer as it is to be: ``symbol``, ``addresses``, ``aliases``, and a move window
    (``move_to``, ``move_start``, ``move_cutover``) when ``move_to`` is given; or ``remove``."""
    symbol = text(values, "symbol")
    if not symbol:
        raise InputError("symbol: needed")
    if values.get("remove") in (True, "1", "on", "yes"):
        return RouteEdit(symbol, remove=True)
    move = None
    to = listed(values, "move_to")
    if to:
        move = MoveEdit(to, moment(values, "move_start"), moment(values, "move_cutover"))
    return RouteEdit(symbol, listed(values, "addresses"), listed(values, "aliases"), move)


def edit_fields(edit: RouteEdit) -> dict[str, str]:
    """The form fields that make ``edit`` again (for the apply form under a preview)."""
    fields = {
        "symbol": edit.symbol,
        "addresses": ", ".join(edit.addresses),
        "aliases": ", ".join(edit.aliases),
    }
    if edit.remove:
        fields["remove"] = "1"
    if edit.move is not None:
        fields["move_to"] = ", ".join(edit.move.to)
        fields["move_start"] = edit.move.start.isoformat()
        fields["move_cutover"] = edit.move.cutover.isoformat()
    return fields
