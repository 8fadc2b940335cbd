"""The time, as the service and delivery ask for it: injected, so that tests can set it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The wall-clock time, aware UTC: what is stored and sent."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: for waits and intervals."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()
