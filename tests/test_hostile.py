"""The daemon under attack: one ``isoill serve`` process, attacked from 127.0.0.1 while a
well-behaved peer on 127.0.0.2 keeps getting its requests acknowledged.

Each test checks that the daemon survives, serves the well-behaved peer during the attack and
after it, and that its resident memory (``VmRSS``, sampled throughout) grows by less than
``MEMORY_BOUND``: far less than each attack sends, so nothing it sends is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from apdu_examples import full_apdu
from paths import CAPTURES

from isoill.codec import plan
from isoill.codec.ber import encode_header
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.framing import Framer
from isoill.codec.models import ILLRequest, StatusOrErrorReport
from isoill.codec.text import Text

pytestmark = pytest.mark.asyncio
T = TypeVar("T")

ATTACKER = "127.0.0.1"
PEER = "127.0.0.2"  # the well-behaved peer: another address, as a real peer would have
IDLE_TIMEOUT = 10.0
APDU_TIMEOUT = 1.0
MAX_CONNECTIONS, PER_ADDRESS, RESERVED = 512, 64, 64  # the defaults
MEMORY_BOUND = 16 << 20
"""Growth of the daemon's resident memory allowed during one attack. Each attack sends more
than this (or could make the daemon hold more, were a limit missing): 64 MiB behind 1 GiB
length headers, APDUs that would decode to 40 MiB each, more than the sockets can hold flooded
without reading, 2,000 connections."""
CONNECTIONS = 2000
STEP = 5.0  # bound on each exchange of a test; none takes that long unless something is wrong

CAPTURE = (CAPTURES / "yaz-illclient-2.ber").read_bytes()
CORPUS = [
    *(path.read_bytes() for path in sorted(CAPTURES.glob("*.ber"))),
    *(encode(full_apdu(name)) for name in plan.APDUS),
]
_numbers = itertools.count(1)


def request(qualifier: str) -> bytes:
    """Capture 2 (a yaz-illclient ILL-Request to RESPLIB) with its own transaction-qualifier."""
    base = decode(CAPTURE)
    assert isinstance(base, ILLRequest)
    tid = base.transaction_id.model_copy(update={"transaction_qualifier": Text.of(qualifier)})
    return encode(base.model_copy(update={"transaction_id": tid}))


def nested(depth: int, indefinite: bool) -> bytes:
    """An ILL-Request whose SEQUENCE holds ``depth`` nested [0] elements."""
    core = b"\x04\x00"
    if indefinite:
        return b"\x61\x80\x30\x80" + b"\xa0\x80" * depth + core + b"\x00\x00" * (depth + 2)
    heads, size = [], len(core)
    for _ in range(depth):
        heads.append(encode_header(0 << 2 | 2, True, size))
        size += len(heads[-1])
    inner = b"".join(reversed(heads)) + core
    inner = encode_header(16 << 2, True, len(inner)) + inner
    return encode_header(1 << 2 | 1, True, len(inner)) + inner


# --- the daemon -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Daemon:
    """``isoill serve`` as a process of its own; its JSON log lines are kept in ``events``."""

    def __init__(self, directory: Path) -> None:
        (directory / "routes.toml").write_text('[peers.RESPLIB]\naddresses = ["127.0.0.1:9"]\n')
        self.admin_port = free_port()
        config = directory / "isoill.toml"
        config.write_text(
            f"""store = "store.sqlite3"
routes = "routes.toml"

[[listeners]]
host = "127.0.0.1"
port = 0

[admin]
host = "127.0.0.1"
port = {self.admin_port}

[limits]
idle_timeout = {IDLE_TIMEOUT}
apdu_timeout = {APDU_TIMEOUT}

[default_peer]
connection = "persistent"

