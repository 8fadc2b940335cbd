"""``isoill tx list`` and ``isoill tx show``: the transactions in a store written here, run
in-process."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gateway_harness import run_cli, write_config
from store_support import stored

from isoill.config import load
from isoill.store.open import open_store
from isoill.store.writes import Accept, Delivered, Keep, RetryLater

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LOAN = json.dumps(["BRW", "", "42", None])  # as isoill.ill.transaction_id writes keys
COPY = json.dumps(["LND", "2024", "7", "b"])
SECRET = b"Patron Jane Doe, 12 Elm Street"  # stands in for an APDU's bytes


def fill(path: Path) -> dict[str, int]:
    """A loan from BRW to LND (request delivered, shipped failing, a refused Received) and an
    untracked copy request from LND to OTH; the transactions' ids."""
    store = open_store(path)
    try:
        request = stored(
            store,
            Accept(
                peer="BRW",
                apdu_type="ILL-Request",
                transaction_key=LOAN,
                target_symbol="LND",
                ber=SECRET,
                addresses=["lnd.example:499"],
                requester_symbol="BRW",
                responder_symbol="LND",
                now=T0,
                expected_version=None,
                dedup_key="r",
                states=("PENDING", "IN-PROCESS"),
            ),
        ).message_id
        [delivery] = store.due(T0)
        store.commit(Delivered(delivery.id, T0))
        later = T0 + timedelta(hours=1)
        store.commit(
            Accept(
                peer="LND",
                apdu_type="Shipped",
                transaction_key=LOAN,
                target_symbol="BRW",
                ber=SECRET,
                addresses=["brw.example:499"],
                requester_symbol="BRW",
                responder_symbol="LND",
                now=later,
                expected_version=0,  # SQLite's record of every transaction
                states=("SHIPPED", "SHIPPED"),
            )
        )
        [delivery] = store.due(later)
        store.commit(RetryLater(delivery.id, "connection refused", later))
        store.commit(
            Keep(
                peer="LND",
                apdu_type="Received",
                transaction_key=LOAN,
                target_symbol="BRW",
                ber=SECRET,
                state="refused",
                reason="Received is not sent by a responder",
                now=later,
            )
        )
        store.commit(
            Accept(
                peer="LND",
                apdu_type="ILL-Request",
                transaction_key=COPY,
                target_symbol="OTH",
                ber=SECRET,
                requester_symbol="LND",
                responder_symbol="OTH",
                held="requester LND is not a configured peer",
                now=later,
                expected_version=None,
            )
        )
        assert request == 1
        return {t.key: t.id for t in store.list_transactions()}
    finally:
        store.close()


