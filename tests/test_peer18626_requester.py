"""The simulated ISO 18626 requester, over loopback: against the simulated supplier through
whole loans to their end, in both versions, and against an endpoint of the test's own where
the supplier misbehaves. Every message either side wrote validates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from decimal import Decimal

import pytest
from aiohttp import web
from peer18626_support import REQ, SUP, assert_all_valid, now, post

from isoill.iso18626 import wire
from isoill.iso18626.errors import ErrorType
from isoill.iso18626.messages import Version
from isoill.tools.peer18626.http import Exchange
from isoill.tools.peer18626.messages import (
    Costs,
    Header,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
    confirm,
)
from isoill.tools.peer18626.peer import SimulatedRequester, SimulatedSupplier
from isoill.tools.peer18626.reading import read
from isoill.tools.peer18626.requester import Order
from isoill.tools.peer18626.writing import write

pytestmark = pytest.mark.asyncio

VERSIONS = pytest.mark.parametrize("version", list(Version), ids=str)


@asynccontextmanager
async def pair(
    version: Version = Version.V1_2,
    *,
    supplier_delay: float = 0.02,
    requester_delay: float = 0.02,
    return_after: float = 0.2,
) -> AsyncIterator[tuple[SimulatedRequester, SimulatedSupplier]]:
    """A simulated requester and supplier, each at the other's URL."""
    requester = SimulatedRequester(
        REQ,
        SUP,
        "http://127.0.0.1:9/",
        version=version,
        delay=requester_delay,
        return_after=return_after,
    )
    await requester.start()
    supplier = SimulatedSupplier(SUP, requester.url, version=version, delay=supplier_delay)
    await supplier.start()
    requester.peer_url = supplier.url
    try:
        yield requester, supplier
    finally:
        await requester.stop()
        await supplier.stop()
    assert assert_all_valid(requester) > 0  # its Request, at least
    assert_all_valid(supplier)


def flow(requester: SimulatedRequester) -> list[str]:
    """What went between the two, as the requester saw it: each message in order."""
    return [_step(exchange) for exchange in requester.exchanges]


def _step(exchange: Exchange) -> str:
    kind, *rest = exchange.what.split()
    match kind:
        case "request":
            return f"Request {rest[0]}"
        case "requestingAgencyMessage":
            return rest[0]
    if rest[0] in ("CancelResponse", "RenewResponse"):
        return " ".join(rest)  # the reason, Y or N, the status
    return rest[-1]  # the status


async def borrow(requester: SimulatedRequester, supplier: SimulatedSupplier, order: Order) -> str:
    """Order, wait until it has ended and the supplier has nothing more to send; how it
    ended."""
    await requester.order(order)
    await requester.wait_until(lambda: requester.ended)
    await supplier.wait_until(lambda: supplier.idle)
    ended = list(requester.requester.borrowings.values())[-1].ended
    assert ended is not None
    return ended


@VERSIONS
async def test_a_whole_loan_to_loan_completed(version: Version) -> None:
    async with pair(version) as (requester, supplier):
        ended = await borrow(requester, supplier, Order(title="Dune", note="MOCK:LOANED"))
        assert ended == "LoanCompleted"
        assert flow(requester) == [
            "Request New",
            "Loaned",
            "Received",
            "ShippedReturn",
            "LoanCompleted",
        ]
        assert all(e.status == 200 and "OK" in e.answer for e in requester.exchanges)
        assert all(e.status == 200 and "OK" in e.answer for e in supplier.exchanges)
        assert len(supplier.exchanges) == len(requester.exchanges)  # each saw every one


@VERSIONS
async def test_overdue_is_renewed_when_asked_then_returned(version: Version) -> None:
    async with pair(version) as (requester, supplier):
        order = Order(title="Dune", note="MOCK:LOANED_OVERDUE #RENEW#")
        assert await borrow(requester, supplier, order) == "LoanCompleted"
        assert flow(requester) == [
            "Request New",
            "Loaned",
            "Received",
            "Overdue",
            "Renew",
            "RenewResponse Y Loaned",
            "ShippedReturn",
            "LoanCompleted",
        ]


