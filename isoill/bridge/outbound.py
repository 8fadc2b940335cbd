"""An APDU accepted for an ISO 18626 target, as the message the target is sent.

:func:`outbound` takes the APDU, the transaction's bridge state (``None`` before its first
ISO 18626 message), the target's settings and the time, and returns the message model for the
target's schema with the next state (:class:`Outbound`), or :class:`Unmappable` with the
reason when ISO 18626 has no form for the APDU (the gateway refuses it to its sender).

What a requester sends goes to an ISO 18626 supplier as a Request or a requesting agency
message; what a responder sends goes to an ISO 18626 requester as a supplying agency message,
which always states the status: the status follows from the APDU and the status before it
(the same as following the ISO 10161 responder's state), and its reasonForMessage is the
answer to the requester's open question if the APDU answers it, Notification for an APDU that
only says something, RequestResponse for the first that answers the Request, and StatusChange
after it. Which message each APDU becomes is data, :data:`FROM_REQUESTER` and
:data:`FROM_RESPONDER`, written into docs/iso18626.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from isoill.bridge import forms
from isoill.bridge import messages as b
from isoill.bridge.agency import agency_of, symbol_for
from isoill.bridge.codes import (
    CONDITIONS,
    EXPECT_TO_SUPPLY,
    LOAN_CONDITIONS,
    RETRY_REASONS,
    SHIPPED_SERVICE,
    STATUS_FOR_STATE,
    UNFILLED_REASONS,
    name_of,
    shipped_condition,
    unfilled_reason,
)
from isoill.bridge.ids import request_id_for, supplying_request_id_for
from isoill.bridge.inbound import ADD_CONDITION, AGREE
from isoill.bridge.request import request_out, service_type_of
from isoill.bridge.settings import Conditional, PeerSettings18626
from isoill.bridge.state import Bridged, Question
from isoill.bridge.times import date_10161, date_out, instant_out
from isoill.codec.decoder import decode
from isoill.codec.encoder import encode
from isoill.codec.models import (
    Amount,
    CancelReply,
    CheckedIn,
    ConditionalReply,
    Damaged,
    ForwardNotification,
    ILLAnswer,
    IllApdu,
    ILLRequest,
    LocationInfo,
    Lost,
    Message,
    Overdue,
    PostalAddress,
    ReasonUnfilled,
    Received,
    Renew,
    RenewAnswer,
    RetryResults,
    Returned,
    Shipped,
    ShippedServiceType,
    StatusOrErrorReport,
    TransactionResults,
)
from isoill.codec.text import Text
from isoill.ill.apdus import APDU_FLOW, ApduType, Flow, Role
from isoill.ill.symbols import symbol_of
from isoill.iso18626.messages import MessageKind, Version
from isoill.iso18626.wire import Message as Model

__all__ = ["FROM_REQUESTER", "FROM_RESPONDER", "Outbound", "Row", "Unmappable", "outbound"]

#: The status a transaction has before its supplier said anything.
FIRST_STATUS = b.Status.REQUEST_RECEIVED

#: The actions v1.2 lacks, sent to a v1.2 peer as a Notification whose note names them.
_NOT_IN_V1_2 = frozenset({b.Action.LOST, b.Action.HOLD_RETURN})

#: Statuses that mean the item is with the requester: a Lost then ends the loan.
_LENT = frozenset({b.Status.LOANED, b.Status.OVERDUE, b.Status.RECALLED})


@dataclass(frozen=True, slots=True)
class Outbound:
    """The message for the target (``model``, for :func:`isoill.iso18626.wire.serialise`),
    which of the three it is, and the transaction's state after it."""

    model: Model
    kind: MessageKind
    state: Bridged


@dataclass(frozen=True, slots=True)
class Unmappable:
    """An APDU ISO 18626 has no form for, and why (the refusal's note)."""

    reason: str


@dataclass(frozen=True, slots=True)
class _Out:
    """One APDU being mapped, and what every row needs."""

    apdu: IllApdu
    state: Bridged
    target: PeerSettings18626
    now: datetime
    requester: str  # the requester's symbol, as the request ids are relative to it

    def date(self, value: str) -> datetime:
        return date_out(value, self.target.where)

    def instant(self, value: str | None) -> datetime:
        """A date (of shipping, say) as the instant ISO 18626 states: now if it is today's."""
        if value is None or value == date_10161(self.now, self.target.where):
            return self.now
        return instant_out(value, None, self.target.where)


