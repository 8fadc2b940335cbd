"""The connection deadline: it ends the connection once its time has come and nothing moved
it, and not while it is moved on, paused or cancelled; a steady connection keeps one timer."""

from __future__ import annotations

import asyncio

import pytest

from isoill.transport.deadline import Deadline

pytestmark = pytest.mark.asyncio


class Watched:
    """A deadline on the running loop, and how often it ended the connection."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.count = 0
        self._ended = asyncio.Event()
        self.watch = Deadline(self.loop, self._end)
        self.start = self.loop.time()

    def _end(self) -> None:
        self.count += 1
        self._ended.set()

    async def ended(self) -> float:
        """Seconds from the start until the deadline ended the connection."""
        await asyncio.wait_for(self._ended.wait(), 5)
        return self.loop.time() - self.start


async def test_it_ends_the_connection_at_its_time() -> None:
    watched = Watched()
    watched.watch.at(watched.start + 0.05)
    assert await watched.ended() >= 0.05 - 0.002
    assert watched.watch.expired
    assert watched.count == 1


async def test_moved_on_it_waits_for_the_new_time() -> None:
    watched, loop = Watched(), asyncio.get_running_loop()
    watched.watch.at(watched.start + 0.05)
    await asyncio.sleep(0.03)
    watched.watch.at(loop.time() + 0.1)  # the first timer goes off early, and is set again
    await asyncio.sleep(0.05)
    assert not watched.watch.expired
    assert await watched.ended() >= 0.13 - 0.002
    assert watched.count == 1


async def test_a_sooner_time_is_kept() -> None:
    watched = Watched()
    watched.watch.at(watched.start + 30)
    watched.watch.at(watched.start + 0.05)
    assert await watched.ended() < 10


async def test_paused_or_cancelled_it_ends_nothing() -> None:
    paused, cancelled = Watched(), Watched()
    paused.watch.at(paused.start + 0.03)
    paused.watch.at(None)
    cancelled.watch.at(cancelled.start + 0.03)
    cancelled.watch.cancel()
    await asyncio.sleep(0.1)
    assert (paused.count, cancelled.count) == (0, 0)
    assert not paused.watch.expired and not cancelled.watch.expired
    paused.watch.at(paused.loop.time() + 0.03)  # after a pause, a deadline counts again
    await paused.ended()
    assert paused.watch.expired


async def test_a_steady_connection_keeps_one_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    timers = 0
    call_at = loop.call_at

    def counted(when: float, callback: object) -> asyncio.TimerHandle:
        nonlocal timers
        timers += 1
        return call_at(when, callback)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "call_at", counted)
    watch = Watched().watch
    for _ in range(1000):  # a read per APDU: moved on, then paused while it is answered
        watch.at(loop.time() + 30)
        watch.at(None)
    watch.cancel()
    assert timers == 1
