"""Whole transactions in the bridge's inbound direction, through a running daemon on real
loopback sockets: the simulated ISO 18626 requester REQ1 POSTs its Requests and requesting
agency messages to ``isoill serve``; the ISO 10161 responder SUP1 (``isoill peer`` with a
script) gets them as APDUs, and its own APDUs come back through the daemon as supplying
agency messages POSTed to the requester, each with the status and reasonForMessage the
bridge keeps (isoill/bridge/state.py), until the transaction ends. The daemon's ISO 10161
view (``isoill tx show``) must agree with the protocol machines run over the APDUs it
stored."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from bridge_support import Machines
from flows18626_support import WAIT
from flows_in_support import REQUESTER, RESPONDER, Flow, flow, responder_script
from gateway_harness import until
from peer18626_support import REQ, SUP, now, post, ram, request

from isoill.bridge.inbound import ADD_CONDITION, AGREE
from isoill.codec.jsonform import from_json
from isoill.codec.models import ConditionalReply, IllApdu, ILLRequest, StatusOrErrorReport
from isoill.ill.symbols import symbol_of
from isoill.iso18626.messages import Version
from isoill.service.handoff import RUN
from isoill.tools.peer18626.messages import (
    Confirmation,
    Header,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
)

pytestmark = pytest.mark.asyncio

VERSIONS = pytest.mark.parametrize("version", [Version.V1_2, Version.V2021])
#: What a loan's requester sends, as the responder gets it.
LOAN = ("ILL-Request", "Received", "Returned")


def said(sam: SupplyingAgencyMessage) -> tuple[str, str, str | None]:
    """What a supplying agency message says: its status, reasonForMessage and answer."""
    return sam.status, sam.reason, sam.answer


def posted(flow_: Flow) -> list[str]:
    """What the requester sent, in order: ``Request New``, then each RAM's action."""
    found = []
    for exchanged in flow_.sent():
        message = exchanged.message
        if isinstance(message, Request):
            found.append(f"Request {message.request_type}")
        else:
            assert isinstance(message, RequestingAgencyMessage)
            found.append(message.action)
    return found


def confirmed_ok(flow_: Flow) -> None:
    """Every message either side POSTed was confirmed OK, the ids, the action or reason
    echoed."""
    for exchanged in flow_.exchanges():
        answer, message = exchanged.answer, exchanged.message
        assert exchanged.status == 200 and isinstance(answer, Confirmation), exchanged
        assert answer.ok, answer
        assert isinstance(message, Request | RequestingAgencyMessage | SupplyingAgencyMessage)
        assert answer.request_id == message.header.request_id
        if isinstance(message, RequestingAgencyMessage):
            assert answer.action == message.action
        if isinstance(message, SupplyingAgencyMessage):
            assert answer.reason == message.reason


def apdu_types(apdus: list[IllApdu]) -> list[str]:
    """The types of what the responder received, without the daemon's acknowledgements of
    its own APDUs."""
    return [a.apdu_type for a in apdus if not isinstance(a, StatusOrErrorReport)]


def machines_over(shown: dict[str, Any]) -> Machines:
    """Both protocol machines, run over the APDUs ``tx show --messages`` lists."""
    machines = Machines()
    for message in shown["messages"]:
        machines.take(from_json(message["apdu"]))
    return machines


def agrees(shown: dict[str, Any]) -> Machines:
    """The daemon's states of a transaction are those of the machines over its APDUs."""
    machines = machines_over(shown)
    record = shown["transaction"]
    assert record["requester_state"] == machines.states.requester.value
    assert record["responder_state"] == machines.states.responder.value
    return machines


