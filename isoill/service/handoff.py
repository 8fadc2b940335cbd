"""How what the gateway has just stored reaches the forwarder without a poll of the store.

A new delivery goes into the run of the sender already at work for its address when it can
go there without overtaking anything; when nothing was pending to its address it starts a
sender of its own; otherwise it asks for a poll. The store stays the truth: a delivery handed
over is stored and pending like any other, and no delivery is in two runs (a poll leaves out
the addresses that have a run, and a run never takes what another may have).

What the handover saves is the poll: a query, two trips to the reading thread and a wait for
the last run's outcomes, per APDU when APDUs come one at a time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable

from isoill.store.records import Delivery, Queued

RUN = 64  # deliveries one run takes at most: after a crash, at most these go again
IDLE_POLL = 5.0  # seconds between the forwarder's polls when nothing is due and nothing wakes it


class Run:
    """What one sender sends to one address, in order: the deliveries it starts with, then
    those handed to it while it is open, up to ``limit`` in all."""

    def __init__(self, address: str, found: list[Delivery], limit: int) -> None:
        self.address = address
        self._waiting = deque(found)
        self._taken = {delivery.id for delivery in found}
        self._room = limit - len(found)
        self._open = self._room > 0
        self._missed = not self._open  # full from the start: more may be pending behind
        self._outcomes = 0  # outcomes of its deliveries not committed yet
        self._stirred = asyncio.Event()

    def next(self) -> Delivery | None:
        """The next delivery to send, ``None`` if none is waiting now."""
        self._stirred.clear()
        return self._waiting.popleft() if self._waiting else None

    def take(self, queued: Queued) -> bool:
        """Whether the run takes this delivery (or has it already): only while it is open,
        and only if every delivery pending to the address before it is one of the run's."""
        delivery = queued.delivery
        if delivery.id in self._taken:  # a poll saw it committed before it was handed over
            return True
        if not self._open or (queued.after is not None and queued.after not in self._taken):
            self._missed = True
            return False
        self._taken.add(delivery.id)
        self._waiting.append(delivery)
        self._room -= 1
        self._open = self._room > 0
        self._stirred.set()
        return True

    def close(self) -> None:
        """Take nothing more: a delivery failed, or the sender is ending."""
        self._open = False

    @property
    def taking(self) -> bool:
        """Whether the run may still take more (and so has a reason to wait for it)."""
        return self._open and not self._missed

    @property
    def missed(self) -> bool:
        """Whether a delivery to the address may be pending that the run has not sent (one
        it did not take, or left waiting): the address wants a poll once the run has ended."""
        return self._missed or bool(self._waiting)

    def awaiting(self, outcome: asyncio.Future[object]) -> None:
        """The sender waits for ``outcome`` (a delivery's, being committed) before it ends;
        it is woken when the outcome is in."""
        self._outcomes += 1
        outcome.add_done_callback(self._settled)

    def _settled(self, _: asyncio.Future[object]) -> None:
        self._outcomes -= 1
        self._stirred.set()

    @property
    def settled(self) -> bool:
        """Whether every outcome the sender waits for is in."""
        return not self._outcomes

    async def stirred(self) -> None:
        """Until a delivery is handed over or an outcome is in."""
        await self._stirred.wait()


class Handoff:
    """The runs, one per address at most, and the flag that asks the forwarder to poll."""

    def __init__(self) -> None:
        self.wanted = asyncio.Event()
        self._runs: dict[str, Run] = {}
        self._opened: set[str] = set()  # addresses that have had a run since the last poll began
        self._start: Callable[[Run], None] | None = None

    def attach(self, start: Callable[[Run], None]) -> None:
        """Send a run that a delivery starts with ``start`` (the forwarder's)."""
        self._start = start

    def detach(self) -> None:
        """The forwarder is stopping: its runs are over, and nothing starts another."""
        self._start = None
        self._runs.clear()

    def offer(self, deliveries: Iterable[Queued]) -> None:
        """Hand each new delivery to its address's run, or start one, or ask for a poll."""
        for queued in deliveries:
            address = queued.delivery.address
            run = self._runs.get(address)
            if run is not None:
                run.take(queued)  # if not, the run asks for a poll when it ends
            elif queued.after is None and self._start is not None:
                self._start(self.open(address, [queued.delivery]))
            else:
                self.wanted.set()

    def poll_begins(self) -> list[str]:
        """The addresses a poll beginning now leaves out: those with a run."""
        self._opened.clear()
        return list(self._runs)

    def had_run(self, address: str) -> bool:
        """Whether ``address`` has had a run since the last poll began: what that poll found
        there may have been sent by it already."""
        return address in self._opened

    def open(self, address: str, found: list[Delivery]) -> Run:
        """The run for ``address``, which must have none, starting with ``found``."""
        assert address not in self._runs, f"{address} has a run already"
        run = self._runs[address] = Run(address, found, RUN)
        self._opened.add(address)
        return run

    def end(self, run: Run) -> None:
        """The run is over: a poll may find its address's deliveries again."""
        run.close()
        if self._runs.get(run.address) is run:  # gone already if detached
            del self._runs[run.address]
