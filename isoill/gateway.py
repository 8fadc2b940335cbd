"""What the gateway does with one APDU: decode it, choose its target, store it durably, and
say what to answer. The server feeds it APDUs from connections; the forwarder feeds it the
APDUs peers send back on delivery connections.

The store (:mod:`isoill.store`) is used from one worker thread so that its connection stays on
one thread and writes never block the event loop, through a
:class:`isoill.store.group.GroupWriter`: APDUs stored while a commit is being made are
committed together in the next one (each acknowledged only once the commit holding it has
returned), and the transactions in use are kept in memory for the checks of each APDU.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from isoill import logs, metrics, private, reports
from isoill.access import parties
from isoill.access.identity import AccessControl, Identity
from isoill.access.parties import Refusal
from isoill.access.prompt import extensions_of
from isoill.acknowledgement import Party, acknowledgement
from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.capture.recorder import Recorder
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError
from isoill.codec.models import (
    External,
    GeneralProblem,
    IllApdu,
    ILLRequest,
    StatusOrErrorReport,
    TransactionIdProblem,
)
from isoill.codec.splice import without_extensions, without_field
from isoill.config import Config, ConfigError, Peer
from isoill.core.views import TransactionRecord
from isoill.handoff import Handoff
from isoill.ill.apdus import APDU_FLOW, Flow, Role
from isoill.ill.symbols import symbol_key, symbol_of, system_id
from isoill.ill.transaction_id import shown, transaction_key
from isoill.router import RoutingTable, select_target
from isoill.rules.engine import Context, judge
from isoill.store.backend import Backend
from isoill.store.errors import StoreError
from isoill.store.group import GroupWriter
from isoill.store.open import open_store
from isoill.store.records import Duplicate, Forward
from isoill.store.writes import Accept, Keep, Write, WriteResult
from isoill.transactions.machine import States, advance, event_of, may_follow
from isoill.transactions.tracking import NEW, TransactionLocks, dedup_key, sender_role, states_of

T = TypeVar("T")
W = TypeVar("W", bound=WriteResult)
P = ParamSpec("P")

#: The ``peer`` label of metrics for a sender or target that is not configured.
UNKNOWN_PEER = "unknown"


@dataclass
class Origin:
    """Where an APDU came from: a peer's connection, or a reply on a delivery connection."""

    address: str
    listener_default: str | None = None
    symbols: set[str] = field(default_factory=set)  # sender symbols seen on this connection
    malformed: int = 0
    identity: Identity | None = None
    """``[access] mode = "registered"``: the peers this connection speaks for (its ``peers``
    are ``symbols``, fixed at accept rather than added as seen)."""
    log: Any = field(init=False, repr=False, compare=False)
    """Bound to the address once a connection, not once an APDU."""

    def __post_init__(self) -> None:
        self.log = logs.get(peer=self.address)


@dataclass(frozen=True)
class _Incoming:
    """One decoded APDU on its way through the gateway: who sent it and where it goes."""

    apdu: IllApdu
    ber: bytes  # without the sender's Prompt-1 login
    login_ber: bytes | None  # as received, with it: for a target that wants the sender's login
    key: str  # the whole transaction-id (isoill.ill.transaction_id)
    now: datetime
    log: Any
    origin: Origin
    sender: str | None
    requester: str | None
    responder: str | None
    intermediary: str | None
    target: str | None
    rule: str  # which routing rule chose the target
    addresses: tuple[str, ...]  # empty: unroutable, for the reason below
    unroutable: str
    speaker: str | None  # whose settings apply (see AccessControl.speaker)
    peer: Peer  # the sender's settings
    role: Role | None  # the sender's role in the transaction
    dedup_key: str
    security: Refusal | None = None  # the APDU may not come from this connection

    @property
    def done(self) -> bool:
        """Whether the sender expects the connection closed once it has its answer."""
        return self.peer.connection == "per-apdu"

    @property
    def kept_as(self) -> str:
        """Whom the store names as the APDU's sender: its sender, else the one peer its
        connection speaks for in registered mode, else the connection's address."""
        return self.speaker or self.origin.address


