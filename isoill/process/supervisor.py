"""The supervisor of ``isoill serve --workers N``: one process that holds the listening sockets
and looks after N worker processes, each of which serves on them.

The sockets are bound (or taken from systemd) before the workers are forked, so all of them
accept from one listen queue: a worker that dies or restarts leaves the connections waiting
there to the others, or to its successor, and none is refused meanwhile (``SO_REUSEPORT``
would give each worker a queue of its own, which the kernel resets when that worker closes
it). The supervisor never serves itself: it forwards SIGHUP to every worker (each reloads),
answers SIGTERM or SIGINT by asking every worker to drain and waiting for them (at most
``stop_timeout`` seconds, then SIGKILL), and starts a worker that died again, as
:mod:`isoill.process.restarts` decides, giving up when workers keep dying before they are
ready.

It runs no event loop (a forked child must not inherit one): a selector waits on the signals
(through the wakeup descriptor) and on one datagram socket per worker, on which the worker
sends what it would tell systemd. The supervisor tells systemd ``READY=1`` once every worker
is ready, ``RELOADING=1`` and ``READY=1`` around a reload every worker has confirmed, and
``STOPPING=1`` when it drains; it writes the pid file once ready. Every worker also holds the
read end of a pipe the supervisor holds the other end of: when the supervisor is gone,
however it ended, the pipe's end is readable and the worker drains.
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from isoill import logs, private
from isoill.process.restarts import GiveUp, History, RestartPolicy, after_death
from isoill.process.systemd import READY, STOPPING, Notify, reloading

#: Seconds the workers have to drain after SIGTERM before they are killed: a connection's
#: APDU in hand has 10 s (``isoill.transport.iso10161.listener.DRAIN_TIMEOUT``), then the
#: store is closed.
STOP_TIMEOUT = 30.0

#: The longest the supervisor waits without looking at its workers.
_TICK = 1.0

_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)


@dataclass(frozen=True)
class Worker:
    """What a worker process is given: its index (0 to N-1), how often its slot was started
    again, where it says what it would tell systemd, and a descriptor that becomes readable
    (its end) once the supervisor is gone."""

    index: int
    restarts: int
    notify: Notify
    lifeline: int


#: A worker's life, in the forked process: serve until told to stop; the exit status.
Work = Callable[[Worker], int]


@dataclass
class _Slot:
    index: int
    starts: int = 0
    history: History = field(default_factory=History)
    pid: int | None = None
    channel: socket.socket | None = None
    started: float = 0.0
    ready: bool = False
    reloading: bool = False
    due: float | None = None  # when it is started again


class Supervisor:
    def __init__(
        self,
        workers: int,
        work: Work,
        *,
        listening: Sequence[socket.socket],
        notify: Notify,
        pid_file: Path,
        policy: RestartPolicy | None = None,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> None:
        self.work = work
        self.listening = listening
        self.notify = notify
        self.pid_file = pid_file
        self.policy = policy or RestartPolicy()
        self.stop_timeout = stop_timeout
        self.log = logs.get()
        self._slots = [_Slot(index) for index in range(workers)]
        self._selector = selectors.DefaultSelector()
        self._wakeup_read, self._wakeup_write = os.pipe()
        self._lifeline_read, self._lifeline_write = os.pipe()
        self._announced = False  # READY=1 sent, the pid file written
        self._stopping = False
        self._deadline = 0.0
        self._status = 0

    def run(self) -> int:
        """Start the workers and look after them until SIGTERM or SIGINT, or until they cannot
        be kept running; the exit status: 0 when every worker drained."""
        self.log.info("supervising", workers=len(self._slots), pid=os.getpid())
        for fd in (self._wakeup_read, self._wakeup_write):
            os.set_blocking(fd, False)
        self._selector.register(self._wakeup_read, selectors.EVENT_READ, self._signals)
        signal.set_wakeup_fd(self._wakeup_write, warn_on_full_buffer=False)
        for number in _SIGNALS:
            signal.signal(number, _noted)  # the wakeup descriptor carries the number
        try:
            for slot in self._slots:
                self._start(slot)
            while self._alive() or not self._stopping:
                self._turn()
        finally:
            if self._announced:
                self.pid_file.unlink(missing_ok=True)
        self.log.info("stopped", status=self._status)
        return self._status

    # -- one turn ---------------------------------------------------------------------------

    def _turn(self) -> None:
        now = time.monotonic()
        waits = [slot.due for slot in self._slots if slot.due is not None]
        if self._stopping:
            waits.append(self._deadline)
        timeout = min([_TICK, *(max(0.0, at - now) for at in waits)])
        for key, _ in self._selector.select(timeout):
            key.data()
        self._reap()
        now = time.monotonic()
        for slot in self._slots:
            if slot.due is not None and slot.due <= now:
                self._start(slot)
        if self._stopping and self._alive() and now >= self._deadline:
            for slot in self._slots:
                if slot.pid is not None:
                    self.log.error("worker did not drain in time; killed", worker=slot.index)
                    os.kill(slot.pid, signal.SIGKILL)
            self._status = self._status or 1
            self._deadline = float("inf")

    def _signals(self) -> None:
        with contextlib.suppress(BlockingIOError):
            for number in os.read(self._wakeup_read, 64):
                if number in (signal.SIGTERM, signal.SIGINT):
                    self._stop(0)
                elif number == signal.SIGHUP:
                    self._reload()
                # SIGCHLD: every turn reaps

    def _alive(self) -> bool:
        return any(slot.pid is not None for slot in self._slots)

    # -- workers ----------------------------------------------------------------------------

    def _start(self, slot: _Slot) -> None:
        slot.due = None
        slot.starts += 1
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        pid = os.fork()
        if pid == 0:
            mine.close()
            self._become(slot, theirs)
        theirs.close()
        mine.setblocking(False)
        slot.pid, slot.channel, slot.started, slot.ready = pid, mine, time.monotonic(), False
        self._selector.register(mine, selectors.EVENT_READ, functools.partial(self._told, slot))
        self.log.info("worker started", worker=slot.index, pid=pid, restarts=slot.starts - 1)

    def _become(self, slot: _Slot, channel: socket.socket) -> NoReturn:
        """The forked child: leave the supervisor's signals and descriptors, and work."""
        status = 1
        try:
            signal.set_wakeup_fd(-1)
            for number in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                signal.signal(number, signal.SIG_DFL)
            # Until the worker's own handler: a reload asked for now is no reason to die.
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            self._selector.close()
            for fd in (self._wakeup_read, self._wakeup_write, self._lifeline_write):
                os.close(fd)
            for other in self._slots:
                if other.channel is not None:
                    other.channel.close()
            notify = functools.partial(_tell, channel)
            status = self.work(Worker(slot.index, slot.starts - 1, notify, self._lifeline_read))
        except BaseException:
            logs.get().exception("worker failed", worker=slot.index)
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(status)

    def _told(self, slot: _Slot) -> None:
        """A worker's message: its readiness, at start or after a reload."""
        assert slot.channel is not None
        try:
            message = slot.channel.recv(4096)
        except BlockingIOError:
            return
        if READY not in message.decode(errors="replace").split("\n"):
            return
        if not slot.ready:
            slot.ready = True
            self.log.info("worker ready", worker=slot.index, pid=slot.pid)
            if not self._announced and all(each.ready for each in self._slots):
                self._announce()
        elif slot.reloading:
            slot.reloading = False
            self._reloaded()

    def _reap(self) -> None:
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for slot in self._slots:
                if slot.pid == pid:
                    self._died(slot, os.waitstatus_to_exitcode(wait_status))

    def _died(self, slot: _Slot, status: int) -> None:
        uptime = time.monotonic() - slot.started
        ready = slot.ready
        assert slot.channel is not None
        self._selector.unregister(slot.channel)
        slot.channel.close()
        slot.pid, slot.channel, slot.ready = None, None, False
        if slot.reloading:
            slot.reloading = False
            self._reloaded()
        if self._stopping:
            self.log.info("worker stopped", worker=slot.index, status=_described(status))
            if status != 0:
                self._status = self._status or 1
            return
        self.log.warning(
            "worker died",
            worker=slot.index,
            status=_described(status),
            ready=ready,
            uptime=round(uptime, 3),
        )
        slot.history, decision = after_death(
            self.policy, slot.history, ready=ready, uptime=uptime, status=status
        )
        if isinstance(decision, GiveUp):
            self.log.error("giving up", reason=decision.reason, status=decision.status)
            self._stop(decision.status)
            return
        slot.due = time.monotonic() + decision.delay
        self.log.info("worker to start again", worker=slot.index, after=decision.delay)

    # -- readiness, reloads, the drain ------------------------------------------------------

    def _announce(self) -> None:
        self._announced = True
        private.make_directory(self.pid_file.parent)  # as a daemon alone makes it
        with private.open_new(self.pid_file) as file:
            file.write(f"{os.getpid()}\n".encode())
        self.notify(READY)
        self.log.info("ready", workers=len(self._slots))

    def _reload(self) -> None:
        """SIGHUP: every worker reloads; systemd hears ``READY=1`` again once all have."""
        if self._stopping:
            return
        if self._announced:
            self.notify(reloading())
        for slot in self._slots:
            if slot.pid is not None:
                os.kill(slot.pid, signal.SIGHUP)
                slot.reloading = slot.ready
        self.log.info("reload forwarded", workers=sum(s.pid is not None for s in self._slots))
        self._reloaded()

    def _reloaded(self) -> None:
        if self._announced and not any(slot.reloading for slot in self._slots):
            self.notify(READY)

    def _stop(self, status: int) -> None:
        """Drain: no new connections here, every worker asked to finish and exit."""
        if self._stopping:
            return
        self._stopping = True
        self._status = status
        self._deadline = time.monotonic() + self.stop_timeout
        self.notify(STOPPING)
        self.log.info("stopping", workers=sum(s.pid is not None for s in self._slots))
        # Once every worker has closed its copy too, a connection is refused rather than
        # queued where nobody will take it (a .socket unit keeps its own copy open).
        for sock in self.listening:
            sock.close()
        for slot in self._slots:
            slot.due = None
            if slot.pid is not None:
                os.kill(slot.pid, signal.SIGTERM)


def _noted(number: int, frame: object) -> None:
    """A signal's Python handler: nothing, as the wakeup descriptor has the number."""


def _tell(channel: socket.socket, state: str) -> None:
    """A worker's notification, to its supervisor (gone: nobody to tell)."""
    with contextlib.suppress(OSError):
        channel.send(state.encode())


def _described(status: int) -> str:
    """An exit status as :func:`os.waitstatus_to_exitcode` gives it, in words."""
    if status < 0:
        return signal.Signals(-status).name
    return f"exit {status}"
