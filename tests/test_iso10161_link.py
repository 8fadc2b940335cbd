"""The ISO 10161 link's failures say what happened: a target that takes the APDU and never
answers is a :class:`TimeoutError` naming the reply timeout, which the delivery's log line and
its last error (``isoill queue show``) then show, rather than an empty text."""

from __future__ import annotations

import asyncio

import pytest

from isoill.transport.iso10161.link import Iso10161Link

pytestmark = pytest.mark.asyncio


async def test_a_target_that_never_answers_is_a_timeout_that_says_so() -> None:
    taken: list[bytes] = []
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        taken.append(await reader.read(100))  # takes the APDU, answers nothing
        await reader.read()  # until the link gives up and closes
        writer.close()
        await writer.wait_closed()
        done.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    link = Iso10161Link(f"127.0.0.1:{port}", None, connect_timeout=2, max_apdu_size=1 << 20)
    try:
        with pytest.raises(TimeoutError, match=r"^no answer within 0\.3 s$"):
            await link.exchange(
                b"\x30\x00",
                b"\x30\x00",
                expects_reply=True,
                reply_timeout=0.3,
                capture=False,
                target="RESPLIB",
                apdu_type="ILL-Request",
            )
    finally:
        link.close()
        await asyncio.wait_for(done.wait(), 10)  # nothing of the server's left for the GC
        server.close()
        await server.wait_closed()
    assert taken == [b"\x30\x00"]
