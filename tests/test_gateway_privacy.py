"""Patron privacy end to end: a target with ``withhold_client_id`` gets no client-id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from gateway_harness import RecordingPeer, exchange, routes_for, start_gateway, write_config
from paths import CAPTURES
from structlog.testing import capture_logs
from test_splice import assert_cut

from isoill.codec.decoder import decode
from isoill.codec.models import ILLRequest
from isoill.codec.splice import without_field
from isoill.codec.text import Text

pytestmark = pytest.mark.asyncio

WITHHOLDING = "[peers.PRIVLIB]\nwithhold_client_id = true\n"
PATRON = "Jane Patron"


@pytest_asyncio.fixture
async def peers() -> AsyncIterator[tuple[RecordingPeer, RecordingPeer]]:
    """A target that withholds client-ids (PRIVLIB) and one that does not (RESPLIB)."""
    private, open_ = await RecordingPeer().start(), await RecordingPeer().start()
    yield private, open_
    await private.stop()
    await open_.stop()


def config_for(directory: Path, private: RecordingPeer, open_: RecordingPeer) -> Path:
    routes = routes_for({"PRIVLIB": [private.address], "RESPLIB": [open_.address]})
    return write_config(directory, routes, extra=WITHHOLDING)


async def illclient_request(yaz_illclient: str, port: int, responder: str, cwd: Path) -> bytes:
    """Send an ILL-Request with a client-id through yaz-illclient; the bytes it sent."""
    cwd.mkdir()
    process = await asyncio.create_subprocess_exec(
        yaz_illclient,
        "-D",
        "ill,item-id,title=Dune",
        "-D",
        f"ill,client-id,client-name={PATRON}",
        "-D",
        "ill,client-id,client-identifier=P-0042",
        "-D",
        f"ill,responder-id,person-or-institution-symbol,institution={responder}",
        f"tcp:127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, stdout
    assert stdout.decode().strip() == "Ok"
    return (cwd / "req.apdu").read_bytes()


async def test_yaz_illclient_patron_stays_home(
    tmp_path: Path, peers: tuple[RecordingPeer, RecordingPeer], yaz_illclient: str
) -> None:
    private, open_ = peers
    server = await start_gateway(config_for(tmp_path, private, open_))
    try:
        port = server.ports[0]
        with capture_logs() as logged:
            to_private = await illclient_request(yaz_illclient, port, "PRIVLIB", tmp_path / "a")
            to_open = await illclient_request(yaz_illclient, port, "RESPLIB", tmp_path / "b")
            (received,) = await private.wait_for(1)
            (unchanged,) = await open_.wait_for(1)
    finally:
        await server.stop()
    sent = decode(to_private)
    assert isinstance(sent, ILLRequest)
    assert sent.client_id is not None and sent.client_id.client_name == Text.of(PATRON)
    assert decode(received) == sent.model_copy(update={"client_id": None})
    assert_cut(to_private, received)
    assert PATRON.encode() not in received and b"P-0042" not in received
    assert unchanged == to_open
    assert PATRON.encode() in unchanged
    withheld = [entry for entry in logged if entry["event"] == "client-id withheld"]
    assert len(withheld) == 1
    assert all(PATRON not in repr(entry) and "P-0042" not in repr(entry) for entry in logged)


@pytest.mark.parametrize("target", ["PRIVLIB", "RESPLIB"])
async def test_captured_request_by_default_target(
    tmp_path: Path, peers: tuple[RecordingPeer, RecordingPeer], target: str
) -> None:
    """The capture names no responder, so the listener's default target receives it."""
    private, open_ = peers
    routes = routes_for({"PRIVLIB": [private.address], "RESPLIB": [open_.address]})
    config = write_config(tmp_path, routes, extra=WITHHOLDING, default_target=target)
    capture = (CAPTURES / "client-id.ber").read_bytes()
    assert b"Ada Lovelace" in capture
    server = await start_gateway(config)
    try:
        await exchange(server.ports[0], [capture])
        if target == "PRIVLIB":
            (received,) = await private.wait_for(1)
            assert received == without_field(capture, "client-id")
            assert b"Ada Lovelace" not in received
            (stored,) = await server.writer.call(server.writer.backend.list_messages)
            assert stored.size == len(received)  # what is kept is what is sent
        else:
            (received,) = await open_.wait_for(1)
            assert received == capture
    finally:
        await server.stop()
