"""Faults of the SQLite store, real ones (tests/fault_support.py): a full disk, a lock another
process holds, a tiny filesystem filled up. A write the store cannot take fails its caller with
the fault a peer is told of, a failed group commit fails every write in it and stores none of
them, and the writer takes writes again as soon as the fault has passed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pytest_asyncio
from fault_support import fill_disk, fill_filesystem, free_disk, locked, tiny_filesystem
from store_values import OLD, T0

from isoill.store.errors import StoreFault
from isoill.store.group import GroupWriter
from isoill.store.records import Stored
from isoill.store.sqlite.backend import SqliteBackend
from isoill.store.writes import Accept, Delivered

pytestmark = pytest.mark.asyncio

BUSY_TIMEOUT = 0.2  # seconds


class Writer:
    """A GroupWriter on a store of its own, on a thread of its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.store = self.executor.submit(SqliteBackend, path, None, BUSY_TIMEOUT).result()
        self.group = GroupWriter(self.store, self.executor)

    def accepting(self, key: str, size: int = 100) -> Accept:
        """An ILL-Request of ``size`` bytes (one larger than a page needs new pages)."""
        return Accept(
            peer="BRW",
            apdu_type="ILL-Request",
            transaction_key=key,
            target_symbol="LND",
            ber=b"\x61" * size,
            addresses=[OLD],
            requester_symbol="BRW",
            responder_symbol="LND",
            now=T0,
            expected_version=None,
            dedup_key=f"{key}-request",
        )

    def stored(self) -> list[str]:
        """The transactions whose message another connection sees committed."""
        return [key for (key,) in self._query("SELECT transaction_key FROM messages ORDER BY id")]

    def integrity(self) -> str:
        ((verdict,),) = self._query("PRAGMA integrity_check")
        return str(verdict)

    def _query(self, sql: str) -> list[tuple[str]]:
        db = sqlite3.connect(self.path)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    async def close(self) -> None:
        await self.group.close()
        self.executor.submit(self.store.close).result()
        self.executor.shutdown()


def faults(results: Sequence[object]) -> set[tuple[str, bool]]:
    """What the peers would be told of each result, all of which must be SQLite's faults."""
    told = set()
    for result in results:
        assert isinstance(result, StoreFault), results
        assert isinstance(result.__cause__, sqlite3.OperationalError), result
        told.add((result.reason, result.temporary))
    return told


@pytest_asyncio.fixture
async def writer(tmp_path: Path) -> AsyncIterator[Writer]:
    writer = Writer(tmp_path / "queue.sqlite3")
    writer.group.start()
    yield writer
    await writer.close()


async def test_a_full_disk_fails_the_whole_group_until_it_has_room(writer: Writer) -> None:
    group = writer.group
    await group.write(writer.accepting("tx-0"))
    await group.call(fill_disk, writer.store)
    await group.write(writer.accepting("tx-1"))  # fits in the pages the file has
    # In one group: the second needs new pages, and SQLite undoes the whole transaction.
    writes = [writer.accepting("tx-2"), writer.accepting("tx-3", 20_000), writer.accepting("tx-4")]
    results = await asyncio.gather(*map(group.write, writes), return_exceptions=True)
    assert faults(results) == {("its disk is full", True)}
    assert writer.stored() == ["tx-0", "tx-1"]
    for key in ("tx-2", "tx-3", "tx-4"):  # the memory does not hold what was undone
        assert await group.transaction(key) is None
        assert await group.duplicate(key, f"{key}-request") is None

    await group.call(free_disk, writer.store)
    writes = [writer.accepting("tx-2"), writer.accepting("tx-3", 20_000), writer.accepting("tx-4")]
    stored = await asyncio.gather(*map(group.write, writes))
    assert writer.stored() == ["tx-0", "tx-1", "tx-2", "tx-3", "tx-4"]
    assert isinstance(stored[1], Stored)
    assert await group.duplicate("tx-3", "tx-3-request") == stored[1].message_id


async def test_a_lock_held_elsewhere_fails_the_group_after_the_busy_timeout(
    writer: Writer,
) -> None:
    group = writer.group
    await group.write(writer.accepting("tx-0"))
    with locked(writer.path):
        async with asyncio.timeout(10):  # bounded by the busy timeout, not by the lock
            results = await asyncio.gather(
                *(group.write(writer.accepting(f"tx-{n}")) for n in (1, 2)),
                return_exceptions=True,
            )
            # Reads need no lock: the store answers them all the while.
            assert (await group.transaction("tx-0")) is not None
        assert faults(results) == {("its store is locked by another process", True)}
    assert writer.stored() == ["tx-0"]
    await group.write(writer.accepting("tx-1"))
    assert writer.stored() == ["tx-0", "tx-1"]


async def test_a_full_filesystem_fails_every_write_until_it_has_room(tmp_path: Path) -> None:
    with tiny_filesystem(tmp_path / "tiny") as directory:
        writer = Writer(directory / "queue.sqlite3")
        writer.group.start()
        try:
            group, store = writer.group, writer.store
            first = await group.write(writer.accepting("tx-0"))
            assert isinstance(first, Stored)
            (due,) = await group.call(store.due, T0)
            filler = fill_filesystem(directory)
            # Nothing more fits in the log SQLite appends to before the file: not even the
            # forwarder's outcome of a delivery, which changes rows the file has already.
            results = await asyncio.gather(
                group.write(writer.accepting("tx-1")),
                group.write(Delivered(due.id, T0)),
                return_exceptions=True,
            )
            assert faults(results) == {("its disk is full", True)}
            assert writer.stored() == ["tx-0"]
            filler.unlink()
            await group.write(Delivered(due.id, T0))
            await group.write(writer.accepting("tx-1"))
            assert writer.stored() == ["tx-0", "tx-1"]
            assert [d.message_id for d in await group.call(store.due, T0)] == [first.message_id + 1]
            assert writer.integrity() == "ok"
        finally:
            await writer.close()
