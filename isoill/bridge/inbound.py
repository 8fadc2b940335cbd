"""An ISO 18626 message that came in, as the ISO 10161 APDU the gateway judges and stores.

Stateless: :func:`inbound` needs only the parsed message and the sender's settings. The
transaction-id comes from the ids (:mod:`isoill.bridge.ids`), the parties from the agency ids
(:mod:`isoill.bridge.agency`), the service date and time from the header's timestamp in the
ISO 10161 side's zone (so a message sent again is the same APDU, and the gateway's duplicate
check recognises it). What ISO 10161 requires and ISO 18626 does not say gets the default
the row says, and whatever the APDU has no element for goes into its note.

Which APDU each message becomes is data, :data:`ACTIONS`, :data:`ANSWERS` and
:data:`STATUSES` (written into docs/iso18626.md), tried in that order for a SAM after the
ReShare note specials (:data:`RESHARE`) when the peer uses them. Confirmations are not
mapped here: they are the transport's (:mod:`isoill.bridge.confirmations`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from isoill.bridge import forms
from isoill.bridge.agency import symbol_for
from isoill.bridge.apdus import apdu, envelope
from isoill.bridge.codes import (
    CONDITIONS,
    LOAN_CONDITIONS,
    RECENT_SERVICE,
    RETRY_REASONS,
    STATE_FOR_STATUS,
    UNFILLED_REASONS,
)
from isoill.bridge.ids import retry_transaction_id, transaction_for
from isoill.bridge.messages import (
    Action,
    Confirmation,
    Costs,
    Reason,
    Request,
    RequestingAgencyMessage,
    RequestType,
    Status,
    SupplyingAgencyMessage,
)
from isoill.bridge.request import request_fields
from isoill.bridge.settings import Conditional, PeerSettings18626
from isoill.bridge.times import OutOfRange, date_10161
from isoill.bridge.via import Via
from isoill.codec.models import (
    Conditions,
    IllApdu,
    ShippedConditions,
    TransactionId,
)
from isoill.ill.apdus import ApduType
from isoill.ill.symbols import system_id
from isoill.iso18626.errors import ErrorType, Refusal
from isoill.iso18626.wire import Parsed

__all__ = [
    "ACTIONS",
    "ANSWERS",
    "NO_NOTE",
    "RESHARE",
    "STATUSES",
    "Inbound",
    "Row",
    "inbound",
]

#: The note of a Message made from an ISO 18626 message that had none (ISO 10161 needs one).
NO_NOTE = "(no note)"

#: How ReShare's notes begin when they carry a loan condition, and the agreement to one.
ADD_CONDITION = "#ReShareAddLoanCondition#"
AGREE = "#ReShareLoanConditionAgreeResponse#"


@dataclass(frozen=True, slots=True)
class Inbound:
    """An ISO 18626 message as its APDU, and what the APDU does not carry (:class:`Via`)."""

    apdu: IllApdu
    via: Via


@dataclass(frozen=True, slots=True)
class _Context:
    """One message being mapped, and what every row needs of it."""

    message: RequestingAgencyMessage | SupplyingAgencyMessage
    settings: PeerSettings18626
    responder: str | None
    requester: str

    @property
    def sam(self) -> SupplyingAgencyMessage:
        assert isinstance(self.message, SupplyingAgencyMessage)
        return self.message

    def date(self, value: datetime) -> str:
        return date_10161(value, self.settings.where)

    @property
    def today(self) -> str:
        """The date of the message (its header's timestamp) on the ISO 10161 side."""
        return self.date(self.message.header.timestamp)


Fields = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Row:
    """What one kind of ISO 18626 message becomes: ``apdu`` (of ``variant``), built by
    ``build``; ``how`` says what is filled from where, for the documentation."""

    apdu: ApduType
    variant: str
    how: str
    build: Callable[[_Context], Fields]


def inbound(parsed: Parsed, settings: PeerSettings18626) -> Inbound | Refusal:
    """The APDU of a message the wire layer parsed, from a peer with ``settings``; a
    :class:`Refusal` for a date the APDU cannot hold. :class:`ValueError` for a
    Confirmation, which is no message to map."""
    try:
        message = forms.read(parsed.model, settings.where)
        if isinstance(message, Confirmation):
            raise ValueError(f"a {parsed.kind} is the transport's to read, not a message to map")
        return _mapped(message, parsed, settings)
    except OutOfRange as error:
        return Refusal(ErrorType.UNRECOGNISED_DATA_VALUE, str(error), kind=parsed.kind)


def _mapped(
    message: Request | RequestingAgencyMessage | SupplyingAgencyMessage,
    parsed: Parsed,
    settings: PeerSettings18626,
) -> Inbound:
    header = message.header
    where = settings.where
    requester = symbol_for(header.requesting_agency, settings.agencies)
    responder = (
        symbol_for(header.supplying_agency, settings.agencies)
        if header.supplying_agency is not None
        else None
    )
    via = Via(
        kind=parsed.kind,
        version=parsed.version,
        declared_version=parsed.declared_version,
        requesting_agency=header.requesting_agency,
        supplying_agency=header.supplying_agency,
        requesting_request_id=header.requesting_request_id,
        supplying_request_id=header.supplying_request_id,
        timestamp=header.timestamp,
        multiple_item_request_id=header.multiple_item_request_id,
    )
    if isinstance(message, Request):
        transaction_id = _request_transaction(message, requester)
        start = envelope(transaction_id, requester, responder, header.timestamp, where)
        service = message.service
        via = _with(
            via,
            request_type=service.request_type if service else None,
            previous_request_id=service.previous_request_id if service else None,
            service_type=service.service_type if service else None,
        )
        fields = request_fields(message, where, settings.agencies)
        return Inbound(apdu(ApduType.ILL_REQUEST, start, fields), via)
    keyed = transaction_for(requester, header.requesting_request_id, header.supplying_request_id)
    start = envelope(keyed.transaction_id, requester, responder, header.timestamp, where)
    context = _Context(message, settings, responder, requester)
    if isinstance(message, RequestingAgencyMessage):
        row = _action_row(message, settings)
        via = _with(via, action=message.action)
    else:
        row = _sam_row(message, settings)
        via = _with(via, reason=message.reason, status=message.status, answer=message.answer)
    return Inbound(apdu(row.apdu, start, row.build(context)), via)


def _request_transaction(request: Request, requester: str) -> TransactionId:
    """A new request's transaction-id; a Retry that reuses its id starts one of its own."""
    header, service = request.header, request.service
    reused = (
        service is not None
        and service.request_type is RequestType.RETRY
        and service.previous_request_id == header.requesting_request_id
    )
    if reused:
        return retry_transaction_id(requester, header.requesting_request_id, header.timestamp)
    return transaction_for(requester, header.requesting_request_id).transaction_id


def _with(via: Via, **changes: Any) -> Via:
    return replace(via, **changes)


# --- notes --------------------------------------------------------------------------------------


def _note(*parts: str | None) -> str | None:
    """The parts that are there, one sentence each."""
    present = [part.strip() for part in parts if part and part.strip()]
    return "; ".join(present) or None


def _costs(costs: tuple[Costs, ...]) -> str | None:
    if not costs:
        return None
    return "offered costs " + ", ".join(f"{c.currency} {_amount(c.amount)}" for c in costs)


def _amount(value: Decimal) -> str:
    return format(value, "f")


# --- requesting agency messages ----------------------------------------------------------------


def _requester_note(context: _Context, *extra: str | None) -> Fields:
    note = _note(*extra, context.message.note)
    return {"requester-note": note} if note is not None else {}


def _received(context: _Context) -> Fields:
    # ISO 18626's Received says nothing of the service: a loan unless the APDU says otherwise
    return {"date-received": context.today, "shipped-service-type": "loan"} | _requester_note(
        context
    )


def _returned(context: _Context) -> Fields:
    return {"date-returned": context.today} | _requester_note(context)


def _forwarded(context: _Context) -> Fields:
    extra = "shipped on to another library (ISO 18626 ShippedForward)"
    return {"date-returned": context.today} | _requester_note(context, extra)


def _message_note(context: _Context, *extra: str | None) -> Fields:
    return {"note": _note(*extra, context.message.note) or NO_NOTE}


def _optional_note(context: _Context) -> Fields:
    note = context.message.note
    return {"note": note} if note else {}


ACTIONS: Mapping[Action, Row] = MappingProxyType(
    {
        Action.STATUS_REQUEST: Row(ApduType.STATUS_QUERY, "", "note", _optional_note),
        Action.RECEIVED: Row(
            ApduType.RECEIVED,
            "",
            "date-received: the timestamp's date; shipped-service-type: loan (the message "
            "does not say); requester-note: the note",
            _received,
        ),
        Action.CANCEL: Row(ApduType.CANCEL, "", "requester-note: the note", _requester_note),
        Action.RENEW: Row(
            ApduType.RENEW, "", "requester-note: the note (no desired-due-date)", _requester_note
        ),
        Action.SHIPPED_RETURN: Row(
            ApduType.RETURNED,
            "",
            "date-returned: the timestamp's date; requester-note: the note",
            _returned,
        ),
        Action.SHIPPED_FORWARD: Row(
            ApduType.RETURNED,
            "",
            "as ShippedReturn, the note saying it went on to another library",
            _forwarded,
        ),
        Action.NOTIFICATION: Row(ApduType.MESSAGE, "", f"note (else {NO_NOTE!r})", _message_note),
        Action.HOLD_RETURN: Row(
            ApduType.MESSAGE,
            "",
            "note: HoldReturn and the note",
            lambda context: _message_note(context, "the requester holds the item (HoldReturn)"),
        ),
        Action.LOST: Row(ApduType.LOST, "", "note", _optional_note),
    }
)


def _agreed(context: _Context) -> Fields:
    rest = (context.message.note or "").removeprefix(AGREE)
    return {"answer": True, "requester-note": _note(rest) or "conditions accepted"}


def _action_row(message: RequestingAgencyMessage, settings: PeerSettings18626) -> Row:
    if (
        settings.conditional is Conditional.RESHARE
        and message.action is Action.NOTIFICATION
        and (message.note or "").startswith(AGREE)
    ):
        return RESHARE["agree"]
    return ACTIONS[message.action]


# --- supplying agency messages -----------------------------------------------------------------


def _responder_note(context: _Context, *extra: str | None) -> Fields:
    note = _note(*extra, context.message.note)
    return {"responder-note": note} if note is not None else {}


def _answer(context: _Context, result: str, explanation: Fields, *extra: str | None) -> Fields:
    return {
        "transaction-results": result,
        "results-explanation": explanation,
    } | _responder_note(context, *extra)


def _expect_to_supply(context: _Context) -> Fields:
    expected = context.sam.expected_delivery
    if expected is not None:
        details = {"estimated-date-available": context.date(expected)}
        return _answer(context, "hold-placed", {"hold-placed-results": details})
    return _answer(
        context, "will-supply", {"will-supply-results": {"reason-will-supply": "on-hold"}}
    )


def _will_supply(context: _Context) -> Fields:
    details: Fields = {"reason-will-supply": "being-processed-for-supply"}
    if context.sam.expected_delivery is not None:
        details["supply-date"] = context.date(context.sam.expected_delivery)
    return _answer(context, "will-supply", {"will-supply-results": details})


def _unlisted(element: str, value: str | None, listed: bool) -> str | None:
    """A note naming an ISO 18626 value the table had no pair for."""
    return f"{element} {value}" if value is not None and not listed else None


def _unfilled(context: _Context) -> Fields:
    given = context.sam.reason_unfilled
    reason = UNFILLED_REASONS.to_10161(given) if given else UNFILLED_REASONS.in_default
    listed = given is not None and UNFILLED_REASONS.listed_18626(given)
    details = {"unfilled-results": {"reason-unfilled": reason}}
    return _answer(context, "unfilled", details, _unlisted("reasonUnfilled", given, listed))


def _retry(context: _Context) -> Fields:
    sam = context.sam
    given = sam.reason_retry
    retry = sam.retry
    if given is not None and given.strip().casefold() in _CONDITIONAL_REASONS:
        return _conditional(context)
    reason = RETRY_REASONS.to_10161(given) if given else RETRY_REASONS.in_default
    listed = given is not None and RETRY_REASONS.listed_18626(given)
    details: Fields = {"reason-not-available": reason}
    if retry is not None and retry.retry_after is not None:
        details["retry-date"] = context.date(retry.retry_after)
    return _answer(
        context,
        "retry",
        {"retry-results": details},
        _unlisted("reasonRetry", given, listed),
        _costs(retry.offered_costs) if retry is not None else None,
    )


_CONDITIONAL_REASONS = frozenset(
    {"mustmeetloancondition", "costexceedsmaxcost", "loancondition"}  # crosslink's LoanCondition
)


def _condition_of(context: _Context) -> Conditions:
    sam = context.sam
    given = (sam.reason_retry or "").strip()
    money = CONDITIONS.to_10161(given) if given else None
    if money is not None:
        return money
    retry = sam.retry
    for condition in retry.loan_conditions if retry is not None else ():
        found = LOAN_CONDITIONS.to_10161(condition)
        if found is not None:
            return found
    return Conditions.OTHER


def _conditional(context: _Context) -> Fields:
    sam = context.sam
    retry = sam.retry
    details: Fields = {"conditions": _condition_of(context)}
    if retry is not None and retry.retry_before is not None:
        details["date-for-reply"] = context.date(retry.retry_before)
    conditions = ", ".join(retry.loan_conditions) if retry is not None else ""
    return _answer(
        context,
        "conditional",
        {"conditional-results": details},
        f"loan conditions {conditions}" if conditions else None,
        _costs(retry.offered_costs) if retry is not None else None,
    )


def _reshare_condition(context: _Context) -> Fields:
    note = (context.message.note or "").removeprefix(ADD_CONDITION)
    details = {"conditions": _condition_of(context)}
    return {
        "transaction-results": "conditional",
        "results-explanation": {"conditional-results": details},
        "responder-note": _note(note) or "a loan condition (ReShare)",
    }


def _shipped(service: str) -> Callable[[_Context], Fields]:
    def build(context: _Context) -> Fields:
        sam = context.sam
        sent = sam.sent
        details: Fields = {
            "date-shipped": context.date(sent.date_sent if sent else sam.last_change)
        }
        if sam.due is not None and service == "loan":
            details["date-due"] = {"date-due-field": context.date(sam.due)}
        extra: list[str | None] = []
        if sent is not None:
            if sent.costs:
                first = sent.costs[0]
                details["cost"] = {
                    "currency-code": first.currency,
                    "monetary-value": _amount(first.amount),
                }
                extra.append(_costs(sent.costs[1:]))
            if sent.loan_conditions:
                first_condition = LOAN_CONDITIONS.to_10161(sent.loan_conditions[0])
                assert first_condition is not None  # the table has a default
                details["shipped-conditions"] = ShippedConditions.from_value(int(first_condition))
                unlisted = [c for c in sent.loan_conditions if not LOAN_CONDITIONS.listed_18626(c)]
                if unlisted or len(sent.loan_conditions) > 1:
                    extra.append("loan conditions " + ", ".join(sent.loan_conditions))
            if sent.method is not None:
                details["shipped-via"] = {"physical-delivery": sent.method}
            extra.append(f"at {sent.url}" if sent.url else None)
            extra.append(f"item {sent.item_id}" if sent.item_id else None)
        fields: Fields = {"shipped-service-type": service, "supply-details": details}
        back = sam.return_to
        if back is not None and (back.address is not None or back.name is not None):
            address = back.address
            fields["return-to-address"] = {
                key: value
                for key, value in {
                    "name-of-person-or-institution": (
                        {"name-of-institution": back.name} if back.name else None
                    ),
                    "street-and-number": address.line1 if address else None,
                    "extended-postal-delivery-address": address.line2 if address else None,
                    "city": address.locality if address else None,
                    "region": address.region if address else None,
                    "country": address.country if address else None,
                    "postal-code": address.postal_code if address else None,
                }.items()
                if value is not None
            }
        return fields | _responder_note(context, *extra)

    return build


def _overdue(context: _Context) -> Fields:
    sam = context.sam
    due = sam.due or sam.last_change
    fields: Fields = {"date-due": {"date-due-field": context.date(due)}}
    return fields | _responder_note(context)


def _checked_in(context: _Context) -> Fields:
    return {"date-checked-in": context.date(context.sam.last_change)} | _responder_note(context)


def _cancelled(context: _Context) -> Fields:
    details = {"unfilled-results": {"reason-unfilled": "other"}}
    return _answer(context, "unfilled", details, "cancelled by the supplier")


def _status_message(context: _Context) -> Fields:
    sam = context.sam
    return _message_note(context, f"ISO 18626 status {sam.status}")


def _cancel_reply(context: _Context) -> Fields:
    sam = context.sam
    answer = sam.answer if sam.answer is not None else sam.status is Status.CANCELLED
    return {"answer": answer} | _responder_note(context)


def _renew_answer(context: _Context) -> Fields:
    sam = context.sam
    fields: Fields = {"answer": bool(sam.answer)}
    if sam.due is not None:
        fields["date-due"] = {"date-due-field": context.date(sam.due)}
    return fields | _responder_note(context)


def _status_report(context: _Context) -> Fields:
    sam = context.sam
    when = context.date(sam.last_change)
    initiator = context.responder or context.requester
    state = STATE_FOR_STATUS.to_10161(sam.status.value)
    history = {
        "date-of-last-transition": when,
        "most-recent-service": RECENT_SERVICE.to_10161(sam.status.value),
        "date-of-most-recent-service": when,
        "initiator-of-most-recent-service": system_id(initiator),
    }
    report = {"user-status-report": history, "provider-status-report": state}
    fields: Fields = {"status-report": report}
    note = _note(f"ISO 18626 status {sam.status}", sam.note)
    return fields | ({"note": note} if note else {})


ANSWERS: Mapping[Reason, Row] = MappingProxyType(
    {
        Reason.CANCEL_RESPONSE: Row(
            ApduType.CANCEL_REPLY,
            "",
            "answer: answerYesNo (absent: yes when the status is Cancelled)",
            _cancel_reply,
        ),
        Reason.RENEW_RESPONSE: Row(
            ApduType.RENEW_ANSWER, "", "answer: answerYesNo; date-due: dueDate", _renew_answer
        ),
        Reason.STATUS_REQUEST_RESPONSE: Row(
            ApduType.STATUS_OR_ERROR_REPORT,
            "status-report",
            "provider-status-report: the status (table below); a History-Report dated "
            "lastChange, its most recent service by the status",
            _status_report,
        ),
        Reason.NOTIFICATION: Row(
            ApduType.MESSAGE,
            "",
            f"note: the status and the note (the status is unchanged; else {NO_NOTE!r})",
            _status_message,
        ),
    }
)

STATUSES: Mapping[Status, Row] = MappingProxyType(
    {
        Status.REQUEST_RECEIVED: Row(
            ApduType.MESSAGE,
            "",
            "note: the status (ISO 10161 has no answer meaning only 'received')",
            _status_message,
        ),
        Status.EXPECT_TO_SUPPLY: Row(
            ApduType.ILL_ANSWER,
            "hold-placed / will-supply",
            "hold-placed with expectedDeliveryDate as estimated-date-available; without "
            "one will-supply, reason on-hold",
            _expect_to_supply,
        ),
        Status.WILL_SUPPLY: Row(
            ApduType.ILL_ANSWER,
            "will-supply",
            "reason being-processed-for-supply; supply-date: expectedDeliveryDate",
            _will_supply,
        ),
        Status.LOANED: Row(
            ApduType.SHIPPED,
            "loan",
            "date-shipped: dateSent (else lastChange); date-due: dueDate; cost: the first "
            "deliveryCosts; shipped-conditions: the first loanCondition; shipped-via: "
            "sentVia (2021 deliveryMethod); return-to-address: returnInfo; the rest in the "
            "note",
            _shipped("loan"),
        ),
        Status.OVERDUE: Row(
            ApduType.OVERDUE, "", "date-due: dueDate (else lastChange's date)", _overdue
        ),
        Status.RECALLED: Row(ApduType.RECALL, "", "responder-note: the note", _responder_note),
        Status.RETRY_POSSIBLE: Row(
            ApduType.ILL_ANSWER,
            "retry / conditional",
            "retry: reason-not-available from reasonRetry, retry-date: retryAfter; with "
            "reasonRetry MustMeetLoanCondition or CostExceedsMaxCost conditional: conditions "
            "from the loanCondition or the costs, date-for-reply: retryBefore; offered costs "
            "in the note",
            _retry,
        ),
        Status.UNFILLED: Row(
            ApduType.ILL_ANSWER, "unfilled", "reason-unfilled from reasonUnfilled", _unfilled
        ),
        Status.HOLD_RETURN: Row(ApduType.MESSAGE, "", "note: the status", _status_message),
        Status.RELEASE_HOLD_RETURN: Row(ApduType.MESSAGE, "", "note: the status", _status_message),
        Status.COPY_COMPLETED: Row(
            ApduType.SHIPPED,
            "copy-non-returnable",
            "as Loaned, without a due date; the URL in the note",
            _shipped("copy-non-returnable"),
        ),
        Status.LOAN_COMPLETED: Row(
            ApduType.CHECKED_IN, "", "date-checked-in: lastChange's date", _checked_in
        ),
        Status.COMPLETED_WITHOUT_RETURN: Row(
            ApduType.MESSAGE,
            "",
            "note: the status (ISO 10161 has no end without a return; a Lost would be refused "
            "after the requester's own)",
            _status_message,
        ),
        Status.CANCELLED: Row(
            ApduType.ILL_ANSWER,
            "unfilled",
            "unsolicited: reason other, the note saying the supplier cancelled",
            _cancelled,
        ),
    }
)

RESHARE: Mapping[str, Row] = MappingProxyType(
    {
        "condition": Row(
            ApduType.ILL_ANSWER,
            "conditional",
            f"a SAM whose note begins {ADD_CONDITION}: conditions from the loanCondition "
            "(else other), the rest of the note",
            _reshare_condition,
        ),
        "agree": Row(
            ApduType.CONDITIONAL_REPLY,
            "yes",
            f"a RAM Notification whose note begins {AGREE}",
            _agreed,
        ),
    }
)


def _sam_row(message: SupplyingAgencyMessage, settings: PeerSettings18626) -> Row:
    if settings.conditional is Conditional.RESHARE and (message.note or "").startswith(
        ADD_CONDITION
    ):
        return RESHARE["condition"]
    answer = ANSWERS.get(message.reason)
    if answer is not None:
        return answer
    return STATUSES[message.status]
