"""What the processes that share a store must agree on beyond what each write checks: one
sender per address at a time, and a wake-up when another process has queued deliveries.

A store one process uses alone (SQLite: :class:`Alone`) needs neither: its forwarder is the
only sender, and intake hands it every new delivery itself. A shared store
(``Capabilities(shared=True)``) gives a :class:`Coordination` of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

#: Called with the addresses another process queued deliveries for; an empty set means
#: "look everywhere" (wake-ups may have been missed, as after a reconnect).
Wake = Callable[[frozenset[str]], None]


class Coordination(Protocol):
    @property
    def shared(self) -> bool:
        """Whether other processes use the store too (then claims and wake-ups matter)."""
        ...

    async def start(self, wake: Wake) -> None:
        """Begin taking wake-ups; ``wake`` is called on the event loop."""
        ...

    async def claim(self, address: str) -> bool:
        """Whether this process may send to ``address`` now, until :meth:`release`; ``False``
        while another process does. A claim ends with its process, however that ends."""
        ...

    async def release(self, address: str) -> None: ...

    def healthy(self) -> bool:
        """Whether the claims and wake-ups still stand (their connections are up)."""
        ...

    async def close(self) -> None: ...


class Alone:
    """The coordination of a store one process uses alone: nothing to agree on."""

    shared = False

    async def start(self, wake: Wake) -> None:
        return None

    async def claim(self, address: str) -> bool:
        return True

    async def release(self, address: str) -> None:
        return None

    def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        return None
