"""A simulated ILL peer: it listens, records every APDU it receives and answers each one by
script, lock-step on the connection it came on (the core of ``isoill peer``).

A script (TOML) maps an APDU type, or ``"*"`` for any other, to an answer; a type it does not
name gets a status-report:

    "ILL-Request" = "Shipped"            # or "ILL-Answer unfilled", "error unable-to-perform"
    "Renew" = "Renew-Answer yes"
    "*" = "status-report"                # "none": answer nothing
    "Renew" = ["Renew-Answer yes", "Renew-Answer no"]   # in turn; the last for the rest

Answers (docs/tools.md has the full list):

- ``status-report``: an acknowledgement, as :func:`isoill.core.reports.acknowledgement` makes;
- ``none``: nothing;
- ``error PROBLEM [VALUE]``: a Status-Or-Error-Report with an error-report (:data:`PROBLEMS`);
- an APDU type with its argument, if it takes one: ``Shipped [loan|copy-non-returnable]``,
  ``ILL-Answer RESULT``, ``Renew-Answer yes|no``, ``Received``... (:data:`APDU_ANSWERS`).

Every answer is built from the APDU it answers: same transaction-id, requester-id and
responder-id, the service date-time now, and what the standard requires filled sensibly
(dates due in four weeks, a reason for each ILL-Answer result). The peer signs with its own
symbol where the APDU does not name its side: the responder-id of what a requester sends, the
requester-id of what a responder sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError, FramingError
from isoill.codec.framing import Framer
from isoill.codec.models import (
    GeneralProblem,
    IllApdu,
    ILLRequest,
    IntermediaryProblem,
    Received,
    Shipped,
    ShippedServiceType,
    StatusOrErrorReport,
    SystemId,
    TransactionIdProblem,
    TransactionResults,
    UnableToPerform,
)
from isoill.codec.plan import APDUS
from isoill.codec.values import AsnEnum
from isoill.core import reports
from isoill.core.acknowledgement import Party, acknowledgement
from isoill.ill.apdus import APDU_FLOW, Flow
from isoill.ill.enumerated import ILL_APDU_TYPE
from isoill.ill.symbols import symbol_of, system_id
from isoill.ill.transaction_id import shown, transaction_key
from isoill.ill.versions import reply_version

READ_CHUNK = 65536
LOAN_PERIOD = timedelta(days=28)
REPLY_PERIOD = timedelta(days=7)

#: APDUs the peer can answer with, and the values of the argument each takes (none: no
#: argument). ``Shipped`` and ``Received`` take the service type if they are given one.
APDU_ANSWERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Shipped": tuple(t.asn1_name for t in ShippedServiceType),
        "ILL-Answer": tuple(result.asn1_name for result in TransactionResults),
        "Conditional-Reply": ("yes", "no"),
        "Cancel": (),
        "Cancel-Reply": ("yes", "no"),
        "Received": tuple(t.asn1_name for t in ShippedServiceType),
        "Recall": (),
        "Returned": (),
        "Checked-In": (),
        "Overdue": (),
        "Renew": (),
        "Renew-Answer": ("yes", "no"),
        "Lost": (),
        "Damaged": (),
        "Message": (),
        "Status-Query": (),
        "Expired": (),
    }
)
_ARGUMENT_OPTIONAL = frozenset({"Shipped", "Received"})

#: Error-report problems: the report source, the values and the value when none is given.
#: ``security-problem`` takes any text; ``state-transition-prohibited`` names the APDU answered.
PROBLEMS: Mapping[str, tuple[str, type[AsnEnum] | None, str | None]] = MappingProxyType(
    {
        "unable-to-perform": ("user", UnableToPerform, "other"),
        "intermediary-problem": ("user", IntermediaryProblem, "cannot-send-onward"),
        "security-problem": ("user", None, "refused by the simulated peer"),
        "general-problem": ("provider", GeneralProblem, "other"),
        "transaction-id-problem": ("provider", TransactionIdProblem, "unknown-transaction-id"),
        "state-transition-prohibited": ("provider", None, None),
    }
)


class ScriptError(Exception):
    """A script that cannot be used; one line per problem, each naming the file."""


@dataclass(frozen=True)
class Answer:
    """One answer of a script: ``kind`` is ``status-report``, ``none``, ``error`` or the APDU
    type answered with; ``argument`` what follows it, if anything."""

    kind: str
    argument: str | None = None

    @classmethod
    def parse(cls, text: str) -> Answer:
        """The answer ``text`` names; :class:`ValueError` says what is wrong with it."""
        kind, _, rest = text.strip().partition(" ")
        argument = rest.strip() or None
        if kind in ("status-report", "none"):
            if argument is not None:
                raise ValueError(f"{kind!r} takes no argument, got {argument!r}")
        elif kind == "error":
            _check_error(argument)
        elif kind in APDU_ANSWERS:
            _check_apdu_argument(kind, argument)
        else:
            raise ValueError(
                f"unknown answer {text!r}: expected status-report, none, error PROBLEM, or one"
                f" of {', '.join(APDU_ANSWERS)}"
            )
        return cls(kind, argument)

    def __str__(self) -> str:
        return self.kind if self.argument is None else f"{self.kind} {self.argument}"

    def respond(self, apdu: IllApdu, symbol: str, now: datetime) -> IllApdu | None:
        """What a peer with library ``symbol`` answers to ``apdu`` at ``now``."""
        if self.kind == "none":
            return None
        requester, responder = _parties(apdu, symbol)
        if self.kind == "status-report":
            # the most recent service is the received APDU: its sender initiated it
            initiator: Party = "requester-id" if _receiver_is_responder(apdu) else "responder-id"
            ack = decode(acknowledgement(apdu.ber or encode(apdu), now, initiator=initiator))
            return ack.model_copy(update={"requester_id": requester, "responder_id": responder})
        envelope: dict[str, Any] = {
            "protocol-version-num": reply_version(apdu.protocol_version_num),
            "transaction-id": apdu.transaction_id,
            "service-date-time": {
                "date-time-of-this-service": {
                    "date": now.strftime("%Y%m%d"),
                    "time": now.strftime("%H%M%S"),
                }
            },
            "requester-id": requester,
            "responder-id": responder,
        }
        if self.kind == "error":
            return StatusOrErrorReport.model_validate(envelope | self._error(apdu, symbol))
        fields = self._fields(apdu, symbol, now)
        model: type[IllApdu] = APDUS[self.kind].model
        return model.model_validate(envelope | fields)

    def _error(self, apdu: IllApdu, symbol: str) -> dict[str, Any]:
        assert self.argument is not None
        problem, _, value = self.argument.partition(" ")
        source, _, default = PROBLEMS[problem]
        if problem == "state-transition-prohibited":
            apdu_type = ILL_APDU_TYPE[apdu.apdu_type]
            detail: object = {"aPDU-type": apdu_type, "current-state": "uNKNOWN"}
        else:
            detail = value.strip() or default
        return {
            "error-report": {
                "correlation-information": apdu.transaction_id.transaction_qualifier,
                "report-source": source,
                f"{source}-error-report": {problem: detail},
            },
            "note": f"simulated peer {symbol} answers {self}",
        }

    def _fields(self, apdu: IllApdu, symbol: str, now: datetime) -> dict[str, Any]:
        """The fields of the APDU answer beyond the envelope: what its type requires."""
        today = now.strftime("%Y%m%d")
        due = (now + LOAN_PERIOD).strftime("%Y%m%d")
        later = (now + REPLY_PERIOD).strftime("%Y%m%d")
        yes = self.argument == "yes"
        match self.kind:
            case "Shipped":
                service = self.argument or _service_type(apdu)
                details: dict[str, Any] = {"date-shipped": today}
                if service == ShippedServiceType.LOAN.asn1_name:
                    details["date-due"] = {"date-due-field": due}
                return {"shipped-service-type": service, "supply-details": details}
            case "ILL-Answer":
                result = TransactionResults.from_value(self.argument)
                explanation = _explanation(result, later, system_id(symbol))
                return {"transaction-results": result, "results-explanation": explanation}
            case "Conditional-Reply" | "Cancel-Reply":
                return {"answer": yes}
            case "Renew-Answer" if yes:
                return {"answer": True, "date-due": {"date-due-field": due}}
            case "Renew-Answer":
                return {"answer": False}
            case "Received":
                service = self.argument or _service_type(apdu)
                return {"date-received": today, "shipped-service-type": service}
            case "Returned":
                return {"date-returned": today}
            case "Checked-In":
                return {"date-checked-in": today}
            case "Overdue":
                return {"date-due": {"date-due-field": today, "renewable": False}}
            case "Message":
                return {"note": f"message from simulated peer {symbol}"}
        return {}


def _check_error(argument: str | None) -> None:
    problem, _, value = (argument or "").partition(" ")
    if problem not in PROBLEMS:
        got = f"unknown problem {problem!r}" if problem else "no problem"
        raise ValueError(f"error with {got}: expected one of {', '.join(PROBLEMS)}")
    _, values, _ = PROBLEMS[problem]
    value = value.strip()
    if values is not None and value:
        names = [member.asn1_name for member in values]
        if value not in names:
            raise ValueError(f"error {problem} {value}: expected one of {', '.join(names)}")
    elif problem == "state-transition-prohibited" and value:
        raise ValueError(f"error {problem} takes no value, got {value!r}")


def _check_apdu_argument(kind: str, argument: str | None) -> None:
    values = APDU_ANSWERS[kind]
    if argument is None and (not values or kind in _ARGUMENT_OPTIONAL):
        return
    if not values:
        raise ValueError(f"{kind} takes no argument, got {argument!r}")
    if argument not in values:
        got = "nothing" if argument is None else repr(argument)
        raise ValueError(f"{kind} takes one of {', '.join(values)}, got {got}")


def _explanation(result: TransactionResults, later: str, me: SystemId) -> dict[str, Any]:
    """The results-explanation of an ILL-Answer with ``result``: a plausible reason, and
    ``later`` (a week on) for a date the answer promises."""
    match result:
        case TransactionResults.CONDITIONAL:
            return {"conditional-results": {"conditions": "charges", "date-for-reply": later}}
        case TransactionResults.RETRY:
            return {
                "retry-results": {"reason-not-available": "in-use-on-loan", "retry-date": later}
            }
        case TransactionResults.UNFILLED:
            return {"unfilled-results": {"reason-unfilled": "not-owned"}}
        case TransactionResults.LOCATIONS_PROVIDED:
            locations = [{"location-id": me, "location-note": "try here"}]
            return {
                "locations-results": {"reason-locs-provided": "on-hold", "locations": locations}
            }
        case TransactionResults.WILL_SUPPLY:
            return {
                "will-supply-results": {"reason-will-supply": "in-process", "supply-date": later}
            }
        case TransactionResults.HOLD_PLACED:
            return {"hold-placed-results": {"estimated-date-available": later}}
    return {"estimate-results": {"cost-estimate": "no charge"}}


def _receiver_is_responder(apdu: IllApdu) -> bool:
    """Whether the peer receiving ``apdu`` plays the responder: it receives what a requester
    sends (and, by default, what either party sends)."""
    return APDU_FLOW.get(apdu.apdu_type) is not Flow.FROM_RESPONDER


def _parties(apdu: IllApdu, symbol: str) -> tuple[SystemId | None, SystemId | None]:
    """The requester-id and responder-id of the answer: those of ``apdu``, the peer's own
    side signed with ``symbol`` if ``apdu`` leaves it without one."""
    requester, responder = apdu.requester_id, apdu.responder_id
    if _receiver_is_responder(apdu):
        responder = responder if symbol_of(responder) else system_id(symbol)
    else:
        requester = requester if symbol_of(requester) else system_id(symbol)
    return requester, responder


def _service_type(apdu: IllApdu) -> str:
    """The service type of a Shipped or Received answering ``apdu``: that of a Shipped; the
    first of loan and copy-non-returnable an ILL-Request asks for; else loan."""
    if isinstance(apdu, Shipped | Received):
        return apdu.shipped_service_type.asn1_name
    if isinstance(apdu, ILLRequest):
        names = {t.asn1_name for t in ShippedServiceType}
        for service in apdu.ill_service_type:
            if service.asn1_name in names:
                return service.asn1_name
    return ShippedServiceType.LOAN.asn1_name


STATUS_REPORT = Answer("status-report")


@dataclass(frozen=True)
class Script:
    """Answers by APDU type; ``"*"`` for the types not named; a status-report for the rest.
    A type has one answer or several, given in turn to the APDUs of that type the peer
    receives (``turn`` counts them from 0), the last to every one after."""

    answers: Mapping[str, tuple[Answer, ...]]
    DEFAULT: ClassVar[Script]  # answers everything with a status-report

    def answer_for(self, apdu_type: str, turn: int = 0) -> Answer:
        answers = self.answers.get(apdu_type) or self.answers.get("*") or (STATUS_REPORT,)
        return answers[min(turn, len(answers) - 1)]

    @classmethod
    def load(cls, path: Path) -> Script:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ScriptError(f"{path}: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise ScriptError(f"{path}: not UTF-8 text: {error}") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<script>") -> Script:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ScriptError(f"{source}: not TOML: {error}") from None
        answers: dict[str, tuple[Answer, ...]] = {}
        problems = []
        for key, value in document.items():
            texts = value if isinstance(value, list) else [value]
            if key != "*" and key not in APDUS:
                problems.append(
                    f"{key!r} is not an APDU type (expected one of {', '.join(APDUS)} or *)"
                )
            elif not texts or not all(isinstance(text, str) for text in texts):
                problems.append(
                    f"{key}: the answer must be a string or a list of them, got {value!r}"
                )
            else:
                try:
                    answers[key] = tuple(Answer.parse(text) for text in texts)
                except ValueError as error:
                    problems.append(f"{key}: {error}")
        if problems:
            raise ScriptError("\n".join(f"{source}: {problem}" for problem in problems))
        return cls(MappingProxyType(answers))


Script.DEFAULT = Script(MappingProxyType({}))


@dataclass(frozen=True)
class Arrival:
    """One APDU the peer received: when, from which address, and what it answered."""

    at: datetime
    source: str
    ber: bytes
    apdu_type: str  # "undecodable" for bytes that are no ILL-APDU
    transaction: str  # shown on one line (REQLIB/"grp"/"42"); "-" if unknown
    answer: str  # the answer's APDU type, or "none"
    reply_to: str | None = None
    """The type of the peer's own APDU this one answers (it is not answered), if it does."""

    def __str__(self) -> str:
        when = self.at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = f"{when} {self.source} {self.apdu_type} {self.transaction} -> {self.answer}"
        return line if self.reply_to is None else f"{line} (the reply to its {self.reply_to})"


