"""The store-and-forward queue (isoill.store) and the ``isoill queue`` command.

The caller's clock is passed in, so every schedule here is exact.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from store_values import BER, NEW, OLD, T0

from isoill.cli import main
from isoill.store import (
    _DUE,
    _NEXT_DUE,
    GATEWAY_PEER,
    SCHEMA_VERSION,
    Forward,
    Notice,
    RetryPolicy,
    Store,
    StoreError,
    TransactionRecord,
)


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store(":memory:")
    yield store
    store.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "queue.sqlite3"


def accept(
    store: Store,
    addresses: Sequence[str] = (OLD,),
    *,
    key: str = "tx-1",
    now: datetime = T0,
    ber: bytes = BER,
    requester: str | None = "BRW",
    responder: str | None = "LND",
    dedup_key: str | None = None,
    machines: tuple[str, str] | None = None,
    apdu_type: str = "ill-request",
) -> int:
    return store.accept(
        peer="BRW",
        apdu_type=apdu_type,
        transaction_key=key,
        target_symbol="LND",
        ber=ber,
        addresses=addresses,
        requester_symbol=requester,
        responder_symbol=responder,
        now=now,
        dedup_key=dedup_key,
        states=machines,
    ).message_id


def due_ids(store: Store, now: datetime = T0) -> list[tuple[int, str]]:
    return [(d.message_id, d.address) for d in store.due(now)]


def states(store: Store, state: str | None = None) -> dict[int, str]:
    return {m.id: m.state for m in store.list_messages(state)}


# -- durability ----------------------------------------------------------------------------


def test_accepted_message_survives_close_and_reopen(db_path: Path) -> None:
    first = Store(db_path)
    message_id = accept(first, [OLD, NEW])
    first.close()

    reopened = Store(db_path)
    [one, two] = reopened.due(T0)
    reopened.close()
    assert (one.message_id, one.address, one.ber) == (message_id, OLD, BER)
    assert (two.message_id, two.address, two.ber) == (message_id, NEW, BER)
    assert one.received_at == T0
    assert (one.apdu_type, one.target_symbol, one.attempts) == ("ill-request", "LND", 0)


def test_second_connection_sees_committed_rows(db_path: Path) -> None:
    writer, reader = Store(db_path), Store(db_path)
    try:
        message_id = accept(writer)
        assert [m.id for m in reader.list_messages()] == [message_id]
        assert reader.counterpart("tx-1") == ("BRW", "LND")
    finally:
        writer.close()
        reader.close()


def test_database_is_in_wal_mode_and_versioned(db_path: Path) -> None:
    Store(db_path).close()
    Store(db_path).close()  # opening again leaves the schema as it is
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        raw.close()


def test_newer_schema_is_refused(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()
    with pytest.raises(StoreError, match="newer"):
        Store(db_path)


def test_message_survives_sigkill_right_after_accept(db_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from datetime import UTC, datetime\n"
        "from isoill.store import Store\n"
        "store = Store(sys.argv[1])\n"
        "message_id = store.accept(peer='BRW', apdu_type='shipped', transaction_key='tx-9',\n"
        "    target_symbol='LND', ber=bytes.fromhex(sys.argv[2]), addresses=[sys.argv[3]],\n"
        "    requester_symbol='BRW', responder_symbol='LND', now=datetime.now(UTC)).message_id\n"
        "print(message_id, flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(db_path), BER.hex(), OLD],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert child.stdout is not None
    with child.stdout:
        message_id = int(child.stdout.readline())
        child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL

    store = Store(db_path)
    try:
        [delivery] = store.due(datetime.now(UTC))
        assert (delivery.message_id, delivery.ber, delivery.address) == (message_id, BER, OLD)
        assert store.counterpart("tx-9") == ("BRW", "LND")
    finally:
        store.close()


# The schema of version 1, as isoill 0.1 created it.
V1_SCHEMA = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    peer TEXT NOT NULL,
    apdu_type TEXT NOT NULL,
    transaction_key TEXT,
    target_symbol TEXT,
    ber BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('accepted', 'unroutable', 'held')),
    reason TEXT
);
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    address TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_attempt_at INTEGER,
    last_error TEXT,
    delivered_at INTEGER
);
CREATE TABLE transactions (
    transaction_key TEXT PRIMARY KEY,
    requester_symbol TEXT,
    responder_symbol TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX deliveries_queue ON deliveries (state, address, id);
CREATE INDEX deliveries_message ON deliveries (message_id, state);
CREATE INDEX messages_state ON messages (state);
PRAGMA user_version = 1;
"""
T0_MICROS = int(T0.timestamp()) * 1_000_000


def v1_database(path: Path, rows: str) -> None:
    raw = sqlite3.connect(path)
    try:
        raw.executescript(V1_SCHEMA + rows)
    finally:
        raw.close()