[log]
format = "json"
level = "info"
"""
        )
        command = [str(Path(sys.executable).with_name("isoill")), "serve", "--config", str(config)]
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE)
        assert self.process.stderr is not None
        self.events: list[dict[str, Any]] = []
        first = json.loads(self.process.stderr.readline())
        assert first["event"] == "listening", first
        self.port = int(first["address"].rsplit(":", 1)[1])
        # Read the log as it comes: a full pipe would stop the daemon.
        self._log_reader = threading.Thread(target=self._read_log, daemon=True)
        self._log_reader.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.events.append(json.loads(line))

    def rss(self) -> int:
        """Resident memory in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(kilobytes.split()[1]) * 1024

    async def metrics(self) -> dict[str, float]:
        """The admin endpoint's samples, by name with labels."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.admin_port)
        writer.write(b"GET /metrics HTTP/1.0\r\n\r\n")
        async with asyncio.timeout(STEP):
            response = (await reader.read()).decode()
        writer.close()
        body = response.partition("\r\n\r\n")[2]
        return {
            name: float(value)
            for name, _, value in (line.rpartition(" ") for line in body.splitlines())
            if name and not name.startswith("#")
        }

    async def connections(self) -> float:
        return (await self.metrics())["isoill_connections"]

    async def rejections(self, reason: str) -> float:
        return (await self.metrics()).get(f'isoill_rejections_total{{reason="{reason}"}}', 0.0)

    async def rejected(self, reason: str, count: float) -> None:
        """Once ``count`` connections or APDUs in all have been refused for ``reason``."""
        async with asyncio.timeout(STEP * 2):
            while await self.rejections(reason) < count:
                await asyncio.sleep(0.1)

    async def settled(self) -> None:
        """Once the daemon holds no connection."""
        async with asyncio.timeout(IDLE_TIMEOUT * 2):
            while await self.connections():
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self._log_reader.join(timeout=30)
        assert self.process.stderr is not None
        self.process.stderr.close()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    _enough_descriptors(CONNECTIONS + 200)
    running = Daemon(tmp_path_factory.mktemp("hostile"))
    try:
        asyncio.run(_warm_up(running))
        yield running
    finally:
        running.stop()


def _enough_descriptors(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(
            f"{CONNECTIONS} connections need {needed} file descriptors; the limit is {hard}"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def _warm_up(daemon: Daemon) -> None:
    """What the tests do, once, so that first-time allocations are not counted."""
    for _ in range(20):
        await served(daemon)
    for refused in (bytes.fromhex("618440000000"), bytes.fromhex("7f7f00")):
        reader, writer = await attacker(port=daemon.port)
        writer.write(refused)
        await read_apdu(reader)
        writer.close()


async def served(daemon: Daemon) -> None:
    """The well-behaved peer sends a new ILL-Request; it must be acknowledged."""
    reader, writer = await asyncio.open_connection("127.0.0.1", daemon.port, local_addr=(PEER, 0))
    try:
        writer.write(request(f"GOOD-{next(_numbers)}"))
        answer = await read_apdu(reader)
    finally:
        writer.close()
    report = decode(answer)
    assert isinstance(report, StatusOrErrorReport)
    assert report.error_report is None, report.note


async def read_apdu(reader: asyncio.StreamReader) -> bytes:
    framer = Framer()
    async with asyncio.timeout(STEP * 2):
        while (ber := framer.next_apdu()) is None:
            data = await reader.read(65536)
            assert data, "closed before an answer"
            framer.feed(data)
    return ber


async def ended(reader: asyncio.StreamReader, timeout: float = STEP) -> bytes:
    """What the daemon sends until it closes the connection (or resets it)."""
    received = bytearray()
    async with asyncio.timeout(timeout):
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                received += data
    return bytes(received)


@asynccontextmanager
async def watched(daemon: Daemon) -> AsyncIterator[None]:
    """Around an attack: the well-behaved peer is served while it runs and after it; the
    daemon's memory, sampled every 20 ms, grows by less than MEMORY_BOUND."""
    before = daemon.rss()
    peak = before

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, daemon.rss())
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        yield
        await served(daemon)
        await daemon.settled()
        peak = max(peak, daemon.rss())
    finally:
        sampler.cancel()
    assert daemon.process.poll() is None, "the daemon died"
    assert peak - before < MEMORY_BOUND, f"grew by {(peak - before) >> 20} MiB"


async def during(attack: Awaitable[T], daemon: Daemon) -> T:
    """``attack``'s result, the well-behaved peer served while it went on."""
    result, _ = await asyncio.gather(attack, served(daemon))
    return result


async def attacker(**options: Any) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(ATTACKER, **options)


# --- the attacks ------------------------------------------------------------------------------


