"""PostgreSQL restarted under load: two gateways share the store and the load (the clients
and targets of tests/shared_load.py) when the server stops; the APDUs that arrive while it is
down are refused for now, with the store's temporary refusal (unable-to-perform
resource-limitation, "its store is unreachable"); the server starts again, and the gateways,
never restarted, take APDUs and deliver by themselves, with nothing acknowledged lost.

Copies: the outcomes of the runs under way when the server went were not stored, so those
deliveries go again, at most ``RUN`` per address (docs/store.md).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import traffic
from daemon_support import Daemon as DaemonProcess
from gateway_harness import routes_for, write_config
from postgres_cluster import Cluster
from postgres_support import PostgresServer
from shared_load import Clients, Target, check_arrivals, check_store, delivered, loopback
from test_crash import REQUESTER, RESPONDER, TARGETS, Daemon
from test_gateway_store_faults import assert_refused_for_now
from traffic import LIFECYCLE

from isoill.cli.serve import EXIT_FOR_NOW
from isoill.service.handoff import RUN

pytestmark = pytest.mark.asyncio

LOANS = 160  # of five APDUs each
WORKERS = 16
ANSWER_WAIT = 30.0
STOPPED_AT = 0.3  # the share of the loans' APDUs acknowledged when the server stops
DOWN = 2.0  # seconds it stays down
UNREACHABLE = "its store is unreachable"
CHANGED = "its transaction changed meanwhile"  # a Conflict, refused for now (see intake)


def note(fault: str) -> str:
    return f"temporary: the gateway cannot store this APDU now ({fault}); send it again later"


async def restart(cluster: Cluster, clients: Clients) -> tuple[int, float]:
    """Stop the server once ``STOPPED_AT`` of the load is in, start it ``DOWN`` seconds later:
    how many APDUs were acknowledged by then, and how long after the start the next was."""
    loop = asyncio.get_running_loop()
    while len(clients.acknowledged) < STOPPED_AT * LOANS * len(LIFECYCLE):
        await asyncio.sleep(0.01)
    await loop.run_in_executor(None, cluster.stop)
    await asyncio.sleep(DOWN)
    before = len(clients.acknowledged)
    await loop.run_in_executor(None, cluster.start)
    started = loop.time()
    while len(clients.acknowledged) == before:
        await asyncio.sleep(0.01)
    return before, loop.time() - started


async def test_a_server_restart_under_load_refuses_for_now_and_loses_nothing(
    tmp_path: Path, postgres: PostgresServer, postgres_database: str
) -> None:
    cluster = postgres.cluster
    if cluster is None:
        pytest.skip("ISOILL_TEST_POSTGRES names a server these tests do not restart")
    targets = {name: Target(traffic.acknowledgement()) for name in TARGETS}
    for target in targets.values():
        await target.up()
    routes = routes_for(
        {
            REQUESTER: [targets["requester"].address],
            RESPONDER: [targets["responder-1"].address, targets["responder-2"].address],
        }
    )
    daemons = []
    for n in range(2):
        (tmp_path / str(n)).mkdir()
        daemons.append(Daemon(tmp_path / str(n), routes, postgres_database))
    templates = traffic.lifecycle(REQUESTER, RESPONDER)
    clients = Clients(2, loopback([d.port for d in daemons]), templates, ANSWER_WAIT)
    share = LOANS // WORKERS
    try:
        await asyncio.gather(*(daemon.start() for daemon in daemons))
        pids = [d.process.pid for d in daemons if d.process is not None]
        async with asyncio.timeout(120):
            load = asyncio.gather(*(clients.run(n, 1 + n * share, share) for n in range(WORKERS)))
            (_, (before, resumed)) = await asyncio.gather(load, restart(cluster, clients))
        await delivered(targets, clients, 30)
        # Never restarted: the same processes, still serving.
        assert [d.process.pid for d in daemons if d.process is not None] == pids
        for daemon in daemons:
            await daemon.stop()
    finally:
        if not (cluster.data / "postmaster.pid").exists():
            cluster.start()
        for daemon in daemons:
            await daemon.kill()
        for target in targets.values():
            target.down()

    assert len(clients.acknowledged) == share * WORKERS * len(LIFECYCLE), clients.for_now
    assert sorted(clients.refused) == sorted(clients.probes)
    # The APDUs that came while the server was down: refused for now, saying why.
    assert clients.for_now[note(UNREACHABLE)] > 0, clients.for_now
    assert set(clients.for_now) <= {note(UNREACHABLE), note(CHANGED)}, clients.for_now
    assert_refused_for_now(clients.samples[note(UNREACHABLE)], UNREACHABLE)
    # Each answered on its persistent connection, which stayed open for the APDU sent again.
    assert clients.unanswered == 0
    seq = check_store(postgres_database, clients)
    again = check_arrivals(targets, clients, seq, lambda name: RUN)
    print(
        f"\nPostgreSQL restarted under load: {len(clients.acknowledged)} APDUs acknowledged"
        f" ({before} before the server came back, the next {resumed:.2f} s after it started);"
        f" refused for now: {dict(clients.for_now)}; {clients.unanswered} unanswered;"
        f" copies delivered again: {again} (bound {RUN})"
    )


async def test_a_daemon_whose_server_is_down_says_so_in_a_line_and_exits_to_be_started_again(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, routes_for({"RESPLIB": ["127.0.0.1:9"]}))
    nowhere = f"postgresql://isoill@/isoill?host={tmp_path}"  # no server has its socket there
    config.write_text(config.read_text().replace('"store.sqlite3"', f'"{nowhere}"'))
    daemon = await DaemonProcess.spawn(config)
    assert await daemon.exit() == EXIT_FOR_NOW  # systemd's Restart=on-failure starts it again
    (line,) = daemon.text
    assert line.startswith(
        "isoill: cannot open the store for now: connection is bad: connection to server on"
        f' socket "{tmp_path}/.s.PGSQL.5432" failed: No such file or directory'
    )
    assert daemon.lines == []  # nothing else said, no traceback
