"""Whole transactions in the bridge's inbound direction, through a running daemon on real
loopback sockets: the simulated ISO 18626 requester REQ1 POSTs its Requests and requesting
agency messages to ``isoill serve``; the ISO 10161 responder SUP1 (``isoill peer`` with a
script) gets them as APDUs, and its own APDUs come back through the daemon as supplying
agency messages POSTed to the requester, each with the status and reasonForMessage the
bridge keeps (isoill/bridge/state.py), until the transaction ends. The daemon's ISO 10161
view (``isoill tx show``) must agree with the protocol machines run over the APDUs it
stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bridge_support import Machines
from flows_in_support import REQUESTER, RESPONDER, Flow, flow, responder_script

from isoill.codec.jsonform import from_json
from isoill.codec.models import IllApdu, StatusOrErrorReport
from isoill.ill.symbols import symbol_of
from isoill.iso18626.messages import Version
from isoill.tools.peer18626.messages import (
    Confirmation,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
)

pytestmark = pytest.mark.asyncio

VERSIONS = pytest.mark.parametrize("version", [Version.V1_2, Version.V2021])


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
