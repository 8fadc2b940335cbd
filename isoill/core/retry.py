"""When a failed delivery is tried again, and when it is given up: a rule, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again, and when it is given up.

    After the n-th failed attempt the next one waits ``first_delay * factor ** (n - 1)``.
    The defaults try at 0, 5, 15 and 35 minutes and then mark the delivery failed: four
    attempts within an hour, as ILLiad does. A policy whose last attempt would fall outside
    ``window`` is refused.
    """

    max_attempts: int = 4
    window: timedelta = timedelta(hours=1)
    first_delay: timedelta = timedelta(minutes=5)
    factor: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.first_delay <= timedelta(0) or self.factor < 1:
            raise ValueError(f"invalid retry policy {self}")
        last = sum((self.delay(n) for n in range(1, self.max_attempts)), timedelta(0))
        if last > self.window:
            raise ValueError(
                f"attempt {self.max_attempts} would come {last} after the first,"
                f" outside the window of {self.window}"
            )

    def delay(self, failed_attempts: int) -> timedelta:
        """How long to wait after ``failed_attempts`` failures before trying again."""
        return self.first_delay * self.factor ** (failed_attempts - 1)
