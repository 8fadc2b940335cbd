"""Crash safety of two gateways sharing one PostgreSQL store: two ``isoill serve`` processes
share the load and each is killed with SIGKILL at least twice in the middle of it, and
restarted at once, while the target peers go down and come back (tests/test_crash.py's test,
for several processes; the load and the checks are tests/shared_load.py's).

The bound on copies (docs/store.md): a kill re-sends, at each address, at most the run the
killed process held there (``RUN`` deliveries whose outcomes were not committed), and an
outage of a target at most the one APDU whose answer it cut off.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
import traffic
from gateway_harness import routes_for
from shared_load import Clients, Target, check_arrivals, check_store, delivered, loopback
from test_crash import REQUESTER, RESPONDER, TARGETS, Daemon
from traffic import LIFECYCLE

from isoill.service.handoff import RUN

pytestmark = [pytest.mark.crash, pytest.mark.asyncio]

LOANS = 400  # of five APDUs each
WORKERS = 16
#: Seconds a client waits for an answer before it tries the other gateway: more than a
#: daemon takes to start on a busy machine (its socket queues connections meanwhile).
ANSWER_WAIT = 30.0
#: An APDU that comes before its predecessor (by the state it finds) waits at most 2 s, then
#: is refused: one judged by a transaction's state as another process left it long ago.
CROSSING = "[transactions]\ncrossing_wait = 2\n"
#: Once this share of the loans' APDUs has been acknowledged: a target goes down or comes
#: back, or gateway 0 or 1 is killed and restarted at once.
SCHEDULE: tuple[tuple[float, str, str | int], ...] = (
    (0.08, "down", "responder-1"),
    (0.15, "kill", 0),
    (0.25, "up", "responder-1"),
    (0.28, "kill", 1),  # while responder-1's backlog is being delivered
    (0.40, "down", "requester"),
    (0.48, "kill", 0),
    (0.55, "up", "requester"),
    (0.60, "kill", 1),
    (0.72, "down", "responder-2"),
    (0.80, "up", "responder-2"),
    (0.84, "kill", 0),  # while responder-2's backlog is being delivered
)


async def drive(
    daemons: list[Daemon],
    targets: dict[str, Target],
    clients: Clients,
    load: asyncio.Future[list[None]],
) -> None:
    """Carry out the schedule as the acknowledgements come in, while the load runs."""
    apdus = LOANS * len(LIFECYCLE)
    for share, action, which in SCHEDULE:
        while len(clients.acknowledged) < share * apdus:
            if load.done():
                return  # cut short: the checks say why
            await asyncio.sleep(0.01)
        if action == "kill":
            assert isinstance(which, int)
            await daemons[which].kill_and_restart()
        elif action == "down":
            targets[str(which)].down()
        else:
            await targets[str(which)].up()


async def test_two_gateways_killed_by_turns_lose_nothing_and_never_send_together(
    tmp_path: Path, postgres_database: str
) -> None:
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
        daemons.append(Daemon(tmp_path / str(n), routes, postgres_database, CROSSING))
    templates = traffic.lifecycle(REQUESTER, RESPONDER)
    clients = Clients(2, loopback([d.port for d in daemons]), templates, ANSWER_WAIT)
    share = LOANS // WORKERS
    loop = asyncio.get_running_loop()
    try:
        await asyncio.gather(*(daemon.start() for daemon in daemons))
        began = loop.time()
        async with asyncio.timeout(120):
            load = asyncio.gather(*(clients.run(n, 1 + n * share, share) for n in range(WORKERS)))
            await asyncio.gather(load, drive(daemons, targets, clients, load))
        loaded = loop.time()
        await delivered(targets, clients, 30)
        drained = loop.time()
        for daemon in daemons:
            await daemon.stop()
    finally:
        for daemon in daemons:
            await daemon.kill()
        for target in targets.values():
            target.down()

    assert len(clients.acknowledged) == share * WORKERS * len(LIFECYCLE), clients.for_now
    assert sorted(clients.refused) == sorted(clients.probes)  # the probes, and nothing else
    assert [d.kills for d in daemons] == [
        sum(action == "kill" and which == n for _, action, which in SCHEDULE) for n in range(2)
    ]
    assert clients.unanswered > 0  # the kills did cut exchanges short
    seq = check_store(postgres_database, clients)
    outages = Counter(which for _, action, which in SCHEDULE if action == "down")
    kills = sum(daemon.kills for daemon in daemons)
    again = check_arrivals(targets, clients, seq, lambda name: RUN * kills + outages[name])
    print(
        f"\ncrash on PostgreSQL, two gateways: {len(clients.acknowledged)} APDUs acknowledged"
        f" in {loaded - began:.1f} s (by gateway {dict(clients.by_gateway)}), all delivered"
        f" {drained - loaded:.1f} s later; {len(clients.probes)} probes refused; kills"
        f" {[d.kills for d in daemons]}, {outages.total()} peer outages; {clients.unanswered}"
        f" APDUs unanswered and sent again, {sum(d.duplicates for d in daemons):.0f}"
        f" acknowledged as duplicates; refused for now: {dict(clients.for_now)}; copies"
        f" delivered again: {again} (bound {RUN} per kill, 1 per outage); connections per"
        f" target: { {n: t.opened for n, t in targets.items()} }"
    )
