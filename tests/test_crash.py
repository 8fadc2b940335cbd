"""Crash safety end to end: the daemon (``isoill serve``, a process of its own) is killed with
SIGKILL again and again in the middle of a load of 10,000 APDUs, while its target peers go
down and come back, and restarted each time.

The clients run whole loans in lock-step (bench/traffic.py builds them: each APDU carries its
loan's serial number in its transaction-qualifier) and send an APDU again, byte for byte, when
it got no answer, as real peers do; the gateway acknowledges the resend of an APDU it stored
without storing it again. Among the loans go probes the gateway must refuse and keep as
refused: a Received for a loan never requested.

On the wire a crash between a peer taking an APDU and the gateway recording that delivery
forces a resend, byte for byte the same, so a receiver knows it by the APDU's identity
(transaction-id, APDU type, date-time-of-this-service: the gateway's own duplicate key). For
each target address this proves:

(a) every acknowledged APDU arrived, byte for byte as sent;
(b) counted by identity, each arrived exactly once: every copy of an identity is the same bytes;
(c) the copies beyond the first are only deliveries in flight when the connection to the
    address was cut: at most ``RUN`` (the forwarder's window of outcomes not yet committed)
    per kill, and per outage of that peer;
(d) nothing else arrived: not the probes, nor anything unacknowledged; and the store holds as
    accepted exactly the acknowledged APDUs, once each, so an APDU stored but not acknowledged
    because of a kill is there only because its resend was then acknowledged;
(e) in the order the gateway stored them (each copy beyond the first left out).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import traffic
from e2e import free_port
from gateway_harness import routes_for
from traffic import LIFECYCLE

from isoill.codec.decoder import decode
from isoill.core.tracking import dedup_key
from isoill.ill.transaction_id import transaction_key
from isoill.service.handoff import RUN

pytestmark = [pytest.mark.crash, pytest.mark.asyncio]

ISOILL = Path(sys.executable).with_name("isoill")
REQUESTER, RESPONDER = "CRASHREQ", "CRASHRESP"
TARGETS = ("requester", "responder-1", "responder-2")  # the responder has two addresses
LOANS = 2_000  # of five APDUs each
WORKERS = 16
PROBE_EVERY = 50  # loans of a worker between two probes
PROBE_SERIALS = 10**9  # where the probes' serial numbers start: no loan has one
PAUSE = 0.05  # seconds a client waits before trying again, as the daemon restarts
#: What happens once this share of the loans' APDUs has been acknowledged: a target peer goes
#: down or comes back up, or the daemon is killed and restarted at once.
SCHEDULE = (
    (0.10, "down", "responder-1"),
    (0.20, "kill", ""),
    (0.30, "up", "responder-1"),
    (0.33, "kill", ""),  # while responder-1's backlog is being delivered
    (0.45, "down", "requester"),
    (0.55, "kill", ""),
    (0.60, "up", "requester"),
    (0.75, "down", "responder-2"),
    (0.80, "kill", ""),
    (0.85, "up", "responder-2"),
    (0.92, "kill", ""),  # while responder-2's backlog is being delivered
)


@dataclass
class Received(traffic.Arrivals):
    """Every APDU a simulated peer received, in order (``Arrivals`` keeps their times)."""

    apdus: list[bytes] = field(default_factory=list)

    def note(self, ber: bytes, now: int) -> None:
        self.apdus.append(ber)


class Target:
    """A peer library at a fixed address that goes down (its connections cut, as in a crash)
    and comes back; it acknowledges every APDU at once (``traffic.Peer``)."""

    def __init__(self, ack: bytes) -> None:
        self.received = Received(ack)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: list[traffic.Peer] = []

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _connect(self) -> traffic.Peer:
        peer = traffic.Peer(self.received)
        self._connections.append(peer)
        return peer

    async def up(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._connect, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for peer in self._connections:
            if peer.transport is not None:
                peer.transport.abort()
        self._connections.clear()


@dataclass
class Clients:
    """The senders: each worker runs loans in lock-step, one connection per side, and sends an
    unanswered APDU again on a new connection until it is answered."""

    port: int
    templates: list[traffic.Template]
    acknowledged: list[tuple[bytes, str]] = field(default_factory=list)  # and the sending side
    probes: list[bytes] = field(default_factory=list)
    refused: list[bytes] = field(default_factory=list)
    unanswered: int = 0  # APDUs written whose answer never came: each was sent again

    async def run(self, first: int, loans: int) -> None:
        kept: dict[str, traffic.Connection] = {}
        for number, serial in enumerate(range(first, first + loans), 1):
            for template in self.templates:
                ber = template.fill(serial)
                if not traffic.accepted(await self._answer(kept, template.side, ber)):
                    self.refused.append(ber)
                    break
                self.acknowledged.append((ber, template.side))
            if number % PROBE_EVERY == 0:
                received = self.templates[LIFECYCLE.index(("Received", "requester"))]
                probe = received.fill(PROBE_SERIALS + serial)
                self.probes.append(probe)
                if not traffic.accepted(await self._answer(kept, received.side, probe)):
                    self.refused.append(probe)
        for connection in kept.values():
            connection.close()

    async def _answer(self, kept: dict[str, traffic.Connection], side: str, ber: bytes) -> bytes:
        while True:
            connection = kept.get(side)
            if connection is None:
                try:
                    connection = await traffic.Connection.open(("127.0.0.1", self.port))
                except OSError:  # the daemon is down
                    await asyncio.sleep(PAUSE)
                    continue
                kept[side] = connection
            try:
                return await connection.exchange(ber)
            except OSError:  # killed before it answered: send it again
                self.unanswered += 1
                del kept[side]
                connection.close()
                await asyncio.sleep(PAUSE)


class Daemon:
    """``isoill serve`` on fixed ports, its JSON log (warnings) appended to a file; on the
    SQLite file ``store.sqlite3`` in ``directory``, or on the store ``store`` names; ``extra``
    ends its configuration."""

    def __init__(
        self, directory: Path, routes: str, store: str = "store.sqlite3", extra: str = ""
    ) -> None:
        self.directory = directory
        self.port, self.admin_port = free_port(), free_port()
        self.process: asyncio.subprocess.Process | None = None
        self.duplicates = 0.0  # acknowledged again without being stored again, all runs
        self.kills = 0
        (directory / "routes.toml").write_text(routes)
        peers = "".join(
            f'[peers.{symbol}]\nconnection = "persistent"\nsender_profile = "ipig"\n'
            f'target_profile = "oclc"\nstate_machine = "enforce"\n'
            for symbol in (REQUESTER, RESPONDER)
        )
        self.config = directory / "isoill.toml"
        self.config.write_text(
            f"""store = "{store}"
