"""Delivery of stored APDUs to their target addresses, in order per address, with retries.

One task per address with due deliveries sends them one at a time on that address's
:class:`~isoill.service.links.Link` (the address's protocol's: ISO 10161 on TCP for
``host:port``, ISO 18626 POSTs for a URL), byte for byte as stored (an ISO 18626 address is
sent the message's ISO 18626 form): a run of those its
poll of the store found, and of those intake hands it as it stores them
(:mod:`isoill.service.handoff`). A target that answers (``expects_reply``) is read for one
APDU after each: an acknowledgement, or any APDU of the target's own, means delivered (the
target's own APDU goes through intake like one received from it, and intake's answer goes
back on the same connection); a refusal, silence or a broken connection means try again
later, with backoff, until the store marks the delivery failed. An ISO 18626 target's ERROR
Confirmation is final: the delivery fails at once, and the report telling the APDU's sender
why is queued to it in the same store transaction. A sender that raises (a bug) is logged and
counted, and its address starts again with the next poll.

Each outcome is queued for the group commits as soon as it is known, as a lazy write (it
rides with the next acceptance's commit), and the next APDU goes to the address without
waiting for that commit. A run takes at most ``RUN`` deliveries; it ends once nothing is
waiting and every outcome of the run is committed, and its address is not polled before.
After a crash the deliveries whose outcomes were not committed yet, at most ``RUN`` per
address, go again, in their order and byte for byte as before, so a receiver knows them by
their transaction-id and service date-time (see SECURITY.md).

With a store that other processes share (:mod:`isoill.store.coordination`), a process sends
to an address only while it holds the address's claim: a poll claims the addresses it found
due, reads what is due there once it holds them (the previous holder's outcomes are in), and
lets go once the run's outcomes are committed. Intake's new deliveries join a run this process
holds, and otherwise wait for a poll, which another process's wake-up brings at once. While
the coordination is not healthy (:meth:`~isoill.store.coordination.Coordination.healthy`:
its connections lost, and the claims perhaps with them, so another process may hold them
now), every run is stopped at once, its peer connections closed, and nothing is sent until
it is healthy again; what the runs had not recorded goes again, as after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from isoill import logs, metrics
from isoill.access.credentials import GatewayLogin
from isoill.bridge.settings import PeerSettings18626
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.errors import CodecError
from isoill.config import Config
from isoill.core import bridging, privacy
from isoill.ill.prompt import login_extension
from isoill.ill.symbols import symbol_key
from isoill.router import Protocol, protocol_of
from isoill.service.access import AccessControl, Identity
from isoill.service.clock import Clock
from isoill.service.handoff import IDLE_POLL, RUN, Handoff, Run
from isoill.service.intake import IntakeService
from isoill.service.links import Link, Links, Refused, Rejected
from isoill.service.origin import Origin, Outcome
from isoill.service.reachability import Reachability
from isoill.store.backend import Backend
from isoill.store.coordination import Coordination
from isoill.store.group import GroupWriter
from isoill.store.reader import StoreReader
from isoill.store.records import Delivery, Notice
from isoill.store.writes import Delivered, Fail, RetryLater

COUNTS_EVERY = 1.0  # seconds between queue-depth counts for the metrics, at least
STORE_PAUSE = 1.0  # seconds delivery waits when the store cannot be read or take an outcome
CLAIM_RETRY = 0.25  # seconds before looking again at an address another process sends to
HEALTH_CHECK = 0.1  # seconds between looks at a shared store's coordination (no I/O: a flag)


class Forwarder:
    def __init__(
        self,
        config: Config,
        reader: StoreReader,
        writer: GroupWriter,
        handoff: Handoff,
        intake: IntakeService,
        access: AccessControl,
        reachability: Reachability,
        links: Mapping[Protocol, Links],
        coordination: Coordination,
        clock: Clock,
    ) -> None:
        self.config = config
        self.reader = reader
        self.writer = writer
        self.handoff = handoff
        self.intake = intake
        self.access = access
        self.reachability = reachability
        self.links = links
        self.coordination = coordination
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._guard: asyncio.Task[None] | None = None
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._links: dict[str, Link] = {}
        self._counted_at = float("-inf")  # when the queue depth was last counted (monotonic)
        self.log = logs.get(component="forwarder")

    async def start(self) -> None:
        if not self.coordination.shared:  # a shared store's runs start once claimed, by a poll
            self.handoff.attach(self._send)
        await self.coordination.start(self._woken)
        self._task = asyncio.create_task(self._run())
        if self.coordination.shared:
            self._guard = asyncio.create_task(self._watch())

    @property
    def running(self) -> bool:
        tasks = [self._task, *([self._guard] if self.coordination.shared else [])]
        return all(task is not None and not task.done() for task in tasks)

    def _may_send(self) -> bool:
        """Whether this process may send: alone on its store, or its claims standing."""
        return not self.coordination.shared or self.coordination.healthy()

    async def stop(self) -> None:
        """Stop at once: an attempt cut short is not recorded, so it is made again later."""
        self.handoff.detach()
        tasks = [*self._senders.values(), *(task for task in (self._task, self._guard) if task)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for address in list(self._links):
            self._drop(address)

    async def _run(self) -> None:
        """Poll, start runs, wait; a bug in one round is logged and counted, and the next
        round comes after a pause."""
        while True:
            try:
                await self._poll()
                continue
            except Exception:  # no await in an except block (see the listener's _accept)
                metrics.INTERNAL_ERRORS.labels("delivery").inc()
                self.log.exception("internal error in the delivery poll", pause=STORE_PAUSE)
            await asyncio.sleep(STORE_PAUSE)

    async def _poll(self) -> None:
        """One round: start a run for each address with due deliveries, count the queue for
        the metrics now and then, and wait until the next is due or a poll is wanted."""
        handoff = self.handoff
        wanted = handoff.wanted
        wanted.clear()
        now = self.clock.now()
        # Not the addresses whose senders are at work: their outcomes may not be
        # committed yet. Each asks for another poll when they are.
        busy = handoff.poll_begins()
        try:
            due, next_due = await self.reader.query(_poll, now, busy)
        except Exception as error:  # the store cannot be read now: neither can we send
            self.log.error("store not readable; delivery paused", error=repr(error))
            readable = False
        else:
            readable = True
        if not readable:  # no await in an except block (see the listener's _accept)
            await asyncio.sleep(STORE_PAUSE)
            return
        addresses = [a for a in dict.fromkeys(d.address for d in due) if not handoff.had_run(a)]
        if self.coordination.shared:
            started = await self._claim_and_send(addresses, busy)
        else:  # none but this process sends: what the poll found is what to send
            for address in addresses:
                self._send(handoff.open(address, [d for d in due if d.address == address]))
            started = len(addresses)
        if self.clock.monotonic() - self._counted_at >= COUNTS_EVERY:  # a range scan each
            self._counted_at = self.clock.monotonic()
            with contextlib.suppress(Exception):  # only a metric: the next count will do
                counts = await self.reader.query(_counts)
                for state, count in counts.items():
                    metrics.QUEUE_DEPTH.labels(state).set(count)
        delay = IDLE_POLL if next_due is None else (next_due - now).total_seconds()
        if delay <= 0 and not started:
            # Due, but nowhere this poll could start: each such address has a run here (its
            # end asks for a poll), is another process's (looked at again after
            # CLAIM_RETRY), or waits for the coordination (_watch asks once it is back).
            delay = IDLE_POLL
        # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancellation that
        # arrives as the event is set, and stop() would then wait for ever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.01, min(delay, IDLE_POLL))):
                await wanted.wait()

    async def _claim_and_send(self, addresses: list[str], busy: list[str]) -> int:
        """With a shared store: send to the addresses this process can claim, what is due
        there once it holds the claim (the previous holder's outcomes are in by then); look
        again soon at those another process holds. Nothing while the coordination is not
        healthy: :meth:`_watch` asks for a poll once it is. How many runs it started."""
        if not self._may_send():
            return 0
        claimed = [address for address in addresses if await self.coordination.claim(address)]
        if len(claimed) < len(addresses):
            asyncio.get_running_loop().call_later(CLAIM_RETRY, self.handoff.wanted.set)
        if not claimed:
            return 0
        due, _ = await self.reader.query(_poll, self.clock.now(), busy)
        started = 0
        for address in claimed:
            deliveries = [d for d in due if d.address == address]
            if deliveries and not self.handoff.had_run(address):
                self._send(self.handoff.open(address, deliveries))
                started += 1
            else:  # sent meanwhile by the one that held it
                await self.coordination.release(address)
        return started

    async def _watch(self) -> None:
        """With a shared store: while the coordination is not healthy, stop every run (its
        claim may be another process's by now) and start none; once it is, poll."""
        while True:
            await asyncio.sleep(HEALTH_CHECK)
            if self.coordination.healthy():
                continue
            self.log.error("store coordination lost; delivery paused", runs=len(self._senders))
            await self._stop_runs()
            while not self.coordination.healthy():
                await asyncio.sleep(HEALTH_CHECK)
            self.log.info("store coordination back; delivery resumed")
            self.handoff.wanted.set()

    async def _stop_runs(self) -> None:
        """Cut every run short, and close its connection: what was sent and not recorded
        goes again, from whichever process holds the address next."""
        senders = list(self._senders.values())
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        for address in list(self._links):
            self._drop(address)

    def _woken(self, addresses: frozenset[str]) -> None:
        """Another process queued deliveries (for these addresses; none named: anywhere)."""
        self.handoff.wanted.set()

    def _send(self, run: Run) -> None:
        task = asyncio.create_task(self._send_all(run))
        self._senders[run.address] = task
        task.add_done_callback(functools.partial(self._sender_ended, run))

    def _sender_ended(self, run: Run, task: asyncio.Task[None]) -> None:
        """A sender is done. One that raised (a bug) is logged with the traceback and
        counted; its address gets a fresh run from the next poll, on a fresh connection.
        What it sent and had not recorded is sent again, as after a crash."""
        if self._senders.get(run.address) is task:
            del self._senders[run.address]
        if task.cancelled() or task.exception() is None:
            return
        metrics.INTERNAL_ERRORS.labels("delivery").inc()
        self.log.error(
            "internal error; delivery to the address starts again",
            address=run.address,
            exc_info=task.exception(),
        )
        if run.address not in self._senders:  # no run of a poll since has it now
            self._drop(run.address)
        self.handoff.end(run)
        self.handoff.wanted.set()

    async def _send_all(self, run: Run) -> None:
        outcomes: list[asyncio.Future[Any]] = []
        # Cut short too (a run stopped, a bug), the run ends as below, then the error goes on;
        # no await in a finally or except block (see the listener's _accept).
        cut: BaseException | None = None
        try:
            clean = await self._take(run, outcomes)
        except BaseException as error:
            clean, cut = False, error
        await self._end(run, outcomes, clean)
        if cut is not None:
            raise cut

    async def _take(self, run: Run, outcomes: list[asyncio.Future[Any]]) -> bool:
        """Send what the run takes, in order; ``True``: every delivery it took was sent."""
        while True:
            delivery = run.next()
            if delivery is None:
                # Open until the run's outcomes are in: what is stored meanwhile for this
                # address comes here rather than to a poll that would wait for them.
                if run.settled:
                    return True
                if not run.taking:  # nothing more can come: no reason to wait for a commit
                    self.writer.hurry()
                await run.stirred()
                continue
            if not self._may_send():  # the claim may be gone: _watch stops the run
                return False
            if not await self._attempt(delivery, outcomes):
                return False  # keep order: later ones wait for this one
            run.awaiting(outcomes[-1])

    async def _end(self, run: Run, outcomes: list[asyncio.Future[Any]], clean: bool) -> None:
        """The run's end: once its outcomes are committed, its address may be polled."""
        run.close()
        if not clean:  # what it has sent waits for no more: its outcomes go at once
            self.writer.hurry()
        failed: list[BaseException] = []
        try:
            # The address stays busy until the run's outcomes are committed: a poll before
            # would find these deliveries still due. An outcome the store could not take
            # leaves its delivery due as it was: the address pauses before it goes again.
            results = await asyncio.gather(*outcomes, return_exceptions=True)
            failed = [result for result in results if isinstance(result, Exception)]
            if failed:
                self.log.error(
                    "delivery outcomes not stored; address paused",
                    address=run.address,
                    error=repr(failed[0]),
                    count=len(failed),
                    pause=STORE_PAUSE,
                )
                await asyncio.sleep(STORE_PAUSE)
            if self.coordination.shared:  # the next holder finds these outcomes in
                await self._release(run.address)
        finally:
            self.handoff.end(run)
            if run.missed or failed or not clean:  # look again: more may be due
                self.handoff.wanted.set()

    async def _attempt(self, delivery: Delivery, outcomes: list[asyncio.Future[Any]]) -> bool:
        """One attempt; its outcome's write is added to ``outcomes``. ``False``: failed."""
        log = self.log.bind(address=delivery.address, id=delivery.message_id)
        peer = self.config.peer(delivery.target_symbol)
        scrubbed = privacy.scrubbed(delivery.ber, peer.forward_sender_login)
        if protocol_of(delivery.address) is Protocol.ISO10161:
            wire = self._on_the_wire(delivery)
        elif delivery.xml is not None:  # an ISO 18626 address is sent the message's XML
            wire = delivery.xml
        else:  # stored when its target spoke ISO 10161, say: there is nothing to POST
            why = "the message has no ISO 18626 form to send to this ISO 18626 address"
            outcomes.append(self.writer.queue(Fail(delivery.id, why, self.clock.now()), lazy=True))
            log.error("delivery impossible", error=why)
            return True
        try:
            reply = await self._link(delivery.address).exchange(
                wire,
                scrubbed or delivery.ber,
                expects_reply=peer.expects_reply,
                reply_timeout=self.config.delivery.reply_timeout,
                capture=peer.capture,
                target=delivery.target_symbol or delivery.address,
                apdu_type=delivery.apdu_type,
            )
        except Rejected as rejected:
            self.reachability.reached(delivery.address)
            return self._rejected(delivery, rejected, outcomes, log)
        except (Refused, CodecError, OSError, TimeoutError) as error:
            self._drop(delivery.address)
            if not isinstance(error, Refused | CodecError):  # nobody answered
                self.reachability.failed(delivery.address)
            now = self.clock.now()
            self.reachability.error(delivery.address, str(error), now)
            outcomes.append(self.writer.queue(RetryLater(delivery.id, str(error), now), lazy=True))
            metrics.RETRIES.inc()
            log.warning("delivery failed", error=str(error), attempts=delivery.attempts + 1)
            return False
        self.reachability.reached(delivery.address)
        now = self.clock.now()
        outcomes.append(self.writer.queue(Delivered(delivery.id, now, scrubbed), lazy=True))
        label = self.intake.metric_peer(delivery.target_symbol)
        metrics.labelled(metrics.APDUS_OUT, delivery.apdu_type, label).inc()
        metrics.DELIVERY_LATENCY.observe((now - delivery.received_at).total_seconds())
        log.info("delivered", attempts=delivery.attempts + 1)
        if reply is not None:
            outcome = await self.intake.receive(reply, self._answering(delivery))
            await self._answer(delivery, outcome)
        return True

    def _rejected(
        self,
        delivery: Delivery,
        rejected: Rejected,
        outcomes: list[asyncio.Future[Any]],
        log: Any,
    ) -> bool:
        """An ISO 18626 target's ERROR Confirmation: the delivery fails for good, and its
        sender is told why through the queue (in the same store transaction). A Request sent
        again after a lost answer and refused as a duplicate got there the first time."""
        now = self.clock.now()
        routes = self.intake.routes
        target = delivery.target_symbol
        settings = routes.settings18626(target) or PeerSettings18626()
        apdu = decode(delivery.ber)
        refusal = bridging.refused_by_target(
            rejected.confirmation, apdu, target, settings, routes, now, attempts=delivery.attempts
        )
        if refusal is None or refusal.arrived:
            if refusal is not None:
                log.warning(
                    "resent request refused as a duplicate: it got there", error=str(rejected)
                )
            outcomes.append(self.writer.queue(Delivered(delivery.id, now), lazy=True))
            return True
        notice = None
        if refusal.sender is not None and refusal.addresses:
            report = encode(refusal.report)
            notice = Notice("Status-Or-Error-Report", refusal.sender, report, refusal.addresses)
        outcome = self.writer.queue(Fail(delivery.id, str(rejected), now, notice), lazy=True)
        if notice is not None:  # the report is due once stored: a poll then finds it
            outcome.add_done_callback(lambda _: self.handoff.wanted.set())
        outcomes.append(outcome)
        self.reachability.error(delivery.address, str(rejected), now)
        log.warning(
            "refused by the target",
            error=str(rejected),
            told=refusal.sender if notice is not None else None,
        )
        return True

    def _answering(self, delivery: Delivery) -> Origin:
        """Who speaks on a delivery connection: the target, by its symbol and the names its
        route gives it; in registered mode for those alone, as a peer's own connection."""
        symbols = set()
        if delivery.target_symbol is not None:
            route = self.intake.routes.route(delivery.target_symbol)
            names = (route.symbol, *route.aliases) if route is not None else ()
            symbols = {symbol_key(name) for name in (delivery.target_symbol, *names)}
        if not self.access.registered:
            return Origin(delivery.address, symbols=symbols)
        identity = Identity(symbols, authenticated=True)
        return Origin(delivery.address, symbols=symbols, identity=identity)

    async def _answer(self, delivery: Delivery, outcome: Outcome) -> None:
        """Write intake's answer to the target's own APDU (its acknowledgement or refusal)
        back on the delivery connection, as a listener connection would. A connection the
        answer cannot go out on is dropped; the delivery stays delivered."""
        link = self._links.get(delivery.address)
        if link is None:
            return
        if outcome.reply is not None:
            recorded = outcome.capture and self.config.peer(delivery.target_symbol).capture
            comment = f"isoill -> {outcome.sender} Status-Or-Error-Report" if recorded else None
            try:
                await link.send_back(outcome.reply, self.config.delivery.reply_timeout, comment)
            except OSError as error:
                self.log.warning(
                    "answer to the peer's APDU not sent", address=delivery.address, error=str(error)
                )
                self._drop(delivery.address)
                return
        if outcome.close:
            self._drop(delivery.address)

    def _on_the_wire(self, delivery: Delivery) -> bytes:
        """The bytes sent: as stored, but with the gateway's own Prompt-1 login for a target
        that wants one. They are never stored or recorded."""
        symbol = delivery.target_symbol
        login = self.access.logins.get(symbol) if symbol is not None else None
        if login is None:
            return delivery.ber
        return privacy.with_gateway_login(delivery.ber, _login_bytes(login))

    async def _release(self, address: str) -> None:
        try:
            await self.coordination.release(address)
        except Exception as error:  # the claim ends with its connection anyway
            self.log.warning("claim not released", address=address, error=repr(error))

    def _link(self, address: str) -> Link:
        link = self._links.get(address)
        if link is None:
            link = self._links[address] = self.links[protocol_of(address)](address)
        return link

    def _drop(self, address: str) -> None:
        link = self._links.pop(address, None)
        if link is not None:
            link.close()


@functools.lru_cache(maxsize=64)
def _login_bytes(login: GatewayLogin) -> bytes:
    return login_extension(login.user_id, login.password.encode("utf-8"))


def _poll(store: Backend, now: datetime, busy: list[str]) -> tuple[list[Delivery], datetime | None]:
    """What to send now (but not to the ``busy`` addresses) and when to look again: one trip
    to the reading thread for both."""
    return store.due(now, 500, RUN, exclude=busy), store.next_due_at(now)


def _counts(store: Backend) -> dict[str, int]:
    return store.counts()