@dataclass(frozen=True, slots=True)
class _Built:
    message: b.Request | b.RequestingAgencyMessage | b.SupplyingAgencyMessage
    state: Bridged


Build = Callable[[_Out], _Built | Unmappable]


@dataclass(frozen=True, slots=True)
class Row:
    """What one APDU becomes: ``message`` (how the documentation names it), ``how`` its
    fields are filled, what is ``lost``, and the function that ``build``s it."""

    message: str
    how: str
    lost: str
    build: Build


def outbound(
    apdu: IllApdu,
    state: Bridged | None,
    target: PeerSettings18626,
    now: datetime,
    *,
    sender: Role | None = None,
) -> Outbound | Unmappable:
    """The message ``apdu`` is for an ISO 18626 target with ``target``'s settings at ``now``.

    ``sender`` is the sending party's role (the core's ``Routing.role``); the APDU's type
    says it but for the types either party sends (Message, Lost, Damaged, Status-Query,
    Status-Or-Error-Report, Expired), which are :class:`Unmappable` without it."""
    flow = APDU_FLOW.get(apdu.apdu_type)
    role = {Flow.FROM_REQUESTER: Role.REQUESTER, Flow.FROM_RESPONDER: Role.RESPONDER}.get(
        flow or Flow.EITHER, sender
    )
    if role is None:
        return Unmappable(f"{apdu.apdu_type} is sent by either party, and which is not known")
    rows = FROM_REQUESTER if role is Role.REQUESTER else FROM_RESPONDER
    row = rows.get(apdu.apdu_type)
    if row is None:
        return Unmappable(f"a {role.value} does not send {apdu.apdu_type}")
    now = now.astimezone(UTC).replace(microsecond=0)
    started = state if state is not None else _first_state(apdu, target)
    if isinstance(started, Unmappable):
        return started
    requester = symbol_for(started.requesting_agency, target.agencies)
    built = row.build(_Out(apdu, started, target, now, requester))
    if isinstance(built, Unmappable):
        return built
    model = forms.write(built.message, target.version, target.declared)
    kind = {
        b.Request: MessageKind.REQUEST,
        b.RequestingAgencyMessage: MessageKind.REQUESTING_AGENCY_MESSAGE,
        b.SupplyingAgencyMessage: MessageKind.SUPPLYING_AGENCY_MESSAGE,
    }[type(built.message)]
    return Outbound(model, kind, replace(built.state, version=target.version))


def _first_state(apdu: IllApdu, target: PeerSettings18626) -> Bridged | Unmappable:
    """The state of a transaction whose first ISO 18626 message this APDU makes."""
    requester = symbol_of(apdu.requester_id) or symbol_of(apdu.transaction_id.initial_requester_id)
    if requester is None:
        return Unmappable(f"the {apdu.apdu_type} names no requester, whose request id it needs")
    responder = symbol_of(apdu.responder_id)
    requesting = agency_of(requester, target.agencies)
    # the ids are relative to the symbol the requesting agency is read back as
    return Bridged(
        requesting_agency=requesting,
        supplying_agency=agency_of(responder, target.agencies) if responder else None,
        requesting_request_id=request_id_for(
            apdu.transaction_id, symbol_for(requesting, target.agencies)
        ),
        version=target.version,
    )


# --- notes ----------------------------------------------------------------------------------


def _text(value: Text | None) -> str | None:
    return value.text if value is not None else None


def _note(*parts: str | None) -> str | None:
    present = [part.strip() for part in parts if part and part.strip()]
    return "; ".join(present) or None


def _dated(context: _Out, what: str, value: str | None) -> str | None:
    """A note saying when something happened, unless it happened today (the message's time
    says so then)."""
    if value is None or value == date_10161(context.now, context.target.where):
        return None
    return f"{what} {_shown(value)}"


# --- requesting agency messages and requests (to an ISO 18626 supplier) -----------------------


