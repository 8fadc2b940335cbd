"""The daemon end to end on 127.0.0.1: real sockets, the real store, yaz-illclient as a peer."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from gateway_harness import (
    RecordingPeer,
    exchange,
    routes_for,
    run_cli,
    spawn_daemon,
    start_gateway,
    until,
    write_config,
)
from paths import CAPTURES

from isoill.app import App
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import ILLRequest, StatusOrErrorReport, SystemId
from isoill.codec.text import Text
from isoill.config import load as load_config

pytestmark = pytest.mark.asyncio


def request(number: int, responder: str = "RESPLIB") -> bytes:
    """Capture 2 (a yaz-illclient ILL-Request) with its own transaction-qualifier."""
    base = decode((CAPTURES / "yaz-illclient-2.ber").read_bytes())
    assert isinstance(base, ILLRequest)
    responder_id = SystemId.model_validate(
        {"person-or-institution-symbol": {"institution-symbol": responder}}
    )
    tid = base.transaction_id.model_copy(
        update={"transaction_qualifier": Text.of(f"TX-{number:04d}")}
    )
    return encode(base.model_copy(update={"transaction_id": tid, "responder_id": responder_id}))


def acknowledged(answer: bytes) -> bool:
    report = decode(answer)
    return isinstance(report, StatusOrErrorReport) and report.error_report is None


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


async def test_yaz_illclient_request_reaches_peer_byte_for_byte(
    tmp_path: Path, peer: RecordingPeer, yaz_illclient: str
) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    server = await start_gateway(config)
    try:
        process = await asyncio.create_subprocess_exec(
            yaz_illclient,
            "-D",
            "ill,item-id,title=Dune",
            "-D",
            "ill,responder-id,person-or-institution-symbol,institution=RESPLIB",
            f"tcp:127.0.0.1:{server.ports[0]}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,
        )
        stdout, _ = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, stdout
        assert stdout.decode().strip() == "Ok"
        (received,) = await peer.wait_for(1)
        assert received == (tmp_path / "req.apdu").read_bytes()
        assert decode(received).item_id.title == Text.of("Dune")  # type: ignore[attr-defined]
    finally:
        await server.stop()


PERSISTENT_REQLIB = '[peers.REQLIB]\nconnection = "persistent"\n'


async def test_lock_step_and_per_apdu_connections(tmp_path: Path, peer: RecordingPeer) -> None:
    routes = routes_for({"RESPLIB": [peer.address]})
    server = await start_gateway(write_config(tmp_path, routes, extra=PERSISTENT_REQLIB))
    try:
        port = server.ports[0]
        answers = await exchange(port, [request(1), request(2), request(3)])
        answers += await exchange(port, [request(4)])
        answers += await exchange(port, [request(5)])
        assert all(acknowledged(answer) for answer in answers)
        received = await peer.wait_for(5)
        assert received == [request(n) for n in range(1, 6)]
    finally:
        await server.stop()


async def test_address_change_window(tmp_path: Path) -> None:
    old, new = await RecordingPeer().start(), await RecordingPeer().start()
    now = datetime.now(UTC)

    def moving(start: datetime, cutover: datetime) -> str:
        return (
            f'[peers.RESPLIB]\naddresses = ["{old.address}"]\n'
            f'[peers.RESPLIB.move]\nto = ["{new.address}"]\n'
            f"start = {start.isoformat()}\ncutover = {cutover.isoformat()}\n"
        )

    config = write_config(
        tmp_path, moving(now - timedelta(days=1), now + timedelta(days=1)), extra=PERSISTENT_REQLIB
    )
    server = await start_gateway(config)
    try:
        port = server.ports[0]
        assert all(acknowledged(a) for a in await exchange(port, [request(1), request(2)]))
        assert await old.wait_for(2) == [request(1), request(2)]
        assert await new.wait_for(2) == [request(1), request(2)]
        (tmp_path / "routes.toml").write_text(
            moving(now - timedelta(days=2), now - timedelta(days=1))
        )
        assert server.reload_routes()
        assert all(acknowledged(a) for a in await exchange(port, [request(3)]))
        assert await new.wait_for(3) == [request(1), request(2), request(3)]
        await asyncio.sleep(0.3)
        assert old.received == [request(1), request(2)]
    finally:
        await server.stop()
        await old.stop()
        await new.stop()


async def test_target_down_then_up_in_order_across_restart(tmp_path: Path) -> None:
    probe = await RecordingPeer().start()
    port = probe.port
    await probe.stop()  # a free port with nobody listening: the target is down
    config = write_config(
        tmp_path, routes_for({"RESPLIB": [f"127.0.0.1:{port}"]}), extra=PERSISTENT_REQLIB
    )
    server = await start_gateway(config)
    try:
        answers = await exchange(server.ports[0], [request(n) for n in range(1, 4)])
        assert all(acknowledged(answer) for answer in answers)
        await asyncio.sleep(0.3)  # several failed attempts
    finally:
        await server.stop()
    server = await start_gateway(config)
    try:
        answers = await exchange(server.ports[0], [request(n) for n in range(4, 6)])
        assert all(acknowledged(answer) for answer in answers)
        target = await RecordingPeer().start(port)
        try:
            received = await target.wait_for(5)
            assert received == [request(n) for n in range(1, 6)]
        finally:
            await target.stop()
    finally:
        await server.stop()


async def test_broken_routes_reload_keeps_old_table(tmp_path: Path, peer: RecordingPeer) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    server = await start_gateway(config)
    try:
        table = server.intake.routes
        (tmp_path / "routes.toml").write_text('[peers.RESPLIB]\naddresses = ["nowhere"]\n')
        assert not server.reload_routes()
        assert server.intake.routes is table
        assert all(acknowledged(a) for a in await exchange(server.ports[0], [request(1)]))
        assert await peer.wait_for(1) == [request(1)]
    finally:
        await server.stop()


async def test_what_exists_at_start_is_frozen_for_the_collector(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    """Full collections do not walk the codec's plan and models, config and routes again:
    ``isoill serve`` (App.run) freezes them once started; a gateway started by a test, which
    has objects of its own, does not."""
    gc.unfreeze()
    app = App(load_config(write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))))
    running = asyncio.create_task(app.run())
    try:
        await until((tmp_path / "isoill.pid").exists)
        assert gc.get_freeze_count() > 10_000
    finally:
        app.stopping.set()
        await running
        gc.unfreeze()
    assert not (tmp_path / "isoill.pid").exists()


async def test_unroutable_request_is_refused_and_kept(tmp_path: Path, peer: RecordingPeer) -> None:
    server = await start_gateway(write_config(tmp_path, routes_for({"RESPLIB": [peer.address]})))
    try:
        (answer,) = await exchange(server.ports[0], [request(1, responder="NOBODY")])
        report = decode(answer)
        assert isinstance(report, StatusOrErrorReport)
        assert report.error_report is not None
        assert report.error_report.user_error_report is not None
        assert report.note == Text.of("no route to NOBODY")
        kept = await server.writer.call(server.writer.backend.list_messages, "unroutable")
        assert [view.apdu_type for view in kept] == ["ILL-Request"]
    finally:
        await server.stop()


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
async def test_daemon_serves_on_either_event_loop_and_drains_on_sigterm(
    tmp_path: Path, peer: RecordingPeer, loop: str
) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    config.write_text(f'event_loop = "{loop}"\n' + config.read_text())
    process = await spawn_daemon(config)
    try:
        assert process.stderr is not None
        listening = json.loads(await asyncio.wait_for(process.stderr.readline(), 20))
        assert (listening["event"], listening["event_loop"]) == ("listening", loop)
        port = int(listening["address"].rsplit(":", 1)[1])
        assert all(acknowledged(a) for a in await exchange(port, [request(1)]))
        assert await peer.wait_for(1) == [request(1)]
    finally:
        process.terminate()
    await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0


async def test_routes_reload_command_signals_the_daemon(
    tmp_path: Path, peer: RecordingPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": ["127.0.0.1:9"]}))
    process = await spawn_daemon(config)
    try:
        assert process.stderr is not None
        listening = json.loads(await asyncio.wait_for(process.stderr.readline(), 20))
        port = int(listening["address"].rsplit(":", 1)[1])
        await until((tmp_path / "isoill.pid").exists)
        (tmp_path / "routes.toml").write_text('[peers.RESPLIB]\naddresses = ["broken"]\n')
        assert run_cli(["routes", "reload", "--config", str(config)]) == 3
        assert "nothing reloaded" in capsys.readouterr().err
        (tmp_path / "routes.toml").write_text(routes_for({"RESPLIB": [peer.address]}))
        assert run_cli(["routes", "reload", "--config", str(config)]) == 0
        assert "reload sent to pid" in capsys.readouterr().out
        reloaded = json.loads(await asyncio.wait_for(process.stderr.readline(), 20))
        assert reloaded["event"] == "routes reloaded"
        assert all(acknowledged(a) for a in await exchange(port, [request(1)]))
        assert await peer.wait_for(1) == [request(1)]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
    assert not (tmp_path / "isoill.pid").exists()
