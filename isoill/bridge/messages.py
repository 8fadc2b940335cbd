"""ISO 18626's messages as the mapping sees them: frozen values that are the same for v1.2 and
2021-2, with the closed code lists as enums and every date-time an aware datetime.

The generated models of the two schemas differ in many small ways (a header type per message
in 2021, repeated volumes, ``preferredFormat`` against ``itemFormat``, retry details in
``messageInfo`` against ``retryInfo``...). The mapping is written once, against these values;
:mod:`isoill.bridge.forms` reads a parsed model into them and writes them as the model of the
version a peer speaks. What one version has and the other lacks is said where it is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

from isoill.bridge.agency import AgencyId
from isoill.iso18626.errors import ErrorType
from isoill.iso18626.messages import MessageKind

__all__ = [
    "Action",
    "Address",
    "Authentication",
    "Bibliographic",
    "Billing",
    "Confirmation",
    "Costs",
    "Delivery",
    "ElectronicAddress",
    "Error",
    "Header",
    "Identifier",
    "Message",
    "Patron",
    "PostalAddress",
    "Publication",
    "Reason",
    "Request",
    "RequestType",
    "RequestingAgencyMessage",
    "Retry",
    "ReturnTo",
    "Sent",
    "Service",
    "ServiceType",
    "Status",
    "Supplier",
    "SupplyingAgencyMessage",
]


class Status(StrEnum):
    """A supplying agency message's ``status`` (2021-2's list; v1.2 lacks the two holds)."""

    REQUEST_RECEIVED = "RequestReceived"
    EXPECT_TO_SUPPLY = "ExpectToSupply"
    WILL_SUPPLY = "WillSupply"
    LOANED = "Loaned"
    OVERDUE = "Overdue"
    RECALLED = "Recalled"
    RETRY_POSSIBLE = "RetryPossible"
    UNFILLED = "Unfilled"
    HOLD_RETURN = "HoldReturn"
    RELEASE_HOLD_RETURN = "ReleaseHoldReturn"
    COPY_COMPLETED = "CopyCompleted"
    LOAN_COMPLETED = "LoanCompleted"
    COMPLETED_WITHOUT_RETURN = "CompletedWithoutReturn"
    CANCELLED = "Cancelled"


class Action(StrEnum):
    """A requesting agency message's ``action`` (2021-2's list; v1.2 lacks HoldReturn, Lost)."""

    STATUS_REQUEST = "StatusRequest"
    RECEIVED = "Received"
    CANCEL = "Cancel"
    RENEW = "Renew"
    HOLD_RETURN = "HoldReturn"
    SHIPPED_RETURN = "ShippedReturn"
    SHIPPED_FORWARD = "ShippedForward"
    NOTIFICATION = "Notification"
    LOST = "Lost"


class Reason(StrEnum):
    """A supplying agency message's ``reasonForMessage``."""

    REQUEST_RESPONSE = "RequestResponse"
    STATUS_REQUEST_RESPONSE = "StatusRequestResponse"
    RENEW_RESPONSE = "RenewResponse"
    CANCEL_RESPONSE = "CancelResponse"
    STATUS_CHANGE = "StatusChange"
    NOTIFICATION = "Notification"


class ServiceType(StrEnum):
    COPY = "Copy"
    LOAN = "Loan"
    COPY_OR_LOAN = "CopyOrLoan"


class RequestType(StrEnum):
    NEW = "New"
    RETRY = "Retry"
    REMINDER = "Reminder"


@dataclass(frozen=True, slots=True)
class Costs:
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PostalAddress:
    line1: str | None = None
    line2: str | None = None
    locality: str | None = None
    postal_code: str | None = None
    region: str | None = None
    country: str | None = None


@dataclass(frozen=True, slots=True)
class ElectronicAddress:
    type: str
    data: str


Address: TypeAlias = PostalAddress | ElectronicAddress


@dataclass(frozen=True, slots=True)
class Authentication:
    """``requestingAgencyAuthentication``; the security code stays out of reprs."""

    account_id: str | None = None
    security_code: str | None = None

    def __repr__(self) -> str:
        return f"Authentication(account_id={self.account_id!r})"


@dataclass(frozen=True, slots=True)
class Header:
    """What every message's header carries. ``supplying_agency`` may be missing only from a
    2021 Request; ``multiple_item_request_id`` is in every v1.2 header, a 2021 Request's only."""

    requesting_agency: AgencyId
    supplying_agency: AgencyId | None
    timestamp: datetime
    requesting_request_id: str
    supplying_request_id: str | None = None
    multiple_item_request_id: str | None = None
    authentication: Authentication | None = None


