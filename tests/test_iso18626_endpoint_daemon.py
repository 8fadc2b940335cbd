"""The ISO 18626 endpoint in ``isoill serve`` as a process of its own: under the supervisor of
``--workers``, which binds its socket with the TCP listeners' and keeps it while a worker is
started again, and counted by ``/readyz``."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from daemon_support import Daemon, port_of
from endpoint18626_support import post, request
from gateway_harness import RecordingPeer, routes_for, until, write_config
from test_gateway_limits import http_get

from isoill.codec.decoder import decode
from isoill.codec.models import ILLRequest

pytestmark = pytest.mark.asyncio

ENDPOINT = '[iso18626]\nhost = "127.0.0.1"\nport = 0\n[admin]\nhost = "127.0.0.1"\nport = 0\n'


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


@pytest_asyncio.fixture
async def daemons() -> AsyncIterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop()
        await daemon.exit()


async def test_a_worker_serves_the_endpoint_on_the_supervisors_socket_and_readyz_counts_it(
    tmp_path: Path, peer: RecordingPeer, daemons: list[Daemon]
) -> None:
    config = write_config(tmp_path, routes_for({"SUP1": [peer.address]}), extra=ENDPOINT)
    daemon = await Daemon.spawn(config, "--workers", "1")
    daemons.append(daemon)
    first = await daemon.line("worker started", worker=0, restarts=0)
    listening = await daemon.line("listening", worker=0, listener="iso18626")
    url = listening["url"]
    admin = port_of(await daemon.line("admin endpoint", worker=0))
    await daemon.line("ready")
    status, body = await http_get(admin, "/readyz")
    assert status == "HTTP/1.0 200 OK"
    assert json.loads(body)["checks"]["iso18626"] is True

    assert (await post(url, request("req-1"))).confirmation().ok
    os.kill(first["pid"], signal.SIGKILL)
    # Posted while no worker runs: it waits in the supervisor's listen queue.
    assert (await post(url, request("req-2"))).confirmation().ok
    again = await daemon.line("listening", worker=0, listener="iso18626")
    assert again["url"] == url  # the same socket, kept by the supervisor
    await peer.wait_for(2)
    await until(lambda: b"req-2" in b"".join(peer.received))
    delivered = [decode(ber) for ber in peer.received]
    assert all(isinstance(apdu, ILLRequest) for apdu in delivered)
    qualifiers = [apdu.transaction_id.transaction_qualifier.text for apdu in delivered]
    # req-1 may come twice: the killed worker may not have recorded its delivery yet
    # (outcomes are recorded lazily; docs/gateway.md), never not at all, and in order.
    assert list(dict.fromkeys(qualifiers)) == ["req-1", "req-2"]
