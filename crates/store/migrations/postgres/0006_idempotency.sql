-- See migrations/sqlite/0006_idempotency.sql.
CREATE TABLE idempotency_keys (
    key_hash       TEXT   NOT NULL PRIMARY KEY,
    request_hash   TEXT   NOT NULL,
    application_id TEXT   NOT NULL REFERENCES applications (id),
    created_at     BIGINT NOT NULL
);
