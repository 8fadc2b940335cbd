"""Whole loans from an ISO 10161 requester through ``isoill serve`` to a simulated ISO 18626
supplier and back, every part a process of its own on 127.0.0.1.

yaz-illclient sends REQLIB's ILL-Request; the gateway POSTs it as a Request to RSLEND, the
simulated supplier (``isoill peer --protocol iso18626 --role supplier``), which runs the
scenario the note names and POSTs its SupplyingAgencyMessages to the gateway's ISO 18626
endpoint. The gateway delivers each as its APDU to REQLIB, ``isoill peer`` answering by
script (Received to a Shipped, Renew to an Overdue...) on the delivery's connection; those
APDUs go to the supplier as RequestingAgencyMessages. At the end each test reads what every
side sent and got, and the transaction as ``isoill tx show`` shows it: both protocol
machines where the ISO 10161 tables take the APDUs stored, and the ISO 18626 side where the
supplier's last message left it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bridge_support import Machines
from flows18626_support import (
    WAIT,
    Exchanged,
    Gateway,
    Peer10161,
    Supplier,
    free_port,
    gateway_config,
    queue,
    routes,
    serving,
    tx_list,
    tx_shown,
    until,
    yaz_request,
)
from gateway_harness import exchange

from isoill.bridge import forms
from isoill.bridge import messages as b
from isoill.bridge.codes import LOAN_CONDITIONS, STATE_FOR_STATUS, UNFILLED_REASONS
from isoill.bridge.times import date_10161, zone
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.jsonform import from_json
from isoill.codec.models import (
    CancelReply,
    CheckedIn,
    Conditions,
    ILLAnswer,
    IllApdu,
    Overdue,
    RenewAnswer,
    Shipped,
    ShippedServiceType,
    StatusOrErrorReport,
    TransactionResults,
)
from isoill.codec.text import Text
from isoill.iso18626 import wire
from isoill.iso18626.messages import Version
from isoill.tools.peer import Answer
from isoill.tools.peer18626.messages import (
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
)
from isoill.tools.peer18626.supplier import LOAN_CONDITION, LOAN_PERIOD

pytestmark = pytest.mark.asyncio

BERLIN = zone("Europe/Berlin")
REQUEST_ID = "G1/T1"  # the bridge's encoding of REQLIB's transaction-id G1/T1


def loan_request(qualifier: str = "T1", service: int = 1) -> tuple[str, ...]:
    """yaz-illclient's ``-D`` for a loan (``service`` 1; 2 is a copy-non-returnable),
    transaction REQLIB/G1/``qualifier``, Received and Returned among what the requester may
    send."""
    return (
        "ill,transaction-id,initial-requester-id,person-or-institution-symbol,institution=REQLIB",
        "ill,transaction-id,transaction-group-qualifier=G1",
        f"ill,transaction-id,transaction-qualifier={qualifier}",
        f"ill,ill-service-type={service}",
        "ill,requester-optional-messages,can-send-RECEIVED=1",
        "ill,requester-optional-messages,can-send-RETURNED=1",
    )


ACK = "Status-Or-Error-Report"  # the gateway's acknowledgement of one of REQLIB's APDUs
VERSIONS = [Version.V1_2, Version.V2021]


@dataclass
class Loan:
    """A loan's parts, running: the gateway, the supplier, the requester."""

    gateway: Gateway
    supplier: Supplier
    requester: Peer10161
    directory: Path

    async def request(
        self, yaz_illclient: str, note: str, qualifier: str = "T1", service: int = 1
    ) -> None:
        defines = loan_request(qualifier, service)
        printed = await yaz_request(yaz_illclient, self.gateway.port, self.directory, note, defines)
        assert printed == "Ok"

    async def send(self, apdu_type: str, about: IllApdu) -> None:
        """REQLIB's ``apdu_type`` in the transaction of ``about``, sent by the test on a
        connection of its own; the gateway acknowledges it."""
        ours = Answer.parse(apdu_type).respond(about, "REQLIB", datetime.now(UTC))
        assert ours is not None
        [answer] = await exchange(self.gateway.port, [encode(ours)], timeout=WAIT)
        report = decode(answer)
        assert isinstance(report, StatusOrErrorReport) and report.error_report is None, report

    async def settled(self, sams: int, messages: int, refused: int = 0) -> None:
        """Once the supplier has had ``sams`` SAMs answered and the gateway has stored
        ``messages`` messages, all delivered but ``refused`` it refused."""
        wanted = Counter({"delivered": messages - refused, "refused": refused})

        def done() -> bool:
            answered = [e for e in self.supplier.exchanged() if e.direction == "out"]
            states = Counter(m["state"] for m in queue(self.gateway.config))
            return len(answered) >= sams and states == wanted

        # each look reads the store and parses every message: not too often
        try:
            await until(done, f"{sams} SAMs answered, messages {dict(wanted)}", poll=0.25)
        except AssertionError as error:
            stored = [(m["apdu_type"], m["state"]) for m in queue(self.gateway.config)]
            raise AssertionError(f"{error}; stored {stored}") from None


