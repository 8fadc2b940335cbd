"""The SQLite backend's own promises, beyond the contract every backend keeps (tests/store/):
the file is in WAL mode with ``synchronous=FULL`` and versioned; a store written by an older
isoill is upgraded keeping its rows, in one transaction that leaves it as it was if it fails;
a group commit is one SQLite transaction; and ``open_store`` takes a path for SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_support import accept, accepting, parties, states
from store_values import BER, NEW, OLD, T0

from isoill.core.views import Forward, TransactionRecord
from isoill.store.errors import StoreError, StoreFault
from isoill.store.open import open_store
from isoill.store.records import Stored
from isoill.store.sqlite import queries
from isoill.store.sqlite.backend import SqliteBackend, fault
from isoill.store.sqlite.queries import micros
from isoill.store.sqlite.schema import SCHEMA_VERSION
from isoill.store.writes import Accept, Delivered, Fail, Refuse, RetryLater


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "queue.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteBackend]:
    store = SqliteBackend(db_path)
    yield store
    store.close()


def test_database_is_in_wal_mode_synced_in_full_and_versioned(db_path: Path) -> None:
    SqliteBackend(db_path).close()
    store = SqliteBackend(db_path)  # opening again leaves the schema as it is
    try:
        assert store._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert store._db.execute("PRAGMA foreign_keys").fetchone() == (1,)
    finally:
        store.close()
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
        SqliteBackend(db_path)


def test_a_group_commit_is_one_transaction(store: SqliteBackend) -> None:
    """One transaction, with no savepoint while every write succeeds; once one fails, that
    attempt is rolled back and the group is committed again, each write in a savepoint."""
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    results = store.commit_all([accepting("tx-1"), accepting("tx-2")])
    ends = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"}
    assert [s for s in statements if s in ends] == ["BEGIN IMMEDIATE", "COMMIT"]
    assert not [s for s in statements if "one_write" in s]
    assert [type(result).__name__ for result in results] == ["Stored", "Stored"]
    statements.clear()
    results = store.commit_all([accepting("tx-3"), Delivered(999, T0), accepting("tx-4")])
    store._db.set_trace_callback(None)
    assert [s for s in statements if s in ends] == [
        "BEGIN IMMEDIATE",
        "ROLLBACK",
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    assert statements.count("SAVEPOINT one_write") == 3
    assert statements.count("ROLLBACK TO one_write") == 1
    assert [type(result).__name__ for result in results] == ["Stored", "Failed", "Stored"]
    assert {record.key for record in store.list_transactions()} == {
        "tx-1",
        "tx-2",
        "tx-3",
        "tx-4",
    }


def test_sqlite_errors_leave_as_faults_with_the_words_for_the_peer(
    store: SqliteBackend,
) -> None:
    for code, reason in [
        (sqlite3.SQLITE_FULL, "its disk is full"),
        (sqlite3.SQLITE_BUSY, "its store is locked by another process"),
        (sqlite3.SQLITE_LOCKED, "its store is locked"),
        (sqlite3.SQLITE_IOERR | (3 << 8), "its disk failed (I/O error)"),  # IOERR_WRITE
    ]:
        error = sqlite3.OperationalError("what SQLite said")
        error.sqlite_errorcode = code
        translated = fault(error)
        assert (translated.reason, translated.temporary) == (reason, True)
        assert str(translated) == "what SQLite said" and translated.__cause__ is error
    corrupt = sqlite3.DatabaseError("database disk image is malformed")
    corrupt.sqlite_errorcode = sqlite3.SQLITE_CORRUPT
    assert (fault(corrupt).reason, fault(corrupt).temporary) == ("a store error", False)
    assert StoreError("the store is closed").reason == "a store error"
    store.close()
    with pytest.raises(StoreFault):  # a closed connection: ProgrammingError, as a fault
        store.counts()


def test_a_file_that_is_no_store_is_refused(db_path: Path) -> None:
    db_path.write_bytes(b"not a database, not at all" * 100)
    with pytest.raises(StoreFault, match="not a database"):
        SqliteBackend(db_path)


def test_open_store_opens_a_path(tmp_path: Path) -> None:
    store = open_store(tmp_path / "queue.sqlite3")
    try:
        assert isinstance(store, SqliteBackend)
        assert store.capabilities.shared is False
    finally:
        store.close()


def test_an_unknown_write_is_refused(store: SqliteBackend) -> None:
    with pytest.raises(TypeError, match="not a write"):
        store.commit(object())  # type: ignore[arg-type]


# -- upgrades -------------------------------------------------------------------------------

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
    store = SqliteBackend(db_path)
    try:
        assert states(store) == {3: "unroutable", 2: "held", 1: "pending"}
        [delivery] = store.due(T0)
        assert (delivery.message_id, delivery.address, delivery.ber) == (1, OLD, BER)
        assert parties(store, "tx-1") == ("BRW", "LND")
        record = store.transaction("tx-1")  # and through version 2 to version 3
        assert record is not None
        assert (record.id, record.created_at, record.requester_state) == (1, T0, None)
        assert [m.id for m in store.transaction_history(1)[1]] == [1]
        accept(store, "tx-1", dedup_key="d", states=("PENDING", "IN-PROCESS"))
        assert store.find_duplicate("d") == 4
        store.commit(Refuse(2, "not a member", T0))  # the state version 1 could not hold
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
        SqliteBackend(db_path)
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
    store = SqliteBackend(db_path)
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
        accept(store, "tx-2", now=later, dedup_key="d", states=("PENDING", "IN-PROCESS"))
        assert store.find_duplicate("d") == 4
        assert store.transaction("tx-2") == TransactionRecord(
            9, "tx-2", "BRW", "LND", "PENDING", "IN-PROCESS", T0 + timedelta(minutes=3), later
        )
        assert accept(store, "tx-3") == 5
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
    with pytest.raises(StoreFault) as info:
        SqliteBackend(db_path)
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
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
    store = SqliteBackend(db_path)
    try:
        old = TransactionRecord(7, "tx-1", "BRW", "LND", "PENDING", "IN-PROCESS", T0, T0)
        assert store.transaction("tx-1") == old
        assert store.find_duplicate("d-1") == 1
        [delivery] = store.due(T0)
        assert (delivery.message_id, delivery.ber) == (1, BER)
        forwarded = store.commit(
            Accept(
                peer="LND",
                apdu_type="Forward-Notification",
                transaction_key="tx-1",
                target_symbol="BRW",
                ber=BER,
                addresses=[NEW],
                requester_symbol="BRW",
                responder_symbol="NEXT",
                now=T0,
                expected_version=old.version,
                forward=Forward(responder="NEXT", intermediary="LND"),
            )
        )
        assert isinstance(forwarded, Stored)
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


# Version 5's tables, as that version created them (its indexes are today's).
V5_SCHEMA = V3_SCHEMA.replace(
    "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL\n",
    "created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, intermediaries TEXT\n",
).replace("user_version = 3", "user_version = 5")


def test_version_5_database_is_upgraded_keeping_its_rows(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.executescript(
        V5_SCHEMA
        + f"""
        INSERT INTO messages VALUES
            (1, {T0_MICROS}, 'BRW', 'ILL-Request', 'tx-1', 'LND', x'{BER.hex()}', 'accepted',
             NULL, 'd-1');
        INSERT INTO deliveries (id, message_id, address, state, next_attempt_at)
            VALUES (1, 1, '{OLD}', 'pending', {T0_MICROS});
        INSERT INTO transactions VALUES
            (7, 'tx-1', 'BRW', 'LND', 'PENDING', 'IN-PROCESS', {T0_MICROS}, {T0_MICROS}, NULL);
        """
    )
    raw.close()
    store = SqliteBackend(db_path)
    try:
        old = TransactionRecord(7, "tx-1", "BRW", "LND", "PENDING", "IN-PROCESS", T0, T0)
        assert store.transaction("tx-1") == old  # no bridge state
        [delivery] = store.due(T0)
        assert (delivery.message_id, delivery.ber, delivery.xml) == (1, BER, None)
        assert store.xml(1) is None
        later = store.commit(
            Accept(
                peer="LND",
                apdu_type="Shipped",
                transaction_key="tx-1",
                target_symbol="BRW",
                ber=BER,
                addresses=["http://127.0.0.1:9100/iso18626"],
                requester_symbol="BRW",
                responder_symbol="LND",
                now=T0,
                expected_version=old.version,
                xml=b"<x/>",
                bridge='{"status": "Loaned"}',
            )
        )
        assert isinstance(later, Stored)
        assert later.transaction == replace(old, bridge='{"status": "Loaned"}')
        assert store.xml(later.message_id) == b"<x/>"
    finally:
        store.close()
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        raw.close()


@pytest.mark.parametrize(
    "moment",
    [
        T0,
        T0 + timedelta(microseconds=1),
        T0 - timedelta(days=30_000, microseconds=999_999),  # before the epoch
        T0.replace(year=9999, month=12, day=31, hour=23, minute=59, second=59),
    ],
)
def test_micros_counts_every_microsecond_since_the_epoch(moment: datetime) -> None:
    since = moment - datetime(1970, 1, 1, tzinfo=UTC)
    assert micros(moment) == since // timedelta(microseconds=1)
    assert queries.moment(micros(moment)) == moment


# Version 6's tables, as that version created them, the states checked with IN lists, and
# its index of every message by state (its other indexes are today's).
V6_SCHEMA = (
    V5_SCHEMA.replace("reason TEXT, dedup_key TEXT\n", "reason TEXT, dedup_key TEXT, xml BLOB\n")
    .replace("intermediaries TEXT\n", "intermediaries TEXT, bridge TEXT\n")
    .replace(
        "PRAGMA user_version = 5;",
        "CREATE INDEX messages_state ON messages (state);\nPRAGMA user_version = 6;",
    )
)
INDEXES = "SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name"


def test_version_6_database_is_upgraded_keeping_its_rows(db_path: Path) -> None:
    raw = sqlite3.connect(db_path)
    raw.executescript(
        V6_SCHEMA
        + f"""
        INSERT INTO messages VALUES
            (3, {T0_MICROS}, 'BRW', 'ILL-Request', 'tx-1', 'LND', x'{BER.hex()}', 'accepted',
             NULL, 'd-1', x'3c782f3e'),
            (5, {T0_MICROS}, 'NEW', 'ILL-Request', 'tx-2', 'LND', x'{BER.hex()}', 'held',
             'who?', 'd-2', NULL);
        INSERT INTO deliveries VALUES
            (4, 3, '{OLD}', 'pending', 2, {T0_MICROS}, {T0_MICROS}, 'timeout', NULL),
            (6, 3, '{NEW}', 'delivered', 1, NULL, {T0_MICROS}, NULL, {T0_MICROS});
        INSERT INTO transactions VALUES
            (7, 'tx-1', 'BRW', 'LND', 'PENDING', 'IN-PROCESS', {T0_MICROS}, {T0_MICROS}, NULL,
             '{{"status": "Loaned"}}');
        """
    )
    raw.close()
    store = SqliteBackend(db_path)
    try:
        [delivery] = store.due(T0)
        assert (delivery.id, delivery.message_id, delivery.attempts) == (4, 3, 2)
        assert (delivery.ber, delivery.xml) == (BER, b"<x/>")
        assert states(store) == {5: "held", 3: "pending"}
        assert store.find_duplicate("d-2") == 5
        assert store.transaction("tx-1") == TransactionRecord(
            7, "tx-1", "BRW", "LND", "PENDING", "IN-PROCESS", T0, T0, bridge='{"status": "Loaned"}'
        )
        assert accept(store, "tx-3") == 6 and store.due(T0, per_address=2)[-1].id == 7
        with pytest.raises(sqlite3.IntegrityError):  # the states are checked still
            store._db.execute("UPDATE deliveries SET state = 'lost' WHERE id = 4")
        with pytest.raises(sqlite3.IntegrityError):  # and foreign keys enforced
            store._db.execute(
                "INSERT INTO deliveries (message_id, address, state) VALUES (99, 'a:1', 'pending')"
            )
    finally:
        store.close()
    SqliteBackend(fresh := db_path.with_name("fresh.sqlite3")).close()
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_schema")}
        assert not {"messages_v7", "deliveries_v7"} & tables
        with closing(sqlite3.connect(fresh)) as new:  # today's, messages_state's among them
            assert raw.execute(INDEXES).fetchall() == new.execute(INDEXES).fetchall()
        [foreign_key] = raw.execute("PRAGMA foreign_key_list(deliveries)").fetchall()
        assert foreign_key[2:4] == ("messages", "message_id")
    finally:
        raw.close()


def test_the_writes_per_apdu_build_no_temporary_b_tree(store: SqliteBackend) -> None:
    """SQLite opens, fills and closes a temporary B-tree for a RETURNING clause, and for an
    IN list of three values or more in a CHECK, on every row: none of the statements an APDU
    and its delivery's outcome cost does."""
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    stored = store.commit(accepting("tx-1", [OLD, NEW], dedup_key="d", states=("A", "B")))
    assert isinstance(stored, Stored)
    first, second = (queued.delivery.id for queued in stored.deliveries)
    store.commit_all([Delivered(first, T0), RetryLater(second, "timeout", T0)])
    store.commit(Fail(second, "refused", T0))
    store._db.set_trace_callback(None)
    store._db.text_factory = lambda value: value.decode(errors="replace")  # P4 may be a blob
    for statement in statements:
        opcodes = {row[1] for row in store._db.execute(f"EXPLAIN {statement}")}
        assert "OpenEphemeral" not in opcodes, statement
