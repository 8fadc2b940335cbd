"""Load for the end-to-end benchmarks: ILL transactions as BER templates, the clients that send
them and the simulated peers that receive them, each run as a process of its own by
bench/e2e.py (``python bench/traffic.py client|peer ...``).

Every APDU carries its id in its transaction-qualifier (``bench-`` and 12 digits, the
transaction's serial number) and its type in its first byte, so the peer can note when each
one arrived without decoding it. Send and arrival times are ``time.monotonic_ns()``, one clock
for every process on a Linux machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.jsonform import from_json
from isoill.codec.models import IllApdu
from isoill.core import acknowledgement as acknowledgements
from isoill.tools.peer import Answer

MARKER = b"bench-"
DIGITS = 12
PLACEHOLDER = MARKER + b"0" * DIGITS
#: One loan from request to check-in: each APDU type and the party that sends it.
LIFECYCLE = (
    ("ILL-Request", "requester"),
    ("Shipped", "responder"),
    ("Received", "requester"),
    ("Returned", "requester"),
    ("Checked-In", "responder"),
)
ERROR_REPORT = b"\xbf\x2d"  # [45] IMPLICIT, constructed: Status-Or-Error-Report's error-report
STATUS_OR_ERROR_REPORT = 0x73  # [APPLICATION 19], constructed
READ_CHUNK = 65536


def key(serial: int, ber: bytes) -> int:
    """An APDU's id: its transaction's serial number and its type (the APDU's first byte)."""
    return serial << 8 | ber[0]


def _request(requester: str, responder: str, now: datetime) -> IllApdu:
    """An ILL-Request like those yaz-illclient sends, that OCLC's profile accepts."""

    def party(symbol: str) -> dict[str, Any]:
        return {"person-or-institution-symbol": {"institution-symbol": symbol}}

    return from_json(
        {
            "ILL-Request": {
                "protocol-version-num": 2,
                "transaction-id": {
                    "initial-requester-id": party(requester),
                    "transaction-group-qualifier": "grp",
                    "transaction-qualifier": PLACEHOLDER.decode(),
                },
                "service-date-time": {
                    "date-time-of-this-service": {
                        "date": now.strftime("%Y%m%d"),
                        "time": now.strftime("%H%M%S"),
                    }
                },
                "requester-id": party(requester),
                "responder-id": party(responder),
                "transaction-type": "simple",
                "delivery-address": {
                    "postal-address": {
                        "name-of-person-or-institution": {"name-of-institution": "Main Library"},
                        "street-and-number": "1 Main St",
                        "city": "Denton",
                        "postal-code": "76203",
                    }
                },
                "iLL-service-type": ["loan"],
                "requester-optional-messages": {
                    "can-send-RECEIVED": True,
                    "can-send-RETURNED": True,
                    "requester-SHIPPED": "requires",
                    "requester-CHECKED-IN": "requires",
                },
                "search-type": {
                    "level-of-service": "A",
                    "need-before-date": (now + timedelta(days=30)).strftime("%Y%m%d"),
                    "expiry-flag": "need-Before-Date",
                },
                "place-on-hold": "according-to-responder-policy",
                "client-id": {"client-name": "A. Reader", "client-identifier": "P-1234"},
                "item-id": {
                    "item-type": "monograph",
                    "title": "The Left Hand of Darkness",
                    "author": "Le Guin, Ursula K.",
                    "publisher": "Ace Books",
                    "iSBN": "0441478123",
                    "verification-reference-source": "OCLC",
                },
                "retry-flag": False,
                "forward-flag": False,
                "requester-note": "benchmark request",
            }
        }
    )


@dataclass(frozen=True)
class Template:
    """One APDU of the lifecycle, its serial number to fill in at ``offset``."""

    ber: bytes
    offset: int
    side: str  # the sending party: "requester" or "responder"

    def fill(self, serial: int) -> bytes:
        digits = b"%0*d" % (DIGITS, serial)
        return self.ber[: self.offset] + digits + self.ber[self.offset + DIGITS :]


def lifecycle(requester: str, responder: str, now: datetime | None = None) -> list[Template]:
    """The templates of one loan between ``requester`` and ``responder``, each APDU built
    from the one before as a simulated peer answers it, at ``now`` (else the time now)."""
    now = now or datetime.now(UTC)
    apdu = _request(requester, responder, now)
    apdus = [apdu]
    for name, side in LIFECYCLE[1:]:
        symbol = requester if side == "requester" else responder
        answer = Answer.parse(name).respond(apdu, symbol, now)
        assert answer is not None
        apdu = answer
        apdus.append(apdu)
    templates = []
    for apdu, (_, side) in zip(apdus, LIFECYCLE, strict=True):
        ber = encode(apdu)
        assert ber.count(PLACEHOLDER) == 1, "the qualifier must appear once"
        templates.append(Template(ber, ber.index(PLACEHOLDER) + len(MARKER), side))
    return templates


def acknowledgement() -> bytes:
    """What the simulated peer answers to every APDU: a status-report."""
    return acknowledgements.acknowledgement(lifecycle("REQ", "RESP")[0].fill(0), datetime.now(UTC))


def _header(buf: bytes | bytearray, pos: int) -> tuple[bytes, int, int] | None:
    """The tag's bytes, the content's start and end of the element at ``pos`` (definite
    lengths only: isoill and these templates use no other); ``None`` if incomplete."""
    start = pos
    if len(buf) <= pos:
        return None
    if buf[pos] & 0x1F == 0x1F:  # high tag number: more tag bytes follow
        pos += 1
        while pos < len(buf) and buf[pos] & 0x80:
            pos += 1
    pos += 1
    if len(buf) <= pos:
        return None
    tag, first = bytes(buf[start:pos]), buf[pos]
    pos += 1
    if first & 0x80:
        count = first & 0x7F
        if count == 0:
            raise ValueError("indefinite length: not produced by isoill or the templates")
        if len(buf) < pos + count:
            return None
        length = int.from_bytes(buf[pos : pos + count], "big")
        pos += count
    else:
        length = first
    return tag, pos, pos + length


def take(buf: bytearray) -> bytes | None:
    """Take the first APDU off the front of ``buf``, if it is complete."""
    header = _header(buf, 0)
    if header is None or len(buf) < header[2]:
        return None
    ber = bytes(buf[: header[2]])
    del buf[: header[2]]
    return ber


def accepted(answer: bytes) -> bool:
    """Whether the gateway's answer is an acknowledgement: a Status-Or-Error-Report without
    an error-report."""
    if answer[0] != STATUS_OR_ERROR_REPORT:
        return False
    outer = _header(answer, 0)
    assert outer is not None
    sequence = _header(answer, outer[1])
    assert sequence is not None
    pos = sequence[1]
    while pos < sequence[2]:
        child = _header(answer, pos)
        assert child is not None
        if child[0] == ERROR_REPORT:
            return False
        pos = child[2]
    return True


# -- the simulated peers ------------------------------------------------------------------


class Peer(asyncio.Protocol):
    """One connection to a simulated peer: each APDU acknowledged at once, its arrival noted."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        assert self.transport is not None
        self.buf += data
        while (ber := take(self.buf)) is not None:
            self.arrivals.note(ber, now)
            self.transport.write(self.arrivals.ack)


@dataclass
class Arrivals:
    """What the peers received since the last collection."""

    ack: bytes
    times: dict[int, int] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, ber: bytes, now: int) -> None:
        start = ber.index(MARKER) + len(MARKER)
        self.times[key(int(ber[start : start + DIGITS]), ber)] = now
        self.changed.set()

    async def collect(self, expected: int, timeout: float) -> list[tuple[int, int]]:
        """Everything received since the last call, once ``expected`` APDUs have arrived or
        ``timeout`` seconds have passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.times) < expected and loop.time() < deadline:
            self.changed.clear()
            try:
                async with asyncio.timeout(deadline - loop.time()):
                    await self.changed.wait()
            except TimeoutError:
                break
        collected = list(self.times.items())
        self.times = {}
        return collected


