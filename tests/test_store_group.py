"""Group commit: :meth:`Store.commit_all` and :class:`GroupWriter`, the store's asyncio front
(batches on the store's one thread, a savepoint per write, the transactions kept in memory)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from store_values import BER, NEW, OLD, T0

from isoill.groupwriter import LAZY_WAIT, GroupWriter
from isoill.store import (
    Failed,
    Known,
    Store,
    Stored,
    StoreError,
    Write,
)


def accepting(
    store: Store,
    key: str = "tx-1",
    *,
    dedup_key: str | None = None,
    states: tuple[str, str] | None = None,
    requester: str | None = "BRW",
    addresses: Sequence[str] = (OLD,),
) -> Write[Stored]:
    return store.accept_write(
        peer="BRW",
        apdu_type="ILL-Request",
        transaction_key=key,
        target_symbol="LND",
        ber=BER,
        addresses=addresses,
        requester_symbol=requester,
        responder_symbol="LND",
        now=T0,
        dedup_key=dedup_key,
        states=states,
    )


def holding(store: Store, key: str, dedup_key: str) -> Write[Stored]:
    return store.accept_held_write(
        peer="NEWLIB",
        apdu_type="ILL-Request",
        transaction_key=key,
        target_symbol="LND",
        ber=BER,
        requester_symbol="NEWLIB",
        responder_symbol="LND",
        reason="requester NEWLIB is not a configured peer",
        now=T0,
        dedup_key=dedup_key,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "queue.sqlite3")
    yield store
    store.close()


# -- commit_all -------------------------------------------------------------------------------


def test_one_failed_write_is_undone_alone(store: Store) -> None:
    first = store.commit(accepting(store, "tx-1", dedup_key="d1"))
    commits: list[str] = []
    store._db.set_trace_callback(lambda s: commits.append(s) if s == "COMMIT" else None)
    results = store.commit_all(
        [
            accepting(store, "tx-2", dedup_key="d2"),
            accepting(store, "tx-1", dedup_key="d1", requester="OTHER"),  # a duplicate
            store.delivered_write(999, T0),  # no such delivery
            accepting(store, "tx-3", dedup_key="d3"),
        ]
    )
    store._db.set_trace_callback(None)
    assert commits == ["COMMIT"]
    two, duplicate, missing, three = results
    assert isinstance(duplicate, Failed) and isinstance(duplicate.error, sqlite3.IntegrityError)
    assert isinstance(missing, Failed) and isinstance(missing.error, KeyError)
    assert isinstance(two, Stored) and isinstance(three, Stored)
    assert (two.transaction.key, three.transaction.key) == ("tx-2", "tx-3")
    listed = sorted(m.id for m in store.list_messages())
    assert listed == [first.message_id, two.message_id, three.message_id]
    # The failed duplicate changed nothing of its transaction either.
    assert store.counterpart("tx-1") == ("BRW", "LND")
    assert store.find_duplicate("d1") == first.message_id


def test_a_write_returns_its_transaction_as_stored(store: Store) -> None:
    first = store.commit(accepting(store, states=("PENDING", "IN-PROCESS")))
    assert first.transaction.requester_state == "PENDING"
    again = store.commit(accepting(store, requester=None, states=None))
    assert again.transaction == store.transaction("tx-1")
    assert (again.transaction.requester_symbol, again.transaction.requester_state) == (
        "BRW",
        "PENDING",
    )


def test_forwarding_outcomes_as_writes(store: Store) -> None:
    store.commit(accepting(store, "tx-1", addresses=(OLD, NEW)))
    old, new = sorted(store.due(T0), key=lambda d: d.address != OLD)
    assert store.commit_all(
        [store.delivered_write(old.id, T0), store.retry_later_write(new.id, "timeout", T0)]
    ) == [None, True]
    [view] = store.list_messages()
    assert [(d.address, d.state) for d in view.deliveries] == [
        (OLD, "delivered"),
        (NEW, "pending"),
    ]
    store.commit(store.failed_write(new.id, "gone", T0))
    assert store.list_messages("failed")[0].id == view.id


def test_a_lookup_is_two_index_seeks(store: Store) -> None:
    store.commit(accepting(store, "tx-1", dedup_key="d1"))
    store.commit(holding(store, "tx-1", "d2"))
    refused = store.commit(holding(store, "tx-1", "d3"))
    store.refuse(refused.message_id, "not a member", T0)
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    known = store.known("tx-1")
    store._db.set_trace_callback(None)
    assert known.record == store.transaction("tx-1")
    assert known.duplicates == {"d1": (1, False), "d2": (2, True)}  # d3 was refused
    assert len(statements) == 2
    for statement in statements:
        plan = [row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + statement)]
        assert all(step.startswith("SEARCH") for step in plan), plan
    assert store.known("tx-2").record is None


def test_durably_committed(store: Store) -> None:
    assert store._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_bad_arguments_are_refused_when_the_write_is_built(store: Store) -> None:
    with pytest.raises(ValueError, match="list of addresses"):
        accepting(store, addresses=())
    with pytest.raises(ValueError, match="naive"):
        store.delivered_write(1, datetime(2024, 5, 1))


# -- due, several per address -----------------------------------------------------------------


def test_due_gives_each_address_its_run_in_order(store: Store) -> None:
    ids = [store.accept(**message(f"tx-{n}", OLD)).message_id for n in range(4)]
    other = store.accept(**message("tx-9", NEW)).message_id
    runs = [(d.message_id, d.address) for d in store.due(T0, per_address=3)]
    assert runs == [(ids[0], OLD), (ids[1], OLD), (ids[2], OLD), (other, NEW)]
    assert [d.message_id for d in store.due(T0)] == [ids[0], other]  # heads only
    assert [d.message_id for d in store.due(T0, per_address=3, exclude=[OLD])] == [other]


def test_a_run_stops_at_a_delivery_not_due_yet(store: Store) -> None:
    earliest = store.accept(**message("tx-0", OLD)).message_id
    [head] = store.due(T0)
    store.delivered(head.id, T0)
    first, second = (store.accept(**message(f"tx-{n}", OLD)).message_id for n in (1, 2))
    [head] = store.due(T0)
    assert head.message_id == first
    store.retry_later(head.id, "refused", T0)  # due again in 5 minutes
    store.resend(earliest, T0)  # older, so the head again, and due now
    # The run is the resent one alone: the one waiting for its retry holds back the rest.
    assert [d.message_id for d in store.due(T0, per_address=5)] == [earliest]
    assert second not in [d.message_id for d in store.due(T0 + timedelta(minutes=1), 10, 5)]


def test_an_accepted_delivery_names_the_one_pending_before_it(store: Store) -> None:
    """What the forwarder needs to take a new delivery at once without overtaking any."""
    first = store.accept(**message("tx-1", OLD))
    [queued] = first.deliveries
    assert queued.after is None  # nothing was pending to OLD
    [head] = store.due(T0)
    assert queued.delivery == head  # as the forwarder's poll would read it
    second = store.accept(**{**message("tx-2", OLD), "addresses": [OLD, NEW]})
    by_address = {q.delivery.address: q for q in second.deliveries}
    assert by_address[OLD].after == head.id
    assert by_address[NEW].after is None
    store.delivered(head.id, T0)
    store.delivered(by_address[OLD].delivery.id, T0)
    [third] = store.accept(**message("tx-3", OLD)).deliveries
    assert third.after is None  # the ones before it are delivered
    store.retry_later(third.delivery.id, "refused", T0)
    [fourth] = store.accept(**message("tx-4", OLD)).deliveries
    assert fourth.after == third.delivery.id  # waiting for its retry: still pending


def message(key: str, address: str) -> dict[str, Any]:
    return {
        "peer": "BRW",
        "apdu_type": "ILL-Request",
        "transaction_key": key,
        "target_symbol": "LND",
        "ber": BER,
        "addresses": [address],
        "requester_symbol": "BRW",
        "responder_symbol": "LND",
        "now": T0,
    }


# -- GroupWriter ------------------------------------------------------------------------------


class Writer:
    """A GroupWriter on a store of its own, on a thread of its own; after ``block()`` the next
    group commit waits on the store's thread until ``release()``."""

    def __init__(self, path: Path) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.store = self.executor.submit(Store, path).result()
        self.group = GroupWriter(self.store, self.executor)
        self.commits: list[int] = []  # the size of each group commit
        self._entered = threading.Event()
        self._next: threading.Event | None = None  # holds up the next commit
        self._holding: threading.Event | None = None  # holds up the commit under way
        commit_all = self.store.commit_all

        def counted(writes: Sequence[Write[Any]]) -> list[Any]:
            gate, self._next = self._next, None
            if gate is not None:
                self._holding = gate
                self._entered.set()
                gate.wait(10)
            self.commits.append(len(writes))
            return commit_all(writes)

        self.store.commit_all = counted  # type: ignore[method-assign]

    def block(self) -> None:
        self._entered.clear()
        self._next = threading.Event()

    async def blocked(self) -> None:
        """Wait until a group commit is held up by ``block()``."""
        entered = await asyncio.get_running_loop().run_in_executor(None, self._entered.wait, 10)
        assert entered

    def release(self) -> None:
        gate, self._holding = self._holding, None  # before the store's thread takes the next
        assert gate is not None
        gate.set()

    async def close(self) -> None:
        for gate in (self._next, self._holding):
            if gate is not None:
                gate.set()
        await self.group.close()
        self.executor.submit(self.store.close).result()
        self.executor.shutdown()


