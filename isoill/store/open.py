"""Opening the store a setting names (the configuration's ``store``, a command's ``--db``)."""

from __future__ import annotations

from pathlib import Path

from isoill.core.retry import RetryPolicy
from isoill.store.backend import BUSY_TIMEOUT_SECONDS, Backend
from isoill.store.errors import StoreError
from isoill.store.sqlite.backend import SqliteBackend

# PostgreSQL's URL schemes, also as a Path keeps them (it folds "//" into "/").
_POSTGRESQL = ("postgresql:/", "postgres:/")


def check_setting(setting: str | Path) -> None:
    """:class:`StoreError` unless ``setting`` names a store isoill can open: a PostgreSQL URL
    is refused (not supported yet) rather than taken for a file's name."""
    if str(setting).startswith(_POSTGRESQL):
        # Not the URL itself: it may hold a password.
        raise StoreError("a PostgreSQL store is not supported yet; name an SQLite file")


def open_store(
    setting: str | Path,
    policy: RetryPolicy | None = None,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
) -> Backend:
    """The store ``setting`` names: a path opens (or creates) an SQLite file; see
    :func:`check_setting` for what is refused."""
    check_setting(setting)
    return SqliteBackend(setting, policy, busy_timeout)
