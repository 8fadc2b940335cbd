"""An SQLite store read whole, table by table, for ``isoill store copy``: its tables and
columns as the file declares them, and each table's rows in id order, all from one snapshot.

The file is brought up to date first (the upgrades a daemon starting on it would make), then
read through a read-only connection in one read transaction, so operators' commands writing
beside it (``isoill queue release``) change nothing of what is read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from isoill.store.columns import Column, Schema
from isoill.store.sqlite.backend import SqliteBackend, fault

_CHUNK = 1000


class SqliteExport:
    """The SQLite store at ``path`` (which exists), read in one snapshot until :meth:`close`."""

    def __init__(self, path: Path) -> None:
        SqliteBackend(path).close()  # the schema as this isoill writes it
        try:
            self._db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
            self._db.isolation_level = None
            self._db.execute("BEGIN")
            self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot
        except sqlite3.Error as error:
            raise fault(error) from error

    def close(self) -> None:
        self._db.close()

    def schema(self) -> Schema:
        """Each table (but SQLite's own) with its columns in order: the declared type in
        capitals, and whether a value is required (``NOT NULL``)."""
        names = [
            name
            for (name,) in self._db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            )
        ]
        return {
            name: tuple(
                Column(column, declared.upper(), bool(not_null) or bool(key))
                for _, column, declared, not_null, _, key in self._db.execute(
                    f"PRAGMA table_info({_quoted(name)})"
                )
            )
            for name in names
        }

    def count(self, table: str) -> int:
        (count,) = self._db.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()
        return int(count)

    def counts_by(self, table: str, column: str) -> dict[str, int]:
        """How many rows of ``table`` have each value of ``column``."""
        rows = self._db.execute(
            f"SELECT {_quoted(column)}, count(*) FROM {_quoted(table)} GROUP BY 1"
        )
        return {str(value): int(count) for value, count in rows}

    def rows(self, table: str, columns: Sequence[str]) -> Iterator[tuple[object, ...]]:
        """The values of ``columns`` of each row of ``table``, in rowid order (each table's
        id, and so the order in which its rows were written)."""
        names = ", ".join(_quoted(column) for column in columns)
        cursor = self._db.execute(f"SELECT {names} FROM {_quoted(table)} ORDER BY rowid")
        while chunk := cursor.fetchmany(_CHUNK):
            yield from chunk


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