@dataclass(frozen=True, slots=True)
class Identifier:
    """A bibliographic item or record id: its code (``ISBN``, ``OCLC``...) and value."""

    code: str
    value: str


@dataclass(frozen=True, slots=True)
class Bibliographic:
    supplier_unique_record_id: str | None = None
    title: str | None = None
    author: str | None = None
    subtitle: str | None = None
    series_title: str | None = None
    edition: str | None = None
    title_of_component: str | None = None
    author_of_component: str | None = None
    volume: str | None = None  # 2021 repeats it: the repetitions joined with "; "
    issue: str | None = None
    pages_requested: str | None = None
    sponsor: str | None = None
    information_source: str | None = None
    item_ids: tuple[Identifier, ...] = ()
    record_ids: tuple[Identifier, ...] = ()


@dataclass(frozen=True, slots=True)
class Publication:
    publisher: str | None = None
    type: str | None = None
    date: str | None = None
    place: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    service_type: ServiceType
    request_type: RequestType | None = None
    previous_request_id: str | None = None
    service_level: str | None = None
    item_format: str | None = None  # v1.2's preferredFormat
    need_before: datetime | None = None
    copyright_compliance: str | None = None
    any_edition: bool | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Supplier:
    sort_order: int | None = None
    agency: AgencyId | None = None
    description: str | None = None
    call_number: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A ``requestedDeliveryInfo``; ``method`` is 2021's only."""

    sort_order: int | None = None
    address: Address | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class Patron:
    id: str | None = None
    surname: str | None = None
    given_name: str | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Billing:
    payment_method: str | None = None
    maximum_costs: Costs | None = None
    method: str | None = None
    name: str | None = None
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class Request:
    header: Header
    bibliographic: Bibliographic
    service: Service | None  # v1.2 may leave it out; 2021 may not
    publication: Publication | None = None
    suppliers: tuple[Supplier, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    patron: Patron | None = None
    billing: Billing | None = None


@dataclass(frozen=True, slots=True)
class RequestingAgencyMessage:
    header: Header
    action: Action
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """What a RetryPossible offers: v1.2 has the costs (one) and dates in ``messageInfo``,
    2021 all of it in ``retryInfo``; the loan conditions are 2021's only."""

    offered_costs: tuple[Costs, ...] = ()
    retry_after: datetime | None = None
    retry_before: datetime | None = None
    loan_conditions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sent:
    """A ``deliveryInfo``: v1.2 has one item id, loan condition and cost, a ``sentVia`` and a
    ``deliveredFormat``; 2021 repeats them, and calls them ``deliveryMethod``, ``itemFormat``."""

    date_sent: datetime
    item_id: str | None = None
    method: str | None = None
    loan_conditions: tuple[str, ...] = ()
    item_format: str | None = None
    service_type: ServiceType | None = None  # 2021 only
    costs: tuple[Costs, ...] = ()
    url: str | None = None  # 2021 only


@dataclass(frozen=True, slots=True)
class ReturnTo:
    agency: AgencyId | None = None
    name: str | None = None
    address: PostalAddress | None = None


@dataclass(frozen=True, slots=True)
class SupplyingAgencyMessage:
    header: Header
    reason: Reason
    status: Status
    last_change: datetime
    answer: bool | None = None
    note: str | None = None
    reason_unfilled: str | None = None
    reason_retry: str | None = None
    expected_delivery: datetime | None = None
    due: datetime | None = None
    retry: Retry | None = None
    sent: Sent | None = None
    return_to: ReturnTo | None = None


@dataclass(frozen=True, slots=True)
class Error:
    type: ErrorType
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A confirmation: ``kind`` says which of the three; ``action`` and ``reason`` echo a
    RAM's or SAM's. v1.2 carries one error at most, 2021 any number."""

    kind: MessageKind
    requesting_agency: AgencyId | None
    supplying_agency: AgencyId | None
    timestamp: datetime
    requesting_request_id: str | None
    timestamp_received: datetime
    ok: bool
    errors: tuple[Error, ...] = ()
    action: Action | None = None
    reason: Reason | None = None
    multiple_item_request_id: str | None = None  # v1.2 only


Message: TypeAlias = Request | RequestingAgencyMessage | SupplyingAgencyMessage | Confirmation
