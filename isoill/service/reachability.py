"""What delivery has learnt of each address (whether its last attempt found anybody), for
intake to read: a Status-Query for a target nobody can reach may be answered from history."""

from __future__ import annotations


class Reachability:
    def __init__(self) -> None:
        self._unreachable: set[str] = set()

    def failed(self, address: str) -> None:
        """Nobody answered at ``address`` (a refusal is an answer: not this)."""
        self._unreachable.add(address)

    def reached(self, address: str) -> None:
        self._unreachable.discard(address)

    def __contains__(self, address: object) -> bool:
        """Whether ``address`` is unreachable."""
        return address in self._unreachable
