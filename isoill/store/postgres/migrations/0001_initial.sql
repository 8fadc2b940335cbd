-- The PostgreSQL store's first schema. Frozen once released: a change is a new numbered file.

-- Every APDU stored, with its bytes as received.
CREATE TABLE messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL,
    peer text NOT NULL,
    apdu_type text NOT NULL,
    transaction_key text,
    target_symbol text,
    ber bytea NOT NULL,
    state text NOT NULL CHECK (state IN ('accepted', 'unroutable', 'held', 'refused')),
    reason text,
    dedup_key text
);
-- One APDU is stored once; a refused message steps aside, so that the same APDU sent again
-- after its refusal is judged anew (the rule of the SQLite store's index).
CREATE UNIQUE INDEX messages_dedup ON messages (dedup_key)
    WHERE dedup_key IS NOT NULL AND state <> 'refused';
CREATE INDEX messages_transaction ON messages (transaction_key, id);
CREATE INDEX messages_state ON messages (state, id);

-- Each address's last delivery number (seq): the row is updated, and so locked until commit,
-- by every transaction that queues to the address, so seq order is commit order.
CREATE TABLE address_queues (
    address text PRIMARY KEY,
    tail bigint NOT NULL
);

CREATE TABLE deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES messages (id),
    address text NOT NULL,
    seq bigint NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    last_error text,
    delivered_at timestamptz,
    UNIQUE (address, seq)
);
-- Each address's queue in order: the heads, and the runs behind them.
CREATE INDEX deliveries_queue ON deliveries (address, seq) WHERE state = 'pending';
CREATE INDEX deliveries_failed ON deliveries (message_id) WHERE state = 'failed';
CREATE INDEX deliveries_message ON deliveries (message_id, state);

CREATE TABLE transactions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_key text NOT NULL UNIQUE,
    requester_symbol text,
    responder_symbol text,
    requester_state text,
    responder_state text,
    intermediaries text[] NOT NULL DEFAULT '{}',
    -- One more for each APDU stored in it: a write names the version it was judged against.
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- The operators' filters, regardless of case; each ends in the id, so that newest first is
-- a walk down the index.
CREATE INDEX transactions_requester ON transactions (lower(requester_symbol), id);
CREATE INDEX transactions_responder ON transactions (lower(responder_symbol), id);
CREATE INDEX transactions_requester_state ON transactions (lower(requester_state), id);
CREATE INDEX transactions_responder_state ON transactions (lower(responder_state), id);
