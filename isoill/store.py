"""The durable store-and-forward queue: every accepted APDU, kept in SQLite until delivered,
and the transactions the APDUs belong to.

The gateway stores an APDU before it acknowledges it. :meth:`Store.accept` writes the message,
one delivery per target address and its transaction (parties, and the states of the
requester's and the responder's protocol machine) in one SQLite transaction and commits it
with ``synchronous=FULL`` before returning, so an acknowledged APDU survives a crash or a power
cut. An ILL-Request from a requester the gateway does not know is kept instead by
:meth:`Store.accept_held`, without deliveries, until an operator releases it
(:meth:`Store.release` adds them) or refuses it (:meth:`Store.refuse`); an APDU the gateway
refuses is kept by :meth:`Store.record_refused` for the transaction's history. The forwarder
then asks :meth:`Store.due` for work, sends each APDU's stored bytes unchanged, and reports the
outcome with :meth:`Store.delivered`, :meth:`Store.retry_later` or :meth:`Store.failed`.

Each of those writes is defined once as a :data:`Write` (``accept_write``, ``delivered_write``,
...): the change, not yet committed; the plain name (``accept``) commits it alone and returns
its result (for ``accept``, a :class:`Stored`). :meth:`Store.commit_all` commits several in
one SQLite transaction (a group commit), each in its own savepoint, so that one that fails
(a duplicate refused by the unique index, say) is undone alone and the others are stored.
The daemon goes through :class:`isoill.groupwriter.GroupWriter`, the store's asyncio front: it
runs everything on the store's one thread, writes what arrived while the previous commit was
being made together in the next one, and keeps the transactions' records in memory for the
checks each APDU needs (see there). This module imports neither asyncio nor the metrics, so
that the commands that read the store (``isoill queue``, ``isoill tx``) start at once.

A transaction is keyed by its whole transaction-id (the gateway's ``transaction_key``); its
``id`` (the row's) is for operators: :meth:`Store.list_transactions` and
:meth:`Store.transaction_history`.

Guarantees:

- Nothing acknowledged is lost, and nothing is dropped silently: an APDU that cannot be routed
  is kept as ``unroutable``, one whose retries run out is kept as ``failed``, and operators can
  list and resend both; a refused one is kept as ``refused``, with the reason. A write is
  durable when the commit that holds it has returned, and only then does its caller (the
  acknowledgement) go on, whether it was committed alone or in a group.
- Per-address order: a delivery is due only while it is the oldest pending delivery for its
  address, so a later APDU never overtakes an earlier one on the way to the same address.
  Each address has its own queue; during an address change the old and the new address of a
  peer progress independently.
- An APDU received twice is stored once: the gateway passes each APDU's ``dedup_key`` and asks
  :meth:`Store.find_duplicate` (or :meth:`~isoill.groupwriter.GroupWriter.duplicate`) first; a
  unique index refuses a second message with the same key (but a refused message's key may
  come again).
- At-least-once on the wire: a delivery becomes ``delivered`` only when the forwarder says so.
  If the process dies after sending and before :meth:`Store.delivered` commits, the APDU is
  sent again after the restart.
- Every query the gateway and the forwarder make per APDU is an index seek: their cost does
  not grow with the number of stored messages or transactions.

Times are aware UTC ``datetime`` values passed in by the caller (tests control the clock) and
are stored as integer microseconds since the Unix epoch. :class:`Store` does no I/O beyond
SQLite and nothing asynchronous; every call is short. A ``Store`` belongs to the thread that
opened it; other processes (the ``isoill queue`` and ``isoill tx`` commands) may open the same
file at the same time.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeAlias, TypeVar

from isoill import private

SCHEMA_VERSION = 4
#: How long a statement waits for a lock another connection holds before it fails (``busy``).
BUSY_TIMEOUT_SECONDS = 10.0

#: Filters of :meth:`Store.list_messages`.
MESSAGE_STATES = ("pending", "failed", "delivered", "unroutable", "held", "refused")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_MESSAGE_COLUMNS = (
    "id, received_at, peer, apdu_type, transaction_key, target_symbol, ber, state, reason"
)
_MESSAGES_BY_TRANSACTION = (
    "CREATE INDEX IF NOT EXISTS messages_transaction ON messages (transaction_key, id)"
)
# The transaction's id is its rowid, aliased by an INTEGER PRIMARY KEY so that VACUUM keeps it.
_TRANSACTIONS = """CREATE TABLE IF NOT EXISTS transactions (
        id INTEGER PRIMARY KEY,
        transaction_key TEXT NOT NULL UNIQUE,
        requester_symbol TEXT,
        responder_symbol TEXT,
        requester_state TEXT,
        responder_state TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        intermediaries TEXT
    )"""
_TRANSACTION_COLUMNS = (
    "id, transaction_key, requester_symbol, responder_symbol, requester_state,"
    " responder_state, created_at, updated_at, intermediaries"
)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        peer TEXT NOT NULL,
        apdu_type TEXT NOT NULL,
        transaction_key TEXT,
        target_symbol TEXT,
        ber BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('accepted', 'unroutable', 'held', 'refused')),
        reason TEXT,
        dedup_key TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS deliveries (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages (id),
        address TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_attempt_at INTEGER,
        last_error TEXT,
        delivered_at INTEGER
    )""",
    _TRANSACTIONS,
    "CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (state, address, id)",
    "CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries (message_id, state)",
    "CREATE INDEX IF NOT EXISTS messages_state ON messages (state)",
    _MESSAGES_BY_TRANSACTION,
    # The safety net under find_duplicate: one APDU is stored once. A refused message steps
    # aside, so that the same APDU sent again after its refusal is judged anew.
    "CREATE UNIQUE INDEX IF NOT EXISTS messages_dedup ON messages (dedup_key)"
    " WHERE dedup_key IS NOT NULL AND state <> 'refused'",
    # list_transactions' filters; each index ends in the rowid, so newest first is a walk.
    "CREATE INDEX IF NOT EXISTS transactions_requester"
    " ON transactions (requester_symbol COLLATE NOCASE)",
    "CREATE INDEX IF NOT EXISTS transactions_responder"
    " ON transactions (responder_symbol COLLATE NOCASE)",
    "CREATE INDEX IF NOT EXISTS transactions_requester_state"
    " ON transactions (requester_state COLLATE NOCASE)",
    "CREATE INDEX IF NOT EXISTS transactions_responder_state"
    " ON transactions (responder_state COLLATE NOCASE)",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)

