"""Confirmations both ways: intake's acknowledgement and each kind of refusal the core makes,
as the Confirmation of the message (valid in the schema it came in, its ids, timestamp and
action or reason echoed, the errorType its problem calls for); and an ERROR Confirmation from a
target as the error-report for the ISO 10161 sender."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bridge_support import (
    NOW,
    checked,
    ill_request,
    peer,
    ram_body,
    received,
    sam_body,
)
from paths import ISO18626_SAMPLES

from isoill.bridge import forms
from isoill.bridge import messages as b
from isoill.bridge.agency import AgencyId
from isoill.bridge.confirmations import (
    RECEIVED_ERRORS,
    confirmation,
    error_report,
    refusal_confirmation,
    temporary,
)
from isoill.bridge.inbound import Inbound
from isoill.bridge.times import zone
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import (
    CurrentState,
    GeneralProblem,
    ILLRequest,
    ReportSource,
    StatusOrErrorReport,
    TransactionIdProblem,
)
from isoill.core import reports
from isoill.core.acknowledgement import acknowledgement
from isoill.iso18626 import wire
from isoill.iso18626.errors import ErrorType, Refusal
from isoill.iso18626.messages import MessageKind, Version
from isoill.rules.engine import Context
from isoill.rules.oclc import TITLE
from isoill.rules.profiles import OCLC

BERLIN = zone("Europe/Berlin")
THEN = NOW + timedelta(seconds=2)


def arrivals(version: Version) -> list[Inbound]:
    """One message of each kind, as intake would get them."""
    request = (ISO18626_SAMPLES / "RequestSample1.xml").read_bytes()
    if version is Version.V2021:
        request = wire.serialise(
            forms.write(forms.read(wire.parse(request).model, BERLIN), version)
        )
    settings = peer(version)
    return [
        received(request, settings),
        received(ram_body(b.Action.RENEW, version=version), settings),
        received(
            sam_body(b.Status.LOANED, b.Reason.RENEW_RESPONSE, version, answer=True), settings
        ),
    ]


def confirmed(arrival: Inbound, report: StatusOrErrorReport) -> b.Confirmation:
    model = confirmation(arrival.via, report, THEN)
    parsed = wire.parse(wire.serialise(model), version=arrival.via.version)
    back = forms.read(parsed.model, BERLIN)
    assert isinstance(back, b.Confirmation)
    assert parsed.declared_version == arrival.via.declared_version
    return back


def ack(arrival: Inbound) -> StatusOrErrorReport:
    found = decode(acknowledgement(encode(arrival.apdu), THEN, initiator="requester-id"))
    assert isinstance(found, StatusOrErrorReport)
    return found


@pytest.mark.parametrize("version", list(Version))
def test_an_acknowledgement_is_ok_with_everything_echoed(version: Version) -> None:
    for arrival in arrivals(version):
        back = confirmed(arrival, ack(arrival))
        via = arrival.via
        assert back.ok and not back.errors
        assert back.kind.value == via.kind.value + "Confirmation"
        assert back.requesting_request_id == via.requesting_request_id
        assert (back.requesting_agency, back.supplying_agency) == (
            via.requesting_agency,
            via.supplying_agency,
        )
        assert back.timestamp == THEN and back.timestamp_received == via.timestamp
        assert back.action is via.action and back.reason is via.reason
        if via.kind is MessageKind.REQUESTING_AGENCY_MESSAGE:
            assert back.action is b.Action.RENEW
        if via.kind is MessageKind.SUPPLYING_AGENCY_MESSAGE:
            assert back.reason is b.Reason.RENEW_RESPONSE


def errors_of(arrival: Inbound, report: StatusOrErrorReport) -> b.Error:
    back = confirmed(arrival, report)
    assert not back.ok and len(back.errors) == 1
    return back.errors[0]


@pytest.mark.parametrize("version", list(Version))
def test_a_transaction_id_problem_names_the_request_id(version: Version) -> None:
    request, *_ = arrivals(version)
    duplicate = reports.transaction_id_problem(
        request.apdu, TransactionIdProblem.DUPLICATE_TRANSACTION_ID, "seen before", THEN
    )
    error = errors_of(request, duplicate)
    assert error.type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert error.value == "requestingAgencyRequestId my123: already exists: seen before"
    unknown = reports.transaction_id_problem(
        request.apdu, TransactionIdProblem.UNKNOWN_TRANSACTION_ID, "no such", THEN
    )
    assert (
        errors_of(request, unknown).value == "requestingAgencyRequestId my123: not found: no such"
    )


@pytest.mark.parametrize("version", list(Version))
def test_a_prohibited_transition_is_an_unsupported_action_or_reason(version: Version) -> None:
    _, renew, answer = arrivals(version)
    error = errors_of(
        renew,
        reports.state_transition_prohibited(renew.apdu, CurrentState.PENDING, "not lent yet", THEN),
    )
    assert error.type is ErrorType.UNSUPPORTED_ACTION_TYPE
    assert error.value == "action Renew not allowed in state PENDING: not lent yet"
    error = errors_of(
        answer,
        reports.state_transition_prohibited(
            answer.apdu, CurrentState.PENDING, "nothing asked", THEN
        ),
    )
    assert error.type is ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE
    assert error.value is not None and error.value.startswith("reasonForMessage RenewResponse")


def test_other_refusals_get_their_error_types() -> None:
    request, *_ = arrivals(Version.V1_2)
    badly = reports.provider_error(request.apdu, GeneralProblem.BADLY_STRUCTURED_APDU, "bad", THEN)
    assert errors_of(request, badly).type is ErrorType.BADLY_FORMED_MESSAGE
    other = reports.provider_error(request.apdu, GeneralProblem.OTHER, "odd", THEN)
    assert errors_of(request, other).type is ErrorType.UNRECOGNISED_DATA_VALUE
    asked = request.apdu
    assert isinstance(asked, ILLRequest)
    untitled = asked.model_copy(
        update={"item_id": asked.item_id.model_copy(update={"title": None})}
    )
    findings = OCLC.judge(untitled, Context(NOW)).refusals
    assert any(finding.rule is TITLE for finding in findings)
    ruled = errors_of(request, reports.rule_refusal(untitled, findings, THEN))
    assert ruled.type is ErrorType.UNRECOGNISED_DATA_VALUE
    assert ruled.value is not None and "ILL-REQUEST.item-id.title" in ruled.value
    unroutable = errors_of(request, reports.cannot_send_onward(request.apdu, "no route", THEN))
    assert unroutable.value == "ISIL:OCLC-ABCDE: not reached through this gateway: no route"
    refused = errors_of(request, reports.security_problem(request.apdu, "who?", "not yours", THEN))
    assert refused.type is ErrorType.UNRECOGNISED_DATA_VALUE and refused.value == "who?: not yours"


def test_a_temporary_refusal_is_told_apart() -> None:
    request, *_ = arrivals(Version.V1_2)
    assert temporary(reports.temporary_refusal(request.apdu, "its disk is full", THEN))
    assert temporary(reports.internal_error(request.apdu, THEN))  # sent again, it is taken
    assert not temporary(ack(request))
    assert not temporary(reports.cannot_send_onward(request.apdu, "no route", THEN))


def test_an_error_value_is_bounded() -> None:
    request, *_ = arrivals(Version.V1_2)
    long = reports.provider_error(request.apdu, GeneralProblem.OTHER, "x" * 5000, THEN)
    error = errors_of(request, long)
    assert error.value is not None and len(error.value) <= 400


@pytest.mark.parametrize("version", list(Version))
def test_a_body_the_wire_refused_gets_an_error_confirmation(version: Version) -> None:
    refusal = Refusal(ErrorType.UNRECOGNISED_DATA_VALUE, "not valid: x", kind=MessageKind.REQUEST)
    model = refusal_confirmation(refusal, version, THEN)
    assert model is not None
    back = forms.read(wire.parse(wire.serialise(model), version=version).model, BERLIN)
    assert isinstance(back, b.Confirmation) and not back.ok
    assert back.kind is MessageKind.REQUEST_CONFIRMATION
    assert back.errors == (b.Error(ErrorType.UNRECOGNISED_DATA_VALUE, "not valid: x"),)
    assert refusal_confirmation(Refusal(ErrorType.BADLY_FORMED_MESSAGE, "?"), version, THEN) is None
    echoed = Refusal(ErrorType.BADLY_FORMED_MESSAGE, "?", kind=MessageKind.REQUEST_CONFIRMATION)
    assert refusal_confirmation(echoed, version, THEN) is None


def received_error(
    error_type: ErrorType, value: str | None, version: Version
) -> StatusOrErrorReport | None:
    confirmation_ = b.Confirmation(
        kind=MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION,
        requesting_agency=AgencyId("ISIL", "REQLIB"),
        supplying_agency=AgencyId("ISIL", "RESPLIB"),
        timestamp=THEN,
        requesting_request_id="grp/42",
        timestamp_received=NOW,
        ok=False,
        errors=(b.Error(error_type, value),),
        action=b.Action.CANCEL,
    )
    body = wire.serialise(forms.write(confirmation_, version))
    return error_report(wire.parse(body, version=version).model, ill_request(), peer(version), THEN)


@pytest.mark.parametrize("version", list(Version))
@pytest.mark.parametrize("error_type", list(ErrorType))
def test_an_error_confirmation_is_an_error_report_by_its_type(
    error_type: ErrorType, version: Version
) -> None:
    report = received_error(error_type, "something is wrong", version)
    assert report is not None and report.error_report is not None
    checked(report)
    source, alternative, value = RECEIVED_ERRORS[error_type]
    assert report.error_report.report_source is source
    chosen = report.error_report.provider_error_report or report.error_report.user_error_report
    assert chosen is not None
    assert chosen.chosen[0] == alternative
    assert getattr(chosen.chosen[1], "asn1_name", None) == value
    assert report.note is not None and "something is wrong" in report.note.text
    assert report.error_report.correlation_information.text == "42"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "requestingAgencyRequestId grp/42 already exists",
            TransactionIdProblem.DUPLICATE_TRANSACTION_ID,
        ),
        ("RequestIdAlreadyExists", TransactionIdProblem.DUPLICATE_TRANSACTION_ID),
        ("UnableToFindRequest: grp/42", TransactionIdProblem.UNKNOWN_TRANSACTION_ID),
        ("request not found", TransactionIdProblem.UNKNOWN_TRANSACTION_ID),
    ],
)
def test_an_error_value_about_the_id_is_a_transaction_id_problem(
    value: str, problem: TransactionIdProblem
) -> None:
    report = received_error(ErrorType.UNRECOGNISED_DATA_VALUE, value, Version.V1_2)
    assert report is not None and report.error_report is not None
    assert report.error_report.report_source is ReportSource.PROVIDER
    found = report.error_report.provider_error_report
    assert found is not None and found.transaction_id_problem is problem


def test_an_ok_confirmation_is_delivery_and_no_report() -> None:
    for name in ("RequestConfirmationSample1.xml", "SupplyingAgencyMessageConfirmationSample1.xml"):
        model = wire.parse((ISO18626_SAMPLES / name).read_bytes()).model
        assert error_report(model, ill_request(), peer(), THEN) is None


def test_only_a_confirmation_makes_an_error_report() -> None:
    model = wire.parse((ISO18626_SAMPLES / "RequestSample1.xml").read_bytes()).model
    with pytest.raises(ValueError, match="Confirmation"):
        error_report(model, ill_request(), peer(), THEN)