def test_version_1_database_is_upgraded_keeping_its_rows(db_path: Path) -> None:
    v1_database(
        db_path,
        f"""
        INSERT INTO messages VALUES
            (1, {T0_MICROS}, 'BRW', 'ill-request', 'tx-1', 'LND', x'{BER.hex()}', 'accepted', NULL),
            (2, {T0_MICROS}, 'NEW', 'ill-request', 'tx-2', 'LND', x'{BER.hex()}', 'held', 'who?'),
            (3, {T0_MICROS}, 'x', 'shipped', NULL, NULL, x'{BER.hex()}', 'unroutable', 'lost');
        INSERT INTO deliveries (id, message_id, address, state, next_attempt_at)
            VALUES (1, 1, '{OLD}', 'pending', {T0_MICROS});
        INSERT INTO transactions VALUES ('tx-1', 'BRW', 'LND', {T0_MICROS});
        """,
    )
    store = Store(db_path)
    try:
        assert states(store) == {3: "unroutable", 2: "held", 1: "pending"}
        [delivery] = store.due(T0)
        assert (delivery.message_id, delivery.address, delivery.ber) == (1, OLD, BER)
        assert store.counterpart("tx-1") == ("BRW", "LND")
        record = store.transaction("tx-1")  # and through version 2 to version 3
        assert record is not None
        assert (record.id, record.created_at, record.requester_state) == (1, T0, None)
        assert [m.id for m in store.transaction_history(1)[1]] == [1]
        accept(store, key="tx-1", dedup_key="d", machines=("PENDING", "IN-PROCESS"))
        assert store.find_duplicate("d") == 4
        store.refuse(2, "not a member", T0)  # the state version 1 could not hold
        assert [(m.id, m.reason) for m in store.list_messages("refused")] == [(2, "not a member")]
        with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced again
            store._db.execute(
                "INSERT INTO deliveries (message_id, address, state) VALUES (99, 'a:1', 'pending')"
            )
    finally:
        store.close()
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        [foreign_key] = raw.execute("PRAGMA foreign_key_list(deliveries)").fetchall()
        assert foreign_key[2:4] == ("messages", "message_id")
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_schema")}
        assert {"messages", "messages_state", "messages_dedup", "transactions_requester"} <= tables
        assert not {"messages_v2", "transactions_v3"} & tables
    finally:
        raw.close()


def test_failed_upgrade_leaves_version_1_as_it_was(db_path: Path) -> None:
    orphan = f"""
        INSERT INTO messages VALUES
            (1, {T0_MICROS}, 'BRW', 'ill-request', 'tx-1', 'LND', x'{BER.hex()}', 'held', NULL);
        INSERT INTO deliveries (message_id, address, state) VALUES (7, '{OLD}', 'pending');
    """
    v1_database(db_path, orphan)
    with pytest.raises(StoreError, match="upgrade"):
        Store(db_path)
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone() == (1,)
        [(table,)] = raw.execute("SELECT sql FROM sqlite_schema WHERE name = 'messages'")
        assert "'refused'" not in table
        assert raw.execute("SELECT id, state FROM messages").fetchall() == [(1, "held")]
    finally:
        raw.close()


# Version 2 differed from version 1 only in the state 'refused'.
V2_SCHEMA = V1_SCHEMA.replace("'held')", "'held', 'refused')").replace(
    "user_version = 1", "user_version = 2"
)
MINUTE = 60_000_000


def test_version_2_database_is_upgraded_keeping_its_rows(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.executescript(
        V2_SCHEMA
        + f"""
        INSERT INTO messages VALUES
            (1, {T0_MICROS}, 'BRW', 'ill-request', 'tx-1', 'LND', x'{BER.hex()}', 'accepted', NULL),
            (2, {T0_MICROS + MINUTE}, 'LND', 'shipped', 'tx-1', 'BRW', x'{BER.hex()}', 'refused',
             'no'),
            (3, {T0_MICROS}, 'x', 'shipped', NULL, NULL, x'{BER.hex()}', 'unroutable', 'lost');
        INSERT INTO deliveries (id, message_id, address, state, next_attempt_at)
            VALUES (1, 1, '{OLD}', 'pending', {T0_MICROS});
        INSERT INTO transactions (rowid, transaction_key, requester_symbol, responder_symbol,
            updated_at) VALUES (5, 'tx-1', 'BRW', 'LND', {T0_MICROS + 2 * MINUTE}),
                               (9, 'tx-2', NULL, 'LND', {T0_MICROS + 3 * MINUTE});
        """
    )
    raw.close()
    store = Store(db_path)
    try:
        assert store.list_transactions() == [
            TransactionRecord(
                9,
                "tx-2",
                None,
                "LND",
                None,
                None,
                T0 + timedelta(minutes=3),
                T0 + timedelta(minutes=3),
            ),
            TransactionRecord(5, "tx-1", "BRW", "LND", None, None, T0, T0 + timedelta(minutes=2)),
        ]  # created when its first message came; without messages, when last updated
        _, history = store.transaction_history(5)
        assert [(m.id, m.state) for m in history] == [(1, "pending"), (2, "refused")]
        [delivery] = store.due(T0)
        assert (delivery.message_id, delivery.ber) == (1, BER)
        later = T0 + timedelta(minutes=4)
        accept(store, key="tx-2", now=later, dedup_key="d", machines=("PENDING", "IN-PROCESS"))
        assert store.find_duplicate("d") == 4
        assert store.transaction("tx-2") == TransactionRecord(
            9, "tx-2", "BRW", "LND", "PENDING", "IN-PROCESS", T0 + timedelta(minutes=3), later
        )
        assert accept(store, key="tx-3") == 5
        assert [t.id for t in store.list_transactions()] == [10, 9, 5]
    finally:
        store.close()
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        raw.close()


def test_failed_upgrade_leaves_version_2_as_it_was(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.executescript(  # a key version 3 does not allow
        V2_SCHEMA + f"INSERT INTO transactions VALUES (NULL, 'BRW', 'LND', {T0_MICROS});"
    )
    raw.close()
    with pytest.raises(sqlite3.IntegrityError):
        Store(db_path)
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone() == (2,)
        columns = [row[1] for row in raw.execute("PRAGMA table_info(messages)")]
        assert "dedup_key" not in columns
        assert raw.execute("SELECT * FROM transactions").fetchall() == [
            (None, "BRW", "LND", T0_MICROS)
        ]
    finally:
        raw.close()


# Version 3's tables, as that version created them (its indexes are today's).
V3_SCHEMA = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, peer TEXT NOT NULL,
    apdu_type TEXT NOT NULL, transaction_key TEXT, target_symbol TEXT, ber BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('accepted', 'unroutable', 'held', 'refused')),
    reason TEXT, dedup_key TEXT
);
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES messages (id),
    address TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, last_attempt_at INTEGER,
    last_error TEXT, delivered_at INTEGER
);
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY, transaction_key TEXT NOT NULL UNIQUE, requester_symbol TEXT,
    responder_symbol TEXT, requester_state TEXT, responder_state TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
