"""What processes sharing a PostgreSQL store coordinate through it
(:class:`~isoill.store.postgres.coordination.PostgresCoordination`): a claim on an address is
one process's at a time and ends with the connection that holds it; a batch that queues
deliveries, and an operator's release, refusal with a report or resend, wakes the others,
naming the addresses; a connection lost is connected again, with a wake-up for every address,
and the coordination is unhealthy meanwhile."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from postgres_support import PostgresServer
from store_support import accepting, hold, notice, stored
from store_values import NEW, OLD, T0

from isoill.store.coordination import Alone
from isoill.store.errors import StoreFault
from isoill.store.open import open_coordination
from isoill.store.postgres.backend import PostgresBackend
from isoill.store.postgres.coordination import PostgresCoordination
from isoill.store.records import Stored
from isoill.store.writes import Delivered, Fail, Refuse, Release, Resend, Write, WriteResult

pytestmark = pytest.mark.asyncio

#: A quick heartbeat, so that losses are seen (and mended) within a test's patience.
BEAT = 0.1


class Woken:
    """The wake-ups a coordination gave, in order, awaitable one by one."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[frozenset[str]] = asyncio.Queue()

    def __call__(self, addresses: frozenset[str]) -> None:
        self.queue.put_nowait(addresses)

    async def next(self) -> frozenset[str]:
        async with asyncio.timeout(10):
            return await self.queue.get()


@pytest_asyncio.fixture
async def coordinations(postgres_database: str) -> AsyncIterator[list[PostgresCoordination]]:
    """Two processes' coordinations (not started)."""
    started = [PostgresCoordination(postgres_database, BEAT) for _ in range(2)]
    yield started
    for coordination in started:
        await coordination.close()


async def committed(url: str, write: Write[WriteResult]) -> WriteResult:
    """``write`` committed by another connection (another process), off the loop."""

    def commit() -> WriteResult:
        backend = PostgresBackend(url)
        try:
            return backend.commit(write)
        finally:
            backend.close()

    return await asyncio.get_running_loop().run_in_executor(None, commit)


async def eventually(condition: Callable[[], object], seconds: float = 10) -> None:
    """Wait until ``condition()`` (or what it returns, awaited) is true, a few seconds at
    most."""
    async with asyncio.timeout(seconds):
        while True:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(BEAT / 2)


async def terminate(url: str, backend_pid: int) -> None:
    """Kill the server's process of one session, as when its client's host is lost."""

    def kill() -> None:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))

    await asyncio.get_running_loop().run_in_executor(None, kill)


def lock_pid(coordination: PostgresCoordination) -> int | None:
    """The server's process of the lock connection (``None``: not connected)."""
    locks = coordination._locks
    return None if locks is None else locks.info.backend_pid


def listener_pid(coordination: PostgresCoordination) -> int:
    assert coordination._listener is not None
    return coordination._listener.info.backend_pid


async def test_open_coordination_by_setting(tmp_path: Path, postgres_database: str) -> None:
    assert isinstance(open_coordination(tmp_path / "queue.sqlite3"), Alone)
    coordination = open_coordination(postgres_database)
    assert isinstance(coordination, PostgresCoordination)
    assert not coordination.healthy()  # not started


async def test_a_claim_is_one_processs_and_ends_with_its_connection(
    coordinations: list[PostgresCoordination], postgres_database: str
) -> None:
    one, other = coordinations
    for coordination in coordinations:
        await coordination.start(Woken())
    assert await one.claim(OLD)
    assert await one.claim(OLD)  # claimed already: still its own
    assert not await other.claim(OLD)
    assert await other.claim(NEW)  # each address its own
    await one.release(OLD)
    assert await other.claim(OLD)
    assert not await one.claim(OLD)
    lost = lock_pid(other)
    assert lost is not None
    await terminate(postgres_database, lost)  # the holder's connection dies
    await eventually(lambda: one.claim(OLD))  # free at once: the server let go of it
    await eventually(lambda: other.healthy() and lock_pid(other) != lost)  # connected again
    assert not await other.claim(OLD)
    assert await other.claim(NEW)


