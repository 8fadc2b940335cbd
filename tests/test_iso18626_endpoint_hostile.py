"""Hostile POSTs to the ISO 18626 endpoint of a running ``isoill serve``, on real sockets: each
is refused with the limit it broke named, in the answer and in a log line, the daemon does not
crash, does not grow, and answers the next message as it should. And hostile connections:
headers sent slowly are cut off at ``idle_timeout``, and past ``max_connections`` a connection
is closed at once."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from daemon_support import Daemon
from endpoint18626_support import post, request
from gateway_harness import RecordingPeer, routes_for, write_config
from test_iso18626_hostile import CANCEL, billion_laughs, with_doctype

pytestmark = pytest.mark.asyncio

LIMIT = 1 << 20  # max_body
BODY_TIMEOUT = 2.0
IDLE_TIMEOUT = 2.0
MAX_CONNECTIONS = 8
HUNDRED_MB = 100 << 20


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


class Endpoint:
    """The daemon, and where its endpoint is."""

    def __init__(self, daemon: Daemon, port: int) -> None:
        self.daemon = daemon
        self.port = port
        self.url = f"http://127.0.0.1:{port}/iso18626"
        self.served = 0

    async def serves_the_next(self) -> None:
        """The daemon is alive and confirms a good Request."""
        assert self.daemon.process.returncode is None
        self.served += 1
        answer = await post(self.url, request(f"next-{self.served}"))
        assert answer.confirmation().ok

    def rss(self) -> int:
        """The daemon's resident memory, in bytes."""
        status = Path(f"/proc/{self.daemon.process.pid}/status").read_text()
        (line,) = (line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024

    async def refused_connection(self, limit: str | None = None) -> list[dict[str, object]]:
        """The log lines of connections refused at a limit (``limit``, if given) once there
        is one."""
        async with asyncio.timeout(10):
            while True:
                refused = [
                    entry
                    for entry in self.daemon.events("connection refused: limit reached")
                    if limit is None or entry.get("limit") == limit
                ]
                if refused:
                    return refused
                with contextlib.suppress(TimeoutError):
                    await self.daemon.line("(none)", timeout=0.2)

    async def refused(self, reason: str) -> dict[str, object]:
        """The log line of a refusal whose reason or error names ``reason``."""
        async with asyncio.timeout(10):
            while True:
                for entry in self.daemon.lines:
                    said = f"{entry.get('reason', '')} {entry.get('error', '')}"
                    if str(entry.get("event")).startswith("ISO 18626") and reason in said:
                        return entry
                with contextlib.suppress(TimeoutError):  # read what it logs meanwhile
                    await self.daemon.line("(none)", timeout=0.2)


@pytest_asyncio.fixture
async def endpoint(tmp_path: Path, peer: RecordingPeer) -> AsyncIterator[Endpoint]:
    extra = (
        f'[iso18626]\nhost = "127.0.0.1"\nport = 0\nmax_body = {LIMIT}\n'
        f"body_timeout = {BODY_TIMEOUT}\nidle_timeout = {IDLE_TIMEOUT}\n"
        f"max_connections = {MAX_CONNECTIONS}\n"
    )
    config = write_config(tmp_path, routes_for({"SUP1": [peer.address]}), extra=extra)
    daemon = await Daemon.spawn(config)
    try:
        listening = await daemon.line("listening", listener="iso18626")
        port = int(str(listening["address"]).rsplit(":", 1)[1])
        yield Endpoint(daemon, port)
    finally:
        daemon.stop()
        assert await daemon.exit() == 0


async def raw(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a new connection and read the answer until the server closes it or
    ``timeout`` passes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await read_answer(reader, timeout)
    finally:
        writer.close()


async def read_answer(reader: asyncio.StreamReader, timeout: float) -> bytes:
    """One HTTP answer: its head and as much of its body as Content-Length says."""
    async with asyncio.timeout(timeout):
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        return head + await reader.readexactly(length)


async def send_until_closed(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, chunks: list[bytes]
) -> None:
    """Send the rest of a refused body, which the gateway drops for at most its linger
    (2 s) before it closes the connection: it never reads it all into memory."""
    try:
        async with asyncio.timeout(60):
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
            assert await reader.read() == b""  # all of it sent: the close comes all the same
    except ConnectionError:
        pass  # closed while sending


def posting(body: bytes, content_type: str = "application/xml") -> bytes:
    return (
        b"POST /iso18626 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


async def test_a_billion_laughs_is_refused_unexpanded(endpoint: Endpoint) -> None:
    before = endpoint.rss()
    answer = await post(endpoint.url, billion_laughs())
    assert answer.status == 400
    assert b"a DOCTYPE is not accepted" in answer.body
    await endpoint.refused("DOCTYPE")
    assert endpoint.rss() < before + (16 << 20)
    await endpoint.serves_the_next()


async def test_external_entities_are_never_read_nor_fetched(endpoint: Endpoint) -> None:
    hits: list[bytes] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hits.append(await reader.read(1024))
        writer.close()

    bait = await asyncio.start_server(count, "127.0.0.1", 0)
    port = bait.sockets[0].getsockname()[1]
    try:
        for system in (b"file:///etc/passwd", b"http://127.0.0.1:%d/secret" % port):
            body = with_doctype(b'<!DOCTYPE m [<!ENTITY x SYSTEM "' + system + b'">]>', b"&x;")
            answer = await post(endpoint.url, body)
            assert answer.status == 400
            assert b"a DOCTYPE is not accepted" in answer.body
            assert b"root:" not in answer.body
        await endpoint.serves_the_next()
        assert hits == []
    finally:
        bait.close()


async def test_a_100_mb_body_is_refused_by_its_length_unread(endpoint: Endpoint) -> None:
    before = endpoint.rss()
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    try:
        writer.write(
            b"POST /iso18626 HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
            + f"Content-Length: {HUNDRED_MB}\r\n\r\n".encode()
        )
        await writer.drain()
        answer = await read_answer(reader, 10)  # before a byte of the body is sent
        assert status(answer) == 413
        assert f"over the limit of {LIMIT} (max_body)".encode() in answer
        await send_until_closed(reader, writer, [b"<" * (1 << 20)] * (HUNDRED_MB >> 20))
    finally:
        writer.close()
    await endpoint.refused("max_body")
    assert endpoint.rss() < before + (32 << 20)
    await endpoint.serves_the_next()


async def test_a_100_mb_chunked_body_is_cut_at_the_limit(endpoint: Endpoint) -> None:
    before = endpoint.rss()
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    chunk = b"<" * (64 << 10)
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    try:
        writer.write(
            b"POST /iso18626 HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        head = [framed] * (2 * LIMIT // len(chunk))  # twice the limit, then the answer
        for data in head:
            writer.write(data)
        await writer.drain()
        answer = await read_answer(reader, 10)
        assert status(answer) == 413
        assert f"over the limit of {LIMIT} bytes (max_body)".encode() in answer
        await send_until_closed(reader, writer, [framed] * (HUNDRED_MB // len(chunk) - len(head)))
    finally:
        writer.close()
    await endpoint.refused("max_body")
    assert endpoint.rss() < before + (32 << 20)
    await endpoint.serves_the_next()


async def test_10000_deep_nesting_is_refused_at_libxml2s_depth_limit(endpoint: Endpoint) -> None:
    deep = b"<a>" * 10_000 + b"</a>" * 10_000
    body = CANCEL.replace(b"</ns1:action>", b"</ns1:action><ns1:note>" + deep + b"</ns1:note>")
    answer = await post(endpoint.url, body)
    assert answer.status == 400
    assert b"Excessive depth in document: 256" in answer.body
    await endpoint.refused("Excessive depth")
    await endpoint.serves_the_next()


async def test_invalid_utf8_is_refused_with_where_it_is(endpoint: Endpoint) -> None:
    body = CANCEL.replace(b"</ns1:action>", b"</ns1:action><ns1:note>caf\xe9 \xff</ns1:note>")
    answer = await post(endpoint.url, body)
    assert answer.status == 400
    assert b"not UTF-8 (line" in answer.body
    await endpoint.refused("not UTF-8")
    await endpoint.serves_the_next()


async def test_a_slow_body_is_cut_at_body_timeout(endpoint: Endpoint) -> None:
    body = CANCEL
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    try:
        writer.write(posting(body)[: -len(body)])  # the head
        answer = b""
        async with asyncio.timeout(BODY_TIMEOUT + 10):
            for offset in range(0, len(body), 4):  # 4 bytes every 0.2 s: 20 bytes a second
                writer.write(body[offset : offset + 4])
                await writer.drain()
                try:
                    answer = await asyncio.wait_for(read_answer(reader, 10), 0.2)
                    break
                except TimeoutError:
                    continue
    finally:
        writer.close()
    assert status(answer) == 408
    assert f"not whole after {BODY_TIMEOUT:g} s (body_timeout)".encode() in answer
    await endpoint.refused("body_timeout")
    await endpoint.serves_the_next()


async def test_garbage_is_refused_and_served_past(endpoint: Endpoint) -> None:
    noise = random.Random(18626)
    for _ in range(20):
        body = noise.randbytes(noise.randrange(1, 4096))
        answer = await post(endpoint.url, body)
        assert answer.status == 400, answer
    for _ in range(5):  # not even HTTP
        junk = await raw(endpoint.port, noise.randbytes(2048) + b"\r\n\r\n")
        assert status(junk) == 400
    await endpoint.serves_the_next()


WRONG = [
    ("GET", "application/xml", 405),
    ("DELETE", "application/xml", 405),
    ("OPTIONS", "application/xml", 405),
    ("POST", "text/html", 415),
    ("POST", "application/x-www-form-urlencoded", 415),
    ("POST", "multipart/form-data; boundary=x", 415),
]


async def test_wrong_methods_and_types_are_refused(endpoint: Endpoint) -> None:
    for method, content_type, expected in WRONG:
        answer = await post(endpoint.url, CANCEL, method=method, content_type=content_type)
        assert answer.status == expected, (method, content_type)
        await endpoint.serves_the_next()


async def test_headers_sent_slowly_are_cut_off_at_idle_timeout(endpoint: Endpoint) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
    sent = 0
    try:
        writer.write(b"POST /iso18626 HTTP/1.1\r\n")
        async with asyncio.timeout(IDLE_TIMEOUT + 10):
            with contextlib.suppress(ConnectionError):
                while True:  # a header line every 0.2 s, never the blank line that ends them
                    writer.write(b"X-Slow: %d\r\n" % sent)
                    await writer.drain()
                    sent += 1
                    await asyncio.sleep(0.2)
                    if reader.at_eof():
                        break
    finally:
        writer.close()
    assert sent < (IDLE_TIMEOUT + 10) / 0.2  # closed by the gateway, not by the timeout above
    await endpoint.serves_the_next()


async def test_connections_past_the_limit_are_closed_at_once(endpoint: Endpoint) -> None:
    held = [
        await asyncio.open_connection("127.0.0.1", endpoint.port) for _ in range(MAX_CONNECTIONS)
    ]
    try:
        await asyncio.sleep(0.2)  # all of them taken by the gateway
        reader, writer = await asyncio.open_connection("127.0.0.1", endpoint.port)
        try:
            async with asyncio.timeout(5):
                assert await reader.read() == b""  # closed, unread
        finally:
            writer.close()
        await endpoint.refused_connection()
    finally:
        for _, each in held:
            each.close()
    await asyncio.sleep(0.2)
    await endpoint.serves_the_next()


@pytest_asyncio.fixture
async def crowded(tmp_path: Path, peer: RecordingPeer) -> AsyncIterator[Endpoint]:
    """An endpoint holding 6 connections, 3 an address, the last 2 reserved."""
    extra = (
        '[iso18626]\nhost = "127.0.0.1"\nport = 0\nmax_connections = 6\n'
        "max_connections_per_address = 3\nreserved_connections = 2\n"
    )
    config = write_config(tmp_path, routes_for({"SUP1": [peer.address]}), extra=extra)
    daemon = await Daemon.spawn(config)
    try:
        listening = await daemon.line("listening", listener="iso18626")
        yield Endpoint(daemon, int(str(listening["address"]).rsplit(":", 1)[1]))
    finally:
        daemon.stop()
        assert await daemon.exit() == 0


async def closed_at_once(endpoint: Endpoint, source: str) -> bool:
    """Whether a connection from ``source`` is closed unread (else it is held, then closed)."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", endpoint.port, local_addr=(source, 0)
    )
    try:
        async with asyncio.timeout(0.5):
            return await reader.read() == b""
    except TimeoutError:
        return False
    finally:
        writer.close()


async def test_an_address_is_held_to_its_own_limit_and_the_reserve_to_newcomers(
    crowded: Endpoint,
) -> None:
    async def hold(source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", crowded.port, local_addr=(source, 0))

    held = [await hold("127.0.0.3") for _ in range(3)]
    try:
        await asyncio.sleep(0.2)  # all of them taken by the gateway
        assert await closed_at_once(crowded, "127.0.0.3")  # its address's limit
        [refused] = await crowded.refused_connection("address-limit")
        assert str(refused["peer"]).startswith("127.0.0.3:")
        held.append(await hold("127.0.0.4"))
        held.append(await hold("127.0.0.4"))
        await asyncio.sleep(0.2)
        # 5 held: 127.0.0.4 has two, so the reserved sixth is not its; a newcomer's it is
        assert await closed_at_once(crowded, "127.0.0.4")
        [refused] = await crowded.refused_connection("connection-limit")
        assert str(refused["peer"]).startswith("127.0.0.4:")
        assert not await closed_at_once(crowded, "127.0.0.5")
    finally:
        for _, writer in held:
            writer.close()
    await asyncio.sleep(0.2)
    await crowded.serves_the_next()