def history(shown: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Each stored message: its type, who sent it, its state."""
    return [(m["apdu_type"], m["peer"], m["state"]) for m in shown["messages"]]


@VERSIONS
async def test_a_whole_loan_renewed_once_refused_once_overdue_returned_to_loan_completed(
    tmp_path: Path, version: Version
) -> None:
    script = responder_script(
        {
            "ILL-Request": "Shipped",
            "Received": "Overdue",  # the loan falls due as soon as it arrives
            "Renew": ["Renew-Answer yes", "Renew-Answer no"],
            "Returned": "Checked-In",
        }
    )
    async with flow(tmp_path, version, script) as running:
        await running.request(
            {"title": "Dune", "author": "Herbert, Frank", "note": "#RENEW# #RENEW#",
             "request_id": "req-loan"},
            return_after=0.5,
        )  # fmt: skip
        lines = await running.ended()
        shown = await running.transactions()

    assert lines[-1] == "isoill peer: req-loan: LoanCompleted"
    assert posted(running) == [
        "Request New",
        "Received",
        "Renew",
        "Renew",
        "ShippedReturn",
    ]
    sams = running.sams()
    assert [said(sam) for sam in sams] == [
        ("Loaned", "RequestResponse", None),
        ("Overdue", "StatusChange", None),
        ("Loaned", "RenewResponse", "Y"),
        ("Loaned", "RenewResponse", "N"),
        ("LoanCompleted", "StatusChange", None),
    ]
    confirmed_ok(running)
    for sam in sams:
        header = sam.header
        assert (str(header.requester), str(header.supplier)) == ("ISIL:REQ1", "ISIL:SUP1")
        assert header.request_id == "req-loan"
        assert header.supplier_request_id == "ISO18626/req-loan"
    loaned, overdue, renewed, refused, _ = sams
    assert loaned.due is not None and renewed.due is not None
    assert overdue.due is not None and overdue.due < loaned.due  # due today, not in 4 weeks
    assert refused.due is None

    # The ISO 10161 responder got the Request and every RAM as its APDU, in order, once.
    apdus = running.apdus()
    assert apdu_types(apdus) == ["ILL-Request", "Received", "Renew", "Renew", "Returned"]
    for apdu in apdus:
        assert (symbol_of(apdu.requester_id), symbol_of(apdu.responder_id)) == (
            REQUESTER,
            RESPONDER,
        )
        assert apdu.transaction_id.transaction_qualifier.text == "req-loan"

    # The daemon's view: each message stored and delivered, the machines' states its own.
    (transaction,) = shown
    assert history(transaction) == [
        ("ILL-Request", REQUESTER, "delivered"),
        ("Shipped", RESPONDER, "delivered"),
        ("Received", REQUESTER, "delivered"),
        ("Overdue", RESPONDER, "delivered"),
        ("Renew", REQUESTER, "delivered"),
        ("Renew-Answer", RESPONDER, "delivered"),
        ("Renew", REQUESTER, "delivered"),
        ("Renew-Answer", RESPONDER, "delivered"),
        ("Returned", REQUESTER, "delivered"),
        ("Checked-In", RESPONDER, "delivered"),
    ]
    assert all(m["xml"] is not None for m in transaction["messages"])  # both sides kept
    machines = agrees(transaction)
    assert (machines.states.requester.value, machines.states.responder.value) == (
        "CHECKED-IN",
        "CHECKED-IN",
    )
    bridge = transaction["transaction"]["bridge"]
    assert (bridge["status"], bridge["answered"], bridge["question"]) == (
        "LoanCompleted",
        True,
        None,
    )
    assert bridge["version"] == version.value


@VERSIONS
async def test_a_recalled_loan_is_returned_at_once_to_loan_completed(
    tmp_path: Path, version: Version
) -> None:
    script = responder_script(
        {"ILL-Request": "Shipped", "Received": "Recall", "Returned": "Checked-In"}
    )
    async with flow(tmp_path, version, script) as running:
        await running.request({"title": "Dune", "request_id": "req-recall"}, return_after=60)
        assert (await running.ended())[-1] == "isoill peer: req-recall: LoanCompleted"
        shown = await running.transactions()

    assert [said(sam) for sam in running.sams()] == [
        ("Loaned", "RequestResponse", None),
        ("Recalled", "StatusChange", None),
        ("LoanCompleted", "StatusChange", None),
    ]
    assert posted(running) == ["Request New", "Received", "ShippedReturn"]
    confirmed_ok(running)
    assert apdu_types(running.apdus()) == list(LOAN)
    (transaction,) = shown
    assert [m[0] for m in history(transaction)] == [
        "ILL-Request",
        "Shipped",
        "Received",
        "Recall",
        "Returned",
        "Checked-In",
    ]
    machines = agrees(transaction)
    assert machines.states.requester.value == machines.states.responder.value == "CHECKED-IN"


@pytest.mark.parametrize(
    ("reply", "answer", "status"), [("yes", "Y", "Cancelled"), ("no", "N", "WillSupply")]
)
async def test_a_cancel_is_answered_yes_or_no_as_a_cancel_response(
    tmp_path: Path, reply: str, answer: str, status: str
) -> None:
    script = responder_script(
        {"ILL-Request": "ILL-Answer will-supply", "Cancel": f"Cancel-Reply {reply}"}
    )
    async with flow(tmp_path, Version.V1_2, script) as running:
        await running.request({"title": "Dune", "note": "#CANCEL#", "request_id": "req-cancel"})
        sams = await running.sams_until(2)
        if reply == "yes":
            assert (await running.ended())[-1] == "isoill peer: req-cancel: Cancelled"
        shown = await running.transactions()

    assert [said(sam) for sam in sams] == [
        ("WillSupply", "RequestResponse", None),
        (status, "CancelResponse", answer),
    ]
    assert posted(running) == ["Request New", "Cancel"]
    confirmed_ok(running)
    assert apdu_types(running.apdus()) == ["ILL-Request", "Cancel"]
    (transaction,) = shown
    assert history(transaction) == [
        ("ILL-Request", REQUESTER, "delivered"),
        ("ILL-Answer", RESPONDER, "delivered"),
        ("Cancel", REQUESTER, "delivered"),
        ("Cancel-Reply", RESPONDER, "delivered"),
    ]
    machines = agrees(transaction)
    ended = {"yes": ("CANCELLED", "CANCELLED"), "no": ("PENDING", "IN-PROCESS")}[reply]
    assert (machines.states.requester.value, machines.states.responder.value) == ended
    bridge = transaction["transaction"]["bridge"]
    assert (bridge["status"], bridge["question"]) == (status, None)


@VERSIONS
async def test_an_unfilled_answer_ends_the_request_unfilled(
    tmp_path: Path, version: Version
) -> None:
    script = responder_script({"ILL-Request": "ILL-Answer unfilled"})
    async with flow(tmp_path, version, script) as running:
        await running.request({"title": "Dune", "request_id": "req-unfilled"})
        assert (await running.ended())[-1] == "isoill peer: req-unfilled: Unfilled"
        shown = await running.transactions()

    (sam,) = running.sams()
    assert said(sam) == ("Unfilled", "RequestResponse", None)
    assert sam.reason_unfilled == "NotHeld"  # the peer's not-owned
    confirmed_ok(running)
    (transaction,) = shown
    assert history(transaction) == [
        ("ILL-Request", REQUESTER, "delivered"),
        ("ILL-Answer", RESPONDER, "delivered"),
    ]
    machines = agrees(transaction)
    assert machines.states.requester.value == machines.states.responder.value == "NOT-SUPPLIED"
    assert transaction["transaction"]["bridge"]["status"] == "Unfilled"


@VERSIONS
async def test_a_conditional_answer_is_retried_under_the_2021_model_to_loan_completed(
    tmp_path: Path, version: Version
) -> None:
    script = responder_script(
        {"ILL-Request": ["ILL-Answer conditional", "Shipped"], "Returned": "Checked-In"}
    )
    async with flow(tmp_path, version, script) as running:
        await running.request({"title": "Dune", "request_id": "req-cond"}, return_after=0.2)
        lines = await running.ended()
        shown = await running.transactions()

    first, retried = running.sent()[0].message, running.sent()[1].message
    assert isinstance(first, Request) and isinstance(retried, Request)
    assert (retried.request_type, retried.previous_request_id) == ("Retry", "req-cond")
    retry_id = retried.header.request_id
    assert retry_id != "req-cond"
    assert f"isoill peer: req-cond: RetryPossible: retried as {retry_id}" in lines
    assert lines[-1] == f"isoill peer: {retry_id}: LoanCompleted"
    assert posted(running) == ["Request New", "Request Retry", "Received", "ShippedReturn"]
    sams = running.sams()
    assert [(sam.header.request_id, *said(sam)) for sam in sams] == [
        ("req-cond", "RetryPossible", "RequestResponse", None),
        (retry_id, "Loaned", "RequestResponse", None),
        (retry_id, "LoanCompleted", "StatusChange", None),
    ]
    assert sams[0].reason_retry == "CostExceedsMaxCost"  # the peer's condition: charges
    confirmed_ok(running)

    # Two ISO 10161 transactions: the conditional one left CONDITIONAL (the 2021 model ends
    # the ISO 18626 request there), the retry a request of its own with the retry-flag.
    requests = [a for a in running.apdus() if isinstance(a, ILLRequest)]
    assert [r.transaction_id.transaction_qualifier.text for r in requests] == [
        "req-cond",
        retry_id,
    ]
    assert [r.retry_flag for r in requests] == [False, True]
    conditional, loan = shown
    assert history(conditional) == [
        ("ILL-Request", REQUESTER, "delivered"),
        ("ILL-Answer", RESPONDER, "delivered"),
    ]
    machines = agrees(conditional)
    assert machines.states.requester.value == machines.states.responder.value == "CONDITIONAL"
    assert conditional["transaction"]["bridge"]["status"] == "RetryPossible"
    assert [m[0] for m in history(loan)] == [
        "ILL-Request",
        "Shipped",
        "Received",
        "Returned",
        "Checked-In",
    ]
    machines = agrees(loan)
    assert machines.states.requester.value == machines.states.responder.value == "CHECKED-IN"
    bridge = loan["transaction"]["bridge"]
    assert (bridge["status"], bridge["previous_request_id"]) == ("LoanCompleted", "req-cond")


async def test_a_conditional_answer_agreed_under_the_reshare_model_goes_on_to_loan_completed(
    tmp_path: Path,
) -> None:
    """ReShare's model: the condition comes as WillSupply with #ReShareAddLoanCondition#, and
    the request stays open; the requester agrees with a Notification (posted here: the
    simulated requester does not speak ReShare's notes), which the ISO 10161 responder gets
    as its Conditional-Reply yes, and the loan goes on."""
    script = responder_script(
        {
            "ILL-Request": "ILL-Answer conditional",
            "Conditional-Reply": "Shipped",
            "Returned": "Checked-In",
        }
    )
    async with flow(tmp_path, Version.V1_2, script, conditional="reshare") as running:
        await running.request({"title": "Dune", "request_id": "req-reshare"}, return_after=0.2)
        (condition,) = await running.sams_until(1)
        header = Header(SUP, REQ, "req-reshare", now(), condition.header.supplier_request_id)
        agreed = RequestingAgencyMessage(header, "Notification", AGREE + " we pay the charges")
        agreement = await post(running.url, agreed)
        assert (await running.ended())[-1] == "isoill peer: req-reshare: LoanCompleted"
        shown = await running.transactions()

    assert said(condition) == ("WillSupply", "RequestResponse", None)
    assert condition.note is not None and condition.note.startswith(ADD_CONDITION)
    assert agreement.status == 200
    assert agreement.confirmation().ok and agreement.confirmation().action == "Notification"
    assert [said(sam) for sam in running.sams()[1:]] == [
        ("Loaned", "StatusChange", None),
        ("LoanCompleted", "StatusChange", None),
    ]
    assert posted(running) == ["Request New", "Received", "ShippedReturn"]
    confirmed_ok(running)
    got = [a for a in running.apdus() if not isinstance(a, StatusOrErrorReport)]
    assert [a.apdu_type for a in got] == [
        "ILL-Request",
        "Conditional-Reply",
        "Received",
        "Returned",
    ]
    reply = got[1]
    assert isinstance(reply, ConditionalReply) and reply.answer
    (transaction,) = shown
    assert [m[0] for m in history(transaction)] == [
        "ILL-Request",
        "ILL-Answer",
        "Conditional-Reply",
        "Shipped",
        "Received",
        "Returned",
        "Checked-In",
    ]
    machines = agrees(transaction)
    assert machines.states.requester.value == machines.states.responder.value == "CHECKED-IN"


async def test_what_the_iso10161_machines_forbid_is_refused_with_an_error_confirmation(
    tmp_path: Path,
) -> None:
    script = responder_script({"ILL-Request": "Shipped"})
    async with flow(tmp_path, Version.V1_2, script) as running:
        # The requester cancels what is already shipped, which ISO 10161 does not allow.
        await running.request({"title": "Dune", "note": "#CANCEL#", "request_id": "req-bad"})
        lines = await running.ended()
        # A supplying agency message for SUP1, which speaks ISO 10161, saying Loaned again;
        # a Renew for a request nobody made.
        loaned_again = SupplyingAgencyMessage(
            Header(SUP, REQ, "req-bad", now(), "ISO18626/req-bad"),
            reason="StatusChange",
            status="Loaned",
            last_change=now(),
        )
        stray = await post(running.url, loaned_again)
        unknown = await post(running.url, ram("Renew", "req-nobody"))
        # The daemon goes on: the next Request is confirmed and delivered.
        fresh = await post(running.url, request("req-after"))
        await running.apdus_until(3)
        shown = await running.transactions()

    assert lines[-1] == "isoill peer: req-bad: stopped: its Cancel refused: UnsupportedActionType"
    assert posted(running) == ["Request New", "Cancel"]
    cancel = running.sent()[1].answer
    assert cancel is not None and not cancel.ok
    assert (cancel.error_type, cancel.action) == ("UnsupportedActionType", "Cancel")
    assert cancel.error_value is not None
    assert cancel.error_value.startswith("action Cancel not allowed in state SHIPPED: ")
    assert "Cancel is not allowed while the requester is SHIPPED" in cancel.error_value

    for answer, error_type, said_ in (
        (stray, "UnsupportedReasonForMessageType", "Shipped is not allowed while the responder"),
        (unknown, "UnrecognisedDataValue", "requestingAgencyRequestId req-nobody: not found"),
    ):
        assert answer.status == 200
        confirmation = answer.confirmation()
        assert not confirmation.ok and confirmation.error_type == error_type, confirmation
        assert confirmation.error_value is not None and said_ in confirmation.error_value
    assert fresh.status == 200 and fresh.confirmation().ok
    # Nothing refused reached the responder; the refusals are kept, states unmoved.
    assert apdu_types(running.apdus()) == ["ILL-Request", "ILL-Request"]
    bad = next(t for t in shown if t["transaction"]["transaction_id"]["qualifier"] == "req-bad")
    assert history(bad) == [
        ("ILL-Request", REQUESTER, "delivered"),
        ("Shipped", RESPONDER, "delivered"),
        ("Cancel", REQUESTER, "refused"),
        ("Shipped", RESPONDER, "refused"),
    ]
    record = bad["transaction"]
    assert (record["requester_state"], record["responder_state"]) == ("SHIPPED", "SHIPPED")
    assert record["bridge"]["status"] == "Loaned"


async def test_loans_mid_flow_survive_a_sigkill_each_confirmed_message_delivered_once_in_order(
    tmp_path: Path,
) -> None:
    """Four loans received; the responder goes away, the requester's ShippedReturns are
    confirmed and their Returned wait in the queue; the daemon is killed (SIGKILL). Started
    again on the same store, with the responder back, it delivers each Returned once, in the
    order it stored them, and every loan ends LoanCompleted, each supplying agency message
    POSTed once."""
    script = responder_script({"ILL-Request": "Shipped", "Returned": "Checked-In"})
    ids = [f"req-kill-{number}" for number in range(1, 5)]
    async with flow(tmp_path, Version.V1_2, script) as running:
        await running.request(
            *({"title": f"Dune {n}", "request_id": rid} for n, rid in enumerate(ids, 1)),
            return_after=5.0,  # each ShippedReturn comes well after every loan is received
        )
        await until(lambda: apdu_types(running.apdus()).count("Received") == 4, WAIT)
        await running.stop_responder()
        await until(lambda: posted(running).count("ShippedReturn") == 4, WAIT)
        await running.daemon.line("delivery failed", timeout=WAIT)
        assert await running.kill_daemon() == -signal.SIGKILL
        queued = await running.isoill("queue", "list")
        waiting = sorted(
            (m["id"], json.loads(m["transaction_key"])[2])
            for m in queued
            if m["state"] != "delivered"
        )
        await running.start_responder()
        await running.restart_daemon()
        lines = await running.ended()
        shown = await running.transactions()
        after = await running.isoill("queue", "list")

    assert [m["apdu_type"] for m in queued if m["state"] != "delivered"] == ["Returned"] * 4
    assert sorted(f"isoill peer: {rid}: LoanCompleted" for rid in ids) == sorted(lines[1:])
    confirmed_ok(running)
    for rid in ids:
        assert [said(sam) for sam in running.sams() if sam.header.request_id == rid] == [
            ("Loaned", "RequestResponse", None),
            ("LoanCompleted", "StatusChange", None),
        ]
    # The responder got each APDU of each loan once; the Returned in the order stored.
    apdus = [a for a in running.apdus() if not isinstance(a, StatusOrErrorReport)]
    got = [(a.apdu_type, a.transaction_id.transaction_qualifier.text) for a in apdus]
    assert sorted(got) == sorted((kind, rid) for kind in LOAN for rid in ids)
    assert [rid for kind, rid in got if kind == "Returned"] == [rid for _, rid in waiting]
    assert {m["state"] for m in after} == {"delivered"}
    for transaction in shown:
        machines = agrees(transaction)
        assert machines.states.requester.value == machines.states.responder.value == "CHECKED-IN"
        assert transaction["transaction"]["bridge"]["status"] == "LoanCompleted"


async def test_messages_for_a_requester_that_stopped_answering_survive_a_sigkill(
    tmp_path: Path,
) -> None:
    """The other leg: three loans returned while the requester's process is stopped
    (SIGSTOP), so the LoanCompleted for each waits in the queue, its POSTs timing out; the
    daemon is killed (SIGKILL) and started again, the requester continued. Each
    LoanCompleted reaches the requester, in the order stored; copies of one (the POSTs the
    stopped process had queued, read once it runs again) are the same message byte for
    byte, within the documented bound of RUN copies (SECURITY.md)."""
    script = responder_script({"ILL-Request": "Shipped", "Returned": "Checked-In"})
    ids = [f"req-stop-{number}" for number in range(1, 4)]
    async with flow(tmp_path, Version.V1_2, script) as running:
        await running.request(
            *({"title": f"Dune {n}", "request_id": rid} for n, rid in enumerate(ids, 1)),
            return_after=3.0,
        )
        assert running.requester is not None
        requester_url = f"http://127.0.0.1:{running.requester_port}/iso18626"
        await until(lambda: apdu_types(running.apdus()).count("Received") == 3, WAIT)
        await running.stop_responder()  # the ShippedReturns are confirmed, the Returned wait
        await until(lambda: posted(running).count("ShippedReturn") == 3, WAIT)
        running.requester.process.send_signal(signal.SIGSTOP)
        try:
            await running.start_responder()
            await until(lambda: apdu_types(running.apdus()).count("Returned") == 3, WAIT)
            await running.daemon.line("delivery failed", timeout=WAIT, address=requester_url)
            assert await running.kill_daemon() == -signal.SIGKILL
            queued = await running.isoill("queue", "list")
            await running.restart_daemon()
        finally:
            running.requester.process.send_signal(signal.SIGCONT)
        lines = await running.ended()
        after = await running.isoill("queue", "list")

    waiting = sorted(
        (m["id"], m["apdu_type"], json.loads(m["transaction_key"])[2])
        for m in queued
        if m["state"] != "delivered"
    )
    assert [kind for _, kind, _ in waiting] == ["Checked-In"] * 3
    assert sorted(f"isoill peer: {rid}: LoanCompleted" for rid in ids) == sorted(lines[1:])
    completed = [sam for sam in running.sams() if sam.status == "LoanCompleted"]
    firsts = list(dict.fromkeys(sam.header.request_id for sam in completed))
    assert firsts == [rid for _, _, rid in waiting]  # in the order stored
    for rid in ids:
        copies = {sam for sam in completed if sam.header.request_id == rid}
        assert len(copies) == 1, copies  # every copy the same message
    assert len(completed) <= 3 + RUN
    loaned = [sam for sam in running.sams() if sam.status == "Loaned"]
    assert sorted(sam.header.request_id for sam in loaned) == sorted(ids)  # before: once
    assert {m["state"] for m in after} == {"delivered"}
