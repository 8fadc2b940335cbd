"""Bounded writes to a peer that does not read (isoill.transport.streams), on real loopback
sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from isoill.transport import streams

pytestmark = pytest.mark.asyncio

MUCH = 16 << 20  # far more than the socket buffers of both ends hold


@asynccontextmanager
async def connected() -> AsyncIterator[tuple[asyncio.StreamWriter, asyncio.StreamReader]]:
    """The server's writer of a loopback connection, and the reader of its client, whose
    receive buffer is small (a peer that reads nothing fills it at once)."""
    accepted: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(server.sockets[0].getsockname())
    reader, writer = await asyncio.open_connection(sock=client)
    try:
        async with asyncio.timeout(10):
            yield await accepted, reader
    finally:
        writer.close()
        server.close()


async def read_all(reader: asyncio.StreamReader) -> int:
    """Bytes read until the end of the stream, or until it was reset."""
    count = 0
    try:
        while data := await reader.read(1 << 16):
            count += len(data)
    except ConnectionResetError:
        pass
    return count


async def test_send_to_a_peer_that_reads_nothing_aborts_after_the_timeout() -> None:
    async with connected() as (server_writer, reader):
        with pytest.raises(ConnectionAbortedError, match=r"read nothing for 0\.2 s"):
            await streams.send(server_writer, b"x" * MUCH, 0.2)
        assert server_writer.transport.is_closing()
        assert await read_all(reader) < MUCH  # the unsent rest was dropped, not kept


async def test_send_waits_for_a_peer_that_reads() -> None:
    async with connected() as (server_writer, reader):
        reading = asyncio.create_task(read_all(reader))
        await streams.send(server_writer, b"x" * MUCH, 5)
        await streams.close(server_writer, 5)
        assert await reading == MUCH


async def test_close_aborts_when_the_peer_does_not_take_what_is_left() -> None:
    async with connected() as (server_writer, reader):
        server_writer.write(b"x" * MUCH)
        await streams.close(server_writer, 0.2)  # a plain close would wait for the peer
        assert await read_all(reader) < MUCH


async def test_close_lets_everything_out_to_a_peer_that_reads() -> None:
    async with connected() as (server_writer, reader):
        server_writer.write(b"x" * MUCH)
        reading = asyncio.create_task(read_all(reader))
        await streams.close(server_writer, 5)
        assert await reading == MUCH
