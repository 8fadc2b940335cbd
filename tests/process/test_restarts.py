"""The supervisor's restart decisions, on given times and statuses."""

from __future__ import annotations

from isoill.process.restarts import GiveUp, History, Restart, RestartPolicy, after_death

POLICY = RestartPolicy(first_delay=0.25, max_delay=2.0, stable=60.0, start_attempts=3)


def deaths(*lives: tuple[bool, float, int]) -> list[Restart | GiveUp]:
    """The decisions after each death in a row of one slot: (ready, uptime, status)."""
    history, decisions = History(), []
    for ready, uptime, status in lives:
        history, decision = after_death(POLICY, history, ready=ready, uptime=uptime, status=status)
        decisions.append(decision)
    return decisions


def test_quick_deaths_in_a_row_wait_twice_as_long_each_time_up_to_the_most() -> None:
    assert deaths(*[(True, 1.0, -9)] * 6) == [
        Restart(0.25),
        Restart(0.5),
        Restart(1.0),
        Restart(2.0),
        Restart(2.0),
        Restart(2.0),
    ]


def test_a_worker_that_served_long_starts_again_soon() -> None:
    assert deaths((True, 1.0, 1), (True, 1.0, 1), (True, 61.0, 1), (True, 1.0, 1)) == [
        Restart(0.25),
        Restart(0.5),
        Restart(0.25),
        Restart(0.25),
    ]


def test_workers_dying_before_they_are_ready_are_given_up_on() -> None:
    *restarts, last = deaths((False, 0.1, 1), (False, 0.1, -11), (False, 0.1, 1))
    assert restarts == [Restart(0.25), Restart(0.5)]
    assert last == GiveUp("workers died 3 times in a row before they were ready", 1)


def test_one_ready_start_between_failed_ones_begins_the_count_again() -> None:
    decisions = deaths((False, 0.1, 1), (False, 0.1, 1), (True, 5.0, 1), (False, 0.1, 1))
    assert not any(isinstance(decision, GiveUp) for decision in decisions)


def test_a_worker_that_says_it_cannot_start_is_not_tried_again() -> None:
    assert deaths((False, 0.1, 3)) == [GiveUp("a worker cannot start (see its message)", 3)]
    # Once it served, the same status is a death like any other.
    assert deaths((True, 5.0, 3)) == [Restart(0.25)]
