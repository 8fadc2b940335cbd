"""Whole transactions as sequences of pure calls: each APDU mapped out with the state the last
call returned, each ISO 18626 message mapped in and taken into the state, every APDU passing
the protocol machines in turn. A loan both ways; cancel yes and no; unfilled; a retry with a
condition under each model; renew yes and no; an ERROR Confirmation turned into a refusal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from bridge_support import (
    NOW,
    REQUESTER,
    RESPONDER,
    Machines,
    apdu,
    checked,
    ill_request,
    later,
    peer,
    received,
    sent,
    transaction,
)

from isoill.bridge import forms
from isoill.bridge import messages as b
from isoill.bridge.agency import AgencyId
from isoill.bridge.confirmations import error_report
from isoill.bridge.ids import transaction_for
from isoill.bridge.outbound import Outbound, outbound
from isoill.bridge.settings import Conditional, PeerSettings18626
from isoill.bridge.state import Bridged, Question
from isoill.bridge.state import received as taken
from isoill.bridge.times import zone
from isoill.codec.models import (
    CancelReply,
    CheckedIn,
    ConditionalReply,
    ILLAnswer,
    IllApdu,
    ILLRequest,
    Received,
    Renew,
    Returned,
    Shipped,
    TransactionIdProblem,
)
from isoill.codec.plan import APDUS
from isoill.ill.apdus import Role
from isoill.ill.symbols import symbol_of
from isoill.iso18626 import wire
from isoill.iso18626.errors import ErrorType
from isoill.iso18626.messages import MessageKind, Version

BERLIN = zone("Europe/Berlin")
REQUESTING = AgencyId("ISIL", REQUESTER)
SUPPLYING = AgencyId("ISIL", RESPONDER)


@dataclass
class Bridge:
    """One transaction through the bridge: its state, its machines, what went each way."""

    settings: PeerSettings18626
    state: Bridged | None = None
    machines: Machines = field(default_factory=Machines)
    out: list[b.Message] = field(default_factory=list)

    def send(self, apdu_: IllApdu, sender: Role | None = None) -> b.Message:
        """An ISO 10161 APDU accepted: taken by the machines, mapped, its message read as
        the ISO 18626 peer reads it."""
        self.machines.take(checked(apdu_), sender)
        result = outbound(apdu_, self.state, self.settings, NOW, sender=sender)
        assert isinstance(result, Outbound), result
        self.state = result.state
        message = forms.read(sent(result, self.settings.version).model, BERLIN)
        self.out.append(message)
        return message

    def receive(self, message: b.Message) -> IllApdu:
        """An ISO 18626 message from the peer: mapped to its APDU, taken by the machines,
        and into the state."""
        body = wire.serialise(forms.write(message, self.settings.version))
        found = received(body, self.settings)
        self.machines.take(checked(found.apdu))
        self.state = taken(self.state, found.via)
        return found.apdu

    def sams(self) -> list[tuple[b.Reason, b.Status]]:
        return [(m.reason, m.status) for m in self.out if isinstance(m, b.SupplyingAgencyMessage)]


def header(at: datetime, request_id: str, supplying_id: str | None = None) -> b.Header:
    return b.Header(
        requesting_agency=REQUESTING,
        supplying_agency=SUPPLYING,
        timestamp=at,
        requesting_request_id=request_id,
        supplying_request_id=supplying_id,
    )


def sam(
    minutes: int, request_id: str, reason: b.Reason, status: b.Status, **fields: Any
) -> b.SupplyingAgencyMessage:
    return b.SupplyingAgencyMessage(
        header=header(later(minutes), request_id, "S-77"),
        reason=reason,
        status=status,
        last_change=later(minutes),
        **fields,
    )


def ram(
    minutes: int,
    request_id: str,
    supplying_id: str | None,
    action: b.Action,
    note: str | None = None,
) -> b.RequestingAgencyMessage:
    return b.RequestingAgencyMessage(
        header=header(later(minutes), request_id, supplying_id), action=action, note=note
    )


def request_18626(request_id: str = "R-7", minutes: int = 0, **service: Any) -> b.Request:
    return b.Request(
        header=header(later(minutes), request_id),
        bibliographic=b.Bibliographic(title="Die Blechtrommel", author="Grass, Günter"),
        service=b.Service(service_type=b.ServiceType.LOAN, **service),
        deliveries=(b.Delivery(1, b.PostalAddress(line1="Hauptstraße 1", locality="Göttingen")),),
    )


def answer_to(request: IllApdu, name: str, minutes: int, fields: dict[str, Any]) -> IllApdu:
    """The 10161 responder's ``name`` answering ``request`` (same transaction and parties)."""
    at = later(minutes)
    model: type[IllApdu] = APDUS[name].model
    return model.model_validate(
        {
            "protocol-version-num": 2,
            "transaction-id": request.transaction_id,
            "service-date-time": {
                "date-time-of-this-service": {
                    "date": at.strftime("%Y%m%d"),
                    "time": at.strftime("%H%M%S"),
                }
            },
            "requester-id": request.requester_id,
            "responder-id": request.responder_id,
        }
        | fields
    )