async def test_random_bytes(daemon: Daemon) -> None:
    rng = random.Random(1)
    prefixes = (b"", b"\x61", b"\x61\x80\x30\x80", b"\x7f\x7f\x00")
    streams = [rng.choice(prefixes) + rng.randbytes(rng.randrange(1, 1 << 18)) for _ in range(240)]
    gate = asyncio.Semaphore(10)

    async def send(data: bytes) -> None:
        async with gate:
            reader, writer = await attacker(port=daemon.port)
            writer.write(data)
            with contextlib.suppress(ConnectionError, TimeoutError):
                await ended(reader, APDU_TIMEOUT * 2)
            writer.close()

    async with watched(daemon):
        await during(asyncio.gather(*(send(data) for data in streams)), daemon)


async def test_truncated_apdus_are_closed(daemon: Daemon) -> None:
    rng = random.Random(2)

    async def truncated(apdu: bytes, silent: bool) -> None:
        reader, writer = await attacker(port=daemon.port)
        writer.write(apdu[: rng.randrange(1, len(apdu))])
        if not silent:
            writer.write_eof()
        assert await ended(reader) == b""  # closed by the daemon, with nothing to say
        writer.close()

    async with watched(daemon):
        cases = [truncated(apdu, silent) for apdu in CORPUS for silent in (False, True)]
        await during(asyncio.gather(*cases), daemon)


GIB_HEADERS = (
    bytes.fromhex("618440000000"),  # the APDU announces 1 GiB
    bytes.fromhex("6180308440000000"),  # its SEQUENCE does, inside an indefinite length
    bytes.fromhex("61880000000040000000"),  # in eight length octets
)


@pytest.mark.parametrize("header", GIB_HEADERS, ids=["apdu", "sequence", "eight-octets"])
async def test_one_gib_length_header_is_refused_at_once(daemon: Daemon, header: bytes) -> None:
    async with watched(daemon):
        reader, writer = await attacker(port=daemon.port)
        writer.write(header)
        report = decode(await read_apdu(reader))
        assert isinstance(report, StatusOrErrorReport)
        assert report.note is not None
        assert "exceeds" in report.note.text
        assert await ended(reader) == b""
        writer.close()


async def test_one_gib_announced_then_sent_is_not_read(daemon: Daemon) -> None:
    block = bytes(1 << 20)
    limit = 64

    async def push(header: bytes) -> int:
        """MiB the daemon took before it closed the connection."""
        _, writer = await attacker(port=daemon.port)
        writer.write(header)
        sent = 0
        with contextlib.suppress(ConnectionError):
            async with asyncio.timeout(STEP * 2):
                while sent < limit:
                    writer.write(block)
                    await writer.drain()
                    sent += 1
        writer.close()
        return sent

    async with watched(daemon):
        pushed = await during(
            asyncio.gather(*(push(h) for h in GIB_HEADERS for _ in range(4))), daemon
        )
    assert all(sent < limit for sent in pushed)


@pytest.mark.parametrize("indefinite", [True, False], ids=["indefinite", "definite"])
async def test_ten_thousand_deep_nesting_is_refused(daemon: Daemon, indefinite: bool) -> None:
    notes = await refusal_notes(daemon, nested(10_000, indefinite), connections=20)
    assert all("nesting deeper than 64 levels" in note for note in notes)


async def refusal_notes(daemon: Daemon, apdu: bytes, connections: int) -> list[str]:
    """``apdu`` sent on ``connections`` connections at once, the daemon watched meanwhile:
    the notes of the Status-Or-Error-Reports that came back (at least one)."""

    async def send() -> bytes:
        reader, writer = await attacker(port=daemon.port)
        writer.write(apdu)
        answer = await ended(reader)
        writer.close()
        return answer

    async with watched(daemon):
        answers = await during(asyncio.gather(*(send() for _ in range(connections))), daemon)
    # The daemon answers before it closes; a reset may swallow the answer, not the close.
    reports = [decode(first_apdu(answer)) for answer in answers if answer]
    assert reports
    notes = []
    for report in reports:
        assert isinstance(report, StatusOrErrorReport)
        assert report.note is not None
        notes.append(report.note.text)
    return notes


def first_apdu(data: bytes) -> bytes:
    framer = Framer()
    framer.feed(data)
    apdu = framer.next_apdu()
    assert apdu is not None
    return apdu


async def test_apdu_of_many_elements_is_refused_before_decoding(daemon: Daemon) -> None:
    """Under 1 MiB, but 80,000 extensions: decoded, it would take some 40 MiB."""
    base = decode(request("MANY"))
    assert isinstance(base, ILLRequest)
    extension = plan.bound().Extension(identifier=1, item=bytes.fromhex("0400"))
    apdu = encode(base.model_copy(update={"ill_request_extensions": (extension,) * 80_000}))
    notes = await refusal_notes(daemon, apdu, connections=8)
    assert all("APDU of more than 10000 elements" in note for note in notes)


