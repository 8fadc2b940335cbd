"""The SQLite store's reads: the forwarder's (what is due), the gateway's per APDU, and the
operators' listings, each a function of the connection. Every query the gateway and the
forwarder make per APDU is an index seek (``tests/store/test_index_seeks.py``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from isoill.core.views import TransactionRecord, TransactionView
from isoill.store.records import MESSAGE_STATES, Delivery, DeliveryView, HeldMessage, MessageView
from isoill.store.sqlite.schema import QUALIFIER

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TRANSACTION_COLUMNS = (
    "id, transaction_key, requester_symbol, responder_symbol, requester_state,"
    " responder_state, created_at, updated_at, intermediaries, bridge"
)

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
DUE = (
    _HEADS
    + """
SELECT d.id, d.message_id, d.address, m.ber, d.attempts, m.apdu_type, m.target_symbol,
       m.received_at, d.next_attempt_at, m.xml
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

NEXT_DUE = _HEADS + "SELECT min(next_attempt_at) FROM heads"

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
    " length(m.ber), m.reason, m.state, length(m.xml)"
)

# list_transactions with a filter on either party (or either machine's state): the newest
# matches of each party, each a walk down its index that stops at the limit, merged. With both
# filters, the walks over a peer's transactions skip those in other states.
_EITHER = f"""
SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE id IN (
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


def micros(moment: datetime) -> int:
    """A time as the store keeps it: integer microseconds since the Unix epoch."""
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware UTC time")
    since = moment - _EPOCH  # in int arithmetic: dividing timedeltas goes through Python ints
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


def moment(stored: int) -> datetime:
    return _EPOCH + timedelta(microseconds=stored)


def _optional_moment(stored: int | None) -> datetime | None:
    return None if stored is None else moment(stored)


def transaction_record(row: tuple[Any, ...]) -> TransactionRecord:
    """A row of :data:`TRANSACTION_COLUMNS`."""
    return TransactionRecord(
        id=row[0],
        key=row[1],
        requester_symbol=row[2],
        responder_symbol=row[3],
        requester_state=row[4],
        responder_state=row[5],
        created_at=moment(row[6]),
        updated_at=moment(row[7]),
        intermediaries=tuple(json.loads(row[8])) if row[8] else (),
        bridge=row[9],
    )


# -- the gateway's, per APDU ----------------------------------------------------------------


def transaction(db: sqlite3.Connection, transaction_key: str) -> TransactionRecord | None:
    row = db.execute(
        f"SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE transaction_key = ?",
        (transaction_key,),
    ).fetchone()
    return None if row is None else transaction_record(row)


def find_duplicate(db: sqlite3.Connection, dedup_key: str) -> int | None:
    row = db.execute(
        "SELECT id FROM messages WHERE dedup_key = ? AND state <> 'refused'", (dedup_key,)
    ).fetchone()
    return None if row is None else int(row[0])


def view(db: sqlite3.Connection, transaction_key: str) -> TransactionView:
    """Two index seeks, and one row per message of the transaction."""
    duplicates = {
        row[1]: (int(row[0]), row[2] == "held")
        for row in db.execute(
            "SELECT id, dedup_key, state FROM messages WHERE transaction_key = ?"
            " AND dedup_key IS NOT NULL AND state <> 'refused'",
            (transaction_key,),
        )
    }
    return TransactionView(transaction(db, transaction_key), duplicates)


def last_service(db: sqlite3.Connection, transaction_key: str) -> tuple[str, datetime] | None:
    row = db.execute(
        "SELECT apdu_type, received_at FROM messages WHERE transaction_key = ?"
        " AND state IN ('accepted', 'held') ORDER BY id DESC LIMIT 1",
        (transaction_key,),
    ).fetchone()
    return None if row is None else (row[0], moment(row[1]))


# -- the forwarder's ------------------------------------------------------------------------


def due(
    db: sqlite3.Connection, now: datetime, limit: int, per_address: int, exclude: Collection[str]
) -> list[Delivery]:
    values = {
        "now": micros(now),
        "limit": limit,
        "run": per_address,
        "exclude": json.dumps(list(exclude)),
    }
    rows = db.execute(DUE, values).fetchall()
    deliveries: list[Delivery] = []
    stopped: set[str] = set()  # addresses whose run ends at one not due yet
    for row in rows:
        if row[2] in stopped:
            continue
        if row[8] > micros(now):  # rescheduled after a retry: it and all behind it wait
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
                received_at=moment(row[7]),
                xml=row[9],
            )
        )
    return deliveries


def next_due_at(db: sqlite3.Connection, now: datetime) -> datetime | None:
    (stored,) = db.execute(NEXT_DUE).fetchone()
    return None if stored is None else max(now, moment(stored))


def counts(db: sqlite3.Connection) -> dict[str, int]:
    """Each an index range count."""
    row = db.execute(_COUNTS).fetchone()
    return dict(zip(("pending", "failed", "unroutable", "held"), row, strict=True))


# -- the operators' -------------------------------------------------------------------------


def list_messages(
    db: sqlite3.Connection,
    state: str | None,
    limit: int,
    peer: str | None = None,
    apdu_type: str | None = None,
) -> list[MessageView]:
    if state is not None and state not in MESSAGE_STATES:
        raise ValueError(f"unknown state {state!r}; expected one of {MESSAGE_STATES}")
    where = _MESSAGE_FILTERS[state]
    also = []
    if peer is not None:
        also.append("(m.peer = :peer COLLATE NOCASE OR m.target_symbol = :peer COLLATE NOCASE)")
    if apdu_type is not None:
        also.append("m.apdu_type = :apdu_type")
    if also:
        where = f"{where} AND {' AND '.join(also)}" if where else f"WHERE {' AND '.join(also)}"
    rows = db.execute(
        f"SELECT {_MESSAGE_VIEW_COLUMNS} FROM messages AS m {where}"
        " ORDER BY m.id DESC LIMIT :limit",
        {"limit": limit, "peer": peer, "apdu_type": apdu_type},
    ).fetchall()
    return _message_views(db, rows)


def traffic(db: sqlite3.Connection, since: datetime, step: timedelta, steps: int) -> list[int]:
    """Messages received in each of ``steps`` periods of ``step`` from ``since``: one range
    of the messages_received index, counted."""
    start, width = micros(since), step // timedelta(microseconds=1)
    counts = [0] * steps
    for bucket, count in db.execute(
        "SELECT (received_at - :start) / :width, count(*) FROM messages"
        " WHERE received_at >= :start AND received_at < :end GROUP BY 1",
        {"start": start, "width": width, "end": start + width * steps},
    ):
        counts[bucket] = count
    return counts


def apdu(db: sqlite3.Connection, message_id: int) -> bytes:
    row = db.execute("SELECT ber FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise KeyError(f"no message {message_id}")
    ber: bytes = row[0]
    return ber


def xml(db: sqlite3.Connection, message_id: int) -> bytes | None:
    row = db.execute("SELECT xml FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise KeyError(f"no message {message_id}")
    form: bytes | None = row[0]
    return form


def list_transactions(
    db: sqlite3.Connection,
    state: str | None,
    peer: str | None,
    limit: int,
    qualifier: str | None = None,
) -> list[TransactionRecord]:
    if qualifier is not None:
        query = f"""SELECT {TRANSACTION_COLUMNS} FROM transactions
         WHERE {QUALIFIER} = :qualifier
           AND (:symbol IS NULL OR requester_symbol = :symbol COLLATE NOCASE
                OR responder_symbol = :symbol COLLATE NOCASE)
           AND (:state IS NULL OR {_EITHER_STATE.removeprefix("AND ")})
         ORDER BY id DESC LIMIT :limit"""
    elif peer is not None:
        also = "" if state is None else _EITHER_STATE
        query = _EITHER.format(field="symbol", also=also)
    elif state is not None:
        query = _EITHER.format(field="state", also="")
    else:
        query = f"SELECT {TRANSACTION_COLUMNS} FROM transactions ORDER BY id DESC LIMIT :limit"
    values = {"state": state, "symbol": peer, "limit": limit, "qualifier": qualifier}
    rows = db.execute(query, values)
    return [transaction_record(row) for row in rows]


def transaction_history(
    db: sqlite3.Connection, transaction_id: int
) -> tuple[TransactionRecord, list[MessageView]]:
    row = db.execute(
        f"SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE id = ?", (transaction_id,)
    ).fetchone()
    if row is None:
        raise KeyError(f"no transaction {transaction_id}")
    record = transaction_record(row)
    rows = db.execute(
        f"SELECT {_MESSAGE_VIEW_COLUMNS} FROM messages AS m WHERE m.transaction_key = ?"
        " ORDER BY m.id",
        (record.key,),
    ).fetchall()
    return record, _message_views(db, rows)


def held(db: sqlite3.Connection, message_id: int) -> HeldMessage:
    row = db.execute(
        "SELECT state, transaction_key, target_symbol, ber FROM messages WHERE id = ?",
        (message_id,),
    ).fetchone()
    if row is None:
        raise KeyError(f"no message {message_id}")
    if row[0] != "held":
        raise ValueError(f"message {message_id} is {row[0]}, not held")
    return HeldMessage(message_id, row[1], row[2], row[3])


def _message_views(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[MessageView]:
    """Views of rows of :data:`_MESSAGE_VIEW_COLUMNS`, with their deliveries."""
    deliveries = _delivery_views(db, [row[0] for row in rows])
    return [
        MessageView(
            id=row[0],
            received_at=moment(row[1]),
            peer=row[2],
            apdu_type=row[3],
            transaction_key=row[4],
            target_symbol=row[5],
            size=row[6],
            reason=row[7],
            state=_message_state(row[8], deliveries.get(row[0], [])),
            deliveries=tuple(deliveries.get(row[0], [])),
            xml_size=row[9],
        )
        for row in rows
    ]


def _delivery_views(
    db: sqlite3.Connection, message_ids: list[int]
) -> dict[int, list[DeliveryView]]:
    views: dict[int, list[DeliveryView]] = {}
    for row in db.execute(
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
