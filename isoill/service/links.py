"""How delivery reaches a target: a :class:`Link` to one address sends one APDU at a time and
says what the target answered, whatever carries it (ISO 10161 over TCP today:
:class:`isoill.transport.iso10161.link.Iso10161Link`). Delivery decides what to send and when;
the link owns the connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Refused(Exception):
    """The target answered, but not with an acknowledgement (or with something unreadable):
    the attempt failed, and is made again later; the target is reachable."""


class Link(Protocol):
    async def exchange(
        self,
        wire: bytes,
        recorded: bytes,
        *,
        expects_reply: bool,
        reply_timeout: float,
        capture: bool,
        target: str,
        apdu_type: str,
    ) -> bytes | None:
        """Send ``wire`` (the capture records it as ``recorded``) and, when the target
        ``expects_reply``, read its answer: ``None`` for an acknowledgement, the target's own
        APDU if it answered with one; :class:`Refused`, or :class:`OSError` or
        :class:`TimeoutError` when nobody answered."""
        ...

    async def send_back(self, reply: bytes, timeout: float, comment: str | None) -> None:
        """Answer the target's own APDU on the same connection; :class:`OSError` if it cannot
        go out."""
        ...

    def close(self) -> None: ...


#: A new link to an address.
Links = Callable[[str], Link]