@contextlib.asynccontextmanager
async def running(
    tmp_path: Path, script: str, version: Version, extra: str = ""
) -> AsyncIterator[Loan]:
    """REQLIB answering by ``script``, the gateway with its endpoint (and ``extra`` in its
    config), RSLEND in ``version``; on ports chosen beforehand, so that the three start at
    once."""
    requester_port, supplier_port, endpoint_port = free_port(), free_port(), free_port()
    requester = Peer10161(tmp_path, "REQLIB", script, requester_port)
    endpoint = f"http://127.0.0.1:{endpoint_port}/iso18626"
    supplier = Supplier(tmp_path, supplier_port, peer_url=endpoint, version=version)
    config = gateway_config(
        tmp_path,
        routes(requester.address, supplier.url, version),
        attempts=4,
        endpoint=True,
        endpoint_port=endpoint_port,
        extra=extra,
    )
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(requester.stop)
        stack.push_async_callback(supplier.stop)
        peers = asyncio.gather(requester.start(), supplier.start())
        gateway = await stack.enter_async_context(serving(config, endpoint=True))
        await peers
        assert gateway.endpoint == endpoint
        yield Loan(gateway, supplier, requester, tmp_path)


def script(answers: dict[str, str]) -> str:
    return "".join(f'"{apdu}" = "{answer}"\n' for apdu, answer in answers.items())


# --- what each side saw ----------------------------------------------------------------------


def came_to_requester(loan: Loan, expected: Sequence[str]) -> list[IllApdu]:
    """The APDUs that came to REQLIB, of the ``expected`` types in order; each ACK the
    acknowledgement (no error) of the APDU it answered the one before with."""
    received = loan.requester.received()
    assert [apdu.apdu_type for apdu in received] == list(expected)
    for apdu in received:
        if apdu.apdu_type == ACK:
            assert isinstance(apdu, StatusOrErrorReport) and apdu.error_report is None, apdu
    return [apdu for apdu in received if apdu.apdu_type != ACK]


Mine = Callable[[Exchanged], bool]


def everything(entry: Exchanged) -> bool:
    return True


def of(qualifier: str) -> Mine:
    """The exchanges of REQLIB's transaction G1/``qualifier``."""
    return lambda entry: entry.message.header.request_id == f"G1/{qualifier}"


def sams(loan: Loan, mine: Mine = everything) -> list[SupplyingAgencyMessage]:
    """The SAMs the supplier sent (those ``mine`` picks), each confirmed OK by the gateway."""
    sent = [e for e in loan.supplier.exchanged() if e.direction == "out" and mine(e)]
    for entry in sent:
        assert entry.status == 200, entry
        assert entry.answer == "supplyingAgencyMessageConfirmation OK", entry
    found = [entry.message for entry in sent]
    assert all(isinstance(sam, SupplyingAgencyMessage) for sam in found)
    return [sam for sam in found if isinstance(sam, SupplyingAgencyMessage)]


def reasons(found: Sequence[SupplyingAgencyMessage]) -> list[tuple[str, str, str | None]]:
    return [(sam.reason, sam.status, sam.answer) for sam in found]


def posted(loan: Loan, mine: Mine = everything) -> list[Exchanged]:
    """What the gateway POSTed to the supplier (what ``mine`` picks), each confirmed OK."""
    came = [e for e in loan.supplier.exchanged() if e.direction == "in" and mine(e)]
    for entry in came:
        assert entry.status == 200, entry
        assert entry.answer.endswith("Confirmation OK"), entry
    return came


def what(entry: Exchanged) -> tuple[str, str | None, str | None]:
    """A Request as its requestType and the request id; a RAM as its action and the ids."""
    message = entry.message
    header = message.header
    if isinstance(message, Request):
        return f"Request {message.request_type}", header.request_id, message.previous_request_id
    assert isinstance(message, RequestingAgencyMessage), message
    return message.action, header.request_id, header.supplier_request_id


