"""The store's port: what the gateway, the forwarder and the operators' commands ask of a
store, whatever holds it. A backend (SQLite, in :mod:`isoill.store.sqlite`; PostgreSQL, in
:mod:`isoill.store.postgres`) implements :class:`Backend`; its guarantees are those of
:mod:`isoill.store`, and ``tests/store/`` holds every backend to them.

A backend is synchronous, and one backend object belongs to the thread that opened it: the
daemon runs its calls on one worker thread (:class:`isoill.store.group.GroupWriter`), the
commands call it directly.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from isoill.core.views import TransactionRecord, TransactionView
from isoill.store.records import Delivery, Failed, HeldMessage, MessageView
from isoill.store.writes import Write, WriteResult

R = TypeVar("R")

#: How long a write waits for a lock another connection holds before it fails (``busy``).
BUSY_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond the port's promises. ``shared``: several processes (more
    than one gateway) may take writes into the same store at once (see ``docs/store.md`` for
    what that asks of a backend). SQLite's is not: one daemon writes, the commands beside it.
    PostgreSQL's is."""

    shared: bool


class Backend(Protocol):
    """A store: writes (:mod:`isoill.store.writes`) committed durably, and the queries of the
    gateway (per APDU), of the forwarder (per poll) and of operators."""

    @property
    def capabilities(self) -> Capabilities: ...

    def commit(self, write: Write[R]) -> R:
        """Carry out one write in a transaction of its own; durable when this returns."""
        ...

    def commit_all(self, writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        """Group commit: several writes in one transaction, each undone alone if it fails, and
        one commit; everything stored is durable when this returns.

        Returns, for each write in order, its result, or :class:`Failed` with the exception it
        raised (then it alone was undone, and the others are stored all the same). Raises if
        the transaction as a whole fails (it could not begin or commit, or the database undid
        it, as SQLite may when the disk is full): then nothing of it is stored.
        """
        ...

    def view(self, transaction_key: str) -> TransactionView:
        """The transaction's record and its messages' duplicate keys, for the checks of its
        next APDU: index seeks, and one row per message of the transaction."""
        ...

    def transaction(self, transaction_key: str) -> TransactionRecord | None:
        """The transaction with this key, if the gateway has stored an APDU of it."""
        ...

    def find_duplicate(self, dedup_key: str) -> int | None:
        """The id of the message stored earlier with this ``dedup_key``, unless it was refused."""
        ...

    def last_service(self, transaction_key: str) -> tuple[str, datetime] | None:
        """The type and time of the newest APDU of a transaction that the gateway accepted
        (held included; refused and unroutable ones left out)."""
        ...

    def due(
        self,
        now: datetime,
        limit: int = 100,
        per_address: int = 1,
        exclude: Collection[str] = (),
    ) -> list[Delivery]:
        """Deliveries to send now: the head of each address's queue, if its time has come,
        for up to ``limit`` addresses (but none in ``exclude``), oldest due first; and behind
        each head the deliveries that follow it to that address and are due too, up to
        ``per_address`` in all, in the order they must be sent (each only once the one before
        it is delivered)."""
        ...

    def next_due_at(self, now: datetime) -> datetime | None:
        """When :meth:`due` next has work: ``now`` if it has some already, ``None`` if idle."""
        ...

    def counts(self) -> dict[str, int]:
        """Queue depth for metrics: deliveries ``pending`` and ``failed``, messages
        ``unroutable`` and ``held``; cheap while the queue is short (delivered ones are not
        counted: that would read the whole history on every call)."""
        ...

    def list_messages(
        self,
        state: str | None = None,
        limit: int = 100,
        *,
        peer: str | None = None,
        apdu_type: str | None = None,
    ) -> list[MessageView]:
        """The newest messages, optionally only those in one of
        :data:`~isoill.store.records.MESSAGE_STATES` (``ValueError`` for another state), from
        or to ``peer`` (regardless of case), of ``apdu_type``."""
        ...

    def list_transactions(
        self,
        state: str | None = None,
        peer: str | None = None,
        limit: int = 50,
        *,
        qualifier: str | None = None,
    ) -> list[TransactionRecord]:
        """The newest transactions; ``state`` matches either machine's state and ``peer``
        either party's symbol, both regardless of case; ``qualifier`` the transaction-id's
        transaction-qualifier exactly."""
        ...

    def traffic(self, since: datetime, step: timedelta, steps: int) -> list[int]:
        """How many messages were received in each of ``steps`` periods of ``step`` from
        ``since`` (the console's chart): cheap, an index range of that time."""
        ...

    def apdu(self, message_id: int) -> bytes:
        """A stored message's bytes (as kept: without a sender's login); ``KeyError`` for an
        unknown id."""
        ...

    def xml(self, message_id: int) -> bytes | None:
        """A stored message's ISO 18626 form (``None``: it has none); ``KeyError`` for an
        unknown id."""
        ...

    def transaction_history(
        self, transaction_id: int
    ) -> tuple[TransactionRecord, list[MessageView]]:
        """A transaction by its id, and every message of it, oldest first, with their
        deliveries; ``KeyError`` for an unknown id."""
        ...

    def held(self, message_id: int) -> HeldMessage:
        """A held message, with its bytes; ``KeyError`` for an unknown id, ``ValueError`` if
        the message is not held."""
        ...

    @property
    def changes(self) -> int:
        """A count that grows with the rows this backend object has inserted, updated or
        deleted since it was opened (whether a call changed the store is what matters)."""
        ...

    def changed_elsewhere(self) -> bool:
        """Whether another connection (another process: ``isoill queue release``, say) has
        committed a change since the last call. A shared backend, which cannot tell at no
        cost, says ``False``: its writes check what others changed (``Duplicate``,
        ``Conflict``)."""
        ...

    def close(self) -> None: ...
