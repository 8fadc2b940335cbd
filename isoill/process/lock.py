"""One daemon per store that one process writes (SQLite's): ``isoill serve`` holds an
exclusive ``flock`` on ``<store>.lock`` for its life, and a second one is refused, naming the
pid that holds it.

The kernel lets go of the lock when the holder's last descriptor of it closes, however the
process ends, so a daemon killed with SIGKILL is restarted at once. A supervisor's workers
inherit its lock. The operators' commands (``isoill queue``, ``isoill tx``) do not take it:
they are other connections to the store, which SQLite lets write beside the daemon.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from isoill import private
from isoill.process.errors import CannotStart


class StoreInUse(CannotStart):
    """Another daemon holds the store."""


class StoreLock:
    """The lock held on a store, with the holder's pid in the lock file."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd = fd
        self.path = path

    @classmethod
    def take(cls, store: Path) -> StoreLock:
        """The lock of ``store``, created 0600 beside it if need be; :class:`StoreInUse`
        while another process holds it."""
        path = lock_path(store)
        private.touch(path)
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            pid = f"pid {holder}" if holder.isdigit() else "its pid unknown"
            raise StoreInUse(
                f"{store} is in use by another isoill serve ({pid}; lock {path}): an SQLite"
                " store belongs to one daemon; stop that one first, or give this one a store"
                " of its own"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, path)

    def close(self) -> None:
        os.close(self._fd)


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")