def day(at: datetime | None) -> str:
    """An instant's date on the ISO 10161 side (the supplier's routes say Berlin)."""
    assert at is not None
    return date_10161(at, BERLIN)


# --- the transaction as tx show has it ------------------------------------------------------------


def stored(
    loan: Loan,
    version: Version,
    expected: Sequence[str],
    number: int | None = None,
    mine: Mine = everything,
) -> dict[str, Any]:
    """``isoill tx show`` of the one transaction: its messages of the ``expected`` types in
    order, each delivered, each beside the ISO 18626 form that went out or came in (valid in
    ``version``; what went out is what the supplier got); both protocol machines in the
    states the ISO 10161 tables reach on those APDUs. The transaction, as shown: transaction
    ``number`` (default: the one the gateway tracks), whose exchanges ``mine`` picks."""
    shown = tx_shown(loan.gateway.config, number)
    messages = shown["messages"]
    assert [m["apdu_type"] for m in messages] == list(expected)
    assert all(m["state"] == "delivered" for m in messages), messages
    machines = Machines()
    for message in messages:
        machines.take(from_json(message["apdu"]))
    transaction: dict[str, Any] = shown["transaction"]
    assert (transaction["requester_state"], transaction["responder_state"]) == (
        machines.states.requester.value,
        machines.states.responder.value,
    )
    out = [m["xml"].encode() for m in messages if m["target_symbol"] == "RSLEND"]
    assert out == [entry.body for entry in posted(loan, mine)]
    came = [m["xml"].encode() for m in messages if m["target_symbol"] == "REQLIB"]
    read = [forms.read(wire.parse(xml, version=version).model, BERLIN) for xml in came]
    assert all(isinstance(sam, b.SupplyingAgencyMessage) for sam in read)
    assert [
        (sam.reason.value, sam.status.value)
        for sam in read
        if isinstance(sam, b.SupplyingAgencyMessage)
    ] == [(sam.reason, sam.status) for sam in sams(loan, mine)]
    return transaction


def bridge(transaction: dict[str, Any], version: Version, **expected: Any) -> None:
    """The transaction's ISO 18626 side: RSLEND's, in ``version``, with ``expected``."""
    state = transaction["bridge"]
    assert state["requesting_agency"] == ["ISIL", "REQLIB"]
    assert state["supplying_agency"] == ["ISIL", "RSLEND"]
    assert state["version"] == version.value
    assert {key: state[key] for key in expected} == expected


