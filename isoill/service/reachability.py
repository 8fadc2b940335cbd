"""What delivery has learnt of each address (whether its last attempt found anybody, and the
last error there), for intake to read (a Status-Query for a target nobody can reach may be
answered from history) and for the console's dashboard. Since the process started."""

from __future__ import annotations

from datetime import datetime


class Reachability:
    def __init__(self) -> None:
        self._unreachable: set[str] = set()
        self._errors: dict[str, tuple[datetime, str]] = {}

    def failed(self, address: str) -> None:
        """Nobody answered at ``address`` (a refusal is an answer: not this)."""
        self._unreachable.add(address)

    def reached(self, address: str) -> None:
        self._unreachable.discard(address)

    def error(self, address: str, error: str, at: datetime) -> None:
        """An attempt at ``address`` failed with ``error`` (nobody answered, or a refusal)."""
        self._errors[address] = (at, error)

    def last_error(self, address: str) -> tuple[datetime, str] | None:
        """When the last attempt that failed at ``address`` did, and why."""
        return self._errors.get(address)

    def __contains__(self, address: object) -> bool:
        """Whether ``address`` is unreachable."""
        return address in self._unreachable