PRAGMA user_version = 3;
"""


def test_version_3_database_is_upgraded_keeping_its_rows(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.executescript(
        V3_SCHEMA
        + f"""
        INSERT INTO messages VALUES
            (1, {T0_MICROS}, 'BRW', 'ill-request', 'tx-1', 'LND', x'{BER.hex()}', 'accepted',
             NULL, 'd-1');
        INSERT INTO deliveries (id, message_id, address, state, next_attempt_at)
            VALUES (1, 1, '{OLD}', 'pending', {T0_MICROS});
        INSERT INTO transactions VALUES
            (7, 'tx-1', 'BRW', 'LND', 'PENDING', 'IN-PROCESS', {T0_MICROS}, {T0_MICROS});
        """
    )
    raw.close()
    store = Store(db_path)
    try:
        old = TransactionRecord(7, "tx-1", "BRW", "LND", "PENDING", "IN-PROCESS", T0, T0)
        assert store.transaction("tx-1") == old
        assert store.find_duplicate("d-1") == 1
        [delivery] = store.due(T0)
        assert (delivery.message_id, delivery.ber) == (1, BER)
        forwarded = store.accept(
            peer="LND",
            apdu_type="Forward-Notification",
            transaction_key="tx-1",
            target_symbol="BRW",
            ber=BER,
            addresses=[NEW],
            requester_symbol="BRW",
            responder_symbol="NEXT",
            now=T0,
            forward=Forward(responder="NEXT", intermediary="LND"),
        )
        assert forwarded.transaction == replace(
            old, responder_symbol="NEXT", intermediaries=("LND",)
        )
    finally:
        store.close()
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        raw.close()


def test_parties_stay_and_only_a_forward_moves_the_responder(store: Store) -> None:
    accept(store, requester="BRW", responder="LND")
    accept(store, requester="OTHER", responder="ELSE")  # a later APDU naming others
    assert store.counterpart("tx-1") == ("BRW", "LND")
    for intermediary, responder in (("LND", "NEXT"), ("NEXT", "LAST")):
        store.accept(
            peer=intermediary,
            apdu_type="Forward-Notification",
            transaction_key="tx-1",
            target_symbol="BRW",
            ber=BER,
            addresses=[OLD],
            requester_symbol="BRW",
            responder_symbol=responder,
            now=T0,
            forward=Forward(responder=responder, intermediary=intermediary),
        )
    record = store.transaction("tx-1")
    assert record is not None
    assert (record.requester_symbol, record.responder_symbol) == ("BRW", "LAST")
    assert record.intermediaries == ("LND", "NEXT")


def test_naive_time_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        accept(store, now=datetime(2024, 5, 1, 12, 0))


# -- forwarding order ------------------------------------------------------------------------


def test_later_message_never_overtakes_earlier_one_to_same_address(store: Store) -> None:
    first = accept(store, [OLD])
    second = accept(store, [OLD], key="tx-2")
    other = accept(store, [NEW], key="tx-3")
    assert due_ids(store) == [(first, OLD), (other, NEW)]

    [head] = [d for d in store.due(T0) if d.message_id == first]
    assert store.retry_later(head.id, "connection refused", T0)
    assert due_ids(store, T0 + timedelta(minutes=4)) == [(other, NEW)]
    assert due_ids(store, T0 + timedelta(minutes=5)) == [(other, NEW), (first, OLD)]

    store.delivered(head.id, T0 + timedelta(minutes=5))
    assert due_ids(store, T0 + timedelta(minutes=5)) == [(second, OLD), (other, NEW)]


def test_due_respects_limit_oldest_first(store: Store) -> None:
    ids = [accept(store, [f"host{n}:499"], now=T0 + timedelta(seconds=n)) for n in range(5)]
    assert [d.message_id for d in store.due(T0 + timedelta(minutes=1), limit=2)] == ids[:2]


def test_next_due_at(store: Store) -> None:
    assert store.next_due_at(T0) is None
    accept(store, now=T0)
    assert store.next_due_at(T0 + timedelta(seconds=3)) == T0 + timedelta(seconds=3)
    [delivery] = store.due(T0)
    store.retry_later(delivery.id, "timeout", T0)
    assert store.next_due_at(T0) == T0 + timedelta(minutes=5)


def test_due_query_seeks_the_index_instead_of_scanning(store: Store) -> None:
    due = {"now": 0, "limit": 100, "run": 8, "exclude": '["a:1"]'}
    for query, params in ((_DUE, due), (_NEXT_DUE, {})):
        plan = [row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + query, params)]
        deliveries = [step for step in plan if "deliveries" in step or " d " in step]
        assert deliveries
        assert all(step.startswith("SEARCH") for step in deliveries), plan


# -- retries ----------------------------------------------------------------------------------


def test_four_attempts_within_the_hour_then_failed(store: Store) -> None:
    message_id = accept(store)
    later = accept(store, key="tx-2")
    tries = []
    now = T0
    while True:
        [delivery] = store.due(now)
        assert delivery.message_id == message_id
        tries.append(now - T0)
        if not store.retry_later(delivery.id, f"refused {len(tries)}", now):
            break
        next_at = store.next_due_at(now)
        assert next_at is not None
        assert store.due(next_at - timedelta(seconds=1)) == []
        now = next_at

    assert tries == [timedelta(minutes=m) for m in (0, 5, 15, 35)]
    [view] = [m for m in store.list_messages() if m.id == message_id]
    assert view.state == "failed"
    [delivery_view] = view.deliveries
    assert (delivery_view.attempts, delivery_view.last_error) == (4, "refused 4")
    assert delivery_view.last_attempt_at == T0 + timedelta(minutes=35)
    assert delivery_view.next_attempt_at is None
    # The failed head no longer blocks its address.
    assert due_ids(store, now) == [(later, OLD)]


def test_retry_policy_must_fit_its_window() -> None:
    assert RetryPolicy().delay(1) == timedelta(minutes=5)
    with pytest.raises(ValueError, match="outside the window"):
        RetryPolicy(first_delay=timedelta(minutes=10))
    custom = RetryPolicy(max_attempts=2, first_delay=timedelta(seconds=30))
    store = Store(":memory:", policy=custom)
    try:
        accept(store)
        [delivery] = store.due(T0)
        assert store.retry_later(delivery.id, "refused", T0)
        assert not store.retry_later(delivery.id, "refused", T0 + timedelta(seconds=30))
    finally:
        store.close()


def test_permanent_failure_and_unknown_delivery(store: Store) -> None:
    accept(store)
    [delivery] = store.due(T0)
    store.failed(delivery.id, "peer rejected the APDU", T0)
    assert states(store) == {delivery.message_id: "failed"}
    with pytest.raises(KeyError):
        store.delivered(delivery.id, T0)
    with pytest.raises(KeyError):
        store.retry_later(999, "x", T0)


# -- address change ---------------------------------------------------------------------------


def test_address_change_fans_out_with_independent_states(store: Store) -> None:
    message_id = accept(store, [OLD, NEW, OLD])  # a repeated address is sent to once
    by_address = {d.address: d for d in store.due(T0)}
    assert sorted(by_address) == sorted([OLD, NEW])

    store.delivered(by_address[NEW].id, T0)
    store.retry_later(by_address[OLD].id, "connection refused", T0)
    [view] = store.list_messages()
    assert view.state == "pending"
    assert [(d.address, d.state, d.attempts) for d in view.deliveries] == [
        (OLD, "pending", 1),
        (NEW, "delivered", 1),
    ]
    assert view.deliveries[1].delivered_at == T0

    store.failed(by_address[OLD].id, "gone", T0)
    assert states(store) == {message_id: "failed"}
    assert store.counts() == {"pending": 0, "failed": 1, "unroutable": 0, "held": 0}


def test_accept_needs_a_list_of_addresses(store: Store) -> None:
    not_lists: list[Sequence[str]] = [[], OLD]
    for addresses in not_lists:
        with pytest.raises(ValueError, match="addresses"):
            accept(store, addresses)
    assert store.list_messages() == []


# -- routing memory ---------------------------------------------------------------------------


def test_counterpart_learned_from_earlier_apdus(store: Store) -> None:
    assert store.counterpart("tx-1") == (None, None)
    accept(store, requester="BRW", responder=None)
    assert store.counterpart("tx-1") == ("BRW", None)
    accept(store, requester=None, responder="LND")
    assert store.counterpart("tx-1") == ("BRW", "LND")
    accept(store, requester=None, responder=None)  # an APDU without ids forgets nothing
    assert store.counterpart("tx-1") == ("BRW", "LND")


def test_unroutable_is_kept_for_operators(store: Store) -> None:
    lost = store.accept_unroutable(
        peer="10.0.0.7:40022",
        apdu_type="shipped",
        transaction_key=None,
        ber=BER,
        reason="no route for responder ZZZ",
        now=T0,
    )
    [view] = store.list_messages("unroutable")
    assert (view.id, view.reason, view.size, view.deliveries) == (
        lost,
        "no route for responder ZZZ",
        len(BER),
        (),
    )
    assert states(store, "held") == {}
    assert store.due(T0) == []
    assert store.counts()["unroutable"] == 1
    assert store.resend(lost, T0) == 0


# -- transactions -------------------------------------------------------------------------------


def test_transaction_states_are_written_with_the_message(store: Store) -> None:
    assert store.transaction("tx-1") is None
    accept(store, requester="BRW", responder=None)  # an APDU of an untracked transaction
    first = store.transaction("tx-1")
    assert first is not None
    assert (first.key, first.requester_state, first.responder_state) == ("tx-1", None, None)
    assert first.created_at == first.updated_at == T0

    later = T0 + timedelta(minutes=1)
    accept(store, now=later, machines=("PENDING", "IN-PROCESS"))
    accept(store, now=later + timedelta(minutes=1))  # no states: they stay as they are
    assert store.transaction("tx-1") == TransactionRecord(
        first.id, "tx-1", "BRW", "LND", "PENDING", "IN-PROCESS", T0, later + timedelta(minutes=1)
    )
    store.accept_held(
        peer="NEWLIB",
        apdu_type="ILL-Request",
        transaction_key="tx-2",
        target_symbol="LND",
        ber=BER,
        requester_symbol="NEWLIB",
        responder_symbol="LND",
        reason="requester NEWLIB is not a configured peer",
        now=T0,
        dedup_key="held-1",
        states=("PENDING", "IDLE"),
    )
    held = store.transaction("tx-2")
    assert held is not None
    assert (held.requester_state, held.responder_state) == ("PENDING", "IDLE")
    assert store.find_duplicate("held-1") is not None
    assert store.counterpart("tx-2") == ("NEWLIB", "LND")


def test_states_and_message_are_one_transaction(store: Store) -> None:
    accept(store, dedup_key="d1", machines=("PENDING", "IN-PROCESS"))
    # The message fails: the states are not written.
    with pytest.raises(sqlite3.IntegrityError):
        accept(store, dedup_key="d1", machines=("SHIPPED", "SHIPPED"))
    # The states fail: the message (and its delivery) is not stored.
    unstorable = (object(), "SHIPPED")
    with pytest.raises(sqlite3.Error):
        accept(store, dedup_key="d2", machines=unstorable)  # type: ignore[arg-type]
    record = store.transaction("tx-1")
    assert record is not None
    assert (record.requester_state, record.responder_state) == ("PENDING", "IN-PROCESS")
    assert len(store.list_messages()) == len(store.due(T0)) == 1
    assert store.find_duplicate("d2") is None


def test_duplicates_are_found_and_never_stored_twice(store: Store) -> None:
    assert store.find_duplicate("d1") is None
    first = accept(store, dedup_key="d1")
    other = accept(store, dedup_key="d2")
    accept(store)  # messages without a key are never duplicates
    accept(store)
    assert (store.find_duplicate("d1"), store.find_duplicate("d2")) == (first, other)
    for again in (partial(accept, store, dedup_key="d1"), partial(hold, store, dedup_key="d2")):
        with pytest.raises(sqlite3.IntegrityError):  # the safety net under find_duplicate
            again()
    assert len(store.list_messages()) == 4


def test_a_refused_message_is_no_duplicate(store: Store) -> None:
    held = hold(store, dedup_key="d1")
    assert store.find_duplicate("d1") == held
    store.refuse(held, "not a member", T0)
    assert store.find_duplicate("d1") is None
    again = hold(store, dedup_key="d1")  # sent again after the refusal: judged anew
    assert store.find_duplicate("d1") == again != held


def test_refused_apdu_is_kept_in_the_history(store: Store) -> None:
    accept(store, machines=("PENDING", "IN-PROCESS"))
    refused = store.record_refused(
        peer="LND",
        apdu_type="Received",
        transaction_key="tx-1",
        target_symbol="BRW",
        ber=BER,
        reason="Received is not allowed while the responder is IN-PROCESS",
        now=T0 + timedelta(minutes=1),
    )
    [view] = store.list_messages("refused")
    assert (view.id, view.state, view.apdu_type, view.deliveries) == (
        refused,
        "refused",
        "Received",
        (),
    )
    assert view.reason == "Received is not allowed while the responder is IN-PROCESS"
    record, history = store.transaction_history(1)
    assert [m.id for m in history] == [1, refused]
    assert record.updated_at == T0  # the refusal changed nothing of the transaction
    assert (record.requester_state, record.responder_state) == ("PENDING", "IN-PROCESS")
    assert [d.message_id for d in store.due(T0 + timedelta(hours=1))] == [1]
    assert store.resend(refused, T0) == 0


def transactions(store: Store) -> dict[str, int]:
    """Four transactions between BRW, LND and OTH; their ids by key."""
    for key, requester, responder, machines in [
        ("a", "BRW", "LND", ("PENDING", "IN-PROCESS")),
        ("b", "LND", "oth", ("SHIPPED", "SHIPPED")),
        ("c", "OTH", "BRW", None),
        ("d", "brw", "OTH", ("SHIPPED", "PENDING")),
    ]:
        accept(store, key=key, requester=requester, responder=responder, machines=machines)
    return {t.key: t.id for t in store.list_transactions()}


def listed(store: Store, state: str | None = None, peer: str | None = None, limit: int = 50) -> str:
    return "".join(t.key for t in store.list_transactions(state, peer, limit))


def test_list_transactions_newest_first_with_filters(store: Store) -> None:
    ids = transactions(store)
    assert list(ids) == ["d", "c", "b", "a"]
    assert list(ids.values()) == sorted(ids.values(), reverse=True)
    assert listed(store, limit=2) == "dc"
    assert listed(store, peer="BRW") == "dca"  # as requester or responder, in any case
    assert listed(store, peer="oth") == "dcb"
    assert listed(store, peer="OTH", limit=2) == "dc"
    assert listed(store, state="shipped") == "db"  # either machine's state
    assert listed(store, state="PENDING") == "da"
    assert listed(store, state="PENDING", limit=1) == "d"
    assert listed(store, state="SHIPPED", peer="LND") == "b"
    assert listed(store, state="IN-PROCESS", peer="OTH") == ""
    assert listed(store, peer="NOBODY") == listed(store, state="LOST") == ""


def test_transaction_history_in_order_with_deliveries(store: Store) -> None:
    request = accept(store, [OLD, NEW], key="tx-7", dedup_key="r")
    accept(store, key="tx-other")
    held = hold(store, key="tx-7")
    report = store.refuse(held, "not a member", T0, notice([NEW]))
    by_address = {d.address: d for d in store.due(T0) if d.message_id == request}
    store.delivered(by_address[OLD].id, T0)
    store.retry_later(by_address[NEW].id, "connection refused", T0)

    ids = {t.key: t.id for t in store.list_transactions()}
    record, history = store.transaction_history(ids["tx-7"])
    assert (record.id, record.key) == (ids["tx-7"], "tx-7")
    assert [(m.id, m.peer, m.apdu_type, m.state) for m in history] == [
        (request, "BRW", "ill-request", "pending"),
        (held, "NEWLIB", "ILL-Request", "refused"),
        (report, GATEWAY_PEER, "Status-Or-Error-Report", "pending"),
    ]
    assert [(d.address, d.state, d.attempts, d.last_error) for d in history[0].deliveries] == [
        (OLD, "delivered", 1, None),
        (NEW, "pending", 1, "connection refused"),
    ]
    assert history[1].reason == "not a member"
    with pytest.raises(KeyError, match="no transaction 999"):
        store.transaction_history(999)


def test_transaction_queries_seek_an_index(store: Store) -> None:
    """What the gateway asks per APDU, and the operators' filters, never read a whole table."""
    transactions(store)
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    store.transaction("a")
    store.counterpart("a")
    store.find_duplicate("d1")
    store.transaction_history(1)
    for state, peer in (("PENDING", None), (None, "BRW"), ("PENDING", "BRW")):
        store.list_transactions(state, peer)
    store._db.set_trace_callback(None)
    assert len(statements) == 9
    for statement in statements:
        plan = [row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + statement)]
        scans = [
            s for s in plan if s.startswith("SCAN") and "subquery" not in s and "json" not in s
        ]
        assert not scans, (statement, plan)
        if "FROM deliveries" not in statement:  # those of a few messages may well be sorted
            assert not [step for step in plan if "TEMP B-TREE" in step], (statement, plan)


