"""The store-and-forward queue (isoill.store) and the ``isoill queue`` command.

The caller's clock is passed in, so every schedule here is exact.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from isoill.cli import main
from isoill.store import _DUE, _NEXT_DUE, RetryPolicy, Store, StoreError

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
OLD, NEW = "ill.old.example:499", "ill.new.example:1611"
BER = bytes.fromhex("6180300302010201010a")  # stands in for an APDU: stored and sent unchanged


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
) -> int:
    return store.accept(
        peer="BRW",
        apdu_type="ill-request",
        transaction_key=key,
        target_symbol="LND",
        ber=ber,
        addresses=addresses,
        requester_symbol=requester,
        responder_symbol=responder,
        now=now,
    )


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
        assert raw.execute("PRAGMA user_version").fetchone() == (1,)
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
        "    requester_symbol='BRW', responder_symbol='LND', now=datetime.now(UTC))\n"
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
    for query, params in ((_DUE, (0, 100)), (_NEXT_DUE, ())):
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
    return ids


def test_list_filters(store: Store) -> None:
    ids = queue_in_every_state(store)
    for state, message_id in ids.items():
        assert states(store, state) == {message_id: state}
    assert list(states(store)) == sorted(ids.values(), reverse=True)
    assert states(store, "held") == {}
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
    assert len(lines) == 1 + 5  # the pending message takes two lines


def test_cli_list_filter_and_json(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = filled_db(db_path)
    run_cli("list", "--state", "failed", "--json", "--db", str(db_path))
    [message] = json.loads(capsys.readouterr().out)
    assert message["id"] == ids["failed"]
    assert message["state"] == "failed"
    assert message["received_at"] == "2024-05-01T12:00:00+00:00"
    assert message["deliveries"][0]["last_error"] == "refused"
    assert "ber" not in message

    run_cli("list", "--state", "held", "--db", str(db_path))
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
