"""ISO 18626 messages in, as ISO 10161 APDUs: every sample (and every 2021 message) mapped to
an APDU that encodes, decodes and passes the IPIG rules; each status, reason and action as its
row says; the ids, parties, dates and the facts beside the APDU (Via)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from bridge_support import (
    NOW,
    REQUESTER,
    RESPONDER,
    checked,
    peer,
    ram_body,
    received,
    sam_body,
    transaction,
)
from paths import ISO18626_2021, ISO18626_SAMPLES

from isoill.bridge import messages as b
from isoill.bridge.confirmations import error_report
from isoill.bridge.ids import GROUP
from isoill.bridge.inbound import ACTIONS, ANSWERS, NO_NOTE, STATUSES, inbound
from isoill.bridge.settings import Conditional
from isoill.codec.models import (
    CancelReply,
    CheckedIn,
    ConditionalReply,
    ILLAnswer,
    ILLRequest,
    Message,
    Overdue,
    Received,
    RenewAnswer,
    Returned,
    Shipped,
    StatusOrErrorReport,
    StatusQuery,
    SystemNoItem,
)
from isoill.ill.symbols import symbol_of
from isoill.iso18626 import wire
from isoill.iso18626.errors import ErrorType, Refusal
from isoill.iso18626.messages import MessageKind, Version
from isoill.rules.engine import Context
from isoill.rules.profiles import IPIG

SAMPLES = sorted(ISO18626_SAMPLES.glob("*.xml"))
OWN_2021 = sorted(ISO18626_2021.glob("*.xml"))
CONFIRMATIONS = {kind for kind in MessageKind if kind.value.endswith("Confirmation")}
ALL = [(path, Version.V1_2) for path in SAMPLES] + [(path, Version.V2021) for path in OWN_2021]


def test_there_are_21_samples() -> None:
    assert len(SAMPLES) == 21


@pytest.mark.parametrize(("path", "version"), ALL, ids=lambda item: getattr(item, "name", ""))
def test_every_message_becomes_an_apdu_that_encodes_and_decodes(
    path: Path, version: Version
) -> None:
    parsed = wire.parse(path.read_bytes(), version=version)
    settings = peer(version)
    if parsed.kind in CONFIRMATIONS:
        # the transport's: an ERROR becomes the error-report for the sender, an OK nothing
        about = checked(received(ISO18626_SAMPLES / "RequestSample1.xml", peer()).apdu)
        report = error_report(parsed.model, about, settings, NOW)
        text = path.read_text()
        if "<ns1:messageStatus>ERROR" in text or ">ERROR</" in text:
            assert isinstance(report, StatusOrErrorReport)
            assert report.error_report is not None
            checked(report)
        else:
            assert report is None
        return
    result = inbound(parsed, settings)
    assert not isinstance(result, Refusal), result
    apdu = checked(result.apdu)
    assert result.via.kind is parsed.kind
    assert result.via.version is version
    assert symbol_of(apdu.requester_id) == result.via.requesting_agency.value.upper()


def test_a_request_becomes_an_ill_request() -> None:
    found = received(ISO18626_SAMPLES / "RequestSample1.xml", peer())
    apdu = found.apdu
    assert isinstance(apdu, ILLRequest)
    assert apdu.transaction_id.transaction_group_qualifier.text == GROUP
    assert apdu.transaction_id.transaction_qualifier.text == "my123"
    assert [s.asn1_name for s in apdu.ill_service_type] == ["loan", "copy-non-returnable"]
    assert apdu.item_id.title is not None and apdu.item_id.title.text == "Something about elephants"
    assert apdu.item_id.item_type is not None and apdu.item_id.item_type.asn1_name == "monograph"
    assert apdu.copyright_compliance is not None and apdu.copyright_compliance.text == "CCG"
    assert apdu.search_type is not None
    assert apdu.search_type.need_before_date == "20180116"  # 14:00Z is 15:00 in Berlin
    assert apdu.client_id is not None and apdu.client_id.client_name is not None
    assert apdu.client_id.client_name.text == "Surname, Given"
    assert apdu.cost_info_type is not None and apdu.cost_info_type.maximum_cost is not None
    assert apdu.cost_info_type.maximum_cost.monetary_value == "99.99"
    media = apdu.supply_medium_info_type or ()
    assert [(m.supply_medium_type.asn1_name, str(m.medium_characteristics)) for m in media] == [
        ("other", "LargePrint")  # a format the table lacks keeps its name
    ]
    assert apdu.service_date_time.date_time_of_this_service.time == "093454"  # Berlin
    assert found.via.request_type is b.RequestType.NEW
    assert found.via.service_type is b.ServiceType.COPY_OR_LOAN
    assert found.via.multiple_item_request_id == "What is this?"


def test_an_oclc_number_becomes_the_system_number() -> None:
    apdu = received(ISO18626_SAMPLES / "NewRequest.xml", peer()).apdu
    assert isinstance(apdu, ILLRequest)
    system_no = apdu.item_id.system_no
    assert system_no is not None
    items = system_no.encoding.single_asn1_type
    assert isinstance(items, tuple)
    numbers = [(i.system.asn1_name, i.recordno.text) for i in items if isinstance(i, SystemNoItem)]
    assert numbers == [("oclc", "57358293")]
    assert apdu.item_id.isbn is not None and apdu.item_id.isbn.text == "9780439784542"


def test_a_2021_request_joins_its_volumes() -> None:
    apdu = received(ISO18626_2021 / "Request.xml", peer(Version.V2021)).apdu
    assert isinstance(apdu, ILLRequest)
    assert apdu.item_id.volume_issue is not None and apdu.item_id.volume_issue.text == "1; 2"


def test_a_retry_that_reuses_its_id_starts_a_transaction_of_its_own() -> None:
    body = (ISO18626_SAMPLES / "RequestSample1.xml").read_bytes()
    body = body.replace(b"<ns1:requestType>New", b"<ns1:requestType>Retry")
    body = body.replace(b"PreviousRequestID-001", b"my123")
    found = received(body, peer())
    apdu = found.apdu
    assert isinstance(apdu, ILLRequest) and apdu.retry_flag
    sub = apdu.transaction_id.sub_transaction_qualifier
    assert sub is not None and sub.text == "retry-20180208T083454Z"
    assert found.via.previous_request_id == "my123"


@pytest.mark.parametrize("action", list(b.Action))
def test_every_action_becomes_the_apdu_its_row_names(action: b.Action) -> None:
    version = Version.V2021 if action in (b.Action.LOST, b.Action.HOLD_RETURN) else Version.V1_2
    found = received(ram_body(action, "a note", version), peer(version))
    apdu = checked(found.apdu)
    assert apdu.apdu_type == ACTIONS[action].apdu
    assert apdu.transaction_id == transaction()
    assert (symbol_of(apdu.requester_id), symbol_of(apdu.responder_id)) == (REQUESTER, RESPONDER)
    assert found.via.action is action
    assert "a note" in apdu.model_dump_json()


def test_a_received_and_a_return_are_dated_by_the_timestamp() -> None:
    late = datetime(2025, 3, 10, 23, 30, tzinfo=UTC)  # already the 11th in Berlin
    apdu = received(ram_body(b.Action.RECEIVED, at=late), peer()).apdu
    assert isinstance(apdu, Received) and apdu.date_received == "20250311"
    assert apdu.shipped_service_type.asn1_name == "loan"
    apdu = received(ram_body(b.Action.SHIPPED_RETURN, at=late), peer()).apdu
    assert isinstance(apdu, Returned) and apdu.date_returned == "20250311"


def test_a_notification_without_a_note_gets_one() -> None:
    apdu = received(ram_body(b.Action.NOTIFICATION), peer()).apdu
    assert isinstance(apdu, Message) and apdu.note.text == NO_NOTE


def test_a_status_request_is_a_status_query() -> None:
    apdu = received(ram_body(b.Action.STATUS_REQUEST), peer()).apdu
    assert isinstance(apdu, StatusQuery)


@pytest.mark.parametrize("status", list(b.Status))
def test_every_status_becomes_the_apdu_its_row_names(status: b.Status) -> None:
    version = Version.V2021 if status.value.endswith("HoldReturn") else Version.V1_2
    found = received(sam_body(status, version=version), peer(version))
    apdu = checked(found.apdu)
    assert apdu.apdu_type == STATUSES[status].apdu
    assert found.via.status is status and found.via.reason is b.Reason.STATUS_CHANGE


@pytest.mark.parametrize("reason", list(ANSWERS))
def test_every_answering_reason_becomes_the_apdu_its_row_names(reason: b.Reason) -> None:
    found = received(sam_body(b.Status.LOANED, reason, answer=True), peer())
    assert checked(found.apdu).apdu_type == ANSWERS[reason].apdu


def test_cancel_responses_say_yes_or_no() -> None:
    yes = received(ISO18626_SAMPLES / "SupplyingAgencyMessageCancelYes.xml", peer()).apdu
    no = received(ISO18626_SAMPLES / "SupplyingAgencyMessageCancelNo.xml", peer()).apdu
    assert isinstance(yes, CancelReply) and yes.answer
    assert isinstance(no, CancelReply) and not no.answer


def test_a_renew_response_carries_its_due_date_in_the_10161_zone() -> None:
    apdu = received(ISO18626_SAMPLES / "SupplyingAgencyMessageRenewNo.xml", peer()).apdu
    assert isinstance(apdu, RenewAnswer) and not apdu.answer
    assert apdu.date_due is not None and apdu.date_due.date_due_field == "20210311"


def test_a_loan_becomes_shipped_with_what_iso_10161_holds_of_it() -> None:
    found = received(ISO18626_2021 / "SupplyingAgencyMessage.xml", peer(Version.V2021))
    apdu = found.apdu
    assert isinstance(apdu, Shipped)
    details = apdu.supply_details
    assert details.date_due is not None and details.date_due.date_due_field == "20240606"
    assert details.shipped_conditions is not None
    assert details.shipped_conditions.asn1_name == "library-use-only"
    assert details.shipped_via is not None and str(details.shipped_via.physical_delivery) == "Mail"
    assert apdu.return_to_address is not None
    assert str(apdu.return_to_address.city) == "Göttingen"
    assert found.via.supplying_request_id == "S-900"


def test_a_copy_completed_is_a_copy_shipped_with_its_url() -> None:
    sent = b.Sent(date_sent=NOW, url="https://example.org/copy.pdf")
    apdu = received(
        sam_body(b.Status.COPY_COMPLETED, version=Version.V2021, sent=sent), peer(Version.V2021)
    ).apdu
    assert isinstance(apdu, Shipped)
    assert apdu.shipped_service_type.asn1_name == "copy-non-returnable"
    assert apdu.responder_note is not None and "copy.pdf" in apdu.responder_note.text


def test_unfilled_reasons_follow_the_table_and_name_what_it_lacks() -> None:
    apdu = received(ISO18626_SAMPLES / "SupplyingAgencyMessageRefused.xml", peer()).apdu
    assert isinstance(apdu, ILLAnswer) and apdu.results_explanation is not None
    unfilled = apdu.results_explanation.unfilled_results
    assert unfilled is not None and unfilled.reason_unfilled.asn1_name == "not-owned"
    odd = received(sam_body(b.Status.UNFILLED, reason_unfilled="Duplicate"), peer()).apdu
    assert isinstance(odd, ILLAnswer) and odd.results_explanation is not None
    assert odd.results_explanation.unfilled_results is not None
    assert odd.results_explanation.unfilled_results.reason_unfilled.asn1_name == "other"
    assert odd.responder_note is not None and "reasonUnfilled Duplicate" in odd.responder_note.text


def test_a_retry_possible_is_a_retry_or_with_a_condition_a_conditional() -> None:
    after = datetime(2025, 4, 1, 10, tzinfo=UTC)
    plain = received(
        sam_body(b.Status.RETRY_POSSIBLE, reason_retry="OnLoan", retry=b.Retry(retry_after=after)),
        peer(),
    ).apdu
    assert isinstance(plain, ILLAnswer) and plain.transaction_results.asn1_name == "retry"
    assert plain.results_explanation is not None
    results = plain.results_explanation.retry_results
    assert results is not None and results.retry_date == "20250401"
    assert results.reason_not_available is not None
    assert results.reason_not_available.asn1_name == "in-use-on-loan"
    offer = b.Retry(
        offered_costs=(b.Costs("USD", Decimal("35")),),
        retry_before=after,
        loan_conditions=("NoReproduction",),
    )
    for reason, condition in (
        ("MustMeetLoanCondition", "no-reproduction"),
        ("CostExceedsMaxCost", "cost-exceeds-limit"),
        ("LoanCondition", "no-reproduction"),
    ):  # crosslink's spelling
        found = received(
            sam_body(
                b.Status.RETRY_POSSIBLE, version=Version.V2021, reason_retry=reason, retry=offer
            ),
            peer(Version.V2021),
        ).apdu
        assert isinstance(found, ILLAnswer) and found.results_explanation is not None
        conditional = found.results_explanation.conditional_results
        assert conditional is not None and conditional.conditions.asn1_name == condition
        assert conditional.date_for_reply == "20250401"
        assert found.responder_note is not None and "USD 35" in found.responder_note.text


def test_overdue_without_a_due_date_is_dated_by_its_last_change() -> None:
    apdu = received(sam_body(b.Status.OVERDUE), peer()).apdu
    assert isinstance(apdu, Overdue) and apdu.date_due.date_due_field == "20250310"


def test_loan_completed_is_checked_in() -> None:
    apdu = received(ISO18626_SAMPLES / "SupplyingAgencyMessageClosedSupplied.xml", peer()).apdu
    assert isinstance(apdu, CheckedIn) and apdu.date_checked_in == "20210209"


def test_a_status_request_response_is_a_status_report() -> None:
    apdu = received(sam_body(b.Status.LOANED, b.Reason.STATUS_REQUEST_RESPONSE), peer()).apdu
    assert isinstance(apdu, StatusOrErrorReport) and apdu.status_report is not None
    assert apdu.status_report.provider_status_report.asn1_name == "sHIPPED"
    assert apdu.status_report.user_status_report.most_recent_service.asn1_name == "sHIPPED"


def test_reshare_note_specials_are_read_only_for_a_reshare_peer() -> None:
    note = "#ReShareAddLoanCondition# library use only"
    body = sam_body(b.Status.WILL_SUPPLY, b.Reason.NOTIFICATION, note=note)
    reshare = peer(conditional=Conditional.RESHARE)
    apdu = received(body, reshare).apdu
    assert isinstance(apdu, ILLAnswer) and apdu.transaction_results.asn1_name == "conditional"
    assert isinstance(received(body, peer()).apdu, Message)
    agree = ram_body(b.Action.NOTIFICATION, "#ReShareLoanConditionAgreeResponse#ok")
    reply = received(agree, reshare).apdu
    assert isinstance(reply, ConditionalReply) and reply.answer
    assert isinstance(received(agree, peer()).apdu, Message)


def test_a_date_the_apdu_cannot_hold_is_refused() -> None:
    body = sam_body(b.Status.LOANED).replace(
        b"<ill:lastChange>2025-03-10T09:15:00Z", b"<ill:lastChange>9999-12-31T23:00:00-14:00"
    )
    result = inbound(wire.parse(body), peer())
    assert isinstance(result, Refusal)
    assert result.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert result.kind is MessageKind.SUPPLYING_AGENCY_MESSAGE


def test_a_confirmation_is_not_a_message_to_map() -> None:
    parsed = wire.parse((ISO18626_SAMPLES / "RequestConfirmationSample1.xml").read_bytes())
    with pytest.raises(ValueError, match="transport"):
        inbound(parsed, peer())


def test_every_row_passes_the_rules() -> None:
    # the rows a test above does not reach through a sample: each status under each reason
    for status in b.Status:
        version = Version.V2021 if status.value.endswith("HoldReturn") else Version.V1_2
        for reason in b.Reason:
            apdu = received(sam_body(status, reason, version), peer(version)).apdu
            assert not IPIG.judge(apdu, Context(NOW)).findings
