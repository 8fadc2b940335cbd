"""Unknown requesters end to end: with ``hold_unknown_requesters`` the daemon acknowledges an
ILL-Request from a requester not in ``[peers]`` and holds it until an operator releases or
refuses it with ``isoill queue``, run here while the daemon is running."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from gateway_harness import (
    RecordingPeer,
    exchange,
    routes_for,
    run_cli,
    start_gateway,
    write_config,
)
from gateway_harness import (
    ill_request as request,
)
from structlog.testing import capture_logs

from isoill.codec.decoder import decode
from isoill.codec.models import ILLRequest, StatusOrErrorReport
from isoill.codec.text import Text
from isoill.service.handoff import IDLE_POLL

pytestmark = pytest.mark.asyncio

KNOWN = '[peers.KNOWN]\nconnection = "per-apdu"\n'
RELEASED = IDLE_POLL + 5  # the forwarder finds what the command queued at its next poll


def holding_config(directory: Path, routes: dict[str, list[str]]) -> Path:
    """The harness's config, holding requests from requesters other than KNOWN."""
    config = write_config(directory, routes_for(routes), extra=KNOWN)
    config.write_text("hold_unknown_requesters = true\n" + config.read_text())
    return config


def acknowledged(answer: bytes) -> bool:
    report = decode(answer)
    return isinstance(report, StatusOrErrorReport) and report.error_report is None


def queue(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> tuple[int, str]:
    """``isoill queue ARGV --config CONFIG``: its exit status and its output."""
    capsys.readouterr()  # drop what the daemon in this process logged before
    status = run_cli(["queue", *argv, "--config", str(config)])
    return status, capsys.readouterr().out


def held(capsys: pytest.CaptureFixture[str], config: Path) -> list[dict[str, Any]]:
    status, out = queue(capsys, config, "list", "--state", "held", "--json")
    assert status == 0
    messages: list[dict[str, Any]] = json.loads(out)
    return messages


@pytest_asyncio.fixture
async def peers() -> AsyncIterator[tuple[RecordingPeer, RecordingPeer]]:
    """The target, RESPLIB, and the unknown requester, NEWLIB."""
    target, newlib = await RecordingPeer().start(), await RecordingPeer().start()
    yield target, newlib
    await target.stop()
    await newlib.stop()


async def test_unknown_requester_waits_until_released_or_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    yaz_illclient: str,
    peers: tuple[RecordingPeer, RecordingPeer],
) -> None:
    target, newlib = peers
    config = holding_config(tmp_path, {"RESPLIB": [target.address], "NEWLIB": [newlib.address]})
    server = await start_gateway(config)
    port = server.ports[0]
    try:
        # yaz-illclient as NEWLIB, which is not in [peers]: acknowledged, then held.
        with capture_logs() as logged:
            process = await asyncio.create_subprocess_exec(
                yaz_illclient,
                "-D",
                "ill,item-id,title=Dune",
                "-D",
                "ill,requester-id,person-or-institution-symbol,institution=NEWLIB",
                "-D",
                "ill,responder-id,person-or-institution-symbol,institution=RESPLIB",
                f"tcp:127.0.0.1:{port}",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=tmp_path,
            )
            stdout, _ = await asyncio.wait_for(process.communicate(), 20)
        assert (process.returncode, stdout.decode().strip()) == (0, "Ok")
        [hold] = [event for event in logged if event["event"] == "held"]
        assert (hold["log_level"], hold["target"], hold["reason"]) == (
            "warning",
            "RESPLIB",
            "requester NEWLIB is not a configured peer",
        )
        sent = (tmp_path / "req.apdu").read_bytes()
        [first] = held(capsys, config)
        assert (first["peer"], first["target_symbol"], first["deliveries"]) == (
            "NEWLIB",
            "RESPLIB",
            [],
        )
        assert first["reason"] == "requester NEWLIB is not a configured peer"
        status, out = queue(capsys, config, "list", "--state", "held")
        assert status == 0
        assert f"{first['id']} " in out and "requester NEWLIB is not a configured peer" in out

        # A known requester's request is forwarded at once, past the held one.
        assert all(acknowledged(a) for a in await exchange(port, [request(1, "KNOWN")]))
        assert await target.wait_for(1) == [request(1, "KNOWN")]

        # Released while the daemon runs: the target gets the bytes yaz-illclient sent.
        status, out = queue(capsys, config, "release", str(first["id"]))
        assert status == 0
        assert out.startswith(f"message {first['id']}: released to RESPLIB, 1 delivery due now")
        assert await target.wait_for(2, RELEASED) == [request(1, "KNOWN"), sent]
        assert held(capsys, config) == []

        # A second one refused: NEWLIB is told why; the target never sees it.
        assert all(acknowledged(a) for a in await exchange(port, [request(2, "NEWLIB")]))
        [second] = held(capsys, config)
        status, out = queue(capsys, config, "refuse", str(second["id"]), "--reason", "not ours")
        assert status == 0
        assert out.startswith(f"message {second['id']}: refused; report to NEWLIB queued")
        [report] = await newlib.wait_for(1, RELEASED)
        refusal, refused = decode(report), decode(request(2, "NEWLIB"))
        assert isinstance(refusal, StatusOrErrorReport)
        assert isinstance(refused, ILLRequest)
        assert (refusal.transaction_id, refusal.requester_id) == (
            refused.transaction_id,
            refused.requester_id,
        )
        assert refusal.error_report is not None
        assert refusal.error_report.user_error_report is not None
        assert refusal.error_report.user_error_report.security_problem == Text.of(
            "requester NEWLIB is not registered with this gateway"
        )
        assert refusal.note == Text.of("not ours")
        assert target.received == [request(1, "KNOWN"), sent]
    finally:
        await server.stop()


async def test_a_refused_request_sent_again_is_judged_anew(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], peers: tuple[RecordingPeer, RecordingPeer]
) -> None:
    """The daemon keeps the transactions it uses in memory; ``queue refuse``, another
    connection to the store, frees the refused request's duplicate key all the same."""
    target, newlib = peers
    config = holding_config(tmp_path, {"RESPLIB": [target.address], "NEWLIB": [newlib.address]})
    server = await start_gateway(config)
    port = server.ports[0]
    try:
        assert all(acknowledged(a) for a in await exchange(port, [request(1, "NEWLIB")]))
        [first] = held(capsys, config)
        # Sent again while held: a duplicate, acknowledged again and not stored twice.
        assert all(acknowledged(a) for a in await exchange(port, [request(1, "NEWLIB")]))
        assert [m["id"] for m in held(capsys, config)] == [first["id"]]
        assert queue(capsys, config, "refuse", str(first["id"]))[0] == 0
        # Sent again after its refusal: held anew, for the operator to decide again.
        assert all(acknowledged(a) for a in await exchange(port, [request(1, "NEWLIB")]))
        [again] = held(capsys, config)
        assert again["id"] != first["id"]
    finally:
        await server.stop()
