"""The store in one SQLite file: the :class:`~isoill.store.backend.Backend` the daemon and the
commands use today.

Each write is one SQLite transaction (``BEGIN IMMEDIATE``), committed with ``synchronous=FULL``
in WAL mode before :meth:`SqliteBackend.commit` returns; a group commit holds each write in a
savepoint of its own. The connection belongs to the thread that opened it; other processes
(``isoill queue``, ``isoill tx``) may open the same file at the same time, and WAL lets them
read while a commit is made. SQLite's errors leave here as
:class:`~isoill.store.errors.StoreFault`, with the words a peer refused for now is told.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from isoill import private
from isoill.core.retry import RetryPolicy
from isoill.core.views import TransactionRecord, TransactionView
from isoill.store.backend import BUSY_TIMEOUT_SECONDS, Capabilities
from isoill.store.errors import StoreFault
from isoill.store.records import (
    GATEWAY_PEER,
    Delivery,
    Duplicate,
    Failed,
    HeldMessage,
    MessageView,
    Notice,
    Queued,
    Stored,
)
from isoill.store.sqlite import queries, schema
from isoill.store.sqlite.queries import micros
from isoill.store.writes import (
    Accept,
    Delivered,
    Fail,
    Keep,
    Refuse,
    Release,
    Resend,
    RetryLater,
    Write,
    WriteResult,
)

P = ParamSpec("P")
R = TypeVar("R")

# The faults a peer is told of, by SQLite's primary result code; they pass when the disk has
# room again, the other process lets go of its lock, the disk is mended.
_FAULTS = {
    sqlite3.SQLITE_FULL: "its disk is full",
    sqlite3.SQLITE_BUSY: "its store is locked by another process",
    sqlite3.SQLITE_LOCKED: "its store is locked",
    sqlite3.SQLITE_IOERR: "its disk failed (I/O error)",
}


def fault(error: sqlite3.Error) -> StoreFault:
    """SQLite's error as the store's fault, in a few words for the peer refused."""
    code = getattr(error, "sqlite_errorcode", None)
    reason = None if code is None else _FAULTS.get(code & 0xFF)
    translated = StoreFault(
        reason or "a store error", temporary=reason is not None, detail=str(error)
    )
    translated.__cause__ = error
    return translated


def _translated(method: Callable[P, R]) -> Callable[P, R]:
    """``method``, raising :class:`StoreFault` for SQLite's errors."""

    @functools.wraps(method)
    def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as error:
            raise fault(error) from error

    return translated


