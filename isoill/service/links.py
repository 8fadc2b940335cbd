"""How delivery reaches a target: a :class:`Link` to one address sends one APDU at a time and
says what the target answered, whatever carries it (ISO 10161 over TCP:
:class:`isoill.transport.iso10161.link.Iso10161Link`; ISO 18626 over HTTP:
:class:`isoill.transport.iso18626.link.Iso18626Link`). Delivery decides what to send and
when; the link owns the connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from isoill.iso18626.wire import Message


class Refused(Exception):
    """The target answered, but not with an acknowledgement (or with something unreadable):
    the attempt failed, and is made again later; the target is reachable."""


class Rejected(Exception):
    """The target refused the message for good: an ISO 18626 ERROR Confirmation
    (``confirmation``, its model). The delivery ends, and the message's sender is told."""

    def __init__(self, reason: str, confirmation: Message) -> None:
        super().__init__(reason)
        self.confirmation = confirmation


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
        :class:`TimeoutError` when nobody answered; :class:`Rejected` when it refused the
        message for good."""
        ...

    async def send_back(self, reply: bytes, timeout: float, comment: str | None) -> None:
        """Answer the target's own APDU on the same connection; :class:`OSError` if it cannot
        go out."""
        ...

    def close(self) -> None: ...


#: A new link to an address.
Links = Callable[[str], Link]
