"""Store faults through the daemon, real ones (tests/fault_support.py): what the store cannot
take is refused for now (a temporary refusal, logged and counted), never acknowledged; the
forwarder goes on when its own writes fail; and once the fault has passed, the APDU sent again
is taken and everything is delivered, in order."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import traffic
from fault_support import fill_disk, fill_filesystem, free_disk, locked, tiny_filesystem
from gateway_harness import RecordingPeer, exchange, routes_for, start_gateway, until, write_config
from prometheus_client import REGISTRY

from isoill.app import App
from isoill.codec.decoder import decode
from isoill.codec.models import (
    External,
    IntermediaryProblem,
    OCLCPrismILLErrorItem,
    PrismIllErrorCode,
    StatusOrErrorReport,
    UnableToPerform,
)
from isoill.delivery.forwarder import STORE_PAUSE

pytestmark = pytest.mark.asyncio

REQUESTER, RESPONDER = "FAULTREQ", "FAULTRESP"
REQUEST = traffic.lifecycle(REQUESTER, RESPONDER)[0]
NOWHERE = traffic.lifecycle(REQUESTER, "NOWHERE")[0]  # a responder without a route


def assert_refused_for_now(answer: bytes, fault: str) -> None:
    """``answer`` is the temporary refusal, for ``fault``: unable-to-perform
    resource-limitation, OCLC's resource-limitation, and a note saying so."""
    report = decode(answer)
    assert isinstance(report, StatusOrErrorReport) and report.error_report is not None
    error = report.error_report.user_error_report
    assert error is not None and error.unable_to_perform is UnableToPerform.RESOURCE_LIMITATION
    assert report.status_or_error_report_extensions is not None
    (extension,) = report.status_or_error_report_extensions
    assert isinstance(extension.item, External) and extension.item.encoding is not None
    prisms = extension.item.encoding.single_asn1_type
    assert isinstance(prisms, tuple)
    (prism,) = prisms
    assert isinstance(prism, OCLCPrismILLErrorItem)
    assert prism.prism_ill_error_code is PrismIllErrorCode.RESOURCE_LIMITATION
    assert prism.prism_ill_error_text == report.note
    assert str(report.note) == (
        f"temporary: the gateway cannot store this APDU now ({fault}); send it again later"
    )


def refusals() -> float:
    """APDUs refused because the store could not take them, so far."""
    return REGISTRY.get_sample_value("isoill_rejections_total", {"reason": "store"}) or 0.0


def stored(config: Path) -> list[bytes]:
    """The messages another connection sees committed."""
    db = sqlite3.connect(config.parent / "store.sqlite3")
    try:
        return [ber for (ber,) in db.execute("SELECT ber FROM messages ORDER BY id")]
    finally:
        db.close()


def refused_for_now(answer: bytes) -> bool:
    report = decode(answer)
    error = report.error_report if isinstance(report, StatusOrErrorReport) else None
    user = error.user_error_report if error is not None else None
    return user is not None and user.unable_to_perform is UnableToPerform.RESOURCE_LIMITATION


async def until_refused_for_now(
    server: App, template: traffic.Template
) -> tuple[dict[bytes, bytes], bytes]:
    """Send APDUs until the store cannot take one: the answers to those before it, and its."""
    answers: dict[bytes, bytes] = {}
    for serial in range(1, 1000):
        ber = template.fill(serial)
        (answer,) = await exchange(server.ports[0], [ber])
        if refused_for_now(answer):
            return answers, answer
        answers[ber] = answer
    raise AssertionError("the disk never filled")


def no_route(answer: bytes) -> bool:
    report = decode(answer)
    error = report.error_report if isinstance(report, StatusOrErrorReport) else None
    user = error.user_error_report if error is not None else None
    return user is not None and user.intermediary_problem is IntermediaryProblem.CANNOT_SEND_ONWARD


def arrived_in_order(received: list[bytes], sent: list[bytes]) -> bool:
    """Whether the peer received ``sent``, in that order, and nothing else: each copy of an
    APDU delivered again after a failed outcome write is left out."""
    return list(dict.fromkeys(received)) == sent


async def assert_paced(received: list[bytes], apdu: bytes, seconds: float) -> None:
    """While its outcome cannot be stored, a delivery goes again once a pause
    (``STORE_PAUSE``), not in a loop."""
    before = received.count(apdu)
    await asyncio.sleep(seconds)
    again = received.count(apdu) - before
    assert again <= seconds / STORE_PAUSE + 1, f"{again} copies in {seconds} s"


