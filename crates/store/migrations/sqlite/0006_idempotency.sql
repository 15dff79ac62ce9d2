-- A submission sent with an Idempotency-Key is recorded with it, in the same transaction, so
-- that the same request sent again (after a timeout, a crash, a lost answer) returns the first
-- answer instead of a second application. key_hash is a keyed hash of the client's key;
-- request_hash a SHA-256 of the request body; neither reveals either.
CREATE TABLE idempotency_keys (
    key_hash       TEXT    NOT NULL PRIMARY KEY,
    request_hash   TEXT    NOT NULL,
    application_id TEXT    NOT NULL REFERENCES applications (id),
    created_at     INTEGER NOT NULL
) STRICT;