# --- the flows ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
@pytest.mark.parametrize("renewed", [True, False], ids=["renew-yes", "renew-no"])
async def test_a_loan_goes_from_shipped_to_checked_in(
    tmp_path: Path, yaz_illclient: str, version: Version, renewed: bool
) -> None:
    """Loaned, Received, Overdue, Renew (yes, or no with RENEW_NO), ShippedReturn,
    LoanCompleted: REQLIB gets Shipped ... Checked-In, and both machines end CHECKED-IN."""
    answers = script({"Shipped": "Received", "Overdue": "Renew", "Renew-Answer": "Returned"})
    note = "MOCK:LOANED_OVERDUE" + ("" if renewed else "+RENEW_NO")
    async with running(tmp_path, answers, version) as loan:
        await loan.request(yaz_illclient, note)
        await loan.requester.wait_for("Checked-In")
        await loan.settled(sams=4, messages=8)
        shipped, overdue, renew_answer, checked_in = came_to_requester(
            loan, ["Shipped", ACK, "Overdue", ACK, "Renew-Answer", ACK, "Checked-In"]
        )
        loaned, late, renew_response, completed = sent = sams(loan)
        transaction = stored(
            loan,
            version,
            [
                "ILL-Request",
                "Shipped",
                "Received",
                "Overdue",
                "Renew",
                "Renew-Answer",
                "Returned",
                "Checked-In",
            ],
        )
    # The supplier: RequestResponse first, then StatusChange, the RenewResponse answering.
    renewal = ("RenewResponse", "Loaned", "Y") if renewed else ("RenewResponse", "Overdue", "N")
    assert reasons(sent) == [
        ("RequestResponse", "Loaned", None),
        ("StatusChange", "Overdue", None),
        renewal,
        ("StatusChange", "LoanCompleted", None),
    ]
    assert [what(entry) for entry in posted(loan)] == [
        ("Request New", REQUEST_ID, None),
        ("Received", REQUEST_ID, "S-1"),  # the supplier's id, learnt from its first SAM
        ("Renew", REQUEST_ID, "S-1"),
        ("ShippedReturn", REQUEST_ID, "S-1"),
    ]
    # REQLIB: each SAM as its APDU, dates in the supplier's zone.
    assert isinstance(shipped, Shipped)
    assert shipped.shipped_service_type is ShippedServiceType.LOAN
    assert shipped.supply_details.date_due is not None
    assert shipped.supply_details.date_due.date_due_field == day(loaned.due)
    assert isinstance(overdue, Overdue) and overdue.date_due.date_due_field == day(late.due)
    assert isinstance(renew_answer, RenewAnswer) and renew_answer.answer is renewed
    if renewed:
        assert loaned.due is not None and renew_response.due == loaned.due + LOAN_PERIOD
        assert renew_answer.date_due is not None
        assert renew_answer.date_due.date_due_field == day(renew_response.due)
    assert isinstance(checked_in, CheckedIn)
    assert checked_in.date_checked_in == day(completed.last_change)
    assert (transaction["requester_state"], transaction["responder_state"]) == (
        "CHECKED-IN",
        "CHECKED-IN",
    )
    bridge(
        transaction,
        version,
        requesting_request_id=REQUEST_ID,
        supplying_request_id="S-1",
        status="LoanCompleted",
        answered=True,
        question=None,
        retries=0,
    )


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
async def test_a_loan_renewed_once_received_is_checked_in(
    tmp_path: Path, yaz_illclient: str, version: Version
) -> None:
    """Loaned; REQLIB says Received, then (the test, on a connection of its own) Renew, and
    Returned once the Renew-Answer is in: RenewResponse Y while Loaned, LoanCompleted."""
    async with running(tmp_path, script({"Shipped": "Received"}), version) as loan:
        await loan.request(yaz_illclient, "MOCK:LOANED")
        [shipped, _] = await loan.requester.wait_for(ACK)
        await loan.supplier.wait_for(2)  # the Request, the Received
        await loan.send("Renew", shipped)
        await loan.requester.wait_for("Renew-Answer")
        await loan.send("Returned", shipped)
        await loan.requester.wait_for("Checked-In")
        await loan.settled(sams=3, messages=7)
        _, renew_answer, checked_in = came_to_requester(
            loan, ["Shipped", ACK, "Renew-Answer", "Checked-In"]
        )
        loaned, renew_response, completed = sent = sams(loan)
        transaction = stored(
            loan,
            version,
            [
                "ILL-Request",
                "Shipped",
                "Received",
                "Renew",
                "Renew-Answer",
                "Returned",
                "Checked-In",
            ],
        )
    assert reasons(sent) == [
        ("RequestResponse", "Loaned", None),
        ("RenewResponse", "Loaned", "Y"),
        ("StatusChange", "LoanCompleted", None),
    ]
    assert [what(entry) for entry in posted(loan)] == [
        ("Request New", REQUEST_ID, None),
        ("Received", REQUEST_ID, "S-1"),
        ("Renew", REQUEST_ID, "S-1"),
        ("ShippedReturn", REQUEST_ID, "S-1"),
    ]
    assert isinstance(renew_answer, RenewAnswer) and renew_answer.answer is True
    assert loaned.due is not None and renew_response.due == loaned.due + LOAN_PERIOD
    assert renew_answer.date_due is not None
    assert renew_answer.date_due.date_due_field == day(renew_response.due)
    assert isinstance(checked_in, CheckedIn)
    assert checked_in.date_checked_in == day(completed.last_change)
    assert (transaction["requester_state"], transaction["responder_state"]) == (
        "CHECKED-IN",
        "CHECKED-IN",
    )
    bridge(transaction, version, status="LoanCompleted", answered=True, question=None)