routes = "routes.toml"

[[listeners]]
host = "127.0.0.1"
port = {self.port}

[admin]
host = "127.0.0.1"
port = {self.admin_port}

[limits]
max_connections_per_address = 1024

[delivery]
max_attempts = 1000
window = 3600
first_delay = 0.05
backoff_factor = 1

[log]
format = "json"
level = "warning"

{peers}{extra}"""
        )

    async def start(self) -> None:
        """Start it, and wait until its admin endpoint answers: the listening socket takes
        connections into its queue from the start, the admin endpoint once the store is
        open and the listeners serve."""
        with (self.directory / "daemon.log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                ISOILL, "serve", "--config", self.config, stderr=log
            )
        while True:
            assert self.process.returncode is None, (self.directory / "daemon.log").read_text()
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.admin_port)
            except OSError:
                await asyncio.sleep(PAUSE)
                continue
            writer.close()
            return

    async def kill_and_restart(self) -> None:
        assert self.process is not None
        self.duplicates += await self._duplicates()
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1
        await self.start()

    async def stop(self) -> None:
        assert self.process is not None
        self.duplicates += await self._duplicates()
        self.process.send_signal(signal.SIGTERM)
        assert await self.process.wait() == 0

    async def kill(self) -> None:
        """Whatever happened, leave no daemon behind."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def _duplicates(self) -> float:
        """The daemon's count of APDUs received again, from its metrics."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.admin_port)
        writer.write(b"GET /metrics HTTP/1.0\r\n\r\n")
        body = (await reader.read()).decode()
        writer.close()
        (line,) = (x for x in body.splitlines() if x.startswith("isoill_duplicates_total "))
        return float(line.split()[1])


def identity(ber: bytes) -> str:
    """What makes an APDU the same APDU: the gateway's duplicate key."""
    apdu = decode(ber)
    return dedup_key(apdu, transaction_key(apdu.transaction_id), ber)


async def drive(
    daemon: Daemon, targets: dict[str, Target], clients: Clients, load: asyncio.Future[Any]
) -> None:
    """Carry out the schedule as the acknowledgements come in, while the load runs."""
    apdus = LOANS * len(LIFECYCLE)
    for share, action, name in SCHEDULE:
        while len(clients.acknowledged) < share * apdus:
            if load.done():
                return  # cut short: the checks say why
            await asyncio.sleep(0.01)
        if action == "kill":
            await daemon.kill_and_restart()
        elif action == "down":
            targets[name].down()
        else:
            await targets[name].up()


def destinations(clients: Clients) -> dict[str, set[bytes]]:
    """What each target must receive: every acknowledged APDU goes to each address of its
    target, the responder's two or the requester's one."""
    expected: dict[str, set[bytes]] = {name: set() for name in TARGETS}
    for ber, side in clients.acknowledged:
        for name in ("responder-1", "responder-2") if side == "requester" else ("requester",):
            expected[name].add(ber)
    return expected


