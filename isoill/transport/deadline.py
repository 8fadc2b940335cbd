"""A connection's deadline for what it waits for from its peer, kept with one timer.

An ``asyncio.timeout`` around each read makes and cancels a timer for every APDU: two an APDU
on the gateway's hot path (the listener's read of the APDU, the delivery link's read of the
target's answer). :class:`Deadline` moves a time instead: setting it is an assignment, and its
one timer, when it goes off early, is set again for the deadline as it is then. So a steady
connection costs one timer per timeout's length, not one per APDU. What ends a connection past
its deadline is ``expire`` (aborting its transport: the pending read then returns end of file,
and :attr:`Deadline.expired` says why).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

#: Seconds within which a deadline counts as reached: the loop's timers may fire a little
#: early (libuv's are in milliseconds), and a timer set again for a past instant is a spin.
SLACK = 0.001


class Deadline:
    def __init__(self, loop: asyncio.AbstractEventLoop, expire: Callable[[], object]) -> None:
        self._loop = loop
        self._expire = expire
        self._when: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed = 0.0  # when the timer goes off
        self.expired = False

    def at(self, when: float | None) -> None:
        """The connection ends at ``when`` (the loop's clock) unless moved again first;
        ``None``: no deadline for now."""
        self._when = when
        if when is None or self.expired:
            return
        if self._timer is None:
            self._arm(when)
        elif when < self._armed:  # sooner than the timer: set it again
            self._timer.cancel()
            self._arm(when)

    def cancel(self) -> None:
        """No deadline any more: the connection is done with."""
        self._when = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, when: float) -> None:
        self._armed = when
        self._timer = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._timer = None
        when = self._when
        if when is None:  # nothing awaited now: the next at() sets a timer
            return
        if when > self._loop.time() + SLACK:  # moved on since the timer was set
            self._arm(when)
            return
        self.expired = True
        self._expire()
