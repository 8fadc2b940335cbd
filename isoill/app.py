"""The composition root: the one place that builds the gateway's parts and wires them together
(the store and its writer and reader, the intake service, delivery, the listeners, the ISO 18626
endpoint, the admin endpoint, the capture), opens and closes them in order, and runs until a
signal.

The store is used from one worker thread (its writer's, :class:`~isoill.store.group.GroupWriter`,
so writes never block the event loop and are committed in groups) and one more for the
forwarder's queries (:class:`~isoill.store.reader.StoreReader`). SIGTERM or SIGINT drains:
stop listening, let each connection finish the APDU in hand, stop delivering, close. SIGHUP
reloads the routes and the credentials file; on a shared store, a routes file that changed is
announced to the other processes, and each reads its own routes file again. Whoever
supervises the process (systemd, or the supervisor of ``isoill serve --workers N``) is told
when it is ready, reloading and stopping.

Before an ``isoill serve`` starts, :func:`claim_store` says whether its store may be shared by
several processes, and locks one that may not (SQLite's) for the daemon's life.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from isoill import logs, metrics, private
from isoill.access.sessions import new_key
from isoill.bridge.settings import PeerSettings18626
from isoill.capture.recorder import Recorder
from isoill.config import Config, ConfigError, load_credentials
from isoill.console import server, site
from isoill.console.auth import Guard
from isoill.console.health import Health
from isoill.console.server import AdminServer
from isoill.core import bridging
from isoill.delivery.forwarder import Forwarder
from isoill.process import systemd
from isoill.process.lock import StoreLock
from isoill.process.sockets import Listening, bind
from isoill.router import Protocol, RoutesError, RoutingTable
from isoill.service.access import AccessControl
from isoill.service.audit import AuditLog
from isoill.service.clock import Clock, SystemClock
from isoill.service.console import ConsoleService
from isoill.service.handoff import Handoff
from isoill.service.intake import IntakeService
from isoill.service.reachability import Reachability
from isoill.service.route_history import RoutesHistory
from isoill.store.backend import Backend
from isoill.store.coordination import Coordination, RoutesReloaded
from isoill.store.errors import StoreError
from isoill.store.group import GroupWriter
from isoill.store.open import open_coordination, open_store
from isoill.store.reader import StoreReader
from isoill.transport.iso10161.link import Iso10161Link
from isoill.transport.iso10161.listener import Listeners
from isoill.transport.iso18626.endpoint import Endpoint
from isoill.transport.iso18626.link import Iso18626Client
from isoill.transport.tls import server_context


class App:
    """The gateway. ``sockets``: the listeners' sockets, bound already (by a supervisor, or
    handed down by systemd; see :mod:`isoill.process.sockets`), else bound at start.
    ``notify``: what the service manager is told. ``worker``: the index of a supervisor's
    worker, which listens for the admin endpoint on ``[admin] port`` plus its index and leaves
    the pid file to the supervisor. ``lifeline``: a descriptor whose end becomes readable when
    the supervisor is gone; then the worker drains, as on SIGTERM."""

    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        *,
        sockets: Listening | None = None,
        notify: systemd.Notify = systemd.silent,
        worker: int | None = None,
        lifeline: int | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.sockets = sockets
        self.notify = notify
        self.worker = worker
        self.lifeline = lifeline
        self.routes = RoutingTable.load(config.routes)
        _export(self.routes)
        self.access = AccessControl(config)
        self.reachability = Reachability()
        self.handoff = Handoff()  # what is stored for delivery, on its way to the forwarder
        self.coordination: Coordination = open_coordination(config.store)
        self.stopping = asyncio.Event()
        self.log = logs.get()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="isoill-store")
        self._backend: Backend | None = None
        self._writer: GroupWriter | None = None
        self._reader: StoreReader | None = None
        self._intake: IntakeService | None = None
        self._forwarder: Forwarder | None = None
        self._http: Iso18626Client | None = None
        self._listeners: Listeners | None = None
        self._endpoint: Endpoint | None = None
        self._admin: AdminServer | None = None
        self.console: ConsoleService | None = None
        self.recorder: Recorder | None = None
        self._ready = False  # told so
        self._announcing: set[asyncio.Task[None]] = set()

    # -- the parts, once started ------------------------------------------------------------

    @property
    def writer(self) -> GroupWriter:
        assert self._writer is not None, "not started"
        return self._writer

    @property
    def intake(self) -> IntakeService:
        assert self._intake is not None, "not started"
        return self._intake

    @property
    def forwarder(self) -> Forwarder:
        assert self._forwarder is not None, "not started"
        return self._forwarder

    @property
    def ports(self) -> list[int]:
        """Bound ports of the APDU listeners, in config order (port 0 binds a free one)."""
        assert self._listeners is not None, "not started"
        return self._listeners.ports

    @property
    def iso18626_port(self) -> int | None:
        """The bound port of the ISO 18626 endpoint; ``None`` without one."""
        ports = [] if self._endpoint is None else self._endpoint.ports
        return ports[0] if ports else None

    @property
    def admin_port(self) -> int | None:
        return None if self._admin is None else self._admin.port

    def healthy(self) -> bool:
        """Serving: not stopping, the forwarder running, the store reached, and (with a
        shared store) the claims and wake-ups standing."""
        return self.unhealthy() is None

    def unhealthy(self) -> str | None:
        """Why the process is not serving as it should (``/healthz``'s 503), ``None`` if it
        is. The store counts as lost while the forwarder's last query of it failed in its
        driver (no query is made here: the forwarder polls at least every 5 seconds, every
        second while it fails, and a shared store's coordination checks its connections
        every second)."""
        if self.stopping.is_set():
            return "stopping"
        if self._forwarder is None or not self.forwarder.running:
            return "delivery is not running"
        if not self.coordination.healthy():
            return "the store's coordination is lost (its connections for claims and wake-ups)"
        fault = None if self._reader is None else self._reader.fault
        if fault is not None:
            return f"the store cannot be read ({fault.reason})"
        return None

    async def readiness(self) -> dict[str, bool]:
        """``/readyz``: the store answers a query (within 2 s), the listeners (and the ISO
        18626 endpoint, when configured) are bound, delivery runs, and (with a shared store)
        the claims stand."""
        store = False
        if self._reader is not None:
            try:
                async with asyncio.timeout(2):
                    await self._reader.query(_counts)
                store = True
            except (StoreError, TimeoutError):
                store = False
        checks = {
            "store": store,
            "listeners": self._listeners is not None and bool(self._listeners.ports),
            "delivery": self.healthy(),
        }
        if self.config.iso18626 is not None:
            checks["iso18626"] = self._endpoint is not None and bool(self._endpoint.ports)
        return checks

    # -- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store (refusing files others may read: :class:`ConfigError`) and the
        capture, then start intake, delivery, the listeners and the admin endpoint."""
        config = self.config
        check_files(config)
        if isinstance(config.store, Path):  # a URL names a database: nothing to make here
            private.make_directory(config.store.parent)
        loop = asyncio.get_running_loop()
        policy = config.delivery.policy()
        self._backend = await loop.run_in_executor(
            self._executor, open_store, config.store, policy, config.limits.store_busy_timeout
        )
        self._writer = GroupWriter(self._backend, self._executor)
        self._writer.start()
        # The forwarder's queries run on a connection of their own, beside the writer's
        # (WAL lets them): a query for due deliveries does not wait behind a commit.
        self._reader = await StoreReader.open(functools.partial(open_store, config.store, policy))
        if config.capture is not None:
            self.recorder = Recorder.open(config.capture.directory, config.capture.format)
        self._intake = IntakeService(
            config,
            self.routes,
            self._writer,
            self.handoff,
            self.access,
            self.reachability,
            self.clock,
        )
        links = functools.partial(
            Iso10161Link,
            recorder=self.recorder,
            connect_timeout=config.delivery.connect_timeout,
            max_apdu_size=config.limits.max_apdu_size,
        )
        self._http = Iso18626Client(
            self._delivery18626, connect_timeout=config.delivery.connect_timeout
        )
        self._forwarder = Forwarder(
            config,
            self._reader,
            self._writer,
            self.handoff,
            self._intake,
            self.access,
            self.reachability,
            {Protocol.ISO10161: links, Protocol.ISO18626: self._http.link},
            self.coordination,
            self.clock,
        )
        self.coordination.follow_routes(self._routes_reloaded_elsewhere)
        self._listeners = Listeners(config, self._intake, self.access, self.recorder, self.clock)
        sockets = self.sockets
        if sockets is None:
            sockets = [bind(listener) for listener in config.bound_listeners]
        tcp = len(config.listeners)  # then the ISO 18626 endpoint's (config.bound_listeners)
        await self._listeners.start(sockets[:tcp])
        if config.iso18626 is not None:
            self._endpoint = Endpoint(
                config.iso18626, self._intake, self.access, self.clock, self._settings18626
            )
            await self._endpoint.start(sockets[tcp])
        await self._start_admin()
        await self._forwarder.start()

    async def stop(self) -> None:
        """Drain: stop listening, let each connection finish its APDU, stop delivering, close."""
        self.log.info("stopping")
        self.notify(systemd.STOPPING)
        self.stopping.set()
        if self._admin is not None:
            await self._admin.close()
        if self._listeners is not None:
            await self._listeners.stop()
        if self._endpoint is not None:
            await self._endpoint.stop()
        if self._forwarder is not None:
            await self._forwarder.stop()
        if self._http is not None:
            await self._http.close()
        await self.coordination.close()
        if self._writer is not None:
            await self._writer.close()
        if self._backend is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._backend.close)
        if self._reader is not None:
            await self._reader.close()
        self._executor.shutdown(wait=True)
        if self.recorder is not None:
            self.recorder.close()
        self.log.info("stopped")

    async def run(self) -> None:
        """Serve until SIGTERM or SIGINT; SIGHUP reloads the routes and the credentials."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        if self.lifeline is not None:
            loop.add_reader(self.lifeline, self._orphaned, self.lifeline)
        await self.start()
        # What exists now (the codec's plan and models, the rules, config, routes) lives as
        # long as the process: frozen, the collector's full passes do not walk it again. One
        # such pass over it takes ~27 ms, a latency spike for every APDU in flight.
        gc.freeze()
        pid_file = None if self.worker is not None else self.config.pid_file
        if pid_file is not None:
            private.make_directory(pid_file.parent)
            with private.open_new(pid_file) as file:
                file.write(f"{os.getpid()}\n".encode())
        self._ready = True
        self.notify(systemd.READY)
        try:
            await self.stopping.wait()
            await self.stop()
        finally:
            if pid_file is not None:
                pid_file.unlink(missing_ok=True)

    def _orphaned(self, lifeline: int) -> None:
        asyncio.get_running_loop().remove_reader(lifeline)
        self.log.warning("supervisor gone; draining")
        self.stopping.set()

    def _settings18626(self, symbol: str) -> PeerSettings18626 | None:
        """An ISO 18626 peer's settings, as the routes in effect now (a reload swaps them)."""
        return self.routes.settings18626(symbol)

    def _delivery18626(self, symbol: str) -> PeerSettings18626 | None:
        """What a POST to an ISO 18626 peer is sent with: its settings, with the
        requestingAgencyAuthentication the credentials in effect now give it."""
        return bridging.target_settings(self.routes, self.intake.policy.authentications, symbol)

    # -- reloads ----------------------------------------------------------------------------

    def reload(self) -> bool:
        """SIGHUP: read the routes and the credentials file again. A file that cannot be
        used is refused with the reason, and what it would have replaced stays."""
        if self._ready:
            self.notify(systemd.reloading())
        routes = self.reload_routes()
        credentials = self.reload_credentials()
        if self._ready:
            self.notify(systemd.READY)
        return routes and credentials

    def reload_routes(self, elsewhere: RoutesReloaded | None = None) -> bool:
        """Read the routes file again and route by it. A reload of this process's own (not
        one that another process announced: ``elsewhere``) that changed the table is
        announced to the processes sharing the store."""
        try:
            table = RoutingTable.load(self.config.routes)
        except RoutesError as error:
            self.log.error("routes reload refused; the old table stays", error=str(error))
            return False
        before, self.routes = self.routes, table
        if self._intake is not None:
            self._intake.use_routes(table)
        _export(table)
        source = str(self.config.routes)
        if elsewhere is None:
            self.log.info("routes reloaded", source=source, sha256=table.sha256)
            if table.sha256 != before.sha256 and self.coordination.shared:
                self._announce(table.sha256)
        elif table.sha256 == elsewhere.sha256:
            self.log.info("routes reloaded", source=source, sha256=table.sha256, by=elsewhere.by)
        else:  # the files differ between hosts: a rollout not finished
            self.log.warning(
                "routes reloaded elsewhere from another file than this host's",
                source=source,
                sha256=table.sha256,
                changed=table.sha256 != before.sha256,
                theirs=elsewhere.sha256,
                by=elsewhere.by,
            )
        return True

    def _routes_reloaded_elsewhere(self, reloaded: RoutesReloaded) -> None:
        """A process sharing the store reloaded its routes (this one's own word comes back
        too): read this host's file again, unless it is the one already in use."""
        if reloaded.sha256 != self.routes.sha256:
            self.reload_routes(reloaded)

    def _announce(self, sha256: str) -> None:
        task = asyncio.get_running_loop().create_task(self._announcing_routes(sha256))
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    async def _announcing_routes(self, sha256: str) -> None:
        try:
            await self.coordination.announce_routes(sha256)
        except StoreError as error:
            self.log.warning("routes reload not announced to the other processes", error=str(error))

    def apply_routes(self) -> bool:
        """A routes change made in this process (the console's): load it here, and tell the
        other processes serving this configuration. The pid file names this process when it
        runs alone; when it names another (the supervisor of ``isoill serve --workers``), that
        one is sent SIGHUP, which it forwards to every worker."""
        loaded = self.reload_routes()
        if loaded:
            try:
                pid = int(self.config.pid_file.read_text())
                if pid != os.getpid():
                    os.kill(pid, signal.SIGHUP)
            except FileNotFoundError:  # not run as a daemon (started by a test, say)
                pass
            except (OSError, ValueError) as error:
                self.log.warning("could not tell the other processes", error=str(error))
        return loaded

    def reload_credentials(self) -> bool:
        access = self.config.access
        try:
            problem = private.exposed(access.credentials)
            if problem is not None:
                raise ConfigError(problem)
            credentials = load_credentials(access, self.config.peers)
        except ConfigError as error:
            self.log.error("credentials reload refused; the old ones stay", error=str(error))
            return False
        self.access.credentials = credentials.peers
        self.access.logins = credentials.logins
        if self._intake is not None:
            self._intake.use_credentials(credentials)
        self.log.info("credentials reloaded", source=str(access.credentials))
        return True

    async def _start_admin(self) -> None:
        """The admin listener: metrics and health, and the console when it is on."""
        config = self.config
        if config.admin is None:
            return
        console = config.console if config.console is not None and config.console.enabled else None
        app = server.application(
            Health(self.unhealthy, self.readiness), 65536 if console is None else console.max_body
        )
        if console is not None:
            assert self._reader is not None
            self.console = ConsoleService(
                config,
                self._reader,
                self.writer,
                lambda: self.routes,
                self.apply_routes,
                self.reachability,
                self.handoff,
                self.clock,
                RoutesHistory(config.routes, config.routes_history),
                AuditLog(config.audit_log),
            )
            guard = Guard(
                self._console_key(), console.accounts, console, secure=config.admin.tls is not None
            )
            site.install(app, self.console, console, guard)
        tls = None if config.admin.tls is None else server_context(config.admin.tls)
        # Each worker of ``--workers`` has an admin port of its own: the configured one plus
        # its index (0 binds a free port for every worker).
        port = config.admin.port + (self.worker or 0) if config.admin.port else 0
        self._admin = await server.serve(app, config.admin.host, port, tls)
        self.log.info("admin endpoint", address=f"{config.admin.host}:{self._admin.port}")

    def _console_key(self) -> bytes:
        """The key that signs the console's sessions: made once, mode 0600, kept across
        restarts so that a restart logs nobody out."""
        path = self.config.console_key
        try:
            with private.open_new(path, exclusive=True) as out:
                out.write(new_key())
        except FileExistsError:
            pass
        return path.read_bytes()