async def test_a_full_disk_refuses_for_now_then_takes_the_apdu_again(tmp_path: Path) -> None:
    peer = await RecordingPeer().start()
    config = write_config(tmp_path, routes_for({RESPONDER: [peer.address]}))
    server = await start_gateway(config)
    writer = server.writer
    try:
        before = refusals()
        await writer.call(fill_disk, writer.backend)
        answers, answer = await until_refused_for_now(server, REQUEST)
        assert_refused_for_now(answer, "its disk is full")
        assert all(map(traffic.accepted, answers.values()))
        acknowledged = list(answers)
        assert refusals() == before + 1
        assert stored(config) == acknowledged  # what was refused is not kept

        await writer.call(free_disk, writer.backend)
        again = REQUEST.fill(len(acknowledged) + 1)
        (answer,) = await exchange(server.ports[0], [again])
        assert traffic.accepted(answer)
        await until(lambda: set(peer.received) == {*acknowledged, again})
        assert arrived_in_order(peer.received, [*acknowledged, again])
        assert server.forwarder.running
    finally:
        await server.stop()
        await peer.stop()


async def test_an_apdu_that_cannot_be_kept_as_unroutable_is_refused_for_now(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, routes_for({RESPONDER: ["127.0.0.1:9"]}))
    server = await start_gateway(config)
    writer = server.writer
    try:
        await writer.call(fill_disk, writer.backend)
        answers, answer = await until_refused_for_now(server, NOWHERE)
        assert_refused_for_now(answer, "its disk is full")
        assert all(map(no_route, answers.values()))
        assert stored(config) == list(answers)  # kept for operators to see, but not the last

        await writer.call(free_disk, writer.backend)
        again = NOWHERE.fill(len(answers) + 1)
        (answer,) = await exchange(server.ports[0], [again])
        assert no_route(answer)
        assert stored(config) == [*answers, again]
    finally:
        await server.stop()


async def test_a_lock_held_elsewhere_refuses_for_now_and_delivery_goes_on(
    tmp_path: Path,
) -> None:
    probe = await RecordingPeer().start()
    port = probe.port
    await probe.stop()  # the responder is down while the first two are accepted
    config = write_config(
        tmp_path,
        routes_for({RESPONDER: [f"127.0.0.1:{port}"]}),
        extra="[limits]\nstore_busy_timeout = 0.2\n",
    )
    server = await start_gateway(config)
    first, second, third = (REQUEST.fill(serial) for serial in (1, 2, 3))
    peer = None
    try:
        for ber in (first, second):
            (answer,) = await exchange(server.ports[0], [ber])
            assert traffic.accepted(answer)
        before = refusals()
        with locked(config.parent / "store.sqlite3"):
            (answer,) = await exchange(server.ports[0], [third])
            assert_refused_for_now(answer, "its store is locked by another process")
            assert refusals() == before + 1
            # The responder comes back: what it takes cannot be recorded as delivered yet.
            peer = await RecordingPeer().start(port)
            await until(lambda: set(peer.received) == {first, second})
            await assert_paced(peer.received, first, seconds=1.5)
            assert server.forwarder.running
        (answer,) = await exchange(server.ports[0], [third])
        assert traffic.accepted(answer)
        await until(lambda: len(set(peer.received)) == 3)
        assert arrived_in_order(peer.received, [first, second, third])
        assert server.forwarder.running
    finally:
        await server.stop()
        if peer is not None:
            await peer.stop()


async def test_a_full_filesystem_stops_everything_until_it_has_room(tmp_path: Path) -> None:
    probe = await RecordingPeer().start()
    port = probe.port
    await probe.stop()
    with tiny_filesystem(tmp_path / "tiny") as directory:
        config = write_config(directory, routes_for({RESPONDER: [f"127.0.0.1:{port}"]}))
        server = await start_gateway(config)
        first, second = REQUEST.fill(1), REQUEST.fill(2)
        peer = None
        try:
            (answer,) = await exchange(server.ports[0], [first])
            assert traffic.accepted(answer)
            filler = fill_filesystem(directory)
            (answer,) = await exchange(server.ports[0], [second])
            assert_refused_for_now(answer, "its disk is full")
            # The responder comes back: the delivery goes, its outcome cannot be written.
            peer = await RecordingPeer().start(port)
            await until(lambda: first in peer.received)
            await assert_paced(peer.received, first, seconds=1.5)
            assert server.forwarder.running
            filler.unlink()
            (answer,) = await exchange(server.ports[0], [second])
            assert traffic.accepted(answer)
            await until(lambda: second in peer.received)
            assert arrived_in_order(peer.received, [first, second])
            assert server.forwarder.running
        finally:
            await server.stop()
            if peer is not None:
                await peer.stop()