def _header(context: _Out) -> b.Header:
    state = context.state
    supplying = state.supplying_agency
    if supplying is None:
        responder = symbol_of(context.apdu.responder_id)
        supplying = agency_of(responder, context.target.agencies) if responder else None
    return b.Header(
        requesting_agency=state.requesting_agency,
        supplying_agency=supplying,
        timestamp=context.now,
        requesting_request_id=state.requesting_request_id,
        supplying_request_id=state.supplying_request_id,
        authentication=context.target.authentication,
    )


def _ram(
    context: _Out, action: b.Action, note: str | None, question: Question | None = None
) -> _Built | Unmappable:
    header = _header(context)
    if header.supplying_agency is None:
        return Unmappable("the supplying agency is not known: the APDU names no responder")
    if action in _NOT_IN_V1_2 and context.target.version is Version.V1_2:
        note, action = (
            _note(f"{action} (ISO 18626 v1.2 has no such action)", note),
            (b.Action.NOTIFICATION),
        )
    message = b.RequestingAgencyMessage(header=header, action=action, note=note)
    state = context.state
    if question is not None:
        state = replace(state, question=question)
    return _Built(message, state)


def _requester_note(context: _Out) -> str | None:
    note: Text | None = getattr(context.apdu, "requester_note", None)
    return _text(note)


def _request(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, ILLRequest)
    if service_type_of(apdu) is None:
        asked = ", ".join(s.asn1_name for s in apdu.ill_service_type)
        return Unmappable(f"ISO 18626 requests a loan or a copy, not {asked}")
    header = _header(context)
    if header.supplying_agency is None and context.target.version is Version.V1_2:
        return Unmappable("a v1.2 Request names its supplying agency: the APDU names no responder")
    state = context.state
    request = request_out(
        apdu,
        header,
        context.target.where,
        context.target.agencies,
        previous_request_id=state.previous_request_id,
    )
    retrying = context.target.conditional is Conditional.RETRY
    kept = (apdu.ber or encode(apdu)) if retrying else None
    service = request.service.service_type if request.service else None
    after = replace(
        state,
        supplying_agency=header.supplying_agency,
        service_type=service if service is not b.ServiceType.COPY_OR_LOAN else None,
        request=kept,
    )
    return _Built(request, after)


def _conditional_reply(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, ConditionalReply)
    note = _text(apdu.requester_note)
    if context.target.conditional is Conditional.RESHARE:
        if apdu.answer:
            return _ram(context, b.Action.NOTIFICATION, AGREE + (note or ""))
        return _ram(context, b.Action.CANCEL, _note("the conditions are not accepted", note))
    if not apdu.answer:  # the RetryPossible ended the request: only words remain to say
        return _ram(context, b.Action.NOTIFICATION, _note("the conditions are not accepted", note))
    return _retry_request(context, note)


def _retry_request(context: _Out, note: str | None) -> _Built | Unmappable:
    """Agreeing under ISO 18626:2021 Annex H: the Request again, as a Retry of the last."""
    state = context.state
    if state.request is None:
        return Unmappable("a Retry sends the Request again, and the bridge state holds none")
    original = decode(state.request)
    assert isinstance(original, ILLRequest), "the state keeps an ILL-Request"
    retries = state.retries + 1
    request_id = request_id_for(original.transaction_id, context.requester, retries)
    retried = replace(
        state,
        requesting_request_id=request_id,
        supplying_request_id=None,
        status=None,
        last_change=None,
        answered=False,
        question=None,
        retries=retries,
        previous_request_id=state.requesting_request_id,
    )
    if note is not None:
        original = original.model_copy(
            update={"requester_note": Text.of(_note(note, _text(original.requester_note)) or "")}
        )
    return _request(replace(context, apdu=original, state=retried))


def _action(action: b.Action, question: Question | None = None) -> Build:
    def build(context: _Out) -> _Built | Unmappable:
        return _ram(context, action, _requester_note(context), question)

    return build


def _received(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, Received)
    note = _note(_dated(context, "received", apdu.date_received), _text(apdu.requester_note))
    return _ram(context, b.Action.RECEIVED, note)


def _returned(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, Returned)
    insured = apdu.insured_for
    note = _note(
        _dated(context, "returned", apdu.date_returned),
        f"via {apdu.returned_via.text}" if apdu.returned_via else None,
        f"insured for {_amount_text(insured)}" if insured else None,
        _text(apdu.requester_note),
    )
    return _ram(context, b.Action.SHIPPED_RETURN, note)