# Upgrades from each older version to the next, run in one transaction before _SCHEMA (which
# then adds the new indexes). Each is frozen: the current schema may change, they may not.
#
# Version 1 lacked the message state 'refused', and SQLite cannot alter a CHECK constraint: the
# messages table is rebuilt and renamed into place, with foreign keys off so that dropping the old
# table leaves the deliveries that reference it alone (the SQLite manual's ALTER TABLE recipe).
_UPGRADE_FROM_1 = (
    """CREATE TABLE messages_v2 (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        peer TEXT NOT NULL,
        apdu_type TEXT NOT NULL,
        transaction_key TEXT,
        target_symbol TEXT,
        ber BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('accepted', 'unroutable', 'held', 'refused')),
        reason TEXT
    )""",
    f"INSERT INTO messages_v2 ({_MESSAGE_COLUMNS}) SELECT {_MESSAGE_COLUMNS} FROM messages",
    "DROP TABLE messages",
    "ALTER TABLE messages_v2 RENAME TO messages",
)
# Version 3 added the messages' dedup_key, and the transactions' states, creation time and an
# id that VACUUM cannot renumber (a rebuild: a column cannot become the rowid's alias). Each
# transaction keeps its rowid as id, and was created when its first message was received.
_UPGRADE_FROM_2 = (
    "ALTER TABLE messages ADD COLUMN dedup_key TEXT",
    _MESSAGES_BY_TRANSACTION,
    """CREATE TABLE transactions_v3 (
        id INTEGER PRIMARY KEY,
        transaction_key TEXT NOT NULL UNIQUE,
        requester_symbol TEXT,
        responder_symbol TEXT,
        requester_state TEXT,
        responder_state TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )""",
    "INSERT INTO transactions_v3 (id, transaction_key, requester_symbol, responder_symbol,"
    " created_at, updated_at) SELECT rowid, transaction_key, requester_symbol,"
    " responder_symbol, coalesce((SELECT received_at FROM messages AS m"
    " WHERE m.transaction_key = t.transaction_key ORDER BY m.id LIMIT 1), updated_at),"
    " updated_at FROM transactions AS t",
    "DROP TABLE transactions",
    "ALTER TABLE transactions_v3 RENAME TO transactions",
)
# Version 4 added the intermediaries a transaction was forwarded through (a JSON array of
# their symbols; NULL for none).
_UPGRADE_FROM_3 = ("ALTER TABLE transactions ADD COLUMN intermediaries TEXT",)
_UPGRADES = {1: _UPGRADE_FROM_1, 2: _UPGRADE_FROM_2, 3: _UPGRADE_FROM_3}

# The head of each address's queue: its oldest pending delivery. A GROUP BY over the pending
# deliveries would read every one of them, a million during a long outage. Instead this walks
# the (state, address, id) index as a loose index scan: the first pending entry, then for each
# head one index seek to the first pending entry of the next greater address. The cost is one
# seek per address with pending work, whatever the number of rows behind each head.
_HEADS = """
WITH RECURSIVE heads (id, address, next_attempt_at) AS (
    SELECT id, address, next_attempt_at FROM deliveries
     WHERE id = (SELECT id FROM deliveries WHERE state = 'pending' ORDER BY address, id LIMIT 1)
    UNION ALL
    SELECT d.id, d.address, d.next_attempt_at FROM heads, deliveries AS d
     WHERE d.id = (SELECT n.id FROM deliveries AS n
                    WHERE n.state = 'pending' AND n.address > heads.address
                    ORDER BY n.address, n.id LIMIT 1)
)
"""

# The due heads, oldest due first, and behind each the next pending deliveries to its address
# (up to :run, in order): each an index seek from its address in the deliveries_queue index.
_DUE = (
    _HEADS
    + """
SELECT d.id, d.message_id, d.address, m.ber, d.attempts, m.apdu_type, m.target_symbol,
       m.received_at, d.next_attempt_at
  FROM (SELECT id, address, next_attempt_at FROM heads WHERE next_attempt_at <= :now
           AND address NOT IN (SELECT value FROM json_each(:exclude))
         ORDER BY next_attempt_at, id LIMIT :limit) AS h
  JOIN deliveries AS d ON d.id IN (SELECT n.id FROM deliveries AS n
                                    WHERE n.state = 'pending' AND n.address = h.address
                                    ORDER BY n.id LIMIT :run)
  JOIN messages AS m ON m.id = d.message_id
 ORDER BY h.next_attempt_at, h.id, d.id
"""
)

