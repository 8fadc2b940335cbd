"""Confirmations, both ways: intake's answer to an ISO 18626 message as the Confirmation the
sender gets, and an ERROR Confirmation from an ISO 18626 target as the error-report the ISO
10161 sender of the delivered APDU gets.

Intake answers every APDU with a Status-Or-Error-Report: an acknowledgement (a status-report,
or reason-no-report) is a Confirmation OK; a refusal's error-report is an ERROR whose
errorType says what kind of problem it is (:data:`INTAKE_ERRORS`) and whose errorValue says
what, in the refusal's own words, naming the ISO 18626 element where there is one. The
Confirmation echoes the message's ids, its timestamp (``timestampReceived``), its action or
reasonForMessage, and the version it declared.

An ERROR Confirmation received becomes a provider or user error by its errorType, or by its
errorValue when that says the request id is already taken or unknown (as mod-rs and
crosslink write it) (:data:`RECEIVED_ERRORS`). An OK one is delivery, and no APDU.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from isoill.bridge import forms
from isoill.bridge import messages as b
from isoill.bridge.settings import PeerSettings18626
from isoill.bridge.times import date_10161, time_10161
from isoill.bridge.via import Via
from isoill.codec.models import (
    ErrorReport,
    GeneralProblem,
    IllApdu,
    ProviderErrorReport,
    ReportSource,
    ServiceDateTime,
    StatusOrErrorReport,
    TransactionIdProblem,
    UnableToPerform,
    UserErrorReport,
)
from isoill.codec.text import Text
from isoill.ill.versions import reply_version
from isoill.iso18626.errors import ErrorType, Refusal, bounded
from isoill.iso18626.messages import MessageKind, Version
from isoill.iso18626.wire import Message as Model

__all__ = [
    "CONFIRMATION_OF",
    "INTAKE_ERRORS",
    "RECEIVED_ERRORS",
    "confirmation",
    "error_report",
    "refusal_confirmation",
    "temporary",
]

#: Which Confirmation answers which message.
CONFIRMATION_OF: Mapping[MessageKind, MessageKind] = MappingProxyType(
    {
        MessageKind.REQUEST: MessageKind.REQUEST_CONFIRMATION,
        MessageKind.REQUESTING_AGENCY_MESSAGE: MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION,
        MessageKind.SUPPLYING_AGENCY_MESSAGE: MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION,
    }
)

#: A refusal's error-report (its alternative, and the value where it matters) -> errorType.
#: ``None`` is the message's own: UnsupportedActionType for a Request or RAM,
#: UnsupportedReasonForMessageType for a SAM.
INTAKE_ERRORS: Mapping[tuple[str, str | None], ErrorType | None] = MappingProxyType(
    {
        ("general-problem", "unrecognized-APDU"): ErrorType.BADLY_FORMED_MESSAGE,
        ("general-problem", "mistyped-APDU"): ErrorType.BADLY_FORMED_MESSAGE,
        ("general-problem", "badly-structured-APDU"): ErrorType.BADLY_FORMED_MESSAGE,
        ("general-problem", "protocol-version-not-supported"): ErrorType.BADLY_FORMED_MESSAGE,
        ("general-problem", None): ErrorType.UNRECOGNISED_DATA_VALUE,
        ("transaction-id-problem", None): ErrorType.UNRECOGNISED_DATA_VALUE,
        ("state-transition-prohibited", None): None,
        ("security-problem", None): ErrorType.UNRECOGNISED_DATA_VALUE,
        ("unable-to-perform", None): ErrorType.UNRECOGNISED_DATA_VALUE,
        ("intermediary-problem", None): ErrorType.UNRECOGNISED_DATA_VALUE,
        ("already-forwarded", None): ErrorType.UNRECOGNISED_DATA_VALUE,
    }
)

#: The alternatives whose errorType is the message's own (:data:`INTAKE_ERRORS` ``None``).
_BY_MESSAGE = frozenset(
    alternative for (alternative, _), kind in INTAKE_ERRORS.items() if kind is None
)

#: What the errorValue says for a transaction-id problem (``{id}``: the request id).
_ID_PROBLEMS: Mapping[TransactionIdProblem, str] = MappingProxyType(
    {
        TransactionIdProblem.DUPLICATE_TRANSACTION_ID: "{id}: already exists",
        TransactionIdProblem.UNKNOWN_TRANSACTION_ID: "{id}: not found",
        TransactionIdProblem.INVALID_TRANSACTION_ID: "{id}: not valid",
    }
)


#: errorType -> the error-report for the ISO 10161 sender. errorValue comes first: one that
#: says the request id exists already, or is unknown, is a transaction-id problem.
RECEIVED_ERRORS: Mapping[ErrorType, tuple[ReportSource, str, str]] = MappingProxyType(
    {
        ErrorType.BADLY_FORMED_MESSAGE: (
            ReportSource.PROVIDER,
            "general-problem",
            GeneralProblem.BADLY_STRUCTURED_APDU.asn1_name,
        ),
        ErrorType.UNRECOGNISED_DATA_ELEMENT: (
            ReportSource.USER,
            "unable-to-perform",
            UnableToPerform.OTHER.asn1_name,
        ),
        ErrorType.UNRECOGNISED_DATA_VALUE: (
            ReportSource.USER,
            "unable-to-perform",
            UnableToPerform.OTHER.asn1_name,
        ),
        ErrorType.UNSUPPORTED_ACTION_TYPE: (
            ReportSource.PROVIDER,
            "general-problem",
            GeneralProblem.UNRECOGNIZED_APDU.asn1_name,
        ),
        ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE: (
            ReportSource.PROVIDER,
            "general-problem",
            GeneralProblem.UNRECOGNIZED_APDU.asn1_name,
        ),
    }
)

#: Words in an errorValue that name a transaction-id problem, as peers write them.
ID_WORDS: tuple[tuple[tuple[str, ...], TransactionIdProblem], ...] = (
    (("already exists", "requestidalreadyexists"), TransactionIdProblem.DUPLICATE_TRANSACTION_ID),
    (
        ("not found", "unabletofindrequest", "unknown request"),
        TransactionIdProblem.UNKNOWN_TRANSACTION_ID,
    ),
)


def confirmation(via: Via, report: StatusOrErrorReport | None, now: datetime) -> Model:
    """The Confirmation of the message ``via`` describes, answered by intake with
    ``report`` at ``now`` (``None``: acknowledged without one, as for a peer whose ``ack`` is
    "none"): in the schema the message was read with, declaring its version."""
    error = None if report is None else _error_of(report, via)
    confirmed = b.Confirmation(
        kind=CONFIRMATION_OF[via.kind],
        requesting_agency=via.requesting_agency,
        supplying_agency=via.supplying_agency,
        timestamp=now,
        requesting_request_id=via.requesting_request_id,
        timestamp_received=via.timestamp,
        ok=error is None,
        errors=(error,) if error is not None else (),
        action=via.action,
        reason=via.reason,
        multiple_item_request_id=via.multiple_item_request_id,
    )
    return forms.write(confirmed, via.version, via.declared_version)


def refusal_confirmation(
    refusal: Refusal, version: Version, now: datetime, declared: str | None = None
) -> Model | None:
    """The ERROR Confirmation of a body the wire layer refused, when it got as far as the
    message's kind (``None``: no Confirmation can answer it: the transport answers with text).
    Nothing of the message is known, so its header names no ids, and ``timestampReceived``
    is ``now``."""
    kind = CONFIRMATION_OF.get(refusal.kind) if refusal.kind is not None else None
    if kind is None:
        return None
    refused = b.Confirmation(
        kind=kind,
        requesting_agency=None,
        supplying_agency=None,
        timestamp=now,
        requesting_request_id=None,
        timestamp_received=now,
        ok=False,
        errors=(b.Error(refusal.error_type, refusal.error_value),),
    )
    return forms.write(refused, version, declared)


def temporary(report: StatusOrErrorReport) -> bool:
    """Whether intake refused for now only (it could not store the message): the transport
    answers that with HTTP 503, no Confirmation, so the peer sends it again."""
    error = report.error_report
    user = error.user_error_report if error is not None else None
    return user is not None and user.unable_to_perform is UnableToPerform.RESOURCE_LIMITATION


def error_report(
    model: Model, about: IllApdu, settings: PeerSettings18626, now: datetime
) -> StatusOrErrorReport | None:
    """The error-report for the sender of ``about``, the APDU delivered as a message the
    target answered with the Confirmation ``model``; ``None`` for an OK."""
    received = forms.read(model, settings.where)
    if not isinstance(received, b.Confirmation):
        raise ValueError("an error report answers a Confirmation")
    if received.ok:
        return None
    first = received.errors[0] if received.errors else None
    value = (first.value or "").strip() if first is not None else ""
    said = value or (str(first.type) if first is not None else "no error data")
    problem = _id_problem(value)
    if problem is not None:
        source, alternative, named = (
            ReportSource.PROVIDER,
            "transaction-id-problem",
            problem.asn1_name,
        )
    elif first is not None:
        source, alternative, named = RECEIVED_ERRORS[first.type]
    else:
        source, alternative, named = ReportSource.PROVIDER, "general-problem", "other"
    detail = {alternative: named}
    error = ErrorReport(
        correlation_information=about.transaction_id.transaction_qualifier,
        report_source=source,
        provider_error_report=(
            ProviderErrorReport.model_validate(detail) if source is ReportSource.PROVIDER else None
        ),
        user_error_report=(
            UserErrorReport.model_validate(detail) if source is ReportSource.USER else None
        ),
    )
    kind = first.type if first is not None else "ERROR"
    note = bounded(f"the ISO 18626 peer refused the message: {kind}: {said}")
    where = settings.where
    return StatusOrErrorReport(
        protocol_version_num=reply_version(about.protocol_version_num),
        transaction_id=about.transaction_id,
        service_date_time=ServiceDateTime.model_validate(
            {
                "date-time-of-this-service": {
                    "date": date_10161(now, where),
                    "time": time_10161(now, where),
                }
            }
        ),
        requester_id=about.requester_id,
        responder_id=about.responder_id,
        error_report=error,
        note=Text.of(note),
    )


def _id_problem(value: str) -> TransactionIdProblem | None:
    folded = value.casefold()
    for words, problem in ID_WORDS:
        if any(word in folded for word in words):
            return problem
    return None


def _error_of(report: StatusOrErrorReport, via: Via) -> b.Error | None:
    """The Confirmation's error for intake's ``report``; ``None`` for an acknowledgement."""
    error = report.error_report
    if error is None:
        return None
    chosen = error.provider_error_report or error.user_error_report
    note = report.note.text if report.note is not None else ""
    if chosen is None:
        return b.Error(ErrorType.UNRECOGNISED_DATA_VALUE, bounded(note or "refused"))
    alternative, detail = chosen.chosen
    value = getattr(detail, "asn1_name", None)
    kind = INTAKE_ERRORS.get((alternative, value), INTAKE_ERRORS.get((alternative, None)))
    sam = via.kind is MessageKind.SUPPLYING_AGENCY_MESSAGE
    if kind is None and alternative in _BY_MESSAGE:
        kind = (
            ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE
            if sam
            else ErrorType.UNSUPPORTED_ACTION_TYPE
        )
    if alternative == "state-transition-prohibited":
        said = f"reasonForMessage {via.reason}" if sam else f"action {via.action or 'Request'}"
        # as the protocol machine and the docs spell it (IN-PROCESS), not ASN.1's iN-PROCESS
        state = getattr(getattr(detail, "current_state", None), "asn1_name", "unknown").upper()
        assert kind is not None  # the message's own, set above
        return b.Error(kind, bounded(f"{said} not allowed in state {state}: {note}"))
    if isinstance(detail, TransactionIdProblem):
        words = _ID_PROBLEMS.get(detail, "{id}: not valid")
        said = "requestingAgencyRequestId " + words.format(id=via.requesting_request_id)
        return b.Error(ErrorType.UNRECOGNISED_DATA_VALUE, bounded(f"{said}: {note}"))
    if alternative == "security-problem":  # what is wrong, then why
        said = getattr(detail, "text", "security problem")
        return b.Error(ErrorType.UNRECOGNISED_DATA_VALUE, bounded(f"{said}: {note}"))
    if alternative == "intermediary-problem":
        agency = via.requesting_agency if sam else via.supplying_agency
        said = f"{agency}: not reached through this gateway"
        return b.Error(ErrorType.UNRECOGNISED_DATA_VALUE, bounded(f"{said}: {note}"))
    return b.Error(kind or ErrorType.UNRECOGNISED_DATA_VALUE, bounded(note or alternative))
