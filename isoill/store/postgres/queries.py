"""The PostgreSQL store's reads: the forwarder's (what is due), the gateway's per APDU, and the
operators' listings, each a function of the connection, with the SQLite store's results. Every
query the gateway and the forwarder make per APDU is an index seek
(``tests/store/test_index_seeks.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from psycopg import Connection
from psycopg.rows import TupleRow

from isoill.core.views import TransactionRecord, TransactionView
from isoill.store.records import MESSAGE_STATES, Delivery, DeliveryView, HeldMessage, MessageView

Db = Connection[TupleRow]

TRANSACTION_COLUMNS = (
    "id, transaction_key, requester_symbol, responder_symbol, requester_state,"
    " responder_state, created_at, updated_at, intermediaries, version, bridge::text"
)

# The head of each address's queue: its pending delivery of the lowest seq (commit order: see
# the schema). A loose index scan of the deliveries_queue index (address, seq), as the SQLite
# store's: the first pending entry, then for each head one index seek to the first entry of
# the next greater address; one seek per address with pending work, whatever lies behind.
_HEADS = """
WITH RECURSIVE heads (id, address, seq, next_attempt_at) AS (
    (SELECT id, address, seq, next_attempt_at FROM deliveries WHERE state = 'pending'
      ORDER BY address, seq LIMIT 1)
    UNION ALL
    SELECT following.* FROM heads CROSS JOIN LATERAL (
        SELECT n.id, n.address, n.seq, n.next_attempt_at FROM deliveries AS n
         WHERE n.state = 'pending' AND n.address > heads.address
         ORDER BY n.address, n.seq LIMIT 1) AS following
)
"""

# The due heads, oldest due first, and behind each the next pending deliveries to its address
# (up to %(run)s, in seq order): each an index seek from its address in deliveries_queue.
DUE = (
    _HEADS
    + """
SELECT d.id, d.message_id, d.address, m.ber, d.attempts, m.apdu_type, m.target_symbol,
       m.received_at, d.next_attempt_at, m.xml
  FROM (SELECT address, id, next_attempt_at FROM heads
         WHERE next_attempt_at <= %(now)s AND address <> ALL (%(exclude)s::text[])
         ORDER BY next_attempt_at, id LIMIT %(limit)s) AS h
  CROSS JOIN LATERAL (SELECT n.id, n.message_id, n.address, n.attempts, n.next_attempt_at, n.seq
                        FROM deliveries AS n
                       WHERE n.state = 'pending' AND n.address = h.address
                       ORDER BY n.seq LIMIT %(run)s) AS d
  JOIN messages AS m ON m.id = d.message_id
 ORDER BY h.next_attempt_at, h.id, d.seq
"""
)

NEXT_DUE = _HEADS + "SELECT min(next_attempt_at) FROM heads"

# WHERE clauses of list_messages, one per filter, as the SQLite store's.
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
# matches of each party, each a walk down its lower() index that stops at the limit, merged.
# With both filters, the walks over a peer's transactions skip those in other states.
_EITHER = f"""
SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE id IN (
    (SELECT id FROM transactions WHERE lower(requester_{{field}}) = lower(%({{field}})s) {{also}}
      ORDER BY id DESC LIMIT %(limit)s)
    UNION ALL
    (SELECT id FROM transactions WHERE lower(responder_{{field}}) = lower(%({{field}})s) {{also}}
      ORDER BY id DESC LIMIT %(limit)s)
) ORDER BY id DESC LIMIT %(limit)s
"""
_EITHER_STATE = (
    "AND (lower(requester_state) = lower(%(state)s) OR lower(responder_state) = lower(%(state)s))"
)

_COUNTS = """
SELECT (SELECT count(*) FROM deliveries WHERE state = 'pending'),
       (SELECT count(*) FROM deliveries WHERE state = 'failed'),
       (SELECT count(*) FROM messages WHERE state = 'unroutable'),
       (SELECT count(*) FROM messages WHERE state = 'held')
