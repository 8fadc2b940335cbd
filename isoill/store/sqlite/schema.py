"""The SQLite store's tables and indexes, and the upgrades from each older version.

The stored schema is the store's file format: a store written by an older isoill opens and
delivers. Each upgrade is frozen; the current schema may change (with a new version and an
upgrade to it), the upgrades may not.
"""

from __future__ import annotations

import sqlite3

from isoill.store.errors import StoreError

SCHEMA_VERSION = 7

#: The transaction-id's qualifier, the key's third part (keys of another form have none), as
#: indexed: a query must name it exactly so for SQLite to use the index.
QUALIFIER = "CASE WHEN json_valid(transaction_key) THEN json_extract(transaction_key, '$[2]') END"

MESSAGE_COLUMNS = (
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
        intermediaries TEXT,
        bridge TEXT
    )"""

# Each state CHECK is a chain of ORs, not an IN list: SQLite builds an IN list of three values
# or more into a temporary B-tree, and in a CHECK it builds it anew for every row written (a
# B-tree opened, a page zeroed, the B-tree closed), on every APDU's message, its deliveries
# and each delivery's outcome.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        peer TEXT NOT NULL,
        apdu_type TEXT NOT NULL,
        transaction_key TEXT,
        target_symbol TEXT,
        ber BLOB NOT NULL,
        state TEXT NOT NULL CHECK (
            state = 'accepted' OR state = 'unroutable' OR state = 'held' OR state = 'refused'
        ),
        reason TEXT,
        dedup_key TEXT,
        xml BLOB
    )""",
    """CREATE TABLE IF NOT EXISTS deliveries (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages (id),
        address TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state = 'pending' OR state = 'delivered' OR state = 'failed'),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_attempt_at INTEGER,
        last_error TEXT,
        delivered_at INTEGER
    )""",
    _TRANSACTIONS,
    "CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (state, address, id)",
    "CREATE INDEX IF NOT EXISTS deliveries_message ON deliveries (message_id, state)",
    # The messages in the states looked for by state: an accepted message, nearly every one,
    # costs this index nothing. A query's "state = 'held'" implies one term of the OR, so
    # SQLite uses the index for it as it is.
    "CREATE INDEX IF NOT EXISTS messages_state ON messages (state)"
    " WHERE state = 'unroutable' OR state = 'held' OR state = 'refused'",
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
    # The console's: the traffic of the last day (an index range), and a search by the
    # transaction-id's qualifier (the key's third part).
    "CREATE INDEX IF NOT EXISTS messages_received ON messages (received_at)",
    f"CREATE INDEX IF NOT EXISTS transactions_qualifier ON transactions ({QUALIFIER})",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)

# Upgrades from each older version to the next, run in one transaction before SCHEMA (which
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
    f"INSERT INTO messages_v2 ({MESSAGE_COLUMNS}) SELECT {MESSAGE_COLUMNS} FROM messages",
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
# Version 5 added two indexes and nothing else, which SCHEMA creates.
_UPGRADE_FROM_4: tuple[str, ...] = ()
# Version 6 added the ISO 18626 bridge's columns: each message's ISO 18626 form beside its
# BER (NULL: none), and each transaction's bridge state (JSON text; NULL: no ISO 18626 side).
_UPGRADE_FROM_5 = (
    "ALTER TABLE messages ADD COLUMN xml BLOB",
    "ALTER TABLE transactions ADD COLUMN bridge TEXT",
)
# Version 7 wrote the state CHECKs as chains of ORs (the same states: SQLite runs an IN list
# in a CHECK as a temporary B-tree for each row), and left accepted messages out of the
# messages_state index. SQLite cannot alter a CHECK: both tables are rebuilt, keeping their
# rows and ids, and renamed into place as for version 2; SCHEMA then creates their indexes
# again, as they now are.
_UPGRADE_FROM_6 = (
    """CREATE TABLE messages_v7 (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        peer TEXT NOT NULL,
        apdu_type TEXT NOT NULL,
        transaction_key TEXT,
        target_symbol TEXT,
        ber BLOB NOT NULL,
        state TEXT NOT NULL CHECK (
            state = 'accepted' OR state = 'unroutable' OR state = 'held' OR state = 'refused'
        ),
        reason TEXT,
        dedup_key TEXT,
        xml BLOB
    )""",
    "INSERT INTO messages_v7 (id, received_at, peer, apdu_type, transaction_key, target_symbol,"
    " ber, state, reason, dedup_key, xml) SELECT id, received_at, peer, apdu_type,"
    " transaction_key, target_symbol, ber, state, reason, dedup_key, xml FROM messages",
    "DROP TABLE messages",
    "ALTER TABLE messages_v7 RENAME TO messages",
    """CREATE TABLE deliveries_v7 (
        id INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages (id),
        address TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state = 'pending' OR state = 'delivered' OR state = 'failed'),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_attempt_at INTEGER,
        last_error TEXT,
        delivered_at INTEGER
    )""",
    "INSERT INTO deliveries_v7 (id, message_id, address, state, attempts, next_attempt_at,"
    " last_attempt_at, last_error, delivered_at) SELECT id, message_id, address, state,"
    " attempts, next_attempt_at, last_attempt_at, last_error, delivered_at FROM deliveries",
    "DROP TABLE deliveries",
    "ALTER TABLE deliveries_v7 RENAME TO deliveries",
)
_UPGRADES = {
    1: _UPGRADE_FROM_1,
    2: _UPGRADE_FROM_2,
    3: _UPGRADE_FROM_3,
    4: _UPGRADE_FROM_4,
    5: _UPGRADE_FROM_5,
    6: _UPGRADE_FROM_6,
}


def create(db: sqlite3.Connection) -> None:
    """Create the tables, or bring an older version's up to date, inside the caller's write
    transaction, with foreign keys off (the upgrades' table rebuilds need them off)."""
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise StoreError(f"queue schema {version} is newer than {SCHEMA_VERSION}")
    for older in range(version, SCHEMA_VERSION) if version else ():  # 0: new file
        for statement in _UPGRADES[older]:
            db.execute(statement)
    if version == 1 and db.execute("PRAGMA foreign_key_check").fetchone() is not None:
        raise StoreError("schema upgrade lost a message that deliveries refer to")
    for statement in SCHEMA:
        db.execute(statement)