WILL_SUPPLY = {
    "transaction-results": "will-supply",
    "results-explanation": {"will-supply-results": {"reason-will-supply": "in-process"}},
}
LOAN = {
    "shipped-service-type": "loan",
    "supply-details": {"date-shipped": "20250310", "date-due": {"date-due-field": "20250407"}},
}
DUE = datetime(2025, 4, 7, tzinfo=BERLIN)


@pytest.mark.parametrize("version", list(Version))
def test_a_10161_loan_from_request_to_check_in_in_order(version: Version) -> None:
    """Every APDU of a loan, each party's mapped for its ISO 18626 counterpart."""
    bridge = Bridge(peer(version))
    request = ill_request()
    steps: list[tuple[IllApdu, Any]] = [
        (request, b.Request),
        (
            apdu("ILL-Answer", later(1), WILL_SUPPLY),
            (b.Reason.REQUEST_RESPONSE, b.Status.WILL_SUPPLY),
        ),
        (apdu("Shipped", later(2), LOAN), (b.Reason.STATUS_CHANGE, b.Status.LOANED)),
        (
            apdu(
                "Received", later(3), {"date-received": "20250310", "shipped-service-type": "loan"}
            ),
            b.Action.RECEIVED,
        ),
        (apdu("Returned", later(4), {"date-returned": "20250310"}), b.Action.SHIPPED_RETURN),
        (
            apdu("Checked-In", later(5), {"date-checked-in": "20250310"}),
            (b.Reason.STATUS_CHANGE, b.Status.LOAN_COMPLETED),
        ),
    ]
    for step, expected in steps:
        message = bridge.send(step)
        match message:
            case b.Request():
                assert expected is b.Request
            case b.RequestingAgencyMessage():
                assert message.action is expected
            case b.SupplyingAgencyMessage():
                assert (message.reason, message.status) == expected
    shipped = bridge.out[2]
    assert isinstance(shipped, b.SupplyingAgencyMessage) and shipped.due == DUE
    ids = {m.header.requesting_request_id for m in bridge.out if not isinstance(m, b.Confirmation)}
    assert ids == {"grp/42"}


@pytest.mark.parametrize("version", list(Version))
def test_a_10161_requester_borrows_from_an_18626_supplier(version: Version) -> None:
    bridge = Bridge(peer(version))
    request = bridge.send(ill_request())
    assert isinstance(request, b.Request)
    request_id = request.header.requesting_request_id
    expected = bridge.receive(
        sam(
            1,
            request_id,
            b.Reason.REQUEST_RESPONSE,
            b.Status.EXPECT_TO_SUPPLY,
            expected_delivery=later(60 * 24),
        )
    )
    assert (
        isinstance(expected, ILLAnswer) and expected.transaction_results.asn1_name == "hold-placed"
    )
    assert expected.transaction_id == transaction()
    shipped = bridge.receive(
        sam(
            2,
            request_id,
            b.Reason.STATUS_CHANGE,
            b.Status.LOANED,
            due=DUE,
            sent=b.Sent(date_sent=later(2), method="Mail"),
        )
    )
    assert isinstance(shipped, Shipped)
    assert shipped.supply_details.date_due is not None
    assert shipped.supply_details.date_due.date_due_field == "20250407"
    assert bridge.state is not None and bridge.state.supplying_request_id == "S-77"
    back = bridge.send(
        apdu("Received", later(3), {"date-received": "20250310", "shipped-service-type": "loan"})
    )
    assert isinstance(back, b.RequestingAgencyMessage) and back.action is b.Action.RECEIVED
    assert back.header.supplying_request_id == "S-77"  # learnt from the supplier's first
    returned = bridge.send(apdu("Returned", later(4), {"date-returned": "20250310"}))
    assert isinstance(returned, b.RequestingAgencyMessage)
    assert returned.action is b.Action.SHIPPED_RETURN
    done = bridge.receive(sam(5, request_id, b.Reason.STATUS_CHANGE, b.Status.LOAN_COMPLETED))
    assert isinstance(done, CheckedIn) and done.date_checked_in == "20250310"
    assert bridge.state.status is b.Status.LOAN_COMPLETED


