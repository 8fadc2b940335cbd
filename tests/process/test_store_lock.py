"""The lock that keeps one daemon per SQLite store: exclusive while held, its holder's pid in
the file, the file created 0600, gone with its holder's descriptor."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from isoill.process.lock import StoreInUse, StoreLock, lock_path


def test_a_held_store_is_refused_naming_its_holder(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    old = os.umask(0)  # whatever the umask, the lock file is private
    try:
        held = StoreLock.take(store)
    finally:
        os.umask(old)
    path = lock_path(store)
    assert path == tmp_path / "store.sqlite3.lock"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == f"{os.getpid()}\n"
    with pytest.raises(StoreInUse, match=f"in use by another isoill serve \\(pid {os.getpid()};"):
        StoreLock.take(store)
    held.close()
    StoreLock.take(store).close()  # free again


def test_a_lock_file_left_behind_is_taken_and_its_old_pid_replaced(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    lock_path(store).write_text("123456789\n")
    held = StoreLock.take(store)
    try:
        assert lock_path(store).read_text() == f"{os.getpid()}\n"
    finally:
        held.close()


def test_a_holder_whose_pid_is_not_written_yet_is_refused_all_the_same(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    held = StoreLock.take(store)
    try:
        lock_path(store).write_text("")
        with pytest.raises(StoreInUse, match="its pid unknown"):
            StoreLock.take(store)
    finally:
        held.close()
