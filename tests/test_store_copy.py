"""``isoill store copy``: an SQLite store made through the store's own writes (pending,
delivered, failed, retried, held, refused and unroutable messages, a forwarded transaction)
copied into PostgreSQL, then served from there by a real ``isoill serve``: the pending ones
delivered in order, a held one released and a failed one resent with ``isoill queue``, new
intake numbered after what was copied. And what the copy refuses: a source a daemon is
running on, a destination that is not empty, tables that do not match; a copy that fails
half way leaves nothing behind."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from daemon_support import Daemon, port_of
from gateway_harness import RecordingPeer, exchange, ill_request, routes_for, run_cli, until
from gateway_harness import write_config as harness_config
from postgres_support import PostgresServer
from test_gateway_e2e import acknowledged

from isoill.core.views import Forward
from isoill.store.backend import Backend
from isoill.store.open import open_store
from isoill.store.records import Stored
from isoill.store.writes import Accept, Delivered, Fail, Keep, Refuse, RetryLater

pytestmark = pytest.mark.asyncio

#: An address no test listens on: its delivery waits for a retry minutes away.
ELSEWHERE = "127.0.0.1:9"


@dataclass(frozen=True)
class Source:
    """The SQLite store, and the ids of its messages by what became of them."""

    path: Path
    pending: tuple[int, ...]  # in the order they were accepted, to the peer
    retried: int  # pending, to ELSEWHERE, its next attempt minutes away
    failed: int
    held: int
    refused_held: int
    apdus: dict[int, bytes]


def transaction_key(number: int) -> str:
    """The key the gateway gives the transaction of ``ill_request(number, "REQLIB")``."""
    return f'["REQLIB", "grp1", "TX-{number:04d}", null]'


def _accept(store: Backend, number: int, now: datetime, **fields: object) -> int:
    ber = ill_request(number, "REQLIB")
    key = transaction_key(number)
    write = Accept(
        peer="127.0.0.1",
        apdu_type="ILL-Request",
        transaction_key=key,
        target_symbol="RESPLIB",
        ber=ber,
        requester_symbol="REQLIB",
        responder_symbol="RESPLIB",
        now=now,
        expected_version=None,
        dedup_key=f"dedup-{number}",
        states=("PENDING", "IN-PROCESS"),
        **fields,  # type: ignore[arg-type]
    )
    result = store.commit(write)
    assert isinstance(result, Stored)
    return result.message_id


def make_source(directory: Path, address: str) -> Source:
    """An SQLite store with a message in every state, made through the store's writes."""
    path = directory / "old.sqlite3"
    now = datetime.now(UTC) - timedelta(minutes=1)
    store = open_store(path)
    apdus: dict[int, bytes] = {}
    try:

        def accept(number: int, **fields: object) -> int:
            message_id = _accept(store, number, now + timedelta(seconds=number), **fields)
            apdus[message_id] = ill_request(number, "REQLIB")
            return message_id

        done = accept(1, addresses=[address])
        [delivery] = store.due(now + timedelta(hours=1), 10, 10)
        store.commit(Delivered(delivery.id, now))
        failed = accept(2, addresses=[address])
        [delivery] = store.due(now + timedelta(hours=1), 10, 10)
        store.commit(RetryLater(delivery.id, "connection refused", now))
        store.commit(Fail(delivery.id, "connection refused", now))
        retried = accept(3, addresses=[ELSEWHERE])
        [delivery] = store.due(now + timedelta(hours=1), 10, 10)
        assert store.commit(RetryLater(delivery.id, "connection reset", now)) is True
        pending = [accept(n, addresses=[address]) for n in (4, 5, 6)]
        pending.append(accept(7, addresses=[address], forward=Forward("NEWRESP", "MIDLIB")))
        held = accept(8, held="requester REQLIB is not registered")
        refused_held = accept(9, held="requester REQLIB is not registered")
        store.commit(Refuse(refused_held, "not ours", now, None))
        for state in ("refused", "unroutable"):
            store.commit(
                Keep(
                    peer="127.0.0.1",
                    apdu_type="ILL-Request",
                    transaction_key=None,
                    target_symbol="NOWHERE",
                    ber=ill_request(10, "REQLIB"),
                    state=state,
                    reason=f"kept {state}",
                    now=now,
                )
            )
        assert done not in pending
    finally:
        store.close()
    return Source(path, tuple(pending), retried, failed, held, refused_held, apdus)


