"""The simulated supplier's decisions, without I/O: what it answers to each Request and RAM,
and which SAMs it then owes the requester, in order.

On a Request it answers ERROR UnrecognisedDataValue when a header id is empty or the
transaction (supplier, requester, requestingAgencyRequestId) is known already ("already
exists"); otherwise it runs the Request's scenario (:mod:`.scenario`): OK, and the scenario's
SAMs queued. The first SAM sent is a RequestResponse, the rest StatusChange, unless a SAM
answers a RAM (CancelResponse, RenewResponse, StatusRequestResponse). A SAM's status becomes
the transaction's when it is taken to be sent (:meth:`Supplier.next_sam`), so a Cancel that
comes before a queued Loaned goes out still finds the item not loaned.

On a RAM it answers OK with the action echoed, then:

- Cancel: CancelResponse Y with Cancelled (what was still queued is dropped), or N with the
  current status once the item is loaned or the request has ended, or always with the
  scenario's CANCEL_NO;
- Renew: RenewResponse Y with Loaned and the due date 14 days later, while loaned or overdue
  (N with the current status otherwise, or always with RENEW_NO);
- Received: the scenario's Recalled or Overdue, if it has one still to come;
- ShippedReturn: LoanCompleted, while loaned, overdue or recalled;
- StatusRequest: StatusRequestResponse with the current status;
- anything else: nothing more.

A RAM for a transaction it does not know gets OK and nothing more, or, with
``unknown_error``, ERROR UnrecognisedDataValue ("not found").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from isoill.iso18626.errors import ErrorType
from isoill.tools.peer18626.messages import (
    Agency,
    Answer,
    Confirmation,
    Costs,
    Delivery,
    ElectronicAddress,
    Header,
    HttpError,
    PostalAddress,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
    confirm,
)
from isoill.tools.peer18626.scenario import Later, Outcome, Reason, Scenario, choose

LOAN_PERIOD = timedelta(days=14)
#: What RETRY:COST offers; RETRY:COND's condition.
OFFERED_COSTS = Costs("USD", Decimal("35.00"))
LOAN_CONDITION = "NoReproduction"

_ON_LOAN = frozenset({"Loaned", "Overdue", "Recalled"})
_ENDED = frozenset({"Unfilled", "RetryPossible", "CopyCompleted", "LoanCompleted", "Cancelled"})
_LATER_STATUS = {Later.RECALLED: "Recalled", Later.OVERDUE: "Overdue"}

Key = tuple[str, str, str]


@dataclass(frozen=True)
class _Step:
    """A SAM owed: its status, and its reason when it answers a RAM (else RequestResponse
    for the first SAM, StatusChange after)."""

    status: str
    reason: str | None = None
    answer: str | None = None


@dataclass
class Supply:
    """A transaction the supplier knows: the Request, its scenario, what it has sent."""

    request: Request
    scenario: Scenario
    supplier: Agency
    supplier_request_id: str
    pending: deque[_Step] = field(default_factory=deque)
    status: str | None = None
    """The status of the last SAM taken to be sent; None before the first."""
    later: Later | None = None
    due: datetime | None = None


class Supplier:
    """A supplier playing ``agency`` (and any supplier a Request names), running each
    Request's scenario, ``default`` for a Request that names none."""

    def __init__(self, agency: Agency, default: Scenario, *, unknown_error: bool = False) -> None:
        self.agency = agency
        self.default = default
        self.unknown_error = unknown_error
        self.supplies: dict[Key, Supply] = {}
        self._count = 0

    def take(self, message: Request | RequestingAgencyMessage, now: datetime) -> Answer:
        """The answer to ``message``; any SAMs it leads to are queued for
        :meth:`next_sam`."""
        if isinstance(message, Request):
            return self._request(message, now)
        return self._ram(message, now)

    def key(self, header: Header) -> Key:
        """The transaction a message with ``header`` belongs to: the supplier it names (this
        one, if it names none), the requester, the requestingAgencyRequestId."""
        return (str(header.supplier or self.agency), str(header.requester), header.request_id)

    def owes(self, key: Key) -> bool:
        """Whether the transaction ``key`` has SAMs queued."""
        supply = self.supplies.get(key)
        return supply is not None and bool(supply.pending)

    def next_sam(self, key: Key, now: datetime) -> SupplyingAgencyMessage | None:
        """The next SAM owed for ``key``, taken off the queue; None when nothing is owed."""
        supply = self.supplies.get(key)
        if supply is None or not supply.pending:
            return None
        step = supply.pending.popleft()
        first = supply.status is None
        sam = self._sam(supply, step, first, now)
        supply.status, supply.due = sam.status, sam.due or supply.due
        return sam

    def halt(self, key: Key) -> None:
        """Drop the SAMs still owed for ``key``: the requester did not confirm the last."""
        supply = self.supplies.get(key)
        if supply is not None:
            supply.pending.clear()

    def _request(self, request: Request, now: datetime) -> Answer:
        header = request.header
        empty = _empty_id(header)
        if empty is not None:
            return _error(request, now, f"{empty}: empty")
        key = self.key(header)
        if key in self.supplies:
            return _error(
                request, now, f"requestingAgencyRequestId {header.request_id}: already exists"
            )
        scenario = choose(request.note, request.record_id, self.default)
        scenario = scenario.for_request_type(request.request_type)
        match scenario.outcome:
            case Outcome.HTTP_400 | Outcome.HTTP_500:
                status = 400 if scenario.outcome is Outcome.HTTP_400 else 500
                return HttpError(status, f"simulated HTTP error {status} (scenario {scenario})")
            case Outcome.ERROR:
                return _error(request, now, f"simulated ERROR (scenario {scenario})")
        self._count += 1
        signer = header.supplier or self.agency
        supply = Supply(request, scenario, signer, f"S-{self._count}", later=scenario.later)
        supply.pending.extend(_steps(scenario, request.service_type))
        self.supplies[key] = supply
        return confirm(request, now)

    def _ram(self, ram: RequestingAgencyMessage, now: datetime) -> Answer:
        supply = self.supplies.get(self.key(ram.header))
        if supply is None:
            if self.unknown_error:
                return _error(
                    ram, now, f"requestingAgencyRequestId {ram.header.request_id}: not found"
                )
            return confirm(ram, now)
        status = supply.status or "RequestReceived"
        match ram.action:
            case "Cancel":
                if status in _ON_LOAN or status in _ENDED or not supply.scenario.cancel:
                    supply.pending.append(_Step(status, "CancelResponse", "N"))
                else:
                    supply.pending.clear()
                    supply.later = None
                    supply.pending.append(_Step("Cancelled", "CancelResponse", "Y"))
            case "Renew":
                if status in ("Loaned", "Overdue") and supply.scenario.renew:
                    supply.pending.append(_Step("Loaned", "RenewResponse", "Y"))
                else:
                    supply.pending.append(_Step(status, "RenewResponse", "N"))
            case "Received" if supply.later is not None and status == "Loaned":
                supply.pending.append(_Step(_LATER_STATUS[supply.later]))
                supply.later = None
            case "ShippedReturn" if status in _ON_LOAN:
                supply.later = None
                supply.pending.append(_Step("LoanCompleted"))
            case "StatusRequest":
                supply.pending.append(_Step(status, "StatusRequestResponse"))
        return confirm(ram, now)

    def _sam(
        self, supply: Supply, step: _Step, first: bool, now: datetime
    ) -> SupplyingAgencyMessage:
        request = supply.request
        header = Header(
            supplier=supply.supplier,
            requester=request.header.requester,
            request_id=request.header.request_id,
            timestamp=now,
            supplier_request_id=supply.supplier_request_id,
        )
        reason = step.reason or ("RequestResponse" if first else "StatusChange")
        sam = SupplyingAgencyMessage(
            header,
            reason,
            step.status,
            now,
            answer=step.answer,
            note=f"simulated supplier, scenario {supply.scenario}" if first else None,
            due=supply.due if step.status in _ON_LOAN else None,
        )
        match step.status:
            case "Loaned" if step.answer == "Y" and supply.due is not None:
                return replace(sam, due=supply.due + LOAN_PERIOD)
            case "Loaned" | "CopyCompleted" if step.reason is None:
                copy = step.status == "CopyCompleted"
                delivery = Delivery(
                    now,
                    f"item-{supply.supplier_request_id}",
                    _sent_via(request),
                    "PDF" if copy else "Printed",
                )
                due = None if copy else now + LOAN_PERIOD
                return replace(sam, delivery=delivery, due=due)
            case "Unfilled":
                unknown = supply.scenario.unknown
                note = sam.note if unknown is None else f"unknown scenario {unknown!r}"
                return replace(sam, reason_unfilled="NotHeld", note=note)
            case "RetryPossible":
                return _retry(sam, supply.scenario.retry, now)
        return sam


