"""Status-Or-Error-Reports the gateway sends back to a peer: every refusal (an error-report
saying why), including an operator's refusal of a held request, and a status-report answered
from the gateway's history. The acknowledgement of a stored APDU is built from the APDU's own
bytes instead (:mod:`isoill.core.acknowledgement`).

The report answers the APDU it is about: same transaction-id, same requester-id and
responder-id, same protocol version. When the APDU could not be decoded at all, nothing of it
is known and the report carries an empty transaction-id.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from isoill.asn1.ext.ipig_user_error import OID as ADDITIONAL_USER_ERROR_INFORMATION
from isoill.asn1.ext.oclc_prism_ill_error import OID as PRISM_ILL_ERROR
from isoill.codec.models import (
    CurrentState,
    ErrorReport,
    Extension,
    External,
    ExternalEncoding,
    GeneralProblem,
    HistoryReport,
    IllApdu,
    IntermediaryProblem,
    IPIGAdditionalUserErrorInformationItem,
    MostRecentService,
    OCLCPrismILLErrorItem,
    PrismIllErrorCode,
    ProviderErrorReport,
    ReasonNoReport,
    ReportSource,
    ServiceDateTime,
    StateTransitionProhibited,
    StatusOrErrorReport,
    StatusReport,
    SystemId,
    TransactionId,
    TransactionIdProblem,
    UnableToPerform,
    UnrecognizedData,
    UserErrorReport,
)
from isoill.codec.text import Text
from isoill.ill.enumerated import ILL_APDU_TYPE, MOST_RECENT_SERVICE
from isoill.ill.versions import PROTOCOL_VERSION, reply_version
from isoill.rules.engine import Finding, Problem

#: The transaction-id of a report about an APDU that could not be decoded.
_UNKNOWN_TRANSACTION = TransactionId(
    transaction_group_qualifier=Text(b""), transaction_qualifier=Text(b"")
)


def status_from_history(
    query: IllApdu,
    last_service: str,
    last_service_at: datetime,
    initiator: SystemId | None,
    state: CurrentState,
    now: datetime,
) -> StatusOrErrorReport:
    """The answer to a Status-Query from what the gateway knows of the transaction: its
    last service passed through the gateway, and the queried party's state after it."""
    service = MOST_RECENT_SERVICE.get(last_service, MostRecentService.STATUS_OR_ERROR_REPORT)
    when = last_service_at.strftime("%Y%m%d")
    history = HistoryReport(
        date_of_last_transition=when,
        most_recent_service=service,
        date_of_most_recent_service=when,
        initiator_of_most_recent_service=initiator or SystemId(),
    )
    status = StatusReport(user_status_report=history, provider_status_report=state)
    note = Text.of("answered by the gateway from its history: the peer cannot be reached now")
    return _report(query, now, status_report=status, note=note)


def state_transition_prohibited(
    apdu: IllApdu, state: CurrentState, reason: str, now: datetime
) -> StatusOrErrorReport:
    """Refusal of an APDU its transaction's state does not allow."""
    prohibited = StateTransitionProhibited(
        apdu_type=ILL_APDU_TYPE[apdu.apdu_type], current_state=state
    )
    report = ProviderErrorReport(state_transition_prohibited=prohibited)
    return _provider_report(apdu, report, reason, now)


def transaction_id_problem(
    apdu: IllApdu, problem: TransactionIdProblem, reason: str, now: datetime
) -> StatusOrErrorReport:
    """Refusal of an APDU for a transaction nobody started, or of an ILL-Request whose
    transaction exists already."""
    return _provider_report(apdu, ProviderErrorReport(transaction_id_problem=problem), reason, now)


def provider_error(
    apdu: IllApdu | None, problem: GeneralProblem, reason: str, now: datetime
) -> StatusOrErrorReport:
    """Refusal of an APDU that is not a well-formed ILL-APDU."""
    return _provider_report(apdu, ProviderErrorReport(general_problem=problem), reason, now)


def _provider_report(
    apdu: IllApdu | None, report: ProviderErrorReport, reason: str, now: datetime
) -> StatusOrErrorReport:
    error = ErrorReport(
        correlation_information=_correlation(apdu),
        report_source=ReportSource.PROVIDER,
        provider_error_report=report,
    )
    return _report(apdu, now, error_report=error, note=Text.of(reason))


def cannot_send_onward(apdu: IllApdu, reason: str, now: datetime) -> StatusOrErrorReport:
    """Refusal of an APDU the gateway has no route for."""
    return _user_error(
        apdu,
        UserErrorReport(intermediary_problem=IntermediaryProblem.CANNOT_SEND_ONWARD),
        reason,
        now,
    )


def not_registered(
    apdu: IllApdu, requester: str, reason: str, now: datetime
) -> StatusOrErrorReport:
    """Refusal of a held request whose requester the gateway does not know."""
    problem = Text.of(f"requester {requester} is not registered with this gateway")
    return _user_error(apdu, UserErrorReport(security_problem=problem), reason, now)


def security_problem(
    apdu: IllApdu, problem: str, reason: str, now: datetime
) -> StatusOrErrorReport:
    """Refusal of an APDU its connection may not send: credentials missing or wrong, or a
    sender that is not the connection's peer."""
    return _user_error(apdu, UserErrorReport(security_problem=Text.of(problem)), reason, now)