async def serve_peers(count: int) -> None:
    """``count`` simulated peers on loopback. Prints their ports, then answers each command
    line on stdin, ``collect EXPECTED TIMEOUT``, with a JSON line of ``[id, arrival]``
    pairs; ends at end of input. Every APDU must carry a benchmark id."""
    loop = asyncio.get_running_loop()
    arrivals = Arrivals(acknowledgement())
    servers = [
        await loop.create_server(lambda: Peer(arrivals), "127.0.0.1", 0) for _ in range(count)
    ]
    print(json.dumps({"ports": [s.sockets[0].getsockname()[1] for s in servers]}), flush=True)
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command, expected, timeout = line.split()
        assert command == b"collect"
        print(json.dumps(await arrivals.collect(int(expected), float(timeout))), flush=True)


# -- the clients --------------------------------------------------------------------------


@dataclass
class Load:
    """What the clients send: ``connections`` workers, each running whole transactions in
    lock-step (every APDU answered before the next is sent)."""

    to_responder: tuple[str, int]  # where the requester's APDUs go
    to_requester: tuple[str, int]  # where the responder's APDUs go
    persistent: bool  # one kept connection per worker and side, else one per APDU
    connections: int
    transactions: int
    first_serial: int
    rate: float  # APDUs/s for all workers together, open-loop; 0: as fast as answered
    templates: list[Template]