@pytest.fixture
def db(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "store.sqlite3"
    return path, fill(path)


def tx(path: Path, *argv: str) -> int:
    return run_cli(["tx", *argv, "--db", str(path)])


def test_list_table(db: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = db
    assert tx(path, "list") == 0
    header, copy, loan = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "ID", "CREATED", "UPDATED", "TRANSACTION", "REQUESTER", "STATE", "RESPONDER", "STATE",
    ]  # fmt: skip
    assert copy.split() == [
        str(ids[COPY]), "2024-05-01", "13:00:00Z", "2024-05-01", "13:00:00Z",
        'LND/"2024"/"7"/"b"', "LND", "-", "OTH", "-",
    ]  # fmt: skip
    assert loan.split() == [
        str(ids[LOAN]), "2024-05-01", "12:00:00Z", "2024-05-01", "13:00:00Z",
        'BRW/""/"42"', "BRW", "SHIPPED", "LND", "SHIPPED",
    ]  # fmt: skip


def test_list_filters_and_json(
    db: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, ids = db
    assert tx(path, "list", "--peer", " oth ", "--json") == 0
    [copy] = json.loads(capsys.readouterr().out)
    assert copy == {
        "id": ids[COPY],
        "key": COPY,
        "requester_symbol": "LND",
        "responder_symbol": "OTH",
        "requester_state": None,
        "responder_state": None,
        "created_at": "2024-05-01T13:00:00+00:00",
        "updated_at": "2024-05-01T13:00:00+00:00",
        "intermediaries": [],
        "bridge": None,
        "transaction_id": {
            "initial_requester": "LND",
            "group_qualifier": "2024",
            "qualifier": "7",
            "sub_qualifier": "b",
        },
    }
    assert tx(path, "list", "--state", "shipped", "--peer", "LND", "--json") == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)] == [ids[LOAN]]
    assert tx(path, "list", "--limit", "1", "--json") == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)] == [ids[COPY]]
    assert tx(path, "list", "--state", "CHECKED-IN") == 0
    assert capsys.readouterr().out == "no transactions\n"
    assert tx(path, "list", "--qualifier", "42", "--json") == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)] == [ids[LOAN]]
    assert tx(path, "list", "--qualifier", "7", "--peer", "BRW", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_show_text(db: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = db
    assert tx(path, "show", str(ids[LOAN])) == 0
    summary, history = capsys.readouterr().out.split("\n\n")
    assert summary.splitlines() == [
        f"transaction        {ids[LOAN]}",
        'initial requester  "BRW"',
        'group qualifier    ""',
        'qualifier          "42"',
        "sub qualifier      (none)",
        "requester          BRW",
        "requester state    SHIPPED",
        "responder          LND",
        "responder state    SHIPPED",
        "forwarded by       -",
        "created            2024-05-01 12:00:00Z",
        "updated            2024-05-01 13:00:00Z",
    ]
    header, request, shipped, received = history.splitlines()
    assert header.split() == [
        "ID", "RECEIVED", "APDU", "DIRECTION", "STATE", "ADDRESS", "DELIVERY", "TRIES", "NEXT",
        "TRY", "NOTE",
    ]  # fmt: skip
    assert request.split() == [
        "1", "2024-05-01", "12:00:00Z", "ILL-Request", "BRW", "->", "LND", "delivered",
        "lnd.example:499", "delivered", "1",
    ]  # fmt: skip
    assert shipped.split() == [
        "2", "2024-05-01", "13:00:00Z", "Shipped", "LND", "->", "BRW", "pending",
        "brw.example:499", "pending", "1", "2024-05-01", "13:05:00Z", "connection", "refused",
    ]  # fmt: skip
    assert received.split()[:8] == [
        "3", "2024-05-01", "13:00:00Z", "Received", "LND", "->", "BRW", "refused",
    ]  # fmt: skip
    assert received.endswith("Received is not sent by a responder")


def test_show_json(db: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]) -> None:
    path, ids = db
    assert tx(path, "show", str(ids[COPY]), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["transaction"]["id"] == ids[COPY]
    assert shown["transaction"]["transaction_id"]["group_qualifier"] == "2024"
    [held] = shown["messages"]
    assert (held["id"], held["apdu_type"], held["state"], held["deliveries"]) == (
        4,
        "ILL-Request",
        "held",
        [],
    )
    assert (held["peer"], held["target_symbol"], held["received_at"]) == (
        "LND",
        "OTH",
        "2024-05-01T13:00:00+00:00",
    )
    assert held["reason"] == "requester LND is not a configured peer"


def test_never_prints_apdu_bytes(
    db: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, ids = db
    for argv in (["list"], ["show", str(ids[LOAN])], ["show", str(ids[COPY])]):
        for flags in ([], ["--json"]):
            assert tx(path, *argv, *flags) == 0
            out = capsys.readouterr().out
            assert "Jane" not in out and SECRET.hex() not in out


def test_a_key_of_another_form_is_shown_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "")
    store = open_store(load(config).store)
    store.commit(
        Keep(
            peer="BRW",
            apdu_type="Shipped",
            transaction_key="tx-1",
            target_symbol=None,
            ber=SECRET,
            state="refused",
            reason="no",
            now=T0,
        )
    )  # a refusal alone makes no transaction
    assert store.list_transactions() == []
    store.commit(
        Accept(
            peer="BRW",
            apdu_type="ILL-Request",
            transaction_key="tx-1",
            target_symbol=None,
            ber=SECRET,
            requester_symbol=None,
            responder_symbol=None,
            held="no requester",
            now=T0,
            expected_version=None,
        )
    )
    store.close()
    assert run_cli(["tx", "show", "1", "--config", str(config)]) == 0
    summary, history = capsys.readouterr().out.split("\n\n")
    assert summary.splitlines()[1:4] == [
        'key              "tx-1"',
        "requester        (unknown)",
        "requester state  (not tracked)",
    ]
    assert [line.split()[:7] for line in history.splitlines()[1:]] == [
        ["1", "2024-05-01", "12:00:00Z", "Shipped", "BRW", "->", "?"],
        ["2", "2024-05-01", "12:00:00Z", "ILL-Request", "BRW", "->", "?"],
    ]
    assert run_cli(["tx", "list", "--config", str(config)]) == 0
    assert '"tx-1"' in capsys.readouterr().out.splitlines()[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "99"], "no transaction 99"),
        (["list", "--limit", "0"], "--limit must be at least 1, not 0"),
    ],
)
def test_bad_input(
    db: tuple[Path, dict[str, int]],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    path, _ = db
    assert tx(path, *argv) == 3
    assert capsys.readouterr().err == f"isoill: {message}\n"


def test_missing_database_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.sqlite3"
    assert tx(path, "show", "1") == 3
    assert "no queue database" in capsys.readouterr().err
    assert not path.exists()