# -- held messages ------------------------------------------------------------------------------


def hold(
    store: Store,
    *,
    key: str = "tx-7",
    ber: bytes = BER,
    requester: str | None = "NEWLIB",
    dedup_key: str | None = None,
) -> int:
    return store.accept_held(
        peer="NEWLIB",
        apdu_type="ILL-Request",
        transaction_key=key,
        target_symbol="LND",
        ber=ber,
        requester_symbol=requester,
        responder_symbol="LND",
        reason="requester NEWLIB is not a configured peer",
        now=T0,
        dedup_key=dedup_key,
    ).message_id


def notice(addresses: Sequence[str] = (NEW,)) -> Notice:
    return Notice("Status-Or-Error-Report", "NEWLIB", b"report", addresses)


def test_held_message_waits_without_deliveries(db_path: Path) -> None:
    first = Store(db_path)
    held = hold(first)
    first.close()  # durable once accept_held returns

    store = Store(db_path)
    try:
        [view] = store.list_messages("held")
        assert (view.id, view.state, view.peer, view.target_symbol) == (
            held,
            "held",
            "NEWLIB",
            "LND",
        )
        assert (view.reason, view.deliveries) == ("requester NEWLIB is not a configured peer", ())
        assert store.due(T0 + timedelta(days=1)) == []
        assert store.next_due_at(T0) is None
        assert store.counts() == {"pending": 0, "failed": 0, "unroutable": 0, "held": 1}
        assert store.counterpart("tx-7") == ("NEWLIB", "LND")
        message = store.held(held)
        assert (message.id, message.transaction_key, message.target_symbol, message.ber) == (
            held,
            "tx-7",
            "LND",
            BER,
        )
    finally:
        store.close()


