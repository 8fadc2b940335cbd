"""When the supervisor starts a dead worker again, and when it gives up: decided here, without
clocks or processes (the times are arguments).

A worker that dies is started again after a pause that doubles with each quick death in a
row (``first_delay``, up to ``max_delay``); one that had served ``stable`` seconds starts
again after ``first_delay``. A worker that dies before it is ready ``start_attempts`` times in
a row will not start (a bug, a resource that is not there): the supervisor gives up. One that
exits before it is ready with the status that says its cause will not pass by itself (bad
configuration, a store another daemon holds) is not tried again at all.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 0.25
    max_delay: float = 30.0
    stable: float = 60.0
    start_attempts: int = 5
    final_status: int = 3
    """The exit status of a worker that cannot start and says so (``isoill``'s bad input)."""


@dataclass(frozen=True)
class History:
    """A worker slot's deaths: in a row, quick ones, and ones before it was ready."""

    quick: int = 0
    unready: int = 0


@dataclass(frozen=True)
class Restart:
    delay: float


@dataclass(frozen=True)
class GiveUp:
    reason: str
    status: int


def after_death(
    policy: RestartPolicy, history: History, *, ready: bool, uptime: float, status: int
) -> tuple[History, Restart | GiveUp]:
    """What follows a worker's death (``status``: its exit status, or minus the signal that
    killed it), and the slot's history with that death."""
    if not ready and status == policy.final_status:
        return history, GiveUp("a worker cannot start (see its message)", status)
    unready = 0 if ready else history.unready + 1
    if unready >= policy.start_attempts:
        reason = f"workers died {unready} times in a row before they were ready"
        return History(history.quick, unready), GiveUp(reason, 1)
    quick = 0 if uptime >= policy.stable else history.quick + 1
    delay = min(policy.max_delay, policy.first_delay * 2 ** max(quick - 1, 0))
    return History(quick, unready), Restart(delay)