class SimulatedPeer:
    """An ILL peer on a TCP port: records every APDU it receives (``received``, and
    ``arrivals`` with times and sources) and answers each by its script.

    Lock-step goes both ways: when it answers with an APDU of its own (a Shipped), a
    Status-Or-Error-Report that comes next on that connection is the other side's reply to
    it (an acknowledgement or a refusal, as the gateway writes back on a delivery
    connection). Such a reply is kept in ``replies`` (and ``arrivals``) and not answered.

    With ``close_after_answer`` it closes each connection after its first answer, as
    per-APDU peers do; otherwise the connection stays open, lock-step. ``on_arrival`` is
    called with each :class:`Arrival`.
    """

    def __init__(
        self,
        symbol: str,
        script: Script | None = None,
        *,
        close_after_answer: bool = False,
        on_arrival: Callable[[Arrival], None] | None = None,
    ) -> None:
        self.symbol = symbol
        self.script = script if script is not None else Script.DEFAULT
        self.close_after_answer = close_after_answer
        self.received: list[bytes] = []
        self.replies: list[bytes] = []
        self.arrivals: list[Arrival] = []
        self._on_arrival = on_arrival
        self._arrived = asyncio.Condition()
        self._turns: Counter[str] = Counter()  # APDUs received by type, for the script
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> SimulatedPeer:
        self._server = await asyncio.start_server(self._serve, host, port)
        return self

    @property
    def address(self) -> str:
        """``host:port`` actually bound (an IPv6 host in brackets)."""
        assert self._server is not None, "peer not started"
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        """Every APDU received, once there are at least ``count``; :class:`TimeoutError`
        after ``timeout`` seconds."""
        async with asyncio.timeout(timeout), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)
        return list(self.received)

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is None:
            return
        self._server.close()
        for writer in self._connections.values():
            writer.close()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        source = _address(writer.get_extra_info("peername"))
        framer = Framer()
        sent: str | None = None  # the type of its own APDU just sent, whose reply may come
        try:
            while data := await reader.read(READ_CHUNK):
                framer.feed(data)
                while (ber := framer.next_apdu()) is not None:
                    if sent is not None and await self._took_reply(ber, source, sent):
                        sent = None
                        continue
                    answer = await self._take(ber, source)
                    sent = None
                    if answer is not None:
                        writer.write(encode(answer))
                        await writer.drain()
                        if not isinstance(answer, StatusOrErrorReport):
                            sent = answer.apdu_type
                    if self.close_after_answer:
                        return
        except FramingError as error:  # no boundary to go on from: say why and close
            problem = GeneralProblem.from_value(error.general_problem)
            report = reports.provider_error(None, problem, str(error), datetime.now(UTC))
            writer.write(encode(report))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            del self._connections[task]
            writer.close()

    async def _take(self, ber: bytes, source: str) -> IllApdu | None:
        """Record one APDU and return the answer, if any."""
        now = datetime.now(UTC)
        try:
            apdu = decode(ber)
        except CodecError as error:
            problem = GeneralProblem.from_value(error.general_problem)
            answer: IllApdu | None = reports.provider_error(None, problem, str(error), now)
            apdu_type, transaction = "undecodable", "-"
        else:
            scripted = self.script.answer_for(apdu.apdu_type, self._turns[apdu.apdu_type])
            self._turns[apdu.apdu_type] += 1
            answer = scripted.respond(apdu, self.symbol, now)
            apdu_type, transaction = apdu.apdu_type, shown(transaction_key(apdu.transaction_id))
        arrival = Arrival(
            now, source, ber, apdu_type, transaction, answer.apdu_type if answer else "none"
        )
        await self._arrive(arrival, self.received)
        return answer

    async def _took_reply(self, ber: bytes, source: str, reply_to: str) -> bool:
        """Whether ``ber`` is the other side's reply to the peer's own ``reply_to`` (a
        Status-Or-Error-Report): kept, and not to be answered."""
        try:
            reply = decode(ber)
        except CodecError:
            return False
        if not isinstance(reply, StatusOrErrorReport):
            return False
        now, transaction = datetime.now(UTC), shown(transaction_key(reply.transaction_id))
        arrival = Arrival(now, source, ber, reply.apdu_type, transaction, "none", reply_to)
        await self._arrive(arrival, self.replies)
        return True

    async def _arrive(self, arrival: Arrival, kept: list[bytes]) -> None:
        async with self._arrived:
            kept.append(arrival.ber)
            self.arrivals.append(arrival)
            self._arrived.notify_all()
        if self._on_arrival is not None:
            self._on_arrival(arrival)


def _address(sockname: object) -> str:
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        host, port = sockname[0], sockname[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(sockname)