@pytest.mark.parametrize("version", list(Version))
def test_an_18626_requester_borrows_from_a_10161_supplier(version: Version) -> None:
    bridge = Bridge(peer(version))
    request = bridge.receive(request_18626())
    assert isinstance(request, ILLRequest)
    assert request.transaction_id == transaction_for(REQUESTER, "R-7").transaction_id
    bridge.send(answer_to(request, "ILL-Answer", 1, WILL_SUPPLY))
    loaned = bridge.send(answer_to(request, "Shipped", 2, LOAN))
    assert isinstance(loaned, b.SupplyingAgencyMessage)
    assert loaned.header.requesting_request_id == "R-7"
    ours = loaned.header.supplying_request_id
    assert ours is not None
    got = bridge.receive(ram(3, "R-7", ours, b.Action.RECEIVED))
    assert isinstance(got, Received) and got.transaction_id == request.transaction_id
    gone = bridge.receive(ram(4, "R-7", ours, b.Action.SHIPPED_RETURN, "by post"))
    assert isinstance(gone, Returned) and str(gone.requester_note) == "by post"
    bridge.send(answer_to(request, "Checked-In", 5, {"date-checked-in": "20250310"}))
    assert bridge.sams() == [
        (b.Reason.REQUEST_RESPONSE, b.Status.WILL_SUPPLY),
        (b.Reason.STATUS_CHANGE, b.Status.LOANED),
        (b.Reason.STATUS_CHANGE, b.Status.LOAN_COMPLETED),
    ]
    sams = [m for m in bridge.out if isinstance(m, b.SupplyingAgencyMessage)]
    assert {m.header.supplying_request_id for m in sams} == {ours}


@pytest.mark.parametrize("yes", [True, False])
def test_an_18626_requester_cancels(yes: bool) -> None:
    bridge = Bridge(peer())
    request = bridge.receive(request_18626())
    bridge.send(answer_to(request, "ILL-Answer", 1, WILL_SUPPLY))
    cancel = bridge.receive(ram(2, "R-7", None, b.Action.CANCEL, "found it elsewhere"))
    assert cancel.apdu_type == "Cancel"
    assert bridge.state is not None and bridge.state.question is Question.CANCEL
    reply = bridge.send(answer_to(request, "Cancel-Reply", 3, {"answer": yes}))
    assert isinstance(reply, b.SupplyingAgencyMessage)
    assert (reply.reason, reply.answer) == (b.Reason.CANCEL_RESPONSE, yes)
    assert reply.status is (b.Status.CANCELLED if yes else b.Status.WILL_SUPPLY)
    assert bridge.state.question is None


@pytest.mark.parametrize("yes", [True, False])
def test_a_10161_requester_cancels(yes: bool) -> None:
    bridge = Bridge(peer(Version.V2021))
    bridge.send(ill_request())
    cancel = bridge.send(apdu("Cancel", later(1), {"requester-note": "not needed"}))
    assert isinstance(cancel, b.RequestingAgencyMessage) and cancel.action is b.Action.CANCEL
    status = b.Status.CANCELLED if yes else b.Status.WILL_SUPPLY
    reply = bridge.receive(sam(2, "grp/42", b.Reason.CANCEL_RESPONSE, status, answer=yes))
    assert isinstance(reply, CancelReply) and reply.answer is yes


def test_unfilled_both_ways() -> None:
    bridge = Bridge(peer())
    request = bridge.receive(request_18626())
    unfilled = {
        "transaction-results": "unfilled",
        "results-explanation": {"unfilled-results": {"reason-unfilled": "not-on-shelf"}},
    }
    message = bridge.send(answer_to(request, "ILL-Answer", 1, unfilled))
    assert isinstance(message, b.SupplyingAgencyMessage)
    assert (message.reason, message.status, message.reason_unfilled) == (
        b.Reason.REQUEST_RESPONSE,
        b.Status.UNFILLED,
        "NotOnShelf",
    )
    other = Bridge(peer())
    other.send(ill_request())
    answer = other.receive(
        sam(
            1,
            "grp/42",
            b.Reason.REQUEST_RESPONSE,
            b.Status.UNFILLED,
            reason_unfilled="NonCirculating",
        )
    )
    assert isinstance(answer, ILLAnswer) and answer.results_explanation is not None
    assert answer.results_explanation.unfilled_results is not None
    assert (
        answer.results_explanation.unfilled_results.reason_unfilled.asn1_name == "non-circulating"
    )
    assert other.machines.states.requester.value == "NOT-SUPPLIED"


