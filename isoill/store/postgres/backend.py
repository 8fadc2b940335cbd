"""The store in a PostgreSQL database: a :class:`~isoill.store.backend.Backend` that several
gateway processes may share (``Capabilities(shared=True)``).

Synchronous, like the SQLite backend: one psycopg connection, used by the thread that opened
the backend (the daemon's store thread, or a command). It is in autocommit mode, so every read
sees what has been committed, and each write or group of writes is one transaction of its
own (:mod:`.batch`), committed with ``synchronous_commit = on`` before :meth:`commit` or
:meth:`commit_all` returns. The writer's ``lock_timeout`` is the configuration's
``store_busy_timeout``.

What one process can know without asking, several processes must check when they write: a
second message with a duplicate key is a ``Duplicate`` (the unique index), an Accept judged
against a transaction another process has since moved on is a ``Conflict`` (its version), and
each address's deliveries are numbered in commit order (its ``seq``). So
:meth:`changed_elsewhere` says ``False``: the memory of :class:`~isoill.store.group.GroupWriter`
stays right through those checks, not through being emptied.

The driver's errors leave here as :class:`~isoill.store.errors.StoreFault` (:mod:`.faults`). A
connection lost (the server restarted, a failover) fails what was under way, and the next call
connects again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TypeVar, cast

import psycopg

from isoill.core.retry import RetryPolicy
from isoill.core.views import TransactionRecord, TransactionView
from isoill.store.backend import BUSY_TIMEOUT_SECONDS, Capabilities
from isoill.store.postgres import queries
from isoill.store.postgres.batch import Batch
from isoill.store.postgres.faults import fault, is_fault, translated
from isoill.store.postgres.migrate import migrate
from isoill.store.postgres.queries import Db
from isoill.store.records import Delivery, Failed, HeldMessage, MessageView
from isoill.store.setting import check_setting
from isoill.store.writes import Write, WriteResult

R = TypeVar("R")


def connect(url: str, lock_timeout: float = BUSY_TIMEOUT_SECONDS) -> Db:
    """A connection to the database ``url`` names, in autocommit mode, with the store's
    session settings; the password comes from libpq's environment or password file."""
    check_setting(url)
    db = psycopg.connect(url, autocommit=True, fallback_application_name="isoill")
    try:
        db.execute(
            "SELECT set_config('lock_timeout', %s, false),"
            " set_config('synchronous_commit', 'on', false),"
            " set_config('TimeZone', 'UTC', false)",
            (f"{round(lock_timeout * 1000)}ms",),
        )
    except BaseException:
        db.close()
        raise
    return db


class PostgresBackend:
    """The queue in the PostgreSQL database ``url`` names (a libpq URL without a password)."""

    capabilities = Capabilities(shared=True)

    @translated
    def __init__(
        self,
        url: str,
        policy: RetryPolicy | None = None,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._url = url
        self._lock_timeout = busy_timeout
        self._changes = 0
        self._db: Db | None = connect(url, busy_timeout)
        try:
            migrate(self._db)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _connection(self) -> Db:
        """The connection, connected again if it was lost."""
        db = self._db
        if db is None or db.closed or db.broken:
            if db is not None:
                db.close()
            self._db = None
            self._db = db = connect(self._url, self._lock_timeout)
        return db

    # -- writes ---------------------------------------------------------------------------

    def commit(self, write: Write[R]) -> R:
        [result] = self.commit_all([cast(Write[WriteResult], write)])
        if isinstance(result, Failed):
            raise result.error
        return cast(R, result)

    @translated
    def commit_all(self, writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        if not writes:
            return []
        try:
            return self._run(writes)
        except psycopg.Error as error:
            if is_fault(error):
                raise
            if len(writes) == 1:
                return [Failed(fault(error))]
        except Exception as error:  # a bug below: the batch is undone
            if len(writes) == 1:
                return [Failed(error)]
        # The transaction was aborted: each write once more, in a transaction of its own, so
        # that the one that fails fails alone.
        return [self.commit_all([write])[0] for write in writes]

    def _run(self, writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        batch = Batch(self._connection(), self.policy)
        results = batch.run(writes)
        self._changes += batch.changes
        return results

    @property
    def changes(self) -> int:
        return self._changes

    def changed_elsewhere(self) -> bool:
        """``False``: see the module's documentation."""
        return False

    # -- reads ----------------------------------------------------------------------------

    @translated
    def view(self, transaction_key: str) -> TransactionView:
        return queries.view(self._connection(), transaction_key)

    @translated
    def transaction(self, transaction_key: str) -> TransactionRecord | None:
        return queries.transaction(self._connection(), transaction_key)

    @translated
    def find_duplicate(self, dedup_key: str) -> int | None:
        return queries.find_duplicate(self._connection(), dedup_key)

    @translated
    def last_service(self, transaction_key: str) -> tuple[str, datetime] | None:
        return queries.last_service(self._connection(), transaction_key)

    @translated
    def due(
        self,
        now: datetime,
        limit: int = 100,
        per_address: int = 1,
        exclude: Collection[str] = (),
    ) -> list[Delivery]:
        return queries.due(self._connection(), now, limit, per_address, exclude)

    @translated
    def next_due_at(self, now: datetime) -> datetime | None:
        return queries.next_due_at(self._connection(), now)

    @translated
    def counts(self) -> dict[str, int]:
        return queries.counts(self._connection())

    @translated
    def list_messages(
        self,
        state: str | None = None,
        limit: int = 100,
        *,
        peer: str | None = None,
        apdu_type: str | None = None,
    ) -> list[MessageView]:
        return queries.list_messages(self._connection(), state, limit, peer, apdu_type)

    @translated
    def list_transactions(
        self,
        state: str | None = None,
        peer: str | None = None,
        limit: int = 50,
        *,
        qualifier: str | None = None,
    ) -> list[TransactionRecord]:
        return queries.list_transactions(self._connection(), state, peer, limit, qualifier)

    @translated
    def traffic(self, since: datetime, step: timedelta, steps: int) -> list[int]:
        return queries.traffic(self._connection(), since, step, steps)

    @translated
    def apdu(self, message_id: int) -> bytes:
        return queries.apdu(self._connection(), message_id)

    @translated
    def xml(self, message_id: int) -> bytes | None:
        return queries.xml(self._connection(), message_id)

    @translated
    def transaction_history(
        self, transaction_id: int
    ) -> tuple[TransactionRecord, list[MessageView]]:
        return queries.transaction_history(self._connection(), transaction_id)

    @translated
    def held(self, message_id: int) -> HeldMessage:
        return queries.held(self._connection(), message_id)
