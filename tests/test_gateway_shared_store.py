"""The gateway on a PostgreSQL store that other processes share, in this process: what it
does while it loses the store's coordination (the connections that hold its claims and take
its wake-ups) and once it has them back. Sessions are ended with ``pg_terminate_backend``,
and kept from coming back by the database refusing new connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from gateway_harness import exchange, routes_for, start_gateway, until, write_config
from postgres_support import PostgresServer
from test_gateway_e2e import acknowledged, request
from test_gateway_limits import http_get

from isoill.app import App
from isoill.codec.framing import Framer
from isoill.core.acknowledgement import acknowledgement
from isoill.store.postgres.coordination import APPLICATION

pytestmark = pytest.mark.asyncio


class SlowPeer:
    """A target that takes ``delay`` seconds to acknowledge each APDU: a run to it lasts."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> SlowPeer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def address(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._clients:
                writer.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        self._clients.add(writer)
        try:
            while data := await reader.read(65536):
                framer.feed(data)
                while (ber := framer.next_apdu()) is not None:
                    self.received.append(ber)
                    await asyncio.sleep(self.delay)
                    writer.write(acknowledgement(ber, datetime.now(UTC)))
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()


@pytest_asyncio.fixture
async def slow_peer() -> AsyncIterator[SlowPeer]:
    peer = await SlowPeer(0.2).start()
    yield peer
    await peer.stop()


def shared_config(directory: Path, store: str, routes: str, extra: str = "") -> Path:
    config = write_config(directory, routes, extra=extra)
    config.write_text(config.read_text().replace('"store.sqlite3"', f'"{store}"'))
    return config


async def test_delivery_stops_while_the_coordination_is_lost_and_resumes_once_back(
    tmp_path: Path, postgres: PostgresServer, postgres_database: str, slow_peer: SlowPeer
) -> None:
    """The coordination's sessions end (their claims with them) and cannot come back: the
    run under way stops, nothing more is sent, also what is stored meanwhile; once they are
    back, every APDU is delivered."""
    routes = routes_for({"RESPLIB": [slow_peer.address]})
    config = shared_config(tmp_path, postgres_database, routes)
    app = await start_gateway(config)
    try:
        (port,) = app.ports
        first = [request(n) for n in range(20)]
        answers = [await exchange(port, [apdu]) for apdu in first]
        assert all(acknowledged(answer) for (answer,) in answers)
        await until(lambda: len(slow_peer.received) >= 2)  # a run is under way
        postgres.allow_connections(postgres_database, False)
        try:
            assert postgres.end_sessions(postgres_database, APPLICATION) == 2
            await until(lambda: not app.healthy(), timeout=5)
            await asyncio.sleep(0.3)  # the forwarder looks every 0.1 s
            sent = len(slow_peer.received)
            assert sent < len(first)  # stopped before the end of the run
            # The store's own sessions stand: an APDU is stored and acknowledged, not sent.
            (later,) = await exchange(port, [request(99)])
            assert acknowledged(later)
            await asyncio.sleep(1.5)
            assert len(slow_peer.received) == sent
            assert not app.healthy()
        finally:
            postgres.allow_connections(postgres_database, True)
        await until(app.healthy, timeout=10)
        wanted = {*first, request(99)}
        await until(lambda: wanted <= set(slow_peer.received), timeout=20)
    finally:
        await app.stop()


async def test_coordination_lost_for_a_moment_pauses_delivery_and_it_goes_on_by_itself(
    tmp_path: Path, postgres: PostgresServer, postgres_database: str, slow_peer: SlowPeer
) -> None:
    """Sessions ended and connected again at once (a server restart, a failover): the
    forwarder sees the coordination unhealthy for a moment and goes on by itself."""
    routes = routes_for({"RESPLIB": [slow_peer.address]})
    config = shared_config(tmp_path, postgres_database, routes)
    app: App = await start_gateway(config)
    try:
        (port,) = app.ports
        assert postgres.end_sessions(postgres_database, APPLICATION) == 2
        await until(lambda: not app.healthy(), timeout=5)
        await until(app.healthy, timeout=10)
        answers = [await exchange(port, [request(n)]) for n in range(3)]
        assert all(acknowledged(answer) for (answer,) in answers)
        await until(lambda: len(slow_peer.received) >= 3, timeout=10)
    finally:
        await app.stop()