def temporary_refusal(apdu: IllApdu, fault: str, now: datetime) -> StatusOrErrorReport:
    """Refusal of an APDU the gateway could not store because of ``fault`` (``its disk is
    full``): nothing of it was kept, and the same APDU sent again later will be taken."""
    note = f"temporary: the gateway cannot store this APDU now ({fault}); send it again later"
    return _temporary(apdu, note, now)


def internal_error(apdu: IllApdu | None, now: datetime) -> StatusOrErrorReport:
    """Refusal of an APDU the gateway failed on (a bug, logged with its traceback). If it was
    stored before the failure, the same APDU sent again is recognised and acknowledged."""
    note = "temporary: the gateway failed on this APDU (an internal error); send it again later"
    return _temporary(apdu, note, now)


def _temporary(apdu: IllApdu | None, note: str, now: datetime) -> StatusOrErrorReport:
    """A refusal that passes. ISO 10161 has one user error for it: unable-to-perform
    resource-limitation. OCLC's systems read the same from their own extension,
    OCLC-Prism-ILL-Error resource-limitation; the note says it in words for staff (ILLiad
    shows a failed send and retries it, yaz-illclient prints the note).
    """
    error = External(
        direct_reference=PRISM_ILL_ERROR,
        encoding=ExternalEncoding(
            single_asn1_type=(
                OCLCPrismILLErrorItem(
                    prism_ill_error_code=PrismIllErrorCode.RESOURCE_LIMITATION,
                    prism_ill_error_text=Text.of(note),
                ),
            )
        ),
    )
    return _user_error(
        apdu,
        UserErrorReport(unable_to_perform=UnableToPerform.RESOURCE_LIMITATION),
        note,
        now,
        extensions=(Extension(identifier=1, item=error),),
    )


def rule_refusal(apdu: IllApdu, findings: Sequence[Finding], now: datetime) -> StatusOrErrorReport:
    """Refusal of an APDU that broke rules. The note lists every finding, with what to do.

    A broken protocol rule (an unsupported version) is a provider error with its
    general-problem. Anything else is the user error unable-to-perform, and IPIG's Additional
    User Error Information extension names each element at fault, so that the sender's
    system can point its staff at the field to fix.
    """
    note = "refused: " + "; ".join(finding.describe() for finding in findings)
    for finding in findings:
        if finding.rule.provider_problem is not None:
            return provider_error(apdu, finding.rule.provider_problem, note, now)
    information = External(
        direct_reference=ADDITIONAL_USER_ERROR_INFORMATION,
        encoding=ExternalEncoding(
            single_asn1_type=tuple(_additional_information(finding) for finding in findings)
        ),
    )
    return _user_error(
        apdu,
        UserErrorReport(unable_to_perform=UnableToPerform.OTHER),
        note,
        now,
        extensions=(Extension(identifier=1, item=information),),
    )


def _additional_information(finding: Finding) -> IPIGAdditionalUserErrorInformationItem:
    element = Text.of(finding.element)
    violation = finding.violation
    if violation.problem is Problem.MISSING:
        return IPIGAdditionalUserErrorInformationItem(missing_required_element=element)
    if violation.problem is Problem.UNRECOGNIZED:
        data = Text.of(violation.data) if violation.data is not None else None
        return IPIGAdditionalUserErrorInformationItem(
            unrecognized_data=UnrecognizedData(element=element, data=data)
        )
    return IPIGAdditionalUserErrorInformationItem(
        inconsistent_data=Text.of(f"{finding.element}: {violation.message}")
    )


def _user_error(
    apdu: IllApdu | None,
    report: UserErrorReport,
    reason: str,
    now: datetime,
    extensions: tuple[Extension, ...] | None = None,
) -> StatusOrErrorReport:
    error = ErrorReport(
        correlation_information=_correlation(apdu),
        report_source=ReportSource.USER,
        user_error_report=report,
    )
    return _report(apdu, now, error_report=error, note=Text.of(reason), extensions=extensions)


def _correlation(apdu: IllApdu | None) -> Text:
    """The transaction-qualifier of the APDU the report is about, as peers correlate by it."""
    return apdu.transaction_id.transaction_qualifier if apdu is not None else Text(b"")


def _report(
    apdu: IllApdu | None,
    now: datetime,
    *,
    reason_no_report: ReasonNoReport | None = None,
    status_report: StatusReport | None = None,
    error_report: ErrorReport | None = None,
    note: Text | None = None,
    extensions: tuple[Extension, ...] | None = None,
) -> StatusOrErrorReport:
    this_service = {"date": now.strftime("%Y%m%d"), "time": now.strftime("%H%M%S")}
    if apdu is None:
        version, transaction_id = PROTOCOL_VERSION, _UNKNOWN_TRANSACTION
        requester_id = responder_id = None
    else:
        version, transaction_id = reply_version(apdu.protocol_version_num), apdu.transaction_id
        requester_id, responder_id = apdu.requester_id, apdu.responder_id
    return StatusOrErrorReport(
        protocol_version_num=version,
        transaction_id=transaction_id,
        service_date_time=ServiceDateTime.model_validate(
            {"date-time-of-this-service": this_service}
        ),
        requester_id=requester_id,
        responder_id=responder_id,
        reason_no_report=reason_no_report,
        status_report=status_report,
        error_report=error_report,
        note=note,
        status_or_error_report_extensions=extensions,
    )