def _counts(store: Backend) -> dict[str, int]:
    return store.counts()


def _export(routes: RoutingTable) -> None:
    """``isoill_routes_info{sha256=...} 1`` for the routes in use, and no other version."""
    metrics.ROUTES_INFO.clear()
    metrics.ROUTES_INFO.labels(routes.sha256).set(1)


def check_files(config: Config) -> None:
    """The store (with its -wal and -shm), the credentials file and the console's files
    (accounts, session key, audit log) must be the daemon user's alone: :class:`ConfigError`
    says which is not, and the ``chmod`` that fixes it."""
    store = config.store
    files = [config.access.credentials]
    if isinstance(store, Path):  # an SQLite store, with its -wal and -shm
        files += [store.with_name(store.name + suffix) for suffix in ("", "-wal", "-shm")]
    if config.console is not None and config.console.enabled:
        files += [config.console.accounts, config.console_key, config.audit_log]
    for path in files:
        problem = private.exposed(path)
        if problem is not None:
            raise ConfigError(problem)


def claim_store(config: Config, processes: int) -> StoreLock | None:
    """Before ``processes`` gateway processes start on the configured store: nothing to hold
    for a database several processes share (PostgreSQL's, named by a URL); for an SQLite
    file, which one process writes, its lock (:class:`~isoill.process.lock.StoreInUse` while
    another daemon holds it), kept for the daemon's life, and :class:`ConfigError` for more
    than one process. Nothing is opened or created before that is settled."""
    check_files(config)
    store = config.store
    if not isinstance(store, Path):
        return None
    if processes > 1:
        raise ConfigError(
            f"--workers {processes}: the store {store} is an SQLite file, which one"
            " process writes; several workers need a store they can share (run --workers 1)"
        )
    private.make_directory(store.parent)
    return StoreLock.take(store)