def test_release_queues_a_held_message_due_now(store: Store) -> None:
    earlier = accept(store, [OLD])
    held = hold(store)
    later = T0 + timedelta(hours=3)
    assert store.release(held, [OLD, NEW, NEW], later) == 2
    assert states(store) == {held: "pending", earlier: "pending"}
    # On OLD it waits behind the message accepted before it, like any later APDU.
    assert due_ids(store, later) == [(earlier, OLD), (held, NEW)]
    [head] = [d for d in store.due(later) if d.message_id == earlier]
    store.delivered(head.id, later)
    assert due_ids(store, later) == [(held, OLD), (held, NEW)]
    [view] = [m for m in store.list_messages() if m.id == held]
    assert view.reason is None
    assert view.received_at == T0
    assert [d.next_attempt_at for d in view.deliveries] == [later, later]
    assert store.counts()["held"] == 0


def test_refuse_keeps_the_reason_and_queues_the_report(store: Store) -> None:
    held = hold(store)
    report = store.refuse(held, "not in our consortium", T0, notice([NEW, OLD]))
    assert report is not None
    [view] = store.list_messages("refused")
    assert (view.id, view.state, view.reason, view.deliveries) == (
        held,
        "refused",
        "not in our consortium",
        (),
    )
    [sent] = [m for m in store.list_messages() if m.id == report]
    assert (sent.peer, sent.apdu_type, sent.target_symbol, sent.transaction_key) == (
        GATEWAY_PEER,
        "Status-Or-Error-Report",
        "NEWLIB",
        "tx-7",
    )
    assert sorted((d.address, d.ber) for d in store.due(T0)) == [
        (NEW, b"report"),
        (OLD, b"report"),
    ]
    assert store.counts() == {"pending": 2, "failed": 0, "unroutable": 0, "held": 0}


