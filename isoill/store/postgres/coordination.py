"""What the processes sharing a PostgreSQL store coordinate through it: one sender per address
(a session advisory lock) and wake-ups (``LISTEN isoill_due``), each on an asyncio connection
of its own, on the event loop.

- :meth:`PostgresCoordination.claim` takes ``pg_try_advisory_lock(ADDRESSES,
  hashtext(address))`` on the lock connection. The server holds it for the session: it ends
  with the process however the process ends (the connection closes), never twice at once.
  Two addresses whose hashes collide merely share a sender.
- Wake-ups come on the listening connection: psycopg's ``notifies()`` keeps its connection
  for itself while it waits, so that connection does nothing else. Each notification names
  the addresses a batch queued to (an empty one: every address); after the listening
  connection connects again, ``wake(frozenset())`` says that some may have been missed.
- A routes reload is announced on ``isoill_routes`` (a JSON payload: the routes file's
  sha256, the host and pid that reloaded), heard on the listening connection too.
- A heartbeat checks both connections every second (a ``SELECT 1`` each, with a one-second
  limit) and connects again one that was lost. :meth:`~PostgresCoordination.healthy` reads
  the time of the last checks, at no cost. A lock connection lost has lost its claims with
  it: they are forgotten, and must be claimed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Awaitable, Callable

import psycopg
from psycopg.rows import TupleRow

from isoill.store.coordination import RoutesFollower, RoutesReloaded, Wake
from isoill.store.errors import StoreFault
from isoill.store.postgres.faults import fault
from isoill.store.postgres.locks import ADDRESSES
from isoill.store.postgres.statements import CHANNEL
from isoill.store.setting import check_setting

#: The coordination's connections' name in ``pg_stat_activity`` (unless the URL names one).
APPLICATION = "isoill-coordination"
#: Where routes reloads are announced (the deliveries' wake-ups go on ``CHANNEL``).
ROUTES_CHANNEL = "isoill_routes"
#: Seconds between checks of the connections; a check waits as long for its answer.
HEARTBEAT = 1.0
#: Checks that may fail or be late before the coordination is unhealthy.
_TOLERATED = 2

_Connection = psycopg.AsyncConnection[TupleRow]


def addresses(payload: str) -> frozenset[str]:
    """The addresses a wake-up names (one a line); none: look at every address."""
    return frozenset(payload.split("\n")) if payload else frozenset()


def routes_reloaded(payload: str) -> RoutesReloaded:
    """What a routes announcement says; one that cannot be read still says that some process
    reloaded (whose file this process may compare its own with)."""
    try:
        said = json.loads(payload)
        return RoutesReloaded(str(said["sha256"]), str(said["by"]))
    except (ValueError, KeyError, TypeError):
        return RoutesReloaded("", "unknown")


class PostgresCoordination:
    """Claims and wake-ups for the processes sharing the database ``url`` names."""

    shared = True

    def __init__(self, url: str, heartbeat: float = HEARTBEAT) -> None:
        check_setting(url)
        self._url = url
        self._heartbeat = heartbeat
        self._locks: _Connection | None = None
        self._listener: _Connection | None = None
        self._claimed: set[str] = set()
        self._wake: Wake = lambda addresses: None
        self._routes: RoutesFollower = lambda reloaded: None
        self._locks_checked = self._listener_checked = float("-inf")
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, wake: Wake) -> None:
        """Connect both connections (:class:`StoreFault` if they cannot), listen, and begin
        the heartbeat."""
        self._wake = wake
        try:
            self._locks = await self._connect()
            self._listener = await self._listening()
        except psycopg.Error as error:
            await self.close()
            raise fault(error) from error
        loop = asyncio.get_running_loop()
        self._locks_checked = self._listener_checked = loop.time()
        self._tasks = [
            asyncio.create_task(self._keep(self._check_locks)),
            asyncio.create_task(self._keep(self._listen)),
        ]

    async def claim(self, address: str) -> bool:
        locks = self._lock_connection()
        if locks is None:
            return False
        if address in self._claimed:
            return True
        try:
            row = await (
                await locks.execute(
                    "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (ADDRESSES, address)
                )
            ).fetchone()
        except psycopg.Error:
            return False  # the heartbeat connects again
        claimed = row is not None and bool(row[0])
        if claimed:
            self._claimed.add(address)
        return claimed

    async def release(self, address: str) -> None:
        if address not in self._claimed:
            return
        self._claimed.discard(address)
        locks = self._lock_connection()
        if locks is None:
            return  # the session ended, and its locks with it
        with contextlib.suppress(psycopg.Error):
            await locks.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (ADDRESSES, address))

    def follow_routes(self, follower: RoutesFollower) -> None:
        self._routes = follower

    async def announce_routes(self, sha256: str) -> None:
        """``NOTIFY isoill_routes`` on the lock connection, which runs in autocommit: sent
        at once, to every listening session (this process's own too)."""
        locks = self._lock_connection()
        if locks is None:
            raise StoreFault("its store is unreachable", temporary=True)
        payload = json.dumps({"sha256": sha256, "by": f"{socket.gethostname()}:{os.getpid()}"})
        try:
            await locks.execute("SELECT pg_notify(%s, %s)", (ROUTES_CHANNEL, payload))
        except psycopg.Error as error:
            raise fault(error) from error

    def healthy(self) -> bool:
        """Both connections up, and each answered a check lately."""
        up = all(
            connection is not None and not connection.closed and not connection.broken
            for connection in (self._locks, self._listener)
        )
        late = asyncio.get_running_loop().time() - self._heartbeat * (_TOLERATED + 1)
        return up and self._locks_checked > late and self._listener_checked > late

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for connection in (self._locks, self._listener):
            if connection is not None:
                await connection.close()
        self._locks = self._listener = None
        self._claimed.clear()

    # -- the connections ------------------------------------------------------------------

    async def _connect(self) -> _Connection:
        async with asyncio.timeout(self._heartbeat * 5):
            return await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, fallback_application_name=APPLICATION
            )

    async def _listening(self) -> _Connection:
        listener = await self._connect()
        try:
            for channel in (CHANNEL, ROUTES_CHANNEL):
                await listener.execute(f"LISTEN {channel}")
        except BaseException:
            await listener.close()
            raise
        return listener

    async def _keep(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` again and again; a connection that failed is dropped by it, and
        connected again a heartbeat later."""
        while True:
            try:
                await step()
            except (psycopg.Error, TimeoutError, OSError):
                await asyncio.sleep(self._heartbeat)

    def _lock_connection(self) -> _Connection | None:
        """The lock connection, if it is up; if not, the claims are gone with its session."""
        locks = self._locks
        if locks is None or locks.closed or locks.broken:
            self._claimed.clear()
            return None
        return locks

    async def _check_locks(self) -> None:
        locks = self._lock_connection()
        if locks is None:
            await self._drop(self._locks)
            self._locks = None
            self._locks = await self._connect()
            self._locks_checked = asyncio.get_running_loop().time()
            self._wake(frozenset())  # whatever this process gave up may be its to send again
            return
        await self._ping(locks)
        self._locks_checked = asyncio.get_running_loop().time()
        await asyncio.sleep(self._heartbeat)

    async def _listen(self) -> None:
        listener = self._listener
        if listener is None or listener.closed or listener.broken:
            await self._drop(listener)
            self._listener = listener = await self._listening()
            self._wake(frozenset())  # what was notified meanwhile is lost
        try:
            async for notification in listener.notifies(timeout=self._heartbeat):
                if notification.channel == ROUTES_CHANNEL:
                    self._routes(routes_reloaded(notification.payload))
                else:
                    self._wake(addresses(notification.payload))
            await self._ping(listener)
        except (psycopg.Error, TimeoutError):
            await self._drop(listener)
            self._listener = None
            raise
        self._listener_checked = asyncio.get_running_loop().time()

    async def _ping(self, connection: _Connection) -> None:
        try:
            async with asyncio.timeout(self._heartbeat):
                await connection.execute("SELECT 1")
        except (psycopg.Error, TimeoutError):
            await self._drop(connection)
            raise

    @staticmethod
    async def _drop(connection: _Connection | None) -> None:
        if connection is not None and not connection.closed:
            with contextlib.suppress(psycopg.Error):
                await connection.close()
