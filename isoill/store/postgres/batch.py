"""A group commit on PostgreSQL, without savepoints: one transaction for a batch of writes,
its statements pipelined, in two round trips.

1. Each write is one statement (:mod:`.statements`) whose outcome is a row: what it stored,
   or that it found a duplicate, a conflict, a delivery not pending. Nothing of a write that
   does not succeed is stored, so no write needs a savepoint of its own (PostgreSQL keeps 64
   subtransactions per transaction in shared memory, and beyond that every session's
   snapshots slow down; and any error aborts the whole transaction anyway).
2. Then, once, the deliveries the batch queues: each address's counter bumped (so locked to
   the commit) in address order, the deliveries numbered after it, the delivery each follows
   read, one ``pg_notify`` naming the addresses, and ``COMMIT``.

An error from the server (a bug, a constraint nothing expects) aborts the batch; the backend
then runs its writes again one per transaction (:class:`~.backend.PostgresBackend`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeAlias

from psycopg import Cursor
from psycopg.rows import TupleRow

from isoill.core.retry import RetryPolicy
from isoill.store.postgres import statements
from isoill.store.postgres.queries import Db, transaction_record
from isoill.store.records import (
    GATEWAY_PEER,
    Conflict,
    Delivery,
    Duplicate,
    Failed,
    Queued,
    Stored,
)
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

#: The longest wake-up PostgreSQL takes is 8000 bytes; a longer list of addresses is sent as
#: an empty one, which wakes every forwarder to look at every address.
_PAYLOAD_LIMIT = 7999


@dataclass
class _Queue:
    """Deliveries a write queues: one for each address (a repeated one once), due ``now``."""

    message_id: int
    addresses: tuple[str, ...]
    now: datetime
    delivery: Callable[[int, str], Delivery] | None = None
    """How to tell the caller of each (an Accept's ``Stored`` lists them), by id and address."""
    queued: list[Queued] = field(default_factory=list)


@dataclass(frozen=True)
class _Lookup:
    """An Accept that stored nothing, because another message has its duplicate key or its
    transaction was not at the version named: the key, looked up (a ``Duplicate`` if a
    message not refused has it, else a ``Conflict``), the transaction, and the id of the
    transaction record it made (to be deleted again), if it made one."""

    dedup_key: str
    transaction_key: str
    made: int | None


@dataclass
class _Outcome:
    """What one write's statement came to; ``finish`` makes its result once the batch's
    deliveries are queued."""

    result: WriteResult | Failed = None
    queue: _Queue | None = None
    finish: Callable[[], WriteResult] | None = None
    duplicate: _Lookup | None = None
    woken: tuple[str, ...] = ()
    """Addresses whose deliveries became due other than through the queue (a resend)."""


_Reader: TypeAlias = Callable[[TupleRow | None], _Outcome]
# A write's statement, its values, and how to read the row it returns.
_Plan: TypeAlias = tuple[str, dict[str, Any], _Reader]


class Batch:
    """One group commit on the connection ``db``; ``changes`` counts the rows it changed."""

    def __init__(self, db: Db, policy: RetryPolicy) -> None:
        self._db = db
        self._policy = policy
        self.changes = 0

    def run(self, writes: Sequence[Write[WriteResult]]) -> list[WriteResult | Failed]:
        """Every write in one transaction, committed when this returns; raises (and nothing
        is stored) if the transaction fails."""
        db = self._db
        with db.pipeline() as pipeline, db.transaction():
            sent = self._send([self._plan(write) for write in writes])
            pipeline.sync()
            read: set[int] = set()  # the cursors whose first result has been read
            outcomes = [self._read(item, read) for item in sent]
            duplicates = self._check_duplicates(outcomes)
            queues = [o.queue for o in outcomes if o.queue is not None]
            queued = self._send_queues(queues)
            woken = {a for o in outcomes for a in o.woken}
            woken.update(a for q in queues for a in q.addresses)
            if woken:
                payload = "\n".join(sorted(woken))
                too_long = len(payload.encode()) > _PAYLOAD_LIMIT
                db.cursor().execute(statements.NOTIFY, ("" if too_long else payload,))
            pipeline.sync()
            for outcome, found in duplicates:
                self._settle_duplicate(outcome, found)
            if queued is not None:
                self._settle_queues(queues, *queued)
        return [o.result if o.finish is None else o.finish() for o in outcomes]

    # -- the statements of each write -----------------------------------------------------

    def _plan(self, write: Write[WriteResult]) -> _Plan | Failed:
        try:
            planner = _PLANNERS[type(write)]
        except KeyError:
            return Failed(TypeError(f"not a write: {write!r}"))
        return planner(self, write)

    def _send(self, plans: list[_Plan | Failed]) -> list[tuple[Cursor[TupleRow], _Reader] | Failed]:
        """Send each write's statement; the writes of one kind in a row in one
        ``executemany`` (one message, parsed and planned once, for all of them). A value that
        cannot be sent fails the batch, to be run again a write at a time."""
        sent: list[tuple[Cursor[TupleRow], _Reader] | Failed] = []
        run: list[_Plan] = []  # writes of one kind in a row, not sent yet

        def send_run() -> None:
            if not run:
                return
            query = run[0][0]
            cursor = self._db.cursor()
            if len(run) == 1:
                cursor.execute(query, run[0][1])
            else:
                cursor.executemany(query, [values for _, values, _ in run], returning=True)
            sent.extend((cursor, reader) for _, _, reader in run)
            run.clear()

        for plan in plans:
            if isinstance(plan, Failed):
                send_run()
                sent.append(plan)
                continue
            if run and run[0][0] is not plan[0]:
                send_run()
            run.append(plan)
        send_run()
        return sent

    def _read(self, item: tuple[Cursor[TupleRow], _Reader] | Failed, read: set[int]) -> _Outcome:
        """The outcome of one write: the next result of its cursor."""
        if isinstance(item, Failed):
            return _Outcome(item)
        cursor, reader = item
        if id(cursor) in read:
            cursor.nextset()
        read.add(id(cursor))
        row = cursor.fetchone()
        try:
            return reader(row)
        except (KeyError, ValueError) as error:  # the write's own refusal: nothing changed
            return _Outcome(Failed(error))

    def _accept(self, write: Accept) -> _Plan:
        requester_state, responder_state = (None, None) if write.states is None else write.states
        forward = write.forward
        values = {
            "key": write.transaction_key,
            "version": write.expected_version,
            "now": write.now,
            "peer": write.peer,
            "apdu_type": write.apdu_type,
            "target": write.target_symbol,
            "ber": write.ber,
            "state": "accepted" if write.held is None else "held",
            "reason": write.held,
            "dedup_key": write.dedup_key,
            "requester": write.requester_symbol,
            "responder": write.responder_symbol,
            "requester_state": requester_state,
            "responder_state": responder_state,
            "moved_to": None if forward is None else forward.responder,
            "intermediary": None if forward is None else forward.intermediary,
            "xml": write.xml,
            "bridge": write.bridge,
        }
        known = write.expected_version is not None
        query = statements.ACCEPT_KNOWN if known else statements.ACCEPT_NEW

        def read(row: TupleRow | None) -> _Outcome:
            assert row is not None
            transaction_id, message_id, record = row[0], row[1], row[2:]
            if message_id is None:  # a duplicate, or a conflict (a duplicate answers it too)
                conflict = Conflict(write.transaction_key)
                if write.dedup_key is None:
                    return _Outcome(conflict)
                made = None if known or transaction_id is None else transaction_id
                return _Outcome(duplicate=_Lookup(write.dedup_key, write.transaction_key, made))
            self.changes += 2
            stored = Stored(
                message_id,
                transaction_record(record),
                write.dedup_key,
                held=write.held is not None,
            )
            if write.held is not None:
                return _Outcome(stored)

            def delivery(delivery_id: int, address: str) -> Delivery:
                return Delivery(
                    delivery_id,
                    message_id,
                    address,
                    write.ber,
                    0,
                    write.apdu_type,
                    write.target_symbol,
                    write.now,
                    write.xml,
                )

            queue = _Queue(message_id, _unique(write.addresses), write.now, delivery)
            return _Outcome(
                queue=queue, finish=lambda: replace(stored, deliveries=tuple(queue.queued))
            )

        return query, values, read

    def _keep(self, write: Keep) -> _Plan:
        values = {
            "now": write.now,
            "peer": write.peer,
            "apdu_type": write.apdu_type,
            "key": write.transaction_key,
            "target": write.target_symbol,
            "ber": write.ber,
            "state": write.state,
            "reason": write.reason,
            "xml": write.xml,
        }

        def read(row: TupleRow | None) -> _Outcome:
            assert row is not None
            self.changes += 1
            return _Outcome(int(row[0]))

        return statements.KEEP, values, read

    def _delivered(self, write: Delivered) -> _Plan:
        values = {"id": write.delivery_id, "now": write.now, "scrubbed": write.scrubbed}

        def read(row: TupleRow | None) -> _Outcome:
            assert row is not None
            self._one_pending(row[0], write.delivery_id)
            return _Outcome(None)

        return statements.DELIVERED, values, read

    def _retry_later(self, write: RetryLater) -> _Plan:
        policy = self._policy
        values = {
            "id": write.delivery_id,
            "now": write.now,
            "error": write.error,
            "max_attempts": policy.max_attempts,
            "delays": [policy.delay(n) for n in range(1, policy.max_attempts)],
        }

        def read(row: TupleRow | None) -> _Outcome:
            self._one_pending(0 if row is None else 1, write.delivery_id)
            return _Outcome(bool(row and row[0]))

        return statements.RETRY_LATER, values, read

    def _fail(self, write: Fail) -> _Plan:
        notice = write.notice
        values = {
            "id": write.delivery_id,
            "now": write.now,
            "error": write.error,
            "peer": GATEWAY_PEER,
            "notice": notice is not None,
            "apdu_type": None if notice is None else notice.apdu_type,
            "target": None if notice is None else notice.target_symbol,
            "ber": None if notice is None else notice.ber,
        }

        def read(row: TupleRow | None) -> _Outcome:
            assert row is not None
            self._one_pending(row[0], write.delivery_id)
            report_id: int | None = row[1]
            if notice is None or report_id is None:
                return _Outcome(None)
            self.changes += 1
            queue = _Queue(report_id, _unique(notice.addresses), write.now)
            return _Outcome(report_id, queue=queue)

        return statements.FAIL, values, read

    def _one_pending(self, updated: int, delivery_id: int) -> None:
        if updated != 1:
            raise KeyError(f"no pending delivery {delivery_id}")
        self.changes += 1

    def _resend(self, write: Resend) -> _Plan:
        values = {"id": write.message_id, "now": write.now}

        def read(row: TupleRow | None) -> _Outcome:
            assert row is not None
            exists, addresses = row
            if not exists:
                raise KeyError(f"no message {write.message_id}")
            self.changes += len(addresses)
            return _Outcome(len(addresses), woken=tuple(addresses))

        return statements.RESEND, values, read

    def _release(self, write: Release) -> _Plan:
        values = {"id": write.message_id, "state": "accepted", "reason": None}
        addresses = _unique(write.addresses)

        def read(row: TupleRow | None) -> _Outcome:
            assert row is not None
            _left_held(write.message_id, row[0], row[1])
            self.changes += 1
            return _Outcome(len(addresses), queue=_Queue(write.message_id, addresses, write.now))

        return statements.RELEASE, values, read

    def _refuse(self, write: Refuse) -> _Plan:
        notice = write.notice
        values = {
            "id": write.message_id,
            "state": "refused",
            "reason": write.reason,
            "now": write.now,
            "peer": GATEWAY_PEER,
            "notice": notice is not None,
            "apdu_type": None if notice is None else notice.apdu_type,
            "target": None if notice is None else notice.target_symbol,
            "ber": None if notice is None else notice.ber,
        }

        def read(row: TupleRow | None) -> _Outcome:
            assert row is not None
            _left_held(write.message_id, row[0], row[1])
            self.changes += 1
            report_id: int | None = row[2]
            if notice is None or report_id is None:
                return _Outcome(None)
            self.changes += 1
            queue = _Queue(report_id, _unique(notice.addresses), write.now)
            return _Outcome(report_id, queue=queue)

        return statements.REFUSE, values, read

    # -- duplicates, and the batch's deliveries ---------------------------------------------

    def _check_duplicates(
        self, outcomes: list[_Outcome]
    ) -> list[tuple[_Outcome, Cursor[TupleRow]]]:
        """Send the lookup of the message each duplicate's key belongs to (a statement of its
        own: one that sees the other transaction's commit the insert waited for), and the
        deletion of a transaction record made for a message that turned out a duplicate."""
        lookups = []
        for outcome in outcomes:
            if outcome.duplicate is None:
                continue
            if outcome.duplicate.made is not None:
                self._db.cursor().execute(statements.UNDO_TRANSACTION, (outcome.duplicate.made,))
            cursor = self._db.cursor()
            cursor.execute(statements.FIND_DUPLICATE, (outcome.duplicate.dedup_key,))
            lookups.append((outcome, cursor))
        return lookups

    @staticmethod
    def _settle_duplicate(outcome: _Outcome, found: Cursor[TupleRow]) -> None:
        row = found.fetchone()
        assert outcome.duplicate is not None
        if row is None:  # refused meanwhile, by another process: to be judged anew
            outcome.result = Conflict(outcome.duplicate.transaction_key)
        else:
            outcome.result = Duplicate(int(row[0]))

    def _send_queues(
        self, queues: list[_Queue]
    ) -> tuple[Cursor[TupleRow], Cursor[TupleRow]] | None:
        if not queues:
            return None
        entries = [(q.message_id, a, q.now) for q in queues for a in q.addresses]
        counts: dict[str, int] = {}
        for _, address, _ in entries:
            counts[address] = counts.get(address, 0) + 1
        queued = self._db.cursor()
        queued.execute(
            statements.QUEUE,
            {
                "messages": [entry[0] for entry in entries],
                "addresses": [entry[1] for entry in entries],
                "due": [entry[2] for entry in entries],
            },
        )
        before = self._db.cursor()
        before.execute(
            statements.BEFORE, {"addresses": list(counts), "counts": list(counts.values())}
        )
        return queued, before

    def _settle_queues(
        self, queues: list[_Queue], queued: Cursor[TupleRow], before: Cursor[TupleRow]
    ) -> None:
        """Each delivery's id, and the one it follows: at its address, the one pending before
        the batch, or the batch's previous one there."""
        ids = {(address, seq): delivery_id for delivery_id, address, seq in queued.fetchall()}
        self.changes += len(ids)
        tails = {address: (tail, after) for address, tail, after in before.fetchall()}
        counts: dict[str, int] = {}
        for queue in queues:
            for address in queue.addresses:
                counts[address] = counts.get(address, 0) + 1
        nexts = {address: tails[address][0] - counts[address] + 1 for address in counts}
        follows: dict[str, int | None] = {address: tails[address][1] for address in counts}
        for queue in queues:
            for address in queue.addresses:
                delivery_id = ids[(address, nexts[address])]
                nexts[address] += 1
                if queue.delivery is not None:
                    delivery = queue.delivery(delivery_id, address)
                    queue.queued.append(Queued(delivery, follows[address]))
                follows[address] = delivery_id


_PLANNERS: dict[type[object], Callable[[Batch, Any], _Plan]] = {
    Accept: Batch._accept,
    Keep: Batch._keep,
    Delivered: Batch._delivered,
    RetryLater: Batch._retry_later,
    Fail: Batch._fail,
    Resend: Batch._resend,
    Release: Batch._release,
    Refuse: Batch._refuse,
}


def _unique(addresses: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addresses))


def _left_held(message_id: int, state: str | None, moved: bool) -> None:
    """:class:`KeyError` or :class:`ValueError` unless the held message left that state."""
    if state is None:
        raise KeyError(f"no message {message_id}")
    if not moved:
        now = "changed by another process" if state == "held" else f"{state}, not held"
        raise ValueError(f"message {message_id} is {now}")
