-- Entry authorisations issued. Same tables as migrations/sqlite/0009_credentials.sql; see there.
CREATE TABLE credentials (
    id             TEXT    NOT NULL PRIMARY KEY,
    application_id TEXT    NOT NULL REFERENCES applications (id),
    mission_id     TEXT    NOT NULL,
    kid            TEXT    NOT NULL CHECK (length(kid) = 16),
    issued_at      BIGINT  NOT NULL,
    not_before     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL CHECK (expires_at > not_before),
    revoked_at     BIGINT,
    revocation_seq BIGINT  UNIQUE,
    crossed_at     BIGINT,
    crossing_point TEXT,
    crossed_by     TEXT,
    CHECK ((revoked_at IS NULL) = (revocation_seq IS NULL)),
    CHECK ((crossed_at IS NULL) = (crossing_point IS NULL))
);

CREATE INDEX credentials_application ON credentials (application_id);
CREATE INDEX credentials_kid ON credentials (kid, expires_at);

CREATE TABLE credential_revocation_counter (
    only_row INTEGER NOT NULL PRIMARY KEY CHECK (only_row = 1),
    seq      BIGINT  NOT NULL
);

INSERT INTO credential_revocation_counter (only_row, seq) VALUES (1, 0);