def _renew(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, Renew)
    desired = apdu.desired_due_date
    note = _note(
        f"desired due date {_shown(desired)}" if desired else None, _requester_note(context)
    )
    return _ram(context, b.Action.RENEW, note, Question.RENEW)


def _lost_or_damaged_note(context: _Out) -> str | None:
    apdu = context.apdu
    if isinstance(apdu, Damaged):
        return _note("damaged", _damaged(apdu), _text(apdu.note))
    assert isinstance(apdu, Lost)
    return _text(apdu.note)


def _requester_lost(context: _Out) -> _Built | Unmappable:
    return _ram(context, b.Action.LOST, _lost_or_damaged_note(context))


def _requester_notice(context: _Out) -> _Built | Unmappable:
    return _ram(context, b.Action.NOTIFICATION, _notice(context.apdu) or "(no note)")


def _requester_report(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, StatusOrErrorReport)
    return _ram(context, b.Action.NOTIFICATION, _report_note(apdu))


def _requester_expired(context: _Out) -> _Built | Unmappable:
    return _ram(context, b.Action.CANCEL, "the request expired", Question.CANCEL)


FROM_REQUESTER: Mapping[str, Row] = MappingProxyType(
    {
        ApduType.ILL_REQUEST: Row(
            "Request, requestType New (Retry with the retry-flag)",
            "the field table below",
            "what the field table lists; a request for locations or an estimate only is unmappable",
            _request,
        ),
        ApduType.CONDITIONAL_REPLY: Row(
            "2021 model: yes a Request, requestType Retry, the ILL-Request again under the "
            "next request id; no a RAM Notification. ReShare model: yes a RAM Notification "
            f"{AGREE}, no a RAM Cancel",
            "requester-note: the note",
            "nothing",
            _conditional_reply,
        ),
        ApduType.CANCEL: Row(
            "RAM Cancel",
            "requester-note: note",
            "nothing",
            _action(b.Action.CANCEL, Question.CANCEL),
        ),
        ApduType.RECEIVED: Row(
            "RAM Received",
            "date-received: the note, unless today",
            "supplier-id, shipped-service-type, supplemental-item-description",
            _received,
        ),
        ApduType.RETURNED: Row(
            "RAM ShippedReturn",
            "date-returned, returned-via, insured-for: the note",
            "nothing but as words",
            _returned,
        ),
        ApduType.RENEW: Row(
            "RAM Renew", "desired-due-date: the note", "desired-due-date as a date", _renew
        ),
        ApduType.LOST: Row(
            "RAM Lost (v1.2: Notification, the note naming it)", "note", "nothing", _requester_lost
        ),
        ApduType.DAMAGED: Row(
            "RAM Notification",
            "the note: damaged, and which part",
            "damaged-details as data",
            _requester_notice,
        ),
        ApduType.MESSAGE: Row("RAM Notification", "note", "nothing", _requester_notice),
        ApduType.STATUS_QUERY: Row(
            "RAM StatusRequest",
            "note",
            "nothing",
            _action(b.Action.STATUS_REQUEST, Question.STATUS_REQUEST),
        ),
        ApduType.STATUS_OR_ERROR_REPORT: Row(
            "RAM Notification",
            "the report in words",
            "the report as data (ISO 18626 has no report from the requester)",
            _requester_report,
        ),
        ApduType.EXPIRED: Row(
            "RAM Cancel", "the note: expired", "expiry (ISO 18626 has none)", _requester_expired
        ),
    }
)


# --- supplying agency messages (to an ISO 18626 requester) ----------------------------------


_ANSWERING = object()  # marker: the reason is the answer to the open question
_NOTIFYING = object()  # marker: the message only says something