@dataclass
class Outcome:
    sent: list[tuple[int, int, int]] = field(default_factory=list)  # key, sent, answered (ns)
    refused: int = 0
    refusals: list[str] = field(default_factory=list)  # the first few reasons
    errors: list[str] = field(default_factory=list)


class Schedule:
    """Open-loop send times at a fixed rate: the i-th APDU is due at start + i/rate, whether
    or not the answers keep up. Latency counts from the due time, so a late send counts too."""

    def __init__(self, rate: float) -> None:
        self.interval = 1e9 / rate
        self.start = time.monotonic_ns() + 50_000_000
        self.slot = 0

    async def next(self) -> int:
        due = self.start + int(self.slot * self.interval)
        self.slot += 1
        if (delay := due - time.monotonic_ns()) > 0:
            await asyncio.sleep(delay / 1e9)
        return due


class Connection:
    """A lock-step connection: one APDU out, one answer back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.buf = bytearray()

    @classmethod
    async def open(cls, address: tuple[str, int]) -> Connection:
        return cls(*await asyncio.open_connection(*address))

    async def exchange(self, ber: bytes) -> bytes:
        self.writer.write(ber)
        while (answer := take(self.buf)) is None:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                raise ConnectionResetError("closed before answering")
            self.buf += data
        return answer

    def close(self) -> None:
        self.writer.close()


async def _worker(load: Load, serials: range, schedule: Schedule | None, out: Outcome) -> None:
    kept: dict[str, Connection] = {}
    for serial in serials:
        for template in load.templates:
            ber = template.fill(serial)
            side = template.side
            address = load.to_responder if side == "requester" else load.to_requester
            sent = await schedule.next() if schedule else time.monotonic_ns()
            try:
                if load.persistent:
                    if side not in kept:
                        kept[side] = await Connection.open(address)
                    answer = await kept[side].exchange(ber)
                else:
                    connection = await Connection.open(address)
                    try:
                        answer = await connection.exchange(ber)
                    finally:
                        connection.close()
            except OSError as error:
                out.errors.append(repr(error))
                if (broken := kept.pop(side, None)) is not None:
                    broken.close()
                break  # the rest of this transaction would be refused
            answered = time.monotonic_ns()
            if not accepted(answer):
                out.refused += 1
                if len(out.refusals) < 5:
                    out.refusals.append(str(getattr(decode(answer), "note", answer[:40])))
                break
            out.sent.append((key(serial, ber), sent, answered))
    for connection in kept.values():
        connection.close()


async def run_clients(load: Load) -> Outcome:
    out = Outcome()
    schedule = Schedule(load.rate) if load.rate else None
    share, extra = divmod(load.transactions, load.connections)
    first, workers = load.first_serial, []
    for index in range(load.connections):
        count = share + (index < extra)
        workers.append(_worker(load, range(first, first + count), schedule, out))
        first += count
    await asyncio.gather(*workers)
    return out


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    roles = parser.add_subparsers(dest="role", required=True)
    peer = roles.add_parser("peer", help="simulated peers that acknowledge every APDU")
    peer.add_argument("--count", type=int, default=2)
    client = roles.add_parser("client", help="send transactions; print the outcome as JSON")
    client.add_argument("--to-responder", type=_address, required=True)
    client.add_argument("--to-requester", type=_address, required=True)
    client.add_argument("--requester", required=True, help="the requester's symbol")
    client.add_argument("--responder", required=True, help="the responder's symbol")
    client.add_argument("--persistent", action="store_true")
    client.add_argument("--connections", type=int, required=True)
    client.add_argument("--transactions", type=int, required=True)
    client.add_argument("--first-serial", type=int, required=True)
    client.add_argument("--rate", type=float, default=0.0)
    args = parser.parse_args()
    if args.role == "peer":
        asyncio.run(serve_peers(args.count))
        return
    load = Load(
        args.to_responder,
        args.to_requester,
        args.persistent,
        args.connections,
        args.transactions,
        args.first_serial,
        args.rate,
        lifecycle(args.requester, args.responder),
    )
    out = asyncio.run(run_clients(load))
    json.dump(out.__dict__, sys.stdout)


if __name__ == "__main__":
    main()
