"""The values the store returns: what is due, what a write stored, and what operators see.
Plain frozen data, whatever backend holds the rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from isoill.core.views import TransactionRecord

#: Filters of :meth:`isoill.store.backend.Backend.list_messages`.
MESSAGE_STATES = ("pending", "failed", "delivered", "unroutable", "held", "refused")

#: The ``peer`` of the messages the gateway itself sends, such as the report of a refusal.
GATEWAY_PEER = "isoill"


@dataclass(frozen=True)
class Delivery:
    """One APDU due to be sent to one address; ``ber`` is the bytes exactly as received;
    ``xml``, the message's ISO 18626 form (what an ISO 18626 address is sent), if it has one."""

    id: int
    message_id: int
    address: str
    ber: bytes
    attempts: int
    apdu_type: str
    target_symbol: str | None
    received_at: datetime
    xml: bytes | None = None


@dataclass(frozen=True)
class Queued:
    """A delivery just stored, and the pending delivery to its address that it must follow
    (``None``: none was pending there)."""

    delivery: Delivery
    after: int | None


@dataclass(frozen=True)
class Stored:
    """What an :class:`~isoill.store.writes.Accept` stored: the message's id, and its
    transaction as that write left it."""

    message_id: int
    transaction: TransactionRecord
    dedup_key: str | None
    held: bool
    deliveries: tuple[Queued, ...] = ()
    """One per address, for the forwarder to take at once (see :mod:`isoill.service.handoff`)."""


@dataclass(frozen=True)
class Duplicate:
    """What an :class:`~isoill.store.writes.Accept` stored instead: nothing, because the
    message ``existing_id``, not refused, has the same ``dedup_key`` (the store's unique index
    refused the second one)."""

    existing_id: int


@dataclass(frozen=True)
class Conflict:
    """What an :class:`~isoill.store.writes.Accept` stored instead: nothing, because its
    transaction was not at the version the APDU was judged against (``expected_version``):
    another process sharing the store moved it on, or created it, meanwhile. The APDU is to
    be judged again against the transaction as it now is. Only a shared backend
    (``Capabilities(shared=True)``) results in one."""

    transaction_key: str


@dataclass(frozen=True)
class Failed:
    """The exception one write of a group commit raised (that write alone was undone)."""

    error: Exception


@dataclass(frozen=True)
class DeliveryView:
    """What an operator sees of one delivery."""

    address: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class MessageView:
    """What an operator sees of one stored APDU: everything but its bytes (``xml_size``:
    the size of its ISO 18626 form, if it has one)."""

    id: int
    received_at: datetime
    peer: str
    apdu_type: str
    transaction_key: str | None
    target_symbol: str | None
    size: int
    reason: str | None
    state: str
    deliveries: tuple[DeliveryView, ...]
    xml_size: int | None = None


@dataclass(frozen=True)
class HeldMessage:
    """A held APDU, as an operator's release or refusal needs it."""

    id: int
    transaction_key: str | None
    target_symbol: str | None
    ber: bytes


@dataclass(frozen=True)
class Notice:
    """An APDU the gateway itself sends to a party (a report), queued like an accepted one."""

    apdu_type: str
    target_symbol: str
    ber: bytes
    addresses: Sequence[str]