"""


def transaction_record(row: Sequence[Any]) -> TransactionRecord:
    """A row of :data:`TRANSACTION_COLUMNS`."""
    return TransactionRecord(
        id=row[0],
        key=row[1],
        requester_symbol=row[2],
        responder_symbol=row[3],
        requester_state=row[4],
        responder_state=row[5],
        created_at=row[6],
        updated_at=row[7],
        intermediaries=tuple(row[8]),
        version=row[9],
        bridge=row[10],
    )


# -- the gateway's, per APDU ----------------------------------------------------------------


_TRANSACTION = f"SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE transaction_key = %s"


def transaction(db: Db, transaction_key: str) -> TransactionRecord | None:
    row = db.execute(_TRANSACTION, (transaction_key,)).fetchone()
    return None if row is None else transaction_record(row)


def find_duplicate(db: Db, dedup_key: str) -> int | None:
    row = db.execute(
        "SELECT id FROM messages WHERE dedup_key = %s AND state <> 'refused'", (dedup_key,)
    ).fetchone()
    return None if row is None else int(row[0])


def view(db: Db, transaction_key: str) -> TransactionView:
    """Two index seeks, pipelined (one round trip), and one row per message of the
    transaction."""
    with db.pipeline():
        record = db.cursor().execute(_TRANSACTION, (transaction_key,))
        messages = db.cursor().execute(
            "SELECT id, dedup_key, state FROM messages WHERE transaction_key = %s"
            " AND dedup_key IS NOT NULL AND state <> 'refused'",
            (transaction_key,),
        )
    row = record.fetchone()
    duplicates = {key: (int(message_id), state == "held") for message_id, key, state in messages}
    return TransactionView(None if row is None else transaction_record(row), duplicates)


def last_service(db: Db, transaction_key: str) -> tuple[str, datetime] | None:
    row = db.execute(
        "SELECT apdu_type, received_at FROM messages WHERE transaction_key = %s"
        " AND state IN ('accepted', 'held') ORDER BY id DESC LIMIT 1",
        (transaction_key,),
    ).fetchone()
    return None if row is None else (row[0], row[1])


# -- the forwarder's ------------------------------------------------------------------------


def due(
    db: Db, now: datetime, limit: int, per_address: int, exclude: Collection[str]
) -> list[Delivery]:
    values = {"now": now, "limit": limit, "run": per_address, "exclude": list(exclude)}
    deliveries: list[Delivery] = []
    stopped: set[str] = set()  # addresses whose run ends at one not due yet
    for row in db.execute(DUE, values).fetchall():
        if row[2] in stopped:
            continue
        if row[8] > now:  # rescheduled after a retry: it and all behind it wait
            stopped.add(row[2])
            continue
        deliveries.append(replace(Delivery(*row[:8]), xml=row[9]))
    return deliveries


def next_due_at(db: Db, now: datetime) -> datetime | None:
    row = db.execute(NEXT_DUE).fetchone()
    stored: datetime | None = None if row is None else row[0]
    return None if stored is None else max(now, stored)


def counts(db: Db) -> dict[str, int]:
    """Each an index range count."""
    row = db.execute(_COUNTS).fetchone()
    assert row is not None
    return dict(zip(("pending", "failed", "unroutable", "held"), row, strict=True))


# -- the operators' -------------------------------------------------------------------------


def list_messages(
    db: Db,
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
        also.append("(lower(m.peer) = lower(%(peer)s) OR lower(m.target_symbol) = lower(%(peer)s))")
    if apdu_type is not None:
        also.append("m.apdu_type = %(apdu_type)s")
    if also:
        where = f"{where} AND {' AND '.join(also)}" if where else f"WHERE {' AND '.join(also)}"
    rows = db.execute(
        f"SELECT {_MESSAGE_VIEW_COLUMNS} FROM messages AS m {where}"
        " ORDER BY m.id DESC LIMIT %(limit)s",
        {"limit": limit, "peer": peer, "apdu_type": apdu_type},
    ).fetchall()
    return _message_views(db, rows)


def traffic(db: Db, since: datetime, step: timedelta, steps: int) -> list[int]:
    """Messages received in each of ``steps`` periods of ``step`` from ``since``: one range
    of the messages_received index, counted."""
    counts = [0] * steps
    for bucket, count in db.execute(
        "SELECT floor(extract(epoch FROM received_at - %(start)s) / %(width)s)::integer,"
        " count(*) FROM messages"
        " WHERE received_at >= %(start)s AND received_at < %(end)s GROUP BY 1",
        {"start": since, "width": step.total_seconds(), "end": since + step * steps},
    ):
        counts[bucket] = count
    return counts


def apdu(db: Db, message_id: int) -> bytes:
    row = db.execute("SELECT ber FROM messages WHERE id = %s", (message_id,)).fetchone()
    if row is None:
        raise KeyError(f"no message {message_id}")
    ber: bytes = row[0]
    return ber


def xml(db: Db, message_id: int) -> bytes | None:
    row = db.execute("SELECT xml FROM messages WHERE id = %s", (message_id,)).fetchone()
    if row is None:
        raise KeyError(f"no message {message_id}")
    form: bytes | None = row[0]
    return form


def list_transactions(
    db: Db, state: str | None, peer: str | None, limit: int, qualifier: str | None = None
) -> list[TransactionRecord]:
    if qualifier is not None:
        query = f"""SELECT {TRANSACTION_COLUMNS} FROM transactions
         WHERE isoill_qualifier(transaction_key) = %(qualifier)s
           AND (%(symbol)s::text IS NULL OR lower(requester_symbol) = lower(%(symbol)s)
                OR lower(responder_symbol) = lower(%(symbol)s))
           AND (%(state)s::text IS NULL OR {_EITHER_STATE.removeprefix("AND ")})
         ORDER BY id DESC LIMIT %(limit)s"""
    elif peer is not None:
        also = "" if state is None else _EITHER_STATE
        query = _EITHER.format(field="symbol", also=also)
    elif state is not None:
        query = _EITHER.format(field="state", also="")
    else:
        query = f"SELECT {TRANSACTION_COLUMNS} FROM transactions ORDER BY id DESC LIMIT %(limit)s"
    values = {"state": state, "symbol": peer, "limit": limit, "qualifier": qualifier}
    rows = db.execute(query, values)
    return [transaction_record(row) for row in rows]


def transaction_history(db: Db, transaction_id: int) -> tuple[TransactionRecord, list[MessageView]]:
    row = db.execute(
        f"SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE id = %s", (transaction_id,)
    ).fetchone()
    if row is None:
        raise KeyError(f"no transaction {transaction_id}")
    record = transaction_record(row)
    rows = db.execute(
        f"SELECT {_MESSAGE_VIEW_COLUMNS} FROM messages AS m WHERE m.transaction_key = %s"
        " ORDER BY m.id",
        (record.key,),
    ).fetchall()
    return record, _message_views(db, rows)


def held(db: Db, message_id: int) -> HeldMessage:
    row = db.execute(
        "SELECT state, transaction_key, target_symbol, ber FROM messages WHERE id = %s",
        (message_id,),
    ).fetchone()
    if row is None:
        raise KeyError(f"no message {message_id}")
    if row[0] != "held":
        raise ValueError(f"message {message_id} is {row[0]}, not held")
    return HeldMessage(message_id, row[1], row[2], row[3])


def _message_views(db: Db, rows: list[TupleRow]) -> list[MessageView]:
    """Views of rows of :data:`_MESSAGE_VIEW_COLUMNS`, with their deliveries."""
    deliveries = _delivery_views(db, [row[0] for row in rows])
    return [
        MessageView(
            id=row[0],
            received_at=row[1],
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


def _delivery_views(db: Db, message_ids: list[int]) -> dict[int, list[DeliveryView]]:
    views: dict[int, list[DeliveryView]] = {}
    if not message_ids:
        return views
    for row in db.execute(
        "SELECT message_id, address, state, attempts, next_attempt_at, last_attempt_at,"
        " last_error, delivered_at FROM deliveries"
        " WHERE message_id = ANY (%s::bigint[]) ORDER BY id",
        (message_ids,),
    ):
        views.setdefault(row[0], []).append(DeliveryView(*row[1:]))
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
