"""The admin endpoint: ``GET /metrics`` (Prometheus) and ``GET /healthz``, nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

_MAX_REQUEST = 8192


async def serve(host: str, port: int, healthy: Callable[[], bool]) -> asyncio.Server:
    """A minimal HTTP/1.0 server: GET /metrics and GET /healthz, nothing else."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
        if path == b"/metrics":
            status, body, kind = b"200 OK", generate_latest(), CONTENT_TYPE_LATEST.encode()
        elif path == b"/healthz":
            ok = healthy()
            status = b"200 OK" if ok else b"503 Service Unavailable"
            body, kind = (b"ok\n" if ok else b"unhealthy\n"), b"text/plain"
        else:
            status, body, kind = b"404 Not Found", b"not found\n", b"text/plain"
        writer.write(
            b"HTTP/1.0 "
            + status
            + b"\r\nContent-Type: "
            + kind
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        try:
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port, limit=_MAX_REQUEST)
