"""The ISO 10161 protocol machines: the requester's and the responder's state tables as data.

Each party of a transaction has its own machine. An APDU moves both: the sender's machine by
its "sends" row, the other party's by its "receives" row; the APDU is allowed only when both
machines have a row for it in their current state. Message, Status-Query,
Status-Or-Error-Report and Damaged change no state and are allowed in every state but IDLE.

The standard's own tables (ISO 10161-1) were not available; every row names where it comes
from (``Transition.source``), and docs/transactions.md says how the tables were put together
and where they part from the outline of the standard's protocol machine they start from.
No I/O, no clock: pure functions.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from isoill.codec.models import (
    CancelReply,
    ConditionalReply,
    CurrentState,
    ILLAnswer,
    IllApdu,
    RenewAnswer,
    Shipped,
    ShippedServiceType,
)
from isoill.ill.apdus import APDU_FLOW, Flow, Role

__all__ = [
    "NO_CHANGE",
    "SOURCES",
    "TABLES",
    "Event",
    "Prohibited",
    "State",
    "States",
    "Transition",
    "advance",
    "event_of",
    "is_finished",
    "may_follow",
    "table_markdown",
]


class State(enum.Enum):
    """A protocol machine's state; the value is the standard's name (Current-State)."""

    IDLE = "IDLE"
    PENDING = "PENDING"
    IN_PROCESS = "IN-PROCESS"
    FORWARD = "FORWARD"
    CONDITIONAL = "CONDITIONAL"
    CANCEL_PENDING = "CANCEL-PENDING"
    CANCELLED = "CANCELLED"
    NOT_SUPPLIED = "NOT-SUPPLIED"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"
    RENEW_PENDING = "RENEW-PENDING"
    NOT_RECEIVED_OVERDUE = "NOT-RECEIVED-OVERDUE"
    RENEW_OVERDUE = "RENEW-OVERDUE"
    OVERDUE = "OVERDUE"
    RECALL = "RECALL"
    RETURNED = "RETURNED"
    CHECKED_IN = "CHECKED-IN"
    LOST = "LOST"
    # A copy-non-returnable is SHIPPED / RECEIVED like a loan, but nothing follows it: the
    # machine must remember that, and a state is its only memory. Reported as SHIPPED/RECEIVED.
    SHIPPED_NON_RETURNABLE = "SHIPPED (non-returnable)"
    RECEIVED_NON_RETURNABLE = "RECEIVED (non-returnable)"

    @property
    def current_state(self) -> CurrentState:
        """The Current-State value for status and error reports (IDLE is uNKNOWN)."""
        return _CURRENT_STATE[self]


_CURRENT_STATE: Final[Mapping[State, CurrentState]] = MappingProxyType(
    {
        State.IDLE: CurrentState.UNKNOWN,
        State.SHIPPED_NON_RETURNABLE: CurrentState.SHIPPED,
        State.RECEIVED_NON_RETURNABLE: CurrentState.RECEIVED,
    }
    | {state: CurrentState[state.name] for state in State if state.name in CurrentState.__members__}
)


# A dataclass made on every APDU writes its __init__ out (init=False): compiled by mypyc, the
# one dataclasses generates stays Python, some fourteen times the cost (docs/performance.md).
# tests/test_build.py holds each to its fields.
@dataclass(frozen=True, init=False)
class Event:
    """An APDU as the machines see it: its type and, for the types whose answer decides the
    next state, the answer: ILL-Answer's transaction-results (``"will-supply"``), ``"yes"`` or
    ``"no"`` for Conditional-Reply, Cancel-Reply and Renew-Answer, ``"copy-non-returnable"``
    for a Shipped of a copy (``None`` for a loan). Build it from an APDU with :func:`event_of`."""

    apdu_type: str
    answer: str | None = None

    def __init__(self, apdu_type: str, answer: str | None = None) -> None:
        object.__setattr__(self, "apdu_type", apdu_type)
        object.__setattr__(self, "answer", answer)

    def __str__(self) -> str:
        return self.apdu_type if self.answer is None else f"{self.apdu_type} {self.answer}"


@dataclass(frozen=True)
class Transition:
    """One row of a table: in ``before``, ``role`` sending (``sent``) or receiving ``event``
    goes to ``after``; ``source`` says where the row comes from."""

    role: Role
    before: State
    event: Event
    sent: bool
    after: State
    source: str


@dataclass(frozen=True, init=False)
class States:
    """Both machines of one transaction; ``States()`` is a transaction not yet started."""

    requester: State = State.IDLE
    responder: State = State.IDLE

    def __init__(self, requester: State = State.IDLE, responder: State = State.IDLE) -> None:
        object.__setattr__(self, "requester", requester)
        object.__setattr__(self, "responder", responder)

    def of(self, role: Role) -> State:
        return self.requester if role is Role.REQUESTER else self.responder


@dataclass(frozen=True)
class Prohibited:
    """An APDU the tables forbid: the machine that refused it and the state it was in."""

    role: Role
    state: State


#: APDU types that change no state; allowed in every state but IDLE.
NO_CHANGE: Final = frozenset({"Message", "Status-Query", "Status-Or-Error-Report", "Damaged"})

#: ILL-Answer transaction-results, by what they do to the transaction.
_GOING_ON: Final = ("will-supply", "hold-placed")
_ENDING: Final = ("retry", "unfilled", "locations-provided", "estimate")
_COPY: Final = "copy-non-returnable"


# --- sources ----------------------------------------------------------------------------------
# Short names for the row sources; docs/transactions.md describes each one.
_OUTLINE = "ISO 10161-1 Annex A outline"
_STATES_GUIDE = "vendor guide 'Requester States: ISO 10161' (docsbay.net)"
_VDX = "OCLC VDX/UnityUK action and status tables"
_SHAREIT = "SHAREit guides (POWER Library, Vermont CLOVER)"
_ILLIAD = "ILLiad KB 10717 (ISO illegal state transitions)"
_OPTIONAL = "ISO 10161-1 ASN.1: Requester-Optional-Messages-Type (Received, Returned optional)"
_COPY_ENDS = "isoill: a copy-non-returnable (Shipped service type) ends here"
_CROSSING = "isoill: crossing messages"
_FORWARDING = "isoill: forwarding seen by the gateway"
_REMINDER = "isoill: a repeated notice"

#: Every source a row may name, with what it is; docs/transactions.md lists them.
SOURCES: Final[Mapping[str, str]] = MappingProxyType(
    {
        _OUTLINE: "the states of ISO 10161-1 Annex A and the APDUs between them, reconstructed",
        _STATES_GUIDE: "an ILL vendor's list of the requester states of ISO 10161 with meanings",
        _VDX: "OCLC's VDX and UnityUK manuals: the actions each party may take, and after them",
        _SHAREIT: "Auto-Graphics SHAREit status guides of two library networks",
        _ILLIAD: "Atlas ILLiad: it refuses APDUs the ISO state tables forbid",
        _OPTIONAL: "the ILL-Request lets a requester say it cannot send Received or Returned",
        _COPY_ENDS: "a copy is not returned: the requester ends at RECEIVED, the responder SHIPPED",
        _CROSSING: "APDUs of the two parties that cross on the way",
        _FORWARDING: "the new responder of a forwarded request goes on with the transaction-id",
        _REMINDER: "a responder may send Overdue again",
    }
)


# --- the tables -------------------------------------------------------------------------------
R, S = Role.REQUESTER, Role.RESPONDER
SENDS, RECEIVES = True, False
_rows: list[Transition] = []


def _add(
    role: Role,
    befores: State | Iterable[State],
    apdu: str,
    answers: str | tuple[str | None, ...] | None,
    sent: bool | None,
    after: State,
    *sources: str,
) -> None:
    """Rows for each of ``befores`` and ``answers``; ``sent`` None: sent or received (an APDU
    either party may send)."""
    befores = (befores,) if isinstance(befores, State) else tuple(befores)
    answers = answers if isinstance(answers, tuple) else (answers,)
    directions = (SENDS, RECEIVES) if sent is None else (sent,)
    source = "; ".join(sources)
    for before in befores:
        for answer in answers:
            for direction in directions:
                _rows.append(
                    Transition(role, before, Event(apdu, answer), direction, after, source)
                )


P = State
# The requester: processing phase.
_add(R, P.IDLE, "ILL-Request", None, SENDS, P.PENDING, _OUTLINE, _STATES_GUIDE)
_add(R, P.PENDING, "ILL-Request", None, SENDS, P.PENDING, _FORWARDING)
_add(R, P.PENDING, "Forward-Notification", None, RECEIVES, P.PENDING, _STATES_GUIDE)
_add(R, P.PENDING, "ILL-Answer", _GOING_ON, RECEIVES, P.PENDING, _STATES_GUIDE)
_add(R, P.PENDING, "ILL-Answer", "conditional", RECEIVES, P.CONDITIONAL, _OUTLINE, _STATES_GUIDE)
_add(R, P.PENDING, "ILL-Answer", _ENDING, RECEIVES, P.NOT_SUPPLIED, _OUTLINE, _STATES_GUIDE)
_add(R, P.PENDING, "Shipped", None, RECEIVES, P.SHIPPED, _OUTLINE, _STATES_GUIDE)
_add(R, P.PENDING, "Shipped", _COPY, RECEIVES, P.SHIPPED_NON_RETURNABLE, _OUTLINE)
_add(R, P.PENDING, "Cancel", None, SENDS, P.CANCEL_PENDING, _OUTLINE, _STATES_GUIDE)
_add(R, P.PENDING, "Expired", None, None, P.NOT_SUPPLIED, _OUTLINE, _ILLIAD)
_add(R, P.CONDITIONAL, "Conditional-Reply", "yes", SENDS, P.PENDING, _OUTLINE, _VDX)
_add(R, P.CONDITIONAL, "Conditional-Reply", "no", SENDS, P.NOT_SUPPLIED, _VDX)
_add(R, P.CONDITIONAL, "Cancel", None, SENDS, P.CANCEL_PENDING, _OUTLINE)
_add(R, P.CONDITIONAL, "Expired", None, None, P.NOT_SUPPLIED, _OUTLINE)
_add(R, P.CANCEL_PENDING, "Cancel-Reply", "yes", RECEIVES, P.CANCELLED, _OUTLINE, _VDX)
_add(R, P.CANCEL_PENDING, "Cancel-Reply", "no", RECEIVES, P.PENDING, _OUTLINE)
# The responder answered before the Cancel reached it: a final answer ends the transaction,
# any other leaves the Cancel waiting for its reply.
_add(
    R,
    P.CANCEL_PENDING,
    "ILL-Answer",
    ("conditional", *_GOING_ON),
    RECEIVES,
    P.CANCEL_PENDING,
    _CROSSING,
)
_add(R, P.CANCEL_PENDING, "ILL-Answer", _ENDING, RECEIVES, P.NOT_SUPPLIED, _CROSSING)
_add(R, P.CANCEL_PENDING, "Shipped", None, RECEIVES, P.SHIPPED, _CROSSING)
_add(R, P.CANCEL_PENDING, "Shipped", _COPY, RECEIVES, P.SHIPPED_NON_RETURNABLE, _CROSSING)
_add(R, P.CANCEL_PENDING, "Expired", None, None, P.NOT_SUPPLIED, _OUTLINE)
# The requester: tracking phase.
_add(R, P.SHIPPED, "Received", None, SENDS, P.RECEIVED, _OUTLINE, _STATES_GUIDE)
_add(R, P.SHIPPED, "Returned", None, SENDS, P.RETURNED, _OPTIONAL)
_add(R, P.SHIPPED, "Overdue", None, RECEIVES, P.NOT_RECEIVED_OVERDUE, _STATES_GUIDE)
_add(R, P.SHIPPED, "Cancel-Reply", "no", RECEIVES, P.SHIPPED, _CROSSING)
_add(
    R, P.SHIPPED_NON_RETURNABLE, "Cancel-Reply", "no", RECEIVES, P.SHIPPED_NON_RETURNABLE, _CROSSING
)
_add(R, P.SHIPPED_NON_RETURNABLE, "Received", None, SENDS, P.RECEIVED_NON_RETURNABLE, _COPY_ENDS)
_add(R, P.RECEIVED, "Renew", None, SENDS, P.RENEW_PENDING, _OUTLINE, _STATES_GUIDE, _VDX)
_add(R, P.RECEIVED, "Overdue", None, RECEIVES, P.OVERDUE, _OUTLINE, _STATES_GUIDE)
_add(R, P.RECEIVED, "Recall", None, RECEIVES, P.RECALL, _OUTLINE, _STATES_GUIDE)
_add(R, P.RECEIVED, "Returned", None, SENDS, P.RETURNED, _OUTLINE, _VDX)
_add(R, P.RENEW_PENDING, "Renew-Answer", ("yes", "no"), RECEIVES, P.RECEIVED, _OUTLINE)
_add(R, P.RENEW_PENDING, "Overdue", None, RECEIVES, P.RENEW_OVERDUE, _STATES_GUIDE)
_add(R, P.RENEW_PENDING, "Recall", None, RECEIVES, P.RECALL, _SHAREIT)
_add(R, P.NOT_RECEIVED_OVERDUE, "Received", None, SENDS, P.OVERDUE, _STATES_GUIDE)
_add(R, P.NOT_RECEIVED_OVERDUE, "Returned", None, SENDS, P.RETURNED, _OPTIONAL)
_add(R, P.NOT_RECEIVED_OVERDUE, "Overdue", None, RECEIVES, P.NOT_RECEIVED_OVERDUE, _REMINDER)
_add(R, P.OVERDUE, "Renew", None, SENDS, P.RENEW_OVERDUE, _OUTLINE, _STATES_GUIDE, _SHAREIT)
_add(R, P.OVERDUE, "Recall", None, RECEIVES, P.RECALL, _OUTLINE, _SHAREIT)
_add(R, P.OVERDUE, "Returned", None, SENDS, P.RETURNED, _OUTLINE, _SHAREIT)
_add(R, P.OVERDUE, "Overdue", None, RECEIVES, P.OVERDUE, _REMINDER)
_add(R, P.RENEW_OVERDUE, "Renew-Answer", "yes", RECEIVES, P.RECEIVED, _SHAREIT)
_add(R, P.RENEW_OVERDUE, "Renew-Answer", "no", RECEIVES, P.OVERDUE, _SHAREIT)
_add(R, P.RENEW_OVERDUE, "Recall", None, RECEIVES, P.RECALL, _SHAREIT)
_add(R, P.RECALL, "Returned", None, SENDS, P.RETURNED, _OUTLINE, _VDX)
_add(R, P.RETURNED, "Checked-In", None, RECEIVES, P.CHECKED_IN, _OUTLINE, _VDX)
_add(
    R,
    (P.RECEIVED, P.OVERDUE, P.RENEW_OVERDUE, P.RECALL),
    "Checked-In",
    None,
    RECEIVES,
    P.CHECKED_IN,
    _OPTIONAL,
    _SHAREIT,
)
_TRACKED: Final = (
    P.SHIPPED,
    P.RECEIVED,
    P.RENEW_PENDING,
    P.NOT_RECEIVED_OVERDUE,
    P.OVERDUE,
    P.RENEW_OVERDUE,
    P.RECALL,
    P.RETURNED,
    P.SHIPPED_NON_RETURNABLE,
)
_add(R, _TRACKED, "Lost", None, None, P.LOST, _OUTLINE, _VDX, _SHAREIT)

# The responder: processing phase. IN-PROCESS and FORWARD are the responder's states only: the
# requester stays PENDING through will-supply, hold-placed and forwarding.
_add(S, P.IDLE, "ILL-Request", None, RECEIVES, P.IN_PROCESS, _OUTLINE, _STATES_GUIDE)
_add(S, P.IN_PROCESS, "ILL-Answer", _GOING_ON, SENDS, P.IN_PROCESS, _OUTLINE, _VDX)
_add(S, P.IN_PROCESS, "ILL-Answer", "conditional", SENDS, P.CONDITIONAL, _OUTLINE)
_add(S, P.IN_PROCESS, "ILL-Answer", _ENDING, SENDS, P.NOT_SUPPLIED, _OUTLINE)
_add(S, P.IN_PROCESS, "Forward-Notification", None, SENDS, P.FORWARD, _OUTLINE)
_add(S, P.IN_PROCESS, "Shipped", None, SENDS, P.SHIPPED, _OUTLINE)
_add(S, P.IN_PROCESS, "Shipped", _COPY, SENDS, P.SHIPPED_NON_RETURNABLE, _OUTLINE, _COPY_ENDS)
_add(S, P.IN_PROCESS, "Cancel", None, RECEIVES, P.CANCEL_PENDING, _OUTLINE)
_add(S, P.IN_PROCESS, "Expired", None, None, P.NOT_SUPPLIED, _OUTLINE, _ILLIAD)
# Forwarding ends the forwarding responder's part, but the gateway keeps one responder machine
# per transaction-id: the new responder takes over from FORWARD as if IN-PROCESS, and the
# forwarded ILL-Request, when it passes through the gateway, starts it afresh.
_add(S, P.FORWARD, "ILL-Request", None, RECEIVES, P.IN_PROCESS, _FORWARDING)
_rows.extend(
    Transition(S, P.FORWARD, row.event, row.sent, row.after, _FORWARDING)
    for row in tuple(_rows)
    if row.role is S and row.before is P.IN_PROCESS
)
_add(S, P.CONDITIONAL, "Conditional-Reply", "yes", RECEIVES, P.IN_PROCESS, _VDX)
_add(S, P.CONDITIONAL, "Conditional-Reply", "no", RECEIVES, P.NOT_SUPPLIED, _VDX)
_add(S, P.CONDITIONAL, "Cancel", None, RECEIVES, P.CANCEL_PENDING, _OUTLINE)
_add(S, P.CONDITIONAL, "Expired", None, None, P.NOT_SUPPLIED, _OUTLINE)
_add(S, P.CANCEL_PENDING, "Cancel-Reply", "yes", SENDS, P.CANCELLED, _OUTLINE, _VDX)
_add(S, P.CANCEL_PENDING, "Cancel-Reply", "no", SENDS, P.IN_PROCESS, _OUTLINE)
_add(
    S,
    P.CANCEL_PENDING,
    "ILL-Answer",
    ("conditional", *_GOING_ON),
    SENDS,
    P.CANCEL_PENDING,
    _CROSSING,
)
_add(S, P.CANCEL_PENDING, "ILL-Answer", _ENDING, SENDS, P.NOT_SUPPLIED, _CROSSING)
_add(S, P.CANCEL_PENDING, "Shipped", None, SENDS, P.SHIPPED, _CROSSING)
_add(S, P.CANCEL_PENDING, "Shipped", _COPY, SENDS, P.SHIPPED_NON_RETURNABLE, _CROSSING)
_add(S, P.CANCEL_PENDING, "Expired", None, None, P.NOT_SUPPLIED, _OUTLINE)
# The responder: tracking phase. It has no RECEIVED: Received is optional, so the responder
# stays SHIPPED (NOT-RECEIVED-OVERDUE likewise is the requester's state only).
_add(S, P.SHIPPED, "Cancel-Reply", "no", SENDS, P.SHIPPED, _CROSSING)
_add(S, P.SHIPPED_NON_RETURNABLE, "Cancel-Reply", "no", SENDS, P.SHIPPED_NON_RETURNABLE, _CROSSING)
_add(S, P.SHIPPED, "Received", None, RECEIVES, P.SHIPPED, _STATES_GUIDE)
_add(S, P.SHIPPED_NON_RETURNABLE, "Received", None, RECEIVES, P.SHIPPED_NON_RETURNABLE, _COPY_ENDS)
_add(S, P.SHIPPED, "Renew", None, RECEIVES, P.RENEW_PENDING, _OUTLINE, _VDX)
_add(S, P.SHIPPED, "Overdue", None, SENDS, P.OVERDUE, _OUTLINE, _VDX)
_add(S, P.SHIPPED, "Returned", None, RECEIVES, P.RETURNED, _OUTLINE)
_add(S, P.RENEW_PENDING, "Renew-Answer", ("yes", "no"), SENDS, P.SHIPPED, _OUTLINE, _VDX)
_add(S, P.RENEW_PENDING, "Overdue", None, SENDS, P.RENEW_OVERDUE, _STATES_GUIDE)
_add(S, P.OVERDUE, "Received", None, RECEIVES, P.OVERDUE, _STATES_GUIDE)
_add(S, P.OVERDUE, "Renew", None, RECEIVES, P.RENEW_OVERDUE, _OUTLINE, _SHAREIT)
_add(S, P.OVERDUE, "Returned", None, RECEIVES, P.RETURNED, _OUTLINE, _SHAREIT)
_add(S, P.OVERDUE, "Overdue", None, SENDS, P.OVERDUE, _REMINDER)
_add(S, P.RENEW_OVERDUE, "Renew-Answer", "yes", SENDS, P.SHIPPED, _SHAREIT)
_add(S, P.RENEW_OVERDUE, "Renew-Answer", "no", SENDS, P.OVERDUE, _SHAREIT)
_add(S, (P.SHIPPED, P.OVERDUE), "Recall", None, SENDS, P.RECALL, _OUTLINE, _VDX)
_add(S, (P.RENEW_PENDING, P.RENEW_OVERDUE), "Recall", None, SENDS, P.RECALL, _SHAREIT)
_add(S, P.RECALL, "Returned", None, RECEIVES, P.RETURNED, _OUTLINE)
_add(S, P.RETURNED, "Checked-In", None, SENDS, P.CHECKED_IN, _OUTLINE, _VDX)
_add(
    S,
    (P.SHIPPED, P.OVERDUE, P.RENEW_OVERDUE, P.RECALL),
    "Checked-In",
    None,
    SENDS,
    P.CHECKED_IN,
    _OPTIONAL,
    _SHAREIT,
)
_add(
    S,
    (P.SHIPPED, P.RENEW_PENDING, P.OVERDUE, P.RENEW_OVERDUE, P.RECALL, P.RETURNED),
    "Lost",
    None,
    None,
    P.LOST,
    _OUTLINE,
    _VDX,
    _SHAREIT,
)
_add(S, P.SHIPPED_NON_RETURNABLE, "Lost", None, None, P.LOST, _OUTLINE)

#: The two tables, each row once, in the order of a transaction's life.
TABLES: Final[Mapping[Role, tuple[Transition, ...]]] = MappingProxyType(
    {role: tuple(row for row in _rows if row.role is role) for role in Role}
)

_INDEX: Final[Mapping[tuple[Role, State, Event, bool], State]] = MappingProxyType(
    {
        (row.role, row.before, row.event, row.sent): row.after
        for rows in TABLES.values()
        for row in rows
    }
)
assert len(_INDEX) == sum(map(len, TABLES.values())), "a table has two rows for one cell"

#: Events each role sends somewhere in its table.
_SENT: Final[Mapping[Role, tuple[Event, ...]]] = MappingProxyType(
    {role: tuple(dict.fromkeys(row.event for row in TABLES[role] if row.sent)) for role in Role}
)


# --- the machine ------------------------------------------------------------------------------


def event_of(apdu: IllApdu) -> Event:
    """The event an APDU is to the machines."""
    if isinstance(apdu, ILLAnswer):
        return Event(apdu.apdu_type, apdu.transaction_results.asn1_name)
    if isinstance(apdu, ConditionalReply | CancelReply | RenewAnswer):
        return Event(apdu.apdu_type, "yes" if apdu.answer else "no")
    if (
        isinstance(apdu, Shipped)
        and apdu.shipped_service_type is ShippedServiceType.COPY_NON_RETURNABLE
    ):
        return Event(apdu.apdu_type, _COPY)
    # A loan, or a service type the module does not list: taken as returnable, which keeps the
    # transaction open rather than ending it early.
    return Event(apdu.apdu_type)


def _senders(event: Event) -> tuple[Role, ...]:
    flow = APDU_FLOW.get(event.apdu_type)
    if flow is Flow.FROM_REQUESTER:
        return (R,)
    if flow is Flow.FROM_RESPONDER:
        return (S,)
    return (R, S)


def _step(states: States, event: Event, sender: Role) -> States | Prohibited:
    after: dict[Role, State] = {}
    for role in (sender, sender.other):  # the sender's machine refuses first
        before = states.of(role)
        next_state = _INDEX.get((role, before, event, role is sender))
        if next_state is None:
            return Prohibited(role, before)
        after[role] = next_state
    return States(after[R], after[S])


def advance(states: States, event: Event, sender: Role | None) -> States | Prohibited:
    """Both machines after ``event``, or which machine prohibits it in which state.

    ``sender`` None: the sender is not known (Lost, Expired, ... either party sends); the rows
    of whichever party fits are applied, the requester's first. For types only one party
    sends, None means that party.
    """
    if event.apdu_type in NO_CHANGE:
        for role in (sender or R, (sender or R).other):
            if states.of(role) is State.IDLE:
                return Prohibited(role, State.IDLE)
        return states
    senders = (sender,) if sender is not None else _senders(event)
    results = [_step(states, event, role) for role in senders]
    return next((result for result in results if isinstance(result, States)), results[0])


def may_follow(states: States, event: Event, sender: Role | None, depth: int = 2) -> bool:
    """Whether a prohibited ``event`` may be an APDU that crossed its predecessor: True when
    :func:`advance` prohibits it now but would allow it after at most ``depth`` APDUs that the
    other party sends (a Received before its Shipped). False when it is allowed now, and in
    IDLE: an APDU of a transaction not started is refused, not held."""
    if State.IDLE in (states.requester, states.responder):
        return False
    if not isinstance(advance(states, event, sender), Prohibited):
        return False
    for role in (sender,) if sender is not None else _senders(event):
        seen = {states}
        frontier = [states]
        for _ in range(depth):
            reached: list[States] = []
            for here in frontier:
                for earlier in _SENT[role.other]:
                    there = advance(here, earlier, role.other)
                    if isinstance(there, States) and there not in seen:
                        if isinstance(advance(there, event, role), States):
                            return True
                        seen.add(there)
                        reached.append(there)
            frontier = reached
    return False


def is_finished(states: States) -> bool:
    """Whether the transaction has ended: no state-changing APDU is allowed any more."""
    events = {row.event for rows in TABLES.values() for row in rows}
    return all(isinstance(advance(states, event, None), Prohibited) for event in events)


def table_markdown() -> str:
    """The tables as markdown, for docs/transactions.md."""
    parts: list[str] = []
    for role in Role:
        parts.append(f"### {role.value.capitalize()}\n\n")
        parts.append(f"| state | APDU | {role.value} | next state | source |\n")
        parts.append("| --- | --- | --- | --- | --- |\n")
        for row in TABLES[role]:
            direction = "sends" if row.sent else "receives"
            parts.append(
                f"| {row.before.value} | {row.event} | {direction} | {row.after.value} "
                f"| {row.source} |\n"
            )
        parts.append("\n")
    changes_nothing = ", ".join(sorted(NO_CHANGE))
    parts.append(
        f"In every state but IDLE, for both parties: {changes_nothing}: state unchanged.\n"
    )
    return "".join(parts)
