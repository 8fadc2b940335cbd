"""Throttling of failed Prompt-1 logins, by key (a source address, a userId).

Each failure under a key makes the next answer under it wait longer: ``first_delay``, then
twice that, up to ``max_delay``. After ``lockout_after`` failures in a row the key is locked
for ``lockout`` seconds: its logins are refused without a password check (no scrypt to pay
for). A success clears the key. A key without failures for ``lockout`` seconds is forgotten,
so the table holds only keys tried lately. Pure: the caller passes the time (monotonic).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Keys kept before forgotten ones are swept out.
SWEEP_ABOVE = 1024


@dataclass
class _Failures:
    count: int
    last: float  # when the last failure was


class LoginThrottle:
    def __init__(
        self, first_delay: float, max_delay: float, lockout_after: int, lockout: float
    ) -> None:
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.lockout_after = lockout_after
        self.lockout = lockout
        self._failures: dict[str, _Failures] = {}

    def locked(self, keys: Iterable[str], now: float) -> str | None:
        """The first of ``keys`` that is locked at ``now``, if one is."""
        for key in keys:
            failures = self._failures.get(key)
            if (
                failures is not None
                and failures.count >= self.lockout_after
                and now - failures.last < self.lockout
            ):
                return key
        return None

    def failed(self, keys: Iterable[str], now: float) -> float:
        """Count a failure under each key; how long to wait before answering it."""
        if len(self._failures) > SWEEP_ABOVE:
            self._sweep(now)
        count = 0
        for key in keys:
            failures = self._failures.get(key)
            if failures is None or now - failures.last >= self.lockout:
                failures = self._failures[key] = _Failures(0, now)
            failures.count += 1
            failures.last = now
            count = max(count, failures.count)
        return min(self.max_delay, self.first_delay * 2 ** (count - 1)) if count else 0.0

    def succeeded(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _sweep(self, now: float) -> None:
        for key in [k for k, f in self._failures.items() if now - f.last >= self.lockout]:
            del self._failures[key]

    def __len__(self) -> int:
        return len(self._failures)
