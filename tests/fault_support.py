"""Real store faults for the tests, nothing mocked: a full disk (SQLite's max_page_count on the
store's own connection, or a tiny filesystem), and a lock another process holds."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from isoill.store.backend import Backend
from isoill.store.sqlite.backend import SqliteBackend


def fill_disk(store: Backend) -> None:
    """The store's file may grow no more: what needs a new page fails as on a full disk.
    Runs on the store's thread (``GroupWriter.call``)."""
    assert isinstance(store, SqliteBackend)
    db = store._db  # max_page_count belongs to the connection that writes
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")


def free_disk(store: Backend) -> None:
    """Room again (see :func:`fill_disk`)."""
    assert isinstance(store, SqliteBackend)
    store._db.execute("PRAGMA max_page_count = 1073741823")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process's write lock on the store, held while the block runs."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


@contextlib.contextmanager
def tiny_filesystem(directory: Path, size: str = "1m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``directory``; skips the test unless it can be mounted
    (root, with the right to mount)."""
    if os.geteuid() != 0:
        pytest.skip("a tiny filesystem needs root to mount it")
    directory.mkdir(exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)]
    try:
        done = subprocess.run(mount, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("no mount command")
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "--lazy", str(directory)], check=True)


def fill_filesystem(directory: Path) -> Path:
    """A file that takes every byte left on ``directory``'s filesystem; delete it to free them."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    return filler
