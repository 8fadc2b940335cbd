"""The composition root: the one place that builds the gateway's parts and wires them together
(the store and its writer and reader, the intake service, delivery, the listeners, the admin
endpoint, the capture), opens and closes them in order, and runs until a signal.

The store is used from one worker thread (its writer's, :class:`~isoill.store.group.GroupWriter`,
so writes never block the event loop and are committed in groups) and one more for the
forwarder's queries (:class:`~isoill.store.reader.StoreReader`). SIGTERM or SIGINT drains:
stop listening, let each connection finish the APDU in hand, stop delivering, close. SIGHUP
reloads the routes and the credentials file.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from isoill import logs, private
from isoill.capture.recorder import Recorder
from isoill.config import Config, ConfigError, load_credentials
from isoill.delivery.forwarder import Forwarder
from isoill.router import RoutesError, RoutingTable
from isoill.service.access import AccessControl
from isoill.service.clock import Clock, SystemClock
from isoill.service.handoff import Handoff
from isoill.service.intake import IntakeService
from isoill.service.reachability import Reachability
from isoill.store.backend import Backend
from isoill.store.group import GroupWriter
from isoill.store.open import open_store
from isoill.store.reader import StoreReader
from isoill.transport import admin
from isoill.transport.iso10161.link import Iso10161Link
from isoill.transport.iso10161.listener import Listeners


class App:
    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.routes = RoutingTable.load(config.routes)
        self.access = AccessControl(config)
        self.reachability = Reachability()
        self.handoff = Handoff()  # what is stored for delivery, on its way to the forwarder
        self.stopping = asyncio.Event()
        self.log = logs.get()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="isoill-store")
        self._backend: Backend | None = None
        self._writer: GroupWriter | None = None
        self._reader: StoreReader | None = None
        self._intake: IntakeService | None = None
        self._forwarder: Forwarder | None = None
        self._listeners: Listeners | None = None
        self._admin: asyncio.Server | None = None
        self.recorder: Recorder | None = None

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
    def admin_port(self) -> int | None:
        if self._admin is None:
            return None
        port: int = self._admin.sockets[0].getsockname()[1]
        return port

    def healthy(self) -> bool:
        """Serving: not stopping, and the forwarder running."""
        return not self.stopping.is_set() and self._forwarder is not None and self.forwarder.running

    # -- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store (refusing files others may read: :class:`ConfigError`) and the
        capture, then start intake, delivery, the listeners and the admin endpoint."""
        config = self.config
        self._check_files()
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
        self._forwarder = Forwarder(
            config,
            self._reader,
            self._writer,
            self.handoff,
            self._intake,
            self.access,
            self.reachability,
            links,
            self.clock,
        )
        self._listeners = Listeners(config, self._intake, self.access, self.recorder, self.clock)
        await self._listeners.start()
        if config.admin is not None:
            self._admin = await admin.serve(config.admin.host, config.admin.port, self.healthy)
        self._forwarder.start()

    async def stop(self) -> None:
        """Drain: stop listening, let each connection finish its APDU, stop delivering, close."""
        self.log.info("stopping")
        self.stopping.set()
        if self._admin is not None:
            self._admin.close()
        if self._listeners is not None:
            await self._listeners.stop()
        if self._forwarder is not None:
            await self._forwarder.stop()
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
        await self.start()
        # What exists now (the codec's plan and models, the rules, config, routes) lives as
        # long as the process: frozen, the collector's full passes do not walk it again. One
        # such pass over it takes ~27 ms, a latency spike for every APDU in flight.
        gc.freeze()
        pid_file = self.config.pid_file
        private.make_directory(pid_file.parent)
        with private.open_new(pid_file) as file:
            file.write(f"{os.getpid()}\n".encode())
        try:
            await self.stopping.wait()
            await self.stop()
        finally:
            pid_file.unlink(missing_ok=True)

    # -- reloads ----------------------------------------------------------------------------

    def reload(self) -> bool:
        """SIGHUP: read the routes and the credentials file again. A file that cannot be
        used is refused with the reason, and what it would have replaced stays."""
        routes = self.reload_routes()
        credentials = self.reload_credentials()
        return routes and credentials

    def reload_routes(self) -> bool:
        try:
            table = RoutingTable.load(self.config.routes)
        except RoutesError as error:
            self.log.error("routes reload refused; the old table stays", error=str(error))
            return False
        self.routes = table
        if self._intake is not None:
            self._intake.use_routes(table)
        self.log.info("routes reloaded", source=str(self.config.routes))
        return True

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
        self.log.info("credentials reloaded", source=str(access.credentials))
        return True

    def _check_files(self) -> None:
        """An SQLite store (with its -wal and -shm) and the credentials file must be the
        daemon user's alone."""
        store = self.config.store
        files = [self.config.access.credentials]
        if isinstance(store, Path):
            files += [store.with_name(store.name + suffix) for suffix in ("", "-wal", "-shm")]
        for path in files:
            problem = private.exposed(path)
            if problem is not None:
                raise ConfigError(problem)
