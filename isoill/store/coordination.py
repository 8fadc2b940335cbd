"""What the processes that share a store must agree on beyond what each write checks: one
sender per address at a time, a wake-up when another process has queued deliveries, and a
word when one has reloaded its routes (each reads its own routes file again).

A store one process uses alone (SQLite: :class:`Alone`) needs neither: its forwarder is the
only sender, and intake hands it every new delivery itself. A shared store
(``Capabilities(shared=True)``) gives a :class:`Coordination` of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

#: Called with the addresses another process queued deliveries for; an empty set means
#: "look everywhere" (wake-ups may have been missed, as after a reconnect).
Wake = Callable[[frozenset[str]], None]


@dataclass(frozen=True)
class RoutesReloaded:
    """Another process reloaded its routes: the ``sha256`` of the file it read (``""`` if
    not said), and who it was (``host:pid``)."""

    sha256: str
    by: str


#: Called, on the event loop, when a process sharing the store reloaded its routes.
RoutesFollower = Callable[[RoutesReloaded], None]


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

    def follow_routes(self, follower: RoutesFollower) -> None:
        """Call ``follower`` for each routes reload another process announces (from
        :meth:`start` on)."""
        ...

    async def announce_routes(self, sha256: str) -> None:
        """Tell every process sharing the store that this one reloaded its routes (it hears
        it too); :class:`~isoill.store.errors.StoreError` if that cannot be said now."""
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

    def follow_routes(self, follower: RoutesFollower) -> None:
        return None

    async def announce_routes(self, sha256: str) -> None:
        return None

    async def close(self) -> None:
        return None
