"""What a store setting names (the configuration's ``store``, a command's ``--db``), read
before anything is opened: the configuration checks it at load, without the backends."""

from __future__ import annotations

from pathlib import Path

from isoill.store.errors import StoreError

# PostgreSQL's URL schemes, also as a Path keeps them (it folds "//" into "/").
_POSTGRESQL = ("postgresql:/", "postgres:/")


def check_setting(setting: str | Path) -> None:
    """:class:`StoreError` unless ``setting`` names a store isoill can open: a PostgreSQL URL
    is refused (not supported yet) rather than taken for a file's name."""
    if str(setting).startswith(_POSTGRESQL):
        # Not the URL itself: it may hold a password.
        raise StoreError("a PostgreSQL store is not supported yet; name an SQLite file")
