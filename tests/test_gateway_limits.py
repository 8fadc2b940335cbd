"""The daemon against misbehaving peers, and its admin endpoint."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from gateway_harness import routes_for, start_gateway, write_config

from isoill.codec.decoder import decode
from isoill.codec.framing import Framer
from isoill.codec.models import StatusOrErrorReport
from isoill.config import ConfigError
from isoill.config import load as load_config

pytestmark = pytest.mark.asyncio
ROUTES = routes_for({"RESPLIB": ["127.0.0.1:9"]})


async def read_report(reader: asyncio.StreamReader) -> StatusOrErrorReport:
    framer = Framer()
    async with asyncio.timeout(5):
        while (ber := framer.next_apdu()) is None:
            data = await reader.read(65536)
            assert data, "closed before a report"
            framer.feed(data)
    report = decode(ber)
    assert isinstance(report, StatusOrErrorReport)
    return report


async def closed(reader: asyncio.StreamReader) -> bool:
    async with asyncio.timeout(5):
        return await reader.read(65536) == b""


async def test_malformed_apdus_are_answered_then_the_connection_closes(tmp_path: Path) -> None:
    extra = '[limits]\nmax_malformed = 2\n[default_peer]\nconnection = "persistent"\n'
    server = await start_gateway(write_config(tmp_path, ROUTES, extra=extra))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.ports[0])
        writer.write(bytes.fromhex("7f7f00"))  # well-framed, not an ILL-APDU
        first = await read_report(reader)
        assert first.error_report is not None
        assert first.error_report.provider_error_report is not None
        assert first.error_report.provider_error_report.general_problem is not None
        assert first.error_report.provider_error_report.general_problem.asn1_name == (
            "unrecognized-APDU"
        )
        writer.write(bytes.fromhex("61023000"))  # an empty ILL-Request
        second = await read_report(reader)
        assert second.note is not None
        assert "lacks mandatory" in second.note.text
        assert await closed(reader)
        writer.close()
    finally:
        await server.stop()


async def test_framing_error_is_answered_and_closes(tmp_path: Path) -> None:
    server = await start_gateway(write_config(tmp_path, ROUTES))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.ports[0])
        writer.write(bytes.fromhex("618440000000"))  # announces 1 GiB
        report = await read_report(reader)
        assert report.note is not None
        assert "exceeds" in report.note.text
        assert await closed(reader)
        writer.close()
    finally:
        await server.stop()


async def test_idle_connection_is_closed(tmp_path: Path) -> None:
    server = await start_gateway(
        write_config(tmp_path, ROUTES, extra="[limits]\nidle_timeout = 0.2\n")
    )
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.ports[0])
        writer.write(bytes.fromhex("61"))  # one byte, then silence
        assert await closed(reader)
        writer.close()
    finally:
        await server.stop()


async def test_connections_per_address_are_limited(tmp_path: Path) -> None:
    extra = "[limits]\nmax_connections_per_address = 2\n"
    server = await start_gateway(write_config(tmp_path, ROUTES, extra=extra))
    try:
        port = server.ports[0]
        kept = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed(reader)
        writer.close()
        for _, kept_writer in kept:
            kept_writer.close()
    finally:
        await server.stop()


async def test_reserved_connections_go_to_addresses_holding_at_most_one(tmp_path: Path) -> None:
    extra = "[limits]\nmax_connections = 4\nreserved_connections = 2\n"
    server = await start_gateway(write_config(tmp_path, ROUTES, extra=extra))
    port = server.ports[0]

    async def connect(host: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", port, local_addr=(host, 0))

    try:  # connections are accepted or refused in the order they come
        kept = [await connect("127.0.1.1") for _ in range(2)]  # the two unreserved
        reader, writer = await connect("127.0.1.1")  # holds two: no reserved one for it
        assert await closed(reader)
        writer.close()
        kept += [await connect("127.0.1.2") for _ in range(2)]  # holds none, then one
        reader, writer = await connect("127.0.1.3")  # max_connections reached
        assert await closed(reader)
        writer.close()
        for kept_reader, kept_writer in kept:
            kept_writer.write(bytes.fromhex("7f7f00"))  # served: answered
            await read_report(kept_reader)
            kept_writer.close()
    finally:
        await server.stop()


async def test_reserved_connections_leave_some_unreserved(tmp_path: Path) -> None:
    extra = "[limits]\nmax_connections = 4\nreserved_connections = 4\n"
    with pytest.raises(ConfigError, match="reserved_connections must be less than max_conn"):
        load_config(write_config(tmp_path, ROUTES, extra=extra))


async def http_get(port: int, path: str) -> tuple[str, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    async with asyncio.timeout(5):
        response = (await reader.read()).decode()
    writer.close()
    head, _, body = response.partition("\r\n\r\n")
    return head.splitlines()[0], body


async def test_admin_endpoint_serves_health_and_metrics(tmp_path: Path) -> None:
    extra = '[admin]\nhost = "127.0.0.1"\nport = 0\n'
    server = await start_gateway(write_config(tmp_path, ROUTES, extra=extra))
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.ports[0])
        writer.write(bytes.fromhex("7f7f00"))
        await read_report(reader)
        writer.close()
        port = server.admin_port
        assert port is not None
        status, body = await http_get(port, "/healthz")
        assert status == "HTTP/1.0 200 OK"
        assert body == "ok\n"
        status, body = await http_get(port, "/metrics")
        assert status == "HTTP/1.0 200 OK"
        assert 'isoill_rejections_total{reason="malformed"}' in body
        status, _ = await http_get(port, "/nothing")
        assert status == "HTTP/1.0 404 Not Found"
    finally:
        await server.stop()