_NEXT_DUE = _HEADS + "SELECT min(next_attempt_at) FROM heads"

# WHERE clauses of list_messages, one per filter, for a walk over the newest messages that
# stops at the limit. Pending and delivered messages are the newest ones (the queue is first in,
# first out), so their walks stop early; failed ones are few and old, so that filter starts from
# the failed deliveries in the deliveries_queue index instead.
_PENDING = (
    "EXISTS (SELECT 1 FROM deliveries AS d WHERE d.message_id = m.id AND d.state = 'pending')"
)
_MESSAGE_FILTERS = {
    None: "",
    "pending": f"WHERE {_PENDING}",
    "failed": "WHERE m.id IN (SELECT message_id FROM deliveries WHERE state = 'failed')"
    f" AND NOT {_PENDING}",
    "delivered": "WHERE m.state = 'accepted' AND NOT EXISTS (SELECT 1 FROM deliveries AS d"
    " WHERE d.message_id = m.id AND d.state <> 'delivered')",
    "unroutable": "WHERE m.state = 'unroutable'",
    "held": "WHERE m.state = 'held'",
    "refused": "WHERE m.state = 'refused'",
}

_MESSAGE_VIEW_COLUMNS = (
    "m.id, m.received_at, m.peer, m.apdu_type, m.transaction_key, m.target_symbol,"
    " length(m.ber), m.reason, m.state"
)

# list_transactions with a filter on either party (or either machine's state): the newest
# matches of each party, each a walk down its index that stops at the limit, merged. With both
# filters, the walks over a peer's transactions skip those in other states.
_EITHER = f"""
SELECT {_TRANSACTION_COLUMNS} FROM transactions WHERE id IN (
    SELECT id FROM (SELECT id FROM transactions
                     WHERE requester_{{field}} = :{{field}} COLLATE NOCASE {{also}}
                     ORDER BY id DESC LIMIT :limit)
    UNION ALL
    SELECT id FROM (SELECT id FROM transactions
                     WHERE responder_{{field}} = :{{field}} COLLATE NOCASE {{also}}
                     ORDER BY id DESC LIMIT :limit)
) ORDER BY id DESC LIMIT :limit
"""
_EITHER_STATE = (
    "AND (requester_state = :state COLLATE NOCASE OR responder_state = :state COLLATE NOCASE)"
)

_COUNTS = """
SELECT (SELECT count(*) FROM deliveries WHERE state = 'pending'),
       (SELECT count(*) FROM deliveries WHERE state = 'failed'),
       (SELECT count(*) FROM messages WHERE state = 'unroutable'),
       (SELECT count(*) FROM messages WHERE state = 'held')
"""


#: The ``peer`` of the messages the gateway itself sends, such as the report of a refusal.
GATEWAY_PEER = "isoill"


class StoreError(Exception):
    """The database cannot be used as a queue (for example, written by a newer isoill)."""


# The faults a peer is told of, by SQLite's primary result code; they pass when the disk has
# room again, the other process lets go of its lock, the disk is mended.
_FAULTS = {
    sqlite3.SQLITE_FULL: "its disk is full",
    sqlite3.SQLITE_BUSY: "its store is locked by another process",
    sqlite3.SQLITE_LOCKED: "its store is locked",
    sqlite3.SQLITE_IOERR: "its disk failed (I/O error)",
}


def fault(error: Exception) -> str:
    """What kept the store from taking a write, in a few words for the peer refused."""
    code = getattr(error, "sqlite_errorcode", None)
    return _FAULTS.get(code & 0xFF, "a store error") if code is not None else "a store error"


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed delivery is tried again, and when it is given up.

    After the n-th failed attempt the next one waits ``first_delay * factor ** (n - 1)``.
    The defaults try at 0, 5, 15 and 35 minutes and then mark the delivery failed: four
    attempts within an hour, as ILLiad does. A policy whose last attempt would fall outside
    ``window`` is refused.
    """

    max_attempts: int = 4
    window: timedelta = timedelta(hours=1)
    first_delay: timedelta = timedelta(minutes=5)
    factor: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.first_delay <= timedelta(0) or self.factor < 1:
            raise ValueError(f"invalid retry policy {self}")
        last = sum((self.delay(n) for n in range(1, self.max_attempts)), timedelta(0))
        if last > self.window:
            raise ValueError(
                f"attempt {self.max_attempts} would come {last} after the first,"
                f" outside the window of {self.window}"
            )

    def delay(self, failed_attempts: int) -> timedelta:
        """How long to wait after ``failed_attempts`` failures before trying again."""
        return self.first_delay * self.factor ** (failed_attempts - 1)


@dataclass(frozen=True)
class Delivery:
    """One APDU due to be sent to one address; ``ber`` is the bytes exactly as received."""

    id: int
    message_id: int
    address: str
    ber: bytes
    attempts: int
    apdu_type: str
    target_symbol: str | None
    received_at: datetime


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
    """What an operator sees of one stored APDU: everything but its bytes."""

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


@dataclass(frozen=True)
class TransactionRecord:
    """One transaction, keyed by its whole transaction-id (``key``); ``id`` is for operators.

    The states are those of the requester's and the responder's protocol machine, by name
    (``"PENDING"``); ``None`` until the gateway tracks them. The parties are those its first
    APDUs named; only a Forward-Notification moves the responder, and its sender is kept
    among the ``intermediaries``.
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


@dataclass(frozen=True)
class Forward:
    """What a Forward-Notification changes in its transaction: the new ``responder``, and the
    ``intermediary`` that forwarded the request."""

    responder: str
    intermediary: str


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


