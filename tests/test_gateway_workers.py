"""``isoill serve --workers N``: the supervisor and its workers as real processes on
127.0.0.1, and the lock that keeps one daemon per SQLite store.

What the supervisor does with one worker is what it does with N: SIGHUP reaches the worker
(the routes reload), SIGTERM drains it (the APDU in hand is answered), a worker killed is
started again while the supervisor keeps the socket, so no connection is refused meanwhile,
and a worker that cannot start stops the supervisor. Two workers that both deliver need a
store both may write, which SQLite's is not: that test runs on PostgreSQL (the tests' own
throwaway cluster, or the server ``ISOILL_TEST_POSTGRES`` names), and is skipped without it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from daemon_support import Daemon, port_of
from gateway_harness import RecordingPeer, exchange, routes_for, run_cli, until, write_config
from test_gateway_e2e import acknowledged, request
from test_gateway_limits import http_get
from transaction_apdus import apdu

from isoill.app import App
from isoill.codec.decoder import decode
from isoill.codec.models import StatusOrErrorReport
from isoill.config import load as load_config
from isoill.process.lock import lock_path

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


@pytest_asyncio.fixture
async def daemons() -> AsyncIterator[list[Daemon]]:
    """Daemons a test started; any still running at its end is stopped."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop()
        await daemon.exit()


async def spawn(daemons: list[Daemon], config: Path, *args: str) -> Daemon:
    daemon = await Daemon.spawn(config, *args)
    daemons.append(daemon)
    return daemon


async def test_the_supervisor_makes_its_pid_files_directory(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    """As a daemon alone does: with a store that is not a file beside it (PostgreSQL's), or
    a pid_file set elsewhere, nothing else has made the directory."""
    config = write_config(tmp_path, routes_for({"RESPLIB": ["127.0.0.1:9"]}))
    config.write_text('pid_file = "run/here/isoill.pid"\n' + config.read_text())
    daemon = await spawn(daemons, config, "--workers", "1")
    await daemon.line("ready", workers=1)
    assert (tmp_path / "run/here/isoill.pid").read_text() == f"{daemon.process.pid}\n"
    daemon.stop()
    assert await daemon.exit() == 0


async def test_sighup_to_the_supervisor_reloads_the_workers_routes(
    tmp_path: Path, peer: RecordingPeer, daemons: list[Daemon], capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": ["127.0.0.1:9"]}))
    daemon = await spawn(daemons, config, "--workers", "1")
    port = port_of(await daemon.line("listening", worker=0))
    await daemon.line("ready", workers=1)
    assert (tmp_path / "isoill.pid").read_text() == f"{daemon.process.pid}\n"
    (tmp_path / "routes.toml").write_text(routes_for({"RESPLIB": [peer.address]}))
    assert run_cli(["routes", "reload", "--config", str(config)]) == 0
    assert f"reload sent to pid {daemon.process.pid}" in capsys.readouterr().out
    await daemon.line("routes reloaded", worker=0)
    assert all(acknowledged(a) for a in await exchange(port, [request(1)]))
    assert await peer.wait_for(1) == [request(1)]
    daemon.stop()
    assert await daemon.exit() == 0
    assert not (tmp_path / "isoill.pid").exists()


async def test_sigterm_drains_the_worker_and_the_apdu_in_hand_is_answered(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    requester, responder = await RecordingPeer().start(), await RecordingPeer().start()
    config = write_config(
        tmp_path,
        routes_for({"REQLIB": [requester.address], "RESPLIB": [responder.address]}),
        extra='[peers.REQLIB]\nstate_machine = "enforce"\n'
        '[peers.RESPLIB]\nstate_machine = "enforce"\n'
        "[transactions]\ncrossing_wait = 1.5\n",
    )
    try:
        daemon = await spawn(daemons, config, "--workers", "1")
        port = port_of(await daemon.line("listening", worker=0))
        await daemon.line("ready")
        (started,) = await exchange(port, [apdu("ILL-Request", "DRAIN")])
        assert acknowledged(started)
        # A Received before its Shipped waits crossing_wait, unanswered: an APDU in hand.
        early = asyncio.create_task(exchange(port, [apdu("Received", "DRAIN")]))
        await daemon.line("waiting for the APDU this one follows", worker=0)
        daemon.process.send_signal(signal.SIGTERM)
        await daemon.line("stopping", worker=0)
        (answer,) = await early
        report = decode(answer)
        assert isinstance(report, StatusOrErrorReport)
        assert report.error_report is not None  # its predecessor never came: refused, told
        assert await daemon.exit() == 0
        assert [e["status"] for e in daemon.events("worker stopped", worker=0)] == ["exit 0"]
    finally:
        await requester.stop()
        await responder.stop()


async def test_a_killed_worker_is_started_again_and_no_connection_is_refused(
    tmp_path: Path, peer: RecordingPeer, daemons: list[Daemon]
) -> None:
    extra = '[admin]\nhost = "127.0.0.1"\nport = 0\n'
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}), extra=extra)
    daemon = await spawn(daemons, config, "--workers", "1")
    first = await daemon.line("worker started", worker=0, restarts=0)
    port = port_of(await daemon.line("listening", worker=0))
    await daemon.line("ready")
    os.kill(first["pid"], signal.SIGKILL)
    # Sent while no worker runs: each waits in the supervisor's listen queue, none refused.
    answers = [await exchange(port, [request(n)], timeout=20) for n in range(5)]
    assert all(acknowledged(a) for (a,) in answers)
    assert await peer.wait_for(5) == [request(n) for n in range(5)]
    restarted = await daemon.line("worker started", worker=0, restarts=1)
    assert restarted["pid"] != first["pid"]
    assert [e["status"] for e in daemon.events("worker died", worker=0)] == ["SIGKILL"]
    admin = port_of(await daemon.line("admin endpoint", worker=0))
    status, body = await http_get(admin, "/metrics")
    assert status == "HTTP/1.0 200 OK"
    assert "isoill_worker_restarts_total 1.0" in body.splitlines()


