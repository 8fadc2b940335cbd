"""The simulated requester's decisions, without I/O: the Requests it sends, what it answers
to each SAM, and the RAMs and Requests it then sends.

Every SAM gets OK with its reasonForMessage echoed, one for a transaction the requester did
not start ERROR UnrecognisedDataValue ("not found"). Then, by the SAM's status:

- Loaned: Received, and ShippedReturn some time later (:class:`ReturnLater`; the peer says
  how long); a RenewResponse starts that time again, or, while renewals are left after a
  RenewResponse Y, is answered by the next Renew;
- Overdue: Renew, if the Request's note holds ``#RENEW#`` (one renewal for each time it does);
  otherwise (or when a renewal was refused) ShippedReturn at once;
- Recalled: ShippedReturn at once;
- RetryPossible: a new Request with requestType Retry, a new id and
  requestingAgencyPreviousRequestId naming the old one; the offered costs become the maximum
  costs when the reason is CostExceedsMaxCost. At most :data:`MAX_RETRIES` in a row;
- Unfilled, CopyCompleted, LoanCompleted, Cancelled, CompletedWithoutReturn: the end.

With ``#CANCEL#`` in the note, the first SAM that leaves the request open is answered by a
Cancel instead, and what the CancelResponse says decides what follows (a loaned item is
received and returned as usual).

A transaction stops, sending nothing more, when a RAM's Confirmation does not come back,
is ERROR, or does not echo the action sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from isoill.iso18626.errors import ErrorType
from isoill.tools.peer18626.messages import (
    Address,
    Agency,
    Confirmation,
    Header,
    Request,
    RequestingAgencyMessage,
    SupplyingAgencyMessage,
    confirm,
)

RENEW = "#RENEW#"
CANCEL = "#CANCEL#"
MAX_RETRIES = 3

_OPEN = frozenset(
    {"RequestReceived", "ExpectToSupply", "WillSupply", "Loaned", "Overdue", "Recalled"}
)
_ENDS = frozenset(
    {"Unfilled", "CopyCompleted", "LoanCompleted", "Cancelled", "CompletedWithoutReturn"}
)


@dataclass(frozen=True)
class Order:
    """What to ask a supplier for: the bibliographic data and service type, a note (which
    may carry a ``MOCK:`` scenario, ``#RENEW#``, ``#CANCEL#``), and optionally the
    requestingAgencyRequestId (else a new one) and a delivery address."""

    title: str | None = None
    author: str | None = None
    isbn: str | None = None
    record_id: str | None = None
    service_type: str = "Loan"
    note: str | None = None
    request_id: str | None = None
    address: Address | None = None


@dataclass(frozen=True)
class Post:
    """Send ``message`` to the supplier."""

    message: Request | RequestingAgencyMessage


@dataclass(frozen=True)
class ReturnLater:
    """Ask :meth:`Requester.return_due` for the ShippedReturn of ``request_id`` later."""

    request_id: str
    generation: int


Effect = Post | ReturnLater


@dataclass
class Borrowing:
    """A transaction the requester started."""

    request: Request
    retries: int = 0
    supplier: Agency | None = None
    supplier_request_id: str | None = None
    status: str | None = None
    cancel: bool = False
    """``#CANCEL#``, and no SAM has been answered by a Cancel yet"""
    renewals: int = 0
    """How many more Renews to send: one for each ``#RENEW#``, none after a refusal."""
    received: bool = False
    returned: bool = False
    generation: int = 0
    """Which ShippedReturn later is still wanted (a newer one replaces an older)."""
    ended: str | None = None
    """Why nothing more is to come: a final status, a retry, a failed exchange."""


class Requester:
    """A requester playing ``agency``, asking ``supplier``; ``new_id`` makes
    requestingAgencyRequestIds."""

    def __init__(self, agency: Agency, supplier: Agency, new_id: Callable[[], str]) -> None:
        self.agency = agency
        self.supplier = supplier
        self.new_id = new_id
        self.borrowings: dict[str, Borrowing] = {}

    @property
    def ended(self) -> bool:
        """Whether every transaction started has ended."""
        return all(b.ended is not None for b in self.borrowings.values())

    def request(self, order: Order, now: datetime) -> Request:
        """The Request for ``order``, its transaction started."""
        header = Header(self.supplier, self.agency, order.request_id or self.new_id(), now)
        request = Request(
            header,
            service_type=order.service_type,
            request_type="New",
            title=order.title,
            author=order.author,
            isbn=order.isbn,
            record_id=order.record_id,
            note=order.note,
            address=order.address,
        )
        self._start(request, retries=0)
        return request

    def requested(self, request: Request, confirmation: Confirmation | None) -> None:
        """What came back to ``request``: a transaction refused, or unconfirmed, has ended."""
        borrowing = self.borrowings[request.header.request_id]
        if confirmation is None:
            borrowing.ended = "no requestConfirmation came back"
        elif not confirmation.ok:
            borrowing.ended = f"refused: {confirmation.error_type}: {confirmation.error_value}"

    def take(self, sam: SupplyingAgencyMessage, now: datetime) -> tuple[Confirmation, list[Effect]]:
        """The Confirmation of ``sam``, and what to send because of it."""
        header = sam.header
        borrowing = self.borrowings.get(header.request_id)
        if borrowing is None or header.requester != self.agency:
            error = (
                ErrorType.UNRECOGNISED_DATA_VALUE,
                f"requestingAgencyRequestId {header.request_id}: not found",
            )
            return confirm(sam, now, error), []
        confirmation = confirm(sam, now)
        if borrowing.ended is not None:
            return confirmation, []
        borrowing.supplier = header.supplier or borrowing.supplier
        borrowing.supplier_request_id = header.supplier_request_id or borrowing.supplier_request_id
        borrowing.status = sam.status
        if borrowing.cancel and sam.status in _OPEN:
            borrowing.cancel = False
            return confirmation, [Post(self._ram(borrowing, "Cancel", now))]
        borrowing.cancel = False
        return confirmation, self._effects(borrowing, sam, now)

    def return_due(
        self, request_id: str, generation: int, now: datetime
    ) -> RequestingAgencyMessage | None:
        """The ShippedReturn :class:`ReturnLater` asked for, if it is still wanted."""
        borrowing = self.borrowings[request_id]
        if generation != borrowing.generation or borrowing.returned or borrowing.ended:
            return None
        borrowing.returned = True
        return self._ram(borrowing, "ShippedReturn", now)

    def confirmed(self, ram: RequestingAgencyMessage, confirmation: Confirmation | None) -> None:
        """What came back to ``ram``; the transaction stops unless it is OK and echoes the
        action."""
        borrowing = self.borrowings[ram.header.request_id]
        if borrowing.ended is not None:
            return
        if confirmation is None:
            borrowing.ended = f"stopped: no Confirmation of its {ram.action}"
        elif not confirmation.ok:
            borrowing.ended = f"stopped: its {ram.action} refused: {confirmation.error_type}"
        elif confirmation.action != ram.action:
            echoed = confirmation.action or "no action"
            borrowing.ended = f"stopped: its {ram.action} confirmed with {echoed}"

    def _start(self, request: Request, retries: int) -> None:
        note = request.note or ""
        self.borrowings[request.header.request_id] = Borrowing(
            request, retries=retries, cancel=CANCEL in note, renewals=note.count(RENEW)
        )

    def _effects(
        self, borrowing: Borrowing, sam: SupplyingAgencyMessage, now: datetime
    ) -> list[Effect]:
        if sam.reason == "RenewResponse" and sam.answer == "N":
            borrowing.renewals = 0
        match sam.status:
            case "Loaned" if not borrowing.received:
                borrowing.received = True
                return [Post(self._ram(borrowing, "Received", now)), self._return_later(borrowing)]
            case "Loaned" if sam.reason == "RenewResponse" and borrowing.renewals:
                return self._renew(borrowing, now)
            case "Loaned" if sam.reason == "RenewResponse" and not borrowing.returned:
                return [self._return_later(borrowing)]
            case "Overdue" if borrowing.renewals:
                return self._renew(borrowing, now)
            case "Overdue" | "Recalled":
                return self._return_now(borrowing, now)
            case "RetryPossible":
                return self._retry(borrowing, sam, now)
            case status if status in _ENDS:
                borrowing.ended = status
        return []

    def _renew(self, borrowing: Borrowing, now: datetime) -> list[Effect]:
        borrowing.renewals -= 1
        borrowing.generation += 1  # the ShippedReturn waits for the RenewResponse
        return [Post(self._ram(borrowing, "Renew", now))]

    def _return_later(self, borrowing: Borrowing) -> ReturnLater:
        borrowing.generation += 1
        return ReturnLater(borrowing.request.header.request_id, borrowing.generation)

    def _return_now(self, borrowing: Borrowing, now: datetime) -> list[Effect]:
        if borrowing.returned:
            return []
        borrowing.returned = True
        borrowing.generation += 1
        return [Post(self._ram(borrowing, "ShippedReturn", now))]

    def _retry(
        self, borrowing: Borrowing, sam: SupplyingAgencyMessage, now: datetime
    ) -> list[Effect]:
        if borrowing.retries >= MAX_RETRIES:
            borrowing.ended = f"RetryPossible, after {MAX_RETRIES} retries"
            return []
        old = borrowing.request
        header = Header(borrowing.supplier or self.supplier, self.agency, self.new_id(), now)
        costs = old.maximum_costs
        if sam.reason_retry == "CostExceedsMaxCost" and sam.offered_costs is not None:
            costs = sam.offered_costs
        retry = replace(
            old,
            header=header,
            request_type="Retry",
            previous_request_id=old.header.request_id,
            maximum_costs=costs,
        )
        borrowing.ended = f"RetryPossible: retried as {header.request_id}"
        self._start(retry, retries=borrowing.retries + 1)
        return [Post(retry)]

    def _ram(self, borrowing: Borrowing, action: str, now: datetime) -> RequestingAgencyMessage:
        request_header = borrowing.request.header
        header = Header(
            supplier=borrowing.supplier or request_header.supplier,
            requester=self.agency,
            request_id=request_header.request_id,
            timestamp=now,
            supplier_request_id=borrowing.supplier_request_id,
        )
        return RequestingAgencyMessage(header, action)
