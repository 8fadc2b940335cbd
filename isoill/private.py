"""Files only the daemon's user may read: the store (patrons' names and ids are in it), its
-wal and -shm files, capture files, the pid file and the credentials file.

Whatever the umask, such a file is created with mode 0600, and a directory the daemon creates
for one with mode 0700. At start the daemon refuses a store or credentials file that others
may read or write (:func:`exposed`), saying which ``chmod`` fixes it, rather than mend
permissions somebody may have set on purpose.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def make_directory(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700; one that exists is left as
    it is."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:  # made meanwhile by another process
            continue
        os.chmod(directory, DIRECTORY_MODE)  # the umask may have taken bits away


def touch(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (before SQLite opens it:
    SQLite gives its -wal and -shm files the database file's mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def open_new(path: Path, *, exclusive: bool = False) -> BinaryIO:
    """``path`` opened for writing with mode 0600 (truncated, or refused with
    :class:`FileExistsError` when ``exclusive`` and it exists)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def exposed(path: Path) -> str | None:
    """Why ``path`` is not private (others may read or write it), with the fix; ``None``
    when it is, or does not exist."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if not mode & 0o077:
        return None
    return (
        f"{path} is open to other users (mode {mode:04o}); it must be the daemon user's alone:"
        f" chmod 600 {path}"
    )
