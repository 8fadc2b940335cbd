"""Test harness for the daemon: a recording peer, a gateway on 127.0.0.1:0, a raw client.

Everything runs in the test's event loop on loopback; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from paths import CAPTURES

from isoill import logs
from isoill.app import App
from isoill.cli import main
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.framing import Framer
from isoill.codec.models import ILLRequest, SystemId
from isoill.codec.text import Text
from isoill.config import load as load_config
from isoill.core.acknowledgement import acknowledgement


@contextmanager
def json_logs(level: str = "info") -> Iterator[None]:
    """The daemon's JSON log lines on stderr, as ``isoill serve`` writes them. (Enter it in
    the test itself: stderr is captured anew for the test's call.)"""
    logs.configure("json", level)
    try:
        yield
    finally:
        structlog.reset_defaults()


def log_lines(capsys: pytest.CaptureFixture[str], event: str) -> list[dict[str, str]]:
    lines = (line for line in capsys.readouterr().err.splitlines() if line.startswith("{"))
    return [entry for entry in map(json.loads, lines) if entry["event"] == event]


class RecordingPeer:
    """An ILL peer that records every APDU it receives and acknowledges each one."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> RecordingPeer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._clients:
                writer.close()
            await self._server.wait_closed()

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        async with asyncio.timeout(timeout), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)
        return self.received

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        self._clients.add(writer)
        try:
            while data := await reader.read(65536):
                framer.feed(data)
                while (ber := framer.next_apdu()) is not None:
                    async with self.arrived:
                        self.received.append(ber)
                        self.arrived.notify_all()
                    writer.write(acknowledgement(ber, datetime.now(UTC)))
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._clients.discard(writer)
            writer.close()


class AnsweringTarget:
    """A target that answers the first APDU delivered to it with ``answer``, an APDU of its
    own, and keeps what the gateway writes back."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.delivered: list[bytes] = []
        self.replies: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> AnsweringTarget:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def address(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        try:
            while data := await reader.read(65536):
                framer.feed(data)
                while (ber := framer.next_apdu()) is not None:
                    if self.delivered and len(self.replies) < len(self.delivered):
                        self.replies.append(ber)
                        continue
                    self.delivered.append(ber)
                    writer.write(self.answer)
                    await writer.drain()
        finally:
            writer.close()


def write_config(
    directory: Path,
    routes: str,
    *,
    extra: str = "",
    default_target: str | None = None,
    attempts: int = 50,
    retry_every: float = 0.1,
) -> Path:
    """A gateway config on 127.0.0.1:0 with fast retries (``attempts`` at most,
    ``retry_every`` seconds apart), and its routes file; ``extra`` (TOML tables) at the end."""
    (directory / "routes.toml").write_text(routes)
    default = f'default_target = "{default_target}"\n' if default_target else ""
    path = directory / "isoill.toml"
    path.write_text(
        f"""store = "store.sqlite3"
routes = "routes.toml"

[[listeners]]
host = "127.0.0.1"
port = 0
{default}
[delivery]
max_attempts = {attempts}
window = 60
first_delay = {retry_every}
backoff_factor = 1
connect_timeout = 2
reply_timeout = 5

[log]
format = "json"
level = "info"
{extra}"""
    )
    return path


async def spawn_daemon(config_path: Path, umask: int = -1) -> asyncio.subprocess.Process:
    """``isoill serve`` as a separate process, its log lines (JSON) on a pipe; with its own
    ``umask`` if one is given."""
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("isoill")),
        "serve",
        "--config",
        str(config_path),
        stderr=asyncio.subprocess.PIPE,
        umask=umask,
    )


def run_cli(argv: list[str]) -> int:
    """``isoill ARGV`` in this process; its exit status."""
    try:
        main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


async def start_gateway(config_path: Path) -> App:
    server = App(load_config(config_path))
    await server.start()
    return server


def routes_for(peers: dict[str, list[str]]) -> str:
    return "".join(
        f'[peers."{symbol}"]\naddresses = {addresses!r}\n\n'.replace("'", '"')
        for symbol, addresses in peers.items()
    )


async def exchange(
    port: int, apdus: list[bytes], timeout: float = 10.0, source: str | None = None
) -> list[bytes]:
    """Send APDUs lock-step on one connection (from the loopback address ``source``, if
    given: 127.0.0.2, say); return the gateway's answer to each."""
    local = None if source is None else (source, 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
    answers = []
    framer = Framer()
    try:
        async with asyncio.timeout(timeout):
            for apdu in apdus:
                writer.write(apdu)
                await writer.drain()
                while (answer := framer.next_apdu()) is None:
                    data = await reader.read(65536)
                    assert data, "gateway closed the connection"
                    framer.feed(data)
                answers.append(answer)
    finally:
        writer.close()
    return answers


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def ill_request(number: int, requester: str, responder: str = "RESPLIB") -> bytes:
    """Capture 2 (a yaz-illclient ILL-Request) from ``requester``, with its own qualifier."""
    base = decode((CAPTURES / "yaz-illclient-2.ber").read_bytes())
    assert isinstance(base, ILLRequest)

    def symbol(name: str) -> SystemId:
        return SystemId.model_validate(
            {"person-or-institution-symbol": {"institution-symbol": name}}
        )

    tid = base.transaction_id.model_copy(
        update={"transaction_qualifier": Text.of(f"TX-{number:04d}")}
    )
    changed = {
        "transaction_id": tid,
        "requester_id": symbol(requester),
        "responder_id": symbol(responder),
    }
    return encode(base.model_copy(update=changed))
