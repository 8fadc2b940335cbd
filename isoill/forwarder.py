"""Delivery of stored APDUs to their target addresses, in order per address, with retries.

One task per address with due deliveries sends them one at a time on a persistent connection,
byte for byte as stored: a run of those its poll of the store found, and of those the gateway
hands it as it stores them (:mod:`isoill.handoff`). A peer that answers (``expects_reply``) is
read for one APDU after each: a Status-Or-Error-Report without an error-report, or any other
APDU, means delivered (any other APDU is the peer's own message: it goes through the gateway
like one received from it, and the gateway's answer goes back on the same connection); an
error-report, silence or a broken connection means try again later, with backoff, until the
store marks the delivery failed. A sender that raises (a bug) is logged and counted, and its
address starts again with the next poll.

Each outcome is queued for the gateway's group commits as soon as it is known, as a lazy write
(it rides with the next acceptance's commit), and the next APDU goes to the address without
waiting for that commit. A run takes at most ``RUN`` deliveries; it ends once nothing is
waiting and every outcome of the run is committed, and its address is not polled before.
After a crash the deliveries whose outcomes were not committed yet, at most ``RUN`` per
address, go again, in their order and byte for byte as before, so a receiver knows them by
their transaction-id and service date-time (see SECURITY.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from datetime import UTC, datetime
from typing import Any

from isoill import logs, metrics, streams
from isoill.access.credentials import GatewayLogin
from isoill.access.identity import Identity
from isoill.access.prompt import login_extension
from isoill.asn1.ext.prompt1 import OID as PROMPT_1
from isoill.capture.recorder import Tap, socket_address
from isoill.codec.decoder import decode
from isoill.codec.errors import CodecError
from isoill.codec.framing import Framer
from isoill.codec.splice import present_fields, with_extension, without_extensions
from isoill.gateway import Gateway, Origin, Outcome
from isoill.handoff import RUN, Run
from isoill.ill.symbols import symbol_key
from isoill.store.backend import Backend
from isoill.store.records import Delivery
from isoill.store.writes import Delivered, RetryLater

IDLE_POLL = 5.0  # seconds between store polls when nothing is due and nothing wakes us
COUNTS_EVERY = 1.0  # seconds between queue-depth counts for the metrics, at least
STORE_PAUSE = 1.0  # seconds delivery waits when the store cannot be read or take an outcome


class DeliveryError(Exception):
    """This attempt failed; the delivery stays pending (or fails when out of attempts)."""


class Forwarder:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.config = gateway.config
        self._task: asyncio.Task[None] | None = None
        self._senders: dict[str, asyncio.Task[None]] = {}
        self._streams: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
        self._taps: dict[str, Tap] = {}  # the capture's view of each kept connection
        self._counted_at = float("-inf")  # when the queue depth was last counted (loop time)
        self.log = logs.get(component="forwarder")

    def start(self) -> None:
        self.gateway.handoff.attach(self._send)
        self._task = asyncio.create_task(self._run())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Stop at once: an attempt cut short is not recorded, so it is made again later."""
        self.gateway.handoff.detach()
        tasks = [*self._senders.values(), *([self._task] if self._task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for address in list(self._streams):
            self._drop(address)

    async def _run(self) -> None:
        """Poll, start runs, wait; a bug in one round is logged and counted, and the next
        round comes after a pause."""
        while True:
            try:
                await self._poll()
            except Exception:
                metrics.INTERNAL_ERRORS.labels("delivery").inc()
                self.log.exception("internal error in the delivery poll", pause=STORE_PAUSE)
                await asyncio.sleep(STORE_PAUSE)

    async def _poll(self) -> None:
        """One round: start a run for each address with due deliveries, count the queue for
        the metrics now and then, and wait until the next is due or a poll is wanted."""
        gateway = self.gateway
        handoff = gateway.handoff
        wanted = handoff.wanted
        loop = asyncio.get_running_loop()
        wanted.clear()
        now = datetime.now(UTC)
        # Not the addresses whose senders are at work: their outcomes may not be
        # committed yet. Each asks for another poll when they are.
        busy = handoff.poll_begins()
        try:
            due, next_due = await gateway.read(_poll, now, busy)
        except Exception as error:  # the store cannot be read now: neither can we send
            self.log.error("store not readable; delivery paused", error=repr(error))
            await asyncio.sleep(STORE_PAUSE)
            return
        for address in dict.fromkeys(d.address for d in due):
            if handoff.had_run(address):  # one that a delivery stored meanwhile started
                continue
            self._send(handoff.open(address, [d for d in due if d.address == address]))
        if loop.time() - self._counted_at >= COUNTS_EVERY:  # counting costs a range scan
            self._counted_at = loop.time()
            with contextlib.suppress(Exception):  # only a metric: the next count will do
                counts = await gateway.read(_counts)
                for state, count in counts.items():
                    metrics.QUEUE_DEPTH.labels(state).set(count)
        delay = IDLE_POLL if next_due is None else (next_due - now).total_seconds()
        # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancellation that
        # arrives as the event is set, and stop() would then wait for ever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.01, min(delay, IDLE_POLL))):
                await wanted.wait()

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
        handoff = self.gateway.handoff
        if run.address not in self._senders:  # no run of a poll since has it now
            self._drop(run.address)
        handoff.end(run)
        handoff.wanted.set()

    async def _send_all(self, run: Run) -> None:
        outcomes: list[asyncio.Future[Any]] = []
        clean = False  # every delivery the run took was sent
        try:
            while True:
                delivery = run.next()
                if delivery is None:
                    # Open until the run's outcomes are in: what is stored meanwhile for this
                    # address comes here rather than to a poll that would wait for them.
                    if run.settled:
                        clean = True
                        break
                    if not run.taking:  # nothing more can come: no reason to wait for a commit
                        self.gateway.writer.hurry()
                    await run.stirred()
                    continue
                if not await self._attempt(delivery, outcomes):
                    break  # keep order: later ones wait for this one
                run.awaiting(outcomes[-1])
        finally:
            run.close()
            if not clean:  # what it has sent waits for no more: its outcomes go at once
                self.gateway.writer.hurry()
            # The address stays busy until the run's outcomes are committed: a poll before
            # would find these deliveries still due. An outcome the store could not take
            # leaves its delivery due as it was: the address pauses before it goes again.
            failed = [
                result
                for result in await asyncio.gather(*outcomes, return_exceptions=True)
                if isinstance(result, Exception)
            ]
            if failed:
                self.log.error(
                    "delivery outcomes not stored; address paused",
                    address=run.address,
                    error=repr(failed[0]),
                    count=len(failed),
                    pause=STORE_PAUSE,
                )
                await asyncio.sleep(STORE_PAUSE)
            handoff = self.gateway.handoff
            handoff.end(run)
            if run.missed or failed or not clean:  # look again: more may be due
                handoff.wanted.set()

    async def _attempt(self, delivery: Delivery, outcomes: list[asyncio.Future[Any]]) -> bool:
        """One attempt; its outcome's write is added to ``outcomes``. ``False``: failed."""
        log = self.log.bind(address=delivery.address, id=delivery.message_id)
        try:
            scrubbed = self._scrubbed(delivery)
            reply = await self._exchange(delivery, scrubbed or delivery.ber)
        except (DeliveryError, CodecError, OSError, TimeoutError) as error:
            self._drop(delivery.address)
            if isinstance(error, OSError | TimeoutError):  # not a refusal: nobody answered
                self.gateway.unreachable.add(delivery.address)
            now = datetime.now(UTC)
            outcomes.append(
                self.gateway.writer.queue(RetryLater(delivery.id, str(error), now), lazy=True)
            )
            metrics.RETRIES.inc()
            log.warning("delivery failed", error=str(error), attempts=delivery.attempts + 1)
            return False
        self.gateway.unreachable.discard(delivery.address)
        now = datetime.now(UTC)
        write = Delivered(delivery.id, now, scrubbed)
        outcomes.append(self.gateway.writer.queue(write, lazy=True))
        peer = self.gateway.metric_peer(delivery.target_symbol)
        metrics.APDUS_OUT.labels(delivery.apdu_type, peer).inc()
        metrics.DELIVERY_LATENCY.observe((now - delivery.received_at).total_seconds())
        log.info("delivered", attempts=delivery.attempts + 1)
        if reply is not None:
            origin = self._answering(delivery)
            await self._answer(delivery, await self.gateway.receive(reply, origin))
        return True

    def _answering(self, delivery: Delivery) -> Origin:
        """Who speaks on a delivery connection: the target, by its symbol and the names its
        route gives it; in registered mode for those alone, as a peer's own connection."""
        symbols = set()
        if delivery.target_symbol is not None:
            route = self.gateway.routes.route(delivery.target_symbol)
            names = (route.symbol, *route.aliases) if route is not None else ()
            symbols = {symbol_key(name) for name in (delivery.target_symbol, *names)}
        if not self.gateway.access.registered:
            return Origin(delivery.address, symbols=symbols)
        identity = Identity(symbols, authenticated=True)
        return Origin(delivery.address, symbols=symbols, identity=identity)

    async def _answer(self, delivery: Delivery, outcome: Outcome) -> None:
        """Write the gateway's answer to the peer's own APDU (its acknowledgement or refusal)
        back on the delivery connection, as a listener connection would. A connection the
        answer cannot go out on is dropped; the delivery stays delivered."""
        stream = self._streams.get(delivery.address)
        if stream is None:
            return
        if outcome.reply is not None:
            if outcome.capture and self.config.peer(delivery.target_symbol).capture:
                comment = f"isoill -> {outcome.sender} Status-Or-Error-Report"
                self._taps[delivery.address].apdu(True, outcome.reply, time.time(), comment)
            try:
                await streams.send(stream[1], outcome.reply, self.config.delivery.reply_timeout)
            except OSError as error:
                self.log.warning(
                    "answer to the peer's APDU not sent", address=delivery.address, error=str(error)
                )
                self._drop(delivery.address)
                return
        if outcome.close:
            self._drop(delivery.address)

    def _on_the_wire(self, delivery: Delivery) -> bytes:
        """The bytes sent: as stored, but with the gateway's own Prompt-1 login (in place of
        any other) for a target that wants one. They are never stored or recorded."""
        symbol = delivery.target_symbol
        login = self.gateway.access.logins.get(symbol) if symbol is not None else None
        if login is None:
            return delivery.ber
        return with_extension(without_extensions(delivery.ber, PROMPT_1), _login_bytes(login))

    def _scrubbed(self, delivery: Delivery) -> bytes | None:
        """For a target that takes the sender's Prompt-1 login: the APDU as it is kept once
        delivered, without it (``None``: as it is)."""
        if not self.config.peer(delivery.target_symbol).forward_sender_login:
            return None
        cut = without_extensions(delivery.ber, PROMPT_1)
        return None if cut == delivery.ber else cut

    async def _exchange(self, delivery: Delivery, recorded: bytes) -> bytes | None:
        """Send one APDU; return the peer's own APDU if it answered with one. The capture
        records it as ``recorded``: without a login it carries.

        A kept connection the peer has closed since is not an attempt: it is dropped and the
        APDU sent again on a fresh one.
        """
        reused = delivery.address in self._streams
        try:
            return await self._send_once(delivery, recorded)
        except OSError:
            if not reused:
                raise
            self._drop(delivery.address)
            return await self._send_once(delivery, recorded)

    async def _send_once(self, delivery: Delivery, recorded: bytes) -> bytes | None:
        settings = self.config.delivery
        peer = self.config.peer(delivery.target_symbol)
        target = delivery.target_symbol or delivery.address
        reader, writer = await self._connect(delivery.address)
        tap = self._taps[delivery.address]
        if peer.capture:
            comment = f"isoill -> {target} {delivery.apdu_type}"
            tap.apdu(True, recorded, time.time(), comment)
        writer.write(self._on_the_wire(delivery))
        await writer.drain()
        if not peer.expects_reply:
            return None
        framer = Framer(max_apdu_size=self.config.limits.max_apdu_size)
        async with asyncio.timeout(settings.reply_timeout):
            while (answer := framer.next_apdu()) is None:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionResetError("connection closed before an answer")
                framer.feed(data)
        # Only the outer layers are read: whether the answer is an acknowledgement, a refusal
        # or an APDU of the peer's own (which the gateway decodes when it routes it onward).
        try:
            apdu_type, fields = present_fields(answer)
        except CodecError as error:
            if peer.capture:
                tap.apdu(False, answer, time.time(), f"{target} -> isoill unreadable APDU")
            raise DeliveryError(f"unreadable answer: {error}") from None
        if peer.capture and tap.recorder is not None:
            tap.apdu(False, _kept(answer, fields), time.time(), f"{target} -> isoill {apdu_type}")
        if apdu_type == "Status-Or-Error-Report":
            if "error-report" in fields:
                raise DeliveryError(f"refused: {_refusal(answer)}")
            return None
        return answer

    async def _connect(self, address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        stream = self._streams.get(address)
        if stream is not None:
            if not stream[1].is_closing():
                return stream
            self._drop(address)
        host, _, port = address.rpartition(":")
        async with asyncio.timeout(self.config.delivery.connect_timeout):
            stream = await asyncio.open_connection(host.strip("[]"), int(port))
        self._streams[address] = stream
        local = socket_address(stream[1].get_extra_info("sockname"))
        remote = socket_address(stream[1].get_extra_info("peername"))
        self._taps[address] = Tap(self.gateway.recorder, local, remote)
        return stream

    def _drop(self, address: str) -> None:
        stream = self._streams.pop(address, None)
        if stream is not None:
            stream[1].close()
        tap = self._taps.pop(address, None)
        if tap is not None:
            tap.close(time.time())


def _kept(answer: bytes, fields: frozenset[str]) -> bytes:
    """A peer's answer as the gateway records it: without a Prompt-1 login it carries (as
    received when its extensions are not BER: then nothing in them can be cut reliably)."""
    if not any(name.endswith("-extensions") for name in fields):
        return answer
    try:
        return without_extensions(answer, PROMPT_1)
    except CodecError:
        return answer


@functools.lru_cache(maxsize=64)
def _login_bytes(login: GatewayLogin) -> bytes:
    return login_extension(login.user_id, login.password.encode("utf-8"))


def _poll(store: Backend, now: datetime, busy: list[str]) -> tuple[list[Delivery], datetime | None]:
    """What to send now (but not to the ``busy`` addresses) and when to look again: one trip
    to the reading thread for both."""
    return store.due(now, 500, RUN, exclude=busy), store.next_due_at(now)


def _counts(store: Backend) -> dict[str, int]:
    return store.counts()


def _refusal(answer: bytes) -> str:
    """What a peer's error-report says, for the log and the delivery's last error."""
    try:
        report = decode(answer)
    except CodecError as error:
        return f"an error-report that does not decode ({error})"
    error_report = getattr(report, "error_report", None)
    return str(error_report.model_dump(mode="json")) if error_report is not None else "?"
