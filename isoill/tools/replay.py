"""``isoill replay``: send the APDUs a capture holds to a gateway, in their order, and check
what comes back and what the simulated peers receive.

Only what clients sent is replayed (the connecting side of each TCP stream; for raw BER and
hex input, everything). Each captured connection is replayed on a connection of its own, and
the APDUs go one at a time in capture order, each answered before the next is sent, so that a
replay is deterministic: with ``timing="asis"`` the gaps between them are kept, with
``"fast"`` there are none.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from isoill.capture.reader import CapturedApdu
from isoill.codec.decoder import decode
from isoill.codec.errors import CodecError
from isoill.codec.framing import Framer
from isoill.codec.models import StatusOrErrorReport
from isoill.tools.expectations import Expectations, Receive
from isoill.tools.peer import Script, SimulatedPeer

Timing = Literal["asis", "fast"]


@dataclass(frozen=True)
class Sent:
    """One replayed APDU (``number`` from 1, in replay order) and what came back."""

    number: int
    apdu: CapturedApdu
    reply: bytes | None
    problem: str | None = None  # why there is no reply, when there is none

    @property
    def outcome(self) -> str:
        """``acknowledged``, ``error``, ``none`` or ``answer`` (an APDU other than a report)."""
        if self.reply is None:
            return "none"
        try:
            report = decode(self.reply)
        except CodecError:
            return "answer"
        if not isinstance(report, StatusOrErrorReport):
            return "answer"
        return "acknowledged" if report.error_report is None else "error"

    def describe(self) -> str:
        """The reply in one line: its type, and for an error-report the problem and note."""
        if self.reply is None:
            return f"no reply ({self.problem})"
        try:
            reply = decode(self.reply)
        except CodecError as error:
            return f"an undecodable reply ({error})"
        if not isinstance(reply, StatusOrErrorReport):
            return reply.apdu_type
        if reply.error_report is None:
            return "acknowledged"
        failure = reply.error_report
        report = failure.user_error_report or failure.provider_error_report
        problem = "" if report is None else "{}: {}".format(*_plain(report.chosen))
        note = f": {reply.note}" if reply.note is not None else ""
        return f"error-report ({failure.report_source.asn1_name} {problem}){note}"


def _plain(chosen: tuple[str, object]) -> tuple[str, str]:
    name, value = chosen
    return name, getattr(value, "asn1_name", None) or str(value)


@dataclass(frozen=True)
class Check:
    passed: bool
    text: str

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.text}"


def client_apdus(
    apdus: Sequence[CapturedApdu], port: int | None = None, stream: int | None = None
) -> list[CapturedApdu]:
    """What clients sent, optionally only to server ``port`` or on one ``stream``."""
    return [
        apdu
        for apdu in apdus
        if apdu.from_client
        and (stream is None or apdu.stream == stream)
        and (port is None or (apdu.server is not None and apdu.server.endswith(f":{port}")))
    ]


async def replay(
    apdus: Sequence[CapturedApdu], host: str, port: int, *, timing: Timing, timeout: float
) -> list[Sent]:
    """Send ``apdus`` to ``host:port``, one captured connection per connection."""
    connections: dict[int, _Connection] = {}
    last = {apdu.stream: index for index, apdu in enumerate(apdus)}
    sent: list[Sent] = []
    loop = asyncio.get_running_loop()
    started, first = loop.time(), apdus[0].time if apdus else None
    try:
        for index, apdu in enumerate(apdus):
            if timing == "asis" and apdu.time is not None and first is not None:
                await asyncio.sleep(max(0.0, started + (apdu.time - first) - loop.time()))
            connection = connections.setdefault(apdu.stream, _Connection(host, port))
            sent.append(await connection.exchange(index + 1, apdu, timeout))
            if last[apdu.stream] == index:
                connections.pop(apdu.stream).close()
    finally:
        for connection in connections.values():
            connection.close()
    return sent


class _Connection:
    """A client connection that reconnects when the gateway has closed it (per-APDU peers)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._framer = Framer()

    async def exchange(self, number: int, apdu: CapturedApdu, timeout: float) -> Sent:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await self._open()
                writer.write(apdu.ber)
                await writer.drain()
                while (reply := self._framer.next_apdu()) is None:
                    data = await reader.read(65536)
                    if not data:
                        self.close()
                        return Sent(number, apdu, None, "connection closed")
                    self._framer.feed(data)
        except TimeoutError:
            self.close()
            return Sent(number, apdu, None, f"nothing within {timeout:g} s")
        except (OSError, CodecError) as error:
            self.close()
            return Sent(number, apdu, None, str(error))
        return Sent(number, apdu, reply)

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._stream is not None and self._stream[0].at_eof():
            self.close()
        if self._stream is None:
            self._stream = await asyncio.open_connection(self.host, self.port)
            self._framer = Framer()
        return self._stream

    def close(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream = None


async def start_peers(expectations: Expectations) -> dict[str, SimulatedPeer]:
    peers: dict[str, SimulatedPeer] = {}
    try:
        for symbol, spec in expectations.peers.items():
            host, _, port = spec.listen.rpartition(":")
            script = Script.load(spec.script) if spec.script is not None else None
            peer = SimulatedPeer(symbol, script)
            peers[symbol] = await peer.start(host.strip("[]"), int(port))
    except BaseException:
        await stop_peers(peers)
        raise
    return peers


async def stop_peers(peers: dict[str, SimulatedPeer]) -> None:
    for peer in peers.values():
        with contextlib.suppress(Exception):
            await peer.stop()


def check_replies(sent: Sequence[Sent], expectations: Expectations) -> list[Check]:
    checks = []
    for item in sent:
        expected = expectations.reply_for(item.number)
        got = item.describe()
        what = f"reply to APDU {item.number} ({_type(item.apdu.ber)}, stream {item.apdu.stream})"
        if expected.status not in ("any", item.outcome):
            checks.append(Check(False, f"{what}: expected {expected.status}, got {got}"))
        elif expected.type is not None and (
            item.reply is None or _type(item.reply) != expected.type
        ):
            checks.append(Check(False, f"{what}: expected a {expected.type}, got {got}"))
        elif expected.contains is not None and expected.contains not in got:
            checks.append(Check(False, f"{what}: expected {expected.contains!r} in {got}"))
        else:
            checks.append(Check(True, f"{what}: {got}"))
    for reply in expectations.reply:
        if reply.apdu > len(sent):
            checks.append(Check(False, f"reply to APDU {reply.apdu}: only {len(sent)} replayed"))
    return checks


async def check_peers(
    sent: Sequence[Sent], expectations: Expectations, peers: dict[str, SimulatedPeer]
) -> list[Check]:
    return [
        await _check_peer(sent, receive, peers[receive.peer]) for receive in expectations.receive
    ]


async def _check_peer(sent: Sequence[Sent], receive: Receive, peer: SimulatedPeer) -> Check:
    by_number = {item.number: item.apdu.ber for item in sent}
    if receive.apdus is not None:
        missing = [number for number in receive.apdus if number not in by_number]
        if missing:
            return Check(False, f"{receive.peer}: APDUs {missing} were not replayed")
        expected: list[object] = [by_number[number] for number in receive.apdus]
    else:
        expected = list(receive.types or ())
    with contextlib.suppress(TimeoutError):
        await peer.wait_for(len(expected), receive.within)
    received = list(peer.received)
    if receive.apdus is not None:
        numbers = {ber: number for number, ber in reversed(by_number.items())}
        got: list[object] = list(received)
        shown = ", ".join(
            f"APDU {numbers[ber]}" if ber in numbers else f"{_type(ber)} (not replayed as sent)"
            for ber in received
        )
        wanted = ", ".join(f"APDU {number}" for number in receive.apdus)
    else:
        got = [_type(ber) for ber in received]
        shown, wanted = ", ".join(map(str, got)), ", ".join(map(str, expected))
    if got == expected:
        return Check(True, f"{receive.peer} received {wanted or 'nothing'}")
    return Check(
        False, f"{receive.peer}: expected {wanted or 'nothing'}; received {shown or 'nothing'}"
    )


def _type(ber: bytes) -> str:
    try:
        return decode(ber).apdu_type
    except CodecError:
        return "an undecodable APDU"