def _sam(
    context: _Out,
    status: b.Status,
    note: str | None,
    *,
    kind: object = None,
    answer: bool | None = None,
    **fields: Any,
) -> _Built | Unmappable:
    state = context.state
    if status is b.Status.EXPECT_TO_SUPPLY and not context.target.expect_to_supply:
        status = b.Status.WILL_SUPPLY
    question = state.question
    if kind is _ANSWERING:
        assert question is not None
        reason = question.answer
    elif kind is _NOTIFYING:
        reason = b.Reason.NOTIFICATION
    else:
        reason = b.Reason.STATUS_CHANGE if state.answered else b.Reason.REQUEST_RESPONSE
    stated = state.stated(status, context.now)
    header = _header(context)
    supplying_id = state.supplying_request_id
    if supplying_id is None:
        supplying_id = supplying_request_id_for(context.apdu.transaction_id, context.requester)
    header = replace(header, supplying_request_id=supplying_id, authentication=None)
    if header.supplying_agency is None:
        return Unmappable("the supplying agency is not known: the APDU names no responder")
    message = b.SupplyingAgencyMessage(
        header=header,
        reason=reason,
        status=status,
        last_change=stated.last_change or context.now,
        answer=answer,
        note=note,
        **fields,
    )
    after = replace(
        stated,
        supplying_request_id=supplying_id,
        answered=state.answered or reason is b.Reason.REQUEST_RESPONSE,
        question=None if kind is _ANSWERING else question,
    )
    return _Built(message, after)


def _current(context: _Out) -> b.Status:
    return context.state.status or FIRST_STATUS


def _responder_note(context: _Out) -> str | None:
    note: Text | None = getattr(context.apdu, "responder_note", None)
    return _text(note)


def _answer(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, ILLAnswer)
    note = _responder_note(context)
    explanation = apdu.results_explanation
    match apdu.transaction_results:
        case TransactionResults.WILL_SUPPLY:
            results = explanation.will_supply_results if explanation else None
            status = b.Status.WILL_SUPPLY
            if results is not None:
                status = b.Status(EXPECT_TO_SUPPLY.written(results.reason_will_supply))
            expected = (
                context.date(results.supply_date) if results and results.supply_date else None
            )
            return _sam(context, status, note, expected_delivery=expected)
        case TransactionResults.HOLD_PLACED:
            held = explanation.hold_placed_results if explanation else None
            expected = context.date(held.estimated_date_available) if held else None
            return _sam(context, b.Status.EXPECT_TO_SUPPLY, note, expected_delivery=expected)
        case TransactionResults.UNFILLED:
            unfilled = explanation.unfilled_results if explanation else None
            reason = unfilled.reason_unfilled if unfilled else None
            return _unfilled(context, reason, note, unfilled.locations if unfilled else None)
        case TransactionResults.LOCATIONS_PROVIDED:
            found = explanation.locations_results if explanation else None
            given = found.reason_locs_provided if found else None
            reason = unfilled_reason(given) if given is not None else None
            return _unfilled(context, reason, note, found.locations if found else None)
        case TransactionResults.RETRY:
            retry = explanation.retry_results if explanation else None
            return _retry_possible(context, retry, note)
        case TransactionResults.CONDITIONAL:
            return _conditional(context, note)
        case TransactionResults.ESTIMATE:
            estimate = explanation.estimate_results if explanation else None
            return _estimate(context, estimate.cost_estimate.text if estimate else None, note)
    return Unmappable(
        f"transaction-results {apdu.transaction_results.asn1_name} is not one ISO 10161 lists"
    )


def _unfilled(
    context: _Out,
    reason: ReasonUnfilled | None,
    note: str | None,
    locations: tuple[LocationInfo, ...] | None,
) -> _Built | Unmappable:
    theirs = UNFILLED_REASONS.written(reason)
    named = reason is not None and not UNFILLED_REASONS.listed_10161(reason)
    return _sam(
        context,
        b.Status.UNFILLED,
        _note(
            f"reason-unfilled {name_of(reason)}" if named else None,
            _locations(locations),
            note,
        ),
        reason_unfilled=theirs,
    )


def _locations(locations: tuple[LocationInfo, ...] | None) -> str | None:
    if not locations:
        return None
    shown = []
    for location in locations:
        symbol = symbol_of(location.location_id) or "?"
        shown.append(
            f"{symbol} ({location.location_note.text})" if location.location_note else symbol
        )
    return "try " + ", ".join(shown)


def _retry_possible(
    context: _Out, retry: RetryResults | None, note: str | None
) -> _Built | Unmappable:
    reason = retry.reason_not_available if retry is not None else None
    theirs = RETRY_REASONS.written(reason)
    named = reason is not None and not RETRY_REASONS.listed_10161(reason)
    after = context.date(retry.retry_date) if retry is not None and retry.retry_date else None
    return _sam(
        context,
        b.Status.RETRY_POSSIBLE,
        _note(f"reason-not-available {name_of(reason)}" if named else None, note),
        reason_retry=theirs,
        retry=b.Retry(retry_after=after) if after is not None else None,
    )


