"""Hostile requests to the admin listener get a clear 4xx and change nothing: bodies over
``[console] max_body``, bad JSON, a body that is no object, the wrong content type, paths that
climb or smuggle, ids and limits out of range, control characters, unknown methods."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import pytest_asyncio
from console_harness import Client, console_config
from gateway_harness import start_gateway

from isoill.app import App

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[App]:
    app = await start_gateway(console_config(tmp_path, {"RESPLIB": ["127.0.0.1:9"]}))
    try:
        yield app
    finally:
        await app.stop()


async def raw(port: int, request: bytes) -> int:
    """The status of the answer to ``request``, sent as it is."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(5):
            line = await reader.readline()
    finally:
        writer.close()
    return int(line.split()[1])


async def test_hostile_requests_are_refused_and_change_nothing(
    gateway: App, tmp_path: Path
) -> None:
    port = gateway.admin_port
    assert port is not None
    routes = (tmp_path / "routes.toml").read_text()
    async with Client(port) as admin:
        await admin.login("admin")
        headers = {"X-CSRF-Token": admin.csrf}
        cookie = "; ".join(f"{c.key}={c.value}" for c in admin.http.cookie_jar)

        async def post(path: str, data: bytes, kind: str = "application/json") -> int:
            async with admin.http.post(
                admin.base + path, data=data, headers={**headers, "Content-Type": kind}
            ) as response:
                body = await response.json()
                assert body["error"]  # a sentence, in JSON
                return response.status

        big = b'{"reason": "' + b"x" * 70_000 + b'"}'
        assert await post("/api/queue/1/refuse", big) == 413
        assert await post("/api/login", big) == 413
        assert await post("/api/routes", b"{not json") == 400
        assert await post("/api/routes", b"[1, 2]") == 400
        assert await post("/api/routes", b'{"symbol": 7}') == 400
        assert await post("/api/routes", b"symbol=A", "application/x-www-form-urlencoded") == 415
        assert await post("/api/routes/preview", b'{"symbol": "A\\u0000B"}') == 400
        assert await post("/api/queue/abc/resend", b"{}") == 400
        assert await post("/api/queue/-1/resend", b"{}") == 400
        assert await post("/api/routes/versions/0/restore", b'{"sha256": ""}') == 400

        for path, status in (
            ("/api/transactions/99999999999999999999999", 400),
            ("/api/transactions/1e3", 400),
            ("/api/queue?limit=100000", 400),
            ("/api/queue?limit=-3", 400),
            ("/api/queue?peer=%01", 400),
        ):
            assert (await admin.get(path.split("?")[0], **_query(path)))[0] == status, path

        smuggled = (
            b"GET /api/../../../etc/passwd HTTP/1.1",
            b"GET /console.css/../../../../etc/passwd HTTP/1.1",
            b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1",
            b"GET /api/transactions/..%2f..%2fmetrics HTTP/1.1",
            b"GET /api/transactions/1%00 HTTP/1.1",
            b"DELETE /api/routes HTTP/1.1",
            b"PUT /api/queue/1/release HTTP/1.1",
        )
        for line in smuggled:
            request = line + b"\r\nHost: x\r\nCookie: " + cookie.encode() + b"\r\n\r\n"
            status = await raw(port, request)
            assert 400 <= status < 500, (line, status)
        assert await raw(port, b"NONSENSE\r\n\r\n") == 400
        assert await raw(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 200 + b"\r\n") < 500

    assert (tmp_path / "routes.toml").read_text() == routes
    assert not (tmp_path / "audit.jsonl").exists()
    assert not (tmp_path / "routes-history").exists()


def _query(path: str) -> dict[str, str]:
    return dict(parse_qsl(path.partition("?")[2]))
