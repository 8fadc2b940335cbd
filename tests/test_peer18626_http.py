"""The simulated ISO 18626 peer's HTTP, over loopback: what it answers to requests that are
not a message it takes (wrong method, content type, size, body, version, role), and the
record it keeps of each exchange."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web
from peer18626_support import REQ, SUP, assert_all_valid, now, post, ram, request

from isoill.iso18626 import wire
from isoill.iso18626.messages import MessageKind, Version
from isoill.tools.peer18626.http import Client, Exchange
from isoill.tools.peer18626.messages import Header, Sent, SupplyingAgencyMessage, confirm
from isoill.tools.peer18626.peer import SimulatedRequester, SimulatedSupplier
from isoill.tools.peer18626.writing import write

pytestmark = pytest.mark.asyncio

#: Nobody listens there: the supplier's SAMs, if any, fail at once.
NOWHERE = "http://127.0.0.1:9/iso18626"


@pytest_asyncio.fixture
async def supplier() -> AsyncIterator[SimulatedSupplier]:
    peer = await SimulatedSupplier(SUP, NOWHERE, delay=60).start()
    try:
        yield peer
    finally:
        await peer.stop()
        assert_all_valid(peer)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_anything_but_post_is_405(supplier: SimulatedSupplier, method: str) -> None:
    answer = await post(supplier.url, b"", method=method)
    assert answer.status == 405
    assert answer.headers["Allow"] == "POST"
    (exchange,) = supplier.exchanges
    assert (exchange.method, exchange.status, exchange.kind) == (method, 405, None)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/json", "application/octet-stream"]
)
async def test_a_content_type_that_is_not_xml_is_415(
    supplier: SimulatedSupplier, content_type: str
) -> None:
    answer = await post(supplier.url, request(), content_type=content_type)
    assert answer.status == 415
    assert content_type.encode() in answer.body
    assert supplier.supplier.supplies == {}


@pytest.mark.parametrize("content_type", ["text/xml", "application/xml", "text/xml; charset=UTF-8"])
async def test_application_xml_and_text_xml_are_taken(
    supplier: SimulatedSupplier, content_type: str
) -> None:
    answer = await post(supplier.url, request(), content_type=content_type)
    assert (answer.status, answer.confirmation().ok) == (200, True)


async def test_a_body_over_the_limit_is_413(supplier: SimulatedSupplier) -> None:
    answer = await post(supplier.url, b"<" + b"x" * wire.MAX_SIZE + b"/>")
    assert answer.status == 413
    assert supplier.exchanges[0].status == 413


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"not xml at all", b"not well-formed XML"),
        (b"<ISO18626Message/>", b"is not ISO 18626's ISO18626Message"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', b"DOCTYPE is not accepted"),
    ],
)
async def test_a_body_that_is_no_message_is_400_with_text(
    supplier: SimulatedSupplier, body: bytes, said: bytes
) -> None:
    answer = await post(supplier.url, body)
    assert answer.status == 400
    assert answer.body.startswith(b"not an ISO 18626 message: ")
    assert said in answer.body
    assert "X-Request-ID" not in answer.headers


async def test_a_confirmation_posted_is_400(supplier: SimulatedSupplier) -> None:
    answer = await post(supplier.url, write(confirm(request(), now()), Version.V1_2))
    assert answer.status == 400
    assert answer.body == (
        b"a requestConfirmation is the answer in an exchange, not a message to POST"
    )


async def test_a_message_the_schema_refuses_gets_an_error_confirmation_of_its_kind(
    supplier: SimulatedSupplier,
) -> None:
    body = write(ram("Cancel"), Version.V1_2).replace(b">Cancel<", b">Cancelled<")
    answer = await post(supplier.url, body)
    assert answer.status == 200
    confirmation = answer.confirmation()
    assert confirmation.kind is MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION
    assert (confirmation.ok, confirmation.error_type) == (False, "UnrecognisedDataValue")
    assert confirmation.error_value is not None and "Cancelled" in confirmation.error_value
    assert len(answer.headers["X-Request-ID"]) == 32  # a fresh id: the message was not read


async def test_a_message_of_the_other_version_is_refused_by_the_schema(
    supplier: SimulatedSupplier,
) -> None:
    answer = await post(supplier.url, ram("Cancel"), version=Version.V2021)
    confirmation = answer.confirmation()
    assert (answer.status, confirmation.ok) == (200, False)
    assert confirmation.error_value is not None
    assert confirmation.error_value.startswith("not valid ISO 18626 1.2")


async def test_a_sam_to_the_supplier_is_an_error(supplier: SimulatedSupplier) -> None:
    sam = SupplyingAgencyMessage(Header(SUP, REQ, "req-1", now()), "StatusChange", "Loaned", now())
    confirmation = (await post(supplier.url, sam)).confirmation()
    assert (confirmation.ok, confirmation.error_type) == (False, "UnsupportedReasonForMessageType")
    assert confirmation.reason == "StatusChange"


@pytest.mark.parametrize(
    ("message", "error_type"),
    [(request(), "UnrecognisedDataElement"), (ram("Received"), "UnsupportedActionType")],
)
async def test_a_request_or_ram_to_the_requester_is_an_error(
    message: Sent, error_type: str
) -> None:
    requester = await SimulatedRequester(REQ, SUP, NOWHERE).start()
    try:
        confirmation = (await post(requester.url, message)).confirmation()
        assert (confirmation.ok, confirmation.error_type) == (False, error_type)
        assert confirmation.error_value is not None
        assert confirmation.error_value.startswith("the simulated requester does not take")
    finally:
        await requester.stop()


async def test_any_path_is_taken_and_recorded(supplier: SimulatedSupplier) -> None:
    base = supplier.url.removesuffix("/iso18626")
    assert (await post(f"{base}/rs/externalApi/iso18626", request())).status == 200
    assert supplier.exchanges[0].path == "/rs/externalApi/iso18626"


async def test_every_exchange_is_recorded_and_shown_on_one_line(
    supplier: SimulatedSupplier,
) -> None:
    sent = write(request(note="MOCK:WILLSUPPLY"), Version.V1_2)
    answer = await post(supplier.url, sent)
    await supplier.wait_until(lambda: len(supplier.exchanges) == 1)
    (exchange,) = supplier.exchanges
    assert (exchange.direction, exchange.method, exchange.status) == ("in", "POST", 200)
    assert (exchange.request_body, exchange.response_body) == (sent, answer.body)
    assert exchange.kind is MessageKind.REQUEST
    assert exchange.peer.startswith("127.0.0.1:")
    line = str(exchange).split()
    assert line[1:] == [
        "in",
        exchange.peer,
        "POST",
        "/iso18626",
        "request",
        "New",
        "Loan",
        'ISIL:REQ1/"req-1"',
        "->",
        "200",
        "requestConfirmation",
        "OK",
    ]
    record = json.loads(json.dumps(exchange.record()))
    assert (record["kind"], record["status"], record["transaction"]) == (
        "request",
        200,
        'ISIL:REQ1/"req-1"',
    )
    assert record["request"].encode() == sent


async def test_what_the_peer_sends_and_gets_no_answer_to_is_recorded_as_such() -> None:
    supplier = await SimulatedSupplier(SUP, NOWHERE, delay=0).start()
    try:
        assert (await post(supplier.url, request(note="MOCK:LOANED"))).status == 200
        await supplier.wait_until(lambda: len(supplier.exchanges) == 2)
        sent = supplier.exchanges[1]
        assert (sent.direction, sent.path, sent.status) == ("out", NOWHERE, None)
        assert sent.kind is MessageKind.SUPPLYING_AGENCY_MESSAGE
        assert sent.answer.startswith("no answer: ClientConnectorError")
        assert str(sent).split()[1:3] == ["out", NOWHERE]
    finally:
        await supplier.stop()


async def test_an_answer_that_comes_in_parts_is_read_whole() -> None:
    """The Confirmation written in two parts, a pause between: the client reads both."""
    sam = SupplyingAgencyMessage(
        Header(SUP, REQ, "req-1", now(), "S-1"), "RequestResponse", "Loaned", now()
    )
    body = write(confirm(sam, now()), Version.V1_2)
    gap = asyncio.Event()

    async def halves(http: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/xml"})
        await response.prepare(http)
        await response.write(body[:40])
        await gap.wait()
        await response.write(body[40:])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/iso18626", halves)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    exchanges: list[Exchange] = []
    client = Client(Version.V1_2, f"http://{host}:{port}/iso18626", exchanges.append, timeout=10)
    try:
        posting = asyncio.create_task(client.post(sam))
        await asyncio.sleep(0.2)  # the first part is read by now
        gap.set()
        confirmation = await asyncio.wait_for(posting, 10)
    finally:
        await client.close()
        await runner.cleanup()
    assert confirmation is not None and confirmation.ok, exchanges
    [exchange] = exchanges
    assert exchange.response_body == body
