"""What the gateway knows of a transaction when it judges the transaction's next APDU: values
the store returns, with no I/O of their own (the core never imports the store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


# A dataclass made on every APDU writes its __init__ out (init=False): compiled by mypyc, the
# one dataclasses generates stays Python, some fourteen times the cost (docs/performance.md).
# tests/test_build.py holds each to its fields.
@dataclass(frozen=True, init=False)
class TransactionRecord:
    """One transaction, keyed by its whole transaction-id (``key``); ``id`` is for operators.

    The states are those of the requester's and the responder's protocol machine, by name
    (``"PENDING"``); ``None`` until the gateway tracks them. The parties are those its first
    APDUs named; only a Forward-Notification moves the responder, and its sender is kept
    among the ``intermediaries``.

    ``version`` counts the APDUs stored in it, in a store several processes share: a write
    judged against this record names it, and the store refuses the write if the record has
    moved on since. A store one process writes keeps none (``0``).

    ``bridge`` is the transaction's ISO 18626 side, for a transaction with one: the JSON text
    of :meth:`isoill.bridge.state.Bridged.to_json` (``None``: none), which the core reads.
    """

    id: int
    key: str
    requester_symbol: str | None
    responder_symbol: str | None
    requester_state: str | None
    responder_state: str | None
    created_at: datetime
    updated_at: datetime
    intermediaries: tuple[str, ...] = ()
    version: int = 0
    bridge: str | None = None

    def __init__(
        self,
        id: int,
        key: str,
        requester_symbol: str | None,
        responder_symbol: str | None,
        requester_state: str | None,
        responder_state: str | None,
        created_at: datetime,
        updated_at: datetime,
        intermediaries: tuple[str, ...] = (),
        version: int = 0,
        bridge: str | None = None,
    ) -> None:
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "requester_symbol", requester_symbol)
        object.__setattr__(self, "responder_symbol", responder_symbol)
        object.__setattr__(self, "requester_state", requester_state)
        object.__setattr__(self, "responder_state", responder_state)
        object.__setattr__(self, "created_at", created_at)
        object.__setattr__(self, "updated_at", updated_at)
        object.__setattr__(self, "intermediaries", intermediaries)
        object.__setattr__(self, "version", version)
        object.__setattr__(self, "bridge", bridge)


@dataclass
class TransactionView:
    """What the gateway checks each APDU of a transaction against: the transaction's record
    (``None``: not stored yet) and the ``dedup_key`` of each of its messages that are not
    refused, with the message's id and whether it is held. Mutable: the store's front keeps
    it in memory and applies each write's effect to it."""

    record: TransactionRecord | None
    duplicates: dict[str, tuple[int, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class Forward:
    """What a Forward-Notification changes in its transaction: the new ``responder``, and the
    ``intermediary`` that forwarded the request."""

    responder: str
    intermediary: str