@pytest_asyncio.fixture
async def writer(tmp_path: Path) -> AsyncIterator[Writer]:
    writer = Writer(tmp_path / "queue.sqlite3")
    writer.group.start()
    yield writer
    await writer.close()


@pytest.mark.asyncio
async def test_concurrent_writes_share_commits(writer: Writer) -> None:
    """100 callers in four waves: each commit holds what was asked for before it began (see
    also tests/test_gateway_group_commit.py, through the daemon)."""
    group, store = writer.group, writer.store
    senders = 100

    async def sender(n: int) -> int:
        await asyncio.sleep(0.001 * (n // 25))  # in four waves
        stored = await group.write(accepting(store, f"tx-{n}", dedup_key=f"d{n}"))
        return stored.message_id

    ids = await asyncio.gather(*(sender(n) for n in range(senders)))
    assert sorted(ids) == list(range(1, senders + 1))  # each its own message
    assert sum(writer.commits) == group.written == senders
    assert group.commits == len(writer.commits) < senders / 10, writer.commits
    listed = await group.call(store.list_messages, None, 1000)
    assert len(listed) == senders


@pytest.mark.asyncio
async def test_writes_arriving_during_a_commit_go_in_the_next_one(writer: Writer) -> None:
    group, store = writer.group, writer.store
    writer.block()
    first = asyncio.create_task(group.write(accepting(store, "tx-0")))
    await writer.blocked()  # the first is being committed, alone: nothing waited for more
    later = [asyncio.create_task(group.write(accepting(store, f"tx-{n}"))) for n in (1, 2, 3)]
    await asyncio.sleep(0.05)
    assert not first.done() and not any(task.done() for task in later)
    writer.release()
    await asyncio.gather(first, *later)
    assert writer.commits == [1, 3]


@pytest.mark.asyncio
async def test_a_lazy_write_rides_with_the_next_commit(writer: Writer) -> None:
    group, store = writer.group, writer.store
    stored = await group.write(accepting(store, "tx-0"))
    [queued] = stored.deliveries
    outcome = group.queue(store.delivered_write(queued.delivery.id, T0), lazy=True)
    await asyncio.sleep(LAZY_WAIT / 5)
    assert not outcome.done() and writer.commits == [1]  # no commit of its own yet
    await group.write(accepting(store, "tx-1"))
    assert outcome.done() and writer.commits == [1, 2]  # it went with the next one


@pytest.mark.asyncio
async def test_a_lazy_write_alone_is_committed_after_a_little_wait(writer: Writer) -> None:
    group, store = writer.group, writer.store
    [queued] = (await group.write(accepting(store, "tx-0"))).deliveries
    loop = asyncio.get_running_loop()
    queued_at = loop.time()
    await group.queue(store.delivered_write(queued.delivery.id, T0), lazy=True)
    waited = loop.time() - queued_at
    assert waited >= LAZY_WAIT * 0.9, waited  # the loop's clock may round a little
    assert writer.commits == [1, 1]
    assert await group.call(store.due, T0) == []  # delivered, committed


@pytest.mark.asyncio
async def test_a_hurried_lazy_write_waits_no_more(writer: Writer) -> None:
    """What a sender does once nothing more can come into its run."""
    group, store = writer.group, writer.store
    [queued] = (await group.write(accepting(store, "tx-0"))).deliveries
    loop = asyncio.get_running_loop()
    queued_at = loop.time()
    outcome = group.queue(store.delivered_write(queued.delivery.id, T0), lazy=True)
    group.hurry()
    await outcome
    assert loop.time() - queued_at < LAZY_WAIT / 2
    assert writer.commits == [1, 1]
    group.hurry()  # nothing queued: no commit
    await asyncio.sleep(LAZY_WAIT / 5)
    assert writer.commits == [1, 1]


@pytest.mark.asyncio
async def test_close_commits_lazy_writes_at_once(writer: Writer) -> None:
    group, store = writer.group, writer.store
    [queued] = (await group.write(accepting(store, "tx-0"))).deliveries
    outcome = group.queue(store.delivered_write(queued.delivery.id, T0), lazy=True)
    loop = asyncio.get_running_loop()
    closing_at = loop.time()
    await group.close()
    assert outcome.done() and loop.time() - closing_at < LAZY_WAIT
    assert writer.commits == [1, 1]


@pytest.mark.asyncio
async def test_a_failed_write_fails_only_its_caller(writer: Writer) -> None:
    group, store = writer.group, writer.store
    await group.write(accepting(store, "tx-1", dedup_key="d1"))
    writer.block()
    blocker = asyncio.create_task(group.write(accepting(store, "tx-0")))
    await writer.blocked()
    writes = [
        accepting(store, "tx-2", dedup_key="d2"),
        accepting(store, "tx-1", dedup_key="d1"),  # stored already: the unique index refuses
        accepting(store, "tx-3", dedup_key="d3"),
    ]
    tasks = [asyncio.create_task(group.write(write)) for write in writes]
    await asyncio.sleep(0)
    writer.release()
    await blocker
    two, duplicate, three = await asyncio.gather(*tasks, return_exceptions=True)
    assert writer.commits == [1, 1, 3]  # the three in one commit
    assert isinstance(duplicate, sqlite3.IntegrityError)
    assert isinstance(two, Stored) and isinstance(three, Stored)
    assert await group.duplicate("tx-2", "d2") == two.message_id
    assert await group.duplicate("tx-3", "d3") == three.message_id


@pytest.mark.asyncio
async def test_a_failed_commit_fails_every_write_of_it(writer: Writer) -> None:
    group, store = writer.group, writer.store
    assert await group.transaction("tx-1") is None  # kept in memory as new

    def broken(writes: Sequence[Write[Any]]) -> list[Any]:
        raise sqlite3.OperationalError("disk I/O error")

    working = store.commit_all
    store.commit_all = broken  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(group.write(accepting(store, f"tx-{n}")) for n in (1, 2)), return_exceptions=True
    )
    assert all(isinstance(result, sqlite3.OperationalError) for result in results)
    assert group.cached == 0  # what the store holds is not known for sure: read it again
    store.commit_all = working  # type: ignore[method-assign]
    stored = await group.write(accepting(store, "tx-1"))
    assert stored.message_id == 1


@pytest.mark.asyncio
async def test_reads_are_answered_before_the_commit_of_their_batch(writer: Writer) -> None:
    group, store = writer.group, writer.store
    await group.write(accepting(store, "tx-1", dedup_key="d1"))
    writer.block()
    blocker = asyncio.create_task(group.write(accepting(store, "tx-2")))
    await writer.blocked()
    read = asyncio.create_task(group.call(store.counts))
    second = asyncio.create_task(group.write(accepting(store, "tx-3")))
    await asyncio.sleep(0.05)
    assert not read.done()  # behind the batch being committed: one thread
    writer.block()  # hold up the next one too
    writer.release()
    await writer.blocked()
    assert (await read)["pending"] == 2  # answered, though its batch's commit is held up
    assert not second.done()
    writer.release()
    await asyncio.gather(blocker, second)


@pytest.mark.asyncio
async def test_transactions_are_kept_in_memory(writer: Writer) -> None:
    group, store = writer.group, writer.store
    loads: list[str] = []
    known = store.known

    def counted(transaction_key: str) -> Known:
        loads.append(transaction_key)
        return known(transaction_key)

    store.known = counted  # type: ignore[method-assign]  # counts the loads, then does them
    assert await group.transaction("tx-1") is None
    assert await group.duplicate("tx-1", "d1") is None
    stored = await group.write(
        accepting(store, "tx-1", dedup_key="d1", states=("PENDING", "IN-PROCESS"))
    )
    record = await group.transaction("tx-1")
    assert record == stored.transaction == await group.call(store.transaction, "tx-1")
    assert await group.duplicate("tx-1", "d1") == stored.message_id
    assert await group.duplicate("tx-1", "d2") is None
    assert loads == ["tx-1"]  # one lookup; the write's effect was applied in memory

    await group.write(accepting(store, "tx-2", dedup_key="d2"))  # not in memory: stays out
    assert await group.duplicate("tx-2", "d2") is not None
    assert loads == ["tx-1", "tx-2"]


@pytest.mark.asyncio
async def test_memory_is_bounded(tmp_path: Path) -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    store = executor.submit(Store, tmp_path / "queue.sqlite3").result()
    group = GroupWriter(store, executor, cache_size=3)
    group.start()
    try:
        for n in range(5):
            await group.transaction(f"tx-{n}")
        assert group.cached == 3
    finally:
        await group.close()
        executor.submit(store.close).result()
        executor.shutdown()


@pytest.mark.asyncio
async def test_a_held_duplicate_is_looked_up_again(writer: Writer, tmp_path: Path) -> None:
    """``isoill queue refuse`` frees a held message's duplicate key, from another process."""
    group, store = writer.group, writer.store
    held = await group.write(holding(store, "tx-1", "d1"))
    assert await group.duplicate("tx-1", "d1") == held.message_id
    operator = Store(tmp_path / "queue.sqlite3")
    try:
        operator.refuse(held.message_id, "not a member", T0)
    finally:
        operator.close()
    assert await group.duplicate("tx-1", "d1") is None  # judged anew
    again = await group.write(holding(store, "tx-1", "d1"))
    assert await group.duplicate("tx-1", "d1") == again.message_id != held.message_id


@pytest.mark.asyncio
async def test_a_change_by_another_connection_empties_the_memory(
    writer: Writer, tmp_path: Path
) -> None:
    group, store = writer.group, writer.store
    await group.write(accepting(store, "tx-1", states=("PENDING", "IN-PROCESS")))
    assert group.cached == 0
    await group.transaction("tx-1")
    assert group.cached == 1
    other = sqlite3.connect(tmp_path / "queue.sqlite3")
    with other:
        other.execute("UPDATE transactions SET requester_state = 'SHIPPED'")
    other.close()
    await group.call(store.counts)  # the next batch sees the change and forgets
    assert group.cached == 0
    record = await group.transaction("tx-1")
    assert record is not None and record.requester_state == "SHIPPED"


@pytest.mark.asyncio
async def test_a_call_that_writes_empties_the_memory(writer: Writer) -> None:
    group, store = writer.group, writer.store
    await group.transaction("tx-1")
    assert group.cached == 1
    await group.call(store.accept, **message("tx-1", OLD))  # past the writer's bookkeeping
    assert group.cached == 0
    record = await group.transaction("tx-1")
    assert record is not None and record.requester_symbol == "BRW"


@pytest.mark.asyncio
async def test_close_runs_what_was_asked_then_refuses(writer: Writer) -> None:
    group, store = writer.group, writer.store
    pending = asyncio.create_task(group.write(accepting(store, "tx-1")))
    await asyncio.sleep(0)
    await group.close()
    assert (await pending).message_id == 1
    with pytest.raises(StoreError, match="closed"):
        await group.write(accepting(store, "tx-2"))


@pytest.mark.asyncio
async def test_a_cancelled_caller_asks_for_nothing(writer: Writer) -> None:
    group, store = writer.group, writer.store
    writer.block()
    blocker = asyncio.create_task(group.write(accepting(store, "tx-0")))
    await writer.blocked()
    gone = asyncio.create_task(group.write(accepting(store, "tx-1")))
    await asyncio.sleep(0)
    gone.cancel()
    writer.release()
    await blocker
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await group.transaction("tx-1") is None
    assert writer.commits == [1]
