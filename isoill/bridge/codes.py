"""The code lists of the two standards side by side: each table is data the mapping reads in
both directions and :mod:`isoill.bridge.doc` writes into docs/iso18626.md, so the two cannot
drift apart.

A table holds pairs (ISO 10161 value, ISO 18626 value). Out (10161 to 18626) a value takes the
first pair naming it, or the table's default, and the mapping then names the 10161 value in
the note; in, an 18626 value takes the first pair naming it (compared without case: peers
write ``NotHeld`` and ``NOTHELD``), or the default, and the note names the 18626 value.
ISO 18626's lists are open, so an unknown value coming in is never refused.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from isoill.bridge.messages import ServiceType, Status
from isoill.codec.models import (
    Conditions,
    CurrentState,
    ItemType,
    MostRecentService,
    ReasonLocsProvided,
    ReasonNotAvailable,
    ReasonUnfilled,
    ReasonWillSupply,
    ShippedConditions,
    ShippedServiceType,
    SupplyMediumType,
)
from isoill.codec.values import AsnEnum

__all__ = [
    "CONDITIONS",
    "COPYRIGHT",
    "EXPECT_TO_SUPPLY",
    "FORMATS",
    "LOAN_CONDITIONS",
    "PUBLICATION_TYPES",
    "RECENT_SERVICE",
    "RETRY_REASONS",
    "SHIPPED_SERVICE",
    "STATE_FOR_STATUS",
    "STATUS_FOR_STATE",
    "TABLES",
    "UNFILLED_REASONS",
    "Codes",
    "Shown",
    "name_of",
    "service_for_status",
    "shipped_condition",
    "unfilled_reason",
]

A = TypeVar("A", bound=Hashable)


class Shown(Protocol):
    """A table the documentation shows."""

    def markdown(self) -> str: ...


def name_of(value: object) -> str:
    """A value as the standard writes it."""
    if isinstance(value, AsnEnum):
        return value.asn1_name
    return str(value)


@dataclass(frozen=True)
class Codes(Generic[A]):
    """Pairs of an ISO 10161 value and an ISO 18626 value, with a default each way (``None``:
    nothing is written for a value the table lacks)."""

    title: str
    iso10161: str  # what the 10161 column holds
    iso18626: str  # what the 18626 column holds
    pairs: tuple[tuple[A, str], ...]
    out_default: str | None = None
    in_default: A | None = None
    out_noted: str = "the 10161 value in the note"  # where a defaulted value is named
    in_noted: str = "the 18626 value in the note"

    def to_18626(self, value: A) -> str | None:
        return next((theirs for ours, theirs in self.pairs if ours == value), self.out_default)

    def written(self, value: A | None) -> str:
        """The 18626 value of ``value`` (``None``: none given), the default for one the table
        lacks: for a table with an out default."""
        found = self.to_18626(value) if value is not None else self.out_default
        assert found is not None, f"{self.title} has no default"
        return found

    def listed_10161(self, value: A) -> bool:
        return any(ours == value for ours, _ in self.pairs)

    def to_10161(self, value: str) -> A | None:
        wanted = value.strip().casefold()
        found = (ours for ours, theirs in self.pairs if theirs.casefold() == wanted)
        return next(found, self.in_default)

    def listed_18626(self, value: str) -> bool:
        wanted = value.strip().casefold()
        return any(theirs.casefold() == wanted for _, theirs in self.pairs)

    def markdown(self) -> str:
        rows = [f"| {self.iso10161} | {self.iso18626} |", "| --- | --- |"]
        rows += [f"| {name_of(ours)} | {theirs} |" for ours, theirs in self.pairs]
        if self.out_default is not None:
            noted = f", {self.out_noted}" if self.out_noted else ""
            rows.append(f"| any other | {self.out_default}{noted} |")
        if self.in_default is not None:
            noted = f", {self.in_noted}" if self.in_noted else ""
            rows.append(f"| {name_of(self.in_default)}{noted} | any other |")
        return f"##### {self.title}\n\n" + "\n".join(rows) + "\n"


_U, _N = ReasonUnfilled, ReasonNotAvailable

UNFILLED_REASONS: Codes[ReasonUnfilled] = Codes(
    "Unfilled: reason-unfilled and reasonUnfilled",
    "reason-unfilled",
    "reasonUnfilled",
    (
        (_U.NON_CIRCULATING, "NonCirculating"),
        (_U.NOT_OWNED, "NotHeld"),
        (_U.LACKING, "NotHeld"),
        (_U.NOT_ON_SHELF, "NotOnShelf"),
        (_U.POOR_CONDITION, "PoorCondition"),
        (_U.POLICY_PROBLEM, "PolicyProblem"),
    ),
    out_default="NotAvailableForILL",
    in_default=_U.OTHER,
)

RETRY_REASONS: Codes[ReasonNotAvailable] = Codes(
    "Retry: reason-not-available and reasonRetry",
    "reason-not-available",
    "reasonRetry",
    (
        (_N.IN_USE_ON_LOAN, "OnLoan"),
        (_N.ON_ORDER, "OnOrder"),
        (_N.AT_BINDERY, "AtBindery"),
        (_N.COST_EXCEEDS_LIMIT, "CostExceedsMaxCost"),
        (_N.NOT_FOUND_AS_CITED, "NotFoundAsCited"),
    ),
    out_default="NotCurrentAvailableForILL",
    in_default=_N.OTHER,
)

#: Conditions of a conditional ILL-Answer that are about money: ISO 18626 asks the requester
#: to retry with a higher maximum (CostExceedsMaxCost); the others are loan conditions.
_C = Conditions
CONDITIONS: Codes[Conditions] = Codes(
    "Conditional: conditions and reasonRetry",
    "conditions",
    "reasonRetry",
    (
        (_C.COST_EXCEEDS_LIMIT, "CostExceedsMaxCost"),
        (_C.CHARGES, "CostExceedsMaxCost"),
        (_C.PREPAYMENT_REQUIRED, "CostExceedsMaxCost"),
    ),
    out_default="MustMeetLoanCondition",
)

#: Conditions written as ISO 18626 loan conditions (2021's retryInfo, and every Shipped).
LOAN_CONDITIONS: Codes[Conditions] = Codes(
    "Loan conditions: conditions (and shipped-conditions) and loanCondition",
    "conditions, shipped-conditions",
    "loanCondition",
    (
        (_C.LIBRARY_USE_ONLY, "LibraryUseOnly"),
        (_C.NO_REPRODUCTION, "NoReproduction"),
        (_C.CLIENT_SIGNATURE_REQUIRED, "SignatureRequired"),
        (_C.SPECIAL_COLLECTIONS_SUPERVISION_REQUIRED, "SpecCollSupervReq"),
    ),
    in_default=_C.OTHER,
)

#: The will-supply reasons that mean the item comes later: ExpectToSupply, where the peer
#: takes it (``expect_to_supply``), else WillSupply.
_W = ReasonWillSupply
EXPECT_TO_SUPPLY: Codes[ReasonWillSupply] = Codes(
    "Will-supply: reason-will-supply and status",
    "reason-will-supply",
    "status",
    (
        (_W.IN_USE_ON_LOAN, "ExpectToSupply"),
        (_W.ON_ORDER, "ExpectToSupply"),
        (_W.AT_BINDERY, "ExpectToSupply"),
        (_W.ON_HOLD, "ExpectToSupply"),
    ),
    out_default="WillSupply",
    out_noted="",
)

COPYRIGHT: Codes[str] = Codes(
    "Copyright compliance",
    "copyright-compliance",
    "copyrightCompliance",
    (("CCG", "US-CCG"), ("CCL", "US-CCL")),
)

PUBLICATION_TYPES: Codes[ItemType] = Codes(
    "Item type and publication type",
    "item-type",
    "publicationType",
    ((ItemType.MONOGRAPH, "Book"), (ItemType.SERIAL, "Journal")),
)

_M = SupplyMediumType
FORMATS: Codes[SupplyMediumType] = Codes(
    "Supply medium and format (2021 itemFormat, v1.2 preferredFormat)",
    "supply-medium-type",
    "itemFormat",
    ((_M.PRINTED, "Printed"), (_M.PHOTOCOPY, "PaperCopy"), (_M.MICROFORM, "Microform")),
    in_default=_M.OTHER,
    in_noted="the 18626 value as its medium-characteristics",
)

SHIPPED_SERVICE: Codes[ShippedServiceType] = Codes(
    "Shipped service type and status",
    "shipped-service-type",
    "status",
    (
        (ShippedServiceType.LOAN, Status.LOANED.value),
        (ShippedServiceType.COPY_NON_RETURNABLE, Status.COPY_COMPLETED.value),
    ),
)

_S = CurrentState
#: A provider-status-report (a 10161 responder's state) as the status of a
#: StatusRequestResponse. States not listed keep the transaction's current status.
STATUS_FOR_STATE: Codes[CurrentState] = Codes(
    "A 10161 responder's state as an 18626 status (StatusRequestResponse)",
    "Current-State",
    "status",
    (
        (_S.PENDING, Status.REQUEST_RECEIVED.value),
        (_S.IN_PROCESS, Status.WILL_SUPPLY.value),
        (_S.FORWARD, Status.REQUEST_RECEIVED.value),
        (_S.CONDITIONAL, Status.RETRY_POSSIBLE.value),
        (_S.NOT_SUPPLIED, Status.UNFILLED.value),
        (_S.CANCELLED, Status.CANCELLED.value),
        (_S.SHIPPED, Status.LOANED.value),
        (_S.RECEIVED, Status.LOANED.value),
        (_S.RENEW_PENDING, Status.LOANED.value),
        (_S.RETURNED, Status.LOANED.value),
        (_S.NOT_RECEIVED_OVERDUE, Status.OVERDUE.value),
        (_S.RENEW_OVERDUE, Status.OVERDUE.value),
        (_S.OVERDUE, Status.OVERDUE.value),
        (_S.RECALL, Status.RECALLED.value),
        (_S.CHECKED_IN, Status.LOAN_COMPLETED.value),
        (_S.LOST, Status.COMPLETED_WITHOUT_RETURN.value),
    ),
)

#: An 18626 status as a 10161 state (a StatusRequestResponse as a status-report), and the
#: most recent service the History-Report names for it.
STATE_FOR_STATUS: Codes[CurrentState] = Codes(
    "An 18626 status as a 10161 state (StatusRequestResponse to status-report)",
    "provider-status-report",
    "status",
    (
        (_S.IN_PROCESS, Status.REQUEST_RECEIVED.value),
        (_S.IN_PROCESS, Status.EXPECT_TO_SUPPLY.value),
        (_S.IN_PROCESS, Status.WILL_SUPPLY.value),
        (_S.SHIPPED, Status.LOANED.value),
        (_S.SHIPPED, Status.COPY_COMPLETED.value),
        (_S.OVERDUE, Status.OVERDUE.value),
        (_S.RECALL, Status.RECALLED.value),
        (_S.NOT_SUPPLIED, Status.RETRY_POSSIBLE.value),
        (_S.NOT_SUPPLIED, Status.UNFILLED.value),
        (_S.CANCELLED, Status.CANCELLED.value),
        (_S.CHECKED_IN, Status.LOAN_COMPLETED.value),
        (_S.LOST, Status.COMPLETED_WITHOUT_RETURN.value),
        (_S.RECEIVED, Status.HOLD_RETURN.value),
        (_S.RECEIVED, Status.RELEASE_HOLD_RETURN.value),
    ),
    in_default=_S.UNKNOWN,
    in_noted="the status in the note",
)

_R = MostRecentService
#: The most recent service a status says happened, for a History-Report.
RECENT_SERVICE: Codes[MostRecentService] = Codes(
    "An 18626 status as the History-Report's most-recent-service",
    "most-recent-service",
    "status",
    (
        (_R.ILL_REQUEST, Status.REQUEST_RECEIVED.value),
        (_R.ILL_ANSWER, Status.EXPECT_TO_SUPPLY.value),
        (_R.ILL_ANSWER, Status.WILL_SUPPLY.value),
        (_R.SHIPPED, Status.LOANED.value),
        (_R.SHIPPED, Status.COPY_COMPLETED.value),
        (_R.MESSAGE, Status.OVERDUE.value),
        (_R.RECALL, Status.RECALLED.value),
        (_R.ILL_ANSWER, Status.RETRY_POSSIBLE.value),
        (_R.ILL_ANSWER, Status.UNFILLED.value),
        (_R.CANCEL_REPLY, Status.CANCELLED.value),
        (_R.CHECKED_IN, Status.LOAN_COMPLETED.value),
        (_R.LOST, Status.COMPLETED_WITHOUT_RETURN.value),
    ),
    in_default=_R.MESSAGE,
    in_noted="the status in the note",
)


def service_for_status(status: Status) -> ServiceType | None:
    """The service a status shows was given: a loan or a copy."""
    if status in (Status.LOANED, Status.OVERDUE, Status.RECALLED, Status.LOAN_COMPLETED):
        return ServiceType.LOAN
    if status is Status.COPY_COMPLETED:
        return ServiceType.COPY
    return None


#: Shipped-Conditions share their values with Conditions: a Shipped's conditions are read
#: through :data:`LOAN_CONDITIONS` by value.
def shipped_condition(condition: ShippedConditions) -> Conditions:
    return Conditions.from_value(int(condition))


#: Reasons of a locations-provided answer share their values with Reason-Unfilled.
def unfilled_reason(reason: ReasonLocsProvided) -> ReasonUnfilled:
    return ReasonUnfilled.from_value(int(reason))


#: Every table, in the order the documentation shows them.
TABLES: tuple[Shown, ...] = (
    UNFILLED_REASONS,
    RETRY_REASONS,
    CONDITIONS,
    LOAN_CONDITIONS,
    EXPECT_TO_SUPPLY,
    SHIPPED_SERVICE,
    COPYRIGHT,
    PUBLICATION_TYPES,
    FORMATS,
    STATUS_FOR_STATE,
    STATE_FOR_STATUS,
    RECENT_SERVICE,
)
