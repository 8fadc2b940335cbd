-- The console's: the traffic of the last day (an index range), and a search by the
-- transaction-id's qualifier (the key's third part), as the SQLite store's schema 5.
CREATE INDEX messages_received ON messages (received_at);

-- The qualifier of a transaction key (a JSON array: initial requester, group qualifier,
-- qualifier, sub-qualifier); NULL for a key of another form, rather than an error.
CREATE FUNCTION isoill_qualifier(key text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN CASE WHEN jsonb_typeof(key::jsonb) = 'array' THEN key::jsonb ->> 2 END;
EXCEPTION WHEN invalid_text_representation THEN
    RETURN NULL;
END
$$;
CREATE INDEX transactions_qualifier ON transactions (isoill_qualifier(transaction_key), id);