def test_refuse_without_report(store: Store) -> None:
    held = hold(store, requester=None)
    assert store.refuse(held, "who is this?", T0) is None
    assert states(store) == {held: "refused"}
    assert store.due(T0) == []


def test_refusal_and_its_report_are_one_transaction(store: Store) -> None:
    held = hold(store)
    broken = Notice("Status-Or-Error-Report", "NEWLIB", None, [NEW])  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        store.refuse(held, "no", T0, broken)
    assert states(store) == {held: "held"}


def held_actions(store: Store, message_id: int) -> list[Callable[[], object]]:
    return [
        partial(store.held, message_id),
        partial(store.release, message_id, [OLD], T0),
        partial(store.refuse, message_id, "no", T0),
    ]


def test_only_held_messages_are_released_or_refused(store: Store) -> None:
    ids = queue_in_every_state(store)
    for state, message_id in ids.items():
        if state == "held":
            continue
        for action in held_actions(store, message_id):
            with pytest.raises(ValueError, match=f"message {message_id} is .*, not held"):
                action()
    for action in held_actions(store, 999):
        with pytest.raises(KeyError, match="no message 999"):
            action()
    no_addresses: list[str] = []
    for addresses in (no_addresses, OLD):  # none, and one address where a list belongs
        with pytest.raises(ValueError, match="addresses"):
            store.release(ids["held"], addresses, T0)
        with pytest.raises(ValueError, match="addresses"):
            store.refuse(ids["held"], "no", T0, notice(addresses))
    assert states(store, "held") == {ids["held"]: "held"}
    store.release(ids["held"], [OLD], T0)
    with pytest.raises(ValueError, match="is accepted, not held"):
        store.release(ids["held"], [OLD], T0)


