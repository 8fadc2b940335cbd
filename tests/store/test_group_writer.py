"""GroupWriter, the store's asyncio front, on each backend: batches on the store's one thread,
a group commit for the writes of each, a write's caller answered once the commit holding it
has returned (and failed alone if its write failed), and the transactions kept in memory as
the store has them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
import pytest_asyncio
from store_support import StoreUnderTest, accepting, holding
from store_values import OLD, T0

from isoill.core.views import TransactionView
from isoill.store.errors import StoreError, StoreFault
from isoill.store.group import LAZY_WAIT, GroupWriter
from isoill.store.records import Conflict, Duplicate, Failed, Stored
from isoill.store.writes import Delivered, Refuse, Write, WriteResult

pytestmark = pytest.mark.asyncio


class Writer:
    """A GroupWriter on a backend of its own, on a thread of its own; after ``block()`` the
    next group commit waits on the store's thread until ``release()``."""

    def __init__(self, under_test: StoreUnderTest) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.backend = self.executor.submit(under_test.open).result()
        self.group = GroupWriter(self.backend, self.executor)
        self.commits: list[int] = []  # the size of each group commit
        self._entered = threading.Event()
        self._next: threading.Event | None = None  # holds up the next commit
        self._holding: threading.Event | None = None  # holds up the commit under way
        commit_all = self.backend.commit_all

        def counted(writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
            gate, self._next = self._next, None
            if gate is not None:
                self._holding = gate
                self._entered.set()
                gate.wait(10)
            self.commits.append(len(writes))
            return commit_all(writes)

        self.backend.commit_all = counted  # type: ignore[method-assign]

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
        self.executor.submit(self.backend.close).result()
        self.executor.shutdown()


@pytest_asyncio.fixture
async def writer(store_under_test: StoreUnderTest) -> AsyncIterator[Writer]:
    writer = Writer(store_under_test)
    writer.group.start()
    yield writer
    await writer.close()


async def test_concurrent_writes_share_commits(writer: Writer) -> None:
    """100 callers in four waves: each commit holds what was asked for before it began (see
    also tests/test_gateway_group_commit.py, through the daemon)."""
    group, backend = writer.group, writer.backend
    senders = 100

    async def sender(n: int) -> int:
        await asyncio.sleep(0.001 * (n // 25))  # in four waves
        stored = await group.write(accepting(f"tx-{n}", dedup_key=f"d{n}"))
        assert isinstance(stored, Stored)
        return stored.message_id

    ids = await asyncio.gather(*(sender(n) for n in range(senders)))
    assert len(set(ids)) == senders  # each its own message
    assert sum(writer.commits) == group.written == senders
    assert group.commits == len(writer.commits) < senders / 10, writer.commits
    listed = await group.call(backend.list_messages, None, 1000)
    assert sorted(m.id for m in listed) == sorted(ids)


async def test_writes_arriving_during_a_commit_go_in_the_next_one(writer: Writer) -> None:
    group = writer.group
    writer.block()
    first = asyncio.create_task(group.write(accepting("tx-0")))
    await writer.blocked()  # the first is being committed, alone: nothing waited for more
    later = [asyncio.create_task(group.write(accepting(f"tx-{n}"))) for n in (1, 2, 3)]
    await asyncio.sleep(0.05)
    assert not first.done() and not any(task.done() for task in later)
    writer.release()
    await asyncio.gather(first, *later)
    assert writer.commits == [1, 3]


async def stored(group: GroupWriter, key: str) -> Stored:
    result = await group.write(accepting(key))
    assert isinstance(result, Stored)
    return result


async def test_a_lazy_write_rides_with_the_next_commit(writer: Writer) -> None:
    group = writer.group
    [queued] = (await stored(group, "tx-0")).deliveries
    outcome = group.queue(Delivered(queued.delivery.id, T0), lazy=True)
    await asyncio.sleep(LAZY_WAIT / 5)
    assert not outcome.done() and writer.commits == [1]  # no commit of its own yet
    await group.write(accepting("tx-1"))
    assert outcome.done() and writer.commits == [1, 2]  # it went with the next one


async def test_a_lazy_write_alone_is_committed_after_a_little_wait(writer: Writer) -> None:
    group, backend = writer.group, writer.backend
    [queued] = (await stored(group, "tx-0")).deliveries
    loop = asyncio.get_running_loop()
    queued_at = loop.time()
    await group.queue(Delivered(queued.delivery.id, T0), lazy=True)
    waited = loop.time() - queued_at
    assert waited >= LAZY_WAIT * 0.9, waited  # the loop's clock may round a little
    assert writer.commits == [1, 1]
    assert await group.call(backend.due, T0) == []  # delivered, committed


async def test_a_hurried_lazy_write_waits_no_more(writer: Writer) -> None:
    """What a sender does once nothing more can come into its run."""
    group = writer.group
    [queued] = (await stored(group, "tx-0")).deliveries
    loop = asyncio.get_running_loop()
    queued_at = loop.time()
    outcome = group.queue(Delivered(queued.delivery.id, T0), lazy=True)
    group.hurry()
    await outcome
    assert loop.time() - queued_at < LAZY_WAIT / 2
    assert writer.commits == [1, 1]
    group.hurry()  # nothing queued: no commit
    await asyncio.sleep(LAZY_WAIT / 5)
    assert writer.commits == [1, 1]


async def test_close_commits_lazy_writes_at_once(writer: Writer) -> None:
    group = writer.group
    [queued] = (await stored(group, "tx-0")).deliveries
    outcome = group.queue(Delivered(queued.delivery.id, T0), lazy=True)
    loop = asyncio.get_running_loop()
    closing_at = loop.time()
    await group.close()
    assert outcome.done() and loop.time() - closing_at < LAZY_WAIT
    assert writer.commits == [1, 1]


async def test_a_failed_write_fails_only_its_caller(writer: Writer) -> None:
    group = writer.group
    first = await stored(group, "tx-1")
    writer.block()
    blocker = asyncio.create_task(group.write(accepting("tx-0")))
    await writer.blocked()
    writes: list[Write[WriteResult]] = [
        accepting("tx-2", dedup_key="d2"),
        Delivered(999, T0),  # no such delivery
        accepting("tx-3", dedup_key="d3"),
    ]
    tasks = [asyncio.create_task(group.write(write)) for write in writes]
    await asyncio.sleep(0)
    writer.release()
    await blocker
    two, missing, three = await asyncio.gather(*tasks, return_exceptions=True)
    assert writer.commits == [1, 1, 3]  # the three in one commit
    assert isinstance(missing, KeyError)
    assert isinstance(two, Stored) and isinstance(three, Stored)
    assert await group.duplicate("tx-2", "d2") == two.message_id
    assert await group.duplicate("tx-3", "d3") == three.message_id
    assert first.message_id not in (two.message_id, three.message_id)


async def test_a_duplicate_is_its_callers_answer_and_the_memory_reads_it_again(
    writer: Writer, store_under_test: StoreUnderTest
) -> None:
    """What another gateway stored meanwhile (on a store several share) is not in memory: the
    duplicate is found by the store's unique key, and the transaction is read again, even by a
    backend that cannot tell that another changed the store."""
    group = writer.group
    writer.backend.changed_elsewhere = lambda: False  # type: ignore[method-assign]
    assert await group.duplicate("tx-1", "d1") is None  # kept in memory: nothing there yet
    other = store_under_test.open()
    try:
        elsewhere = other.commit(accepting("tx-1", dedup_key="d1"))
    finally:
        other.close()
    assert isinstance(elsewhere, Stored)
    result = await group.write(accepting("tx-1", dedup_key="d1"))
    assert result == Duplicate(elsewhere.message_id)
    assert await group.duplicate("tx-1", "d1") == elsewhere.message_id


async def test_a_failed_commit_fails_every_write_of_it(writer: Writer) -> None:
    group, backend = writer.group, writer.backend
    assert await group.transaction("tx-1") is None  # kept in memory as new

    def broken(writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        raise StoreFault("its disk failed (I/O error)", temporary=True)

    working = backend.commit_all
    backend.commit_all = broken  # type: ignore[method-assign]
    results = await asyncio.gather(
        *(group.write(accepting(f"tx-{n}")) for n in (1, 2)), return_exceptions=True
    )
    assert all(isinstance(result, StoreFault) for result in results)
    assert group.cached == 0  # what the store holds is not known for sure: read it again
    backend.commit_all = working  # type: ignore[method-assign]
    assert isinstance(await group.write(accepting("tx-1")), Stored)
    assert await group.transaction("tx-1") is not None


async def test_reads_are_answered_before_the_commit_of_their_batch(writer: Writer) -> None:
    group, backend = writer.group, writer.backend
    await group.write(accepting("tx-1", dedup_key="d1"))
    writer.block()
    blocker = asyncio.create_task(group.write(accepting("tx-2")))
    await writer.blocked()
    read = asyncio.create_task(group.call(backend.counts))
    second = asyncio.create_task(group.write(accepting("tx-3")))
    await asyncio.sleep(0.05)
    assert not read.done()  # behind the batch being committed: one thread
    writer.block()  # hold up the next one too
    writer.release()
    await writer.blocked()
    assert (await read)["pending"] == 2  # answered, though its batch's commit is held up
    assert not second.done()
    writer.release()
    await asyncio.gather(blocker, second)


async def test_transactions_are_kept_in_memory(writer: Writer) -> None:
    group, backend = writer.group, writer.backend
    loads: list[str] = []
    view = backend.view

    def counted(transaction_key: str) -> TransactionView:
        loads.append(transaction_key)
        return view(transaction_key)

    backend.view = counted  # type: ignore[method-assign]  # counts the loads, then does them
    assert await group.transaction("tx-1") is None
    assert await group.duplicate("tx-1", "d1") is None
    first = await group.write(accepting("tx-1", dedup_key="d1", states=("PENDING", "IN-PROCESS")))
    assert isinstance(first, Stored)
    record = await group.transaction("tx-1")
    assert record == first.transaction == await group.call(backend.transaction, "tx-1")
    assert await group.duplicate("tx-1", "d1") == first.message_id
    assert await group.duplicate("tx-1", "d2") is None
    assert loads == ["tx-1"]  # one lookup; the write's effect was applied in memory

    await group.write(accepting("tx-2", dedup_key="d2"))  # not in memory: stays out
    assert await group.duplicate("tx-2", "d2") is not None
    assert loads == ["tx-1", "tx-2"]


async def test_memory_is_bounded(store_under_test: StoreUnderTest) -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    backend = executor.submit(store_under_test.open).result()
    group = GroupWriter(backend, executor, cache_size=3)
    group.start()
    try:
        for n in range(5):
            await group.transaction(f"tx-{n}")
        assert group.cached == 3
    finally:
        await group.close()
        executor.submit(backend.close).result()
        executor.shutdown()


async def test_a_held_duplicate_is_looked_up_again(
    writer: Writer, store_under_test: StoreUnderTest
) -> None:
    """``isoill queue refuse`` frees a held message's duplicate key, from another process."""
    group = writer.group
    held = await group.write(holding("tx-1", dedup_key="d1"))
    assert isinstance(held, Stored)
    assert await group.duplicate("tx-1", "d1") == held.message_id
    operator = store_under_test.open()
    try:
        operator.commit(Refuse(held.message_id, "not a member", T0))
    finally:
        operator.close()
    assert await group.duplicate("tx-1", "d1") is None  # judged anew
    again = await group.write(holding("tx-1", dedup_key="d1", version=held.transaction.version))
    assert isinstance(again, Stored)
    assert await group.duplicate("tx-1", "d1") == again.message_id != held.message_id


async def test_a_change_by_another_connection_is_not_answered_from_memory(
    writer: Writer, store_under_test: StoreUnderTest
) -> None:
    """A store one process writes (SQLite) tells that another connection changed it, and the
    memory is emptied before the next answer. A store several share cannot tell at no cost;
    there, a write judged against what the memory kept is refused (``Conflict``), which drops
    the transaction from the memory: its next lookup reads it as the store has it."""
    group, backend = writer.group, writer.backend
    await group.write(accepting("tx-1", states=("PENDING", "IN-PROCESS")))
    assert group.cached == 0
    kept = await group.transaction("tx-1")
    assert kept is not None and group.cached == 1
    other = store_under_test.open()
    try:
        other.commit(accepting("tx-1", states=("SHIPPED", "SHIPPED"), version=kept.version))
    finally:
        other.close()
    if not backend.capabilities.shared:
        await group.call(backend.counts)  # the next batch sees the change and forgets
    else:
        assert await group.transaction("tx-1") == kept  # still the memory's answer
        judged = accepting("tx-1", states=("RECEIVED", "RECEIVED"), version=kept.version)
        assert await group.write(judged) == Conflict("tx-1")
    assert group.cached == 0
    record = await group.transaction("tx-1")
    assert record is not None and record.requester_state == "SHIPPED"


async def test_a_call_that_writes_empties_the_memory(writer: Writer) -> None:
    group, backend = writer.group, writer.backend
    await group.transaction("tx-1")
    assert group.cached == 1
    await group.call(backend.commit, accepting("tx-1", [OLD]))  # past the writer's bookkeeping
    assert group.cached == 0
    record = await group.transaction("tx-1")
    assert record is not None and record.requester_symbol == "BRW"


async def test_close_runs_what_was_asked_then_refuses(writer: Writer) -> None:
    group = writer.group
    pending = asyncio.create_task(group.write(accepting("tx-1")))
    await asyncio.sleep(0)
    await group.close()
    assert isinstance(await pending, Stored)
    with pytest.raises(StoreError, match="closed"):
        await group.write(accepting("tx-2"))


async def test_a_cancelled_caller_asks_for_nothing(writer: Writer) -> None:
    group = writer.group
    writer.block()
    blocker = asyncio.create_task(group.write(accepting("tx-0")))
    await writer.blocked()
    gone = asyncio.create_task(group.write(accepting("tx-1")))
    await asyncio.sleep(0)
    gone.cancel()
    writer.release()
    await blocker
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await group.transaction("tx-1") is None
    assert writer.commits == [1]
