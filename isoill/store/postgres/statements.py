"""The PostgreSQL store's writes as statements: one per write, whose outcome is a row (never an
error, so that nothing aborts the transaction the write shares with others), and the
statements that queue a batch's deliveries last.

Each write's statement changes nothing unless it succeeds as a whole: an Accept whose
transaction is not at the version it names inserts nothing, nor does one whose duplicate key
a message holds (``ON CONFLICT ... DO NOTHING``); an outcome for a delivery that is not
pending, or a release of a message that is not held, updates no row. So no write needs a
savepoint to be undone alone.
"""

from __future__ import annotations

from isoill.store.postgres.queries import TRANSACTION_COLUMNS

_MESSAGE_COLUMNS = (
    "received_at, peer, apdu_type, transaction_key, target_symbol, ber, state, reason,"
    " dedup_key, xml"
)
_MESSAGE_VALUES = (
    "%(now)s, %(peer)s, %(apdu_type)s, %(key)s, %(target)s, %(ber)s, %(state)s, %(reason)s,"
    " %(dedup_key)s, %(xml)s"
)
# The message, unless one not refused has its duplicate key (the unique index decides, after
# waiting for a concurrent transaction that inserted the same key to end).
_INSERT_MESSAGE = f"""
INSERT INTO messages ({_MESSAGE_COLUMNS}) SELECT {_MESSAGE_VALUES} FROM t
    ON CONFLICT (dedup_key) WHERE dedup_key IS NOT NULL AND state <> 'refused' DO NOTHING
    RETURNING id
"""
_INTERMEDIARY = "%(intermediary)s::text"

# An Accept in a transaction known at ``version``: the row locked (waiting for a concurrent
# writer of it to commit, then checked again), the message inserted, and the transaction
# updated with it. Returns whether the version held (t), the message's id (m) and the record.
ACCEPT_KNOWN = f"""
WITH t AS (SELECT id FROM transactions
            WHERE transaction_key = %(key)s AND version = %(version)s FOR UPDATE),
m AS ({_INSERT_MESSAGE}),
u AS (UPDATE transactions SET
        requester_symbol = coalesce(requester_symbol, %(requester)s),
        responder_symbol = coalesce(%(moved_to)s, responder_symbol, %(responder)s),
        requester_state = coalesce(%(requester_state)s, requester_state),
        responder_state = coalesce(%(responder_state)s, responder_state),
        intermediaries = CASE WHEN {_INTERMEDIARY} IS NULL THEN intermediaries
                              ELSE array_append(intermediaries, {_INTERMEDIARY}) END,
        bridge = coalesce(%(bridge)s::jsonb, bridge),
        version = version + 1,
        updated_at = %(now)s
       WHERE id = (SELECT id FROM t) AND EXISTS (SELECT FROM m)
       RETURNING {TRANSACTION_COLUMNS})
SELECT (SELECT id FROM t), (SELECT id FROM m), u.* FROM (VALUES (1)) AS one LEFT JOIN u ON true
"""

# An Accept that begins its transaction: the record inserted unless one exists (a concurrent
# insert of it waited for), and the message with it. If the message turns out a duplicate,
# the record just made is deleted again (:data:`UNDO_TRANSACTION`).
ACCEPT_NEW = f"""
WITH t AS (INSERT INTO transactions (transaction_key, requester_symbol, responder_symbol,
                                     requester_state, responder_state, intermediaries, bridge,
                                     version, created_at, updated_at)
           VALUES (%(key)s, %(requester)s, coalesce(%(moved_to)s, %(responder)s),
                   %(requester_state)s, %(responder_state)s,
                   CASE WHEN {_INTERMEDIARY} IS NULL THEN '{{}}'::text[]
                        ELSE ARRAY[{_INTERMEDIARY}] END,
                   %(bridge)s::jsonb, 1, %(now)s, %(now)s)
           ON CONFLICT (transaction_key) DO NOTHING
           RETURNING {TRANSACTION_COLUMNS}),
m AS ({_INSERT_MESSAGE})
SELECT t.id, (SELECT id FROM m), t.* FROM (VALUES (1)) AS one LEFT JOIN t ON true
"""

UNDO_TRANSACTION = "DELETE FROM transactions WHERE id = %s"

FIND_DUPLICATE = "SELECT id FROM messages WHERE dedup_key = %s AND state <> 'refused'"

KEEP = f"""
INSERT INTO messages ({_MESSAGE_COLUMNS})
    VALUES (%(now)s, %(peer)s, %(apdu_type)s, %(key)s, %(target)s, %(ber)s, %(state)s,
            %(reason)s, NULL, %(xml)s)
    RETURNING id
"""

# The delivery done, and, with scrubbed bytes, the message keeping them once none of its other
# deliveries is pending (this statement sees its own delivery as it was: hence "id <>").
DELIVERED = """
WITH d AS (UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,
                  next_attempt_at = NULL, last_attempt_at = %(now)s, delivered_at = %(now)s
            WHERE id = %(id)s AND state = 'pending' RETURNING message_id),
s AS (UPDATE messages SET ber = %(scrubbed)s
       WHERE %(scrubbed)s::bytea IS NOT NULL AND id = (SELECT message_id FROM d)
         AND NOT EXISTS (SELECT 1 FROM deliveries AS o WHERE o.message_id = messages.id
                          AND o.state = 'pending' AND o.id <> %(id)s))
SELECT count(*) FROM d
"""

