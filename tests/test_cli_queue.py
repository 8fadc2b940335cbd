"""``isoill queue release`` and ``isoill queue refuse``: an operator's decision on a held
ILL-Request, run in-process against a store and routes written here."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from gateway_harness import routes_for, run_cli, write_config
from paths import CAPTURES

from isoill.codec.decoder import decode
from isoill.codec.models import ILLRequest, StatusOrErrorReport
from isoill.codec.values import Text
from isoill.config import load
from isoill.store import GATEWAY_PEER, Store

#: A yaz-illclient ILL-Request from REQLIB to RESPLIB.
REQUEST = (CAPTURES / "yaz-illclient-2.ber").read_bytes()
RESPLIB, REQLIB = "127.0.0.1:4101", "127.0.0.1:4102"


def setup(directory: Path, routes: dict[str, list[str]]) -> tuple[Path, int]:
    """A config with these routes, and a store holding REQUEST; the config and the held id."""
    config = write_config(directory, routes_for(routes))
    store = Store(load(config).store)
    try:
        held = store.accept_held(
            peer="REQLIB",
            apdu_type="ILL-Request",
            transaction_key="tx",
            target_symbol="RESPLIB",
            ber=REQUEST,
            requester_symbol="REQLIB",
            responder_symbol="RESPLIB",
            reason="requester REQLIB is not a configured peer",
            now=datetime.now(UTC),
        ).message_id
    finally:
        store.close()
    return config, held


def queue(config: Path, *argv: str) -> int:
    return run_cli(["queue", *argv, "--config", str(config)])


def opened(config: Path) -> Store:
    return Store(load(config).store)


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