async def test_a_recalled_loan_is_returned_and_checked_in(
    tmp_path: Path, yaz_illclient: str
) -> None:
    """LOANED_RECALLED: the supplier recalls the item once it is received; REQLIB returns it."""
    version = Version.V1_2
    answers = script({"Shipped": "Received", "Recall": "Returned"})
    async with running(tmp_path, answers, version) as loan:
        await loan.request(yaz_illclient, "MOCK:LOANED_RECALLED")
        await loan.requester.wait_for("Checked-In")
        await loan.settled(sams=3, messages=6)
        came_to_requester(loan, ["Shipped", ACK, "Recall", ACK, "Checked-In"])
        sent = sams(loan)
        transaction = stored(
            loan,
            version,
            ["ILL-Request", "Shipped", "Received", "Recall", "Returned", "Checked-In"],
        )
    assert reasons(sent) == [
        ("RequestResponse", "Loaned", None),
        ("StatusChange", "Recalled", None),
        ("StatusChange", "LoanCompleted", None),
    ]
    assert [what(entry) for entry in posted(loan)] == [
        ("Request New", REQUEST_ID, None),
        ("Received", REQUEST_ID, "S-1"),
        ("ShippedReturn", REQUEST_ID, "S-1"),
    ]
    assert (transaction["requester_state"], transaction["responder_state"]) == (
        "CHECKED-IN",
        "CHECKED-IN",
    )
    bridge(transaction, version, status="LoanCompleted", answered=True, question=None)


async def test_a_copy_completed_is_shipped_non_returnable(
    tmp_path: Path, yaz_illclient: str
) -> None:
    """A copy: CopyCompleted becomes a Shipped copy-non-returnable, which REQLIB receives;
    nothing follows it on either side."""
    version = Version.V2021
    async with running(tmp_path, script({"Shipped": "Received"}), version) as loan:
        await loan.request(yaz_illclient, "MOCK:COMPLETED", service=2)
        await loan.requester.wait_for(ACK)
        await loan.settled(sams=1, messages=3)
        await loan.supplier.wait_for(2)
        [shipped] = came_to_requester(loan, ["Shipped", ACK])
        sent = sams(loan)
        transaction = stored(loan, version, ["ILL-Request", "Shipped", "Received"])
    assert reasons(sent) == [("RequestResponse", "CopyCompleted", None)]
    [request, received] = posted(loan)
    assert isinstance(request.message, Request) and request.message.service_type == "Copy"
    assert what(received) == ("Received", REQUEST_ID, "S-1")
    assert isinstance(shipped, Shipped)
    assert shipped.shipped_service_type is ShippedServiceType.COPY_NON_RETURNABLE
    assert shipped.supply_details.date_due is None
    assert (transaction["requester_state"], transaction["responder_state"]) == (
        "RECEIVED (non-returnable)",
        "SHIPPED (non-returnable)",
    )
    bridge(transaction, version, status="CopyCompleted", answered=True, service_type="Copy")


@pytest.mark.parametrize("agreed", [True, False], ids=["cancel-yes", "cancel-no"])
async def test_a_cancel_before_the_loan_is_answered(
    tmp_path: Path, yaz_illclient: str, agreed: bool
) -> None:
    """WillSupply, then REQLIB's Cancel: CancelResponse Y (Cancelled), or N with CANCEL_NO
    (the status unchanged), reaching REQLIB as its Cancel-Reply."""
    note = "MOCK:WILLSUPPLY" + ("" if agreed else "+CANCEL_NO")
    version = Version.V1_2
    async with running(tmp_path, script({"ILL-Answer": "Cancel"}), version) as loan:
        await loan.request(yaz_illclient, note)
        await loan.requester.wait_for("Cancel-Reply")
        await loan.settled(sams=2, messages=4)
        will_supply, reply = came_to_requester(loan, ["ILL-Answer", ACK, "Cancel-Reply"])
        sent = sams(loan)
        transaction = stored(loan, version, ["ILL-Request", "ILL-Answer", "Cancel", "Cancel-Reply"])
    answer = (
        ("CancelResponse", "Cancelled", "Y") if agreed else ("CancelResponse", "WillSupply", "N")
    )
    assert reasons(sent) == [("RequestResponse", "WillSupply", None), answer]
    assert [what(entry) for entry in posted(loan)] == [
        ("Request New", REQUEST_ID, None),
        ("Cancel", REQUEST_ID, "S-1"),
    ]
    assert isinstance(will_supply, ILLAnswer)
    assert will_supply.transaction_results is TransactionResults.WILL_SUPPLY
    assert isinstance(reply, CancelReply) and reply.answer is agreed
    states = ("CANCELLED", "CANCELLED") if agreed else ("PENDING", "IN-PROCESS")
    assert (transaction["requester_state"], transaction["responder_state"]) == states
    status = "Cancelled" if agreed else "WillSupply"
    bridge(transaction, version, status=status, answered=True, question=None)


