"""The PostgreSQL backend's own promises, beyond the contract every backend keeps (tests/store/):
its schema is migrated once however many processes open it together, and a newer one is
refused; several connections writing at once store an APDU once (``Duplicate``), never write a
transaction judged against a record another has moved on (``Conflict``), and number each
address's deliveries in commit order; the driver's errors are store faults with the peer's
words; and a backend whose server restarted goes on by itself."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from postgres_support import PostgresServer
from store_support import accept, accepting, hold, holding, stored
from store_values import NEW, OLD, T0

from isoill.store.errors import StoreError, StoreFault
from isoill.store.open import open_store
from isoill.store.postgres.backend import PostgresBackend
from isoill.store.postgres.migrate import migrations
from isoill.store.records import Conflict, Duplicate, Failed, Notice, Stored
from isoill.store.writes import Delivered, Refuse

T = TypeVar("T")


@pytest.fixture
def url(postgres_database: str) -> str:
    return postgres_database


@pytest.fixture
def empty(postgres: PostgresServer) -> Iterator[str]:
    """A database of its own, without the store's schema."""
    database = postgres.database(migrated=False)
    yield database
    postgres.drop(database)


@pytest.fixture
def backend(url: str) -> Iterator[PostgresBackend]:
    backend = PostgresBackend(url)
    yield backend
    backend.close()


def in_thread(function: Callable[[], T]) -> tuple[threading.Thread, list[T]]:
    """Start ``function`` on a thread of its own; the list gets its result."""
    results: list[T] = []
    thread = threading.Thread(target=lambda: results.append(function()), daemon=True)
    thread.start()
    return thread, results