async def test_workers_drain_when_their_supervisor_is_killed(
    tmp_path: Path, peer: RecordingPeer, daemons: list[Daemon]
) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    daemon = await spawn(daemons, config, "--workers", "1")
    await daemon.line("ready")
    daemon.process.kill()
    # The worker writes to the same stderr: its end is the pipe's end.
    assert await daemon.exit() == -signal.SIGKILL
    assert daemon.events("supervisor gone; draining", worker=0)
    assert daemon.events("stopped", worker=0)
    again = await spawn(daemons, config)  # the lock went with the worker
    port = port_of(await again.line("listening"))
    assert all(acknowledged(a) for a in await exchange(port, [request(1)]))


async def test_workers_that_keep_dying_at_start_stop_the_supervisor(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:  # the admin port, in use
        extra = f'[admin]\nhost = "127.0.0.1"\nport = {taken.getsockname()[1]}\n'
        config = write_config(tmp_path, routes_for({"RESPLIB": ["127.0.0.1:9"]}), extra=extra)
        daemon = await spawn(daemons, config, "--workers", "1")
        assert await daemon.exit(timeout=40) == 1
    died = daemon.events("worker died", worker=0)
    assert [(e["status"], e["ready"]) for e in died] == [("exit 1", False)] * 5
    assert len(daemon.events("worker failed", worker=0)) == 5  # each with its traceback
    assert [e["after"] for e in daemon.events("worker to start again")] == [0.25, 0.5, 1, 2]
    (given_up,) = daemon.events("giving up")
    assert given_up["reason"] == "workers died 5 times in a row before they were ready"
    assert not (tmp_path / "isoill.pid").exists()


async def test_a_worker_that_cannot_start_stops_the_supervisor_with_its_reason(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    config = write_config(tmp_path, '[peers.RESPLIB]\naddresses = ["broken"]\n')
    daemon = await spawn(daemons, config, "--workers", "1")
    assert await daemon.exit() == 3
    assert len(daemon.events("worker died", worker=0)) == 1  # not tried again
    (refusal,) = daemon.text
    assert refusal.startswith(f"isoill: {tmp_path / 'routes.toml'}")


# -- one daemon per SQLite store ------------------------------------------------------------


async def test_sqlite_store_refuses_more_than_one_worker(
    tmp_path: Path, daemons: list[Daemon]
) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": ["127.0.0.1:9"]}))
    daemon = await spawn(daemons, config, "--workers", "2")
    assert await daemon.exit() == 3
    assert daemon.text == [
        f"isoill: --workers 2: the store {tmp_path / 'store.sqlite3'} is an SQLite file, which"
        " one process writes; several workers need a store they can share (run --workers 1)"
    ]
    assert daemon.lines == []  # nothing started


@pytest.mark.parametrize(
    ("first", "second"),
    [((), ("--workers", "1")), (("--workers", "1"), ())],
    ids=["alone", "supervised"],
)
async def test_a_second_daemon_on_one_sqlite_store_is_refused_naming_the_first(
    tmp_path: Path,
    peer: RecordingPeer,
    daemons: list[Daemon],
    first: tuple[str, ...],
    second: tuple[str, ...],
) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    running = await spawn(daemons, config, *first)
    port = port_of(await running.line("listening"))
    refused = await spawn(daemons, config, *second)
    assert await refused.exit() == 3
    store = tmp_path / "store.sqlite3"
    assert refused.text == [
        f"isoill: {store} is in use by another isoill serve (pid {running.process.pid}; lock"
        f" {lock_path(store)}): an SQLite store belongs to one daemon; stop that one first, or"
        " give this one a store of its own"
    ]
    # The first goes on serving; the operators' commands do not take the lock.
    assert all(acknowledged(a) for a in await exchange(port, [request(1)]))
    await peer.wait_for(1)
    assert run_cli(["queue", "list", "--config", str(config)]) == 0
    assert oct(lock_path(store).stat().st_mode & 0o777) == "0o600"


async def test_a_daemon_killed_with_sigkill_starts_again_at_once(
    tmp_path: Path, peer: RecordingPeer, daemons: list[Daemon]
) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    killed = await spawn(daemons, config)
    await killed.line("listening")
    killed.process.kill()
    assert await killed.exit() == -signal.SIGKILL
    again = await spawn(daemons, config)
    port = port_of(await again.line("listening"))
    assert all(acknowledged(a) for a in await exchange(port, [request(1)]))
    await peer.wait_for(1)
    await until((tmp_path / "isoill.pid").exists)
    assert (tmp_path / "isoill.pid").read_text() == f"{again.process.pid}\n"
    assert lock_path(tmp_path / "store.sqlite3").read_text() == f"{again.process.pid}\n"


# -- several workers on a shared store ------------------------------------------------------


async def test_two_workers_behind_one_port_both_serve_and_deliver(
    tmp_path: Path, peer: RecordingPeer, daemons: list[Daemon], postgres_database: str
) -> None:
    """Two workers on one PostgreSQL store: the kernel hands the connections to both, both
    store what they accept, and every request is delivered once the workers agree who
    sends to the target."""
    store = postgres_database
    config = write_config(tmp_path, routes_for({"RESPLIB": [peer.address]}))
    config.write_text(config.read_text().replace('"store.sqlite3"', f'"{store}"'))
    daemon = await spawn(daemons, config, "--workers", "2")
    port = port_of(await daemon.line("listening"))
    await daemon.line("ready", workers=2)
    clients, sent = 40, 0
    # One listen queue for both: a worker the scheduler favours may take a whole round.
    for _ in range(10):
        batch = range(sent, sent + clients)
        answers = await asyncio.gather(*(exchange(port, [request(n)]) for n in batch))
        assert all(acknowledged(a) for (a,) in answers)
        sent += clients
        for _ in batch:
            await daemon.line("accepted")
        if {entry["worker"] for entry in daemon.events("accepted")} == {0, 1}:
            break
    assert sorted(await peer.wait_for(sent)) == sorted(request(n) for n in range(sent))
    daemon.stop()
    assert await daemon.exit() == 0
    assert {entry["worker"] for entry in daemon.events("accepted")} == {0, 1}


async def test_a_workers_admin_endpoint_is_the_configured_port_plus_its_index(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:  # a port free now, and the one after it
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
    extra = f'[admin]\nhost = "127.0.0.1"\nport = {base}\n'
    config = load_config(
        write_config(tmp_path, routes_for({"RESPLIB": ["127.0.0.1:9"]}), extra=extra)
    )
    worker = App(config, worker=1)
    await worker.start()
    try:
        assert worker.admin_port == base + 1
    finally:
        await worker.stop()
