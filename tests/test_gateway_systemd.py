"""``isoill serve`` under systemd's two protocols, with the test in systemd's place: a listening
socket passed as fd 3 (``LISTEN_FDS``, ``LISTEN_PID``), and the readiness datagrams
(``READY=1``, ``RELOADING=1``, ``STOPPING=1``) received on the test's own ``AF_UNIX`` socket.
Each runs alone and under the supervisor (``--workers 1``)."""

from __future__ import annotations

import asyncio
import signal
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from daemon_support import Daemon
from gateway_harness import RecordingPeer, exchange, routes_for, write_config
from test_gateway_e2e import acknowledged, request

from isoill.codec.framing import Framer

pytestmark = pytest.mark.asyncio

MODES = pytest.mark.parametrize("workers", [(), ("--workers", "1")], ids=["alone", "supervised"])


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


def listening_config(directory: Path, peer: RecordingPeer, port: int) -> Path:
    config = write_config(directory, routes_for({"RESPLIB": [peer.address]}))
    config.write_text(config.read_text().replace("port = 0", f"port = {port}", 1))
    return config


@MODES
async def test_socket_activation_serves_on_the_socket_systemd_passes(
    tmp_path: Path, peer: RecordingPeer, workers: tuple[str, ...]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as owned:  # the .socket unit's
        port = owned.getsockname()[1]
        # Connected before the daemon runs: the kernel keeps it in the socket's queue.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request(1))
        daemon = await Daemon.spawn(
            listening_config(tmp_path, peer, port), *workers, listen_fd=owned.fileno()
        )
        try:
            passed = await daemon.line("socket from systemd")
            assert (passed["address"], passed["fd"]) == (f"127.0.0.1:{port}", 3)
            framer = Framer()
            async with asyncio.timeout(20):
                while (answer := framer.next_apdu()) is None:
                    data = await reader.read(65536)
                    assert data, "gateway closed the connection"
                    framer.feed(data)
            writer.close()
            assert acknowledged(answer)
            assert all(acknowledged(a) for a in await exchange(port, [request(2)]))
            assert await peer.wait_for(2) == [request(1), request(2)]
        finally:
            daemon.stop()
        assert await daemon.exit() == 0


@MODES
async def test_a_passed_socket_no_listener_names_is_refused(
    tmp_path: Path, peer: RecordingPeer, workers: tuple[str, ...]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as owned:
        port = owned.getsockname()[1]
        config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
        daemon = await Daemon.spawn(config, *workers, listen_fd=owned.fileno())
        assert await daemon.exit() == 3
    assert daemon.text == [
        f"isoill: systemd passed sockets that no [[listeners]] entry names: 127.0.0.1:{port} (fd 3)"
    ]


@pytest.mark.parametrize("name", ["path", "abstract"])
@MODES
async def test_readiness_reload_and_stop_are_told_to_notify_socket(
    tmp_path: Path, peer: RecordingPeer, workers: tuple[str, ...], name: str
) -> None:
    address = str(tmp_path / "notify") if name == "path" else f"@isoill-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(address if name == "path" else "\0" + address[1:])
        manager.setblocking(False)
        loop = asyncio.get_running_loop()

        async def told() -> list[str]:
            async with asyncio.timeout(20):
                return (await loop.sock_recv(manager, 4096)).decode().split("\n")

        config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
        daemon = await Daemon.spawn(config, *workers, env={"NOTIFY_SOCKET": address})
        terminated = False  # a second SIGTERM late in the shutdown would end it with -15
        try:
            assert await told() == ["READY=1"]
            await daemon.line("listening")  # logged before
            daemon.process.send_signal(signal.SIGHUP)
            reloading, monotonic = await told()
            assert reloading == "RELOADING=1"
            assert monotonic.startswith("MONOTONIC_USEC=") and monotonic[15:].isdigit()
            assert await told() == ["READY=1"]
            await daemon.line("credentials reloaded")  # the worker's reload done before
            daemon.process.send_signal(signal.SIGTERM)
            terminated = True
            assert await told() == ["STOPPING=1"]
        finally:
            if not terminated:
                daemon.stop()
        assert await daemon.exit() == 0
