"""Writing to a peer that may not read: every wait for the peer is bounded.

A peer that stops reading must not hold the gateway's memory or a connection for ever. Sending
waits for the peer to take the bytes (``drain``) at most ``timeout`` seconds; closing lets the
unsent bytes go out for at most as long. Either then aborts the connection: a plain close
would keep the unsent bytes, and the socket, until the peer read them.
"""

from __future__ import annotations

import asyncio


async def send(writer: asyncio.StreamWriter, data: bytes, timeout: float) -> None:
    """Write ``data`` and wait until the peer has taken enough of it to write more.

    Raises :class:`ConnectionAbortedError` (the connection aborted) when the peer takes
    nothing for ``timeout`` seconds, and :class:`ConnectionError` when it is gone.
    """
    writer.write(data)
    if not writer.transport.get_write_buffer_size():  # all of it went out: drain waits for
        await writer.drain()  # nothing (it still raises if the peer is gone), no timer needed
        return
    try:
        async with asyncio.timeout(timeout):
            await writer.drain()
    except TimeoutError:
        writer.transport.abort()
        raise ConnectionAbortedError(f"the peer read nothing for {timeout:g} s") from None


async def close(writer: asyncio.StreamWriter, timeout: float) -> None:
    """Close the connection once what was written has gone out, or abort it after
    ``timeout`` seconds."""
    writer.close()
    try:
        async with asyncio.timeout(timeout):
            await writer.wait_closed()
    except TimeoutError:
        writer.transport.abort()
    except ConnectionError:
        pass  # gone already: nothing left to send