async def test_slowloris_is_closed_by_the_apdu_deadline(daemon: Daemon) -> None:
    """One byte every IDLE_TIMEOUT / 3: never idle long enough for the idle timeout, yet
    closed, since the APDU begun does not arrive whole within APDU_TIMEOUT."""
    apdu = request("SLOW")
    interval = IDLE_TIMEOUT / 3
    bytes_sent = 4  # spans longer than IDLE_TIMEOUT

    async def trickle() -> int:
        reader, writer = await attacker(port=daemon.port)
        port: int = writer.get_extra_info("sockname")[1]
        try:
            for i in range(bytes_sent):
                writer.write(apdu[i : i + 1])
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        assert await reader.read(65536) == b""
                        return port  # closed
            raise AssertionError(f"still open after {bytes_sent} bytes, {interval} s apart")
        finally:
            writer.close()

    async with watched(daemon):
        ports = await during(asyncio.gather(*(trickle() for _ in range(30))), daemon)
    closed_for_deadline = {
        event["peer"]
        for event in daemon.events
        if event["event"] == "APDU incomplete after apdu_timeout; closing"
    }
    assert {f"{ATTACKER}:{port}" for port in ports} <= closed_for_deadline


async def open_many(addresses: list[str], port: int) -> list[asyncio.StreamWriter]:
    """One connection from each address (repeated as listed), all at once."""
    async with asyncio.timeout(STEP * 6):
        opened = await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", port, local_addr=(a, 0)) for a in addresses)
        )
    return [writer for _, writer in opened]


async def test_two_thousand_connections_from_one_address(daemon: Daemon) -> None:
    refused = await daemon.rejections("address-limit")
    async with watched(daemon):
        writers = await open_many([ATTACKER] * CONNECTIONS, daemon.port)
        try:
            await daemon.rejected("address-limit", refused + 1)
            assert await daemon.connections() == PER_ADDRESS
            await served(daemon)
        finally:
            for writer in writers:
                writer.close()


async def test_connections_from_many_addresses_leave_room_for_another(daemon: Daemon) -> None:
    """2,000 connections from 40 addresses take every slot of max_connections but the
    reserved ones, which only an address holding at most one connection may take: the
    peer's, also while its last connection is still being closed."""
    flood = [f"127.0.1.{1 + i % 40}" for i in range(CONNECTIONS)]
    refused = await daemon.rejections("connection-limit")
    async with watched(daemon):
        writers = await open_many(flood, daemon.port)
        try:
            await daemon.rejected("connection-limit", refused + 1)
            assert await daemon.connections() >= MAX_CONNECTIONS - RESERVED
            for _ in range(8):  # each right after the last: that one may still be open
                await served(daemon)
        finally:
            for writer in writers:
                writer.close()


def kernel_buffers() -> int:
    """The most a TCP connection's two sockets may buffer: a receive and a send buffer."""
    largest = [
        int(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[2])
        for name in ("tcp_rmem", "tcp_wmem")
    ]
    return sum(largest)


async def test_flood_without_reading_answers(daemon: Daemon) -> None:
    """APDUs sent back to back, no answer read: once its answers are not taken, the daemon
    stops reading (what is unsent stays with the sender), and after IDLE_TIMEOUT it cuts the
    connection off."""
    apdu = request("F" * 16_000)  # answered with an acknowledgement as large: the same id
    copies = (kernel_buffers() + (16 << 20)) // len(apdu)  # more than the sockets can hold
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind((ATTACKER, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", daemon.port))
    _, writer = await asyncio.open_connection(sock=sock)
    transport = writer.transport
    try:
        async with watched(daemon):
            for _ in range(copies):
                writer.write(apdu)
            unsent = transport.get_write_buffer_size()
            async with asyncio.timeout(STEP * 4):  # until the daemon takes no more
                while True:
                    await asyncio.sleep(0.5)
                    left = transport.get_write_buffer_size()
                    if left == unsent:
                        break
                    unsent = left
            assert unsent > 0
            await served(daemon)
            async with asyncio.timeout(IDLE_TIMEOUT + STEP):
                while not transport.is_closing():  # the daemon aborted: our next write failed
                    await asyncio.sleep(0.1)
    finally:
        writer.close()
