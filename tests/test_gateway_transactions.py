"""Transactions through the daemon between two recording peers, end to end: a whole loan with
the protocol machine enforced, crossing messages, duplicates, Status-Query from history. What
the machine decides for each APDU (copies, unknown transactions, warn mode...) is asserted on
decisions in tests/core/test_intake.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from gateway_harness import (
    RecordingPeer,
    exchange,
    routes_for,
    run_cli,
    start_gateway,
    until,
    write_config,
)
from transaction_apdus import REQUESTER, RESPONDER, apdu

from isoill.app import App
from isoill.codec.decoder import decode
from isoill.codec.models import (
    CurrentState,
    ILLAPDUType,
    StatusOrErrorReport,
)

pytestmark = pytest.mark.asyncio


@dataclass
class Parties:
    config: Path
    server: App
    requester: RecordingPeer  # what REQLIB receives
    responder: RecordingPeer  # what RESPLIB receives

    async def send(self, *apdus: bytes) -> list[StatusOrErrorReport]:
        answers = []
        for ber in apdus:
            (answer,) = await exchange(self.server.ports[0], [ber])
            report = decode(answer)
            assert isinstance(report, StatusOrErrorReport)
            answers.append(report)
        return answers


def gateway_config(
    directory: Path, requester: str, responder: str, responder_extra: str = ""
) -> Path:
    """Both peers enforce the protocol machine; early APDUs wait 2 s."""
    return write_config(
        directory,
        routes_for({REQUESTER: [requester], RESPONDER: [responder]}),
        extra=f'[peers.{REQUESTER}]\nstate_machine = "enforce"\n'
        f'[peers.{RESPONDER}]\nstate_machine = "enforce"\n{responder_extra}'
        "[transactions]\ncrossing_wait = 2\n",
    )


@pytest_asyncio.fixture
async def parties(tmp_path: Path) -> AsyncIterator[Parties]:
    requester, responder = await RecordingPeer().start(), await RecordingPeer().start()
    config = gateway_config(tmp_path, requester.address, responder.address)
    server = await start_gateway(config)
    yield Parties(config, server, requester, responder)
    await server.stop()
    await requester.stop()
    await responder.stop()


def state(report: StatusOrErrorReport) -> CurrentState | None:
    """The acknowledged sender's state; ``None`` for an acknowledgement without a report."""
    assert report.error_report is None, report.note
    if report.status_report is None:
        assert report.reason_no_report is not None
        return None
    return report.status_report.provider_status_report


async def test_whole_loan(parties: Parties, capsys: pytest.CaptureFixture[str]) -> None:
    steps = [
        (apdu("ILL-Request", "LOAN"), CurrentState.PENDING),
        (apdu("Shipped", "LOAN"), CurrentState.SHIPPED),
        (apdu("Received", "LOAN"), CurrentState.RECEIVED),
        (apdu("Renew", "LOAN"), None),  # Renew has no most-recent-service: reason-no-report
        (apdu("Renew-Answer", "LOAN", answer=True), CurrentState.SHIPPED),
        (apdu("Returned", "LOAN"), CurrentState.RETURNED),
        (apdu("Checked-In", "LOAN"), CurrentState.CHECKED_IN),
    ]
    for ber, expected in steps:
        (report,) = await parties.send(ber)
        assert (decode(ber).apdu_type, state(report)) == (decode(ber).apdu_type, expected)
    to_responder = [ber for ber, _ in steps if decode(ber).apdu_type in _FROM_REQUESTER]
    to_requester = [ber for ber, _ in steps if decode(ber).apdu_type not in _FROM_REQUESTER]
    assert await parties.responder.wait_for(len(to_responder)) == to_responder
    assert await parties.requester.wait_for(len(to_requester)) == to_requester
    # Nothing may follow CHECKED-IN.
    (late,) = await parties.send(apdu("Received", "LOAN"))
    assert late.error_report is not None
    prohibited = late.error_report.provider_error_report.state_transition_prohibited  # type: ignore[union-attr]
    assert prohibited is not None and prohibited.apdu_type is ILLAPDUType.RECEIVED
    assert prohibited.current_state is CurrentState.CHECKED_IN

    # The operator's view: both machines' states, and every APDU with its direction.
    capsys.readouterr()  # the in-process daemon's log lines so far
    assert run_cli(["tx", "show", "1", "--json", "--config", str(parties.config)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["transaction"]["requester_state"] == "CHECKED-IN"
    assert shown["transaction"]["responder_state"] == "CHECKED-IN"
    kinds = [(m["apdu_type"], m["state"]) for m in shown["messages"]]
    assert kinds == [
        *((decode(ber).apdu_type, "delivered") for ber, _ in steps),
        ("Received", "refused"),
    ]


_FROM_REQUESTER = {"ILL-Request", "Received", "Renew", "Returned", "Conditional-Reply", "Cancel"}


async def test_crossing_received_is_delivered_after_its_shipped(parties: Parties) -> None:
    request, shipped, received = (
        apdu("ILL-Request", "CROSS"),
        apdu("Shipped", "CROSS"),
        apdu("Received", "CROSS"),
    )
    await parties.send(request)
    await parties.responder.wait_for(1)
    early = asyncio.create_task(parties.send(received))
    await asyncio.sleep(0.3)
    assert not early.done()  # waits, unanswered, for its Shipped
    (shipped_report,) = await parties.send(shipped)
    (received_report,) = await early
    assert shipped_report.error_report is None
    assert received_report.error_report is None
    assert await parties.requester.wait_for(1) == [shipped]
    assert await parties.responder.wait_for(2) == [request, received]


async def test_early_apdu_is_refused_when_its_predecessor_never_comes(parties: Parties) -> None:
    await parties.send(apdu("ILL-Request", "LONELY"))
    (report,) = await parties.send(apdu("Received", "LONELY"))  # waits crossing_wait (2 s)
    assert report.error_report is not None
    prohibited = report.error_report.provider_error_report.state_transition_prohibited  # type: ignore[union-attr]
    assert prohibited is not None
    assert prohibited.apdu_type is ILLAPDUType.RECEIVED
    assert prohibited.current_state is CurrentState.PENDING


async def test_retried_apdu_is_acknowledged_again_and_delivered_once(parties: Parties) -> None:
    request = apdu("ILL-Request", "RETRY")
    first, again = await parties.send(request, request)
    assert first.error_report is None and again.error_report is None
    await parties.responder.wait_for(1)
    await asyncio.sleep(0.5)
    assert parties.responder.received == [request]


async def test_status_query_is_answered_from_history_while_peer_is_down(tmp_path: Path) -> None:
    requester = await RecordingPeer().start()
    unreachable = "127.0.0.1:9"  # discard port: nothing listens
    config = gateway_config(
        tmp_path, requester.address, unreachable, "status_from_history = true\n"
    )
    server = await start_gateway(config)
    try:
        parties = Parties(config, server, requester, requester)
        (ack,) = await parties.send(apdu("ILL-Request", "QUERY"))
        assert state(ack) is CurrentState.PENDING
        await until(lambda: unreachable in server.reachability)
        (report,) = await parties.send(apdu("Status-Query", "QUERY"))
        assert "from its history" in str(report.note)
        assert state(report) is CurrentState.IN_PROCESS
    finally:
        await server.stop()
        await requester.stop()