@dataclass(frozen=True)
class Outcome:
    """What to send back (``reply``), whether the connection must close afterwards (``close``),
    and whether the peer expects it closed once nothing more is pending (``done``); and, for
    the capture, whether the sender's settings let the APDU and the reply be recorded, who
    sent it and what it was."""

    reply: bytes | None
    close: bool = False
    done: bool = False
    capture: bool = True
    sender: str = ""
    """The sender's symbol, else the connection's address."""
    summary: str = ""
    """``SENDER -> TARGET APDU-TYPE`` (``?`` for no target)."""
    received: bytes | None = None
    """The APDU as kept and recorded (without Prompt-1 credentials); ``None``: as read, for
    an APDU that could not be decoded."""


class Gateway:
    def __init__(self, config: Config, routes: RoutingTable) -> None:
        self.config = config
        self.routes = routes
        self.profiles = config.rule_profiles()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="isoill-store")
        self._store: Backend | None = None
        # The forwarder's queries run on a connection of their own, beside the writer's
        # (WAL lets them): a query for due deliveries does not wait behind a commit.
        self._read_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="isoill-read")
        self._reader: Backend | None = None
        self._writer: GroupWriter | None = None
        self.handoff = Handoff()  # what is stored for delivery, on its way to the forwarder
        self.unreachable: set[str] = set()  # addresses whose last delivery attempt failed
        self._locks = TransactionLocks()
        self.access = AccessControl(config)
        self.recorder: Recorder | None = None  # with [capture], from open() to close()

    async def open(self) -> None:
        """Open the store (and the capture), refusing files others may read: ConfigError."""
        private.make_directory(self.config.store.parent)
        store = self.config.store
        files = [store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")]
        for path in [*files, self.config.access.credentials]:
            problem = private.exposed(path)
            if problem is not None:
                raise ConfigError(problem)
        self._store = await self._run(
            open_store,
            self.config.store,
            self.config.delivery.policy(),
            self.config.limits.store_busy_timeout,
        )
        self._writer = GroupWriter(self._store, self._executor)
        self._writer.start()
        loop = asyncio.get_running_loop()
        self._reader = await loop.run_in_executor(
            self._read_executor, open_store, self.config.store, self.config.delivery.policy()
        )
        capture = self.config.capture
        if capture is not None:
            self.recorder = Recorder.open(capture.directory, capture.format)

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
        if self._store is not None:
            await self._run(self._store.close)
        if self._reader is not None:
            await self.read(_close)
        self._executor.shutdown(wait=True)
        self._read_executor.shutdown(wait=True)
        if self.recorder is not None:
            self.recorder.close()

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

    async def store(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store method on the store's thread, with the writer's next batch."""
        return await self.writer.call(method, *args, **kwargs)

    async def read(
        self, query: Callable[Concatenate[Backend, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a query of the store (a function of a :class:`Backend`) on the reading connection:
        it sees what has been committed, whatever commit is under way."""
        assert self._reader is not None, "gateway not opened"
        reader = self._reader
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._read_executor, functools.partial(query, reader, *args, **kwargs)
        )

    async def write(self, write: Write[W]) -> W:
        """Commit a store write (``Accept(...)``, ...) with the next group
        commit; its result once that commit has returned."""
        return await self.writer.write(write)

    @property
    def db(self) -> Backend:
        assert self._store is not None, "gateway not opened"
        return self._store

    @property
    def writer(self) -> GroupWriter:
        assert self._writer is not None, "gateway not opened"
        return self._writer

    async def _run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: function(*args, **kwargs))

    async def receive(self, ber: bytes, origin: Origin) -> Outcome:
        """What to answer to one APDU from ``origin``, after everything the gateway does with
        it. Never raises but for cancellation: a bug below is answered with a temporary
        refusal, logged with its traceback and counted (``isoill_internal_errors_total``)."""
        now = datetime.now(UTC)
        apdu: IllApdu | None = None
        try:
            apdu = decode(ber)
        except CodecError as error:
            outcome = self._malformed(error, origin, origin.log, now)
            return replace(
                outcome,
                capture=self.recorded(None, origin),
                sender=origin.address,
                summary=f"{origin.address} -> ? malformed APDU",
            )
        except Exception:
            return self._internal_error(apdu, origin, now)
        try:
            return await self._receive(apdu, ber, origin, now)
        except Exception:
            return self._internal_error(apdu, origin, now)

    async def _receive(self, apdu: IllApdu, ber: bytes, origin: Origin, now: datetime) -> Outcome:
        log = origin.log
        try:
            incoming = await self._route(apdu, ber, origin, log, now)
            async with self._locks.holding(incoming.key) as transaction:
                outcome = await self._within_transaction(incoming, transaction)
                transaction.notify_all()  # an early APDU of this transaction may go on now
        except StoreError as error:  # a lookup failed: nothing was stored
            refusal = self._cannot_store(apdu, log, error, now)
            done = self.config.default_peer.connection == "per-apdu"
            return Outcome(encode(refusal), done=done, sender=origin.address)
        sender = incoming.sender or origin.address
        return replace(
            outcome,
            capture=self.recorded(incoming.sender, origin),
            sender=sender,
            summary=f"{sender} -> {incoming.target or '?'} {apdu.apdu_type}",
            received=incoming.ber,
        )

    def _internal_error(self, apdu: IllApdu | None, origin: Origin, now: datetime) -> Outcome:
        """The answer to an APDU the gateway failed on: a temporary refusal. Called from an
        ``except`` block: the log line carries the traceback. Nothing is recorded in the
        capture, since what the sender's settings allow is not known for sure."""
        metrics.INTERNAL_ERRORS.labels("intake").inc()
        kind = apdu.apdu_type if apdu is not None else "APDU"
        origin.log.exception("internal error; APDU refused for now", apdu=kind)
        sender = self._sender(apdu) if apdu is not None else None
        peer = self.config.peer(self.access.speaker(sender, origin.identity))
        done = peer.connection == "per-apdu"
        report = encode(reports.internal_error(apdu, now))
        summary = f"{origin.address} -> ? {kind} (internal error)"
        return Outcome(report, done=done, capture=False, sender=origin.address, summary=summary)

    async def _within_transaction(
        self, incoming: _Incoming, transaction: asyncio.Condition
    ) -> Outcome:
        """Everything from the duplicate check to the answer, under the transaction's lock."""
        if incoming.security is not None:
            return await self._refuse_security(incoming, incoming.security)
        earlier = await self.writer.duplicate(incoming.key, incoming.dedup_key)
        if earlier is not None:
            metrics.DUPLICATES.inc()
            incoming.log.info("duplicate", id=earlier)
            record = await self.writer.transaction(incoming.key)
            return self._acknowledge(incoming, states_of(record))
        states: States | None = None
        refusal = self._judge(incoming)
        if refusal is None:
            states, refusal = await self._step(incoming, transaction)
        if refusal is not None:
            await self._keep_refused(incoming, refusal)
            return Outcome(encode(refusal), done=incoming.done)
        if self._answer_from_history(incoming):
            return await self._status_from_history(incoming)
        if not incoming.addresses:
            refusal = await self._unroutable(incoming)
            return Outcome(encode(refusal), done=incoming.done)
        return await self._accept(incoming, states)

    async def _keep_refused(self, incoming: _Incoming, refusal: StatusOrErrorReport) -> None:
        """Keep a refused APDU with the reason, for the transaction's history. The refusal
        goes out even if the store cannot take it now: the sender learns of it either way."""
        try:
            write = Keep(
                peer=incoming.kept_as,
                apdu_type=incoming.apdu.apdu_type,
                transaction_key=incoming.key,
                target_symbol=incoming.target,
                ber=incoming.ber,
                state="refused",
                reason=str(refusal.note),
                now=incoming.now,
            )
            await self.write(write)
        except StoreError as error:
            incoming.log.error("store failed", error=repr(error))

    async def _refuse_security(self, incoming: _Incoming, refusal: Refusal) -> Outcome:
        """Refuse an APDU its connection may not send (user-error security-problem)."""
        metrics.REJECTIONS.labels("security").inc()
        incoming.log.warning("security problem", problem=refusal.problem, reason=refusal.reason)
        report = reports.security_problem(
            incoming.apdu, refusal.problem, refusal.reason, incoming.now
        )
        await self._keep_refused(incoming, report)
        return Outcome(encode(report), close=refusal.close, done=incoming.done)

    async def _route(
        self, apdu: IllApdu, ber: bytes, origin: Origin, log: Any, now: datetime
    ) -> _Incoming:
        """Who sent the APDU, whether it may, and where it goes (see
        :func:`isoill.router.select_target`)."""
        named = _named(apdu)
        requester, responder = named.requester, named.responder
        sender = parties.sender_of(apdu.apdu_type, named)[1]
        # First: the first APDU's credentials narrow the symbols routing goes by.
        host = origin.address.rsplit(":", 1)[0]
        security = await self.access.authenticate(apdu, origin.identity, host, log)
        if sender is not None and origin.identity is None:
            origin.symbols.add(sender)
        key = transaction_key(apdu.transaction_id)
        metrics.APDUS_IN.labels(apdu.apdu_type, self.metric_peer(sender, origin.symbols)).inc()
        record = await self.writer.transaction(key)  # in memory, or one lookup
        known = (
            (None, None) if record is None else (record.requester_symbol, record.responder_symbol)
        )
        if security is None and origin.identity is not None:
            security = parties.check(
                apdu.apdu_type,
                named,
                frozenset(origin.identity.peers),
                None if record is None else _parties(record, named.initial),
                shown(key),
                self.config.peers,
            )
        role = sender_role(
            apdu.apdu_type, origin.symbols, known[0] or requester, known[1] or responder
        )
        chosen = select_target(
            apdu.apdu_type,
            requester=requester,
            responder=responder,
            sender=origin.symbols,
            counterpart=_other_party(known, origin.symbols),
            default=origin.listener_default,
        )
        target = chosen.symbol
        looping = target is not None and symbol_key(target) in origin.symbols
        addresses = self.routes.addresses(target, now) if target and not looping else ()
        if looping:
            unroutable = f"{target} is the sender: the APDU would come back to it"
        else:
            unroutable = f"no route to {target}" if target else "no target symbol for this APDU"
        speaker = self.access.speaker(sender, origin.identity)
        # The sender's login is the gateway's to read, not the target's, unless it asks.
        cut, cut_ber = _without_prompt1(apdu, ber)
        forwarded_login = ber != cut_ber and self.config.peer(target).forward_sender_login
        return _Incoming(
            apdu=cut,
            ber=cut_ber,
            login_ber=ber if forwarded_login else None,
            key=key,
            now=now,
            log=log.bind(apdu=apdu.apdu_type, transaction=key),
            origin=origin,
            sender=sender,
            requester=requester,
            responder=responder,
            intermediary=named.intermediary,
            target=target,
            rule=chosen.rule,
            addresses=tuple(str(address) for address in addresses),
            unroutable=unroutable,
            speaker=speaker,
            peer=self.config.peer(speaker),
            role=role,
            dedup_key=dedup_key(cut, key, cut_ber),
            security=security,
        )

    async def _unroutable(self, incoming: _Incoming) -> StatusOrErrorReport:
        """Keep an APDU that has nowhere to go for operators to see, and say so."""
        write = Keep(
            peer=incoming.kept_as,
            apdu_type=incoming.apdu.apdu_type,
            transaction_key=incoming.key,
            target_symbol=None,
            ber=incoming.ber,
            state="unroutable",
            reason=incoming.unroutable,
            now=incoming.now,
        )
        try:
            await self.write(write)
        except StoreError as error:  # not kept: refused for now, so that it comes again
            return self._cannot_store(incoming.apdu, incoming.log, error, incoming.now)
        metrics.REJECTIONS.labels("unroutable").inc()
        incoming.log.warning("unroutable", reason=incoming.unroutable)
        return reports.cannot_send_onward(incoming.apdu, incoming.unroutable, incoming.now)

    @staticmethod
    def _cannot_store(
        apdu: IllApdu, log: Any, error: StoreError, now: datetime
    ) -> StatusOrErrorReport:
        """The temporary refusal of an APDU the store could not take (or answer a lookup
        for), logged and counted."""
        metrics.REJECTIONS.labels("store").inc()
        log.error("store failed; APDU refused for now", error=repr(error))
        return reports.temporary_refusal(apdu, error.reason, now)

    async def _accept(self, incoming: _Incoming, states: States | None) -> Outcome:
        """Store the APDU for delivery (or hold it for an operator), with its transaction's
        new ``states`` (``None``: unchanged), then acknowledge it."""
        apdu, log, now, target = incoming.apdu, incoming.log, incoming.now, incoming.target
        # Before anything stores the APDU for this target: the stored bytes are the ones sent.
        received = incoming.ber if incoming.login_ber is None else incoming.login_ber
        ber = _for_target(received, apdu, self.config.peer(target), log)
        message: dict[str, Any] = {
            "peer": incoming.kept_as,
            "apdu_type": apdu.apdu_type,
            "transaction_key": incoming.key,
            "target_symbol": target,
            "ber": ber,
            "requester_symbol": incoming.requester,
            "responder_symbol": incoming.responder,
            "dedup_key": incoming.dedup_key,
            "states": None if states is None else (states.requester.value, states.responder.value),
            "now": now,
            "forward": _forward(incoming),
        }
        held = self._held_because(apdu, incoming.requester)
        try:
            addresses = incoming.addresses if held is None else ()
            write = Accept(**message, addresses=addresses, held=held)
            # Returns once the commit that holds it has: only then is the APDU acknowledged.
            stored = await self.write(write)
        except StoreError as error:  # the store refused: say so, never acknowledge
            return Outcome(
                encode(self._cannot_store(incoming.apdu, incoming.log, error, incoming.now)),
                done=incoming.done,
            )
        if isinstance(stored, Duplicate):  # stored meanwhile (by another gateway on the store)
            metrics.DUPLICATES.inc()
            log.info("duplicate", id=stored.existing_id)
            record = await self.writer.transaction(incoming.key)
            return self._acknowledge(incoming, states_of(record))
        message_id = stored.message_id
        if held is None:
            self.handoff.offer(stored.deliveries)
            count = len(incoming.addresses)
            log.info("accepted", id=message_id, target=target, rule=incoming.rule, addresses=count)
        else:
            metrics.QUEUE_DEPTH.labels("held").inc()  # the forwarder's next poll sets the count
            log.warning("held", id=message_id, target=target, reason=held)
        if states is None:
            states = states_of(stored.transaction)
        return self._acknowledge(incoming, states)

    def _acknowledge(self, incoming: _Incoming, states: States) -> Outcome:
        """The answer to a stored APDU: a status-report with its sender's state now."""
        if incoming.peer.ack == "none":
            return Outcome(None, done=incoming.done)
        responder = incoming.role is Role.RESPONDER
        own = states.responder if responder else states.requester
        initiator: Party = "responder-id" if responder else "requester-id"
        ack = acknowledgement(incoming.ber, incoming.now, own.current_state, initiator)
        return Outcome(ack, done=incoming.done)

    async def _step(
        self, incoming: _Incoming, transaction: asyncio.Condition
    ) -> tuple[States | None, StatusOrErrorReport | None]:
        """Move the transaction's two protocol machines by this APDU: the new states, or
        ``None`` with the refusal (enforce) or ``None`` alone (warn, off) when its state
        forbids the APDU.

        An APDU that may only have overtaken the one it follows (a Received before its
        Shipped) waits, unanswered and with the transaction unlocked, for up to
        ``crossing_wait`` seconds for the state to let it through.
        """
        apdu, log, mode = incoming.apdu, incoming.log, incoming.peer.state_machine
        event = event_of(apdu)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.transactions.crossing_wait
        while True:
            states = states_of(await self.writer.transaction(incoming.key))
            result = advance(states, event, incoming.role)
            if isinstance(result, States):
                return result, None
            remaining = deadline - loop.time()
            early = apdu.apdu_type != "ILL-Request" and may_follow(states, event, incoming.role)
            if mode != "enforce" or not early or remaining <= 0:
                break
            log.info("waiting for the APDU this one follows", state=result.state.value)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await transaction.wait()
        metrics.PROHIBITED.labels(mode).inc()
        if states == NEW:
            reason = f"no transaction {incoming.key} has been started through this gateway"
        elif apdu.apdu_type == "ILL-Request":
            reason = f"transaction {incoming.key} exists already"
        else:
            role = result.role.value
            reason = f"{apdu.apdu_type} is not allowed while the {role} is {result.state.value}"
        if mode != "off":
            log.warning("state transition prohibited", reason=reason, mode=mode)
        if mode != "enforce":
            return None, None
        if states == NEW:
            problem = TransactionIdProblem.UNKNOWN_TRANSACTION_ID
            return None, reports.transaction_id_problem(apdu, problem, reason, incoming.now)
        if apdu.apdu_type == "ILL-Request":
            problem = TransactionIdProblem.DUPLICATE_TRANSACTION_ID
            return None, reports.transaction_id_problem(apdu, problem, reason, incoming.now)
        current = result.state.current_state
        return None, reports.state_transition_prohibited(apdu, current, reason, incoming.now)

    def _answer_from_history(self, incoming: _Incoming) -> bool:
        """Whether a Status-Query is answered by the gateway: its target asks for it
        (``status_from_history``) and cannot be reached now."""
        if incoming.apdu.apdu_type != "Status-Query":
            return False
        if not self.config.peer(incoming.target).status_from_history:
            return False
        return all(address in self.unreachable for address in incoming.addresses)

    async def _status_from_history(self, incoming: _Incoming) -> Outcome:
        record = await self.writer.transaction(incoming.key)
        last = await self.store(self.db.last_service, incoming.key)
        service, at = last if last is not None else (incoming.apdu.apdu_type, incoming.now)
        states = states_of(record)
        asked = states.requester if incoming.role is Role.RESPONDER else states.responder
        initiator = None
        if record is not None and APDU_FLOW[service] is not Flow.EITHER:
            by_requester = APDU_FLOW[service] is Flow.FROM_REQUESTER
            symbol = record.requester_symbol if by_requester else record.responder_symbol
            initiator = system_id(symbol) if symbol else None
        report = reports.status_from_history(
            incoming.apdu, service, at, initiator, asked.current_state, incoming.now
        )
        metrics.STATUS_FROM_HISTORY.inc()
        incoming.log.info("status answered from history", state=asked.value)
        return Outcome(encode(report), done=incoming.done)

    def _held_because(self, apdu: IllApdu, requester: str | None) -> str | None:
        """Why an ILL-Request is held for an operator to release or refuse (with
        ``hold_unknown_requesters``, when its requester is not in ``peers``); ``None`` when
        it goes on."""
        config = self.config
        if not config.hold_unknown_requesters or apdu.apdu_type != "ILL-Request":
            return None
        if requester in config.peers:
            return None
        return f"requester {requester} is not a configured peer" if requester else "no requester"

    def _judge(self, incoming: _Incoming) -> StatusOrErrorReport | None:
        """Run the sender's and the target's profiles: log and count what they find, and
        return the refusal to send back if any rule refuses the APDU."""
        sender = incoming.peer.sender_profile
        target = self.config.peer(incoming.target).target_profile
        apdu, log = incoming.apdu, incoming.log
        verdict = judge(apdu, Context(incoming.now), (self.profiles[sender], self.profiles[target]))
        for finding in verdict.findings:
            metrics.RULE_FINDINGS.labels(finding.rule.name, finding.severity.value).inc()
            log.warning(
                "rule " + finding.severity.value,
                rule=finding.rule.name,
                profile=finding.profile,
                element=finding.element,
                problem=finding.violation.message,
            )
        if not verdict.refused:
            return None
        metrics.REJECTIONS.labels("rules").inc()
        return reports.rule_refusal(apdu, verdict.refusals, incoming.now)

    @staticmethod
    def _sender(apdu: IllApdu) -> str | None:
        """The sending party's symbol, where the APDU type says which party sends it."""
        return parties.sender_of(apdu.apdu_type, _named(apdu))[1]

    def _malformed(self, error: CodecError, origin: Origin, log: Any, now: datetime) -> Outcome:
        origin.malformed += 1
        metrics.REJECTIONS.labels("malformed").inc()
        log.warning("malformed APDU", error=str(error), count=origin.malformed)
        problem = GeneralProblem.from_value(error.general_problem)
        report = encode(reports.provider_error(None, problem, str(error), now))
        close = origin.malformed >= self.config.limits.max_malformed
        return Outcome(report, close=close, done=self.config.default_peer.connection == "per-apdu")