async def test_each_renew_token_is_one_renewal_and_a_refusal_ends_them() -> None:
    async with pair() as (requester, supplier):
        order = Order(title="Dune", note="MOCK:LOANED_OVERDUE #RENEW# #RENEW#")
        assert await borrow(requester, supplier, order) == "LoanCompleted"
        assert flow(requester)[3:] == [
            "Overdue",
            "Renew",
            "RenewResponse Y Loaned",
            "Renew",
            "RenewResponse Y Loaned",
            "ShippedReturn",
            "LoanCompleted",
        ]
    async with pair(return_after=30) as (requester, supplier):
        order = Order(title="Dune", note="MOCK:LOANED_OVERDUE+RENEW_NO #RENEW# #RENEW#")
        assert await borrow(requester, supplier, order) == "LoanCompleted"
        assert flow(requester)[3:] == [
            "Overdue",
            "Renew",
            "RenewResponse N Overdue",
            "ShippedReturn",
            "LoanCompleted",
        ]


async def test_overdue_without_renew_and_a_refused_renew_are_returned_at_once() -> None:
    async with pair(return_after=30) as (requester, supplier):  # no waiting for the loan period
        order = Order(title="Dune", note="MOCK:LOANED_OVERDUE")
        assert await borrow(requester, supplier, order) == "LoanCompleted"
        assert flow(requester)[3:] == ["Overdue", "ShippedReturn", "LoanCompleted"]
    async with pair(return_after=30) as (requester, supplier):
        order = Order(title="Dune", note="MOCK:LOANED_OVERDUE+RENEW_NO #RENEW#")
        assert await borrow(requester, supplier, order) == "LoanCompleted"
        assert flow(requester)[3:] == [
            "Overdue",
            "Renew",
            "RenewResponse N Overdue",
            "ShippedReturn",
            "LoanCompleted",
        ]


@VERSIONS
async def test_recalled_is_returned_at_once(version: Version) -> None:
    async with pair(version, return_after=30) as (requester, supplier):
        order = Order(title="Dune", note="MOCK:WILLSUPPLY_LOANED_RECALLED")
        assert await borrow(requester, supplier, order) == "LoanCompleted"
        assert flow(requester) == [
            "Request New",
            "WillSupply",
            "Loaned",
            "Received",
            "Recalled",
            "ShippedReturn",
            "LoanCompleted",
        ]


@VERSIONS
async def test_retry_possible_is_retried_with_a_new_id_and_the_offered_costs(
    version: Version,
) -> None:
    async with pair(version) as (requester, supplier):
        order = Order(title="Dune", note="MOCK:RETRY:COST_LOANED", request_id="first")
        assert await borrow(requester, supplier, order) == "LoanCompleted"
        assert flow(requester) == [
            "Request New",
            "RetryPossible",
            "Request Retry",
            "Loaned",
            "Received",
            "ShippedReturn",
            "LoanCompleted",
        ]
        first, retry = (supply.request for supply in supplier.supplier.supplies.values())
        assert first.header.request_id == "first"
        assert retry.header.request_id not in ("", "first")
        assert (retry.request_type, retry.previous_request_id) == ("Retry", "first")
        assert retry.maximum_costs == Costs("USD", Decimal("35.00"))
        assert (retry.title, retry.note) == ("Dune", "MOCK:RETRY:COST_LOANED")
        assert requester.requester.borrowings["first"].ended == (
            f"RetryPossible: retried as {retry.header.request_id}"
        )


async def test_cancel_before_the_loan_is_cancelled() -> None:
    # the supplier waits long enough before its Loaned for the Cancel to come first
    async with pair(supplier_delay=0.4, requester_delay=0) as (requester, supplier):
        order = Order(title="Dune", note="MOCK:WILLSUPPLY_LOANED #CANCEL#")
        assert await borrow(requester, supplier, order) == "Cancelled"
        assert flow(requester) == [
            "Request New",
            "WillSupply",
            "Cancel",
            "CancelResponse Y Cancelled",
        ]