async def run_load(directory: Path) -> tuple[Clients, Daemon, dict[str, Target]]:
    """The whole load through the daemon, killed and restarted on the way, until every
    acknowledged APDU has reached its targets (or a minute has passed since the last was
    acknowledged); then the daemon is stopped."""
    templates = traffic.lifecycle(REQUESTER, RESPONDER)
    targets = {name: Target(traffic.acknowledgement()) for name in TARGETS}
    for target in targets.values():
        await target.up()
    routes = {
        REQUESTER: [targets["requester"].address],
        RESPONDER: [targets["responder-1"].address, targets["responder-2"].address],
    }
    daemon = Daemon(directory, routes_for(routes))
    clients = Clients(daemon.port, templates)
    share = LOANS // WORKERS
    try:
        await daemon.start()
        async with asyncio.timeout(180):
            load = asyncio.gather(*(clients.run(1 + n * share, share) for n in range(WORKERS)))
            await asyncio.gather(load, drive(daemon, targets, clients, load))
        expected = destinations(clients)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(60):
                while any(expected[n] - set(t.received.apdus) for n, t in targets.items()):
                    await asyncio.sleep(0.1)
        await daemon.stop()
    finally:
        await daemon.kill()
        for target in targets.values():
            target.down()
    return clients, daemon, targets


def stored(path: Path) -> tuple[list[tuple[int, bytes, str]], list[tuple[int, int, str, str]]]:
    """The messages (id, bytes, state) and deliveries (id, message, address, state) stored."""
    db = sqlite3.connect(path)
    try:
        messages = db.execute("SELECT id, ber, state FROM messages").fetchall()
        deliveries = db.execute("SELECT id, message_id, address, state FROM deliveries").fetchall()
    finally:
        db.close()
    return messages, deliveries


async def test_kills_and_outages_lose_nothing_acknowledged(tmp_path: Path) -> None:
    clients, daemon, targets = await run_load(tmp_path)
    acknowledged = [ber for ber, _ in clients.acknowledged]
    assert len(acknowledged) == LOANS * len(LIFECYCLE)
    assert sorted(clients.refused) == sorted(clients.probes)  # the probes, and nothing else
    assert len(clients.probes) == WORKERS * (LOANS // WORKERS // PROBE_EVERY)
    assert daemon.kills == sum(action == "kill" for _, action, _ in SCHEDULE)
    assert clients.unanswered > 0  # the kills did cut exchanges short

    # The acknowledged APDUs stored as accepted, once each; the probes kept as refused, and
    # nothing else; every delivery done.
    messages, deliveries = stored(tmp_path / "store.sqlite3")
    accepted = Counter(ber for _, ber, state in messages if state == "accepted")
    lost, unacknowledged = Counter(acknowledged) - accepted, accepted - Counter(acknowledged)
    assert not lost, f"{lost.total()} acknowledged APDUs not stored"
    assert not unacknowledged, f"{unacknowledged.total()} stored twice or never acknowledged"
    assert {ber for _, ber, state in messages if state != "accepted"} == set(clients.probes)
    assert {state for *_, state in deliveries} == {"delivered"}
    message_ber = {id_: ber for id_, ber, _ in messages}
    delivery_id = {(message_ber[m], address): id_ for id_, m, address, _ in deliveries}

    expected = destinations(clients)
    outages = Counter(name for _, action, name in SCHEDULE if action == "down")
    identities = {ber: identity(ber) for ber in acknowledged}
    assert len(set(identities.values())) == len(acknowledged)
    again = 0
    for name, target in targets.items():
        arrived = target.received.apdus
        # (a) and (d): the acknowledged APDUs for this address, byte for byte, and nothing else.
        missing, unexpected = expected[name] - set(arrived), set(arrived) - expected[name]
        assert not missing, f"{len(missing)} acknowledged APDUs never reached {name}"
        assert not unexpected, f"{len(unexpected)} APDUs reached {name} unacknowledged"
        # (b): by identity, one APDU each, every copy the same bytes.
        copies: dict[str, set[bytes]] = defaultdict(set)
        for ber in arrived:
            copies[identities[ber]].add(ber)
        assert len(copies) == len(expected[name])
        assert all(len(versions) == 1 for versions in copies.values())
        # (c): copies only of what was in flight when a kill or an outage cut the connection.
        extra = len(arrived) - len(copies)
        assert extra <= RUN * (daemon.kills + outages[name]), (name, extra)
        again += extra
        # (e): the first copies in the order the gateway stored them for this address.
        order = [delivery_id[ber, target.address] for ber in dict.fromkeys(arrived)]
        assert order == sorted(order), name
    print(
        f"\ncrash: {len(acknowledged)} APDUs acknowledged and {len(clients.probes)} probes"
        f" refused; {daemon.kills} kills, {outages.total()} peer outages; {clients.unanswered}"
        f" APDUs unanswered and sent again, {daemon.duplicates:.0f} of them acknowledged as"
        f" duplicates; {again} copies delivered again"
    )