def _conditional(context: _Out, note: str | None) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, ILLAnswer)
    explanation = apdu.results_explanation
    conditional = explanation.conditional_results if explanation else None
    condition = conditional.conditions if conditional else None
    named = f"conditions {condition.asn1_name}" if condition is not None else "conditions"
    loan = LOAN_CONDITIONS.to_18626(condition) if condition is not None else None
    if context.target.conditional is Conditional.RESHARE:
        text = ADD_CONDITION + (_note(loan or named, note) or "")
        return _sam(context, b.Status.WILL_SUPPLY, text)
    reason = CONDITIONS.written(condition)
    before = (
        context.date(conditional.date_for_reply)
        if conditional is not None and conditional.date_for_reply
        else None
    )
    return _sam(
        context,
        b.Status.RETRY_POSSIBLE,
        _note(named, note),
        reason_retry=reason,
        retry=b.Retry(retry_before=before, loan_conditions=(loan,) if loan else ()),
    )


_ESTIMATE = re.compile(
    r"(?:(?P<before>[A-Z]{3})\s*(?P<first>\d+(?:\.\d+)?))|(?:(?P<second>\d+(?:\.\d+)?)\s*(?P<after>[A-Z]{3}))"
)


def _estimate(context: _Out, text: str | None, note: str | None) -> _Built | Unmappable:
    found = _ESTIMATE.search(text or "")
    worded = _note(f"estimate: {text}" if text else "an estimate", note)
    if found is None:
        return _sam(
            context, b.Status.UNFILLED, worded, reason_unfilled=UNFILLED_REASONS.written(None)
        )
    currency = found.group("before") or found.group("after")
    amount = Decimal(found.group("first") or found.group("second"))
    return _sam(
        context,
        b.Status.RETRY_POSSIBLE,
        worded,
        reason_retry="CostExceedsMaxCost",
        retry=b.Retry(offered_costs=(b.Costs(currency, amount),)),
    )


def _forwarded(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, ForwardNotification)
    to = symbol_of(apdu.responder_id) or "another library"
    note = _note(f"forwarded to {to}", _text(apdu.notification_note))
    return _sam(context, _current(context), note, kind=_NOTIFYING)


def _amount_text(amount: Amount) -> str:
    return (
        f"{amount.currency_code} {amount.monetary_value}"
        if amount.currency_code
        else amount.monetary_value
    )


def _costs(amount: Amount | None) -> tuple[b.Costs, ...]:
    if amount is None or not amount.currency_code:
        return ()
    try:
        value = Decimal(amount.monetary_value.strip())
    except InvalidOperation:
        return ()
    return (b.Costs(amount.currency_code, value),) if value.is_finite() else ()


def _return_to(address: PostalAddress | None) -> b.ReturnTo | None:
    if address is None:
        return None
    who = address.name_of_person_or_institution
    second = address.extended_postal_delivery_address or address.post_office_box
    return b.ReturnTo(
        name=str(who.chosen[1]) if who is not None else None,
        address=b.PostalAddress(
            line1=_text(address.street_and_number),
            line2=_text(second),
            locality=_text(address.city),
            postal_code=_text(address.postal_code),
            region=_text(address.region),
            country=_text(address.country),
        ),
    )


def _shipped(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, Shipped)
    service = apdu.shipped_service_type
    status = b.Status(SHIPPED_SERVICE.to_18626(service) or b.Status.LOANED.value)
    details = apdu.supply_details
    via = details.shipped_via
    method = None
    if via is not None and via.physical_delivery is not None:
        method = via.physical_delivery.text
    elif via is not None and via.electronic_delivery is not None:
        electronic = via.electronic_delivery
        method = _text(electronic.name_or_code) or _text(electronic.e_delivery_description)
    condition = details.shipped_conditions
    loan = LOAN_CONDITIONS.to_18626(shipped_condition(condition)) if condition else None
    due = details.date_due
    costs = _costs(details.cost)
    note = _note(
        f"shipped-conditions {condition.asn1_name}" if condition and loan is None else None,
        "not renewable" if due is not None and not due.renewable else None,
        f"cost {_amount_text(details.cost)}" if details.cost and not costs else None,
        _responder_note(context),
    )
    sent = b.Sent(
        date_sent=context.instant(details.date_shipped),
        method=method,
        loan_conditions=(loan,) if loan else (),
        service_type=(
            b.ServiceType.COPY
            if service is ShippedServiceType.COPY_NON_RETURNABLE
            else b.ServiceType.LOAN
        ),
        costs=costs,
    )
    return _sam(
        context,
        status,
        note,
        due=context.date(due.date_due_field) if due is not None else None,
        sent=sent,
        return_to=_return_to(apdu.return_to_address),
    )


