"""The daemon survives its own bugs and keeps its metrics bounded: a rule that raises, a
delivery task that raises, a target that answers a delivery with an APDU of its own, and many
connections whose senders are not configured."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest
from gateway_harness import (
    AnsweringTarget,
    RecordingPeer,
    exchange,
    json_logs,
    log_lines,
    routes_for,
    start_gateway,
    write_config,
)
from prometheus_client import REGISTRY
from transaction_apdus import REQUESTER, RESPONDER, apdu

from isoill.app import App
from isoill.codec.decoder import decode
from isoill.codec.models import IllApdu, StatusOrErrorReport, TransactionIdProblem, UnableToPerform
from isoill.delivery.forwarder import Forwarder
from isoill.router import Protocol
from isoill.rules.engine import Context, Profile, Rule, Severity, Violation
from isoill.service.links import Link

pytestmark = pytest.mark.asyncio

PERSISTENT = f'[peers.{REQUESTER}]\nconnection = "persistent"\n'


def internal_errors(component: str) -> float:
    value = REGISTRY.get_sample_value("isoill_internal_errors_total", {"component": component})
    return value or 0.0


def report(answer: bytes) -> StatusOrErrorReport:
    decoded = decode(answer)
    assert isinstance(decoded, StatusOrErrorReport)
    return decoded


def acknowledged(answer: bytes) -> bool:
    return report(answer).error_report is None


def buggy(qualifier: str) -> Profile:
    """A profile whose one rule raises ``KeyError`` on the ILL-Request of one transaction."""

    def check(request: IllApdu, context: Context) -> Iterable[Violation]:
        if request.transaction_id.transaction_qualifier.text == qualifier:
            raise KeyError("a bug in a rule")
        return ()

    rule = Rule("buggy", frozenset({"ILL-Request"}), check, "raises on one transaction")
    return Profile("permissive", "a rule with a bug", ((rule, Severity.REFUSE),))


async def test_a_rule_that_raises_is_refused_for_now_and_serving_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    peer = await RecordingPeer().start()
    config = write_config(tmp_path, routes_for({RESPONDER: [peer.address]}), extra=PERSISTENT)
    with json_logs():
        server = await start_gateway(config)
        await refuse_the_bug_and_go_on(server, peer)
    (line,) = log_lines(capsys, "internal error; APDU refused for now")
    assert line["level"] == "error"
    assert line["peer"].startswith("127.0.0.1:")
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("KeyError: 'a bug in a rule'")


async def refuse_the_bug_and_go_on(server: App, peer: RecordingPeer) -> None:
    try:
        policy = server.intake.policy
        profiles = {**policy.profiles, "permissive": buggy("BUG")}
        server.intake.policy = replace(policy, profiles=profiles)
        before = internal_errors("intake")
        fine, other = apdu("ILL-Request", "FINE"), apdu("ILL-Request", "OTHER")
        # One persistent connection: the APDU after the one that raised is served on it.
        bug, after = await exchange(server.ports[0], [apdu("ILL-Request", "BUG"), fine])
        (elsewhere,) = await exchange(server.ports[0], [other])

        refusal = report(bug)
        assert refusal.error_report is not None
        user_error = refusal.error_report.user_error_report
        assert user_error is not None
        assert user_error.unable_to_perform is UnableToPerform.RESOURCE_LIMITATION
        assert str(refusal.note) == (
            "temporary: the gateway failed on this APDU (an internal error); send it again later"
        )
        assert refusal.transaction_id.transaction_qualifier.text == "BUG"
        assert acknowledged(after) and acknowledged(elsewhere)
        assert internal_errors("intake") == before + 1
        assert await peer.wait_for(2) == [fine, other]
    finally:
        await server.stop()
        await peer.stop()


async def test_a_delivery_task_that_raises_starts_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    peer = await RecordingPeer().start()
    config_address = peer.address
    config = write_config(tmp_path, routes_for({RESPONDER: [config_address]}))
    with json_logs():
        server = await start_gateway(config)
        bugs = raising_once(server.forwarder)
        await deliver_after_the_bug(server, peer, bugs)
    assert bugs == [config_address]
    (line,) = log_lines(capsys, "internal error; delivery to the address starts again")
    assert line["address"] == config_address
    assert line["exception"].endswith("RuntimeError: a bug in delivery")


def raising_once(forwarder: Forwarder) -> list[str]:
    """Give ``forwarder`` a bug: the first ISO 10161 link it makes raises instead (through
    its links, the seam it is built with, rather than by replacing one of its methods).
    Returns the addresses the bug struck."""
    links = dict(forwarder.links)
    make = links[Protocol.ISO10161]
    bugs: list[str] = []

    def buggy(address: str) -> Link:
        if not bugs:
            bugs.append(address)
            raise RuntimeError("a bug in delivery")
        return make(address)

    forwarder.links = {**links, Protocol.ISO10161: buggy}
    return bugs


async def deliver_after_the_bug(server: App, peer: RecordingPeer, bugs: list[str]) -> None:
    try:
        before = internal_errors("delivery")
        first, second = apdu("ILL-Request", "D-1"), apdu("ILL-Request", "D-2")
        (ack,) = await exchange(server.ports[0], [first])
        assert acknowledged(ack)
        assert await peer.wait_for(1) == [first]  # the delivery the bug struck, again
        (ack,) = await exchange(server.ports[0], [second])
        assert acknowledged(ack)
        assert await peer.wait_for(2) == [first, second]
        assert len(bugs) == 1
        assert internal_errors("delivery") == before + 1
    finally:
        await server.stop()
        await peer.stop()


async def test_a_target_reads_the_refusal_of_its_own_apdu(tmp_path: Path) -> None:
    stranger = apdu("ILL-Answer", "NOBODY")  # of a transaction nobody started
    target = await AnsweringTarget(stranger).start()
    requester = await RecordingPeer().start()
    routes = routes_for({REQUESTER: [requester.address], RESPONDER: [target.address]})
    extra = f'[peers.{RESPONDER}]\nstate_machine = "enforce"\n'
    server = await start_gateway(write_config(tmp_path, routes, extra=extra))
    try:
        request = apdu("ILL-Request", "ASKED")
        (ack,) = await exchange(server.ports[0], [request])
        assert acknowledged(ack)
        async with asyncio.timeout(10):
            while not target.replies:
                await asyncio.sleep(0.02)
        assert target.delivered == [request]
        (refusal,) = map(report, target.replies)
        assert refusal.error_report is not None
        provider = refusal.error_report.provider_error_report
        assert provider is not None
        assert provider.transaction_id_problem is TransactionIdProblem.UNKNOWN_TRANSACTION_ID
        assert refusal.transaction_id.transaction_qualifier.text == "NOBODY"
        assert requester.received == []  # refused: it went nowhere
    finally:
        await server.stop()
        await target.stop()
        await requester.stop()


def apdus_in_series() -> set[tuple[str, str]]:
    """The (type, peer) label pairs of ``isoill_apdus_in_total`` so far."""
    (family,) = (f for f in REGISTRY.collect() if f.name == "isoill_apdus_in")
    return {
        (sample.labels["type"], sample.labels["peer"])
        for sample in family.samples
        if sample.name == "isoill_apdus_in_total"
    }


async def test_senders_that_are_not_configured_share_one_series(tmp_path: Path) -> None:
    peer = await RecordingPeer().start()
    server = await start_gateway(write_config(tmp_path, routes_for({RESPONDER: [peer.address]})))
    try:
        before = apdus_in_series()
        for n in range(50):  # each on a connection of its own, from a port of its own
            (answer,) = await exchange(server.ports[0], [apdu("Message", f"M-{n}")])
            report(answer)
        new = apdus_in_series() - before
    finally:
        await server.stop()
        await peer.stop()
    assert new <= {("Message", "unknown")}
    assert ("Message", "unknown") in apdus_in_series()
    assert not any(peer_label.startswith("127.") for _, peer_label in apdus_in_series())
