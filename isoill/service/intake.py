"""The intake service: one APDU from a transport, through the core's decision, to the store,
the handoff to delivery, the logs and the metrics, and back as the answer to send.

:meth:`IntakeService.receive` is the one way in, for every transport (a listener's
connection, an answer on a delivery connection, an HTTP request). It decodes the APDU, checks
the first APDU's login (:class:`~isoill.service.access.AccessControl`), and under the lock of
the APDU's transaction loads what the store knows, asks :func:`isoill.core.intake.decide`,
and carries the decision out: an APDU is acknowledged only once the group commit holding it
has returned. An APDU that may only have overtaken its predecessor waits, unanswered and with
its transaction unlocked, for up to ``crossing_wait`` seconds.

It never raises but for cancellation: a store fault is answered with a temporary refusal, a
bug below (an exception nothing expects) with another, logged with its traceback and counted
(``isoill_internal_errors_total``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from isoill import metrics
from isoill.access.credentials import Credentials
from isoill.bridge.messages import Authentication
from isoill.bridge.via import Via
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError
from isoill.codec.models import IllApdu, StatusOrErrorReport
from isoill.config import Config
from isoill.core import intake, reports
from isoill.core.decision import (
    Accept,
    AnswerFromHistory,
    ClientIdWithheld,
    Decision,
    Duplicate,
    Incoming,
    Message,
    Note,
    Prohibited,
    Refuse,
    Routing,
    RuleFinding,
    Unroutable,
    View,
    WaitForPredecessor,
)
from isoill.core.intake import Policy
from isoill.core.parties import sender_of
from isoill.router import RoutingTable
from isoill.service.access import AccessControl
from isoill.service.clock import Clock
from isoill.service.handoff import Handoff
from isoill.service.locks import TransactionLocks
from isoill.service.origin import Origin, Outcome
from isoill.service.reachability import Reachability
from isoill.store import writes
from isoill.store.errors import StoreError, StoreFault
from isoill.store.group import GroupWriter
from isoill.store.records import Conflict
from isoill.store.records import Duplicate as Duplicated

#: What a peer is told of an APDU whose transaction another process changed meanwhile.
CONFLICT_REASON = "its transaction changed meanwhile"

#: The ``peer`` label of metrics for a sender or target that is not configured.
UNKNOWN_PEER = "unknown"


class IntakeService:
    def __init__(
        self,
        config: Config,
        routes: RoutingTable,
        writer: GroupWriter,
        handoff: Handoff,
        access: AccessControl,
        reachability: Reachability,
        clock: Clock,
    ) -> None:
        self.config = config
        self.policy = Policy(
            config, routes, config.rule_profiles(), authentications(config.credentials)
        )
        self.writer = writer
        self.handoff = handoff
        self.access = access
        self.reachability = reachability
        self.clock = clock
        self._locks = TransactionLocks()

    @property
    def routes(self) -> RoutingTable:
        return self.policy.routes

    def use_routes(self, routes: RoutingTable) -> None:
        """Route by ``routes`` from the next APDU on (a reload swaps the table whole)."""
        self.policy = replace(self.policy, routes=routes)

    def use_credentials(self, credentials: Credentials) -> None:
        """Write the ISO 18626 peers' authentication ``credentials`` give from the next APDU
        on (a reload of the credentials file)."""
        self.policy = replace(self.policy, authentications=authentications(credentials))

    def recorded(self, sender: str | None, origin: Origin) -> bool:
        """Whether an APDU from ``sender`` may be recorded: that peer's ``capture``; for an
        APDU that names no sender, that of every symbol seen on its connection, or of
        ``default_peer`` when none has been."""
        symbols = {sender} if sender else origin.symbols
        if not symbols:
            return self.config.default_peer.capture
        return all(self.config.peer(symbol).capture for symbol in symbols)

    def metric_peer(self, symbol: str | None, symbols: Collection[str] = ()) -> str:
        """The ``peer`` label of a metric: ``symbol`` (else the connection's one symbol) if it
        is configured (under ``[peers]`` or in the routes), else ``unknown``. Labels come
        from a bounded set: every label value is a time series kept for ever."""
        if symbol is None and len(symbols) == 1:
            (symbol,) = symbols
        if symbol is None:
            return UNKNOWN_PEER
        if symbol in self.config.peers:
            return symbol
        return self.routes.peer(symbol) or UNKNOWN_PEER

    async def receive(
        self, ber: bytes, origin: Origin, via: Via | None = None, xml: bytes | None = None
    ) -> Outcome:
        """What to answer to one APDU from ``origin``, once everything the gateway does with
        it is done; ``via``: what the ISO 18626 message it was mapped from said beside it,
        and ``xml`` that message as it came in (the store keeps it beside the APDU)."""
        now = self.clock.now()
        apdu: IllApdu | None = None
        try:
            apdu = decode(ber)
        except CodecError as error:
            return self._malformed(error, origin, now)
        except Exception:
            return self._internal_error(apdu, origin, now)
        try:
            return await self._receive(apdu, ber, origin, now, via, xml)
        except Exception:
            return self._internal_error(apdu, origin, now)

    async def _receive(
        self,
        apdu: IllApdu,
        ber: bytes,
        origin: Origin,
        now: datetime,
        via: Via | None,
        xml: bytes | None,
    ) -> Outcome:
        read = intake.read(apdu, ber)
        # First: the first APDU's credentials narrow the symbols routing goes by.
        authentication = await self.access.authenticate(
            apdu, origin.identity, origin.host, origin.log
        )
        if read.sender is not None and origin.identity is None:
            origin.symbols.add(read.sender)
        metrics.APDUS_IN.labels(apdu.apdu_type, self.metric_peer(read.sender, origin.symbols)).inc()
        incoming = Incoming(read, origin.connection(), now, authentication, via, xml)
        log = origin.log.bind(apdu=apdu.apdu_type, transaction=read.key)
        try:
            async with self._locks.holding(read.key) as transaction:
                decision, version = await self._decide(incoming, transaction, log)
                outcome = await self._carry_out(decision, incoming, log, version)
                transaction.notify_all()  # an early APDU of this transaction may go on now
        except StoreError as error:  # a lookup failed: nothing was stored
            report = self._cannot_store(read.cut, log, error, now)
            done = self.config.default_peer.connection == "per-apdu"
            return Outcome(encode(report), done=done, sender=origin.address)
        routing = decision.routing
        sender = routing.sender or origin.address
        return replace(
            outcome,
            capture=self.recorded(routing.sender, origin),
            sender=sender,
            summary=f"{sender} -> {routing.target or '?'} {apdu.apdu_type}",
            received=read.cut_ber,
        )

    async def _decide(
        self, incoming: Incoming, transaction: asyncio.Condition, log: Any
    ) -> tuple[Decision, int | None]:
        """The core's decision, with the store's view of the transaction, and the version of
        the record it was judged against (``None``: none); an early APDU waits on
        ``transaction`` (unlocked meanwhile) for it to change, or for ``crossing_wait``."""
        clock = self.clock
        deadline = clock.monotonic() + self.config.transactions.crossing_wait
        while True:
            read = incoming.read
            record = await self.writer.transaction(read.key)  # in memory, or one lookup
            duplicate = await self.writer.duplicate(read.key, read.dedup_key)
            view = View(record, duplicate, self.reachability)
            patience = clock.monotonic() < deadline
            decision = intake.decide(incoming, view, self.policy, patience=patience)
            if not isinstance(decision, WaitForPredecessor):
                return decision, None if record is None else record.version
            log.info("waiting for the APDU this one follows", state=decision.state)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline - clock.monotonic()):
                    await transaction.wait()

    async def _carry_out(
        self, decision: Decision, incoming: Incoming, log: Any, version: int | None
    ) -> Outcome:
        self._note(decision.notes, log)
        done = self.config.peer(decision.routing.speaker).connection == "per-apdu"
        match decision:
            case Accept():
                return await self._accept(decision, incoming, log, done, version)
            case Duplicate():
                metrics.DUPLICATES.inc()
                log.info("duplicate", id=decision.earlier)
                return Outcome(decision.reply, done=done)
            case Refuse():
                await self._refuse(decision, incoming, log)
                return Outcome(encode(decision.report), close=decision.close, done=done)
            case Unroutable():
                report = await self._unroutable(decision, incoming, log)
                return Outcome(encode(report), done=done)
            case AnswerFromHistory():
                report = await self._from_history(decision.routing, incoming, log)
                return Outcome(encode(report), done=done)
            case WaitForPredecessor():  # _decide waits these out
                raise AssertionError("a decision still waiting for its predecessor")

    @staticmethod
    def _note(notes: tuple[Note, ...], log: Any) -> None:
        """Log and count what the decision noted."""
        for note in notes:
            match note:
                case RuleFinding(finding):
                    severity = finding.severity.value
                    metrics.RULE_FINDINGS.labels(finding.rule.name, severity).inc()
                    log.warning(
                        "rule " + severity,
                        rule=finding.rule.name,
                        profile=finding.profile,
                        element=finding.element,
                        problem=finding.violation.message,
                    )
                case Prohibited(reason, mode):
                    metrics.PROHIBITED.labels(mode).inc()
                    if mode != "off":
                        log.warning("state transition prohibited", reason=reason, mode=mode)
                case ClientIdWithheld():
                    log.info("client-id withheld")

    async def _accept(
        self, decision: Accept, incoming: Incoming, log: Any, done: bool, version: int | None
    ) -> Outcome:
        """Store the APDU for delivery (or hold it), then acknowledge it."""
        message, routing, held = decision.message, decision.routing, decision.held
        write = writes.Accept(
            peer=message.peer,
            apdu_type=message.apdu_type,
            transaction_key=message.transaction_key,
            target_symbol=message.target_symbol,
            ber=message.ber,
            addresses=routing.addresses if held is None else (),
            held=held,
            requester_symbol=message.requester_symbol,
            responder_symbol=message.responder_symbol,
            dedup_key=message.dedup_key,
            states=message.states,
            forward=message.forward,
            now=incoming.now,
            expected_version=version,
            xml=message.xml,
            bridge=message.bridge,
        )
        try:
            # Returns once the commit that holds it has: only then is the APDU acknowledged.
            stored = await self.writer.write(write)
        except StoreError as error:  # the store refused: say so, never acknowledge
            report = self._cannot_store(incoming.read.cut, log, error, incoming.now)
            return Outcome(encode(report), done=done)
        if isinstance(stored, Conflict):
            # Another process moved the transaction on: refused for now, as a store fault is
            # (until the APDU is judged again instead).
            fault = StoreFault(CONFLICT_REASON, temporary=True)
            report = self._cannot_store(incoming.read.cut, log, fault, incoming.now)
            return Outcome(encode(report), done=done)
        if isinstance(stored, Duplicated):  # the same APDU, stored meanwhile by another
            metrics.DUPLICATES.inc()
            log.info("duplicate", id=stored.existing_id)
            return Outcome(decision.reply, done=done)
        target = routing.target
        if held is None:
            self.handoff.offer(stored.deliveries)
            count = len(routing.addresses)
            log.info(
                "accepted", id=stored.message_id, target=target, rule=routing.rule, addresses=count
            )
        else:
            metrics.QUEUE_DEPTH.labels("held").inc()  # the forwarder's next poll sets the count
            log.warning("held", id=stored.message_id, target=target, reason=held)
        return Outcome(decision.reply, done=done)

    async def _refuse(self, decision: Refuse, incoming: Incoming, log: Any) -> None:
        """Count and log a refusal, and keep the APDU as refused for its transaction's
        history. The refusal goes out even if the store cannot take it now: the sender
        learns of it either way."""
        report = decision.report
        if decision.cause is not None:
            metrics.REJECTIONS.labels(decision.cause).inc()
        if decision.cause == "security":
            problem = _security_problem(report)
            log.warning("security problem", problem=problem, reason=str(report.note))
        elif decision.cause == "bridge":
            log.warning("refused: no ISO 18626 form", reason=str(report.note))
        if decision.keep is None:
            return
        try:
            await self.writer.write(_kept(decision.keep, "refused", str(report.note), incoming))
        except StoreError as error:
            log.error("store failed", error=repr(error))

    async def _unroutable(
        self, decision: Unroutable, incoming: Incoming, log: Any
    ) -> StatusOrErrorReport:
        """Keep an APDU that has nowhere to go for operators to see, and say so."""
        kept = replace(decision.message, target_symbol=None)
        try:
            await self.writer.write(_kept(kept, "unroutable", decision.reason, incoming))
        except StoreError as error:  # not kept: refused for now, so that it comes again
            return self._cannot_store(incoming.read.cut, log, error, incoming.now)
        metrics.REJECTIONS.labels("unroutable").inc()
        log.warning("unroutable", reason=decision.reason)
        return decision.report

    async def _from_history(
        self, routing: Routing, incoming: Incoming, log: Any
    ) -> StatusOrErrorReport:
        key = incoming.read.key
        record = await self.writer.transaction(key)
        last = await self.writer.call(self.writer.backend.last_service, key)
        report = intake.history_report(incoming, routing, record, last)
        metrics.STATUS_FROM_HISTORY.inc()
        state = report.status_report.provider_status_report if report.status_report else None
        log.info("status answered from history", state=state.value if state else None)
        return report

    @staticmethod
    def _cannot_store(
        apdu: IllApdu, log: Any, error: StoreError, now: datetime
    ) -> StatusOrErrorReport:
        """The temporary refusal of an APDU the store could not take (or answer a lookup
        for), logged and counted."""
        metrics.REJECTIONS.labels("store").inc()
        log.error("store failed; APDU refused for now", error=repr(error))
        return reports.temporary_refusal(apdu, error.reason, now)

    def _malformed(self, error: CodecError, origin: Origin, now: datetime) -> Outcome:
        origin.malformed += 1
        metrics.REJECTIONS.labels("malformed").inc()
        origin.log.warning("malformed APDU", error=str(error), count=origin.malformed)
        report = encode(intake.malformed(error, now))
        return Outcome(
            report,
            close=origin.malformed >= self.config.limits.max_malformed,
            done=self.config.default_peer.connection == "per-apdu",
            capture=self.recorded(None, origin),
            sender=origin.address,
            summary=f"{origin.address} -> ? malformed APDU",
        )

    def _internal_error(self, apdu: IllApdu | None, origin: Origin, now: datetime) -> Outcome:
        """The answer to an APDU the gateway failed on: a temporary refusal. Called from an
        ``except`` block: the log line carries the traceback. Nothing is recorded in the
        capture, since what the sender's settings allow is not known for sure."""
        metrics.INTERNAL_ERRORS.labels("intake").inc()
        kind = apdu.apdu_type if apdu is not None else "APDU"
        origin.log.exception("internal error; APDU refused for now", apdu=kind)
        sender = None if apdu is None else sender_of(apdu.apdu_type, intake.named_in(apdu))[1]
        peer = self.config.peer(intake.speaker(sender, origin.connection()))
        report = encode(reports.internal_error(apdu, now))
        summary = f"{origin.address} -> ? {kind} (internal error)"
        done = peer.connection == "per-apdu"
        return Outcome(report, done=done, capture=False, sender=origin.address, summary=summary)


def _kept(
    message: Message, state: Literal["unroutable", "refused"], reason: str, incoming: Incoming
) -> writes.Keep:
    return writes.Keep(
        peer=message.peer,
        apdu_type=message.apdu_type,
        transaction_key=message.transaction_key,
        target_symbol=message.target_symbol,
        ber=message.ber,
        reason=reason,
        state=state,
        now=incoming.now,
        xml=message.xml,
    )


def authentications(credentials: Credentials) -> dict[str, Authentication]:
    """The ``requestingAgencyAuthentication`` of each ISO 18626 peer the credentials name."""
    return {
        symbol: Authentication(login.account_id, login.security_code)
        for symbol, login in credentials.agencies.items()
    }


def _security_problem(report: StatusOrErrorReport) -> str | None:
    error = report.error_report
    user = error.user_error_report if error is not None else None
    problem = user.security_problem if user is not None else None
    return problem.text if problem is not None else None