class SqliteBackend:
    """The queue in one SQLite file (``":memory:"`` for tests)."""

    capabilities = Capabilities(shared=False)

    @_translated
    def __init__(
        self,
        path: Path | str,
        policy: RetryPolicy | None = None,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.policy = policy or RetryPolicy()
        # One handler per kind of write; each gets a write of its own type.
        self._handlers: dict[type[object], Callable[[sqlite3.Connection, Any], object]]
        self._handlers = {
            Accept: self._accept,
            Keep: self._keep,
            Delivered: self._delivered,
            RetryLater: self._retry_later,
            Fail: self._fail,
            Resend: self._resend,
            Release: self._release,
            Refuse: self._refuse,
        }
        if str(path) != ":memory:":
            private.touch(Path(path))  # SQLite gives -wal and -shm the same mode
        self._db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            # Only takes effect outside a transaction; the upgrades' table rebuilds need it off.
            self._db.execute("PRAGMA foreign_keys = OFF")
            with self._write() as db:
                schema.create(db)
            self._db.execute("PRAGMA foreign_keys = ON")
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

    def _run(self, db: sqlite3.Connection, write: Write[R]) -> R:
        try:
            handler = self._handlers[type(write)]
        except KeyError:
            raise TypeError(f"not a write: {write!r}") from None
        return cast(R, handler(db, write))

    @_translated
    def commit(self, write: Write[R]) -> R:
        with self._write() as db:
            return self._run(db, write)

    @_translated
    def commit_all(self, writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        """The writes in one transaction, each undone alone if it fails. They are run first
        as they come, and only if one of them fails is the transaction rolled back and run
        again with each write in a savepoint of its own: a savepoint costs two statements a
        write, as many as a delivery's outcome itself, for a failure that hardly ever comes."""
        try:
            with self._write() as db:  # rolled back if a write fails
                try:
                    return [self._run(db, write) for write in writes]
                except Exception as error:
                    raise _OneFailed from error
        except _OneFailed:
            return self._commit_each(writes)

    def _commit_each(self, writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        """:meth:`commit_all` with a savepoint for each write."""
        results: list[WriteResult | Failed] = []
        with self._write() as db:
            for write in writes:
                db.execute("SAVEPOINT one_write")
                try:
                    result = self._run(db, write)
                except Exception as error:
                    if not db.in_transaction:
                        raise  # SQLite rolled back the whole transaction: every write failed
                    db.execute("ROLLBACK TO one_write")
                    db.execute("RELEASE one_write")
                    results.append(
                        Failed(fault(error) if isinstance(error, sqlite3.Error) else error)
                    )
                else:
                    db.execute("RELEASE one_write")
                    results.append(result)
        return results

    @property
    def changes(self) -> int:
        return self._db.total_changes

    @_translated
    def changed_elsewhere(self) -> bool:
        """``PRAGMA data_version`` moved since the last call."""
        (version,) = self._db.execute("PRAGMA data_version").fetchone()
        changed = bool(version != self._data_version)
        self._data_version = version
        return changed

    # -- reads ----------------------------------------------------------------------------

    @_translated
    def view(self, transaction_key: str) -> TransactionView:
        return queries.view(self._db, transaction_key)

    @_translated
    def transaction(self, transaction_key: str) -> TransactionRecord | None:
        return queries.transaction(self._db, transaction_key)

    @_translated
    def find_duplicate(self, dedup_key: str) -> int | None:
        return queries.find_duplicate(self._db, dedup_key)

    @_translated
    def last_service(self, transaction_key: str) -> tuple[str, datetime] | None:
        return queries.last_service(self._db, transaction_key)

    @_translated
    def due(
        self,
        now: datetime,
        limit: int = 100,
        per_address: int = 1,
        exclude: Collection[str] = (),
    ) -> list[Delivery]:
        return queries.due(self._db, now, limit, per_address, exclude)

    @_translated
    def next_due_at(self, now: datetime) -> datetime | None:
        return queries.next_due_at(self._db, now)

    @_translated
    def counts(self) -> dict[str, int]:
        return queries.counts(self._db)

    @_translated
    def list_messages(
        self,
        state: str | None = None,
        limit: int = 100,
        *,
        peer: str | None = None,
        apdu_type: str | None = None,
    ) -> list[MessageView]:
        return queries.list_messages(self._db, state, limit, peer, apdu_type)

    @_translated
    def list_transactions(
        self,
        state: str | None = None,
        peer: str | None = None,
        limit: int = 50,
        *,
        qualifier: str | None = None,
    ) -> list[TransactionRecord]:
        return queries.list_transactions(self._db, state, peer, limit, qualifier)

    @_translated
    def traffic(self, since: datetime, step: timedelta, steps: int) -> list[int]:
        return queries.traffic(self._db, since, step, steps)

    @_translated
    def apdu(self, message_id: int) -> bytes:
        return queries.apdu(self._db, message_id)

    @_translated
    def xml(self, message_id: int) -> bytes | None:
        return queries.xml(self._db, message_id)

    @_translated
    def transaction_history(
        self, transaction_id: int
    ) -> tuple[TransactionRecord, list[MessageView]]:
        return queries.transaction_history(self._db, transaction_id)

    @_translated
    def held(self, message_id: int) -> HeldMessage:
        return queries.held(self._db, message_id)

    # -- intake ---------------------------------------------------------------------------

    def _accept(self, db: sqlite3.Connection, write: Accept) -> Stored | Duplicate:
        try:
            message_id = _insert_message(
                db,
                write.now,
                write.peer,
                write.apdu_type,
                write.transaction_key,
                write.target_symbol,
                write.ber,
                "accepted" if write.held is None else "held",
                write.held,
                write.dedup_key,
                write.xml,
            )
        except sqlite3.IntegrityError as error:  # the unique index under find_duplicate
            unique = error.sqlite_errorcode == sqlite3.SQLITE_CONSTRAINT_UNIQUE
            existing = queries.find_duplicate(db, write.dedup_key) if write.dedup_key else None
            if not unique or existing is None:
                raise
            return Duplicate(existing)
        queued = tuple(
            Queued(
                Delivery(
                    number,
                    message_id,
                    address,
                    write.ber,
                    0,
                    write.apdu_type,
                    write.target_symbol,
                    write.now,
                    write.xml,
                ),
                after,
            )
            for address, number, after in _insert_deliveries(
                db, message_id, write.addresses, write.now
            )
        )
        record = _record_transaction(db, write)
        held = write.held is not None
        return Stored(message_id, record, write.dedup_key, held=held, deliveries=queued)

    def _keep(self, db: sqlite3.Connection, write: Keep) -> int:
        return _insert_message(
            db,
            write.now,
            write.peer,
            write.apdu_type,
            write.transaction_key,
            write.target_symbol,
            write.ber,
            write.state,
            write.reason,
            xml=write.xml,
        )

    # -- forwarding -----------------------------------------------------------------------

    def _delivered(self, db: sqlite3.Connection, write: Delivered) -> None:
        _update_pending(
            db,
            write.delivery_id,
            "state = 'delivered', attempts = attempts + 1, next_attempt_at = NULL,"
            " last_attempt_at = :now, delivered_at = :now",
            {"now": micros(write.now)},
        )
        if write.scrubbed is not None:
            db.execute(
                "UPDATE messages SET ber = :ber WHERE id = (SELECT message_id FROM"
                " deliveries WHERE id = :id) AND NOT EXISTS (SELECT 1 FROM deliveries"
                " WHERE message_id = messages.id AND state = 'pending')",
                {"ber": write.scrubbed, "id": write.delivery_id},
            )

    def _retry_later(self, db: sqlite3.Connection, write: RetryLater) -> bool:
        row = db.execute(
            "SELECT attempts FROM deliveries WHERE id = ? AND state = 'pending'",
            (write.delivery_id,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no pending delivery {write.delivery_id}")
        attempts = row[0] + 1
        if attempts >= self.policy.max_attempts:
            self._give_up(db, write.delivery_id, write.error, write.now)
            return False
        _update_pending(
            db,
            write.delivery_id,
            "attempts = attempts + 1, next_attempt_at = :next, last_attempt_at = :now,"
            " last_error = :error",
            {
                "next": micros(write.now + self.policy.delay(attempts)),
                "now": micros(write.now),
                "error": write.error,
            },
        )
        return True

    def _fail(self, db: sqlite3.Connection, write: Fail) -> int | None:
        self._give_up(db, write.delivery_id, write.error, write.now)
        notice = write.notice
        if notice is None:
            return None
        (transaction_key,) = db.execute(
            "SELECT m.transaction_key FROM messages AS m JOIN deliveries AS d"
            " ON d.message_id = m.id WHERE d.id = ?",
            (write.delivery_id,),
        ).fetchone()
        return _queue_notice(db, notice, transaction_key, write.now)

    @staticmethod
    def _give_up(db: sqlite3.Connection, delivery_id: int, error: str, now: datetime) -> None:
        _update_pending(
            db,
            delivery_id,
            "state = 'failed', attempts = attempts + 1, next_attempt_at = NULL,"
            " last_attempt_at = :now, last_error = :error",
            {"now": micros(now), "error": error},
        )

    # -- operators ------------------------------------------------------------------------

    def _resend(self, db: sqlite3.Connection, write: Resend) -> int:
        message_id = write.message_id
        if db.execute("SELECT 1 FROM messages WHERE id = ?", (message_id,)).fetchone() is None:
            raise KeyError(f"no message {message_id}")
        (any_failed,) = db.execute(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE message_id = ? AND state = 'failed')",
            (message_id,),
        ).fetchone()
        cursor = db.execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,"
            " delivered_at = NULL WHERE message_id = ? AND (state = 'failed' OR NOT ?)",
            (micros(write.now), message_id, any_failed),
        )
        return cursor.rowcount

    def _release(self, db: sqlite3.Connection, write: Release) -> int:
        _leave_held(db, write.message_id, "accepted", None)
        return len(_insert_deliveries(db, write.message_id, write.addresses, write.now))

    def _refuse(self, db: sqlite3.Connection, write: Refuse) -> int | None:
        transaction_key = _leave_held(db, write.message_id, "refused", write.reason)
        notice = write.notice
        if notice is None:
            return None
        return _queue_notice(db, notice, transaction_key, write.now)


def _queue_notice(
    db: sqlite3.Connection, notice: Notice, transaction_key: str | None, now: datetime
) -> int:
    """The gateway's own report to a party, queued to its addresses; its message id."""
    report_id = _insert_message(
        db,
        now,
        GATEWAY_PEER,
        notice.apdu_type,
        transaction_key,
        notice.target_symbol,
        notice.ber,
        "accepted",
        None,
    )
    _insert_deliveries(db, report_id, notice.addresses, now)
    return report_id


class _OneFailed(Exception):
    """A write of a group failed: the group is rolled back, to be run again write by write."""


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
    xml: bytes | None = None,
) -> int:
    cursor = db.execute(
        "INSERT INTO messages (received_at, peer, apdu_type, transaction_key, target_symbol,"
        " ber, state, reason, dedup_key, xml) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            micros(now),
            peer,
            apdu_type,
            transaction_key,
            target_symbol,
            ber,
            state,
            reason,
            dedup_key,
            xml,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


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
            (message_id, address, micros(now)),
        )
        assert cursor.lastrowid is not None
        inserted.append((address, cursor.lastrowid, after))
    return inserted


def _record_transaction(db: sqlite3.Connection, write: Accept) -> TransactionRecord:
    """Create or update the write's transaction: a party known stays (a ``None`` leaves it
    unknown), but for the responder a ``forward`` moves; a ``None`` state leaves the known
    one. Returns the transaction as it now is, read by its key (one index seek) rather than
    with RETURNING, which buffers its row in a temporary table: a B-tree opened, a page
    zeroed and the B-tree closed again, per APDU, dearer than the seek.

    The upsert leaves a known transaction's parties alone, and they are set after it only
    if they change (a party first known, a forward): SQLite rewrites the entry of every
    index on a column an UPDATE sets, whatever its value, and each party's is a NOCASE
    B-tree, while most APDUs of a transaction move its states alone."""
    requester_state, responder_state = (None, None) if write.states is None else write.states
    forward = write.forward
    moved_to = None if forward is None else forward.responder
    db.execute(
        "INSERT INTO transactions (transaction_key, requester_symbol, responder_symbol,"
        " requester_state, responder_state, created_at, updated_at, intermediaries, bridge)"
        " VALUES (:key, :requester, coalesce(:moved_to, :responder), :requester_state,"
        " :responder_state, :now, :now, CASE WHEN :intermediary IS NOT NULL"
        " THEN json_array(:intermediary) END, :bridge)"
        " ON CONFLICT (transaction_key) DO UPDATE SET"
        " requester_state = coalesce(excluded.requester_state, requester_state),"
        " responder_state = coalesce(excluded.responder_state, responder_state),"
        " intermediaries = CASE WHEN :intermediary IS NULL THEN intermediaries"
        " ELSE json_insert(coalesce(intermediaries, '[]'), '$[#]', :intermediary) END,"
        " bridge = coalesce(excluded.bridge, bridge),"
        " updated_at = excluded.updated_at",
        {
            "key": write.transaction_key,
            "requester": write.requester_symbol,
            "responder": write.responder_symbol,
            "requester_state": requester_state,
            "responder_state": responder_state,
            "now": micros(write.now),
            "moved_to": moved_to,
            "intermediary": None if forward is None else forward.intermediary,
            "bridge": write.bridge,
        },
    )
    record = queries.transaction(db, write.transaction_key)
    assert record is not None
    return _learn_parties(db, record, write.requester_symbol, moved_to, write.responder_symbol)


def _learn_parties(
    db: sqlite3.Connection,
    record: TransactionRecord,
    requester: str | None,
    moved_to: str | None,
    responder: str | None,
) -> TransactionRecord:
    """The transaction with its parties as the write leaves them, set in the store only if
    they changed: a party known stays, a ``None`` leaves it unknown, a forward moves the
    responder (SQL's coalesce(known, new) and coalesce(moved_to, known, new))."""
    if record.requester_symbol is not None:
        requester = record.requester_symbol
    if moved_to is not None:
        responder = moved_to
    elif record.responder_symbol is not None:
        responder = record.responder_symbol
    if (requester, responder) == (record.requester_symbol, record.responder_symbol):
        return record
    db.execute(
        "UPDATE transactions SET requester_symbol = ?, responder_symbol = ? WHERE id = ?",
        (requester, responder, record.id),
    )
    return replace(record, requester_symbol=requester, responder_symbol=responder)


def _update_pending(
    db: sqlite3.Connection, delivery_id: int, assignments: str, values: dict[str, object]
) -> None:
    cursor = db.execute(
        f"UPDATE deliveries SET {assignments} WHERE id = :id AND state = 'pending'",
        {**values, "id": delivery_id},
    )
    if cursor.rowcount != 1:
        raise KeyError(f"no pending delivery {delivery_id}")


def _leave_held(
    db: sqlite3.Connection, message_id: int, state: str, reason: str | None
) -> str | None:
    """Move a held message to ``state``; returns its transaction key."""
    held = queries.held(db, message_id)
    db.execute(
        "UPDATE messages SET state = ?, reason = ? WHERE id = ?", (state, reason, message_id)
    )
    return held.transaction_key