def _cancel_reply(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, CancelReply)
    status = b.Status.CANCELLED if apdu.answer else _current(context)
    kind = _ANSWERING if context.state.question is Question.CANCEL else None
    return _sam(context, status, _responder_note(context), kind=kind, answer=apdu.answer)


def _renew_answer(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, RenewAnswer)
    status = b.Status.LOANED if apdu.answer else _current(context)
    kind = _ANSWERING if context.state.question is Question.RENEW else None
    due = context.date(apdu.date_due.date_due_field) if apdu.date_due else None
    return _sam(context, status, _responder_note(context), kind=kind, answer=apdu.answer, due=due)


def _status(status: b.Status) -> Build:
    def build(context: _Out) -> _Built | Unmappable:
        return _sam(context, status, _responder_note(context))

    return build


def _checked_in(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, CheckedIn)
    note = _note(_dated(context, "checked in", apdu.date_checked_in), _responder_note(context))
    return _sam(context, b.Status.LOAN_COMPLETED, note)


def _overdue(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, Overdue)
    note = _note("not renewable" if not apdu.date_due.renewable else None, _responder_note(context))
    return _sam(context, b.Status.OVERDUE, note, due=context.date(apdu.date_due.date_due_field))


def _responder_lost(context: _Out) -> _Built | Unmappable:
    lent = _current(context) in _LENT
    status = b.Status.COMPLETED_WITHOUT_RETURN if lent else b.Status.UNFILLED
    note = _note("lost", _lost_or_damaged_note(context))
    if lent:
        return _sam(context, status, note)
    return _sam(context, status, note, reason_unfilled=UNFILLED_REASONS.written(None))


def _responder_notice(context: _Out) -> _Built | Unmappable:
    return _sam(context, _current(context), _notice(context.apdu) or "(no note)", kind=_NOTIFYING)


def _responder_query(context: _Out) -> _Built | Unmappable:
    return Unmappable(
        "ISO 18626 has no status query from the supplier: only the requester asks (StatusRequest)"
    )


def _responder_report(context: _Out) -> _Built | Unmappable:
    apdu = context.apdu
    assert isinstance(apdu, StatusOrErrorReport)
    asked = context.state.question is Question.STATUS_REQUEST
    status = _current(context)
    if apdu.status_report is not None:
        reported = STATUS_FOR_STATE.to_18626(apdu.status_report.provider_status_report)
        if reported is not None:
            status = b.Status(reported)
        if status is b.Status.LOANED and context.state.service_type is b.ServiceType.COPY:
            status = b.Status.COPY_COMPLETED
    kind = _ANSWERING if asked and apdu.error_report is None else _NOTIFYING
    return _sam(context, status, _report_note(apdu), kind=kind)


def _responder_expired(context: _Out) -> _Built | Unmappable:
    return _sam(
        context,
        b.Status.UNFILLED,
        "the request expired",
        reason_unfilled=UNFILLED_REASONS.written(None),
    )