def _forward(incoming: _Incoming) -> Forward | None:
    """What a Forward-Notification changes in its transaction's parties."""
    if incoming.apdu.apdu_type != "Forward-Notification":
        return None
    if incoming.responder is None or incoming.intermediary is None:
        return None
    return Forward(incoming.responder, incoming.intermediary)


def _named(apdu: IllApdu) -> parties.Named:
    return parties.Named(
        requester=symbol_of(apdu.requester_id),
        responder=symbol_of(apdu.responder_id),
        intermediary=symbol_of(getattr(apdu, "intermediary_id", None)),
        initial=symbol_of(apdu.transaction_id.initial_requester_id),
    )


def _parties(record: TransactionRecord, initial: str | None) -> parties.Parties:
    """A known transaction's parties; its requester, where none was named, the initial one."""
    return parties.Parties(
        record.requester_symbol or initial,
        record.responder_symbol,
        frozenset(record.intermediaries),
    )


def _other_party(known: tuple[str | None, str | None], senders: set[str]) -> str | None:
    requester, responder = known
    if requester is not None and requester in senders:
        return responder
    if responder is not None and responder in senders:
        return requester
    return responder or requester


def _without_prompt1(apdu: IllApdu, ber: bytes) -> tuple[IllApdu, bytes]:
    """The APDU without its Prompt-1 extensions (userId and password in clear), before the
    store, the capture or a target sees it; decoded again, so that what the rules and the
    reports read is what is kept. The decoded extensions say whether there is one: most
    APDUs carry none, and their bytes are not walked again."""
    if not any(
        isinstance(extension.item, External) and extension.item.direct_reference == PROMPT_1
        for extension in extensions_of(apdu)
    ):
        return apdu, ber
    cut = without_extensions(ber, PROMPT_1)
    return decode(cut), cut


def _for_target(ber: bytes, apdu: IllApdu, target: Peer, log: Any) -> bytes:
    """The bytes to store and forward: an ILL-Request loses its client-id (the patron) when
    the target withholds it; nothing else is re-encoded."""
    if not target.withhold_client_id or not isinstance(apdu, ILLRequest) or apdu.client_id is None:
        return ber
    log.info("client-id withheld")
    return without_field(ber, "client-id")


def _close(store: Backend) -> None:
    """Close the reading connection (on its thread: :meth:`Gateway.read`)."""
    store.close()
