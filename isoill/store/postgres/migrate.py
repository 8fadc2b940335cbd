"""The PostgreSQL store's schema: numbered SQL files (``migrations/0001_initial.sql``, ...),
each applied once, in order, in a transaction of its own, and recorded in
``schema_migrations``.

Every process opening the store brings the schema up to date before anything else. Each step
holds a transaction-level advisory lock, so processes starting together migrate once: the
others wait for the lock, then find the step recorded. A schema newer than the files this
isoill ships (written by a newer isoill) is refused, rather than written by code that does not
know it.
"""

from __future__ import annotations

import re
from importlib import resources

import psycopg
from psycopg.rows import TupleRow

from isoill.store.errors import StoreError
from isoill.store.postgres.locks import MIGRATIONS

_NAME = re.compile(r"(\d{4})_\w+\.sql")


def migrations() -> dict[int, str]:
    """The SQL of each migration shipped with this isoill, by number."""
    found: dict[int, str] = {}
    for entry in (resources.files(__package__) / "migrations").iterdir():
        match = _NAME.fullmatch(entry.name)
        if match is not None:
            found[int(match[1])] = entry.read_text(encoding="utf-8")
    if sorted(found) != list(range(1, len(found) + 1)):
        raise StoreError(f"the store's migrations are not numbered 1 to n: {sorted(found)}")
    return found


def migrate(db: psycopg.Connection[TupleRow]) -> int:
    """Apply the migrations the database lacks, one transaction each (``db`` in autocommit
    mode); the schema's version now. :class:`StoreError` if the database's is newer."""
    steps = migrations()
    latest = max(steps)
    while True:
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s, %s)", MIGRATIONS)
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)"
            )
            row = db.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            current: int = row[0] if row is not None else 0
            if current > latest:
                raise StoreError(f"queue schema {current} is newer than {latest}")
            if current == latest:
                return current
            db.execute(steps[current + 1].encode())  # bytes: a file's text, several statements
            db.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, now())",
                (current + 1,),
            )
