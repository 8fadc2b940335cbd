"""``isoill store copy``: an SQLite store moved into an empty PostgreSQL store, every table,
in one PostgreSQL transaction (all of it, or nothing).

What is copied follows the two schemas as their databases declare them, not a list kept here:
each SQLite table goes to the PostgreSQL table of its name, each column to the column of its
name, converted by the pair of types (:data:`CONVERSIONS`). A table or a column only SQLite
has, or a pair of types without a conversion, refuses the copy before anything is written,
naming it, so that a column added later to both schemas carries over and one added to one
of them alone is noticed rather than dropped. A column only PostgreSQL has is derived by the
PostgreSQL side (each address's delivery numbers, each transaction's version) or must have a
default. After the rows, the counts of each table (and of each state, in a table with a
``state``) are compared on both sides before the commit: a difference rolls it all back.

The caller keeps daemons off the SQLite store meanwhile (its ``.lock``, as ``isoill serve``
takes it); the SQLite side reads one snapshot, so the operators' commands beside it change
nothing of the copy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import cast

from isoill.store.columns import Column, Schema
from isoill.store.errors import CopyRefused
from isoill.store.postgres.load import PostgresLoad
from isoill.store.sqlite.export import SqliteExport
from isoill.store.sqlite.queries import moment

Conversion = Callable[[object], object]


def _same(value: object) -> object:
    return value


def _time(value: object) -> object:
    """SQLite's integer microseconds since the epoch as an aware UTC time."""
    return None if value is None else moment(cast(int, value))


def _json_array(value: object) -> object:
    """SQLite's JSON array of text (``NULL``: none) as a PostgreSQL array."""
    if value is None:
        return []
    items = json.loads(str(value))
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"not a JSON array of text: {value!r}")
    return items


#: How a value of SQLite's declared type (key's first) becomes one of PostgreSQL's type.
#: Text goes as text into PostgreSQL's own textual types, which check it (jsonb, xml).
CONVERSIONS: Mapping[tuple[str, str], Conversion] = {
    ("INTEGER", "bigint"): _same,
    ("INTEGER", "integer"): _same,
    ("INTEGER", "timestamp with time zone"): _time,
    ("TEXT", "text"): _same,
    ("TEXT", "jsonb"): _same,
    ("TEXT", "json"): _same,
    ("TEXT", "xml"): _same,
    ("TEXT", "text[]"): _json_array,
    ("BLOB", "bytea"): _same,
}


@dataclass(frozen=True)
class TableCopy:
    """What is copied of one table: the columns both sides have, each with its conversion,
    and the PostgreSQL columns left to their default."""

    table: str
    columns: tuple[str, ...]
    conversions: tuple[Conversion, ...]
    defaulted: tuple[str, ...] = ()

    def rows(self, source: Iterable[Sequence[object]]) -> Iterator[Sequence[object]]:
        """``source``'s rows converted; a value that stays as it is is not touched."""
        converted = [(i, f) for i, f in enumerate(self.conversions) if f is not _same]
        for row in source:
            if not converted:
                yield row
                continue
            values = list(row)
            for index, convert in converted:
                values[index] = convert(values[index])
            yield values


def plan(
    source: Schema,
    destination: Schema,
    *,
    references: Mapping[str, frozenset[str]],
    derived: Mapping[str, frozenset[str]],
    own_tables: frozenset[str],
) -> list[TableCopy]:
    """What to copy of each table, tables referred to before those that refer to them;
    :class:`CopyRefused` for anything that would not carry over, all of it in one message."""
    problems: list[str] = []
    for table in sorted(set(source) - set(destination)):
        problems.append(f"table {table} has no PostgreSQL table of that name")
    for table in sorted(set(destination) - set(source) - own_tables):
        problems.append(f"PostgreSQL's table {table} has no SQLite table to be copied from")
    copies = {}
    for table in sorted(set(source) & set(destination)):
        copy, found = _table(table, source[table], destination[table], derived.get(table))
        copies[table] = copy
        problems += found
    if problems:
        raise CopyRefused("the stores' tables do not match: " + "; ".join(problems))
    try:
        order = TopologicalSorter(
            {table: sorted(references.get(table, frozenset()) & set(copies)) for table in copies}
        ).static_order()
        return [copies[table] for table in order]
    except CycleError as error:
        raise CopyRefused(
            f"the PostgreSQL tables refer to each other in a circle: {error}"
        ) from None


