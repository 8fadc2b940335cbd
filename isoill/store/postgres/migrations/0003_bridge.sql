-- The ISO 18626 bridge's columns, as the SQLite store's schema 6: each message's ISO 18626
-- form beside its BER (what an ISO 18626 target is POSTed, or the message the APDU was
-- mapped from; NULL: none), and each transaction's bridge state (NULL: no ISO 18626 side).
ALTER TABLE messages ADD COLUMN xml bytea;
ALTER TABLE transactions ADD COLUMN bridge jsonb;
