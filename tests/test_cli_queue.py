"""``isoill queue``, run in-process: ``list`` and ``resend`` on a store written here, and
``release`` and ``refuse``, an operator's decision on a held ILL-Request, against a store and
routes written here."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gateway_harness import routes_for, run_cli, write_config
from paths import CAPTURES
from store_support import accept, queue_in_every_state, states, stored

from isoill.cli import main
from isoill.codec.decoder import decode
from isoill.codec.models import ILLRequest, StatusOrErrorReport
from isoill.codec.text import Text
from isoill.config import load
from isoill.store.backend import Backend
from isoill.store.open import open_store
from isoill.store.records import GATEWAY_PEER
from isoill.store.writes import Accept

#: A yaz-illclient ILL-Request from REQLIB to RESPLIB.
REQUEST = (CAPTURES / "yaz-illclient-2.ber").read_bytes()
RESPLIB, REQLIB = "127.0.0.1:4101", "127.0.0.1:4102"


def setup(directory: Path, routes: dict[str, list[str]]) -> tuple[Path, int]:
    """A config with these routes, and a store holding REQUEST; the config and the held id."""
    config = write_config(directory, routes_for(routes))
    store = open_store(load(config).store)
    try:
        held = stored(
            store,
            Accept(
                peer="REQLIB",
                apdu_type="ILL-Request",
                transaction_key="tx",
                target_symbol="RESPLIB",
                ber=REQUEST,
                requester_symbol="REQLIB",
                responder_symbol="RESPLIB",
                held="requester REQLIB is not a configured peer",
                now=datetime.now(UTC),
                expected_version=None,
            ),
        ).message_id
    finally:
        store.close()
    return config, held


def queue(config: Path, *argv: str) -> int:
    return run_cli(["queue", *argv, "--config", str(config)])


def opened(config: Path) -> Backend:
    return open_store(load(config).store)


def test_release_queues_the_request_for_its_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, held = setup(tmp_path, {"RESPLIB": [RESPLIB], "REQLIB": [REQLIB]})
    assert queue(config, "release", str(held)) == 0
    assert capsys.readouterr().out == (
        f"message {held}: released to RESPLIB, 1 delivery due now;"
        " the running daemon sends it within 5 seconds\n"
    )
    store = opened(config)
    try:
        [delivery] = store.due(datetime.now(UTC))
        assert (delivery.message_id, delivery.address, delivery.ber) == (held, RESPLIB, REQUEST)
        assert store.list_messages("held") == []
    finally:
        store.close()
    assert queue(config, "release", str(held)) == 3
    assert f"message {held} is accepted, not held" in capsys.readouterr().err


def test_release_without_a_route_keeps_it_held(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, held = setup(tmp_path, {"REQLIB": [REQLIB]})
    assert queue(config, "release", str(held)) == 3
    assert capsys.readouterr().err == (
        f"isoill: message {held}: no route to RESPLIB; it stays held\n"
    )
    store = opened(config)
    try:
        assert [m.id for m in store.list_messages("held")] == [held]
        assert store.due(datetime.now(UTC)) == []
    finally:
        store.close()


def test_refuse_tells_the_requester(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, held = setup(tmp_path, {"RESPLIB": [RESPLIB], "REQLIB": [REQLIB]})
    assert queue(config, "refuse", str(held), "--reason", "not in our consortium") == 0
    out = capsys.readouterr().out
    store = opened(config)
    try:
        [refused] = store.list_messages("refused")
        assert (refused.id, refused.reason) == (held, "not in our consortium")
        [report] = store.list_messages("pending")
        assert out == f"message {held}: refused; report to REQLIB queued as message {report.id}\n"
        assert (report.peer, report.target_symbol, report.transaction_key) == (
            GATEWAY_PEER,
            "REQLIB",
            "tx",
        )
        [delivery] = store.due(datetime.now(UTC))
    finally:
        store.close()
    assert delivery.address == REQLIB
    request, sent = decode(REQUEST), decode(delivery.ber)
    assert isinstance(request, ILLRequest)
    assert isinstance(sent, StatusOrErrorReport)
    assert (sent.transaction_id, sent.requester_id, sent.responder_id) == (
        request.transaction_id,
        request.requester_id,
        request.responder_id,
    )
    assert sent.error_report is not None
    assert sent.error_report.user_error_report is not None
    assert sent.error_report.user_error_report.security_problem == Text.of(
        "requester REQLIB is not registered with this gateway"
    )
    assert sent.note == Text.of("not in our consortium")


def test_refuse_a_requester_without_a_route(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, held = setup(tmp_path, {"RESPLIB": [RESPLIB]})
    assert queue(config, "refuse", str(held)) == 0
    assert capsys.readouterr().out == (
        f"message {held}: refused; requester REQLIB has no route, so it could not be told\n"
    )
    store = opened(config)
    try:
        [refused] = store.list_messages()
        assert (refused.id, refused.state) == (held, "refused")
        assert refused.reason == "refused by the gateway's operator"
    finally:
        store.close()


@pytest.mark.parametrize("action", ["release", "refuse"])
def test_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str) -> None:
    config, _ = setup(tmp_path, {"RESPLIB": [RESPLIB]})
    assert queue(config, action, "99") == 3
    assert capsys.readouterr().err == "isoill: no message 99\n"

    (tmp_path / "routes.toml").write_text("[peers.RESPLIB]\naddresses = []\n")
    assert queue(config, action, "1") == 3
    assert "routes.toml" in capsys.readouterr().err

    assert run_cli(["queue", action, "1"]) == 2  # --config is required
    assert "--config" in capsys.readouterr().err


# -- isoill queue list and resend, on a store in every state ---------------------------------


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "queue.sqlite3"


def run_queue(*argv: str) -> None:
    main(["queue", *argv])


def filled_db(db_path: Path) -> dict[str, int]:
    store = open_store(db_path)
    try:
        return queue_in_every_state(store)
    finally:
        store.close()


def test_cli_list_table(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = filled_db(db_path)
    run_queue("list", "--db", str(db_path))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ID", "RECEIVED", "PEER", "APDU", "TARGET", "TRANSACTION", "SIZE", "STATE",
        "ADDRESS", "DELIVERY", "TRIES", "NEXT", "TRY", "NOTE",
    ]  # fmt: skip
    pending = next(line for line in lines if line.split()[0] == str(ids["pending"]))
    assert pending.split()[:7] == [
        str(ids["pending"]), "2024-05-01", "12:00:00Z", "BRW", "ILL-Request", "LND", "tx-1",
    ]  # fmt: skip
    assert "c:1" in pending and "2024-05-01 12:00:00Z" in pending
    assert any("d:1" in line and "failed" in line and "refused" in line for line in lines)
    assert len(lines) == 1 + 7  # the pending message takes two lines


def test_cli_list_by_peer_and_type(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    filled_db(db_path)
    run_queue("list", "--peer", "lnd", "--type", "ILL-Request", "--json", "--db", str(db_path))
    listed = json.loads(capsys.readouterr().out)
    assert listed and all(m["apdu_type"] == "ILL-Request" for m in listed)
    assert all("LND" in (m["peer"], m["target_symbol"]) for m in listed)
    run_queue("list", "--type", "Shipped", "--db", str(db_path))
    assert capsys.readouterr().out == "no messages\n"


def test_cli_list_filter_and_json(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = filled_db(db_path)
    run_queue("list", "--state", "failed", "--json", "--db", str(db_path))
    [message] = json.loads(capsys.readouterr().out)
    assert message["id"] == ids["failed"]
    assert message["state"] == "failed"
    assert message["received_at"] == "2024-05-01T12:00:00+00:00"
    assert message["deliveries"][0]["last_error"] == "refused"
    assert "ber" not in message

    run_queue("list", "--state", "refused", "--db", str(db_path))
    [line] = capsys.readouterr().out.splitlines()[1:]
    assert line.split()[0] == str(ids["refused"])
    assert " refused " in line and line.endswith("not a member")

    empty = db_path.with_name("empty.sqlite3")
    open_store(empty).close()
    run_queue("list", "--state", "held", "--db", str(empty))
    assert capsys.readouterr().out == "no messages\n"


def test_cli_never_prints_apdu_bytes(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = b"Patron Jane Doe, 12 Elm Street"
    store = open_store(db_path)
    accept(store, ber=secret)
    store.close()
    for flags in ([], ["--json"]):
        run_queue("list", "--db", str(db_path), *flags)
        out = capsys.readouterr().out
        assert "Jane" not in out and secret.hex() not in out


def test_cli_resend(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = filled_db(db_path)
    run_queue("resend", str(ids["failed"]), "--db", str(db_path))
    assert capsys.readouterr().out == f"message {ids['failed']}: 1 delivery due now\n"
    store = open_store(db_path)
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
        run_queue(*argv, "--db", str(db_path))
    assert exit_info.value.code == 3
    assert message in capsys.readouterr().err


def test_cli_missing_database_is_not_created(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_queue("list", "--db", str(db_path))
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