def copy(source: Path, destination: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``isoill store copy``: its status, and what it wrote (stdout, then stderr)."""
    capsys.readouterr()
    status = run_cli(["store", "copy", str(source), destination])
    out, err = capsys.readouterr()
    return status, out + err


def rows(url: str) -> dict[str, int]:
    """Each store table's rows in the PostgreSQL database ``url`` names."""
    with psycopg.connect(url) as db:
        counted = {}
        for table in ("messages", "deliveries", "transactions", "address_queues"):
            row = db.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None
            counted[table] = int(row[0])
        return counted


def write_config(directory: Path, store: str, peer: RecordingPeer) -> Path:
    config = harness_config(directory, routes_for({"RESPLIB": [peer.address]}))
    config.write_text(config.read_text().replace('"store.sqlite3"', f'"{store}"'))
    return config


def same_views(source: Source, url: str) -> int:
    """Everything an operator or the forwarder reads is the same in the copy as in the
    SQLite store (but the versions, which SQLite has not); the last message's id."""
    old, new = open_store(source.path), open_store(url)
    try:
        assert new.list_messages(limit=100) == old.list_messages(limit=100)
        assert [replace(t, version=0) for t in new.list_transactions(limit=100)] == [
            replace(t, version=0) for t in old.list_transactions(limit=100)
        ]
        later = datetime.now(UTC) + timedelta(hours=1)
        assert new.due(later, 100, 100) == old.due(later, 100, 100)
        assert new.held(source.held) == old.held(source.held)
        forwarded = new.view(transaction_key(7)).record
        assert forwarded is not None
        assert forwarded.intermediaries == ("MIDLIB",)
        assert forwarded.responder_symbol == "NEWRESP"
        assert forwarded.version == 1
        return max(m.id for m in new.list_messages(limit=100))
    finally:
        old.close()
        new.close()


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


@pytest_asyncio.fixture
async def daemons() -> AsyncIterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for daemon in started:
        daemon.stop()
        await daemon.exit()


async def test_a_copied_store_is_served_from_postgresql(
    tmp_path: Path,
    peer: RecordingPeer,
    daemons: list[Daemon],
    postgres_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = make_source(tmp_path, peer.address)
    status, out = copy(source.path, postgres_database, capsys)
    assert status == 0, out
    assert "messages        11    accepted 7, held 1, refused 2, unroutable 1" in out
    assert "deliveries      7     delivered 1, failed 1, pending 5" in out
    assert "address_queues  2     derived" in out

    last_id = same_views(source, postgres_database)

    config = write_config(tmp_path, postgres_database, peer)
    daemon = await Daemon.spawn(config)
    daemons.append(daemon)
    port = port_of(await daemon.line("listening"))
    pending = [source.apdus[m] for m in source.pending]
    assert await peer.wait_for(len(pending), timeout=20) == pending  # in order

    capsys.readouterr()
    assert run_cli(["queue", "release", str(source.held), "--config", str(config)]) == 0
    assert run_cli(["queue", "resend", str(source.failed), "--db", postgres_database]) == 0
    assert "1 delivery due now" in capsys.readouterr().out
    received = await peer.wait_for(len(pending) + 2, timeout=20)
    assert sorted(received[len(pending) :]) == sorted(
        [source.apdus[source.held], source.apdus[source.failed]]
    )

    # New intake goes on from the ids copied, beside the copied transactions.
    answers = await exchange(port, [ill_request(50, "REQLIB")])
    assert acknowledged(answers[0])
    await peer.wait_for(len(pending) + 3, timeout=20)
    store = open_store(postgres_database)
    try:
        await until(
            lambda: (
                all(m.state == "delivered" for m in store.list_messages("delivered", 100))
                and len(store.list_messages("delivered", 100)) == len(pending) + 4
            )
        )
        newest = store.list_messages(limit=1)[0]
        assert newest.id == last_id + 1
        assert newest.transaction_key == transaction_key(50)
        [retried] = store.list_messages("pending", 100)
        assert retried.id == source.retried
        assert retried.deliveries[0].attempts == 1
        refused = {m.id for m in store.list_messages("refused", 100)}
        assert source.refused_held in refused
    finally:
        store.close()


async def test_a_copy_is_refused_while_a_daemon_runs_on_the_source(
    tmp_path: Path,
    peer: RecordingPeer,
    daemons: list[Daemon],
    postgres_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = make_source(tmp_path, peer.address)
    daemon = await Daemon.spawn(write_config(tmp_path, source.path.name, peer))
    daemons.append(daemon)
    await daemon.line("listening")
    status, out = copy(source.path, postgres_database, capsys)
    assert status == 3
    assert f"in use by another isoill serve (pid {daemon.process.pid}" in out
    assert "the copy needs the store at rest" in out
    assert rows(postgres_database) == dict.fromkeys(rows(postgres_database), 0)

    daemon.stop()
    assert await daemon.exit() == 0
    status, out = copy(source.path, postgres_database, capsys)
    assert status == 0, out


async def test_a_copy_into_a_store_that_is_not_empty_is_refused(
    tmp_path: Path, postgres_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_source(tmp_path, ELSEWHERE)
    assert copy(source.path, postgres_database, capsys)[0] == 0
    before = rows(postgres_database)
    status, out = copy(source.path, postgres_database, capsys)
    assert status == 3
    assert "the PostgreSQL store is not empty (address_queues 1, deliveries 7" in out
    assert rows(postgres_database) == before


async def test_a_copy_that_fails_half_way_leaves_nothing(
    tmp_path: Path, postgres_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = make_source(tmp_path, ELSEWHERE)
    with psycopg.connect(postgres_database, autocommit=True) as db:  # the last row fails
        db.execute(f"ALTER TABLE deliveries ADD CHECK (message_id < {max(source.pending)})")
    status, out = copy(source.path, postgres_database, capsys)
    assert status == 3
    assert "not copied, nothing was written into PostgreSQL" in out
    assert "violates check constraint" in out
    assert rows(postgres_database) == dict.fromkeys(rows(postgres_database), 0)


async def test_the_bridge_columns_and_a_column_postgres_alone_has_carry_over(
    tmp_path: Path, postgres_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Schema 6's columns (a JSON state per transaction, the XML beside the BER): nothing in
    the copy names them, and they carry over; a column only PostgreSQL has is left NULL."""
    source = make_source(tmp_path, ELSEWHERE)
    with sqlite3.connect(source.path) as db:
        db.execute("""UPDATE transactions SET bridge = '{"n": ' || id || '}'""")
        db.execute("UPDATE messages SET xml = CAST('<m>' || id || '</m>' AS BLOB)")
    with psycopg.connect(postgres_database, autocommit=True) as db:
        db.execute("ALTER TABLE messages ADD COLUMN note text")  # PostgreSQL's alone: NULL
    status, out = copy(source.path, postgres_database, capsys)
    assert status == 0
    assert "messages.note: not in SQLite, left to its default" in out
    with psycopg.connect(postgres_database) as db:
        bridges = db.execute("SELECT id, bridge FROM transactions ORDER BY id").fetchall()
        xml = db.execute("SELECT id, xml, note FROM messages ORDER BY id").fetchall()
    assert bridges and all(bridge == {"n": id_} for id_, bridge in bridges)
    assert len(xml) == 11
    assert all(bytes(x) == f"<m>{id_}</m>".encode() and note is None for id_, x, note in xml)


@pytest.mark.parametrize(
    ("sqlite_change", "postgres_change", "refusal"),
    [
        (
            "ALTER TABLE messages ADD COLUMN digest BLOB",
            None,
            "messages.digest has no PostgreSQL column of that name",
        ),
        (
            "ALTER TABLE messages ADD COLUMN digest BLOB",
            "ALTER TABLE messages ADD COLUMN digest uuid",
            "messages.digest is BLOB in SQLite and uuid in PostgreSQL",
        ),
        (
            "CREATE TABLE routes (id INTEGER PRIMARY KEY)",
            None,
            "table routes has no PostgreSQL table of that name",
        ),
        (
            None,
            "ALTER TABLE transactions ADD COLUMN zone text NOT NULL",
            "PostgreSQL's transactions.zone needs a value SQLite lacks",
        ),
        (
            None,
            "CREATE TABLE routes (id integer)",
            "PostgreSQL's table routes has no SQLite table to be copied from",
        ),
    ],
)
async def test_what_would_not_carry_over_refuses_the_copy(
    tmp_path: Path,
    postgres: PostgresServer,
    capsys: pytest.CaptureFixture[str],
    sqlite_change: str | None,
    postgres_change: str | None,
    refusal: str,
) -> None:
    source = make_source(tmp_path, ELSEWHERE)
    destination = postgres.database()
    try:
        if sqlite_change:
            with sqlite3.connect(source.path) as db:
                db.execute(sqlite_change)
        if postgres_change:
            with psycopg.connect(destination, autocommit=True) as db:
                db.execute(postgres_change.encode())
        status, out = copy(source.path, destination, capsys)
        assert status == 3
        assert refusal in out
        assert rows(destination) == dict.fromkeys(rows(destination), 0)
    finally:
        postgres.drop(destination)


async def test_what_the_command_refuses_at_once(
    tmp_path: Path, postgres_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = copy(tmp_path / "missing.sqlite3", postgres_database, capsys)
    assert status == 3
    assert "missing.sqlite3: no queue database" in out
    assert not (tmp_path / "missing.sqlite3").exists()
    source = make_source(tmp_path, ELSEWHERE)
    capsys.readouterr()
    assert run_cli(["store", "copy", str(source.path), str(tmp_path / "other.sqlite3")]) == 2
    assert "not a PostgreSQL URL" in capsys.readouterr().err
    assert run_cli(["store", "copy", str(source.path), "postgresql://u:secret@/isoill"]) == 2
    err = capsys.readouterr().err
    assert "the store's URL holds a password" in err
    assert "secret" not in err
