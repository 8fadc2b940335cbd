"""The connection deadline: it ends the connection once its time has come and nothing moved
it, and not while it is moved on, paused or cancelled; a steady connection keeps one timer."""

from __future__ import annotations

import asyncio

import pytest

from isoill.transport.deadline import Deadline

pytestmark = pytest.mark.asyncio


class Ends:
    def __init__(self) -> None:
        self.count = 0
        self.ended = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.ended.set()


async def test_it_ends_the_connection_at_its_time() -> None:
    loop = asyncio.get_running_loop()
    ends = Ends()
    watch = Deadline(loop, ends)
    start = loop.time()
    watch.at(start + 0.05)
    await asyncio.wait_for(ends.ended.wait(), 5)
    assert watch.expired
    assert loop.time() - start >= 0.05 - 0.002
    assert ends.count == 1


async def test_moved_on_it_waits_for_the_new_time() -> None:
    loop = asyncio.get_running_loop()
    ends = Ends()
    watch = Deadline(loop, ends)
    start = loop.time()
    watch.at(start + 0.05)
    await asyncio.sleep(0.03)
    watch.at(loop.time() + 0.1)  # the first timer goes off early, and is set again
    await asyncio.sleep(0.05)
    assert not watch.expired
    await asyncio.wait_for(ends.ended.wait(), 5)
    assert loop.time() - start >= 0.13 - 0.002
    assert ends.count == 1


async def test_a_sooner_time_is_kept() -> None:
    loop = asyncio.get_running_loop()
    ends = Ends()
    watch = Deadline(loop, ends)
    start = loop.time()
    watch.at(start + 30)
    watch.at(start + 0.05)
    await asyncio.wait_for(ends.ended.wait(), 5)
    assert loop.time() - start < 10


async def test_paused_or_cancelled_it_ends_nothing() -> None:
    loop = asyncio.get_running_loop()
    paused, cancelled = Ends(), Ends()
    watch = Deadline(loop, paused)
    watch.at(loop.time() + 0.03)
    watch.at(None)
    other = Deadline(loop, cancelled)
    other.at(loop.time() + 0.03)
    other.cancel()
    await asyncio.sleep(0.1)
    assert (paused.count, cancelled.count) == (0, 0)
    assert not watch.expired and not other.expired
    watch.at(loop.time() + 0.03)  # after a pause, a deadline counts again
    await asyncio.wait_for(paused.ended.wait(), 5)
    assert watch.expired


async def test_a_steady_connection_keeps_one_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    timers = 0
    call_at = loop.call_at

    def counted(when: float, callback: object) -> asyncio.TimerHandle:
        nonlocal timers
        timers += 1
        return call_at(when, callback)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "call_at", counted)
    watch = Deadline(loop, Ends())
    for _ in range(1000):  # a read per APDU: moved on, then paused while it is answered
        watch.at(loop.time() + 30)
        watch.at(None)
    watch.cancel()
    assert timers == 1