def waiting_for_a_lock(url: str, count: int = 1) -> None:
    """Wait (a few seconds at most) until ``count`` sessions wait for a lock."""
    with psycopg.connect(url, autocommit=True) as db:
        for _ in range(200):
            row = db.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()
            if row is not None and row[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError("nobody waits for a lock")


# -- the schema -----------------------------------------------------------------------------


def test_backends_opening_together_migrate_once(empty: str) -> None:
    start = threading.Barrier(4)

    def opened() -> PostgresBackend:
        start.wait(10)
        return PostgresBackend(empty)

    with ThreadPoolExecutor(max_workers=4) as pool:
        backends = list(pool.map(lambda _: opened(), range(4)))
    try:
        for n, backend in enumerate(backends):
            assert isinstance(backend.commit(accepting(f"tx-{n}")), Stored)
    finally:
        for backend in backends:
            backend.close()
    with psycopg.connect(empty) as db:
        applied = db.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [row[0] for row in applied] == sorted(migrations()) == list(range(1, len(applied) + 1))


def test_a_newer_schema_is_refused(url: str) -> None:
    newer = max(migrations()) + 1
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("INSERT INTO schema_migrations VALUES (%s, now())", (newer,))
    with pytest.raises(StoreError, match=f"queue schema {newer} is newer than {newer - 1}"):
        PostgresBackend(url)


def test_a_url_with_a_password_is_refused_before_connecting(url: str) -> None:
    with pytest.raises(StoreError, match="PGPASSWORD") as info:
        PostgresBackend(url.replace("postgresql://isoill@", "postgresql://isoill:s3cret@"))
    assert "s3cret" not in str(info.value)


# -- several writers ------------------------------------------------------------------------


def test_a_duplicate_stored_by_another_connection_is_a_duplicate(url: str) -> None:
    first, second = PostgresBackend(url), PostgresBackend(url)
    try:
        original = accept(first, "tx-1", dedup_key="d1")
        # Judged before the first was stored: a new transaction, and no duplicate seen.
        again = second.commit(accepting("tx-1", dedup_key="d1"))
        assert again == Duplicate(original)
        other = second.commit(accepting("tx-2", dedup_key="d1"))  # another key, same APDU
        assert other == Duplicate(original)
        assert second.transaction("tx-2") is None  # the record it began is gone again
        assert [m.id for m in first.list_messages()] == [original]
    finally:
        first.close()
        second.close()


def test_a_duplicate_waits_for_the_other_commit(url: str, backend: PostgresBackend) -> None:
    """The same APDU stored by another process whose commit is under way: the insert waits
    for it, then finds the key taken."""
    with psycopg.connect(url) as other:
        row = other.execute(
            "INSERT INTO messages (received_at, peer, apdu_type, transaction_key, ber, state,"
            " dedup_key) VALUES (now(), 'BRW', 'ILL-Request', 'tx-9', '\\x00', 'accepted',"
            " 'd1') RETURNING id"
        ).fetchone()
        assert row is not None
        thread, results = in_thread(lambda: backend.commit(accepting("tx-1", dedup_key="d1")))
        waiting_for_a_lock(url)
        assert results == []
        other.commit()
        thread.join(10)
    assert results == [Duplicate(row[0])]
    assert backend.transaction("tx-1") is None


def test_a_transaction_moved_on_elsewhere_is_a_conflict(url: str) -> None:
    first, second = PostgresBackend(url), PostgresBackend(url)
    try:
        begun = stored(first, accepting("tx-1", states=("PENDING", "IN-PROCESS")))
        judged = begun.transaction.version
        moved = first.commit(
            accepting("tx-1", states=("SHIPPED", "SHIPPED"), dedup_key="s", version=judged)
        )
        assert isinstance(moved, Stored) and moved.transaction.version == judged + 1
        late = second.commit(accepting("tx-1", states=("IN-PROCESS", "IN-PROCESS"), version=judged))
        assert late == Conflict("tx-1")
        record = second.transaction("tx-1")
        assert record is not None and record.requester_state == "SHIPPED"
        assert second.commit(accepting("tx-1")) == Conflict("tx-1")  # "new", but it is not
        assert len(second.list_messages()) == 2  # neither conflict stored anything
    finally:
        first.close()
        second.close()


def test_a_conflict_waits_for_the_other_commit(url: str, backend: PostgresBackend) -> None:
    """Another process's write of the transaction under way: the version is checked once it
    has committed."""
    begun = stored(backend, accepting("tx-1"))
    with psycopg.connect(url) as other:
        other.execute(
            "UPDATE transactions SET version = version + 1 WHERE transaction_key = 'tx-1'"
        )
        judged = begun.transaction.version
        thread, results = in_thread(lambda: backend.commit(accepting("tx-1", version=judged)))
        waiting_for_a_lock(url)
        other.commit()
        thread.join(10)
    assert results == [Conflict("tx-1")]


def test_a_new_transaction_begun_twice_at_once_is_stored_once(url: str) -> None:
    backends = [PostgresBackend(url) for _ in range(4)]
    start = threading.Barrier(len(backends))

    def begin(backend: PostgresBackend) -> object:
        start.wait(10)
        return backend.commit(accepting("tx-1"))

    try:
        with ThreadPoolExecutor(max_workers=len(backends)) as pool:
            results = list(pool.map(begin, backends))
        assert sorted(type(result).__name__ for result in results) == [
            "Conflict", "Conflict", "Conflict", "Stored",
        ]  # fmt: skip
    finally:
        for backend in backends:
            backend.close()


def test_each_addresss_deliveries_are_numbered_in_commit_order(url: str) -> None:
    """Three writers queue to one address at once, each commit after a random pause, while a
    reader watches the queue: what it sees is always a prefix of the final order (nothing
    becomes visible before one queued ahead of it), and each delivery names the one before
    it as the one it follows."""
    writers, commits = 3, 40
    done = threading.Event()
    seen: list[list[int]] = []

    def write(number: int) -> list[Stored]:
        backend = PostgresBackend(url)
        chance = random.Random(number)
        results = []
        try:
            for n in range(commits):
                writes = [accepting(f"tx-{number}-{n}-{k}", [OLD, NEW]) for k in range(3)]
                time.sleep(chance.random() / 500)
                for result in backend.commit_all(writes):
                    assert isinstance(result, Stored), result
                    results.append(result)
        finally:
            backend.close()
        return results

    def watch() -> None:
        reader = PostgresBackend(url)
        try:
            while not done.is_set() and len(seen) < 10_000:
                seen.append([d.id for d in reader.due(T0, per_address=100_000) if d.address == OLD])
        finally:
            reader.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        written = [result for results in pool.map(write, range(writers)) for result in results]
    done.set()
    watcher.join(30)
    final = PostgresBackend(url)
    try:
        order = [d.id for d in final.due(T0, per_address=100_000) if d.address == OLD]
    finally:
        final.close()
    assert len(order) == writers * commits * 3 and len(seen) > 1
    for snapshot in seen:
        assert snapshot == order[: len(snapshot)]
    follows = {
        queued.delivery.id: queued.after
        for result in written
        for queued in result.deliveries
        if queued.delivery.address == OLD
    }
    assert [follows[delivery] for delivery in order] == [None, *order[:-1]]


# -- faults ---------------------------------------------------------------------------------


def test_a_lock_held_past_the_timeout_is_a_temporary_fault(url: str) -> None:
    backend = PostgresBackend(url, busy_timeout=0.2)
    try:
        with psycopg.connect(url) as other:
            other.execute("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(StoreFault) as info:
                backend.commit(accepting())
            assert (info.value.reason, info.value.temporary) == (
                "its store is locked by another process",
                True,
            )
        assert isinstance(backend.commit(accepting()), Stored)  # let go: it takes writes again
    finally:
        backend.close()


def test_a_server_out_of_reach_is_a_temporary_fault(tmp_path: Path) -> None:
    with pytest.raises(StoreFault) as info:
        open_store(f"postgresql://isoill@/isoill?host={tmp_path}")
    assert (info.value.reason, info.value.temporary) == ("its store is unreachable", True)


def test_a_write_the_server_refuses_fails_alone_and_for_good(backend: PostgresBackend) -> None:
    """A statement the server aborts (a report without bytes) aborts the whole transaction:
    the group is run again one write at a time, and only that write fails."""
    held = hold(backend)
    broken = Notice("Status-Or-Error-Report", "NEWLIB", None, [NEW])  # type: ignore[arg-type]
    first, refusal, last = backend.commit_all(
        [accepting("tx-1", [OLD]), Refuse(held, "no", T0, broken), accepting("tx-2", [OLD])]
    )
    assert isinstance(first, Stored) and isinstance(last, Stored)
    assert isinstance(refusal, Failed) and isinstance(refusal.error, StoreFault)
    assert (refusal.error.reason, refusal.error.temporary) == ("a store error", False)
    assert [d.message_id for d in backend.due(T0, per_address=5)] == [
        first.message_id,
        last.message_id,
    ]
    assert backend.held(held).id == held


def test_the_backend_goes_on_after_the_server_restarts(
    postgres: PostgresServer, url: str, backend: PostgresBackend
) -> None:
    cluster = postgres.cluster
    if cluster is None:
        pytest.skip("ISOILL_TEST_POSTGRES names a server these tests do not restart")
    message = accept(backend, "tx-1", [OLD])
    cluster.stop()
    try:
        for attempt in (lambda: backend.commit(accepting("tx-2")), backend.counts):
            with pytest.raises(StoreFault) as info:
                attempt()
            assert (info.value.reason, info.value.temporary) == ("its store is unreachable", True)
    finally:
        cluster.start()
    [delivery] = backend.due(T0)  # connected again
    assert delivery.message_id == message
    backend.commit(Delivered(delivery.id, T0))
    assert isinstance(backend.commit(holding("tx-3")), Stored)