CONDITIONAL = {
    "transaction-results": "conditional",
    "results-explanation": {
        "conditional-results": {"conditions": "library-use-only", "date-for-reply": "20250317"}
    },
}


def test_a_10161_requester_agrees_to_a_condition_by_a_2021_retry() -> None:
    bridge = Bridge(peer(Version.V2021))
    bridge.send(ill_request())
    offer = b.Retry(retry_before=later(60 * 24 * 7), loan_conditions=("LibraryUseOnly",))
    conditional = bridge.receive(
        sam(
            1,
            "grp/42",
            b.Reason.REQUEST_RESPONSE,
            b.Status.RETRY_POSSIBLE,
            reason_retry="MustMeetLoanCondition",
            retry=offer,
        )
    )
    assert isinstance(conditional, ILLAnswer) and conditional.results_explanation is not None
    assert conditional.results_explanation.conditional_results is not None
    assert bridge.machines.states.requester.value == "CONDITIONAL"
    retry = bridge.send(apdu("Conditional-Reply", later(2), {"answer": True}))
    assert isinstance(retry, b.Request) and retry.service is not None
    assert retry.service.request_type is b.RequestType.RETRY
    assert retry.header.requesting_request_id == "grp/42+1"
    assert retry.service.previous_request_id == "grp/42"
    assert retry.bibliographic.title == "Die Blechtrommel"  # the request, sent again
    assert bridge.state is not None and bridge.state.retries == 1
    # the supplier answers the Retry under its new id: the same ISO 10161 transaction
    shipped = bridge.receive(
        sam(3, "grp/42+1", b.Reason.REQUEST_RESPONSE, b.Status.LOANED, due=DUE)
    )
    assert isinstance(shipped, Shipped) and shipped.transaction_id == transaction()
    assert bridge.machines.states.requester.value == "SHIPPED"


def test_an_18626_requester_retries_after_a_condition_in_a_new_transaction() -> None:
    bridge = Bridge(peer(Version.V2021))
    request = bridge.receive(request_18626())
    offer = bridge.send(answer_to(request, "ILL-Answer", 1, CONDITIONAL))
    assert isinstance(offer, b.SupplyingAgencyMessage)
    assert (offer.status, offer.reason_retry) == (b.Status.RETRY_POSSIBLE, "MustMeetLoanCondition")
    assert offer.retry is not None and offer.retry.loan_conditions == ("LibraryUseOnly",)
    retry = Bridge(peer(Version.V2021))
    again = retry.receive(
        request_18626("R-8", 2, request_type=b.RequestType.RETRY, previous_request_id="R-7")
    )
    assert isinstance(again, ILLRequest) and again.retry_flag
    assert again.transaction_id != request.transaction_id
    assert retry.state is not None and retry.state.previous_request_id == "R-7"
    # the Retry goes on to an ISO 18626 supplier as a Retry of the request it names
    onward = outbound(again, retry.state, peer(), NOW)
    message = forms.read(sent(onward, Version.V1_2).model, BERLIN)
    assert isinstance(message, b.Request) and message.service is not None
    assert message.service.request_type is b.RequestType.RETRY
    assert message.service.previous_request_id == "R-7"


def test_a_reshare_requester_agrees_to_a_condition_in_the_same_transaction() -> None:
    bridge = Bridge(peer(conditional=Conditional.RESHARE))
    request = bridge.receive(request_18626())
    offer = bridge.send(answer_to(request, "ILL-Answer", 1, CONDITIONAL))
    assert isinstance(offer, b.SupplyingAgencyMessage)
    assert offer.status is b.Status.WILL_SUPPLY and offer.reason is b.Reason.REQUEST_RESPONSE
    assert offer.note is not None and offer.note.startswith("#ReShareAddLoanCondition#")
    agreed = bridge.receive(
        ram(
            2,
            "R-7",
            offer.header.supplying_request_id,
            b.Action.NOTIFICATION,
            "#ReShareLoanConditionAgreeResponse#fine",
        )
    )
    assert isinstance(agreed, ConditionalReply) and agreed.answer
    assert bridge.machines.states.responder.value == "IN-PROCESS"
    loaned = bridge.send(answer_to(request, "Shipped", 3, LOAN))
    assert isinstance(loaned, b.SupplyingAgencyMessage) and loaned.status is b.Status.LOANED