@VERSIONS
async def test_cancel_once_loaned_is_refused_and_the_loan_goes_on(version: Version) -> None:
    async with pair(version) as (requester, supplier):
        order = Order(title="Dune", note="MOCK:LOANED #CANCEL#")
        assert await borrow(requester, supplier, order) == "LoanCompleted"
        assert flow(requester) == [
            "Request New",
            "Loaned",
            "Cancel",
            "CancelResponse N Loaned",
            "Received",
            "ShippedReturn",
            "LoanCompleted",
        ]


@pytest.mark.parametrize(
    ("order", "ended", "steps"),
    [
        (Order(note="MOCK:UNFILLED"), "Unfilled", ["Request New", "Unfilled"]),
        (
            Order(note="MOCK:COMPLETED", service_type="Copy"),
            "CopyCompleted",
            ["Request New", "CopyCompleted"],
        ),
        (
            Order(note="MOCK:ERROR"),
            "refused: UnrecognisedDataValue: simulated ERROR (scenario ERROR)",
            ["Request New"],
        ),
        (Order(note="MOCK:HTTP-ERROR-500"), "no requestConfirmation came back", ["Request New"]),
    ],
)
async def test_a_request_that_ends_at_once(order: Order, ended: str, steps: list[str]) -> None:
    async with pair() as (requester, supplier):
        assert await borrow(requester, supplier, order) == ended
        assert flow(requester) == steps


async def test_a_sam_for_a_request_it_did_not_send_is_an_error() -> None:
    async with pair() as (requester, _):
        sam = SupplyingAgencyMessage(
            Header(SUP, REQ, "stranger", now()), "StatusChange", "Loaned", now()
        )
        answer = await post(requester.url, sam)
        confirmation = answer.confirmation()
        assert (answer.status, confirmation.ok, confirmation.reason) == (200, False, "StatusChange")
        assert confirmation.error_type == "UnrecognisedDataValue"
        assert confirmation.error_value == "requestingAgencyRequestId stranger: not found"
        assert answer.headers["X-Request-ID"] == "stranger"


@pytest.mark.parametrize("echo", ["none", "other", "error"])
async def test_it_stops_when_a_ram_confirmation_does_not_echo_its_action(echo: str) -> None:
    """A supplier of the test's own confirms the Request, then gets a Loaned from the test;
    its Confirmation of the requester's Received lacks the action, names another, or is
    ERROR: the requester sends nothing more (no ShippedReturn)."""
    rams: list[RequestingAgencyMessage] = []

    async def handle(http: web.Request) -> web.Response:
        message = read(wire.parse(await http.read()))
        assert isinstance(message, Request | RequestingAgencyMessage)
        answer = confirm(message, now())
        if isinstance(message, RequestingAgencyMessage):
            rams.append(message)
            if echo == "error":
                answer = confirm(message, now(), (ErrorType.BADLY_FORMED_MESSAGE, "no"))
            else:
                answer = replace(answer, action=None if echo == "none" else "Notification")
        return web.Response(body=write(answer, Version.V1_2), content_type="application/xml")

    app = web.Application()
    app.router.add_post("/iso18626", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    requester = SimulatedRequester(
        REQ, SUP, f"http://{host}:{port}/iso18626", delay=0, return_after=0.05
    )
    await requester.start()
    try:
        await requester.order(Order(title="Dune", request_id="r-1"))
        loaned = SupplyingAgencyMessage(
            Header(SUP, REQ, "r-1", now()), "RequestResponse", "Loaned", now()
        )
        assert (await post(requester.url, loaned)).confirmation().ok
        await requester.wait_until(lambda: requester.ended)
        ended = requester.requester.borrowings["r-1"].ended
        assert ended is not None and ended.startswith("stopped: its Received")
        await asyncio.sleep(0.3)  # well past the time to return the loan
    finally:
        await requester.stop()
        await runner.cleanup()
    assert [ram.action for ram in rams] == ["Received"]
