"""The simulated ISO 18626 peer's decisions without HTTP: scenario tokens as written, how a
Request chooses its scenario, and the bound on a requester's retries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from isoill.tools.peer18626 import scenario
from isoill.tools.peer18626.messages import Agency, Header, Request, SupplyingAgencyMessage
from isoill.tools.peer18626.requester import MAX_RETRIES, Order, Post, Requester
from isoill.tools.peer18626.scenario import Later, Outcome, Reason

SUP, REQ = Agency("ISIL", "SUP1"), Agency("ISIL", "REQ1")


@pytest.mark.parametrize(
    ("text", "outcome", "will_supply", "later"),
    [
        ("LOANED", Outcome.LOANED, False, None),
        ("loaned_recalled", Outcome.LOANED, False, Later.RECALLED),
        ("LOANED_OVERDUE", Outcome.LOANED, False, Later.OVERDUE),
        ("WILLSUPPLY", Outcome.PENDING, True, None),
        ("WILLSUPPLY_LOANED", Outcome.LOANED, True, None),
        ("WILLSUPPLY_UNFILLED", Outcome.UNFILLED, True, None),
        ("WILLSUPPLY_LOANED_RECALLED", Outcome.LOANED, True, Later.RECALLED),
        ("WILLSUPPLY_LOANED_OVERDUE", Outcome.LOANED, True, Later.OVERDUE),
        ("UNFILLED", Outcome.UNFILLED, False, None),
        ("COMPLETED", Outcome.COMPLETED, False, None),
        ("ERROR", Outcome.ERROR, False, None),
        ("HTTP-ERROR-400", Outcome.HTTP_400, False, None),
        (" HTTP-ERROR-500 ", Outcome.HTTP_500, False, None),
    ],
)
def test_each_scenario_name_reads_as_what_it_says(
    text: str, outcome: Outcome, will_supply: bool, later: Later | None
) -> None:
    read = scenario.parse(text)
    assert (read.outcome, read.will_supply, read.later) == (outcome, will_supply, later)
    assert read.name == text.strip().upper()
    assert (read.cancel, read.renew, read.retry) == (True, True, None)


@pytest.mark.parametrize(
    ("text", "reason", "then"),
    [
        ("RETRY:COND_LOANED", Reason.COND, "LOANED"),
        ("RETRY:COST_WILLSUPPLY_LOANED_OVERDUE", Reason.COST, "WILLSUPPLY_LOANED_OVERDUE"),
        ("RETRY:ONLOAN_UNFILLED", Reason.ONLOAN, "UNFILLED"),
        ("RETRY:NOTFOUNDASCITED", Reason.NOTFOUNDASCITED, "LOANED"),
        ("RETRY:COND", Reason.COND, "LOANED"),
    ],
)
def test_a_retry_runs_what_follows_its_reason(text: str, reason: Reason, then: str) -> None:
    read = scenario.parse(text)
    assert (read.outcome, read.retry) == (Outcome.RETRY, reason)
    assert read.for_request_type("New") is read
    assert read.for_request_type(None) is read
    assert read.for_request_type("Retry") == scenario.parse(then)


def test_flags_change_the_answers_to_cancel_and_renew_and_carry_into_a_retry() -> None:
    read = scenario.parse("RETRY:COND_LOANED+CANCEL_NO+renew_no")
    assert (read.cancel, read.renew, read.name) == (
        False,
        False,
        "RETRY:COND_LOANED+CANCEL_NO+RENEW_NO",
    )
    after = read.for_request_type("Retry")
    assert (after.outcome, after.cancel, after.renew) == (Outcome.LOANED, False, False)
    assert after.name == "LOANED+CANCEL_NO+RENEW_NO"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("LENT", "unknown scenario 'LENT'"),
        ("LOANED_LOST", "unknown scenario 'LOANED_LOST'"),
        ("WILLSUPPLY_COMPLETED", "unknown scenario"),
        ("RETRY:LATER_LOANED", "unknown RETRY reason 'LATER'"),
        ("RETRY:COND_RETRY:COST_LOANED", "may not be a RETRY again"),
        ("LOANED+QUICKLY", "unknown flag 'QUICKLY'"),
        ("", "unknown scenario ''"),
    ],
)
def test_what_names_no_scenario_is_refused_with_the_reason(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        scenario.parse(text)


def test_a_request_chooses_by_its_note_then_its_record_id_then_the_default() -> None:
    default = scenario.parse("UNFILLED")
    assert scenario.choose("see MOCK:willsupply please", "LOANED", default).name == "WILLSUPPLY"
    assert scenario.choose("no token", "LOANED_OVERDUE", default).name == "LOANED_OVERDUE"
    assert scenario.choose(None, "rec-123", default) is default
    assert scenario.choose("xMOCK:LOANED", None, default) is default  # not a word of its own
    unknown = scenario.choose("MOCK:Lent", "LOANED", default)
    assert (unknown.outcome, unknown.unknown) == (Outcome.UNFILLED, "Lent")


def test_retries_are_bounded() -> None:
    requester = Requester(REQ, SUP, iter(f"id-{n}" for n in range(10)).__next__)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    request = requester.request(Order(note="MOCK:RETRY:ONLOAN_LOANED"), at)
    for _ in range(MAX_RETRIES):
        (effect,) = requester.take(retry_possible(request, at), at)[1]
        assert isinstance(effect, Post) and isinstance(effect.message, Request)
        assert effect.message.previous_request_id == request.header.request_id
        assert effect.message.request_type == "Retry"
        request = effect.message
    assert requester.take(retry_possible(request, at), at)[1] == []
    assert requester.ended
    assert requester.borrowings[request.header.request_id].ended == (
        f"RetryPossible, after {MAX_RETRIES} retries"
    )


def retry_possible(request: Request, at: datetime) -> SupplyingAgencyMessage:
    header = Header(SUP, REQ, request.header.request_id, at)
    return SupplyingAgencyMessage(header, "RequestResponse", "RetryPossible", at)
