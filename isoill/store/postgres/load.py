"""A PostgreSQL store filled whole, for ``isoill store copy``: its tables and columns as the
database declares them, each table's rows written with ``COPY`` in one transaction, and what
only this schema holds derived from them.

What PostgreSQL keeps and SQLite does not is computed here: each address's delivery numbers
(``deliveries.seq``: 1, 2, ... in the order of the rows, which is SQLite's id order and so
its delivery order), each address's tail (``address_queues``), and each transaction's
``version`` (the number of its messages: a version need only move forward from there). The
ids are kept, and the identity sequences set past them, so that what the gateway writes next
is numbered after what was copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import ClassVar

import psycopg
from psycopg import sql

from isoill.store.columns import Column, Schema
from isoill.store.errors import CopyRefused
from isoill.store.postgres import statements
from isoill.store.postgres.backend import connect
from isoill.store.postgres.faults import fault, translated
from isoill.store.postgres.migrate import migrate

#: A derivation: given the copied columns' names, the function from a row to its value.
_Derivation = Callable[[Sequence[str]], Callable[[Sequence[object]], object]]


def _numbered_per_address(columns: Sequence[str]) -> Callable[[Sequence[object]], object]:
    address = columns.index("address")
    tails: dict[object, int] = {}

    def seq(row: Sequence[object]) -> int:
        tails[row[address]] = number = tails.get(row[address], 0) + 1
        return number

    return seq


def _first_version(columns: Sequence[str]) -> Callable[[Sequence[object]], object]:
    return lambda row: 1  # then the number of the transaction's messages: see finish()


#: The columns this schema has and SQLite's has not, computed from the rows copied.
_DERIVATIONS: dict[str, dict[str, _Derivation]] = {
    "deliveries": {"seq": _numbered_per_address},
    "transactions": {"version": _first_version},
}

#: The tables no SQLite store has: the queues' tails (derived) and the migrations' record.
OWN_TABLES = frozenset({"address_queues", "schema_migrations"})

_SCHEMA = """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
        a.attnotnull AND NOT a.atthasdef AND a.attidentity = ''
    FROM pg_class AS c
    JOIN pg_attribute AS a ON a.attrelid = c.oid
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
        AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum"""
_REFERENCES = """SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
    FROM pg_constraint AS c
    WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"""
_IDENTITIES = """SELECT c.relname, a.attname
    FROM pg_class AS c
    JOIN pg_attribute AS a ON a.attrelid = c.oid
    WHERE c.relnamespace = current_schema()::regnamespace AND a.attidentity <> ''"""
_VERSIONS = """UPDATE transactions AS t SET version = m.count
    FROM (SELECT transaction_key, count(*) AS count FROM messages
          WHERE transaction_key IS NOT NULL GROUP BY transaction_key) AS m
    WHERE t.transaction_key = m.transaction_key AND m.count > 1"""
_TAILS = """INSERT INTO address_queues (address, tail)
    SELECT address, max(seq) FROM deliveries GROUP BY address"""


class PostgresLoad:
    """The PostgreSQL store ``url`` names, its schema brought up to date."""

    own_tables = OWN_TABLES
    derived: ClassVar[Mapping[str, frozenset[str]]] = {
        table: frozenset(columns) for table, columns in _DERIVATIONS.items()
    }

    @translated
    def __init__(self, url: str) -> None:
        self._db = connect(url)
        try:
            migrate(self._db)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    @translated
    def schema(self) -> Schema:
        tables: dict[str, list[Column]] = {}
        for table, name, type_, required in self._db.execute(_SCHEMA):
            tables.setdefault(table, []).append(Column(name, type_, required))
        return {table: tuple(columns) for table, columns in tables.items()}

    @translated
    def references(self) -> dict[str, frozenset[str]]:
        """The tables each table's foreign keys refer to."""
        found: dict[str, set[str]] = {}
        for table, referred in self._db.execute(_REFERENCES):
            found.setdefault(table, set()).add(referred)
        return {table: frozenset(referred) for table, referred in found.items()}

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction for the whole copy, committed on leaving: every table but the
        migrations' locked against writers (a daemon already running on the database waits,
        or is refused for now, until the commit), and :class:`CopyRefused` unless all of them
        are empty."""
        try:
            with self._db.transaction():
                tables = sorted(set(self.schema()) - {"schema_migrations"})
                self._db.execute(
                    sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                        sql.SQL(", ").join(map(sql.Identifier, tables))
                    )
                )
                filled = {table: n for table in tables if (n := self.count(table))}
                if filled:
                    rows = ", ".join(f"{table} {n}" for table, n in sorted(filled.items()))
                    raise CopyRefused(
                        f"the PostgreSQL store is not empty ({rows} rows): a copy goes into"
                        " a store nothing has written yet"
                    )
                yield
        except psycopg.Error as error:
            raise fault(error) from error

    @translated
    def load(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """``rows`` (values of ``columns``) into ``table``, with the columns derived here."""
        derived = _DERIVATIONS.get(table, {})
        functions = [derive(columns) for derive in derived.values()]
        names = [*columns, *derived]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
        )
        with self._db.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([*row, *(function(row) for function in functions)])

    @translated
    def finish(self) -> None:
        """What is derived from every table: the versions, the queues' tails, the identity
        sequences past the ids copied; and a wake-up for the daemons already listening (sent
        at the commit)."""
        self._db.execute(_VERSIONS)
        self._db.execute(_TAILS)
        for table, column in self._db.execute(_IDENTITIES).fetchall():
            self._db.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({table}, {column}), max({name}))"
                    " FROM {identifier} HAVING max({name}) IS NOT NULL"
                ).format(
                    table=sql.Literal(sql.Identifier(table).as_string(self._db)),
                    column=sql.Literal(column),
                    name=sql.Identifier(column),
                    identifier=sql.Identifier(table),
                )
            )
        self._db.execute(statements.NOTIFY, ("",))  # "": every address

    @translated
    def count(self, table: str) -> int:
        row = self._db.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        return 0 if row is None else int(row[0])

    @translated
    def counts_by(self, table: str, column: str) -> dict[str, int]:
        """How many rows of ``table`` have each value of ``column``."""
        rows = self._db.execute(
            sql.SQL("SELECT {column}, count(*) FROM {table} GROUP BY 1").format(
                column=sql.Identifier(column), table=sql.Identifier(table)
            )
        )
        return {str(value): int(count) for value, count in rows}
