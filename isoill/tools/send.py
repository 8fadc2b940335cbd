"""Sending APDUs to an ILL server and judging its replies as ``yaz-illclient`` does: the core
of ``isoill send``.

APDUs go lock-step, each reply read before the next APDU is sent, on one connection or on one
connection each. Every exchange gets a :class:`Status`, numbered as yaz-illclient's exit
statuses: a Status-Or-Error-Report without error-report is acknowledged (0), one with an
error-report is refused (7), any other reply is wrong (6), no reply is 5. yaz-illclient exits
with 3 when it cannot connect; here that is 4 (its status for a failed send), since isoill's 3
means bad input. On one connection nothing more is sent after an exchange without a reply
(none came, or one that cannot be framed): the stream has no trustworthy boundary left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from pydantic import BaseModel

from isoill.codec.decoder import decode
from isoill.codec.errors import CodecError, FramingError
from isoill.codec.framing import Framer
from isoill.codec.models import StatusOrErrorReport
from isoill.codec.text import Text
from isoill.codec.values import AsnEnum

READ_CHUNK = 65536


class Status(IntEnum):
    """What came of one exchange; the value is the exit status of ``isoill send``."""

    OK = 0
    NOT_SENT = 4
    NO_REPLY = 5
    WRONG_REPLY = 6
    ERROR_REPORT = 7


#: From best to worst: the exit status of several exchanges is that of the worst.
SEVERITY = (Status.OK, Status.ERROR_REPORT, Status.WRONG_REPLY, Status.NO_REPLY, Status.NOT_SENT)


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=SEVERITY.index, default=Status.OK)


@dataclass(frozen=True)
class Exchange:
    """One APDU sent (or, with :attr:`Status.NOT_SENT`, meant to be) and what came back."""

    sent: bytes
    reply: bytes | None
    status: Status
    reason: str  # one line: "Ok", the error report's problem and note, why there is no reply


def judge(reply: bytes) -> tuple[Status, str]:
    """The status of a reply, and the reason in one line."""
    try:
        apdu = decode(reply)
    except CodecError as error:
        return Status.WRONG_REPLY, f"unreadable reply: {error}"
    if not isinstance(apdu, StatusOrErrorReport):
        return Status.WRONG_REPLY, f"wrong reply: {apdu.apdu_type}, not a Status-Or-Error-Report"
    if apdu.error_report is None:
        return Status.OK, "Ok"
    return Status.ERROR_REPORT, describe_error(apdu)


def describe_error(report: StatusOrErrorReport) -> str:
    """An error report in one line: its source, the problem and the note, e.g. ``user error
    intermediary-problem cannot-send-onward: no route to NOBODY``."""
    error = report.error_report
    assert error is not None
    text = f"{error.report_source.asn1_name} error"
    problem = error.user_error_report or error.provider_error_report
    if problem is not None:
        name, value = problem.chosen
        text += f" {name} {_value(value)}"
    if report.note is not None:
        text += f": {report.note}"
    return " ".join(text.split())


def _value(value: object) -> str:
    if isinstance(value, AsnEnum):
        return value.asn1_name
    if isinstance(value, BaseModel):
        return json.dumps(value.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
    assert isinstance(value, Text)
    return value.text


async def send(
    host: str, port: int, apdus: Sequence[bytes], *, per_apdu: bool, timeout: float
) -> list[Exchange]:
    """Send ``apdus`` lock-step to ``host:port``, on one connection or (``per_apdu``) on one
    connection each, waiting up to ``timeout`` seconds to connect and for each reply.

    One exchange per APDU sent; on a connection left without a reply, the APDUs after it
    are not sent and have none.
    """
    groups = [[apdu] for apdu in apdus] if per_apdu else [list(apdus)]
    exchanges: list[Exchange] = []
    for group in groups:
        exchanges += await _on_one_connection(host, port, group, timeout)
    return exchanges


async def _on_one_connection(
    host: str, port: int, apdus: list[bytes], timeout: float
) -> list[Exchange]:
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return [Exchange(apdus[0], None, Status.NOT_SENT, f"no connection to {where} in time")]
    except OSError as error:
        reason = f"cannot connect to {where}: {error.strerror or error}"
        return [Exchange(apdus[0], None, Status.NOT_SENT, reason)]
    framer = Framer()
    exchanges = []
    try:
        for apdu in apdus:
            exchange = await _exchange(reader, writer, framer, apdu, timeout)
            exchanges.append(exchange)
            if exchange.reply is None:
                break
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return exchanges


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    framer: Framer,
    apdu: bytes,
    timeout: float,
) -> Exchange:
    try:
        async with asyncio.timeout(timeout):
            writer.write(apdu)
            await writer.drain()
            while (reply := framer.next_apdu()) is None:
                data = await reader.read(READ_CHUNK)
                if not data:
                    return Exchange(apdu, None, Status.NO_REPLY, "connection closed, no reply")
                framer.feed(data)
    except TimeoutError:
        return Exchange(apdu, None, Status.NO_REPLY, f"no reply within {timeout:g} s")
    except OSError as error:
        return Exchange(apdu, None, Status.NO_REPLY, f"connection lost: {error}")
    except FramingError as error:
        return Exchange(apdu, None, Status.WRONG_REPLY, f"unreadable reply: {error}")
    return Exchange(apdu, reply, *judge(reply))
