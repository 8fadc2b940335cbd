"""What a store setting names (the configuration's ``store``, a command's ``--db``), read
before anything is opened: the configuration checks it at load, without the backends.

A setting is an SQLite file's path or a PostgreSQL database's libpq URL
(``postgresql://user@host/database?...``). A URL stays text: it is never taken for a file's
name, made relative to anything, or given a directory. Its password never comes from the
setting, which sits in a configuration file others may read and in the commands' arguments
that every user's ``ps`` shows: libpq reads it from ``PGPASSWORD`` or a password file
(``~/.pgpass``, or the file ``PGPASSFILE`` names).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from isoill.store.errors import StoreError

_SCHEMES = ("postgresql", "postgres")

#: Where a PostgreSQL store's password goes, as a refusal says it.
PASSWORD_PLACES = (
    "give the password in PGPASSWORD or in a password file (~/.pgpass, or the file"
    " PGPASSFILE names)"
)


def is_url(setting: str | Path) -> bool:
    """Whether ``setting`` is a PostgreSQL URL (also one a ``Path`` has mangled, which
    :func:`check_setting` refuses)."""
    scheme, colon, _ = str(setting).partition(":")
    return bool(colon) and scheme.lower() in _SCHEMES


def store_setting(text: str | Path) -> str | Path:
    """The setting ``text`` names: a URL as it is, anything else a path. :class:`StoreError`
    for a URL :func:`check_setting` refuses."""
    if isinstance(text, str) and is_url(text):
        check_setting(text)
        return text
    return Path(text)


def check_setting(setting: str | Path) -> None:
    """:class:`StoreError` unless ``setting`` names a store isoill can open: a path, or a URL
    without a password (in its user part or as its ``password`` parameter). The message
    leaves the URL out, so as not to repeat a password."""
    if not is_url(setting):
        return
    if isinstance(setting, Path):  # "//" folded into "/": no longer the URL it was
        raise StoreError("a PostgreSQL URL was taken for a file's name; pass it as text")
    parts = urlsplit(setting)
    user_part, at, _ = parts.netloc.rpartition("@")
    in_user_part = bool(at) and ":" in user_part
    in_parameters = any(name == "password" for name, _ in parse_qsl(parts.query))
    if in_user_part or in_parameters:
        raise StoreError(f"the store's URL holds a password: {PASSWORD_PLACES}, not in the URL")