async def test_a_status_query_is_answered_with_the_suppliers_status(
    tmp_path: Path, yaz_illclient: str
) -> None:
    """REQLIB's Status-Query goes as a StatusRequest; the StatusRequestResponse comes back to
    REQLIB (not to the supplier: a status report is an APDU either party sends) as its
    Status-Or-Error-Report with the state the status maps to."""
    version = Version.V1_2
    async with running(tmp_path, script({"ILL-Answer": "Status-Query"}), version) as loan:
        await loan.request(yaz_illclient, "MOCK:WILLSUPPLY")
        await until(lambda: len(loan.requester.received()) >= 3, "the status report")
        await loan.settled(sams=2, messages=4)
        will_supply, ack, report = loan.requester.received()
        sent = sams(loan)
        transaction = stored(
            loan,
            version,
            ["ILL-Request", "ILL-Answer", "Status-Query", "Status-Or-Error-Report"],
        )
    assert reasons(sent) == [
        ("RequestResponse", "WillSupply", None),
        ("StatusRequestResponse", "WillSupply", None),
    ]
    assert [what(entry) for entry in posted(loan)] == [
        ("Request New", REQUEST_ID, None),
        ("StatusRequest", REQUEST_ID, "S-1"),
    ]
    assert isinstance(will_supply, ILLAnswer)
    assert isinstance(ack, StatusOrErrorReport) and ack.error_report is None
    assert isinstance(report, StatusOrErrorReport) and report.status_report is not None
    state = report.status_report.provider_status_report
    assert state == STATE_FOR_STATUS.to_10161("WillSupply")
    bridge(transaction, version, status="WillSupply", question=None)


async def test_unfilled_reaches_the_requester_as_its_ill_answer(
    tmp_path: Path, yaz_illclient: str
) -> None:
    version = Version.V1_2
    async with running(tmp_path, "", version) as loan:
        await loan.request(yaz_illclient, "MOCK:UNFILLED")
        await loan.requester.wait_for("ILL-Answer")
        await loan.settled(sams=1, messages=2)
        [answer] = came_to_requester(loan, ["ILL-Answer"])
        [unfilled] = sams(loan)
        transaction = stored(loan, version, ["ILL-Request", "ILL-Answer"])
    assert reasons([unfilled]) == [("RequestResponse", "Unfilled", None)]
    assert isinstance(answer, ILLAnswer)
    assert answer.transaction_results is TransactionResults.UNFILLED
    explanation = answer.results_explanation
    assert explanation is not None and explanation.unfilled_results is not None
    assert unfilled.reason_unfilled is not None
    assert explanation.unfilled_results.reason_unfilled == UNFILLED_REASONS.to_10161(
        unfilled.reason_unfilled
    )
    assert (transaction["requester_state"], transaction["responder_state"]) == (
        "NOT-SUPPLIED",
        "NOT-SUPPLIED",
    )
    bridge(transaction, version, status="Unfilled", answered=True, question=None)


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: v.value)
async def test_a_condition_agreed_to_is_a_retry_that_is_loaned(
    tmp_path: Path, yaz_illclient: str, version: Version
) -> None:
    """RetryPossible MustMeetLoanCondition: REQLIB gets a conditional ILL-Answer and says yes
    (Conditional-Reply); the gateway sends the Request again as a Retry, which the supplier
    loans; the loan goes on to Checked-In in the same ISO 10161 transaction."""
    answers = script(
        {"ILL-Answer": "Conditional-Reply yes", "Shipped": "Received", "Overdue": "Returned"}
    )
    async with running(tmp_path, answers, version) as loan:
        await loan.request(yaz_illclient, "MOCK:RETRY:COND_LOANED_OVERDUE")
        await loan.requester.wait_for("Checked-In")
        await loan.settled(sams=4, messages=8)
        conditional, shipped, overdue, checked_in = came_to_requester(
            loan, ["ILL-Answer", ACK, "Shipped", ACK, "Overdue", ACK, "Checked-In"]
        )
        retry_possible, *_ = sent = sams(loan)
        transaction = stored(
            loan,
            version,
            [
                "ILL-Request",
                "ILL-Answer",
                "Conditional-Reply",
                "Shipped",
                "Received",
                "Overdue",
                "Returned",
                "Checked-In",
            ],
        )
    assert reasons(sent) == [
        ("RequestResponse", "RetryPossible", None),
        ("RequestResponse", "Loaned", None),  # the Retry is a request of its own
        ("StatusChange", "Overdue", None),
        ("StatusChange", "LoanCompleted", None),
    ]
    assert retry_possible.reason_retry == "MustMeetLoanCondition"
    retried = f"{REQUEST_ID}+1"
    assert [what(entry) for entry in posted(loan)] == [
        ("Request New", REQUEST_ID, None),
        ("Request Retry", retried, REQUEST_ID),
        ("Received", retried, "S-2"),
        ("ShippedReturn", retried, "S-2"),
    ]
    assert isinstance(conditional, ILLAnswer)
    assert conditional.transaction_results is TransactionResults.CONDITIONAL
    explanation = conditional.results_explanation
    assert explanation is not None and explanation.conditional_results is not None
    # 2021's retryInfo names the condition; v1.2 has no place for it (the supplier's note has)
    condition = LOAN_CONDITIONS.to_10161(LOAN_CONDITION) if version is Version.V2021 else None
    assert explanation.conditional_results.conditions is (condition or Conditions.OTHER)
    assert conditional.responder_note is not None
    assert LOAN_CONDITION in conditional.responder_note.text
    assert isinstance(shipped, Shipped) and isinstance(overdue, Overdue)
    assert isinstance(checked_in, CheckedIn)
    assert (transaction["requester_state"], transaction["responder_state"]) == (
        "CHECKED-IN",
        "CHECKED-IN",
    )
    bridge(
        transaction,
        version,
        supplying_request_id="S-2",
        status="LoanCompleted",
        answered=True,
        question=None,
        retries=1,
    )


