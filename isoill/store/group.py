"""The store's asyncio front for the daemon: :class:`GroupWriter` runs every call on the store's
one thread, in batches, commits writes in groups, and keeps the transactions in use in memory.

It lives apart from the rest of :mod:`isoill.store` so that the commands that only read the
store do not import asyncio and the metrics with it. It knows the store by its port
(:class:`~isoill.store.backend.Backend`) and its writes alone, whatever backend that is.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeAlias, TypeVar

from isoill import metrics
from isoill.core.views import TransactionRecord, TransactionView
from isoill.store.backend import Backend
from isoill.store.errors import StoreError
from isoill.store.records import Conflict, Duplicate, Failed, Stored
from isoill.store.writes import Accept, Write, WriteResult

T = TypeVar("T")
W = TypeVar("W", bound=WriteResult)
P = ParamSpec("P")

#: How many calls, lookups and writes :class:`GroupWriter` runs in one batch at most.
MAX_BATCH = 256
#: How many transactions :class:`GroupWriter` keeps in memory.
CACHED_TRANSACTIONS = 10_000
#: Seconds a lazy write (a delivery's outcome) may wait for a commit that another write starts.
LAZY_WAIT = 0.05


# What is asked of GroupWriter: a call (anything on the store), the lookup of a transaction
# (its key), or a write; each with the future its caller awaits (a call's and a write's of any
# type: each holds its own request's result).


@dataclass(eq=False)
class _Call:
    function: Callable[[], object]
    future: asyncio.Future[Any]


@dataclass(eq=False)
class _Load:
    transaction_key: str
    future: asyncio.Future[TransactionView]


@dataclass(eq=False)
class _Write:
    write: Write[WriteResult]
    future: asyncio.Future[Any]


_Pending: TypeAlias = _Call | _Load | _Write


class _TransactionCache:
    """The transactions the gateway used last, least recently used evicted."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, TransactionView] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> TransactionView | None:
        view = self._entries.get(key)
        if view is not None:
            self._entries.move_to_end(key)
        return view

    def put(self, key: str, view: TransactionView) -> None:
        self._entries[key] = view
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def stored(self, stored: Stored) -> None:
        """A message of a transaction was stored (and committed): the transaction as it
        now is, and the message's duplicate key. A transaction not kept stays unknown: its
        next lookup reads it whole."""
        view = self._entries.get(stored.transaction.key)
        if view is None:
            return
        view.record = stored.transaction
        if stored.dedup_key is not None:
            view.duplicates[stored.dedup_key] = (stored.message_id, stored.held)

    def forget(self, key: str) -> None:
        """What the store holds of this transaction is not what is kept: read it again."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


class GroupWriter:
    """The gateway's way to its store: every call runs on the store's one thread
    (``executor``, one worker), in batches, and writes are committed in groups.

    A task takes whatever has been asked for since the last batch (up to ``max_batch``) and
    runs it as one job on the store's thread: first the calls and the transaction lookups,
    whose callers are answered at once, then every write in one transaction, each undone
    alone if it fails (:meth:`Backend.commit_all`), and one commit. Whatever arrives while a
    job runs goes into the next one, started as soon as this one is done: a lone write waits
    for nothing but its own commit, and under load a commit (an fsync) is shared by every APDU
    that arrived during the previous one. Only a lazy write (:meth:`queue`) waits, a little,
    for another to start the commit it goes in. :meth:`write` returns only once the commit
    that holds its write has returned (what an acknowledgement waits for), and raises the
    exception of its own write if that failed, which fails no other.

    The transactions' records and their messages' duplicate keys are kept in memory
    (:meth:`transaction`, :meth:`duplicate`), up to ``cache_size`` transactions, so an APDU of
    a transaction in use costs no query at all; one not in memory costs one lookup
    (:meth:`Backend.view`). The memory stays the store's image because every change
    the gateway makes goes through here: a lookup's result and a write's effect are applied
    in the order the store's thread ran them. Other processes write to the same store too:
    ``isoill queue release``, ``refuse`` and ``resend`` (never a transaction's record, and
    never a duplicate key: ``release`` keeps a held message's, ``refuse`` frees one, and the
    report it queues has none). So a duplicate key known here as held is looked up in the store
    (:meth:`Backend.find_duplicate`) each time, and every other answer from memory is right
    whatever they did. Besides, a change by another connection
    (:meth:`Backend.changed_elsewhere`), or a :meth:`call` that changed a row, empties the
    memory before the next answer, and an :class:`Accept` whose key the store already held
    (:class:`Duplicate`), or whose transaction another process moved on (:class:`Conflict`),
    drops its transaction from it.
    """

    def __init__(
        self,
        backend: Backend,
        executor: Executor,
        *,
        max_batch: int = MAX_BATCH,
        cache_size: int = CACHED_TRANSACTIONS,
    ) -> None:
        self.backend = backend
        self._executor = executor
        self._max_batch = max_batch
        self._cache = _TransactionCache(cache_size)
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._due = False  # something queued is to run now (not only lazy writes)
        self._lazy_timer: asyncio.TimerHandle | None = None
        self.commits = 0  # group commits made (jobs with writes)
        self.written = 0  # writes committed in them

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._drain())

    async def close(self) -> None:
        """Run what has been asked for, then stop; anything asked later is refused."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    @property
    def shared(self) -> bool:
        """Whether other processes write to the store too (so memory may be behind it)."""
        return self.backend.capabilities.shared

    def forget(self, transaction_key: str) -> None:
        """Read this transaction from the store next time: another process may have moved
        it on since memory took it."""
        self._cache.forget(transaction_key)

    @property
    def cached(self) -> int:
        """How many transactions are kept in memory."""
        return len(self._cache)

    async def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function`` (a backend's method) on the store's thread, in the next batch,
        outside its group commit; it commits its own writes, if any."""
        future = self._future()
        self._enqueue(_Call(functools.partial(function, *args, **kwargs), future))
        result: T = await future
        return result

    async def write(self, write: Write[W]) -> W:
        """Commit ``write`` with the next group; its result once that commit returned."""
        return await self.queue(write)

    def queue(self, write: Write[W], *, lazy: bool = False) -> asyncio.Future[W]:
        """Queue ``write`` for the next group now, behind every write queued before it: the
        future is its result once that commit returned. A ``lazy`` write starts no commit of
        its own for up to ``LAZY_WAIT`` seconds: it rides with the next one that another
        starts (a delivery's outcome with the next acceptance, under a steady flow)."""
        future = self._future()
        self._enqueue(_Write(write, future), lazy)
        return future

    async def transaction(self, transaction_key: str) -> TransactionRecord | None:
        """The transaction's record, ``None`` if it has none yet."""
        return (await self._view(transaction_key)).record

    async def duplicate(self, transaction_key: str, dedup_key: str) -> int | None:
        """The id of the message of this transaction stored with ``dedup_key``, unless it was
        refused (:meth:`Backend.find_duplicate`)."""
        found = (await self._view(transaction_key)).duplicates.get(dedup_key)
        if found is None:
            return None
        message_id, held = found
        if not held:
            return message_id
        # An operator may have refused it since (or released it): the store knows.
        return await self.call(self.backend.find_duplicate, dedup_key)

    async def _view(self, transaction_key: str) -> TransactionView:
        view = self._cache.get(transaction_key)
        if view is None:
            future = self._future()
            self._enqueue(_Load(transaction_key, future))
            view = await future
        return view

    def _future(self) -> asyncio.Future[Any]:
        if self._closing or self._loop is None:
            raise StoreError("the store is closed")
        return self._loop.create_future()

    def _enqueue(self, item: _Pending, lazy: bool = False) -> None:
        assert self._loop is not None
        self._queue.append(item)
        if not lazy:
            self._go()
        elif self._lazy_timer is None:
            self._lazy_timer = self._loop.call_later(LAZY_WAIT, self._lazy_due)

    def _lazy_due(self) -> None:
        self._lazy_timer = None
        self._go()

    def hurry(self) -> None:
        """Commit what is queued, lazy writes too, as soon as the store's thread is free."""
        if self._queue:
            self._go()

    def _go(self) -> None:
        """What is queued is to run as soon as the store's thread is free."""
        self._due = True
        self._wake.set()

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = self._take() if self._due or self._closing else []
            if not batch:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            reads = [item for item in batch if not isinstance(item, _Write)]
            writes = [item for item in batch if isinstance(item, _Write)]
            try:
                results = await loop.run_in_executor(self._executor, self._job, reads, writes)
            except asyncio.CancelledError:
                self._fail(batch, StoreError("the store is closed"))
                raise
            except Exception as error:  # the whole batch: nothing of its writes is stored
                self._fail(batch, error)
                continue
            for item, result in zip(writes, results, strict=True):
                if isinstance(result, Stored):
                    self._cache.stored(result)
                elif isinstance(result, Duplicate | Conflict) and isinstance(item.write, Accept):
                    self._cache.forget(item.write.transaction_key)
                self._settle(item.future, result)
            if writes:
                written = sum(not isinstance(result, Failed) for result in results)
                self.commits += 1
                self.written += written
                metrics.STORE_COMMITS.inc()
                metrics.STORE_WRITES.inc(written)

    def _take(self) -> list[_Pending]:
        batch: list[_Pending] = []
        while self._queue and len(batch) < self._max_batch:
            item = self._queue.popleft()
            if not item.future.done():  # its caller gave up (cancelled): nothing to do
                batch.append(item)
        self._due = bool(self._queue)  # more than a batch: the next one goes at once
        if not self._queue and self._lazy_timer is not None:  # the lazy ones go in this one
            self._lazy_timer.cancel()
            self._lazy_timer = None
        return batch

    def _job(self, reads: list[_Call | _Load], writes: list[_Write]) -> list[WriteResult | Failed]:
        """One batch, on the store's thread."""
        backend = self.backend
        changed = backend.changed_elsewhere()
        results: list[tuple[object, bool]] = []  # and whether a call changed the store
        for item in reads:
            before = backend.changes
            result: object
            try:
                if isinstance(item, _Load):
                    result = backend.view(item.transaction_key)
                else:
                    result = item.function()
            except Exception as error:
                result = Failed(error)
            results.append((result, backend.changes != before))
        if reads or changed:
            assert self._loop is not None
            # Answered now, not after the commit below: the loop runs this before the write
            # results, so the memory sees everything in the order the store did.
            self._loop.call_soon_threadsafe(self._settle_reads, changed, reads, results)
        return backend.commit_all([item.write for item in writes]) if writes else []

    def _settle_reads(
        self, changed: bool, reads: list[_Call | _Load], results: list[tuple[object, bool]]
    ) -> None:
        if changed:
            self._cache.clear()
        for item, (result, modified) in zip(reads, results, strict=True):
            if modified:
                self._cache.clear()
            if isinstance(item, _Load) and isinstance(result, TransactionView):
                self._cache.put(item.transaction_key, result)
            self._settle(item.future, result)

    def _fail(self, batch: list[_Pending], error: Exception) -> None:
        self._cache.clear()  # what the store holds now is not known for sure
        for item in batch:
            self._settle(item.future, Failed(error))

    @staticmethod
    def _settle(future: asyncio.Future[Any], result: object) -> None:
        if future.done():
            return
        if isinstance(result, Failed):
            future.set_exception(result.error)
        else:
            future.set_result(result)
