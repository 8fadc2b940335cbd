"""ISO 10161 APDUs out, as ISO 18626 messages: every APDU type, from each party that sends it,
for both schemas, serialised (so valid against the schema) and read back; what each row
promises of its fields; what has no ISO 18626 form; and the bridge state as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from apdu_examples import full_apdu
from bridge_support import NOW, RESPONDER, apdu, ill_request, peer, sent
from hypothesis import given, settings
from hypothesis import strategies as st

from isoill.bridge import forms
from isoill.bridge import messages as b
from isoill.bridge.agency import AgencyId, AgencyMap
from isoill.bridge.outbound import FROM_REQUESTER, FROM_RESPONDER, Outbound, Unmappable, outbound
from isoill.bridge.settings import Conditional
from isoill.bridge.state import Bridged, Question
from isoill.bridge.times import zone
from isoill.codec import plan
from isoill.ill.apdus import APDU_FLOW, Flow, Role
from isoill.iso18626.messages import MessageKind, Version

VERSIONS = list(Version)
BERLIN = zone("Europe/Berlin")


def sending_roles(name: str) -> list[Role]:
    flow = APDU_FLOW[name]
    if flow is Flow.FROM_REQUESTER:
        return [Role.REQUESTER]
    if flow is Flow.FROM_RESPONDER:
        return [Role.RESPONDER]
    return [Role.REQUESTER, Role.RESPONDER]


CASES = [(name, role) for name in plan.APDUS for role in sending_roles(name)]


def test_every_apdu_type_has_a_row_for_each_party_that_sends_it() -> None:
    for name, role in CASES:
        rows = FROM_REQUESTER if role is Role.REQUESTER else FROM_RESPONDER
        assert name in rows, (name, role)
    assert set(FROM_REQUESTER) | set(FROM_RESPONDER) == set(plan.APDUS)


def read_back(result: Outbound | Unmappable, version: Version) -> b.Message:
    return forms.read(sent(result, version).model, BERLIN)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "role"), CASES, ids=lambda v: getattr(v, "value", v))
@pytest.mark.parametrize("variant", range(3))
def test_every_apdu_maps_to_a_valid_message_or_says_why_not(
    name: str, role: Role, version: Version, variant: int
) -> None:
    example = full_apdu(name, variant)
    state = None
    if name == "Conditional-Reply":  # a Retry resends the ILL-Request the state keeps
        first = outbound(full_apdu("ILL-Request", variant), None, peer(version), NOW)
        state = first.state if isinstance(first, Outbound) else None
    result = outbound(example, state, peer(version), NOW, sender=role)
    if name == "Status-Query" and role is Role.RESPONDER:
        assert isinstance(result, Unmappable) and "no status query" in result.reason
        return
    if name == "ILL-Request" and isinstance(result, Unmappable):
        assert "loan or a copy" in result.reason  # a request for locations or an estimate
        return
    message = read_back(result, version)
    assert isinstance(result, Outbound)
    expected = (
        b.SupplyingAgencyMessage
        if role is Role.RESPONDER
        else (b.RequestingAgencyMessage | b.Request)
    )
    assert isinstance(message, expected)
    assert result.state.version is version


def test_an_apdu_either_party_sends_needs_its_sender() -> None:
    result = outbound(apdu("Message", fields={"note": "hello"}), None, peer(), NOW)
    assert isinstance(result, Unmappable) and "either party" in result.reason


def test_an_apdu_without_a_requester_has_no_request_id() -> None:
    lonely = apdu("Cancel").model_copy(
        update={
            "requester_id": None,
            "transaction_id": apdu("Cancel").transaction_id.model_copy(
                update={"initial_requester_id": None}
            ),
        }
    )
    result = outbound(lonely, None, peer(), NOW)
    assert isinstance(result, Unmappable) and "names no requester" in result.reason


def test_a_request_for_locations_only_has_no_iso_18626_form() -> None:
    result = outbound(ill_request({"iLL-service-type": ["locations"]}), None, peer(), NOW)
    assert isinstance(result, Unmappable) and "locations" in result.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_an_ill_request_becomes_a_request(version: Version) -> None:
    result = outbound(ill_request(), None, peer(version), NOW)
    message = read_back(result, version)
    assert isinstance(message, b.Request) and isinstance(result, Outbound)
    header = message.header
    assert header.requesting_agency == AgencyId("ISIL", "REQLIB")
    assert header.supplying_agency == AgencyId("ISIL", RESPONDER)
    assert header.requesting_request_id == "grp/42"
    assert header.timestamp == NOW
    assert message.bibliographic.title == "Die Blechtrommel"
    assert message.bibliographic.item_ids == (b.Identifier("ISBN", "9783423118217"),)
    service = message.service
    assert service is not None
    assert service.service_type is b.ServiceType.LOAN
    assert service.request_type is b.RequestType.NEW
    assert service.need_before == datetime(2025, 4, 1, tzinfo=BERLIN)
    assert service.copyright_compliance == "US-CCG"
    assert service.note == "for a seminar"
    assert message.publication == b.Publication(publisher="dtv", type="Book")
    assert message.suppliers == (b.Supplier(agency=header.supplying_agency, call_number="GRA 1"),)
    assert message.deliveries[0].address == b.PostalAddress(
        line1="Hauptstraße 1", locality="Göttingen", postal_code="37073", country="DE"
    )
    assert message.patron == b.Patron(id="P-1", surname="Grass, Günter")
    assert message.billing is not None
    assert message.billing.maximum_costs == b.Costs("EUR", Decimal("8.50"))
    state = result.state
    assert state.requesting_request_id == "grp/42" and state.request is not None
    assert state.service_type is b.ServiceType.LOAN


def test_overrides_and_authentication_go_into_the_header() -> None:
    settings_ = peer(
        agencies=AgencyMap.of({RESPONDER: AgencyId("RESHARE", "resp")}),
        authentication=b.Authentication("REQ", "secret"),
    )
    message = read_back(outbound(ill_request(), None, settings_, NOW), Version.V1_2)
    assert isinstance(message, b.Request)
    assert message.header.supplying_agency == AgencyId("RESHARE", "resp")
    assert message.header.authentication == b.Authentication("REQ", "secret")


def test_a_retry_flag_makes_a_retry() -> None:
    message = read_back(
        outbound(ill_request({"retry-flag": True}), None, peer(), NOW), Version.V1_2
    )
    assert isinstance(message, b.Request) and message.service is not None
    assert message.service.request_type is b.RequestType.RETRY


def sam(
    name: str, state: Bridged | None, fields: dict[str, Any] | None = None, **peer_: Any
) -> tuple[b.SupplyingAgencyMessage, Bridged]:
    version = peer_.pop("version", Version.V1_2)
    result = outbound(
        apdu(name, fields=fields), state, peer(version, **peer_), NOW, sender=Role.RESPONDER
    )
    message = read_back(result, version)
    assert isinstance(message, b.SupplyingAgencyMessage) and isinstance(result, Outbound)
    return message, result.state


def test_the_first_answer_is_a_request_response_and_the_next_a_status_change() -> None:
    will = {
        "transaction-results": "will-supply",
        "results-explanation": {
            "will-supply-results": {"reason-will-supply": "in-process", "supply-date": "20250320"}
        },
    }
    first, state = sam("ILL-Answer", None, will)
    assert (first.reason, first.status) == (b.Reason.REQUEST_RESPONSE, b.Status.WILL_SUPPLY)
    assert first.expected_delivery == datetime(2025, 3, 20, tzinfo=BERLIN)
    assert first.header.supplying_request_id is not None
    assert state.answered and state.status is b.Status.WILL_SUPPLY
    shipped = {
        "shipped-service-type": "loan",
        "supply-details": {
            "date-shipped": "20250310",
            "date-due": {"date-due-field": "20250407"},
            "shipped-conditions": "library-use-only",
            "shipped-via": {"physical-delivery": "Mail"},
            "cost": {"currency-code": "EUR", "monetary-value": "4.00"},
        },
        "responder-note": "enjoy",
    }
    second, state = sam("Shipped", state, shipped, version=Version.V2021)
    assert (second.reason, second.status) == (b.Reason.STATUS_CHANGE, b.Status.LOANED)
    assert second.due == datetime(2025, 4, 7, tzinfo=BERLIN)  # local midnight, its offset
    assert second.sent is not None and second.sent.date_sent == NOW  # shipped today: now
    assert second.sent.loan_conditions == ("LibraryUseOnly",)
    assert second.sent.method == "Mail" and second.sent.service_type is b.ServiceType.LOAN
    assert second.note == "enjoy"
    assert second.header.supplying_request_id == first.header.supplying_request_id


def test_expect_to_supply_is_will_supply_for_a_peer_that_does_not_take_it() -> None:
    hold = {
        "transaction-results": "hold-placed",
        "results-explanation": {"hold-placed-results": {"estimated-date-available": "20250401"}},
    }
    message, _ = sam("ILL-Answer", None, hold)
    assert message.status is b.Status.EXPECT_TO_SUPPLY
    message, _ = sam("ILL-Answer", None, hold, expect_to_supply=False)
    assert message.status is b.Status.WILL_SUPPLY


@pytest.mark.parametrize(
    ("reason", "theirs", "note"),
    [
        ("not-owned", "NotHeld", None),
        ("lacking", "NotHeld", None),
        ("charges", "NotAvailableForILL", "reason-unfilled charges"),
    ],
)
def test_unfilled_reasons_follow_the_table(reason: str, theirs: str, note: str | None) -> None:
    unfilled = {
        "transaction-results": "unfilled",
        "results-explanation": {"unfilled-results": {"reason-unfilled": reason}},
    }
    message, _ = sam("ILL-Answer", None, unfilled)
    assert (message.status, message.reason_unfilled) == (b.Status.UNFILLED, theirs)
    assert message.note == note


def test_locations_provided_is_unfilled_with_the_locations_in_the_note() -> None:
    found = {
        "transaction-results": "locations-provided",
        "results-explanation": {
            "locations-results": {
                "reason-locs-provided": "not-owned",
                "locations": [
                    {
                        "location-id": {
                            "person-or-institution-symbol": {"institution-symbol": "OTHERLIB"}
                        },
                        "location-note": "has two",
                    }
                ],
            }
        },
    }
    message, _ = sam("ILL-Answer", None, found)
    assert (message.status, message.reason_unfilled) == (b.Status.UNFILLED, "NotHeld")
    assert message.note == "try OTHERLIB (has two)"


def test_an_estimate_with_a_price_is_a_retry_at_that_cost() -> None:
    estimate = {
        "transaction-results": "estimate",
        "results-explanation": {"estimate-results": {"cost-estimate": "USD 35.00"}},
    }
    message, _ = sam("ILL-Answer", None, estimate, version=Version.V2021)
    assert (message.status, message.reason_retry) == (b.Status.RETRY_POSSIBLE, "CostExceedsMaxCost")
    assert message.retry is not None and message.retry.offered_costs == (
        b.Costs("USD", Decimal("35.00")),
    )
    worded = {
        "transaction-results": "estimate",
        "results-explanation": {"estimate-results": {"cost-estimate": "ask us"}},
    }
    message, _ = sam("ILL-Answer", None, worded)
    assert message.status is b.Status.UNFILLED and message.note == "estimate: ask us"


def test_answers_to_a_question_carry_its_reason_and_close_it() -> None:
    asked = Bridged(
        AgencyId("ISIL", "REQLIB"),
        AgencyId("ISIL", RESPONDER),
        "R-7",
        status=b.Status.LOANED,
        answered=True,
        question=Question.RENEW,
    )
    message, state = sam(
        "Renew-Answer", asked, {"answer": True, "date-due": {"date-due-field": "20250501"}}
    )
    assert (message.reason, message.answer, message.status) == (
        b.Reason.RENEW_RESPONSE,
        True,
        b.Status.LOANED,
    )
    assert state.question is None
    # the same APDU when nothing was asked is a status change
    message, _ = sam("Renew-Answer", state, {"answer": False})
    assert message.reason is b.Reason.STATUS_CHANGE and message.status is b.Status.LOANED


def test_a_status_report_answers_a_status_request_and_is_a_notification_otherwise() -> None:
    report = {
        "status-report": {
            "user-status-report": {
                "date-of-last-transition": "20250310",
                "most-recent-service": "sHIPPED",
                "date-of-most-recent-service": "20250310",
                "initiator-of-most-recent-service": {},
            },
            "provider-status-report": "oVERDUE",
        }
    }
    asked = Bridged(
        AgencyId("ISIL", "REQLIB"),
        AgencyId("ISIL", RESPONDER),
        "R-7",
        status=b.Status.LOANED,
        answered=True,
        question=Question.STATUS_REQUEST,
    )
    message, state = sam("Status-Or-Error-Report", asked, report)
    assert (message.reason, message.status) == (b.Reason.STATUS_REQUEST_RESPONSE, b.Status.OVERDUE)
    assert state.question is None
    message, _ = sam("Status-Or-Error-Report", state, report)
    assert message.reason is b.Reason.NOTIFICATION


def test_a_message_is_a_notification_that_keeps_the_status() -> None:
    lent = Bridged(
        AgencyId("ISIL", "REQLIB"),
        AgencyId("ISIL", RESPONDER),
        "R-7",
        status=b.Status.LOANED,
        last_change=datetime(2025, 3, 1, tzinfo=UTC),
        answered=True,
    )
    message, state = sam("Message", lent, {"note": "call us"})
    assert (message.reason, message.status, message.note) == (
        b.Reason.NOTIFICATION,
        b.Status.LOANED,
        "call us",
    )
    assert message.last_change == datetime(2025, 3, 1, tzinfo=UTC)  # the status did not change
    assert state.last_change == datetime(2025, 3, 1, tzinfo=UTC)


def test_lost_ends_a_loan_and_unfills_a_request() -> None:
    lent = Bridged(
        AgencyId("ISIL", "REQLIB"),
        AgencyId("ISIL", RESPONDER),
        "R-7",
        status=b.Status.LOANED,
        answered=True,
    )
    message, _ = sam("Lost", lent, {"note": "gone"})
    assert message.status is b.Status.COMPLETED_WITHOUT_RETURN
    message, _ = sam("Lost", None, {"note": "gone"})
    assert message.status is b.Status.UNFILLED


@pytest.mark.parametrize("version", VERSIONS)
def test_a_lost_from_the_requester_is_lost_in_2021_and_a_notification_in_v1_2(
    version: Version,
) -> None:
    result = outbound(
        apdu("Lost", fields={"note": "gone"}), None, peer(version), NOW, sender=Role.REQUESTER
    )
    message = read_back(result, version)
    assert isinstance(message, b.RequestingAgencyMessage)
    if version is Version.V2021:
        assert (message.action, message.note) == (b.Action.LOST, "gone")
    else:
        assert message.action is b.Action.NOTIFICATION
        assert (
            message.note is not None and message.note.startswith("Lost") and "gone" in message.note
        )


def test_questions_are_remembered() -> None:
    for name, question in (
        ("Cancel", Question.CANCEL),
        ("Renew", Question.RENEW),
        ("Status-Query", Question.STATUS_REQUEST),
    ):
        result = outbound(apdu(name), None, peer(), NOW, sender=Role.REQUESTER)
        assert isinstance(result, Outbound) and result.state.question is question


def test_a_received_dated_earlier_says_so() -> None:
    result = outbound(
        apdu("Received", fields={"date-received": "20250308", "shipped-service-type": "loan"}),
        None,
        peer(),
        NOW,
    )
    message = read_back(result, Version.V1_2)
    assert isinstance(message, b.RequestingAgencyMessage)
    assert (message.action, message.note) == (b.Action.RECEIVED, "received 2025-03-08")
    today = outbound(
        apdu("Received", fields={"date-received": "20250310", "shipped-service-type": "loan"}),
        None,
        peer(),
        NOW,
    )
    message = read_back(today, Version.V1_2)
    assert isinstance(message, b.RequestingAgencyMessage) and message.note is None


def test_a_conditional_answer_follows_the_peers_model() -> None:
    conditional = {
        "transaction-results": "conditional",
        "results-explanation": {
            "conditional-results": {"conditions": "no-reproduction", "date-for-reply": "20250317"}
        },
    }
    message, _ = sam("ILL-Answer", None, conditional, version=Version.V2021)
    assert (message.status, message.reason_retry) == (
        b.Status.RETRY_POSSIBLE,
        "MustMeetLoanCondition",
    )
    assert message.retry == b.Retry(
        retry_before=datetime(2025, 3, 17, tzinfo=BERLIN), loan_conditions=("NoReproduction",)
    )
    message, state = sam("ILL-Answer", None, conditional, conditional=Conditional.RESHARE)
    assert message.status is b.Status.WILL_SUPPLY
    assert message.note is not None and message.note.startswith("#ReShareAddLoanCondition#")
    assert state.status is b.Status.WILL_SUPPLY


_STATES = st.builds(
    Bridged,
    requesting_agency=st.builds(AgencyId, st.text(), st.text()),
    supplying_agency=st.none() | st.builds(AgencyId, st.text(), st.text()),
    requesting_request_id=st.text(),
    supplying_request_id=st.none() | st.text(),
    status=st.none() | st.sampled_from(b.Status),
    last_change=st.none() | st.datetimes(timezones=st.just(UTC)),
    version=st.sampled_from(Version),
    answered=st.booleans(),
    question=st.none() | st.sampled_from(Question),
    service_type=st.none() | st.sampled_from(b.ServiceType),
    previous_request_id=st.none() | st.text(),
    retries=st.integers(0, 5),
    request=st.none() | st.binary(min_size=1),
)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(state=_STATES)
def test_a_state_comes_back_from_its_json(state: Bridged) -> None:
    assert Bridged.from_json(json.loads(json.dumps(state.to_json()))) == state


@pytest.mark.parametrize(
    "change",
    [
        {"retries": -1},
        {"answered": "yes"},
        {"status": "Lent"},
        {"requesting_agency": "ISIL:X"},
        {"request": "not base64!"},
        {"last_change": "2025-01-01T00:00:00"},
    ],
)
def test_a_malformed_state_is_refused(change: dict[str, Any]) -> None:
    data = Bridged(AgencyId("ISIL", "A"), None, "R").to_json() | change
    with pytest.raises(ValueError, match="not a bridge state"):
        Bridged.from_json(data)
    missing = Bridged(AgencyId("ISIL", "A"), None, "R").to_json()
    del missing["version"]
    with pytest.raises(ValueError, match="bridge state"):
        Bridged.from_json(missing)


def test_the_kind_names_the_message() -> None:
    result = outbound(ill_request(), None, peer(), NOW)
    assert isinstance(result, Outbound) and result.kind is MessageKind.REQUEST