async def test_a_condition_refused_ends_the_request(tmp_path: Path, yaz_illclient: str) -> None:
    """REQLIB says no to the condition: the ISO 18626 request ended with RetryPossible
    already, so the supplier is told in a Notification, and nothing is retried."""
    version = Version.V2021
    answers = script({"ILL-Answer": "Conditional-Reply no"})
    async with running(tmp_path, answers, version) as loan:
        await loan.request(yaz_illclient, "MOCK:RETRY:COND")
        await loan.requester.wait_for(ACK)
        await loan.settled(sams=1, messages=3)
        await loan.supplier.wait_for(2)
        [conditional] = came_to_requester(loan, ["ILL-Answer", ACK])
        sent = sams(loan)
        transaction = stored(loan, version, ["ILL-Request", "ILL-Answer", "Conditional-Reply"])
    assert reasons(sent) == [("RequestResponse", "RetryPossible", None)]
    assert [what(entry) for entry in posted(loan)] == [
        ("Request New", REQUEST_ID, None),
        ("Notification", REQUEST_ID, "S-1"),
    ]
    assert isinstance(conditional, ILLAnswer)
    assert conditional.transaction_results is TransactionResults.CONDITIONAL
    assert (transaction["requester_state"], transaction["responder_state"]) == (
        "NOT-SUPPLIED",
        "NOT-SUPPLIED",
    )
    bridge(transaction, version, status="RetryPossible", retries=0, question=None)


@pytest.mark.parametrize("enforcing", ["REQLIB", "RSLEND"])
async def test_what_the_iso10161_tables_forbid_is_refused_on_either_side(
    tmp_path: Path, yaz_illclient: str, enforcing: str
) -> None:
    """REQLIB sends a Renew before anything is shipped. Where REQLIB's state_machine is
    enforce, the gateway refuses it (state-transition-prohibited) and the supplier never
    hears of it; where only RSLEND's is, the Renew goes on (warn), and the supplier's
    RenewResponse, whose Renew-Answer the responder's machine forbids, gets an ERROR
    Confirmation, REQLIB nothing."""
    version = Version.V1_2
    extra = f'\n[peers.{enforcing}]\nstate_machine = "enforce"\n'
    answers = script({"ILL-Answer": "Renew"})
    async with running(tmp_path, answers, version, extra) as loan:
        await loan.request(yaz_illclient, "MOCK:WILLSUPPLY")
        await loan.requester.wait_for(ACK)
        by_requester = enforcing == "REQLIB"
        await loan.settled(
            sams=1 if by_requester else 2, messages=3 if by_requester else 4, refused=1
        )
        [will_supply, answer] = loan.requester.received()
        exchanged = loan.supplier.exchanged()
        shown = tx_shown(loan.gateway.config)
    assert isinstance(will_supply, ILLAnswer) and isinstance(answer, StatusOrErrorReport)
    transaction = shown["transaction"]
    assert (transaction["requester_state"], transaction["responder_state"]) == (
        "PENDING",
        "IN-PROCESS",
    )
    messages = [(m["apdu_type"], m["state"]) for m in shown["messages"]]
    if by_requester:
        assert answer.error_report is not None
        problem = answer.error_report.provider_error_report
        assert problem is not None and problem.state_transition_prohibited is not None
        assert [entry.message.header.request_id for entry in exchanged] == [REQUEST_ID] * 2
        assert [what(entry) for entry in posted(loan)] == [("Request New", REQUEST_ID, None)]
        assert messages == [
            ("ILL-Request", "delivered"),
            ("ILL-Answer", "delivered"),
            ("Renew", "refused"),
        ]
        bridge(transaction, version, status="WillSupply", question=None)
        return
    assert answer.error_report is None  # warned of, and forwarded
    [_, refused] = [entry for entry in exchanged if entry.direction == "out"]
    assert isinstance(refused.message, SupplyingAgencyMessage)
    assert (refused.message.reason, refused.message.answer) == ("RenewResponse", "N")
    assert refused.answer.startswith(
        "supplyingAgencyMessageConfirmation ERROR UnsupportedReasonForMessageType:"
    )
    assert "Renew-Answer is not allowed while the responder is IN-PROCESS" in refused.answer
    assert messages == [
        ("ILL-Request", "delivered"),
        ("ILL-Answer", "delivered"),
        ("Renew", "delivered"),
        ("Renew-Answer", "refused"),
    ]
    bridge(transaction, version, status="WillSupply", question="Renew")  # still unanswered