async def test_a_batch_that_queues_wakes_the_other_processes(
    coordinations: list[PostgresCoordination], postgres_database: str
) -> None:
    woken = Woken()
    await coordinations[0].start(woken)
    url = postgres_database
    first = await committed(url, accepting("tx-1", [OLD, NEW]))
    assert isinstance(first, Stored)
    assert await woken.next() == {OLD, NEW}
    old, new = (queued.delivery for queued in first.deliveries)
    await committed(url, Delivered(old.id, T0))  # outcomes queue nothing: no wake-up
    await committed(url, Fail(new.id, "refused", T0))
    await committed(url, Resend(first.message_id, T0))  # the failed one
    assert await woken.next() == {NEW}  # what became due, and nothing before it

    def held_two() -> tuple[int, int]:
        backend = PostgresBackend(url)
        try:
            return hold(backend, "tx-7"), hold(backend, "tx-8")
        finally:
            backend.close()

    released, refused = await asyncio.get_running_loop().run_in_executor(None, held_two)
    await committed(url, Release(released, [NEW], T0))
    assert await woken.next() == {NEW}
    await committed(url, Refuse(refused, "no", T0, notice([OLD])))
    assert await woken.next() == {OLD}


async def test_a_lost_listening_connection_wakes_for_everything(
    coordinations: list[PostgresCoordination], postgres_database: str
) -> None:
    woken, coordination = Woken(), coordinations[0]
    await coordination.start(woken)
    assert coordination.healthy()
    await terminate(postgres_database, listener_pid(coordination))
    assert await woken.next() == frozenset()  # connected again: wake-ups may have been missed
    await eventually(coordination.healthy)
    await committed(postgres_database, accepting("tx-1", [NEW]))
    assert await woken.next() == {NEW}  # listening again


async def test_a_coordination_goes_on_after_the_server_restarts(
    postgres: PostgresServer, coordinations: list[PostgresCoordination], postgres_database: str
) -> None:
    cluster = postgres.cluster
    if cluster is None:
        pytest.skip("ISOILL_TEST_POSTGRES names a server these tests do not restart")
    woken, coordination = Woken(), coordinations[0]
    await coordination.start(woken)
    assert await coordination.claim(OLD)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, cluster.stop)
    try:
        await eventually(lambda: not coordination.healthy())
        assert not await coordination.claim(NEW)
    finally:
        await loop.run_in_executor(None, cluster.start)
    await eventually(coordination.healthy)
    assert frozenset() in [await woken.next(), await woken.next()]
    assert await coordination.claim(OLD)  # claimed anew, by a new session
    await committed(postgres_database, accepting("tx-1", [OLD]))
    while (addresses := await woken.next()) == frozenset():
        pass
    assert addresses == {OLD}


async def test_a_coordination_that_cannot_connect_does_not_start(tmp_path: Path) -> None:
    coordination = PostgresCoordination(f"postgresql://isoill@/isoill?host={tmp_path}", BEAT)
    with pytest.raises(StoreFault) as info:
        await coordination.start(Woken())
    assert info.value.reason == "its store is unreachable"
    assert not coordination.healthy()


async def test_a_wake_up_names_the_addresses_of_its_batch(postgres_database: str) -> None:
    """One per batch, however many of its writes queue to however many addresses."""
    woken = Woken()
    coordination = PostgresCoordination(postgres_database, BEAT)
    await coordination.start(woken)
    try:

        def group() -> None:
            backend = PostgresBackend(postgres_database)
            try:
                backend.commit_all([accepting("tx-1", [NEW, OLD]), accepting("tx-2", [OLD])])
                stored(backend, accepting("tx-3", ["c:1"]))
            finally:
                backend.close()

        await asyncio.get_running_loop().run_in_executor(None, group)
        assert [await woken.next(), await woken.next()] == [{NEW, OLD}, {"c:1"}]
    finally:
        await coordination.close()