T = TypeVar("T")

#: A change to the store not yet committed: run on the store's connection inside a write
#: transaction (by :meth:`Store.commit` alone, or with others by :meth:`Store.commit_all`). It
#: is built on the caller's thread (which checks its arguments) and runs on the store's.
Write: TypeAlias = Callable[[sqlite3.Connection], T]


P = ParamSpec("P")


def _committed(
    write: Callable[Concatenate[Store, P], Write[T]],
) -> Callable[Concatenate[Store, P], T]:
    """The committing form of a ``*_write`` method (``accept`` of ``accept_write``): it commits
    that one write alone and returns its result, durable when it returns."""

    def committed(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.commit(write(self, *args, **kwargs))

    committed.__doc__ = f"Commit :meth:`{write.__name__}` alone; durable when this returns."
    return committed


@dataclass(frozen=True)
class Stored:
    """What :meth:`Store.accept_write` and :meth:`Store.accept_held_write` stored: the
    message's id, and its transaction as that write left it."""

    message_id: int
    transaction: TransactionRecord
    dedup_key: str | None
    held: bool
    deliveries: tuple[Queued, ...] = ()
    """One per address, for the forwarder to take at once (see :mod:`isoill.handoff`)."""


@dataclass(frozen=True)
class Queued:
    """A delivery just stored, and the pending delivery to its address that it must follow
    (``None``: none was pending there)."""

    delivery: Delivery
    after: int | None


@dataclass(frozen=True)
class Failed:
    """The exception one write of a group commit raised (that write alone was undone)."""

    error: Exception


@dataclass
class Known:
    """What the gateway checks each APDU of a transaction against: the transaction's record
    (``None``: not stored yet) and the ``dedup_key`` of each of its messages that are not
    refused, with the message's id and whether it is held."""

    record: TransactionRecord | None
    duplicates: dict[str, tuple[int, bool]] = field(default_factory=dict)


def _check_addresses(addresses: Sequence[str]) -> None:
    if isinstance(addresses, str) or not addresses:
        raise ValueError(f"need a list of addresses, got {addresses!r}")


def _message_state(stored_state: str, deliveries: Sequence[DeliveryView]) -> str:
    """One of MESSAGE_STATES: pending while any delivery is pending, failed when any failed
    and none is pending, delivered when all were delivered."""
    if stored_state != "accepted":
        return stored_state
    states = {delivery.state for delivery in deliveries}
    for state in ("pending", "failed"):
        if state in states:
            return state
    return "delivered"


def _transaction_record(row: tuple[Any, ...]) -> TransactionRecord:
    """A row of :data:`_TRANSACTION_COLUMNS`."""
    return TransactionRecord(
        id=row[0],
        key=row[1],
        requester_symbol=row[2],
        responder_symbol=row[3],
        requester_state=row[4],
        responder_state=row[5],
        created_at=_moment(row[6]),
        updated_at=_moment(row[7]),
        intermediaries=tuple(json.loads(row[8])) if row[8] else (),
    )


def _micros(moment: datetime) -> int:
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware UTC time")
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _optional_moment(micros: int | None) -> datetime | None:
    return None if micros is None else _moment(micros)


class Store:
    """The queue in one SQLite file (``":memory:"`` for tests)."""

    def __init__(
        self,
        path: Path | str,
        policy: RetryPolicy | None = None,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.policy = policy or RetryPolicy()
        if str(path) != ":memory:":
            private.touch(Path(path))  # SQLite gives -wal and -shm the same mode
        self._db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            self._configure()
            self._create_schema()
            # The savepoint of each write in a group commit keeps the pages it changes in a
            # statement journal: in memory, not in a temporary file (a third of the cost of a
            # write otherwise). After the schema's upgrade, whose table copies could be large.
            self._db.execute("PRAGMA temp_store = MEMORY")
            self._data_version: int = self._db.execute("PRAGMA data_version").fetchone()[0]
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def _configure(self) -> None:
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")

    def _create_schema(self) -> None:
        """Create the tables, or bring an older version's up to date, in one transaction."""
        # Only takes effect outside a transaction; the upgrades' table rebuilds need it off.
        self._db.execute("PRAGMA foreign_keys = OFF")
        with self._write() as db:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise StoreError(f"queue schema {version} is newer than {SCHEMA_VERSION}")
            for older in range(version, SCHEMA_VERSION) if version else ():  # 0: new file
                for statement in _UPGRADES[older]:
                    db.execute(statement)
            if version == 1 and db.execute("PRAGMA foreign_key_check").fetchone() is not None:
                raise StoreError("schema upgrade lost a message that deliveries refer to")
            for statement in _SCHEMA:
                db.execute(statement)
        self._db.execute("PRAGMA foreign_keys = ON")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (and synced) on leaving, rolled back on error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # SQLite may have rolled back already (disk full)
                self._db.execute("ROLLBACK")
            raise

    def commit(self, write: Write[T]) -> T:
        """Run one write in a transaction of its own; durable when this returns."""
        with self._write() as db:
            return write(db)

    def commit_all(self, writes: Sequence[Write[Any]]) -> list[Any]:
        """Group commit: run several writes in one transaction, each in a savepoint of its own,
        and commit once; everything stored is durable when this returns.

        Returns, for each write in order, its result, or :class:`Failed` with the exception it
        raised, in which case its savepoint was rolled back and the others are stored all the
        same. Raises if the transaction as a whole fails (it could not begin or commit, or
        SQLite rolled it back, as it may when the disk is full): then nothing of it is stored.
        """
        results: list[Any] = []
        with self._write() as db:
            for write in writes:
                db.execute("SAVEPOINT one_write")
                try:
                    result = write(db)
                except Exception as error:
                    if not db.in_transaction:
                        raise  # SQLite rolled back the whole transaction: every write failed
                    db.execute("ROLLBACK TO one_write")
                    db.execute("RELEASE one_write")
                    results.append(Failed(error))
                else:
                    db.execute("RELEASE one_write")
                    results.append(result)
        return results

    @property
    def changes(self) -> int:
        """Rows this connection has inserted, updated or deleted since it was opened."""
        return self._db.total_changes

    def changed_elsewhere(self) -> bool:
        """Whether another connection (another process: ``isoill queue release``, say) has
        committed a change since the last call (``PRAGMA data_version``)."""
        (version,) = self._db.execute("PRAGMA data_version").fetchone()
        changed = bool(version != self._data_version)
        self._data_version = version
        return changed

    # -- intake ---------------------------------------------------------------------------

    def accept_write(
        self,
        *,
        peer: str,
        apdu_type: str,
        transaction_key: str,
        target_symbol: str | None,
        ber: bytes,
        addresses: Sequence[str],
        requester_symbol: str | None,
        responder_symbol: str | None,
        now: datetime,
        dedup_key: str | None = None,
        states: tuple[str, str] | None = None,
        forward: Forward | None = None,
    ) -> Write[Stored]:
        """Store an APDU for delivery to each address. The result tells the message's id and
        the transaction as stored.

        With the message, in the same SQLite transaction: the transaction's parties (a party
        known already stays: only ``forward``, a Forward-Notification's, moves the
        responder), ``states`` (requester's, responder's) if given, and ``dedup_key``, which
        :meth:`find_duplicate` looks up. A second message with the
        same ``dedup_key`` raises :class:`sqlite3.IntegrityError` and stores nothing.
        """
        _check_addresses(addresses)
        _micros(now)  # a naive time is refused here, not in the group commit

        def write(db: sqlite3.Connection) -> Stored:
            message_id = self._insert_message(
                db,
                now,
                peer,
                apdu_type,
                transaction_key,
                target_symbol,
                ber,
                "accepted",
                None,
                dedup_key,
            )
            queued = tuple(
                Queued(
                    Delivery(number, message_id, address, ber, 0, apdu_type, target_symbol, now),
                    after,
                )
                for address, number, after in self._insert_deliveries(
                    db, message_id, addresses, now
                )
            )
            record = self._record_transaction(
                db, transaction_key, requester_symbol, responder_symbol, states, now, forward
            )
            return Stored(message_id, record, dedup_key, held=False, deliveries=queued)

        return write

    accept = _committed(accept_write)

    def accept_held_write(
        self,
        *,
        peer: str,
        apdu_type: str,
        transaction_key: str,
        target_symbol: str | None,
        ber: bytes,
        requester_symbol: str | None,
        responder_symbol: str | None,
        reason: str,
        now: datetime,
        dedup_key: str | None = None,
        states: tuple[str, str] | None = None,
        forward: Forward | None = None,
    ) -> Write[Stored]:
        """Keep an APDU for an operator to release or refuse, without deliveries yet; the rest
        is as for :meth:`accept_write`."""
        _micros(now)

        def write(db: sqlite3.Connection) -> Stored:
            message_id = self._insert_message(
                db,
                now,
                peer,
                apdu_type,
                transaction_key,
                target_symbol,
                ber,
                "held",
                reason,
                dedup_key,
            )
            record = self._record_transaction(
                db, transaction_key, requester_symbol, responder_symbol, states, now, forward
            )
            return Stored(message_id, record, dedup_key, held=True)

        return write

    accept_held = _committed(accept_held_write)

    def accept_unroutable_write(
        self,
        *,
        peer: str,
        apdu_type: str,
        transaction_key: str | None,
        ber: bytes,
        reason: str,
        now: datetime,
    ) -> Write[int]:
        """Keep an APDU that has nowhere to go, for operators to see; the result is the
        message's id."""
        _micros(now)
        return functools.partial(
            self._insert_message,
            now=now,
            peer=peer,
            apdu_type=apdu_type,
            transaction_key=transaction_key,
            target_symbol=None,
            ber=ber,
            state="unroutable",
            reason=reason,
        )

    accept_unroutable = _committed(accept_unroutable_write)

    def record_refused_write(
        self,
        *,
        peer: str,
        apdu_type: str,
        transaction_key: str,
        target_symbol: str | None,
        ber: bytes,
        reason: str,
        now: datetime,
    ) -> Write[int]:
        """Keep an APDU the gateway refused, never to be delivered, so that its transaction's
        history shows it (its parties and states are left as they are); the result is the
        message's id."""
        _micros(now)
        return functools.partial(
            self._insert_message,
            now=now,
            peer=peer,
            apdu_type=apdu_type,
            transaction_key=transaction_key,
            target_symbol=target_symbol,
            ber=ber,
            state="refused",
            reason=reason,
        )

    record_refused = _committed(record_refused_write)

    @staticmethod
    def _insert_message(
        db: sqlite3.Connection,
        now: datetime,
        peer: str,
        apdu_type: str,
        transaction_key: str | None,
        target_symbol: str | None,
        ber: bytes,
        state: str,
        reason: str | None,
        dedup_key: str | None = None,
    ) -> int:
        cursor = db.execute(
            "INSERT INTO messages (received_at, peer, apdu_type, transaction_key,"
            " target_symbol, ber, state, reason, dedup_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                _micros(now),
                peer,
                apdu_type,
                transaction_key,
                target_symbol,
                ber,
                state,
                reason,
                dedup_key,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @staticmethod
    def _insert_deliveries(
        db: sqlite3.Connection, message_id: int, addresses: Sequence[str], now: datetime
    ) -> list[tuple[str, int, int | None]]:
        """One pending delivery per address: each address, its delivery's id, and the last
        delivery pending there before it (``None``: none was)."""
        inserted = []
        for address in dict.fromkeys(addresses):
            (after,) = db.execute(
                "SELECT max(id) FROM deliveries WHERE state = 'pending' AND address = ?",
                (address,),
            ).fetchone()
            cursor = db.execute(
                "INSERT INTO deliveries (message_id, address, state, next_attempt_at)"
                " VALUES (?, ?, 'pending', ?)",
                (message_id, address, _micros(now)),
            )
            assert cursor.lastrowid is not None
            inserted.append((address, cursor.lastrowid, after))
        return inserted

    @staticmethod
    def _record_transaction(
        db: sqlite3.Connection,
        transaction_key: str,
        requester_symbol: str | None,
        responder_symbol: str | None,
        states: tuple[str, str] | None,
        now: datetime,
        forward: Forward | None = None,
    ) -> TransactionRecord:
        """Create or update a transaction: a party known stays (a ``None`` leaves it
        unknown), but for the responder a ``forward`` moves; a ``None`` state leaves the
        known one. Returns the transaction as it now is."""
        requester_state, responder_state = (None, None) if states is None else states
        moved_to = None if forward is None else forward.responder
        intermediary = None if forward is None else forward.intermediary
        rows = db.execute(
            "INSERT INTO transactions (transaction_key, requester_symbol, responder_symbol,"
            " requester_state, responder_state, created_at, updated_at, intermediaries)"
            " VALUES (:key, :requester, coalesce(:moved_to, :responder), :requester_state,"
            " :responder_state, :now, :now, CASE WHEN :intermediary IS NOT NULL"
            " THEN json_array(:intermediary) END)"
            " ON CONFLICT (transaction_key) DO UPDATE SET"
            " requester_symbol = coalesce(requester_symbol, excluded.requester_symbol),"
            " responder_symbol = coalesce(:moved_to, responder_symbol, excluded.responder_symbol),"
            " requester_state = coalesce(excluded.requester_state, requester_state),"
            " responder_state = coalesce(excluded.responder_state, responder_state),"
            " intermediaries = CASE WHEN :intermediary IS NULL THEN intermediaries"
            " ELSE json_insert(coalesce(intermediaries, '[]'), '$[#]', :intermediary) END,"
            f" updated_at = excluded.updated_at RETURNING {_TRANSACTION_COLUMNS}",
            {
                "key": transaction_key,
                "requester": requester_symbol,
                "responder": responder_symbol,
                "requester_state": requester_state,
                "responder_state": responder_state,
                "now": _micros(now),
                "moved_to": moved_to,
                "intermediary": intermediary,
            },
        ).fetchall()  # all of it: a statement left unfinished would hold up the commit
        return _transaction_record(rows[0])

    def transaction(self, transaction_key: str) -> TransactionRecord | None:
        """The transaction with this key, if the gateway has stored an APDU of it."""
        row = self._db.execute(
            f"SELECT {_TRANSACTION_COLUMNS} FROM transactions WHERE transaction_key = ?",
            (transaction_key,),
        ).fetchone()
        return None if row is None else _transaction_record(row)

    def counterpart(self, transaction_key: str) -> tuple[str | None, str | None]:
        """The (requester, responder) symbols known for a transaction, ``None`` where unknown."""
        record = self.transaction(transaction_key)
        return (
            (None, None) if record is None else (record.requester_symbol, record.responder_symbol)
        )

    def last_service(self, transaction_key: str) -> tuple[str, datetime] | None:
        """The type and time of the newest APDU of a transaction that the gateway accepted
        (held included; refused and unroutable ones left out)."""
        row = self._db.execute(
            "SELECT apdu_type, received_at FROM messages WHERE transaction_key = ?"
            " AND state IN ('accepted', 'held') ORDER BY id DESC LIMIT 1",
            (transaction_key,),
        ).fetchone()
        return None if row is None else (row[0], _moment(row[1]))

    def find_duplicate(self, dedup_key: str) -> int | None:
        """The id of the message stored earlier with this ``dedup_key``, unless it was refused."""
        row = self._db.execute(
            "SELECT id FROM messages WHERE dedup_key = ? AND state <> 'refused'", (dedup_key,)
        ).fetchone()
        return None if row is None else int(row[0])

    def known(self, transaction_key: str) -> Known:
        """The transaction's record and its messages' duplicate keys, for the checks of its
        next APDU (:class:`~isoill.groupwriter.GroupWriter` keeps them): two index seeks, and
        one row per message of the transaction."""
        duplicates = {
            row[1]: (int(row[0]), row[2] == "held")
            for row in self._db.execute(
                "SELECT id, dedup_key, state FROM messages WHERE transaction_key = ?"
                " AND dedup_key IS NOT NULL AND state <> 'refused'",
                (transaction_key,),
            )
        }
        return Known(self.transaction(transaction_key), duplicates)

    # -- forwarding -----------------------------------------------------------------------

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
        values = {
            "now": _micros(now),
            "limit": limit,
            "run": per_address,
            "exclude": json.dumps(list(exclude)),
        }
        rows = self._db.execute(_DUE, values).fetchall()
        deliveries: list[Delivery] = []
        stopped: set[str] = set()  # addresses whose run ends at one not due yet
        for row in rows:
            if row[2] in stopped:
                continue
            if row[8] > _micros(now):  # rescheduled after a retry: it and all behind it wait
                stopped.add(row[2])
                continue
            deliveries.append(
                Delivery(
                    id=row[0],
                    message_id=row[1],
                    address=row[2],
                    ber=row[3],
                    attempts=row[4],
                    apdu_type=row[5],
                    target_symbol=row[6],
                    received_at=_moment(row[7]),
                )
            )
        return deliveries

    def next_due_at(self, now: datetime) -> datetime | None:
        """When :meth:`due` next has work: ``now`` if it has some already, ``None`` if idle."""
        (micros,) = self._db.execute(_NEXT_DUE).fetchone()
        return None if micros is None else max(now, _moment(micros))

    def delivered_write(
        self, delivery_id: int, now: datetime, scrubbed: bytes | None = None
    ) -> Write[None]:
        """The peer took the APDU: the delivery is done and the address's next one is due.
        With ``scrubbed`` (the APDU without a secret it was kept with for this delivery), the
        message keeps those bytes instead once none of its deliveries is pending."""
        values: dict[str, object] = {"now": _micros(now)}

        def write(db: sqlite3.Connection) -> None:
            self._update_pending(
                db,
                delivery_id,
                "state = 'delivered', attempts = attempts + 1, next_attempt_at = NULL,"
                " last_attempt_at = :now, delivered_at = :now",
                values,
            )
            if scrubbed is not None:
                db.execute(
                    "UPDATE messages SET ber = :ber WHERE id = (SELECT message_id FROM"
                    " deliveries WHERE id = :id) AND NOT EXISTS (SELECT 1 FROM deliveries"
                    " WHERE message_id = messages.id AND state = 'pending')",
                    {"ber": scrubbed, "id": delivery_id},
                )

        return write

    delivered = _committed(delivered_write)

    def retry_later_write(self, delivery_id: int, error: str, now: datetime) -> Write[bool]:
        """Record a failed attempt and schedule the next one; the result is ``False`` if that
        was the last attempt the policy allows, in which case the delivery is now failed."""
        _micros(now)

        def write(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT attempts FROM deliveries WHERE id = ? AND state = 'pending'",
                (delivery_id,),
            ).fetchone()
            if row is None:
                raise KeyError(f"no pending delivery {delivery_id}")
            attempts = row[0] + 1
            if attempts >= self.policy.max_attempts:
                self._fail(db, delivery_id, error, now)
                return False
            self._update_pending(
                db,
                delivery_id,
                "attempts = attempts + 1, next_attempt_at = :next, last_attempt_at = :now,"
                " last_error = :error",
                {
                    "next": _micros(now + self.policy.delay(attempts)),
                    "now": _micros(now),
                    "error": error,
                },
            )
            return True

        return write

    retry_later = _committed(retry_later_write)

    def failed_write(self, delivery_id: int, error: str, now: datetime) -> Write[None]:
        """Give up a delivery for good (the peer refused it); the address's next one is due."""
        _micros(now)
        return functools.partial(self._fail, delivery_id=delivery_id, error=error, now=now)

    failed = _committed(failed_write)

    def _fail(self, db: sqlite3.Connection, delivery_id: int, error: str, now: datetime) -> None:
        self._update_pending(
            db,
            delivery_id,
            "state = 'failed', attempts = attempts + 1, next_attempt_at = NULL,"
            " last_attempt_at = :now, last_error = :error",
            {"now": _micros(now), "error": error},
        )

    @staticmethod
    def _update_pending(
        db: sqlite3.Connection, delivery_id: int, assignments: str, values: dict[str, object]
    ) -> None:
        cursor = db.execute(
            f"UPDATE deliveries SET {assignments} WHERE id = :id AND state = 'pending'",
            {**values, "id": delivery_id},
        )
        if cursor.rowcount != 1:
            raise KeyError(f"no pending delivery {delivery_id}")

    # -- operators ------------------------------------------------------------------------

    def list_messages(self, state: str | None = None, limit: int = 100) -> list[MessageView]:
        """The newest messages, optionally only those in one of :data:`MESSAGE_STATES`."""
        if state is not None and state not in MESSAGE_STATES:
            raise ValueError(f"unknown state {state!r}; expected one of {MESSAGE_STATES}")
        rows = self._db.execute(
            f"SELECT {_MESSAGE_VIEW_COLUMNS} FROM messages AS m {_MESSAGE_FILTERS[state]}"
            " ORDER BY m.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return self._message_views(rows)

    def list_transactions(
        self, state: str | None = None, peer: str | None = None, limit: int = 50
    ) -> list[TransactionRecord]:
        """The newest transactions; ``state`` matches either machine's state and ``peer``
        either party's symbol, both regardless of case."""
        if peer is not None:
            also = "" if state is None else _EITHER_STATE
            query = _EITHER.format(field="symbol", also=also)
        elif state is not None:
            query = _EITHER.format(field="state", also="")
        else:
            query = f"SELECT {_TRANSACTION_COLUMNS} FROM transactions ORDER BY id DESC LIMIT :limit"
        rows = self._db.execute(query, {"state": state, "symbol": peer, "limit": limit})
        return [_transaction_record(row) for row in rows]

    def transaction_history(
        self, transaction_id: int
    ) -> tuple[TransactionRecord, list[MessageView]]:
        """A transaction by its id, and every message of it, oldest first, with their
        deliveries; ``KeyError`` for an unknown id."""
        row = self._db.execute(
            f"SELECT {_TRANSACTION_COLUMNS} FROM transactions WHERE id = ?", (transaction_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no transaction {transaction_id}")
        record = _transaction_record(row)
        rows = self._db.execute(
            f"SELECT {_MESSAGE_VIEW_COLUMNS} FROM messages AS m WHERE m.transaction_key = ?"
            " ORDER BY m.id",
            (record.key,),
        ).fetchall()
        return record, self._message_views(rows)

    def _message_views(self, rows: list[tuple[Any, ...]]) -> list[MessageView]:
        """Views of rows of :data:`_MESSAGE_VIEW_COLUMNS`, with their deliveries."""
        deliveries = self._delivery_views([row[0] for row in rows])
        return [
            MessageView(
                id=row[0],
                received_at=_moment(row[1]),
                peer=row[2],
                apdu_type=row[3],
                transaction_key=row[4],
                target_symbol=row[5],
                size=row[6],
                reason=row[7],
                state=_message_state(row[8], deliveries.get(row[0], [])),
                deliveries=tuple(deliveries.get(row[0], [])),
            )
            for row in rows
        ]

    def _delivery_views(self, message_ids: list[int]) -> dict[int, list[DeliveryView]]:
        views: dict[int, list[DeliveryView]] = {}
        for row in self._db.execute(
            "SELECT message_id, address, state, attempts, next_attempt_at, last_attempt_at,"
            " last_error, delivered_at FROM deliveries"
            " WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (json.dumps(message_ids),),
        ):
            views.setdefault(row[0], []).append(
                DeliveryView(
                    address=row[1],
                    state=row[2],
                    attempts=row[3],
                    next_attempt_at=_optional_moment(row[4]),
                    last_attempt_at=_optional_moment(row[5]),
                    last_error=row[6],
                    delivered_at=_optional_moment(row[7]),
                )
            )
        return views

    def resend(self, message_id: int, now: datetime) -> int:
        """Make a message's failed deliveries (all of them if none failed) pending and due now,
        with a fresh count of attempts. Returns how many; ``KeyError`` for an unknown id."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone() is None:
                raise KeyError(f"no message {message_id}")
            (any_failed,) = db.execute(
                "SELECT EXISTS (SELECT 1 FROM deliveries"
                " WHERE message_id = ? AND state = 'failed')",
                (message_id,),
            ).fetchone()
            cursor = db.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,"
                " delivered_at = NULL WHERE message_id = ? AND (state = 'failed' OR NOT ?)",
                (_micros(now), message_id, any_failed),
            )
            return cursor.rowcount

    def held(self, message_id: int) -> HeldMessage:
        """A held message, with its bytes; ``KeyError`` for an unknown id, ``ValueError`` if
        the message is not held."""
        return self._held(self._db, message_id)

    def release(self, message_id: int, addresses: Sequence[str], now: datetime) -> int:
        """Queue a held message for delivery to each address, due now; returns how many
        deliveries. ``KeyError`` for an unknown id, ``ValueError`` if it is not held."""
        _check_addresses(addresses)
        with self._write() as db:
            self._leave_held(db, message_id, "accepted", None)
            return len(self._insert_deliveries(db, message_id, addresses, now))

    def refuse(
        self, message_id: int, reason: str, now: datetime, notify: Notice | None = None
    ) -> int | None:
        """Refuse a held message for good, keeping the reason, and queue ``notify`` (the report
        telling the sender) with it in the same transaction. Returns the report's message id,
        if any. ``KeyError`` for an unknown id, ``ValueError`` if the message is not held."""
        if notify is not None:
            _check_addresses(notify.addresses)
        with self._write() as db:
            transaction_key = self._leave_held(db, message_id, "refused", reason)
            if notify is None:
                return None
            report_id = self._insert_message(
                db,
                now,
                GATEWAY_PEER,
                notify.apdu_type,
                transaction_key,
                notify.target_symbol,
                notify.ber,
                "accepted",
                None,
            )
            self._insert_deliveries(db, report_id, notify.addresses, now)
            return report_id

    def _leave_held(
        self, db: sqlite3.Connection, message_id: int, state: str, reason: str | None
    ) -> str | None:
        """Move a held message to ``state``; returns its transaction key."""
        held = self._held(db, message_id)
        db.execute(
            "UPDATE messages SET state = ?, reason = ? WHERE id = ?", (state, reason, message_id)
        )
        return held.transaction_key

    @staticmethod
    def _held(db: sqlite3.Connection, message_id: int) -> HeldMessage:
        row = db.execute(
            "SELECT state, transaction_key, target_symbol, ber FROM messages WHERE id = ?",
            (message_id,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no message {message_id}")
        if row[0] != "held":
            raise ValueError(f"message {message_id} is {row[0]}, not held")
        return HeldMessage(message_id, row[1], row[2], row[3])

    def counts(self) -> dict[str, int]:
        """Queue depth for metrics: deliveries pending and failed, messages unroutable and held.

        Each is an index range count, cheap while the queue is short. Delivered deliveries are
        left out: counting them would read the whole history on every call.
        """
        row = self._db.execute(_COUNTS).fetchone()
        return dict(zip(("pending", "failed", "unroutable", "held"), row, strict=True))
