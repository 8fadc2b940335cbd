"""The simulated ISO 18626 supplier over loopback HTTP: the test POSTs Requests and RAMs as a
requester would, and catches the SAMs on an endpoint of its own. One test per scenario, in
both versions, and per answer to a RAM; every message the supplier wrote validates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from aiohttp import web
from peer18626_support import (
    REQ,
    SUP,
    Catcher,
    assert_all_valid,
    catcher,
    now,
    post,
    ram,
    request,
)

from isoill.iso18626.errors import ErrorType
from isoill.iso18626.messages import MessageKind, Version
from isoill.tools.peer18626 import scenario
from isoill.tools.peer18626.messages import (
    Agency,
    Costs,
    ElectronicAddress,
    PostalAddress,
    Request,
    SupplyingAgencyMessage,
    confirm,
)
from isoill.tools.peer18626.peer import SimulatedSupplier
from isoill.tools.peer18626.scenario import Scenario
from isoill.tools.peer18626.supplier import LOAN_PERIOD, OFFERED_COSTS
from isoill.tools.peer18626.writing import write

pytestmark = pytest.mark.asyncio

DELAY = 0.02
QUIET = 0.3  # how long to wait to see that nothing more comes
VERSIONS = pytest.mark.parametrize("version", list(Version), ids=str)


@asynccontextmanager
async def running(
    version: Version = Version.V1_2,
    *,
    default: Scenario = scenario.DEFAULT,
    unknown_error: bool = False,
    delay: float = DELAY,
) -> AsyncIterator[tuple[SimulatedSupplier, Catcher]]:
    async with catcher(version) as caught:
        supplier = SimulatedSupplier(
            SUP,
            caught.url,
            default=default,
            unknown_error=unknown_error,
            version=version,
            delay=delay,
        )
        await supplier.start()
        try:
            yield supplier, caught
        finally:
            await supplier.stop()
        assert assert_all_valid(supplier) == len(
            [e for e in supplier.exchanges if e.direction == "out" or e.status == 200]
        )


async def ask(
    supplier: SimulatedSupplier, note: str, version: Version, request_id: str = "req-1"
) -> None:
    """POST a Request with ``note``; it must be confirmed OK."""
    answer = await post(supplier.url, request(request_id, note=note), version=version)
    assert answer.status == 200
    assert answer.confirmation(version).ok


async def say(
    supplier: SimulatedSupplier, action: str, version: Version, request_id: str = "req-1"
) -> None:
    """POST a RAM; it must be confirmed OK with the action echoed."""
    answer = await post(supplier.url, ram(action, request_id), version=version)
    confirmation = answer.confirmation(version)
    assert (answer.status, confirmation.ok, confirmation.action) == (200, True, action)


def reasons(sams: list[SupplyingAgencyMessage]) -> list[tuple[str, str | None, str]]:
    return [(sam.reason, sam.answer, sam.status) for sam in sams]


@VERSIONS
async def test_a_request_is_confirmed_with_its_ids_echoed_and_an_x_request_id(
    version: Version,
) -> None:
    async with running(version) as (supplier, _):
        answer = await post(supplier.url, request("req-7", note="MOCK:WILLSUPPLY"), version=version)
        assert answer.status == 200
        assert answer.headers["X-Request-ID"] == "req-7"
        assert answer.headers["Content-Type"].startswith("application/xml")
        confirmation = answer.confirmation(version)
        assert confirmation.kind is MessageKind.REQUEST_CONFIRMATION
        assert (confirmation.ok, confirmation.supplier, confirmation.requester) == (True, SUP, REQ)
        assert confirmation.request_id == "req-7"


@VERSIONS
async def test_loaned_then_loan_completed_after_shipped_return(version: Version) -> None:
    async with running(version) as (supplier, caught):
        before = now()
        await ask(supplier, "please MOCK:LOANED", version)
        (loaned,) = await caught.wait_for(1)
        assert (loaned.reason, loaned.status) == ("RequestResponse", "Loaned")
        assert loaned.header.request_id == "req-1"
        assert loaned.header.supplier_request_id == "S-1"
        assert loaned.note == "simulated supplier, scenario LOANED"
        assert loaned.due is not None
        assert before + LOAN_PERIOD <= loaned.due <= now() + LOAN_PERIOD
        assert loaned.delivery is not None
        assert (loaned.delivery.item_id, loaned.delivery.sent_via) == ("item-S-1", "URL")
        assert loaned.delivery.format == "Printed"
        await say(supplier, "Received", version)
        assert await caught.quiet(QUIET) == [loaned]
        await say(supplier, "ShippedReturn", version)
        sams = await caught.wait_for(2)
        assert reasons(sams[1:]) == [("StatusChange", None, "LoanCompleted")]


@pytest.mark.parametrize(
    ("address", "sent_via"),
    [
        (PostalAddress("Hauptstraße 1", "Göttingen"), "Mail"),
        (ElectronicAddress("Email", "ill@example.org"), "Email"),
        (ElectronicAddress("FTP", "ftp://example.org/in"), "FTP"),
    ],
)
async def test_loaned_is_sent_the_way_the_requester_wants_it_delivered(
    address: PostalAddress | ElectronicAddress, sent_via: str
) -> None:
    async with running() as (supplier, caught):
        wanted = replace(request(note="MOCK:LOANED"), address=address)
        assert (await post(supplier.url, wanted)).status == 200
        (loaned,) = await caught.wait_for(1)
        assert loaned.delivery is not None and loaned.delivery.sent_via == sent_via


@VERSIONS
async def test_loaned_recalled_recalls_once_received(version: Version) -> None:
    async with running(version) as (supplier, caught):
        await ask(supplier, "MOCK:LOANED_RECALLED", version)
        await caught.wait_for(1)
        assert await caught.quiet(QUIET) == caught.sams[:1]  # nothing before Received
        await say(supplier, "Received", version)
        await caught.wait_for(2)
        await say(supplier, "ShippedReturn", version)
        sams = await caught.wait_for(3)
        assert reasons(sams) == [
            ("RequestResponse", None, "Loaned"),
            ("StatusChange", None, "Recalled"),
            ("StatusChange", None, "LoanCompleted"),
        ]


@VERSIONS
async def test_loaned_overdue_is_overdue_once_received_and_renewed_on_renew(
    version: Version,
) -> None:
    async with running(version) as (supplier, caught):
        await ask(supplier, "MOCK:LOANED_OVERDUE", version)
        await caught.wait_for(1)
        await say(supplier, "Received", version)
        await caught.wait_for(2)
        await say(supplier, "Renew", version)
        await caught.wait_for(3)
        await say(supplier, "ShippedReturn", version)
        loaned, overdue, renewed, completed = await caught.wait_for(4)
        assert reasons([loaned, overdue, renewed, completed]) == [
            ("RequestResponse", None, "Loaned"),
            ("StatusChange", None, "Overdue"),
            ("RenewResponse", "Y", "Loaned"),
            ("StatusChange", None, "LoanCompleted"),
        ]
        assert loaned.due is not None and overdue.due == loaned.due
        assert renewed.due == loaned.due + LOAN_PERIOD


@VERSIONS
async def test_renew_no_answers_every_renew_n(version: Version) -> None:
    async with running(version) as (supplier, caught):
        await ask(supplier, "MOCK:LOANED_OVERDUE+RENEW_NO", version)
        await caught.wait_for(1)
        await say(supplier, "Received", version)
        await caught.wait_for(2)
        await say(supplier, "Renew", version)
        sams = await caught.wait_for(3)
        assert reasons(sams[2:]) == [("RenewResponse", "N", "Overdue")]


async def test_a_renew_before_the_loan_is_answered_n() -> None:
    async with running() as (supplier, caught):
        await ask(supplier, "MOCK:WILLSUPPLY", Version.V1_2)
        await caught.wait_for(1)
        await say(supplier, "Renew", Version.V1_2)
        sams = await caught.wait_for(2)
        assert reasons(sams[1:]) == [("RenewResponse", "N", "WillSupply")]


@VERSIONS
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WILLSUPPLY", [("RequestResponse", "WillSupply")]),
        ("WILLSUPPLY_LOANED", [("RequestResponse", "WillSupply"), ("StatusChange", "Loaned")]),
        ("WILLSUPPLY_UNFILLED", [("RequestResponse", "WillSupply"), ("StatusChange", "Unfilled")]),
        ("UNFILLED", [("RequestResponse", "Unfilled")]),
        ("COMPLETED", [("RequestResponse", "LoanCompleted")]),
    ],
)
async def test_what_the_scenario_names_is_sent_and_nothing_more(
    version: Version, name: str, expected: list[tuple[str, str]]
) -> None:
    async with running(version) as (supplier, caught):
        await ask(supplier, f"MOCK:{name}", version)
        await caught.wait_for(len(expected))
        sams = await caught.quiet(QUIET)
        assert [(sam.reason, sam.status) for sam in sams] == expected
        for sam in sams:
            if sam.status == "Unfilled":
                assert sam.reason_unfilled == "NotHeld"


@VERSIONS
async def test_willsupply_loaned_recalled_and_overdue(version: Version) -> None:
    for later, status in (("RECALLED", "Recalled"), ("OVERDUE", "Overdue")):
        async with running(version) as (supplier, caught):
            await ask(supplier, f"MOCK:WILLSUPPLY_LOANED_{later}", version)
            await caught.wait_for(2)
            await say(supplier, "Received", version)
            sams = await caught.wait_for(3)
            assert [sam.status for sam in sams] == ["WillSupply", "Loaned", status]


@VERSIONS
async def test_completed_is_copy_completed_for_a_copy(version: Version) -> None:
    async with running(version) as (supplier, caught):
        copy = replace(request(note="MOCK:COMPLETED"), service_type="Copy")
        assert (await post(supplier.url, copy, version=version)).status == 200
        (completed,) = await caught.wait_for(1)
        assert completed.status == "CopyCompleted"
        assert completed.delivery is not None and completed.delivery.format == "PDF"
        assert completed.due is None


@VERSIONS
async def test_error_answers_an_error_confirmation_and_keeps_nothing(version: Version) -> None:
    async with running(version) as (supplier, caught):
        answer = await post(supplier.url, request(note="MOCK:ERROR"), version=version)
        confirmation = answer.confirmation(version)
        assert (answer.status, confirmation.ok) == (200, False)
        assert confirmation.error_type == "UnrecognisedDataValue"
        assert confirmation.error_value == "simulated ERROR (scenario ERROR)"
        assert confirmation.request_id == "req-1"
        assert await caught.quiet(QUIET) == []
        await ask(supplier, "MOCK:UNFILLED", version)  # the id was not taken
        assert [sam.status for sam in await caught.wait_for(1)] == ["Unfilled"]


@VERSIONS
@pytest.mark.parametrize("status", [400, 500])
async def test_an_http_error_scenario_answers_that_status_with_text(
    version: Version, status: int
) -> None:
    async with running(version) as (supplier, caught):
        answer = await post(
            supplier.url, request(note=f"MOCK:HTTP-ERROR-{status}"), version=version
        )
        assert answer.status == status
        assert answer.headers["Content-Type"].startswith("text/plain")
        assert (
            answer.body == f"simulated HTTP error {status} (scenario HTTP-ERROR-{status})".encode()
        )
        assert await caught.quiet(QUIET) == []
        (exchange,) = supplier.exchanges
        assert (exchange.status, exchange.kind) == (status, MessageKind.REQUEST)


@VERSIONS
@pytest.mark.parametrize(
    ("token", "reason", "then"),
    [
        ("RETRY:COND_LOANED", "MustMeetLoanCondition", ["Loaned"]),
        ("RETRY:COST_WILLSUPPLY_LOANED", "CostExceedsMaxCost", ["WillSupply", "Loaned"]),
        ("RETRY:ONLOAN_UNFILLED", "OnLoan", ["Unfilled"]),
        ("RETRY:NOTFOUNDASCITED", "NotFoundAsCited", ["Loaned"]),
    ],
)
async def test_retry_is_retry_possible_and_a_retry_request_runs_what_follows(
    version: Version, token: str, reason: str, then: list[str]
) -> None:
    async with running(version) as (supplier, caught):
        before = now()
        await ask(supplier, f"MOCK:{token}", version)
        (possible,) = await caught.wait_for(1)
        assert (possible.reason, possible.status, possible.reason_retry) == (
            "RequestResponse",
            "RetryPossible",
            reason,
        )
        match reason:
            case "MustMeetLoanCondition" if version is Version.V2021:
                assert possible.loan_condition == "NoReproduction"
            case "MustMeetLoanCondition":
                assert (
                    possible.note is not None and "loan condition: NoReproduction" in possible.note
                )
            case "CostExceedsMaxCost":
                assert possible.offered_costs == OFFERED_COSTS == Costs("USD", Decimal("35.00"))
            case "OnLoan":
                assert possible.retry_after is not None
                assert before - timedelta(seconds=1) <= possible.retry_after <= now()
        retry = replace(
            request("req-2", note=f"MOCK:{token}"),
            request_type="Retry",
            previous_request_id="req-1",
        )
        assert (await post(supplier.url, retry, version=version)).status == 200
        sams = await caught.wait_for(1 + len(then))
        assert [sam.status for sam in sams[1:]] == then
        assert all(sam.header.request_id == "req-2" for sam in sams[1:])


@VERSIONS
async def test_a_token_naming_no_scenario_is_unfilled_and_says_why(version: Version) -> None:
    async with running(version) as (supplier, caught):
        await ask(supplier, "MOCK:NOPE", version)
        (unfilled,) = await caught.wait_for(1)
        assert (unfilled.status, unfilled.note) == ("Unfilled", "unknown scenario 'NOPE'")


async def test_the_scenario_comes_from_the_note_else_the_record_id_else_the_default() -> None:
    async with running(default=scenario.parse("UNFILLED")) as (supplier, caught):
        by_record = replace(request("a"), record_id="WILLSUPPLY")
        by_note = replace(request("b", note="MOCK:LOANED"), record_id="WILLSUPPLY")
        by_default = replace(request("c"), record_id="rec-12345")
        for wanted in (by_record, by_note, by_default):
            assert (await post(supplier.url, wanted)).status == 200
        sams = await caught.wait_for(3)
        assert sorted((sam.header.request_id, sam.status) for sam in sams) == [
            ("a", "WillSupply"),
            ("b", "Loaned"),
            ("c", "Unfilled"),
        ]


async def test_cancel_before_the_loan_is_cancelled_and_the_loan_never_comes() -> None:
    async with running(delay=0.3) as (supplier, caught):  # time to cancel before Loaned
        await ask(supplier, "MOCK:WILLSUPPLY_LOANED", Version.V1_2)
        await caught.wait_for(1)
        await say(supplier, "Cancel", Version.V1_2)
        await caught.wait_for(2)
        sams = await caught.quiet(0.6)
        assert reasons(sams) == [
            ("RequestResponse", None, "WillSupply"),
            ("CancelResponse", "Y", "Cancelled"),
        ]


@VERSIONS
async def test_cancel_once_loaned_is_answered_n_with_loaned(version: Version) -> None:
    async with running(version) as (supplier, caught):
        await ask(supplier, "MOCK:LOANED", version)
        await caught.wait_for(1)
        await say(supplier, "Cancel", version)
        sams = await caught.wait_for(2)
        assert reasons(sams[1:]) == [("CancelResponse", "N", "Loaned")]


async def test_cancel_no_answers_every_cancel_n() -> None:
    async with running() as (supplier, caught):
        await ask(supplier, "MOCK:WILLSUPPLY+CANCEL_NO", Version.V1_2)
        await caught.wait_for(1)
        await say(supplier, "Cancel", Version.V1_2)
        sams = await caught.wait_for(2)
        assert reasons(sams[1:]) == [("CancelResponse", "N", "WillSupply")]


async def test_a_status_request_is_answered_with_the_status() -> None:
    async with running() as (supplier, caught):
        await ask(supplier, "MOCK:WILLSUPPLY", Version.V1_2)
        await caught.wait_for(1)
        await say(supplier, "StatusRequest", Version.V1_2)
        sams = await caught.wait_for(2)
        assert reasons(sams[1:]) == [("StatusRequestResponse", None, "WillSupply")]


@VERSIONS
async def test_a_ram_for_an_unknown_transaction_is_ok_and_nothing_more(version: Version) -> None:
    async with running(version) as (supplier, caught):
        await say(supplier, "Cancel", version, request_id="nobody")
        assert await caught.quiet(QUIET) == []


@VERSIONS
async def test_a_ram_for_an_unknown_transaction_is_an_error_when_asked(version: Version) -> None:
    async with running(version, unknown_error=True) as (supplier, caught):
        answer = await post(supplier.url, ram("Cancel", "nobody"), version=version)
        confirmation = answer.confirmation(version)
        assert (answer.status, confirmation.ok, confirmation.action) == (200, False, "Cancel")
        assert confirmation.error_type == "UnrecognisedDataValue"
        assert confirmation.error_value == "requestingAgencyRequestId nobody: not found"
        assert await caught.quiet(QUIET) == []


@VERSIONS
async def test_a_known_request_id_already_exists(version: Version) -> None:
    async with running(version) as (supplier, caught):
        await ask(supplier, "MOCK:UNFILLED", version)
        again = await post(supplier.url, request(note="MOCK:LOANED"), version=version)
        confirmation = again.confirmation(version)
        assert (again.status, confirmation.ok) == (200, False)
        assert confirmation.error_type == "UnrecognisedDataValue"
        assert confirmation.error_value == "requestingAgencyRequestId req-1: already exists"
        await caught.wait_for(1)
        assert [sam.status for sam in await caught.quiet(QUIET)] == ["Unfilled"]


@pytest.mark.parametrize(
    ("wanted", "element"),
    [
        (request(" "), "requestingAgencyRequestId"),
        (request(requester=Agency("ISIL", "")), "requestingAgencyId/agencyIdValue"),
        (request(supplier=Agency("", "SUP1")), "supplyingAgencyId/agencyIdType"),
    ],
)
async def test_an_empty_header_id_is_an_error(wanted: Request, element: str) -> None:
    async with running() as (supplier, caught):
        answer = await post(supplier.url, wanted)
        confirmation = answer.confirmation()
        assert (confirmation.ok, confirmation.error_type) == (False, "UnrecognisedDataValue")
        assert confirmation.error_value == f"{element}: empty"
        assert await caught.quiet(QUIET) == []


async def test_a_2021_request_without_a_supplier_is_supplied_as_the_peer() -> None:
    async with running(Version.V2021) as (supplier, caught):
        bare = request(note="MOCK:LOANED", supplier=None)
        assert (await post(supplier.url, bare, version=Version.V2021)).status == 200
        (loaned,) = await caught.wait_for(1)
        assert loaned.header.supplier == SUP


@pytest.mark.parametrize("refusal", ["500", "ERROR"])
async def test_the_chain_stops_when_a_confirmation_does_not_come_back(refusal: str) -> None:
    async with running() as (supplier, caught):

        def refuse(sam: SupplyingAgencyMessage) -> web.Response:
            if refusal == "500":
                return web.Response(status=500, text="down")
            error = confirm(sam, now(), (ErrorType.UNRECOGNISED_DATA_VALUE, "no"))
            return web.Response(body=write(error, Version.V1_2), content_type="application/xml")

        caught.answer = refuse
        await ask(supplier, "MOCK:WILLSUPPLY_LOANED", Version.V1_2)
        await caught.wait_for(1)
        assert [sam.status for sam in await caught.quiet(QUIET)] == ["WillSupply"]
        assert supplier.exchanges[-1].direction == "out"
        assert supplier.exchanges[-1].status == 500 if refusal == "500" else 200
