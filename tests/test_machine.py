"""The ISO 10161 protocol machines (isoill.transactions.machine): every row, every cell that is
not a row, whole transactions, forbidden sequences, events of APDUs, crossing messages."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from pathlib import Path

import pytest
from apdu_examples import full_apdu

from isoill.codec import plan
from isoill.codec.models import (
    CancelReply,
    ConditionalReply,
    CurrentState,
    ILLAnswer,
    RenewAnswer,
    Shipped,
    ShippedServiceType,
    TransactionResults,
)
from isoill.ill.apdus import APDU_FLOW, Flow, Role
from isoill.transactions.machine import (
    NO_CHANGE,
    SOURCES,
    TABLES,
    Event,
    Prohibited,
    State,
    States,
    Transition,
    advance,
    event_of,
    is_finished,
    may_follow,
    table_markdown,
)

REQ, RESP = Role.REQUESTER, Role.RESPONDER
DOC = Path(__file__).resolve().parents[1] / "docs" / "transactions.md"

ROWS = [row for role in Role for row in TABLES[role]]
#: Every event a table knows, plus the no-change types and answers no row has.
EVENTS = sorted(
    {row.event for row in ROWS}
    | {Event(apdu_type) for apdu_type in NO_CHANGE}
    | {Event("ILL-Answer"), Event("ILL-Answer", "0"), Event("Renew-Answer"), Event("Bogus")},
    key=str,
)
STATE_CHANGING = [event for event in EVENTS if event.apdu_type not in NO_CHANGE]

ILL_REQUEST = Event("ILL-Request")
SHIPPED = Event("Shipped")
SHIPPED_COPY = Event("Shipped", "copy-non-returnable")
RECEIVED = Event("Received")
RETURNED = Event("Returned")
CHECKED_IN = Event("Checked-In")
RENEW = Event("Renew")
OVERDUE = Event("Overdue")
RECALL = Event("Recall")
LOST = Event("Lost")
CANCEL = Event("Cancel")
EXPIRED = Event("Expired")


def answer(result: str) -> Event:
    return Event("ILL-Answer", result)


def yes(apdu_type: str) -> Event:
    return Event(apdu_type, "yes")


def no(apdu_type: str) -> Event:
    return Event(apdu_type, "no")


def reachable() -> list[States]:
    """Every pair of states some sequence of allowed APDUs leads to, in a fixed order."""
    start = States()
    seen = {start}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for event in STATE_CHANGING:
            for sender in Role:
                there = advance(here, event, sender)
                if isinstance(there, States) and there not in seen:
                    seen.add(there)
                    queue.append(there)
    return sorted(seen, key=lambda s: (s.requester.value, s.responder.value))


REACHABLE = reachable()


def run(steps: Iterable[tuple[Event, Role | None]], states: States | None = None) -> States:
    """Apply each step, failing the test at the first one prohibited."""
    states = states or States()
    for event, sender in steps:
        result = advance(states, event, sender)
        assert isinstance(result, States), f"{event} from {sender}: {result} in {states}"
        states = result
    return states


def pair(requester: State, responder: State) -> States:
    return States(requester, responder)


# --- every row --------------------------------------------------------------------------------


def row_id(row: Transition) -> str:
    direction = "sends" if row.sent else "receives"
    return f"{row.role.value}:{row.before.value}:{direction}:{row.event}"


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_row(row: Transition) -> None:
    sender = row.role if row.sent else row.role.other
    partners = [
        states
        for states in REACHABLE
        if states.of(row.role) is row.before
        and isinstance(advance(states, row.event, sender), States)
    ]
    assert partners, "no reachable state of the other party lets this row apply"
    for states in partners:
        after = advance(states, row.event, sender)
        assert isinstance(after, States)
        assert after.of(row.role) is row.after
    assert row.source, "every row names its source"
    for source in row.source.split("; "):
        assert source in SOURCES


def test_one_row_per_cell_and_roles_in_their_table() -> None:
    for role, rows in TABLES.items():
        cells = [(row.before, row.event, row.sent) for row in rows]
        assert len(cells) == len(set(cells))
        assert all(row.role is role for row in rows)


def test_rows_follow_who_sends_what() -> None:
    for row in ROWS:
        flow = APDU_FLOW[row.event.apdu_type]
        sender = row.role if row.sent else row.role.other
        if flow is not Flow.EITHER:
            assert flow.value == sender.value, row


def test_no_change_apdus_have_no_rows() -> None:
    assert not [row for row in ROWS if row.event.apdu_type in NO_CHANGE]


def test_each_party_has_only_its_states() -> None:
    requester = {row.before for row in TABLES[REQ]} | {row.after for row in TABLES[REQ]}
    responder = {row.before for row in TABLES[RESP]} | {row.after for row in TABLES[RESP]}
    assert State.IN_PROCESS not in requester and State.FORWARD not in requester
    assert State.PENDING not in responder and State.RECEIVED not in responder
    assert State.NOT_RECEIVED_OVERDUE not in responder
    assert requester | responder == set(State)


# --- every cell that is not a row ---------------------------------------------------------------


@pytest.mark.parametrize("role", Role, ids=lambda r: r.value)
@pytest.mark.parametrize("state", State, ids=lambda s: s.value)
def test_cells_not_in_the_table_are_prohibited(role: Role, state: State) -> None:
    rows = {(row.event, row.sent) for row in TABLES[role] if row.before is state}
    for event in STATE_CHANGING:
        for sent in (True, False):
            if (event, sent) in rows:
                continue
            sender = role if sent else role.other
            for partner in State:
                states = States(**{role.value: state, role.other.value: partner})
                result = advance(states, event, sender)
                assert isinstance(result, Prohibited), (states, event, sender)
                other_row = (role.other, partner, event, not sent)
                other_accepts = any(
                    (r.role, r.before, r.event, r.sent) == other_row for r in TABLES[role.other]
                )
                if sent or other_accepts:  # this machine is the one that refuses
                    assert result == Prohibited(role, state)


@pytest.mark.parametrize("event", [Event(t) for t in sorted(NO_CHANGE)], ids=str)
def test_no_change_apdus_change_nothing_but_are_refused_in_idle(event: Event) -> None:
    for requester in State:
        for responder in State:
            states = pair(requester, responder)
            for sender in (REQ, RESP, None):
                result = advance(states, event, sender)
                if State.IDLE in (requester, responder):
                    assert isinstance(result, Prohibited)
                    assert result.state is State.IDLE
                else:
                    assert result == states


def test_idle_allows_only_the_ill_request() -> None:
    for event in EVENTS:
        for sender in (REQ, RESP, None):
            result = advance(States(), event, sender)
            if event == ILL_REQUEST and sender is not RESP:
                assert result == pair(State.PENDING, State.IN_PROCESS)
            else:
                assert isinstance(result, Prohibited), (event, sender)
                assert result.state is State.IDLE


# --- whole transactions -------------------------------------------------------------------------


def test_a_loan() -> None:
    states = States()
    for event, sender, expected in [
        (ILL_REQUEST, REQ, pair(State.PENDING, State.IN_PROCESS)),
        (answer("will-supply"), RESP, pair(State.PENDING, State.IN_PROCESS)),
        (SHIPPED, RESP, pair(State.SHIPPED, State.SHIPPED)),
        (RECEIVED, REQ, pair(State.RECEIVED, State.SHIPPED)),
        (RENEW, REQ, pair(State.RENEW_PENDING, State.RENEW_PENDING)),
        (yes("Renew-Answer"), RESP, pair(State.RECEIVED, State.SHIPPED)),
        (Event("Message"), REQ, pair(State.RECEIVED, State.SHIPPED)),
        (RETURNED, REQ, pair(State.RETURNED, State.RETURNED)),
        (CHECKED_IN, RESP, pair(State.CHECKED_IN, State.CHECKED_IN)),
    ]:
        result = advance(states, event, sender)
        assert result == expected, event
        assert isinstance(result, States)
        states = result
    assert is_finished(states)


def test_a_copy() -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED_COPY, RESP)])
    assert states == pair(State.SHIPPED_NON_RETURNABLE, State.SHIPPED_NON_RETURNABLE)
    assert not is_finished(states)
    states = run([(RECEIVED, REQ)], states)
    assert states == pair(State.RECEIVED_NON_RETURNABLE, State.SHIPPED_NON_RETURNABLE)
    assert is_finished(states)
    assert states.requester.current_state is CurrentState.RECEIVED
    assert states.responder.current_state is CurrentState.SHIPPED


def test_a_copy_lost_in_transit() -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED_COPY, RESP), (LOST, None)])
    assert states == pair(State.LOST, State.LOST)


def test_overdue_renewed_late_then_returned() -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP), (RECEIVED, REQ), (OVERDUE, RESP)])
    assert states == pair(State.OVERDUE, State.OVERDUE)
    states = run([(OVERDUE, RESP), (RENEW, REQ)], states)
    assert states == pair(State.RENEW_OVERDUE, State.RENEW_OVERDUE)
    assert run([(no("Renew-Answer"), RESP)], states) == pair(State.OVERDUE, State.OVERDUE)
    states = run([(yes("Renew-Answer"), RESP)], states)
    assert states == pair(State.RECEIVED, State.SHIPPED)
    assert run([(RETURNED, REQ), (CHECKED_IN, RESP)], states) == pair(
        State.CHECKED_IN, State.CHECKED_IN
    )


def test_overdue_before_the_item_arrived() -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP), (OVERDUE, RESP)])
    assert states == pair(State.NOT_RECEIVED_OVERDUE, State.OVERDUE)
    assert states.requester.current_state is CurrentState.NOT_RECEIVED_OVERDUE
    assert run([(RECEIVED, REQ)], states) == pair(State.OVERDUE, State.OVERDUE)
    assert advance(states, RENEW, REQ) == Prohibited(REQ, State.NOT_RECEIVED_OVERDUE)


def test_overdue_while_a_renewal_is_pending() -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP), (RECEIVED, REQ), (RENEW, REQ)])
    assert run([(OVERDUE, RESP)], states) == pair(State.RENEW_OVERDUE, State.RENEW_OVERDUE)


def test_renewal_refused() -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP), (RECEIVED, REQ), (RENEW, REQ)])
    assert run([(no("Renew-Answer"), RESP)], states) == pair(State.RECEIVED, State.SHIPPED)


@pytest.mark.parametrize(
    "before",
    [
        [(RECEIVED, REQ)],
        [(RECEIVED, REQ), (OVERDUE, RESP)],
        [(RECEIVED, REQ), (RENEW, REQ)],
        [(RECEIVED, REQ), (OVERDUE, RESP), (RENEW, REQ)],
    ],
    ids=["received", "overdue", "renew-pending", "renew-overdue"],
)
def test_recall(before: list[tuple[Event, Role]]) -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP), *before, (RECALL, RESP)])
    assert states == pair(State.RECALL, State.RECALL)
    assert advance(states, RENEW, REQ) == Prohibited(REQ, State.RECALL)
    assert run([(RETURNED, REQ), (CHECKED_IN, RESP)], states) == pair(
        State.CHECKED_IN, State.CHECKED_IN
    )


@pytest.mark.parametrize("sender", [REQ, RESP, None], ids=str)
@pytest.mark.parametrize(
    "before",
    [
        [],
        [(RECEIVED, REQ)],
        [(OVERDUE, RESP)],
        [(RECEIVED, REQ), (RENEW, REQ)],
        [(RECEIVED, REQ), (RECALL, RESP)],
        [(RECEIVED, REQ), (RETURNED, REQ)],
    ],
    ids=["shipped", "received", "not-received-overdue", "renew-pending", "recall", "returned"],
)
def test_lost(before: list[tuple[Event, Role]], sender: Role | None) -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP), *before])
    assert run([(LOST, sender)], states) == pair(State.LOST, State.LOST)


def test_lost_before_shipment_is_prohibited() -> None:
    states = run([(ILL_REQUEST, REQ)])
    assert advance(states, LOST, REQ) == Prohibited(REQ, State.PENDING)
    assert advance(states, LOST, RESP) == Prohibited(RESP, State.IN_PROCESS)
    assert advance(states, LOST, None) == Prohibited(REQ, State.PENDING)


def test_cancel_yes_and_no() -> None:
    for start in ([(ILL_REQUEST, REQ)], [(ILL_REQUEST, REQ), (answer("conditional"), RESP)]):
        states = run([*start, (CANCEL, REQ)])
        assert states == pair(State.CANCEL_PENDING, State.CANCEL_PENDING)
        cancelled = run([(yes("Cancel-Reply"), RESP)], states)
        assert cancelled == pair(State.CANCELLED, State.CANCELLED)
        assert is_finished(cancelled)
        going_on = run([(no("Cancel-Reply"), RESP)], states)
        assert going_on == pair(State.PENDING, State.IN_PROCESS)
        assert run([(SHIPPED, RESP)], going_on) == pair(State.SHIPPED, State.SHIPPED)


def test_conditional_yes_and_no() -> None:
    states = run([(ILL_REQUEST, REQ), (answer("conditional"), RESP)])
    assert states == pair(State.CONDITIONAL, State.CONDITIONAL)
    accepted = run([(yes("Conditional-Reply"), REQ)], states)
    assert accepted == pair(State.PENDING, State.IN_PROCESS)
    assert run([(SHIPPED, RESP)], accepted) == pair(State.SHIPPED, State.SHIPPED)
    refused = run([(no("Conditional-Reply"), REQ)], states)
    assert refused == pair(State.NOT_SUPPLIED, State.NOT_SUPPLIED)
    assert is_finished(refused)


@pytest.mark.parametrize("result", ["retry", "unfilled", "locations-provided", "estimate"])
def test_answers_that_end_as_not_supplied(result: str) -> None:
    states = run([(ILL_REQUEST, REQ), (answer("hold-placed"), RESP), (answer(result), RESP)])
    assert states == pair(State.NOT_SUPPLIED, State.NOT_SUPPLIED)
    assert is_finished(states)


def test_forwarding() -> None:
    states = run([(ILL_REQUEST, REQ), (Event("Forward-Notification"), RESP)])
    assert states == pair(State.PENDING, State.FORWARD)
    assert states.responder.current_state is CurrentState.FORWARD
    # the new responder answers directly, or first receives the forwarded request
    assert run([(SHIPPED, RESP)], states) == pair(State.SHIPPED, State.SHIPPED)
    forwarded = run([(ILL_REQUEST, REQ)], states)
    assert forwarded == pair(State.PENDING, State.IN_PROCESS)
    assert run([(answer("unfilled"), RESP)], forwarded) == pair(
        State.NOT_SUPPLIED, State.NOT_SUPPLIED
    )


@pytest.mark.parametrize("sender", [REQ, RESP, None], ids=str)
@pytest.mark.parametrize(
    "before",
    [[], [(answer("will-supply"), RESP)], [(answer("conditional"), RESP)], [(CANCEL, REQ)]],
    ids=["pending", "will-supply", "conditional", "cancel-pending"],
)
def test_expired(before: list[tuple[Event, Role]], sender: Role | None) -> None:
    states = run([(ILL_REQUEST, REQ), *before, (EXPIRED, sender)])
    assert states == pair(State.NOT_SUPPLIED, State.NOT_SUPPLIED)


def test_crossing_cancel_and_answers() -> None:
    cancelling = run([(ILL_REQUEST, REQ), (CANCEL, REQ)])
    assert run([(answer("unfilled"), RESP)], cancelling) == pair(
        State.NOT_SUPPLIED, State.NOT_SUPPLIED
    )
    assert run([(answer("will-supply"), RESP)], cancelling) == cancelling
    shipped = run([(SHIPPED, RESP)], cancelling)
    assert shipped == pair(State.SHIPPED, State.SHIPPED)
    assert run([(no("Cancel-Reply"), RESP)], shipped) == shipped
    assert advance(shipped, yes("Cancel-Reply"), RESP) == Prohibited(RESP, State.SHIPPED)


def test_sender_none_means_the_only_sender() -> None:
    states = run([(ILL_REQUEST, None), (SHIPPED, None), (RECEIVED, None)])
    assert states == pair(State.RECEIVED, State.SHIPPED)


def test_either_sender_gives_the_same_result() -> None:
    for states in REACHABLE:
        for event in (LOST, EXPIRED):
            results = {advance(states, event, sender) for sender in Role}
            allowed = {result for result in results if isinstance(result, States)}
            assert len(allowed) <= 1
            if allowed:
                assert advance(states, event, None) in allowed


# --- forbidden sequences ------------------------------------------------------------------------


def test_shipped_before_the_request() -> None:
    assert advance(States(), SHIPPED, RESP) == Prohibited(RESP, State.IDLE)
    assert Prohibited(RESP, State.IDLE).state.current_state is CurrentState.UNKNOWN


def test_received_after_returned() -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP), (RECEIVED, REQ), (RETURNED, REQ)])
    assert advance(states, RECEIVED, REQ) == Prohibited(REQ, State.RETURNED)
    assert not may_follow(states, RECEIVED, REQ)


@pytest.mark.parametrize(
    ("event", "sender"),
    [(RENEW, REQ), (RETURNED, REQ), (OVERDUE, RESP), (RECALL, RESP), (CHECKED_IN, RESP)],
    ids=str,
)
def test_a_copy_is_not_renewed_nor_returned(event: Event, sender: Role) -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED_COPY, RESP), (RECEIVED, REQ)])
    result = advance(states, event, sender)
    assert isinstance(result, Prohibited)
    assert result.state.current_state in (CurrentState.RECEIVED, CurrentState.SHIPPED)
    assert not may_follow(states, event, sender)


def test_answer_after_cancelled() -> None:
    states = run([(ILL_REQUEST, REQ), (CANCEL, REQ), (yes("Cancel-Reply"), RESP)])
    for result in ("will-supply", "unfilled", "conditional"):
        assert advance(states, answer(result), RESP) == Prohibited(RESP, State.CANCELLED)


def test_unfilled_after_expired() -> None:  # ILLiad's example of an illegal transition
    states = run([(ILL_REQUEST, REQ), (EXPIRED, RESP)])
    assert advance(states, answer("unfilled"), RESP) == Prohibited(RESP, State.NOT_SUPPLIED)


@pytest.mark.parametrize(
    "steps",
    [
        [(RETURNED, REQ), (CHECKED_IN, RESP)],
        [(CHECKED_IN, RESP)],
        [(LOST, REQ)],
    ],
    ids=["checked-in", "checked-in-without-returned", "lost"],
)
def test_nothing_changes_after_the_end(steps: list[tuple[Event, Role]]) -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP), (RECEIVED, REQ), *steps])
    assert is_finished(states)
    for event in STATE_CHANGING:
        for sender in (REQ, RESP, None):
            assert isinstance(advance(states, event, sender), Prohibited), event
            assert not may_follow(states, event, sender)
    for apdu_type in NO_CHANGE:
        assert advance(states, Event(apdu_type), None) == states


@pytest.mark.parametrize(
    ("steps", "event", "sender", "refused"),
    [
        ([], ILL_REQUEST, REQ, Prohibited(RESP, State.IN_PROCESS)),
        ([], RECEIVED, REQ, Prohibited(REQ, State.PENDING)),
        ([], yes("Conditional-Reply"), REQ, Prohibited(REQ, State.PENDING)),
        (
            [(SHIPPED, RESP), (RECEIVED, REQ)],
            yes("Renew-Answer"),
            RESP,
            Prohibited(RESP, State.SHIPPED),
        ),
        ([(SHIPPED, RESP)], RENEW, REQ, Prohibited(REQ, State.SHIPPED)),
        ([(SHIPPED, RESP)], SHIPPED, RESP, Prohibited(RESP, State.SHIPPED)),
        ([(answer("conditional"), RESP)], SHIPPED, RESP, Prohibited(RESP, State.CONDITIONAL)),
        ([], Event("ILL-Answer", "0"), RESP, Prohibited(RESP, State.IN_PROCESS)),
        ([], Event("Bogus"), None, Prohibited(REQ, State.PENDING)),
    ],
    ids=[
        "second-request",
        "received-before-shipped",
        "reply-without-condition",
        "renew-answer-without-renew",
        "renew-before-received",
        "shipped-twice",
        "shipped-while-conditional",
        "unlisted-result",
        "unknown-type",
    ],
)
def test_forbidden(
    steps: list[tuple[Event, Role]], event: Event, sender: Role | None, refused: Prohibited
) -> None:
    states = run([(ILL_REQUEST, REQ), *steps])
    assert advance(states, event, sender) == refused


# --- events of APDUs ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(plan.APDUS), ids=str)
@pytest.mark.parametrize("variant", [0, 1])
def test_event_of(name: str, variant: int) -> None:
    apdu = full_apdu(name, variant)
    event = event_of(apdu)
    assert event.apdu_type == name
    if isinstance(apdu, ILLAnswer):
        assert event.answer == apdu.transaction_results.asn1_name
    elif isinstance(apdu, ConditionalReply | CancelReply | RenewAnswer):
        assert event.answer == ("yes" if apdu.answer else "no")
    elif isinstance(apdu, Shipped):
        copy = apdu.shipped_service_type is ShippedServiceType.COPY_NON_RETURNABLE
        assert event.answer == ("copy-non-returnable" if copy else None)
    else:
        assert event == Event(name)


def test_event_of_every_answer() -> None:
    answer_apdu = full_apdu("ILL-Answer")
    assert isinstance(answer_apdu, ILLAnswer)
    for result in TransactionResults:
        changed = answer_apdu.model_copy(update={"transaction_results": result})
        assert event_of(changed) == Event("ILL-Answer", result.asn1_name)
    for name in ("Conditional-Reply", "Cancel-Reply", "Renew-Answer"):
        apdu = full_apdu(name)
        assert event_of(apdu.model_copy(update={"answer": True})) == Event(name, "yes")
        assert event_of(apdu.model_copy(update={"answer": False})) == Event(name, "no")
    shipped = full_apdu("Shipped")
    loan = shipped.model_copy(update={"shipped_service_type": ShippedServiceType.LOAN})
    copy = shipped.model_copy(
        update={"shipped_service_type": ShippedServiceType.COPY_NON_RETURNABLE}
    )
    assert event_of(loan) == SHIPPED
    assert event_of(copy) == SHIPPED_COPY


def test_events_of_apdus_drive_the_machine() -> None:
    request, shipped, received = (full_apdu(n) for n in ("ILL-Request", "Shipped", "Received"))
    shipped = shipped.model_copy(update={"shipped_service_type": ShippedServiceType.LOAN})
    states = run([(event_of(request), None), (event_of(shipped), None), (event_of(received), None)])
    assert states == pair(State.RECEIVED, State.SHIPPED)


# --- states -------------------------------------------------------------------------------------


def test_current_state() -> None:
    assert State.IDLE.current_state is CurrentState.UNKNOWN
    assert State.SHIPPED_NON_RETURNABLE.current_state is CurrentState.SHIPPED
    assert State.RECEIVED_NON_RETURNABLE.current_state is CurrentState.RECEIVED
    for state in State:
        if state.current_state is not CurrentState.UNKNOWN and "(" not in state.value:
            assert state.current_state.asn1_name.upper() == state.value
    reported = {state.current_state for state in State}
    assert reported == set(CurrentState)


def test_states_default_to_idle() -> None:
    assert States() == pair(State.IDLE, State.IDLE)
    assert States().of(REQ) is State.IDLE
    assert Role.REQUESTER.other is RESP and RESP.other is REQ


def test_reachable_states() -> None:
    finished = {states for states in REACHABLE if is_finished(states)}
    assert finished == {
        pair(State.NOT_SUPPLIED, State.NOT_SUPPLIED),
        pair(State.CANCELLED, State.CANCELLED),
        pair(State.CHECKED_IN, State.CHECKED_IN),
        pair(State.LOST, State.LOST),
        pair(State.RECEIVED_NON_RETURNABLE, State.SHIPPED_NON_RETURNABLE),
    }
    assert not is_finished(pair(State.RETURNED, State.RETURNED))  # Checked-In may follow


# --- crossing messages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "before",
    [[], [(answer("hold-placed"), RESP)], [(answer("will-supply"), RESP)], [(CANCEL, REQ)]],
    ids=["pending", "hold-placed", "will-supply", "cancel-pending"],
)
def test_received_before_its_shipped_may_follow(before: list[tuple[Event, Role]]) -> None:
    states = run([(ILL_REQUEST, REQ), *before])
    assert isinstance(advance(states, RECEIVED, REQ), Prohibited)
    assert may_follow(states, RECEIVED, REQ)
    assert may_follow(states, RECEIVED, None)
    assert may_follow(states, RECEIVED, REQ, depth=1)
    assert not may_follow(states, RECEIVED, REQ, depth=0)
    # once the Shipped arrives, the held Received goes through
    assert run([(SHIPPED, RESP), (RECEIVED, REQ)], states).requester is State.RECEIVED


def test_recall_and_checked_in_before_received_may_follow() -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP)])
    assert may_follow(states, RECALL, RESP)
    assert may_follow(states, CHECKED_IN, RESP)


def test_forwarded_request_before_its_notification_may_follow() -> None:
    states = run([(ILL_REQUEST, REQ)])
    assert may_follow(states, ILL_REQUEST, REQ)


def test_depth_counts_the_missing_apdus() -> None:
    states = run([(ILL_REQUEST, REQ), (SHIPPED, RESP)])  # Received and Renew are missing
    assert not may_follow(states, yes("Renew-Answer"), RESP, depth=1)
    assert may_follow(states, yes("Renew-Answer"), RESP, depth=2)


@pytest.mark.parametrize(
    ("steps", "event", "sender"),
    [
        ([], SHIPPED, RESP),  # allowed now: nothing to wait for
        ([(SHIPPED, RESP), (RECEIVED, REQ), (RETURNED, REQ)], RECEIVED, REQ),
        ([(answer("conditional"), RESP)], RECEIVED, REQ),  # only the requester's reply helps
        ([(CANCEL, REQ), (yes("Cancel-Reply"), RESP)], answer("unfilled"), RESP),
        ([(SHIPPED_COPY, RESP), (RECEIVED, REQ)], RENEW, REQ),
    ],
    ids=["allowed-now", "received-after-returned", "conditional", "cancelled", "copy-renew"],
)
def test_may_not_follow(steps: list[tuple[Event, Role]], event: Event, sender: Role) -> None:
    states = run([(ILL_REQUEST, REQ), *steps])
    assert not may_follow(states, event, sender)


def test_nothing_is_held_for_a_transaction_not_started() -> None:
    for event in EVENTS:
        for sender in (REQ, RESP, None):
            assert not may_follow(States(), event, sender)


# --- docs ---------------------------------------------------------------------------------------


def test_docs_have_the_generated_tables() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert table_markdown() in text, "copy table_markdown() into docs/transactions.md"
    assert text.endswith(table_markdown()), "the tables close docs/transactions.md"


def test_table_markdown_has_every_row() -> None:
    lines = [line for line in table_markdown().splitlines() if line.startswith("| ")]
    assert len(lines) == len(ROWS) + 2 * 2  # two header lines per table
    used = {source for row in ROWS for source in row.source.split("; ")}
    assert used == set(SOURCES)
