"""``isoill serve --config PATH [--workers N]``: run the gateway daemon.

Without ``--workers``, one process serves. With it, a supervisor binds the listeners once and
forks N workers that serve on them (:mod:`isoill.process.supervisor`). Either way the
listening sockets systemd passes are used (socket activation), systemd is told when the daemon
is ready, and a store one process writes (SQLite) is locked first, so that a second daemon on
it is refused, saying which pid holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from isoill import logs, metrics
from isoill.app import App, claim_store
from isoill.cli.common import EXIT_BAD_INPUT, BadInput
from isoill.config import Config, ConfigError, load
from isoill.process import systemd
from isoill.process.errors import CannotStart
from isoill.process.sockets import Listening, listening
from isoill.process.supervisor import Supervisor, Worker
from isoill.router import RoutesError
from isoill.store.errors import StoreError, StoreFault

#: What stops a start for good, and is told in one line (ConfigError: a listener's TLS files).
_REFUSALS = (RoutesError, ConfigError, CannotStart)
#: The exit status of a start that failed for now (the store unreachable): systemd's
#: ``Restart=on-failure``, or the supervisor, starts it again.
EXIT_FOR_NOW = 1


def run_serve(args: argparse.Namespace) -> None:
    try:
        config = load(args.config)
    except ConfigError as error:
        raise BadInput(str(error)) from None
    logs.configure(config.log.format, config.log.level)
    notify = systemd.Notifier.from_environment()
    try:
        inherited = systemd.listen_fds()
        lock = claim_store(config, args.workers or 1)
    except _REFUSALS as error:
        raise BadInput(str(error)) from None
    try:
        status = _serve(config, args.workers, inherited, notify)
    finally:
        if lock is not None:
            lock.close()
    if status:
        sys.exit(status)


def _serve(
    config: Config, workers: int | None, inherited: list[socket.socket], notify: systemd.Notify
) -> int:
    """Serve, alone or as the supervisor of ``workers``; the exit status."""
    try:
        sockets = listening(config.bound_listeners, inherited)
        if workers is None:
            _runner(config)(App(config, sockets=sockets, notify=notify).run())
            return 0
    except _REFUSALS as error:
        raise BadInput(str(error)) from None
    except StoreError as error:
        return _cannot_open(error)
    supervisor = Supervisor(
        workers,
        lambda worker: _work(config, sockets, worker),
        listening=[sock for own in sockets for sock in own],
        notify=notify,
        pid_file=config.pid_file,
    )
    return supervisor.run()


def _work(config: Config, sockets: Listening, worker: Worker) -> int:
    """A worker's life, in its own process: the gateway on the supervisor's sockets."""
    logs.configure(config.log.format, config.log.level, worker=worker.index)
    metrics.WORKER_RESTARTS.inc(worker.restarts)
    try:
        app = App(
            config,
            sockets=sockets,
            notify=worker.notify,
            worker=worker.index,
            lifeline=worker.lifeline,
        )
        _runner(config)(app.run())
    except _REFUSALS as error:
        sys.stderr.write(f"isoill: {error}\n")
        return EXIT_BAD_INPUT
    except StoreError as error:
        return _cannot_open(error)
    return 0


def _cannot_open(error: StoreError) -> int:
    """Say in one line why the store could not be opened at start (the driver's words: a
    server unreachable, a database missing, a schema too new); the exit status:
    ``EXIT_FOR_NOW`` for a fault that may pass by itself, else ``EXIT_BAD_INPUT``."""
    temporary = isinstance(error, StoreFault) and error.temporary
    words = " ".join(str(error).split())
    sys.stderr.write(f"isoill: cannot open the store{' for now' if temporary else ''}: {words}\n")
    return EXIT_FOR_NOW if temporary else EXIT_BAD_INPUT


def _runner(config: Config) -> Callable[[Coroutine[Any, Any, None]], None]:
    runner: Callable[[Coroutine[Any, Any, None]], None] = (
        uvloop.run if config.event_loop == "uvloop" else asyncio.run
    )
    return runner