def test_a_10161_requester_declines_a_reshare_condition_by_cancelling() -> None:
    bridge = Bridge(peer(conditional=Conditional.RESHARE))
    bridge.send(ill_request())
    conditional = bridge.receive(
        sam(
            1,
            "grp/42",
            b.Reason.NOTIFICATION,
            b.Status.WILL_SUPPLY,
            note="#ReShareAddLoanCondition#NoReproduction",
        )
    )
    assert isinstance(conditional, ILLAnswer)
    declined = bridge.send(apdu("Conditional-Reply", later(2), {"answer": False}))
    assert isinstance(declined, b.RequestingAgencyMessage) and declined.action is b.Action.CANCEL


@pytest.mark.parametrize("yes", [True, False])
def test_an_18626_requester_renews(yes: bool) -> None:
    bridge = Bridge(peer(Version.V2021))
    request = bridge.receive(request_18626())
    bridge.send(answer_to(request, "Shipped", 1, LOAN))
    ours = bridge.state.supplying_request_id if bridge.state else None
    bridge.receive(ram(2, "R-7", ours, b.Action.RECEIVED))
    renew = bridge.receive(ram(3, "R-7", ours, b.Action.RENEW, "two more weeks"))
    assert isinstance(renew, Renew)
    fields: dict[str, Any] = {"answer": yes}
    if yes:
        fields["date-due"] = {"date-due-field": "20250421"}
    answer = bridge.send(answer_to(request, "Renew-Answer", 4, fields))
    assert isinstance(answer, b.SupplyingAgencyMessage)
    assert (answer.reason, answer.answer, answer.status) == (
        b.Reason.RENEW_RESPONSE,
        yes,
        b.Status.LOANED,
    )
    assert answer.due == (datetime(2025, 4, 21, tzinfo=BERLIN) if yes else None)


@pytest.mark.parametrize("version", list(Version))
def test_an_error_confirmation_becomes_a_refusal_for_the_10161_sender(version: Version) -> None:
    settings = peer(version)
    request = ill_request()
    result = outbound(request, None, settings, NOW)
    assert isinstance(result, Outbound)
    refused = b.Confirmation(
        kind=MessageKind.REQUEST_CONFIRMATION,
        requesting_agency=REQUESTING,
        supplying_agency=SUPPLYING,
        timestamp=later(1),
        requesting_request_id="grp/42",
        timestamp_received=NOW,
        ok=False,
        errors=(
            b.Error(
                ErrorType.UNRECOGNISED_DATA_VALUE, "requestingAgencyRequestId grp/42 already exists"
            ),
        ),
    )
    body = wire.serialise(forms.write(refused, version))
    report = error_report(wire.parse(body, version=version).model, request, settings, later(1))
    assert report is not None and report.error_report is not None
    checked(report)
    problem = report.error_report.provider_error_report
    assert problem is not None
    assert problem.transaction_id_problem is TransactionIdProblem.DUPLICATE_TRANSACTION_ID
    assert report.transaction_id == request.transaction_id
    assert symbol_of(report.requester_id) == REQUESTER
    assert report.note is not None and "already exists" in report.note.text


def test_the_state_learns_from_each_message_and_a_repeated_request_changes_nothing() -> None:
    bridge = Bridge(peer())
    bridge.receive(request_18626())
    first = bridge.state
    assert first is not None and first.requesting_request_id == "R-7"
    assert first.service_type is b.ServiceType.LOAN and first.status is None
    again = received(wire.serialise(forms.write(request_18626(), Version.V1_2)), peer())
    assert taken(first, again.via) == first
    unseen = received(
        wire.serialise(
            forms.write(sam(1, "grp/9", b.Reason.STATUS_CHANGE, b.Status.LOANED), Version.V1_2)
        ),
        peer(),
    )
    fresh = taken(None, unseen.via)
    assert (fresh.requesting_request_id, fresh.supplying_request_id) == ("grp/9", "S-77")
    assert fresh.status is b.Status.LOANED and fresh.service_type is b.ServiceType.LOAN
