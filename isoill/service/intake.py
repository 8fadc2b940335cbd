"""The intake service: one APDU from a transport, through the core's decision, to the store,
the handoff to delivery, the logs and the metrics, and back as the answer to send.

:meth:`IntakeService.receive` is the one way in, for every transport (a listener's
connection, an answer on a delivery connection, an HTTP request). It decodes the APDU, checks
the first APDU's login (:class:`~isoill.service.access.AccessControl`), and under the lock of
the APDU's transaction loads what the store knows, asks :func:`isoill.core.intake.decide`,
and carries the decision out: an APDU is acknowledged only once the group commit holding it
has returned. An APDU that may only have overtaken its predecessor waits, unanswered and with
its transaction unlocked, for up to ``crossing_wait`` seconds.

On a store several processes share, the lock is this process's alone: an APDU judged against
a transaction that another process moved on meanwhile stores nothing (the store says
:class:`~isoill.store.records.Conflict`), and is judged again against the transaction as it
now is, up to :data:`JUDGEMENTS` times in all, before it is refused for now. And what this
process's lock and memory cannot see, the store is asked: an APDU the transaction's state
forbids is refused only once the transaction, read again from the store, still forbids it
after up to :data:`REREADS` more looks :data:`REREAD_STEP` seconds apart (its predecessor may
be in another process's commit under way); an early APDU waiting for its predecessor reads
the store again every :data:`REREAD_STEP` seconds, since another process's write wakes no one
here.

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

#: What a peer is told of an APDU whose transaction other processes kept changing meanwhile.
CONFLICT_REASON = "its transaction changed meanwhile"
#: How many times one APDU is judged at most: the first, and again after each Conflict.
JUDGEMENTS = 4
#: With a shared store: how many more times, and how many seconds apart, the transaction of an
#: APDU its state forbids is read again before the APDU is refused.
REREADS = 3
REREAD_STEP = 0.1

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
        # Other processes write to a shared store: what this one keeps in memory may be old.
        self._shared = writer.backend.capabilities.shared

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
        read = intake.read(apdu, ber, None if via is None else via.timestamp)
        # First: the first APDU's credentials narrow the symbols routing goes by.
        authentication = await self.access.authenticate(
            apdu, origin.identity, origin.host, origin.log
        )
        if read.sender is not None and origin.identity is None:
            origin.symbols.add(read.sender)
        label = self.metric_peer(read.sender, origin.symbols)
        metrics.labelled(metrics.APDUS_IN, apdu.apdu_type, label).inc()
        incoming = Incoming(read, origin.connection(), now, authentication, via, xml)
        log = origin.log.bind(apdu=apdu.apdu_type, transaction=read.key)
        try:
            async with self._locks.holding(read.key) as transaction:
                decision, outcome = await self._judged(incoming, transaction, log)
                transaction.notify_all()  # an early APDU of this transaction may go on now
        except StoreError as error:  # a lookup failed: nothing was stored
            report = self._cannot_store(read.cut, log, error, now)
            # The speaker's connection setting, as for any answer: a persistent peer's
            # connection stays open for the APDU it sends again.
            peer = self.config.peer(intake.speaker(read.sender, incoming.connection))
            done = peer.connection == "per-apdu"
            return Outcome(encode(report), done=done, sender=origin.address)
        routing = decision.routing
        sender = routing.sender or origin.address
        return Outcome(  # every field but the answer's own three set here: no replace()
            outcome.reply,
            close=outcome.close,
            done=outcome.done,
            capture=self.recorded(routing.sender, origin),
            sender=sender,
            summary=f"{sender} -> {routing.target or '?'} {apdu.apdu_type}",
            received=read.cut_ber,
        )

    async def _judged(
        self, incoming: Incoming, transaction: asyncio.Condition, log: Any
    ) -> tuple[Decision, Outcome]:
        """The decision on the APDU, carried out: judged again while another process moved
        its transaction on between the judgement and the write (the writer has dropped the
        transaction from its memory, so the next judgement reads it from the store)."""
        for judgement in range(1, JUDGEMENTS + 1):
            decision, version = await self._decide(incoming, transaction, log)
            try:
                return decision, await self._carry_out(decision, incoming, log, version)
            except _MovedOn:
                metrics.JUDGED_AGAIN.inc()
                log.info("transaction changed meanwhile; judged again", judgement=judgement)
        fault = StoreFault(CONFLICT_REASON, temporary=True)
        report = self._cannot_store(incoming.read.cut, log, fault, incoming.now)
        done = self.config.peer(decision.routing.speaker).connection == "per-apdu"
        return decision, Outcome(encode(report), done=done)

    async def _decide(
        self, incoming: Incoming, transaction: asyncio.Condition, log: Any
    ) -> tuple[Decision, int | None]:
        """The core's decision, with the store's view of the transaction, and the version of
        the record it was judged against (``None``: none); an early APDU waits on
        ``transaction`` (unlocked meanwhile) for it to change, or for ``crossing_wait``. With
        a shared store, a refusal for the transaction's state is only made on a record read
        from the store, after :data:`REREADS` more looks; a wait looks at the store too."""
        clock = self.clock
        deadline = clock.monotonic() + self.config.transactions.crossing_wait
        key = incoming.read.key
        fresh = False  # the record was just read from the store, not taken from memory
        rereads = 0
        while True:
            read = incoming.read
            record = await self.writer.transaction(key)  # in memory, or one lookup
            duplicate = await self.writer.duplicate(key, read.dedup_key)
            view = View(record, duplicate, self.reachability)
            patience = clock.monotonic() < deadline
            decision = intake.decide(incoming, view, self.policy, patience=patience)
            if self._shared and _out_of_state(decision) and (not fresh or rereads < REREADS):
                if fresh:  # perhaps in another process's commit: give it a moment
                    rereads += 1
                    await asyncio.sleep(REREAD_STEP)
                self.writer.forget(key)
                fresh = True
                continue
            if not isinstance(decision, WaitForPredecessor):
                return decision, None if record is None else record.version
            log.info("waiting for the APDU this one follows", state=decision.state)
            # Here, another APDU of the transaction wakes it; with a shared store, the one it
            # waits for may come to another process: look at the store now and then.
            wait = deadline - clock.monotonic()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(wait, REREAD_STEP) if self._shared else wait):
                    await transaction.wait()
            if self._shared:
                self.writer.forget(key)
                fresh = True

    async def _carry_out(
        self, decision: Decision, incoming: Incoming, log: Any, version: int | None
    ) -> Outcome:
        """What the decision says, done; :class:`_MovedOn` if an acceptance stored nothing
        because its transaction moved on meanwhile."""
        if not isinstance(decision, Accept):  # an acceptance's, once it is stored
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
        if isinstance(stored, Conflict):  # another process moved the transaction on
            raise _MovedOn
        self._note(decision.notes, log)
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


def _out_of_state(decision: Decision) -> bool:
    """Whether ``decision`` refuses the APDU for its transaction's state (``enforce``)."""
    return isinstance(decision, Refuse) and any(
        isinstance(note, Prohibited) for note in decision.notes
    )


class _MovedOn(Exception):
    """An acceptance stored nothing: its transaction is not at the version it was judged at."""


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
