"""Opening the store a setting names (the configuration's ``store``, a command's ``--db``), and
what the processes sharing it coordinate through."""

from __future__ import annotations

from pathlib import Path

from isoill.core.retry import RetryPolicy
from isoill.store.backend import BUSY_TIMEOUT_SECONDS, Backend
from isoill.store.coordination import Alone, Coordination
from isoill.store.setting import check_setting, is_url
from isoill.store.sqlite.backend import SqliteBackend


def open_store(
    setting: str | Path,
    policy: RetryPolicy | None = None,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
) -> Backend:
    """The store ``setting`` names: a path opens (or creates) an SQLite file, a PostgreSQL URL
    connects to that database (and brings its schema up to date); see :func:`check_setting`
    for what is refused."""
    check_setting(setting)
    if is_url(setting):
        # Imported for a URL alone: SQLite's users need not have psycopg.
        from isoill.store.postgres.backend import PostgresBackend  # noqa: PLC0415

        return PostgresBackend(str(setting), policy, busy_timeout)
    return SqliteBackend(setting, policy, busy_timeout)


def open_coordination(setting: str | Path) -> Coordination:
    """What the processes sharing the store ``setting`` names agree through: nothing for an
    SQLite file (one process writes it), advisory locks and notifications for PostgreSQL.
    Not started: call its ``start``."""
    check_setting(setting)
    if is_url(setting):
        from isoill.store.postgres.coordination import PostgresCoordination  # noqa: PLC0415

        return PostgresCoordination(str(setting))
    return Alone()