def _table(
    table: str,
    source: Sequence[Column],
    destination: Sequence[Column],
    derived: frozenset[str] | None,
) -> tuple[TableCopy, list[str]]:
    """One table's copy, and what keeps it from carrying every value over."""
    theirs = {column.name: column for column in destination}
    problems = []
    names = []
    conversions = []
    for column in source:
        other = theirs.get(column.name)
        if other is None:
            problems.append(f"{table}.{column.name} has no PostgreSQL column of that name")
            continue
        conversion = CONVERSIONS.get((column.type, other.type))
        if conversion is None:
            problems.append(
                f"{table}.{column.name} is {column.type or 'untyped'} in SQLite and"
                f" {other.type} in PostgreSQL, which the copy has no conversion for"
            )
            continue
        names.append(column.name)
        conversions.append(conversion)
    ours = {column.name for column in source}
    defaulted = []
    for column in destination:
        if column.name in ours or column.name in (derived or ()):
            continue
        if column.required:
            problems.append(f"PostgreSQL's {table}.{column.name} needs a value SQLite lacks")
        defaulted.append(column.name)
    return TableCopy(table, tuple(names), tuple(conversions), tuple(defaulted)), problems


@dataclass(frozen=True)
class Copied:
    """One table as copied: its rows, and how many in each state (if it has a ``state``);
    ``derived``, a table only PostgreSQL has, filled from the others; ``defaulted``, the
    columns only PostgreSQL has that the copy left to their default."""

    table: str
    rows: int
    states: Mapping[str, int] = field(default_factory=dict)
    derived: bool = False
    defaulted: tuple[str, ...] = ()  # PostgreSQL's columns SQLite has not, left to default


def copy(source: Path, destination: str) -> list[Copied]:
    """Copy the SQLite store at ``source`` into the empty PostgreSQL store ``destination``
    names (its schema created if need be): what was copied, table by table, as counted on
    both sides before the commit (which a difference would have stopped).
    :class:`CopyRefused` for a store that is not empty or tables that do not match,
    :class:`~isoill.store.errors.StoreFault` for a driver's error; either way nothing is
    written into PostgreSQL."""
    export = SqliteExport(source)
    try:
        load = PostgresLoad(destination)
        try:
            copies = plan(
                export.schema(),
                load.schema(),
                references=load.references(),
                derived=load.derived,
                own_tables=load.own_tables,
            )
            with load.transaction():
                for table in copies:
                    load.load(
                        table.table,
                        table.columns,
                        table.rows(export.rows(table.table, table.columns)),
                    )
                load.finish()
                return _verify(copies, export, load) + [
                    Copied(table, load.count(table), derived=True)
                    for table in sorted(load.own_tables - {"schema_migrations"})
                ]
        finally:
            load.close()
    finally:
        export.close()


def _verify(copies: Sequence[TableCopy], export: SqliteExport, load: PostgresLoad) -> list[Copied]:
    """Each table counted on both sides (and by state, where it has one); :class:`CopyRefused`
    if any count differs."""
    copied = []
    for table in copies:
        rows = export.count(table.table)
        states = export.counts_by(table.table, "state") if "state" in table.columns else {}
        theirs = load.count(table.table)
        their_states = load.counts_by(table.table, "state") if states else {}
        if theirs != rows or their_states != states:
            raise CopyRefused(
                f"{table.table}: {rows} rows {states} in SQLite, but {theirs} {their_states}"
                " in PostgreSQL"
            )
        copied.append(Copied(table.table, rows, states, defaulted=table.defaulted))
    return copied