FROM_RESPONDER: Mapping[str, Row] = MappingProxyType(
    {
        ApduType.FORWARD_NOTIFICATION: Row(
            "SAM Notification, the status unchanged",
            "the note names the new responder",
            "the forwarding itself (ISO 18626 has no intermediaries)",
            _forwarded,
        ),
        ApduType.SHIPPED: Row(
            "SAM Loaned (copy-non-returnable: CopyCompleted)",
            "date-shipped: deliveryInfo/dateSent; date-due: dueDate; shipped-conditions: "
            "loanCondition; shipped-via: sentVia (2021 deliveryMethod); cost: deliveryCosts; "
            "return-to-address: returnInfo; responder-note: note",
            "chargeable-units, insurance, units per medium, supplier-id; renewable (in the note)",
            _shipped,
        ),
        ApduType.ILL_ANSWER: Row(
            "SAM by the result: will-supply WillSupply (ExpectToSupply for the reasons below), "
            "hold-placed ExpectToSupply, unfilled and locations-provided Unfilled, retry "
            "RetryPossible, conditional by the peer's model, estimate RetryPossible "
            "CostExceedsMaxCost with the costs it names (else Unfilled)",
            "supply-date, estimated-date-available: expectedDeliveryDate; reasons by the tables "
            "below; retry-date: retryAfter; date-for-reply: retryBefore",
            "locations (in the note), the 28 reasons beyond the lists (named in the note), a "
            "conditional answer that keeps the ISO 18626 request open (2021 model)",
            _answer,
        ),
        ApduType.CANCEL_REPLY: Row(
            "SAM CancelResponse, answerYesNo; yes Cancelled, no the status unchanged",
            "responder-note: note",
            "nothing",
            _cancel_reply,
        ),
        ApduType.RECALL: Row(
            "SAM Recalled", "responder-note: note", "nothing", _status(b.Status.RECALLED)
        ),
        ApduType.CHECKED_IN: Row(
            "SAM LoanCompleted",
            "date-checked-in: the note, unless today",
            "nothing but as words",
            _checked_in,
        ),
        ApduType.OVERDUE: Row(
            "SAM Overdue", "date-due: dueDate", "renewable (in the note)", _overdue
        ),
        ApduType.RENEW_ANSWER: Row(
            "SAM RenewResponse, answerYesNo; yes Loaned, no the status unchanged",
            "date-due: dueDate",
            "renewable",
            _renew_answer,
        ),
        ApduType.LOST: Row(
            "SAM CompletedWithoutReturn once lent, else Unfilled",
            "note",
            "nothing",
            _responder_lost,
        ),
        ApduType.DAMAGED: Row(
            "SAM Notification",
            "the note: damaged, and which part",
            "damaged-details as data",
            _responder_notice,
        ),
        ApduType.MESSAGE: Row("SAM Notification", "note", "nothing", _responder_notice),
        ApduType.STATUS_QUERY: Row(
            "unmappable", "ISO 18626 has no status query from the supplier", "all", _responder_query
        ),
        ApduType.STATUS_OR_ERROR_REPORT: Row(
            "SAM StatusRequestResponse answering a StatusRequest, else Notification",
            "provider-status-report: the status (table below); an error-report in the note",
            "the History-Report",
            _responder_report,
        ),
        ApduType.EXPIRED: Row(
            "SAM Unfilled", "the note: expired", "expiry (ISO 18626 has none)", _responder_expired
        ),
    }
)


# --- words for what ISO 18626 has no element for --------------------------------------------


def _shown(date: str) -> str:
    return f"{date[:4]}-{date[4:6]}-{date[6:]}" if len(date) == 8 and date.isdigit() else date


def _damaged(apdu: Damaged) -> str | None:
    details = apdu.damaged_details
    if details is None:
        return None
    portion = details.damaged_portion
    if portion.specific_units:
        return "units " + ", ".join(str(unit) for unit in portion.specific_units)
    return "the complete document"


def _notice(apdu: IllApdu) -> str | None:
    if isinstance(apdu, Damaged):
        return _note("damaged", _damaged(apdu), _text(apdu.note))
    if isinstance(apdu, Message):
        return _text(apdu.note)
    return None


def _report_note(apdu: StatusOrErrorReport) -> str:
    parts: list[str | None] = []
    if apdu.status_report is not None:
        parts.append(f"state {apdu.status_report.provider_status_report.asn1_name}")
    if apdu.error_report is not None:
        error = apdu.error_report
        chosen = error.provider_error_report or error.user_error_report
        detail = chosen.chosen[0] if chosen is not None else "unstated"
        parts.append(f"an error report ({error.report_source.asn1_name}, {detail})")
    if apdu.reason_no_report is not None:
        parts.append(f"no report ({apdu.reason_no_report.asn1_name})")
    parts.append(_text(apdu.note))
    return _note(*parts) or "a status report"
