"""A store's tables as its database declares them, for ``isoill store copy``: each table's
columns, named and typed in the database's own words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True)
class Column:
    """One column: its name, its type as its database names it (SQLite's declared type in
    capitals, PostgreSQL's ``format_type``: ``timestamp with time zone``, ``text[]``), and
    whether a row must give it a value (not null, and no default to fall back on)."""

    name: str
    type: str
    required: bool


#: Each table's columns, in order.
Schema: TypeAlias = Mapping[str, tuple[Column, ...]]
