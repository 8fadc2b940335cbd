"""The daemon's recording ([capture]): every APDU in and out, read back with read_capture;
a peer with ``capture = false`` leaves no trace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from gateway_harness import RecordingPeer, exchange, routes_for, start_gateway, write_config
from test_gateway_e2e import acknowledged, request

from isoill.capture.reader import read_capture
from isoill.codec.decoder import decode
from isoill.config import ConfigError, load

pytestmark = pytest.mark.asyncio

ACK = "Status-Or-Error-Report"


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


async def run_one_request(config: Path, peer: RecordingPeer) -> tuple[int, float, float]:
    """A request from REQLIB to RESPLIB through a gateway with ``config``, until the peer's
    answer is back; the listener's port and the times around it."""
    started = time.time()
    server = await start_gateway(config)
    try:
        port = server.ports[0]
        (answer,) = await exchange(port, [request(1)])
        assert acknowledged(answer)
        assert await peer.wait_for(1) == [request(1)]
        await asyncio.sleep(0.2)  # the forwarder reads the peer's answer
    finally:
        await server.stop()
    return port, started, time.time()


def recording(directory: Path) -> Path:
    (path,) = directory.iterdir()
    return path


async def test_every_apdu_in_and_out_is_recorded(tmp_path: Path, peer: RecordingPeer) -> None:
    routes = routes_for({"RESPLIB": [peer.address]})
    config = write_config(tmp_path, routes, extra='[capture]\ndirectory = "captures"\n')
    port, started, ended = await run_one_request(config, peer)
    path = recording(tmp_path / "captures")
    assert path.suffix == ".pcapng"
    apdus = read_capture(path)
    listener, delivery = f"127.0.0.1:{port}", peer.address
    assert [(a.server, a.from_client, a.comment) for a in apdus] == [
        (listener, True, "REQLIB -> RESPLIB ILL-Request"),
        (listener, False, f"isoill -> REQLIB {ACK}"),
        (delivery, True, "isoill -> RESPLIB ILL-Request"),
        (delivery, False, f"RESPLIB -> isoill {ACK}"),
    ]
    client_apdu, gateway_ack, delivered, peer_ack = apdus
    assert client_apdu.ber == delivered.ber == request(1)
    assert decode(gateway_ack.ber).apdu_type == decode(peer_ack.ber).apdu_type == ACK
    assert acknowledged(gateway_ack.ber) and acknowledged(peer_ack.ber)
    assert client_apdu.stream != delivered.stream
    assert all(a.time is not None and started <= a.time <= ended for a in apdus)
    assert [a.time for a in apdus] == sorted(a.time for a in apdus if a.time is not None)


@pytest.mark.parametrize("quiet", ["REQLIB", "RESPLIB"])
async def test_a_peer_with_capture_off_leaves_no_trace(
    tmp_path: Path, peer: RecordingPeer, quiet: str
) -> None:
    extra = (
        f'[capture]\ndirectory = "captures"\nformat = "pcap"\n[peers.{quiet}]\ncapture = false\n'
    )
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}), extra=extra)
    port, _, _ = await run_one_request(config, peer)
    path = recording(tmp_path / "captures")
    assert path.suffix == ".pcap"
    apdus = read_capture(path)
    kept = peer.address if quiet == "REQLIB" else f"127.0.0.1:{port}"
    assert [(a.server, a.from_client) for a in apdus] == [(kept, True), (kept, False)]
    assert all(a.stream == 0 for a in apdus)  # not even a handshake of the other connection


async def test_a_malformed_apdu_and_its_error_report(tmp_path: Path) -> None:
    routes = routes_for({"RESPLIB": ["127.0.0.1:9"]})
    server = await start_gateway(
        write_config(tmp_path, routes, extra='[capture]\ndirectory = "captures"\n')
    )
    try:
        (answer,) = await exchange(server.ports[0], [b"\x30\x00"])  # BER, but no ILL-APDU
    finally:
        await server.stop()
    sent, report = read_capture(recording(tmp_path / "captures"))
    assert sent.client is not None
    assert (sent.ber, sent.comment) == (b"\x30\x00", f"{sent.client} -> ? malformed APDU")
    assert (report.ber, report.from_client) == (answer, False)
    assert report.comment == f"isoill -> {sent.client} {ACK}"


async def test_a_capture_directory_that_cannot_be_made_changes_nothing(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    (tmp_path / "captures").write_text("a file, not a directory")
    config = write_config(
        tmp_path,
        routes_for({"RESPLIB": [peer.address]}),
        extra='[capture]\ndirectory = "captures/run"\n',
    )
    await run_one_request(config, peer)  # acknowledged and delivered all the same


async def test_capture_configuration(tmp_path: Path) -> None:
    config = write_config(tmp_path, "", extra='[capture]\ndirectory = "rec"\n')
    loaded = load(config)
    assert loaded.capture is not None
    assert (loaded.capture.directory, loaded.capture.format) == (tmp_path / "rec", "pcapng")
    assert loaded.peer("ANY").capture
    assert load(write_config(tmp_path, "")).capture is None
    bad = write_config(tmp_path, "", extra='[capture]\ndirectory = "rec"\nformat = "csv"\n')
    with pytest.raises(ConfigError, match=r"capture\.format"):
        load(bad)