# -- operator views -----------------------------------------------------------------------------


def queue_in_every_state(store: Store) -> dict[str, int]:
    ids = {
        "delivered": accept(store, ["a:1"]),
        "failed": accept(store, ["b:1"]),
        "pending": accept(store, ["c:1", "d:1"]),
    }
    for delivery in store.due(T0):
        if delivery.address == "a:1":
            store.delivered(delivery.id, T0)
        elif delivery.address in {"b:1", "d:1"}:
            store.failed(delivery.id, "refused", T0)
    ids["unroutable"] = store.accept_unroutable(
        peer="x", apdu_type="shipped", transaction_key=None, ber=BER, reason="?", now=T0
    )
    ids["held"] = hold(store)
    ids["refused"] = hold(store, key="tx-8")
    store.refuse(ids["refused"], "not a member", T0)
    return ids


def test_list_filters(store: Store) -> None:
    ids = queue_in_every_state(store)
    for state, message_id in ids.items():
        assert states(store, state) == {message_id: state}
    assert list(states(store)) == sorted(ids.values(), reverse=True)
    assert len(store.list_messages(limit=2)) == 2
    with pytest.raises(ValueError, match="unknown state"):
        store.list_messages("lost")


def test_resend_failed_deliveries(store: Store) -> None:
    ids = queue_in_every_state(store)
    later = T0 + timedelta(hours=2)
    assert store.resend(ids["failed"], later) == 1
    assert store.resend(ids["pending"], later) == 1  # only d:1 failed; c:1 is left as it is
    assert sorted(due_ids(store, later)) == [
        (ids["failed"], "b:1"),
        (ids["pending"], "c:1"),
        (ids["pending"], "d:1"),
    ]
    [view] = [m for m in store.list_messages() if m.id == ids["failed"]]
    assert (view.state, view.deliveries[0].attempts) == ("pending", 0)


