"""ISO 18626 messages as the simulated peer sees them, in either schema version.

The generated models differ between v1.2 and 2021-2 (headers, costs and retry dates in
``retryInfo``, wrapped values), while the peer's decisions do not. These frozen values hold
the part of each message the peer reads or writes; :mod:`.reading` and :mod:`.writing` turn
them from and into the models of either version. Codes (statuses, actions, reasons) are the
schemas' strings, ``"Loaned"``, ``"Cancel"``...
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from isoill.iso18626.errors import ErrorType
from isoill.iso18626.messages import MessageKind
from isoill.iso18626.wire import NotSerialisable


@dataclass(frozen=True)
class Agency:
    """An agencyId: ``TYPE:VALUE`` (split at the first colon; no colon means ISIL)."""

    type: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Agency:
        kind, colon, value = text.partition(":")
        return cls(kind, value) if colon else cls("ISIL", text)

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(frozen=True)
class Header:
    """A message header. ``supplier`` is None only where the schema lets it be absent (a
    2021 Request)."""

    supplier: Agency | None
    requester: Agency
    request_id: str
    timestamp: datetime
    supplier_request_id: str | None = None

    def required_supplier(self) -> Agency:
        """``supplier``, which every header but a 2021 Request's must have."""
        if self.supplier is None:
            raise NotSerialisable(f"{self.shown()}: a header without a supplyingAgencyId")
        return self.supplier

    def shown(self) -> str:
        """The transaction on one line: ``ISIL:REQ/"request id"``."""
        return f'{self.requester}/"{self.request_id}"'


@dataclass(frozen=True)
class Costs:
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class PostalAddress:
    line1: str
    locality: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class ElectronicAddress:
    """``type`` as ISO 18626's list names it: ``Email``, ``FTP``..."""

    type: str
    data: str


Address = PostalAddress | ElectronicAddress


@dataclass(frozen=True)
class Request:
    header: Header
    service_type: str | None = "Loan"  # None: no serviceInfo (v1.2 allows it)
    request_type: str | None = "New"
    title: str | None = None
    author: str | None = None
    isbn: str | None = None
    record_id: str | None = None
    """supplierUniqueRecordId"""
    note: str | None = None
    previous_request_id: str | None = None
    address: Address | None = None
    maximum_costs: Costs | None = None


@dataclass(frozen=True)
class Delivery:
    """A SAM's deliveryInfo."""

    sent: datetime
    item_id: str
    sent_via: str
    format: str


@dataclass(frozen=True)
class SupplyingAgencyMessage:
    header: Header
    reason: str
    status: str
    last_change: datetime
    answer: str | None = None  # "Y" or "N", answering a Cancel or a Renew
    note: str | None = None
    due: datetime | None = None
    reason_unfilled: str | None = None
    reason_retry: str | None = None
    offered_costs: Costs | None = None
    retry_after: datetime | None = None
    loan_condition: str | None = None
    """With RetryPossible, the condition a retry must accept (2021: retryInfo; v1.2 has no
    place for it but the note)."""
    delivery: Delivery | None = None


@dataclass(frozen=True)
class RequestingAgencyMessage:
    header: Header
    action: str
    note: str | None = None


#: The Confirmation each message is answered by.
CONFIRMATION_OF = {
    MessageKind.REQUEST: MessageKind.REQUEST_CONFIRMATION,
    MessageKind.SUPPLYING_AGENCY_MESSAGE: MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION,
    MessageKind.REQUESTING_AGENCY_MESSAGE: MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION,
}


@dataclass(frozen=True)
class Confirmation:
    """Any of the three Confirmations (``kind``): OK, or ERROR with ``error_type`` and
    ``error_value``; a RAM's echoes its ``action``, a SAM's its ``reason``."""

    kind: MessageKind
    timestamp: datetime
    received: datetime
    ok: bool = True
    supplier: Agency | None = None
    requester: Agency | None = None
    request_id: str | None = None
    error_type: str | None = None
    error_value: str | None = None
    action: str | None = None
    reason: str | None = None

    def __str__(self) -> str:
        status = "OK" if self.ok else "ERROR"
        if self.error_type is None:
            return f"{self.kind} {status}"
        return f"{self.kind} {status} {self.error_type}: {self.error_value}"


Message = Request | SupplyingAgencyMessage | RequestingAgencyMessage | Confirmation
Sent = Request | SupplyingAgencyMessage | RequestingAgencyMessage


@dataclass(frozen=True)
class HttpError:
    """An answer that is no Confirmation: an HTTP status and its text (a scenario's)."""

    status: int
    text: str


#: What a peer answers a message with.
Answer = Confirmation | HttpError


def kind_of(message: Message) -> MessageKind:
    match message:
        case Request():
            return MessageKind.REQUEST
        case SupplyingAgencyMessage():
            return MessageKind.SUPPLYING_AGENCY_MESSAGE
        case RequestingAgencyMessage():
            return MessageKind.REQUESTING_AGENCY_MESSAGE
    return message.kind


def confirm(
    message: Sent, now: datetime, error: tuple[ErrorType, str] | None = None
) -> Confirmation:
    """The Confirmation of ``message`` at ``now``: its header's ids, its timestamp as the one
    received, its action or reason echoed; ERROR with ``error`` if given."""
    header = message.header
    return Confirmation(
        kind=CONFIRMATION_OF[kind_of(message)],
        timestamp=now,
        received=header.timestamp,
        supplier=header.supplier,
        requester=header.requester,
        request_id=header.request_id,
        ok=error is None,
        error_type=None if error is None else error[0].value,
        error_value=None if error is None else error[1],
        action=message.action if isinstance(message, RequestingAgencyMessage) else None,
        reason=message.reason if isinstance(message, SupplyingAgencyMessage) else None,
    )


def describe(message: Message) -> str:
    """What ``message`` is, in a few words: ``request New Loan``, ``supplyingAgencyMessage
    RequestResponse Loaned``, ``requestingAgencyMessage Cancel``, or the Confirmation."""
    match message:
        case Request():
            return f"request {message.request_type or 'New'} {message.service_type or '-'}"
        case SupplyingAgencyMessage():
            answer = f" {message.answer}" if message.answer else ""
            return f"supplyingAgencyMessage {message.reason}{answer} {message.status}"
        case RequestingAgencyMessage():
            return f"requestingAgencyMessage {message.action}"
    return str(message)
