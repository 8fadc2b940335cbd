"""The handover of new deliveries to the forwarder (isoill.service.handoff): a run takes a
delivery only when nothing pending to its address would be overtaken, a new delivery with
nothing ahead of it starts a run, and anything else asks for a poll of the store. (Through the
daemon: see tests/test_gateway_group_commit.py.)"""

from __future__ import annotations

import asyncio

import pytest
from store_values import BER, OLD, T0

from isoill.service.handoff import RUN, Handoff, Run
from isoill.store.records import Delivery, Queued

pytestmark = pytest.mark.asyncio


def delivery(number: int, address: str = OLD) -> Delivery:
    return Delivery(number, number, address, BER, 0, "ILL-Request", "LND", T0)


def queued(number: int, after: int | None, address: str = OLD) -> Queued:
    return Queued(delivery(number, address), after)


def drained(run: Run) -> list[int]:
    taken = []
    while (next_one := run.next()) is not None:
        taken.append(next_one.id)
    return taken


async def test_a_run_takes_what_follows_its_own_deliveries() -> None:
    run = Run(OLD, [delivery(1), delivery(2)], RUN)
    assert run.take(queued(3, after=2))
    assert run.take(queued(4, after=3))
    assert drained(run) == [1, 2, 3, 4]
    assert not run.missed


async def test_a_run_refuses_what_would_overtake_a_delivery_not_its_own() -> None:
    run = Run(OLD, [delivery(5)], RUN)
    assert not run.take(queued(7, after=6))  # 6 is pending but not in the run (a retry, say)
    assert drained(run) == [5]
    assert run.missed  # the address wants a poll when the run ends


async def test_a_run_has_each_delivery_once() -> None:
    run = Run(OLD, [delivery(1), delivery(2)], RUN)
    assert run.take(queued(2, after=1))  # the poll found it already
    assert drained(run) == [1, 2]
    assert not run.missed


async def test_a_run_takes_at_most_its_limit_and_nothing_once_closed() -> None:
    run = Run(OLD, [delivery(1)], 3)
    assert run.take(queued(2, after=1)) and run.take(queued(3, after=2))
    assert not run.take(queued(4, after=3))
    assert run.missed
    closed = Run(OLD, [delivery(1)], RUN)
    closed.close()
    assert not closed.take(queued(2, after=1))
    full = Run(OLD, [delivery(n) for n in range(1, 4)], 3)
    assert full.missed  # a full poll may have left more behind it
    assert not run.taking and not closed.taking and not full.taking


async def test_a_run_is_taking_while_open_and_nothing_missed() -> None:
    run = Run(OLD, [delivery(1)], RUN)
    assert run.taking  # its sender waits for more while its outcomes are committed
    assert not run.take(queued(3, after=2))
    assert not run.taking  # one missed: its sender hurries its outcomes and ends


async def test_a_delivery_left_waiting_wants_a_poll() -> None:
    run = Run(OLD, [delivery(1), delivery(2)], RUN)
    assert run.next() is not None  # 1 is sent, and fails: the sender stops there
    run.close()
    assert run.missed


async def test_a_delivery_with_nothing_ahead_starts_a_run() -> None:
    handoff = Handoff()
    started: list[Run] = []
    handoff.attach(started.append)
    handoff.offer([queued(1, after=None)])
    [run] = started
    assert (run.address, drained(run)) == (OLD, [1])
    assert not handoff.wanted.is_set()
    handoff.offer([queued(2, after=1)])  # into the same run
    assert drained(run) == [2] and len(started) == 1
    assert handoff.poll_begins() == [OLD]  # a poll leaves the address out
    handoff.end(run)
    assert handoff.poll_begins() == []


async def test_a_delivery_behind_one_no_run_has_asks_for_a_poll() -> None:
    handoff = Handoff()
    started: list[Run] = []
    handoff.attach(started.append)
    handoff.offer([queued(2, after=1)])
    assert started == [] and handoff.wanted.is_set()


async def test_without_a_forwarder_every_delivery_asks_for_a_poll() -> None:
    handoff = Handoff()
    handoff.offer([queued(1, after=None)])
    assert handoff.wanted.is_set() and handoff.poll_begins() == []
    started: list[Run] = []
    handoff.attach(started.append)
    handoff.detach()  # the forwarder stopped
    handoff.offer([queued(2, after=None)])
    assert started == []


async def test_a_poll_does_not_start_a_run_where_one_was_since_it_began() -> None:
    """A run started (and maybe ended) while the poll was reading: what the poll found for
    that address may have been sent by it."""
    handoff = Handoff()
    started: list[Run] = []
    handoff.attach(started.append)
    assert handoff.poll_begins() == []
    handoff.offer([queued(1, after=None)])
    handoff.end(started[0])  # sent, and its outcome committed, before the poll returned
    assert handoff.had_run(OLD)
    assert handoff.poll_begins() == []
    assert not handoff.had_run(OLD)  # the next poll reads after that run


async def test_a_run_is_settled_once_the_outcomes_it_waits_for_are_in() -> None:
    run = Run(OLD, [delivery(1), delivery(2)], RUN)
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    assert run.settled  # nothing sent yet
    run.awaiting(first)
    run.awaiting(second)
    assert not run.settled
    first.set_result(None)
    await run.stirred()  # woken by the outcome's commit
    assert not run.settled
    second.set_exception(OSError("disk full"))  # an outcome not stored is in all the same
    await asyncio.sleep(0)
    assert run.settled
    assert isinstance(second.exception(), OSError)
