"""The ISO 10161 listeners: where peers connect and send raw BER APDUs over TCP (or TLS).

A connection is read, framed and answered one APDU at a time, so both habits of real peers
work: lock-step on a persistent connection (each APDU answered before the next is read) and
one connection per APDU. Nothing a peer sends ends the loop but a framing error, too many
malformed APDUs, silence past the idle timeout, or the peer closing; a bug below the intake
service's own catch-all ends that one connection, logged and counted. Each APDU goes to
:meth:`isoill.service.intake.IntakeService.receive`; its answer is written back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import time
from collections import Counter
from collections.abc import Sequence

from isoill import logs, metrics
from isoill.capture.recorder import Recorder, Tap, socket_address
from isoill.codec.encoder import encode
from isoill.codec.errors import FramingError
from isoill.codec.framing import Framer
from isoill.codec.models import GeneralProblem
from isoill.config import Config, Listener
from isoill.core import reports
from isoill.process.sockets import BACKLOG
from isoill.service.access import AccessControl, Identity
from isoill.service.clock import Clock
from isoill.service.intake import IntakeService
from isoill.service.origin import Origin, Outcome
from isoill.transport import streams
from isoill.transport.deadline import SLACK, Deadline
from isoill.transport.limits import over_limit
from isoill.transport.tls import client_certificate, server_context

READ_CHUNK = 65536
DRAIN_TIMEOUT = 10.0


class Listeners:
    def __init__(
        self,
        config: Config,
        intake: IntakeService,
        access: AccessControl,
        recorder: Recorder | None,
        clock: Clock,
    ) -> None:
        self.config = config
        self.intake = intake
        self.access = access
        self.recorder = recorder
        self.clock = clock
        self._servers: list[list[asyncio.Server]] = []  # by listener
        self._ports: list[int] = []
        self._connections: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()  # handling an APDU: let it finish on stop
        self._writers: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._per_address: Counter[str] = Counter()
        self._stopping = False
        self.log = logs.get()

    async def start(self, sockets: Sequence[Sequence[socket.socket]]) -> None:
        """Serve on ``sockets``, bound already: for each listener in config order, its own
        (one per address its host names). Workers of one supervisor share them, and so the
        queue of connections waiting to be accepted."""
        listeners = self.config.listeners
        contexts = [None if each.tls is None else server_context(each.tls) for each in listeners]
        loop = type(asyncio.get_running_loop()).__module__.partition(".")[0]  # uvloop, asyncio
        for listener, tls, own in zip(listeners, contexts, sockets, strict=True):
            accept = functools.partial(self._accept, listener=listener, tls=tls)
            servers = []
            for sock in own:
                address = socket_address(sock.getsockname())
                servers.append(await asyncio.start_server(accept, sock=sock, backlog=BACKLOG))
                self.log.info("listening", address=address, event_loop=loop)
            self._servers.append(servers)
            self._ports.append(own[0].getsockname()[1])  # bound already: port 0 is chosen

    @property
    def ports(self) -> list[int]:
        """Bound ports, in config order (port 0 binds a free one)."""
        return self._ports

    async def stop(self) -> None:
        """Stop listening and let each connection finish the APDU in hand."""
        self._stopping = True
        for servers in self._servers:
            for server in servers:
                server.close()
        for task, writer in self._writers.items():
            if task not in self._busy:
                writer.close()  # waiting for bytes: nothing in flight; its read sees the end
        if self._connections:
            _, pending = await asyncio.wait(self._connections, timeout=DRAIN_TIMEOUT)
            for task in pending:
                self._writers[task].transport.abort()  # nothing it still has to send waits
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _accept(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        listener: Listener,
        tls: ssl.SSLContext | None,
    ) -> None:
        address = socket_address(writer.get_extra_info("peername"))
        host = address.rsplit(":", 1)[0]
        access = self.access
        if access.registered and not access.known(host):
            metrics.REJECTIONS.labels("unregistered-address").inc()
            self.log.warning("connection refused: no peer connects from here", peer=address)
            writer.close()
            return
        limit = self._over_limit(host)
        if limit is not None:
            metrics.REJECTIONS.labels(limit).inc()
            self.log.warning("connection refused: limit reached", peer=address, limit=limit)
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self._writers[task] = writer
        self._per_address[host] += 1
        metrics.CONNECTIONS.inc()
        local = socket_address(writer.get_extra_info("sockname"))
        tap = Tap(self.recorder, address, local)
        # No await in a finally or except block: compiled by mypyc, a coroutine resumed
        # there re-raised another task's exception (docs/performance.md).
        try:
            await self._session(reader, writer, listener, tls, address, host, tap)
            # the connection keeps its slot until its last answer has gone out
            await streams.close(writer, self.config.limits.idle_timeout)
        except BaseException:  # cancelled (the listener stopping): nothing more goes out
            writer.transport.abort()
            raise
        finally:
            self._connections.discard(task)
            self._writers.pop(task, None)
            self._per_address[host] -= 1
            if not self._per_address[host]:
                del self._per_address[host]
            metrics.CONNECTIONS.dec()
            tap.close(time.time())

    async def _session(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        listener: Listener,
        tls: ssl.SSLContext | None,
        address: str,
        host: str,
        tap: Tap,
    ) -> None:
        """The connection from its TLS handshake to its end; what ends it is logged here."""
        try:
            origin = await self._origin(writer, listener, tls, address, host)
            if origin is not None:
                await self._serve(reader, writer, origin, tap)
        except ConnectionError as error:
            self.log.info("connection lost", peer=address, error=repr(error))
        except Exception:  # a bug outside the intake service's own catch-all: this one ends
            metrics.INTERNAL_ERRORS.labels("connection").inc()
            self.log.exception("internal error; connection closed", peer=address)

    def _over_limit(self, host: str) -> str | None:
        """Why a new connection from ``host`` is refused, or ``None`` (:func:`over_limit`)."""
        limits = self.config.limits
        return over_limit(
            len(self._connections),
            self._per_address[host],
            max_connections=limits.max_connections,
            per_address=limits.max_connections_per_address,
            reserved=limits.reserved_connections,
        )

    async def _origin(
        self,
        writer: asyncio.StreamWriter,
        listener: Listener,
        tls: ssl.SSLContext | None,
        address: str,
        host: str,
    ) -> Origin | None:
        """The connection's origin once its TLS handshake is done, with, in registered mode,
        the peers it speaks for; ``None``: refused (logged and counted), to be closed."""
        certificate = None
        if tls is not None and listener.tls is not None:
            try:
                await writer.start_tls(tls, ssl_handshake_timeout=listener.tls.handshake_timeout)
            except (OSError, TimeoutError) as error:  # ssl.SSLError is an OSError
                metrics.REJECTIONS.labels("tls-handshake").inc()
                self.log.warning("TLS handshake failed", peer=address, error=str(error))
                return None
            certificate = client_certificate(writer.get_extra_info("ssl_object"))
        access = self.access
        if not access.registered:
            return Origin(address, listener.default_target)
        peers = access.admit(host, certificate)
        if not peers:
            metrics.REJECTIONS.labels("no-certificate").inc()
            self.log.warning("connection refused: not the certificate of a peer", peer=address)
            return None
        self.log.info("connection admitted", peer=address, peers=sorted(peers))
        return Origin(address, listener.default_target, peers, identity=Identity(peers))

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        origin: Origin,
        tap: Tap,
    ) -> None:
        limits = self.config.limits
        framer = Framer(limits.max_apdu_size, limits.max_depth, limits.max_elements)
        origin.log.debug("connected")
        watch = Deadline(asyncio.get_running_loop(), writer.transport.abort)  # after TLS
        try:
            await self._read_apdus(reader, writer, origin, tap, framer, watch)
        finally:
            watch.cancel()

    async def _read_apdus(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        origin: Origin,
        tap: Tap,
        framer: Framer,
        watch: Deadline,
    ) -> None:
        """Read, answer and frame the connection's APDUs until it ends; ``watch`` bounds each
        wait for the peer (``idle_timeout``, ``apdu_timeout`` once an APDU has begun)."""
        limits = self.config.limits
        log = origin.log
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        deadline: float | None = None  # by when the APDU begun must be whole
        while True:
            if framer.buffered and deadline is None:
                deadline = loop.time() + limits.apdu_timeout
            until = loop.time() + limits.idle_timeout
            watch.at(until if deadline is None else min(until, deadline))
            data = await reader.read(READ_CHUNK)
            watch.at(None)
            if watch.expired:
                if deadline is not None and loop.time() + SLACK >= deadline:
                    metrics.REJECTIONS.labels("apdu-timeout").inc()
                    log.warning("APDU incomplete after apdu_timeout; closing")
                else:
                    log.info("idle timeout")
                return
            if not data:
                log.debug("closed by peer")
                return
            framer.feed(data)
            while True:
                framing: FramingError | None = None
                try:
                    ber = framer.next_apdu()
                except FramingError as error:
                    log.warning("framing error; closing", error=str(error))
                    framing = error
                if framing is not None:  # awaited out of the except block (see _accept)
                    await self._framing_error(framing, origin, writer, tap)
                    return
                if ber is None:
                    break
                deadline = None
                self._busy.add(task)
                try:
                    outcome = await self._answer(ber, origin, writer, tap)
                finally:
                    self._busy.discard(task)
                if outcome.close:
                    log.warning("closing", after=outcome.summary)  # intake logged why
                    return
                if outcome.done and not framer.buffered:
                    return
                if self._stopping:
                    return

    async def _framing_error(
        self, error: FramingError, origin: Origin, writer: asyncio.StreamWriter, tap: Tap
    ) -> None:
        """Tell the peer why its stream cannot be read, if it still listens."""
        metrics.REJECTIONS.labels("framing").inc()
        problem = GeneralProblem.from_value(error.general_problem)
        now = self.clock.now()
        report = encode(reports.provider_error(None, problem, str(error), now))
        if self.intake.recorded(None, origin):
            comment = f"isoill -> {origin.address} Status-Or-Error-Report"
            tap.apdu(False, report, now.timestamp(), comment)
        with contextlib.suppress(ConnectionError):
            await streams.send(writer, report, self.config.limits.idle_timeout)

    async def _answer(
        self, ber: bytes, origin: Origin, writer: asyncio.StreamWriter, tap: Tap
    ) -> Outcome:
        """One APDU through intake, and its answer written; ``tap`` records both where the
        sender's ``capture`` allows."""
        received = time.time()
        outcome = await self.intake.receive(ber, origin)
        if outcome.capture:  # as intake keeps it: without Prompt-1 credentials
            kept = ber if outcome.received is None else outcome.received
            tap.apdu(True, kept, received, outcome.summary)
        if outcome.reply is not None:
            if outcome.capture:
                comment = f"isoill -> {outcome.sender} Status-Or-Error-Report"
                tap.apdu(False, outcome.reply, time.time(), comment)
            await streams.send(writer, outcome.reply, self.config.limits.idle_timeout)
        return outcome
