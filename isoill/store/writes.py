"""Changes to the store, as data: each write is a frozen value that says what to change, built
(and its arguments checked) on the caller's thread, and carried out by whichever backend
commits it, alone (:meth:`~isoill.store.backend.Backend.commit`) or in a group
(:meth:`~isoill.store.backend.Backend.commit_all`). A ``Write[R]``'s result, once committed,
is an ``R``; each class says what it is.

Times are aware UTC ``datetime`` values passed in by the caller (tests control the clock): a
naive one is refused when the write is built, not in the group commit that runs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeAlias, TypeVar

from isoill.core.views import Forward
from isoill.store.records import Conflict, Duplicate, Notice, Stored

R_co = TypeVar("R_co", covariant=True)


class Write(Generic[R_co]):
    """A change to the store whose result, once committed, is an ``R_co``."""

    __slots__ = ()


#: What any write results in.
WriteResult: TypeAlias = Stored | Duplicate | Conflict | int | bool | None


@dataclass(frozen=True, kw_only=True)
class Accept(Write[Stored | Duplicate | Conflict]):
    """Store an APDU for delivery to each of ``addresses``, or, ``held`` (the reason), keep it
    without deliveries for an operator to release or refuse.

    With the message, in the same transaction: the transaction's parties (a party known
    already stays: only ``forward``, a Forward-Notification's, moves the responder),
    ``states`` (requester's, responder's) if given, and ``dedup_key``, which
    :meth:`~isoill.store.backend.Backend.find_duplicate` looks up. The result is
    :class:`Stored`, or :class:`Duplicate` when a message not refused has the same
    ``dedup_key``: then nothing is stored.

    ``expected_version`` is the ``version`` of the transaction's record the APDU was judged
    against (``None``: it had none, the transaction must not exist yet). A shared backend
    stores nothing if the transaction is not at that version, and the result is
    :class:`Conflict`; a backend one process writes (SQLite) need not check it: that
    process's lock per transaction keeps the record from moving between the judgement and
    the write.

    An APDU of a transaction with an ISO 18626 side also has ``xml``, its ISO 18626 form
    kept beside the BER (what an ISO 18626 target is POSTed, else the message it was mapped
    from), and ``bridge``, the transaction's bridge state after it (the JSON text of
    :meth:`isoill.bridge.state.Bridged.to_json`; ``None`` leaves the state as it is).
    """

    peer: str
    apdu_type: str
    transaction_key: str
    target_symbol: str | None
    ber: bytes
    requester_symbol: str | None
    responder_symbol: str | None
    now: datetime
    expected_version: int | None
    addresses: Sequence[str] = ()
    held: str | None = None
    dedup_key: str | None = None
    states: tuple[str, str] | None = None
    forward: Forward | None = None
    xml: bytes | None = None
    bridge: str | None = None

    def __post_init__(self) -> None:
        _check_aware(self.now)
        if self.held is None:
            _check_addresses(self.addresses)
        elif self.addresses:
            raise ValueError(f"a held message has no deliveries yet, got {self.addresses!r}")


@dataclass(frozen=True, kw_only=True)
class Keep(Write[int]):
    """Keep an APDU that is never to be delivered, with the ``reason``, for operators to see:
    ``unroutable`` (it has nowhere to go) or ``refused`` (the gateway refused it; its
    transaction's history shows it, its parties and states are left as they are). The result
    is the message's id. ``xml``: the ISO 18626 message the APDU was mapped from, if any."""

    peer: str
    apdu_type: str
    transaction_key: str | None
    target_symbol: str | None
    ber: bytes
    state: Literal["unroutable", "refused"]
    reason: str
    now: datetime
    xml: bytes | None = None

    def __post_init__(self) -> None:
        _check_aware(self.now)
        if self.state not in ("unroutable", "refused"):
            raise ValueError(f"a message is kept as unroutable or refused, not {self.state!r}")


@dataclass(frozen=True)
class Delivered(Write[None]):
    """The peer took the APDU: the delivery is done and the address's next one is due. With
    ``scrubbed`` (the APDU without a secret it was kept with for this delivery), the message
    keeps those bytes instead once none of its deliveries is pending. ``KeyError`` if the
    delivery is not pending."""

    delivery_id: int
    now: datetime
    scrubbed: bytes | None = None

    def __post_init__(self) -> None:
        _check_aware(self.now)


@dataclass(frozen=True)
class RetryLater(Write[bool]):
    """Record a failed attempt and schedule the next one, as the backend's retry policy says;
    the result is ``False`` if that was the last attempt the policy allows, in which case the
    delivery is now failed. ``KeyError`` if the delivery is not pending."""

    delivery_id: int
    error: str
    now: datetime

    def __post_init__(self) -> None:
        _check_aware(self.now)


@dataclass(frozen=True)
class Fail(Write[int | None]):
    """Give up a delivery for good (the peer refused it); the address's next one is due.
    With ``notice`` (the report telling the APDU's sender, an ISO 18626 peer's ERROR
    Confirmation as ISO 10161 says it), that is queued in the same transaction, in the
    delivered message's transaction. The result is the notice's message id, if any.
    ``KeyError`` if the delivery is not pending."""

    delivery_id: int
    error: str
    now: datetime
    notice: Notice | None = None

    def __post_init__(self) -> None:
        _check_aware(self.now)
        if self.notice is not None:
            _check_addresses(self.notice.addresses)


@dataclass(frozen=True)
class Resend(Write[int]):
    """An operator's: make a message's failed deliveries (all of them if none failed) pending
    and due ``now``, with a fresh count of attempts. The result is how many; ``KeyError`` for
    an unknown id."""

    message_id: int
    now: datetime

    def __post_init__(self) -> None:
        _check_aware(self.now)


@dataclass(frozen=True)
class Release(Write[int]):
    """An operator's: queue a held message for delivery to each address, due ``now``. The
    result is how many deliveries; ``KeyError`` for an unknown id, ``ValueError`` if the
    message is not held."""

    message_id: int
    addresses: Sequence[str]
    now: datetime

    def __post_init__(self) -> None:
        _check_aware(self.now)
        _check_addresses(self.addresses)


@dataclass(frozen=True)
class Refuse(Write[int | None]):
    """An operator's: refuse a held message for good, keeping the reason, and queue
    ``notice`` (the report telling the sender) with it in the same transaction. The result is
    the report's message id, if any; ``KeyError`` for an unknown id, ``ValueError`` if the
    message is not held."""

    message_id: int
    reason: str
    now: datetime
    notice: Notice | None = None

    def __post_init__(self) -> None:
        _check_aware(self.now)
        if self.notice is not None:
            _check_addresses(self.notice.addresses)


def _check_aware(moment: datetime) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware UTC time")


def _check_addresses(addresses: Sequence[str]) -> None:
    if isinstance(addresses, str) or not addresses:
        raise ValueError(f"need a list of addresses, got {addresses!r}")
