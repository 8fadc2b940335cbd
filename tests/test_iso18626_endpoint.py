"""The ISO 18626 endpoint of the daemon in this process, on 127.0.0.1 with real sockets: a
message in is judged as its APDU, stored, answered with its Confirmation and delivered as the
APDU to an ISO 10161 target; the HTTP refusals; a store that cannot take it (503)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from endpoint18626_support import REQ, SUP, XML, agency, endpoint_gateway, now, post, request, url
from fault_support import locked
from gateway_harness import RecordingPeer, exchange, ill_request, until
from peer18626_support import ram
from prometheus_client import REGISTRY
from test_gateway_e2e import acknowledged

from isoill.app import App
from isoill.bridge.ids import request_id_for
from isoill.codec.decoder import decode
from isoill.codec.models import Cancel, ILLRequest, Shipped
from isoill.ill.symbols import symbol_of
from isoill.iso18626.messages import MessageKind, Version
from isoill.tools.peer18626.messages import Header, SupplyingAgencyMessage
from isoill.tools.peer18626.writing import write

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def peer() -> AsyncIterator[RecordingPeer]:
    recording = await RecordingPeer().start()
    yield recording
    await recording.stop()


def posts(message: str, status: int) -> float:
    labels = {"message": message, "status": str(status)}
    return REGISTRY.get_sample_value("isoill_iso18626_posts_total", labels) or 0.0


async def test_a_request_is_confirmed_once_stored_and_delivered_as_its_ill_request(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    server = await endpoint_gateway(tmp_path, {"SUP1": [peer.address]})
    try:
        sent = request("req-77")
        before = posts("request", 200)
        answer = await post(url(server), sent)
        confirmation = answer.confirmation()
        assert answer.headers["Content-Type"].startswith("application/xml")
        assert confirmation.ok, confirmation
        assert confirmation.kind is MessageKind.REQUEST_CONFIRMATION
        assert confirmation.request_id == "req-77"
        assert confirmation.received == sent.header.timestamp  # timestampReceived echoes it
        assert (confirmation.requester, confirmation.supplier) == (REQ, SUP)
        (delivered,) = await peer.wait_for(1)
        apdu = decode(delivered)
        assert isinstance(apdu, ILLRequest)
        assert symbol_of(apdu.requester_id) == "REQ1"
        assert symbol_of(apdu.responder_id) == "SUP1"
        assert apdu.transaction_id.transaction_group_qualifier.text == "ISO18626"
        assert apdu.transaction_id.transaction_qualifier.text == "req-77"
        assert posts("request", 200) == before + 1

        again = await post(url(server), sent)  # its Confirmation was lost, say
        assert again.confirmation().ok
        await until(lambda: server.forwarder.running)
        assert len(peer.received) == 1  # the duplicate is acknowledged, not sent again
    finally:
        await server.stop()


async def test_a_message_the_schema_refuses_gets_an_error_confirmation(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    server = await endpoint_gateway(tmp_path, {"SUP1": [peer.address]})
    try:
        body = write(request("req-1"), Version.V1_2)
        broken = body.replace(b"<ill:serviceType>Loan", b"<ill:serviceType>Borrow")
        answer = await post(url(server), broken)
        confirmation = answer.confirmation()
        assert not confirmation.ok
        assert confirmation.error_type == "UnrecognisedDataValue"
        assert confirmation.error_value is not None and "serviceType" in confirmation.error_value
        assert peer.received == []
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("method", "path", "content_type", "body", "status", "words"),
    [
        ("GET", "/iso18626", None, b"", 405, "only POST"),
        ("PUT", "/iso18626", XML, b"<x/>", 405, "only POST"),
        ("POST", "/elsewhere", XML, b"<x/>", 404, "no ISO 18626 endpoint at /elsewhere"),
        ("POST", "/iso18626", "application/json", b"{}", 415, "application/xml or text/xml"),
        ("POST", "/iso18626", None, b"<x/>", 415, "application/xml or text/xml"),
        ("POST", "/iso18626", "text/xml", b"not xml at all", 400, "not well-formed XML"),
        ("POST", "/iso18626", XML, b"<x xmlns='urn:other'/>", 400, "is not ISO 18626's"),
    ],
)
async def test_what_is_no_iso18626_message_is_refused_over_http(
    tmp_path: Path,
    peer: RecordingPeer,
    method: str,
    path: str,
    content_type: str | None,
    body: bytes,
    status: int,
    words: str,
) -> None:
    server = await endpoint_gateway(tmp_path, {"SUP1": [peer.address]})
    try:
        target = url(server).replace("/iso18626", path)
        answer = await post(target, body, method=method, content_type=content_type)
        assert answer.status == status
        assert words in answer.body.decode()
        if status == 405:
            assert answer.headers["Allow"] == "POST"
        after = await post(url(server), request("req-2"))  # and the next one is served
        assert after.confirmation().ok
    finally:
        await server.stop()


async def test_a_confirmation_posted_as_a_message_is_refused(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    server = await endpoint_gateway(tmp_path, {"SUP1": [peer.address]})
    try:
        first = await post(url(server), request("req-3"))
        answer = await post(url(server), first.body)
        assert answer.status == 400
        assert b"requestConfirmation is the answer in an exchange" in answer.body
    finally:
        await server.stop()


async def test_a_message_the_store_cannot_take_is_answered_503_and_taken_when_sent_again(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    server = await endpoint_gateway(
        tmp_path, {"SUP1": [peer.address]}, extra="[limits]\nstore_busy_timeout = 0.2\n"
    )
    try:
        sent = dataclasses.replace(request("req-9"))
        with locked(tmp_path / "store.sqlite3"):
            answer = await post(url(server), sent)
            assert answer.status == 503
            assert answer.headers["Retry-After"] == "30"
            assert b"not stored" in answer.body
        assert peer.received == []
        again = await post(url(server), sent)
        assert again.confirmation().ok
        (delivered,) = await peer.wait_for(1)
        apdu = decode(delivered)
        assert isinstance(apdu, ILLRequest)
        assert apdu.transaction_id.transaction_qualifier.text == "req-9"
    finally:
        await server.stop()


async def test_a_request_for_a_supplier_without_a_route_is_refused_in_its_confirmation(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    server = await endpoint_gateway(tmp_path, {"SUP1": [peer.address]})
    try:
        elsewhere = request("req-4", supplier=dataclasses.replace(SUP, value="NOWHERE"))
        confirmation = (await post(url(server), elsewhere)).confirmation()
        assert not confirmation.ok
        assert confirmation.error_type == "UnrecognisedDataValue"
        assert confirmation.error_value is not None
        assert "no route to NOWHERE" in confirmation.error_value
        assert confirmation.request_id == "req-4"
    finally:
        await server.stop()


async def test_a_requesting_agency_message_is_delivered_as_its_apdu_in_the_same_transaction(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    server = await endpoint_gateway(tmp_path, {"SUP1": [peer.address]})
    try:
        assert (await post(url(server), request("req-5"))).confirmation().ok
        confirmation = (await post(url(server), ram("Cancel", "req-5"))).confirmation()
        assert confirmation.ok, confirmation
        assert confirmation.kind is MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION
        assert confirmation.action == "Cancel"  # echoed
        first, cancel = (decode(ber) for ber in await peer.wait_for(2))
        assert isinstance(cancel, Cancel)
        assert cancel.transaction_id == first.transaction_id
    finally:
        await server.stop()


async def requested_of_sup1(server: App, peer: RecordingPeer) -> tuple[ILLRequest, str]:
    """REQLIB's ILL-Request to SUP1 over ISO 10161, acknowledged and delivered: the request
    as SUP1 got it, and the ISO 18626 request id of its transaction."""
    ber = ill_request(1, requester="REQLIB", responder="SUP1")
    (answer,) = await exchange(server.ports[0], [ber])
    assert acknowledged(answer)
    (asked,) = await peer.wait_for(1)
    apdu = decode(asked)
    assert isinstance(apdu, ILLRequest)
    return apdu, request_id_for(apdu.transaction_id, "REQLIB")


async def test_a_suppliers_message_on_a_transaction_begun_on_iso10161_reaches_its_requester(
    tmp_path: Path, peer: RecordingPeer
) -> None:
    requester = await RecordingPeer().start()
    server = await endpoint_gateway(
        tmp_path, {"SUP1": [peer.address], "REQLIB": [requester.address]}
    )
    try:
        apdu, request_id = await requested_of_sup1(server, peer)
        loaned = SupplyingAgencyMessage(
            Header(SUP, agency("REQLIB"), request_id, now()),
            reason="RequestResponse",
            status="Loaned",
            last_change=now(),
        )
        confirmation = (await post(url(server), loaned)).confirmation()
        assert confirmation.ok, confirmation
        assert confirmation.reason == "RequestResponse"  # echoed
        (shipped,) = (decode(each) for each in await requester.wait_for(1))
        assert isinstance(shipped, Shipped)
        assert shipped.transaction_id == apdu.transaction_id
        assert symbol_of(shipped.responder_id) == "SUP1"
    finally:
        await server.stop()
        await requester.stop()


@pytest.mark.parametrize(
    ("reason", "apdu_type"),
    [("Notification", "Message"), ("StatusRequestResponse", "Status-Or-Error-Report")],
)
async def test_a_suppliers_message_either_party_sends_reaches_the_requester_not_the_supplier(
    tmp_path: Path, peer: RecordingPeer, reason: str, apdu_type: str
) -> None:
    """A SAM whose APDU either party may send (a Message, a status report) says nothing of
    its sender in the APDU: the SAM does (its supplying agency), so it goes to the
    requester."""
    requester = await RecordingPeer().start()
    server = await endpoint_gateway(
        tmp_path, {"SUP1": [peer.address], "REQLIB": [requester.address]}
    )
    try:
        apdu, request_id = await requested_of_sup1(server, peer)
        header = Header(SUP, agency("REQLIB"), request_id, now())
        sam = SupplyingAgencyMessage(header, reason, "WillSupply", now(), note="on its way")
        confirmation = (await post(url(server), sam)).confirmation()
        assert confirmation.ok, confirmation
        (told,) = (decode(each) for each in await requester.wait_for(1))
        assert told.apdu_type == apdu_type
        assert told.transaction_id == apdu.transaction_id
        assert len(peer.received) == 1  # the supplier got its ILL-Request, nothing back
    finally:
        await server.stop()
        await requester.stop()
