"""A load through several gateways sharing one PostgreSQL store, and what it must prove; for
tests/test_crash_postgres.py, tests/test_postgres_restart.py and tests/test_across_hosts.py.

The clients run loans in lock-step as tests/test_crash.py's do, and the two sides of each
loan speak to different gateways (a requester's library and a supplier's behind one balanced
address reach different processes), so each process judges APDUs of transactions the other
moved on. A client whose gateway does not answer sends the APDU again, byte for byte, to the
next gateway, as a balancer fails over; one refused for now (the store's temporary refusal)
sends it again to the same one.

Each target answers every APDU ``ACK_DELAY`` after it arrived (or its own ``delay``), and
watches its connections: an APDU that arrives on one connection while an APDU on another
has not been answered yet means two senders at once (a sender waits for each answer before
its next APDU, and lets its claim go only once its outcomes are committed).
:func:`check_arrivals` proves, for each target address:

(a) every acknowledged APDU arrived, byte for byte, and nothing else did;
(b) counted by identity, each arrived once, every copy the same bytes;
(c) the copies beyond the first are within the bound it is given (docs/store.md derives it);
(e) in the order of the address's queue (its ``seq``: commit order across processes);
(f) no two connections delivered at once;

and :func:`check_store` (d): the store holds as accepted exactly the acknowledged APDUs, once
each, every delivery done, and the probes as refused.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import psycopg
import traffic
from test_crash import TARGETS, identity
from test_gateway_store_faults import refused_for_now
from traffic import LIFECYCLE

from isoill.codec.decoder import decode

PROBE_SERIALS = 10**9  # where the probes' serial numbers start: no loan has one
PAUSE = 0.05  # seconds a client waits before it sends again
ACK_DELAY = 0.001  # seconds a target takes to answer an APDU

#: Opens a lock-step connection to gateway N.
Opener = Callable[[int], Awaitable[traffic.Connection]]


class Watch(asyncio.Protocol):
    """One connection to a :class:`Target`: each APDU answered the target's ``delay`` after
    it came."""

    def __init__(self, target: Target, number: int) -> None:
        self.target = target
        self.number = number
        self.buf = bytearray()
        self.unanswered = 0
        self.peer = ""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername")[0]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (ber := traffic.take(self.buf)) is not None:
            self.target.arrived(self, ber)
            self.unanswered += 1
            asyncio.get_running_loop().call_later(self.target.delay, self._answer)

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.unanswered -= 1
            self.transport.write(self.target.ack)

    def connection_lost(self, exc: Exception | None) -> None:
        self.unanswered = 0  # its sender is gone: nothing of it is in flight any more
        self.transport = None
        self.target.connections.discard(self)


class Target:
    """A peer library at a fixed address that goes down (its connections cut) and comes
    back; it notes every APDU with the connection it came on and that connection's source
    host, and every APDU that came while another connection's was unanswered."""

    def __init__(self, ack: bytes, host: str = "127.0.0.1") -> None:
        self.ack = ack
        self.host = host
        self.delay = ACK_DELAY  # seconds it takes to answer an APDU
        self.port = 0
        self.received: list[tuple[int, bytes]] = []  # (connection, APDU) in order
        self.sources: list[str] = []  # the host each came from, in the same order
        self.times: list[float] = []  # and when (monotonic)
        self.overlaps: list[tuple[int, int]] = []  # (connection, the one still unanswered)
        self.connections: set[Watch] = set()
        self.opened = 0
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def apdus(self) -> list[bytes]:
        return [ber for _, ber in self.received]

    def arrived(self, connection: Watch, ber: bytes) -> None:
        self.received.append((connection.number, ber))
        self.sources.append(connection.peer)
        self.times.append(time.monotonic())
        for other in self.connections:
            if other is not connection and other.unanswered:
                self.overlaps.append((connection.number, other.number))

    def _connect(self) -> Watch:
        self.opened += 1
        watch = Watch(self, self.opened)
        self.connections.add(watch)
        return watch

    async def up(self, sock: socket.socket | None = None) -> None:
        """Listen on ``host`` (at the same port again after the first time), or on ``sock``."""
        loop = asyncio.get_running_loop()
        if sock is not None:
            self._server = await loop.create_server(self._connect, sock=sock)
        else:
            self._server = await loop.create_server(self._connect, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def down(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for watch in list(self.connections):
            if watch.transport is not None:
                watch.transport.abort()
        self.connections.clear()


def loopback(ports: list[int]) -> Opener:
    """Connections to gateways listening on 127.0.0.1 at ``ports``."""

    async def open_(gateway: int) -> traffic.Connection:
        return await traffic.Connection.open(("127.0.0.1", ports[gateway]))

    return open_


@dataclass
class Clients:
    """The senders: each worker runs loans in lock-step, its requester's side on one gateway
    and its responder's on the next; an APDU not answered within ``answer_wait`` seconds, or
    whose connection broke, goes again to the next gateway."""

    gateways: int
    open: Opener
    templates: list[traffic.Template]
    answer_wait: float
    probe_every: int = 25  # loans of a worker between two probes
    acknowledged: list[tuple[bytes, str]] = field(default_factory=list)
    probes: list[bytes] = field(default_factory=list)
    refused: list[bytes] = field(default_factory=list)
    unanswered: int = 0  # APDUs written whose answer never came: each was sent again
    for_now: Counter[str] = field(default_factory=Counter)  # temporary refusals, by note
    samples: dict[str, bytes] = field(default_factory=dict)  # the first of each note
    by_gateway: Counter[int] = field(default_factory=Counter)  # acknowledgements, by gateway

    async def run(self, worker: int, first: int, loans: int) -> None:
        kept: dict[str, traffic.Connection] = {}
        gateway = {"requester": worker % self.gateways, "responder": (worker + 1) % self.gateways}
        for number, serial in enumerate(range(first, first + loans), 1):
            for template in self.templates:
                ber = template.fill(serial)
                if not traffic.accepted(await self._answer(kept, gateway, template.side, ber)):
                    self.refused.append(ber)
                    break
                self.acknowledged.append((ber, template.side))
            if number % self.probe_every == 0:
                received = self.templates[LIFECYCLE.index(("Received", "requester"))]
                probe = received.fill(PROBE_SERIALS + serial)
                self.probes.append(probe)
                if not traffic.accepted(await self._answer(kept, gateway, "requester", probe)):
                    self.refused.append(probe)
        for connection in kept.values():
            connection.close()

    async def _answer(
        self, kept: dict[str, traffic.Connection], gateway: dict[str, int], side: str, ber: bytes
    ) -> bytes:
        while True:
            connection = kept.get(side)
            if connection is None:
                try:
                    async with asyncio.timeout(self.answer_wait):
                        connection = await self.open(gateway[side])
                except (OSError, TimeoutError):  # that gateway is down: the next one
                    gateway[side] = (gateway[side] + 1) % self.gateways
                    await asyncio.sleep(PAUSE)
                    continue
                kept[side] = connection
            try:
                async with asyncio.timeout(self.answer_wait):
                    answer = await connection.exchange(ber)
            except (OSError, TimeoutError):  # gone before it answered: to the next one
                self.unanswered += 1
                del kept[side]
                connection.close()
                gateway[side] = (gateway[side] + 1) % self.gateways
                await asyncio.sleep(PAUSE)
                continue
            if not traffic.accepted(answer) and refused_for_now(answer):
                note = str(getattr(decode(answer), "note", ""))
                self.for_now[note] += 1
                self.samples.setdefault(note, answer)
                await asyncio.sleep(PAUSE)
                continue
            self.by_gateway[gateway[side]] += 1
            return answer


def destinations(clients: Clients) -> dict[str, set[bytes]]:
    """What each target must receive: every acknowledged APDU goes to each address of its
    target, the responder's two or the requester's one."""
    expected: dict[str, set[bytes]] = {name: set() for name in TARGETS}
    for ber, side in clients.acknowledged:
        for name in ("responder-1", "responder-2") if side == "requester" else ("requester",):
            expected[name].add(ber)
    return expected


async def delivered(targets: dict[str, Target], clients: Clients, seconds: float) -> None:
    """Until every acknowledged APDU has reached its targets, or ``seconds`` have passed
    (the checks then say what is missing)."""
    expected = destinations(clients)
    try:
        async with asyncio.timeout(seconds):
            while any(expected[n] - set(t.apdus) for n, t in targets.items()):
                await asyncio.sleep(0.1)
    except TimeoutError:
        pass


def check_store(url: str, clients: Clients) -> dict[tuple[bytes, str], int]:
    """(d), in the database ``url`` names; each delivery's ``seq``, by APDU and address."""
    with psycopg.connect(url) as db:
        messages = db.execute("SELECT id, ber, state FROM messages").fetchall()
        deliveries = db.execute("SELECT message_id, address, seq, state FROM deliveries").fetchall()
    acknowledged = Counter(ber for ber, _ in clients.acknowledged)
    accepted = Counter(ber for _, ber, state in messages if state == "accepted")
    lost, unacknowledged = acknowledged - accepted, accepted - acknowledged
    assert not lost, f"{lost.total()} acknowledged APDUs not stored"
    assert not unacknowledged, f"{unacknowledged.total()} stored twice or never acknowledged"
    assert {ber for _, ber, state in messages if state != "accepted"} == set(clients.probes)
    assert {state for *_, state in deliveries} == {"delivered"}
    message_ber = {id_: ber for id_, ber, _ in messages}
    return {(message_ber[m], address): seq for m, address, seq, _ in deliveries}


def check_arrivals(
    targets: dict[str, Target],
    clients: Clients,
    seq: dict[tuple[bytes, str], int],
    bound: Callable[[str], int],
) -> dict[str, int]:
    """(a), (b), (c) with ``bound(target)`` copies at most, (e) and (f); the copies beyond
    the first, by target."""
    expected = destinations(clients)
    identities = {ber: identity(ber) for ber, _ in clients.acknowledged}
    assert len(set(identities.values())) == len(identities)
    again: dict[str, int] = {}
    for name, target in targets.items():
        arrived = target.apdus
        missing, unexpected = expected[name] - set(arrived), set(arrived) - expected[name]
        assert not missing, f"{len(missing)} acknowledged APDUs never reached {name}"
        assert not unexpected, f"{len(unexpected)} APDUs reached {name} unacknowledged"
        copies: dict[str, set[bytes]] = defaultdict(set)
        for ber in arrived:
            copies[identities[ber]].add(ber)
        assert len(copies) == len(expected[name])
        assert all(len(versions) == 1 for versions in copies.values())
        again[name] = len(arrived) - len(copies)
        assert again[name] <= bound(name), (name, again[name], bound(name))
        order = [seq[ber, target.address] for ber in dict.fromkeys(arrived)]
        assert order == sorted(order), name
        assert not target.overlaps, (name, target.overlaps[:5])
    return again
