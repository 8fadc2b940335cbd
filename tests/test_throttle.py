"""Failed Prompt-1 logins throttled (isoill.access.throttle), on a clock the test moves."""

from __future__ import annotations

from isoill.access.throttle import SWEEP_ABOVE, LoginThrottle

ADDRESS, USER = "address 192.0.2.7", "userId reqlib"


def throttle() -> LoginThrottle:
    return LoginThrottle(first_delay=0.5, max_delay=4.0, lockout_after=5, lockout=60.0)


def test_each_failure_waits_longer_then_the_key_is_locked() -> None:
    limits = throttle()
    delays = [limits.failed([ADDRESS, USER], now=float(n)) for n in range(5)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert limits.locked([ADDRESS], now=5.0) == ADDRESS
    assert limits.locked([USER, ADDRESS], now=5.0) == USER
    assert limits.locked(["address 192.0.2.8"], now=5.0) is None  # another address
    assert limits.locked([ADDRESS], now=4.0 + 59.9) == ADDRESS
    assert limits.locked([ADDRESS], now=4.0 + 60.0) is None  # the lockout is over


def test_keys_count_apart_and_the_longest_run_sets_the_delay() -> None:
    limits = throttle()
    for n in range(3):
        limits.failed([ADDRESS], now=float(n))
    assert limits.failed(["address 192.0.2.8", USER], now=3.0) == 0.5
    assert limits.failed([ADDRESS, USER], now=4.0) == 4.0  # ADDRESS's fourth failure
    assert limits.locked([USER], now=4.0) is None


def test_success_clears_and_old_failures_are_forgotten() -> None:
    limits = throttle()
    for n in range(4):
        limits.failed([ADDRESS, USER], now=float(n))
    limits.succeeded([ADDRESS, USER])
    assert limits.failed([ADDRESS], now=5.0) == 0.5
    # A run of failures ends once the key has been quiet for the lockout period.
    for n in range(3):
        limits.failed([USER], now=10.0 + n)
    assert limits.failed([USER], now=12.0 + 60.0) == 0.5


def test_the_table_keeps_only_keys_tried_lately() -> None:
    limits = throttle()
    for n in range(SWEEP_ABOVE + 1):
        limits.failed([f"address 10.0.{n // 256}.{n % 256}"], now=0.0)
    assert len(limits) == SWEEP_ABOVE + 1
    limits.failed([ADDRESS], now=61.0)  # everything before is past the lockout period
    assert len(limits) == 1