async def healthz(app: App) -> tuple[str, str]:
    port = app.admin_port
    assert port is not None
    return await http_get(port, "/healthz")


async def healthz_until(app: App, status: str, timeout: float = 15) -> str:
    """The body of ``/healthz`` once its status line is ``status``."""
    async with asyncio.timeout(timeout):
        while True:
            line, body = await healthz(app)
            if line == status:
                return body
            await asyncio.sleep(0.1)


async def test_healthz_says_while_the_store_is_lost_and_is_ok_once_it_is_back(
    tmp_path: Path, postgres: PostgresServer, postgres_database: str, slow_peer: SlowPeer
) -> None:
    """The store's own sessions end and cannot come back: /healthz is 503 and says the store
    cannot be read; then the coordination's too: it says that; once connections are let in
    again, 200."""
    routes = routes_for({"RESPLIB": [slow_peer.address]})
    extra = '[admin]\nhost = "127.0.0.1"\nport = 0\n'
    app = await start_gateway(shared_config(tmp_path, postgres_database, routes, extra))
    try:
        assert await healthz(app) == ("HTTP/1.0 200 OK", "ok\n")
        postgres.allow_connections(postgres_database, False)
        try:
            assert postgres.end_sessions(postgres_database, "isoill") == 2  # writer, reader
            body = await healthz_until(app, "HTTP/1.0 503 Service Unavailable")
            assert body == "unhealthy: the store cannot be read (its store is unreachable)\n"
            assert postgres.end_sessions(postgres_database, APPLICATION) == 2
            lost = "unhealthy: the store's coordination is lost (its connections for claims and"
            async with asyncio.timeout(10):
                while not (await healthz(app))[1].startswith(lost):
                    await asyncio.sleep(0.1)
        finally:
            postgres.allow_connections(postgres_database, True)
        assert await healthz_until(app, "HTTP/1.0 200 OK") == "ok\n"
        # It serves again: the writer's first call after its session ended may find the
        # connection gone (that APDU refused for now, as a peer is told); it connects again.
        answers = [await exchange(app.ports[0], [request(1)]) for _ in range(2)]
        assert acknowledged(answers[-1][0])
        await until(lambda: request(1) in slow_peer.received)
    finally:
        await app.stop()


async def test_a_run_under_way_is_not_polled_for_again_and_again(
    tmp_path: Path, postgres_database: str, slow_peer: SlowPeer
) -> None:
    """While a run works through its address's deliveries, they stay due in the store; the
    forwarder, whose poll cannot start anything there, waits for the run's end (or another
    word) rather than asking the store again every few milliseconds."""
    routes = routes_for({"RESPLIB": [slow_peer.address]})
    app = await start_gateway(shared_config(tmp_path, postgres_database, routes))
    try:
        (port,) = app.ports
        for number in range(15):  # 3 s of run at 0.2 s an APDU
            (answer,) = await exchange(port, [request(number)])
            assert acknowledged(answer)
        reader = app.forwarder.reader
        queries = 0
        query = reader.query

        async def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal queries
            queries += 1
            return await query(*args, **kwargs)

        reader.query = counted  # type: ignore[method-assign]
        await asyncio.sleep(1)
        assert len(slow_peer.received) < 15  # the run was under way all along
        assert queries <= 5  # polls woken by nothing, and the queue's counts (once a second)
        await until(lambda: len(slow_peer.received) >= 15, timeout=10)
    finally:
        await app.stop()