# A failed attempt: the next one scheduled after the policy's delay for the attempts made
# (%(delays)s[n] after n failures), or the delivery failed if that was the last allowed.
RETRY_LATER = """
UPDATE deliveries SET
    attempts = attempts + 1, last_attempt_at = %(now)s, last_error = %(error)s,
    state = CASE WHEN attempts + 1 >= %(max_attempts)s THEN 'failed' ELSE state END,
    next_attempt_at = CASE WHEN attempts + 1 >= %(max_attempts)s THEN NULL
                           ELSE %(now)s + (%(delays)s::interval[])[attempts + 1] END
 WHERE id = %(id)s AND state = 'pending'
 RETURNING state = 'pending'
"""

# The delivery given up, and the report telling the sender (if there is one) inserted in the
# delivered message's transaction: whether the delivery was pending, and the report's id.
FAIL = f"""
WITH d AS (UPDATE deliveries SET state = 'failed', attempts = attempts + 1,
                  next_attempt_at = NULL, last_attempt_at = %(now)s, last_error = %(error)s
            WHERE id = %(id)s AND state = 'pending' RETURNING message_id),
r AS (INSERT INTO messages ({_MESSAGE_COLUMNS})
      SELECT %(now)s, %(peer)s, %(apdu_type)s, m.transaction_key, %(target)s, %(ber)s,
             'accepted', NULL, NULL, NULL
        FROM d JOIN messages AS m ON m.id = d.message_id WHERE %(notice)s
      RETURNING id)
SELECT (SELECT count(*) FROM d), (SELECT id FROM r)
"""

# The message's failed deliveries (all of them if none failed) pending and due now; whether
# the message exists, and the addresses made due.
RESEND = """
WITH f AS (SELECT EXISTS (SELECT 1 FROM deliveries WHERE message_id = %(id)s
                           AND state = 'failed') AS any_failed),
u AS (UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = %(now)s,
             delivered_at = NULL
       WHERE message_id = %(id)s AND (state = 'failed' OR NOT (SELECT any_failed FROM f))
       RETURNING address)
SELECT EXISTS (SELECT 1 FROM messages WHERE id = %(id)s), array(SELECT address FROM u)
"""

# A held message leaves that state: its state before (none: no such message), and its
# transaction key if it was held and now is not.
_LEAVE_HELD = """
m AS (SELECT state FROM messages WHERE id = %(id)s),
u AS (UPDATE messages SET state = %(state)s, reason = %(reason)s
       WHERE id = %(id)s AND state = 'held' RETURNING transaction_key)
"""

RELEASE = f"""
WITH {_LEAVE_HELD}
SELECT (SELECT state FROM m), EXISTS (SELECT FROM u)
"""

# A refusal, and the report telling the sender inserted with it (if there is one).
REFUSE = f"""
WITH {_LEAVE_HELD},
r AS (INSERT INTO messages ({_MESSAGE_COLUMNS})
      SELECT %(now)s, %(peer)s, %(apdu_type)s, u.transaction_key, %(target)s, %(ber)s,
             'accepted', NULL, NULL, NULL
        FROM u WHERE %(notice)s
      RETURNING id)
SELECT (SELECT state FROM m), EXISTS (SELECT FROM u), (SELECT id FROM r)
"""

# The batch's deliveries, last: each address's row in address_queues created or updated (so
# locked until the commit), in address order, so that two processes queueing to the same
# addresses never wait for each other in a circle; each delivery numbered after the address's
# tail, in the batch's order. Returns each delivery's id, address and seq.
QUEUE = """
WITH wanted AS (
    SELECT * FROM unnest(%(messages)s::bigint[], %(addresses)s::text[],
                         %(due)s::timestamptz[]) WITH ORDINALITY AS w (message_id, address, due, n)
),
bumped AS (
    INSERT INTO address_queues AS q (address, tail)
    SELECT address, count(*) FROM wanted GROUP BY address ORDER BY address
    ON CONFLICT (address) DO UPDATE SET tail = q.tail + excluded.tail
    RETURNING address, tail
),
numbered AS (
    SELECT w.message_id, w.address, w.due, w.n,
           b.tail - count(*) OVER (PARTITION BY w.address)
                  + row_number() OVER (PARTITION BY w.address ORDER BY w.n) AS seq
      FROM wanted AS w JOIN bumped AS b USING (address)
)
INSERT INTO deliveries (message_id, address, seq, state, next_attempt_at)
SELECT message_id, address, seq, 'pending', due FROM numbered ORDER BY n
RETURNING id, address, seq
"""

# After QUEUE, in a statement of its own (which sees what every earlier holder of the
# addresses' rows committed): each address's tail, and the delivery pending there before the
# batch's first (none: nothing was pending).
BEFORE = """
SELECT q.address, q.tail,
       (SELECT d.id FROM deliveries AS d
         WHERE d.state = 'pending' AND d.address = q.address AND d.seq <= q.tail - c.queued
         ORDER BY d.seq DESC LIMIT 1)
  FROM unnest(%(addresses)s::text[], %(counts)s::bigint[]) AS c (address, queued)
  JOIN address_queues AS q USING (address)
"""

#: The channel of wake-ups: a batch that queued deliveries names their addresses there.
CHANNEL = "isoill_due"

NOTIFY = f"SELECT pg_notify('{CHANNEL}', %s)"