async def test_loans_at_once_each_keep_to_their_own_transaction(
    tmp_path: Path, yaz_illclient: str
) -> None:
    """Three requests at once, each its own scenario: every SAM reaches the ISO 10161
    transaction its request id names, every RAM carries that transaction's supplier id."""
    answers = script({"Shipped": "Received", "Overdue": "Returned"})
    scenarios = {"T1": "LOANED_OVERDUE", "T2": "UNFILLED", "T3": "WILLSUPPLY_LOANED"}
    version = Version.V1_2
    async with running(tmp_path, answers, version) as loan:
        await asyncio.gather(
            *(
                loan.request(yaz_illclient, f"MOCK:{scenario}", qualifier)
                for qualifier, scenario in scenarios.items()
            )
        )
        await loan.requester.wait_for("Checked-In")
        await loan.settled(sams=6, messages=12)
        received = loan.requester.received()
        listed = {t["transaction_id"]["qualifier"]: t for t in tx_list(loan.gateway.config)}
        assert sorted(listed) == sorted(scenarios)
        expected = {
            "T1": ["ILL-Request", "Shipped", "Received", "Overdue", "Returned", "Checked-In"],
            "T2": ["ILL-Request", "ILL-Answer"],
            "T3": ["ILL-Request", "ILL-Answer", "Shipped", "Received"],
        }
        shown = {
            qualifier: stored(loan, version, types, listed[qualifier]["id"], of(qualifier))
            for qualifier, types in expected.items()
        }
    by_transaction = {
        qualifier: [
            apdu.apdu_type
            for apdu in received
            if apdu.transaction_id.transaction_qualifier == Text.of(qualifier)
        ]
        for qualifier in scenarios
    }
    assert by_transaction == {
        "T1": ["Shipped", ACK, "Overdue", ACK, "Checked-In"],
        "T2": ["ILL-Answer"],
        "T3": ["ILL-Answer", "Shipped", ACK],
    }
    supplier_ids = {}
    for qualifier in scenarios:
        theirs = [e for e in loan.supplier.exchanged() if of(qualifier)(e)]
        ids = {e.message.header.supplier_request_id for e in theirs[1:]}  # all but the Request
        assert len(ids) == 1, theirs  # the SAMs' own id, echoed in the RAMs
        supplier_ids[qualifier] = ids.pop()
    assert len(set(supplier_ids.values())) == 3
    states = {
        qualifier: (t["requester_state"], t["responder_state"], t["bridge"]["status"])
        for qualifier, t in shown.items()
    }
    assert states == {
        "T1": ("CHECKED-IN", "CHECKED-IN", "LoanCompleted"),
        "T2": ("NOT-SUPPLIED", "NOT-SUPPLIED", "Unfilled"),
        "T3": ("RECEIVED", "SHIPPED", "Loaned"),
    }
    for qualifier, transaction in shown.items():
        assert transaction["bridge"]["supplying_request_id"] == supplier_ids[qualifier]