def test_resend_delivered_message_sends_it_again(store: Store) -> None:
    ids = queue_in_every_state(store)
    assert store.resend(ids["delivered"], T0) == 1
    assert (ids["delivered"], "a:1") in due_ids(store)
    with pytest.raises(KeyError):
        store.resend(999, T0)


# -- the queue command ----------------------------------------------------------------------


def run_cli(*argv: str) -> None:
    main(["queue", *argv])


def filled_db(db_path: Path) -> dict[str, int]:
    store = Store(db_path)
    try:
        return queue_in_every_state(store)
    finally:
        store.close()


def test_cli_list_table(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = filled_db(db_path)
    run_cli("list", "--db", str(db_path))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ID", "RECEIVED", "PEER", "APDU", "TARGET", "TRANSACTION", "SIZE", "STATE",
        "ADDRESS", "DELIVERY", "TRIES", "NEXT", "TRY", "NOTE",
    ]  # fmt: skip
    pending = next(line for line in lines if line.split()[0] == str(ids["pending"]))
    assert pending.split()[:7] == [
        str(ids["pending"]), "2024-05-01", "12:00:00Z", "BRW", "ill-request", "LND", "tx-1",
    ]  # fmt: skip
    assert "c:1" in pending and "2024-05-01 12:00:00Z" in pending
    assert any("d:1" in line and "failed" in line and "refused" in line for line in lines)
    assert len(lines) == 1 + 7  # the pending message takes two lines


def test_cli_list_filter_and_json(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = filled_db(db_path)
    run_cli("list", "--state", "failed", "--json", "--db", str(db_path))
    [message] = json.loads(capsys.readouterr().out)
    assert message["id"] == ids["failed"]
    assert message["state"] == "failed"
    assert message["received_at"] == "2024-05-01T12:00:00+00:00"
    assert message["deliveries"][0]["last_error"] == "refused"
    assert "ber" not in message

    run_cli("list", "--state", "refused", "--db", str(db_path))
    [line] = capsys.readouterr().out.splitlines()[1:]
    assert line.split()[0] == str(ids["refused"])
    assert " refused " in line and line.endswith("not a member")

    empty = db_path.with_name("empty.sqlite3")
    Store(empty).close()
    run_cli("list", "--state", "held", "--db", str(empty))
    assert capsys.readouterr().out == "no messages\n"


def test_cli_never_prints_apdu_bytes(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = b"Patron Jane Doe, 12 Elm Street"
    store = Store(db_path)
    accept(store, ber=secret)
    store.close()
    for flags in ([], ["--json"]):
        run_cli("list", "--db", str(db_path), *flags)
        out = capsys.readouterr().out
        assert "Jane" not in out and secret.hex() not in out


def test_cli_resend(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = filled_db(db_path)
    run_cli("resend", str(ids["failed"]), "--db", str(db_path))
    assert capsys.readouterr().out == f"message {ids['failed']}: 1 delivery due now\n"
    store = Store(db_path)
    assert states(store, "failed") == {}
    store.close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["resend", "999"], "no message 999"),
        (["resend", "4"], "no deliveries"),
        (["list", "--limit", "0"], "--limit"),
    ],
)
def test_cli_bad_input(
    db_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    filled_db(db_path)  # message 4 is the unroutable one
    with pytest.raises(SystemExit) as exit_info:
        run_cli(*argv, "--db", str(db_path))
    assert exit_info.value.code == 3
    assert message in capsys.readouterr().err


def test_cli_missing_database_is_not_created(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli("list", "--db", str(db_path))
    assert exit_info.value.code == 3
    assert "no queue database" in capsys.readouterr().err
    assert not db_path.exists()


def test_queue_cli_imports_on_its_own() -> None:
    """isoill.cli imports isoill.cli.queue: importing the latter first must work too."""
    subprocess.run(
        [sys.executable, "-c", "import isoill.cli.queue"],
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
