"""What the simulated ISO 18626 supplier does with a Request: its scenario, read from a token.

A scenario is written ``NAME[+FLAG...]``, in upper or lower case:

- ``LOANED``, ``LOANED_RECALLED``, ``LOANED_OVERDUE``: Loaned; then Recalled or Overdue once
  the requester says Received.
- ``WILLSUPPLY``, ``WILLSUPPLY_LOANED``, ``WILLSUPPLY_UNFILLED``, ``WILLSUPPLY_LOANED_RECALLED``,
  ``WILLSUPPLY_LOANED_OVERDUE``: WillSupply first, then what the rest of the name says.
- ``UNFILLED``: Unfilled. ``COMPLETED``: CopyCompleted for a Copy, else LoanCompleted.
- ``ERROR``: an ERROR Confirmation. ``HTTP-ERROR-400``, ``HTTP-ERROR-500``: that HTTP status.
- ``RETRY:REASON[_x]`` with REASON ``COND``, ``COST``, ``ONLOAN`` or ``NOTFOUNDASCITED``:
  RetryPossible for that reason; a Request of requestType Retry then runs scenario ``x``
  (``LOANED`` when omitted; ``x`` may not itself be a RETRY, so a retry always ends).

Flags change the answers to later RAMs: ``CANCEL_NO`` answers every Cancel N (by default a
Cancel is answered Y until the item is loaned), ``RENEW_NO`` every Renew N.

A Request chooses its scenario by a ``MOCK:SCENARIO`` word in serviceInfo's note, else by its
supplierUniqueRecordId when that is a scenario, else the peer's default. A token that names
no scenario gets Unfilled, its note saying why (an unknown value, as the mock peer this one
is modelled on treats it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

TOKEN = "MOCK:"
_TOKEN_WORD = re.compile(r"(?<!\S)MOCK:(\S+)", re.IGNORECASE)


class Outcome(StrEnum):
    """Where a scenario's SAMs lead (after WillSupply, if the scenario starts with it)."""

    LOANED = "LOANED"
    UNFILLED = "UNFILLED"
    COMPLETED = "COMPLETED"
    RETRY = "RETRY"
    PENDING = "PENDING"  # WILLSUPPLY alone: nothing more
    ERROR = "ERROR"
    HTTP_400 = "HTTP-ERROR-400"
    HTTP_500 = "HTTP-ERROR-500"


class Later(StrEnum):
    """What follows a loan once the requester says Received."""

    RECALLED = "RECALLED"
    OVERDUE = "OVERDUE"


class Reason(StrEnum):
    """The RETRY forms, by the reasonRetry each sends."""

    COND = "MustMeetLoanCondition"
    COST = "CostExceedsMaxCost"
    ONLOAN = "OnLoan"
    NOTFOUNDASCITED = "NotFoundAsCited"


class Flag(StrEnum):
    CANCEL_NO = "CANCEL_NO"
    RENEW_NO = "RENEW_NO"


@dataclass(frozen=True)
class Scenario:
    """One scenario: ``name`` as written (upper case, flags included), what it does."""

    name: str
    outcome: Outcome
    will_supply: bool = False
    later: Later | None = None
    retry: Reason | None = None
    after_retry: Scenario | None = None
    cancel: bool = True
    renew: bool = True
    unknown: str | None = None
    """The token that named no scenario, for the Unfilled's note."""

    def for_request_type(self, request_type: str | None) -> Scenario:
        """The scenario a Request of ``request_type`` runs: a Retry of a RETRY scenario
        runs what follows it."""
        if request_type == "Retry" and self.after_retry is not None:
            return self.after_retry
        return self

    def __str__(self) -> str:
        return self.name


def parse(text: str) -> Scenario:
    """The scenario ``text`` names; :class:`ValueError` says why it names none."""
    name, *flags = text.strip().upper().split("+")
    scenario = _name(name)
    for flag in flags:
        if flag not in Flag.__members__:
            raise ValueError(
                f"unknown flag {flag!r} in scenario {text!r}: expected {', '.join(Flag)}"
            )
        scenario = _flagged(scenario, Flag(flag))
    return scenario


def _flagged(scenario: Scenario, flag: Flag) -> Scenario:
    after = None if scenario.after_retry is None else _flagged(scenario.after_retry, flag)
    flagged = replace(scenario, name=f"{scenario.name}+{flag}", after_retry=after)
    if flag is Flag.CANCEL_NO:
        return replace(flagged, cancel=False)
    return replace(flagged, renew=False)


def _name(name: str) -> Scenario:
    if name.startswith("RETRY:"):
        reason_name, _, rest = name.removeprefix("RETRY:").partition("_")
        if reason_name not in Reason.__members__:
            raise ValueError(
                f"unknown RETRY reason {reason_name!r}: expected {', '.join(Reason.__members__)}"
            )
        after = _name(rest or Outcome.LOANED.value)
        if after.outcome is Outcome.RETRY:
            raise ValueError(f"{name!r}: what a retry runs may not be a RETRY again")
        return Scenario(name, Outcome.RETRY, retry=Reason[reason_name], after_retry=after)
    for whole in (Outcome.ERROR, Outcome.HTTP_400, Outcome.HTTP_500, Outcome.COMPLETED):
        if name == whole.value:
            return Scenario(name, whole)
    will_supply = name == "WILLSUPPLY" or name.startswith("WILLSUPPLY_")
    rest = name.removeprefix("WILLSUPPLY").removeprefix("_") if will_supply else name
    if will_supply and not rest:
        return Scenario(name, Outcome.PENDING, will_supply=True)
    if rest == Outcome.UNFILLED.value:
        return Scenario(name, Outcome.UNFILLED, will_supply=will_supply)
    loan, _, later = rest.partition("_")
    if loan == Outcome.LOANED.value and (not later or later in Later.__members__):
        return Scenario(
            name, Outcome.LOANED, will_supply=will_supply, later=Later(later) if later else None
        )
    raise ValueError(f"unknown scenario {name!r}")


def choose(note: str | None, record_id: str | None, default: Scenario) -> Scenario:
    """The scenario a Request chooses: its note's ``MOCK:`` token, else its
    supplierUniqueRecordId if that names a scenario, else ``default``."""
    found = _TOKEN_WORD.search(note or "")
    if found is not None:
        try:
            return parse(found.group(1))
        except ValueError:
            token = found.group(1)
            return Scenario(token.upper(), Outcome.UNFILLED, unknown=token)
    if record_id:
        try:
            return parse(record_id)
        except ValueError:
            pass
    return default


#: The scenario of a Request that names none, unless the peer is given another.
DEFAULT = parse("LOANED")