def _retry(
    sam: SupplyingAgencyMessage, reason: Reason | None, now: datetime
) -> SupplyingAgencyMessage:
    assert reason is not None  # a RetryPossible step comes only from a RETRY scenario
    match reason:
        case Reason.COND:
            return replace(sam, reason_retry=reason.value, loan_condition=LOAN_CONDITION)
        case Reason.COST:
            return replace(sam, reason_retry=reason.value, offered_costs=OFFERED_COSTS)
        case Reason.ONLOAN:
            return replace(sam, reason_retry=reason.value, retry_after=now)
    return replace(sam, reason_retry=reason.value)


def _steps(scenario: Scenario, service_type: str | None) -> list[_Step]:
    steps = [_Step("WillSupply")] if scenario.will_supply else []
    match scenario.outcome:
        case Outcome.LOANED:
            steps.append(_Step("Loaned"))
        case Outcome.UNFILLED:
            steps.append(_Step("Unfilled"))
        case Outcome.COMPLETED:
            steps.append(_Step("CopyCompleted" if service_type == "Copy" else "LoanCompleted"))
        case Outcome.RETRY:
            steps.append(_Step("RetryPossible"))
    return steps


def _sent_via(request: Request) -> str:
    """Mail for a postal address, Email or FTP for an electronic one, URL for none."""
    match request.address:
        case PostalAddress():
            return "Mail"
        case ElectronicAddress(type=kind) if kind.upper() == "FTP":
            return "FTP"
        case ElectronicAddress():
            return "Email"
    return "URL"


def _empty_id(header: Header) -> str | None:
    """The header id that is empty, if one is."""
    ids = [
        ("requestingAgencyId/agencyIdType", header.requester.type),
        ("requestingAgencyId/agencyIdValue", header.requester.value),
        ("requestingAgencyRequestId", header.request_id),
    ]
    if header.supplier is not None:
        ids[:0] = [
            ("supplyingAgencyId/agencyIdType", header.supplier.type),
            ("supplyingAgencyId/agencyIdValue", header.supplier.value),
        ]
    return next((name for name, value in ids if not value.strip()), None)


def _error(message: Request | RequestingAgencyMessage, now: datetime, value: str) -> Confirmation:
    return confirm(message, now, (ErrorType.UNRECOGNISED_DATA_VALUE, value))
