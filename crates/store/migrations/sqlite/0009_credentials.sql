-- Entry authorisations issued, one row each, with nothing personal: the signed text itself
-- (which carries the holder's passport data) is sealed in the case history, in the details
-- of the `authorise` transition, where data-key rotation and crypto-shredding reach it.
--
-- `revocation_seq` numbers revocations across the whole deployment (from
-- `credential_revocation_counter`), so a revocation list says which revocations it includes
-- and a border post can tell a stale list from a current one.
CREATE TABLE credentials (
    id             TEXT    NOT NULL PRIMARY KEY,
    application_id TEXT    NOT NULL REFERENCES applications (id),
    mission_id     TEXT    NOT NULL,
    kid            TEXT    NOT NULL CHECK (length(kid) = 16),
    issued_at      INTEGER NOT NULL,
    not_before     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL CHECK (expires_at > not_before),
    revoked_at     INTEGER,
    revocation_seq INTEGER UNIQUE,
    crossed_at     INTEGER,
    crossing_point TEXT,
    crossed_by     TEXT,
    CHECK ((revoked_at IS NULL) = (revocation_seq IS NULL)),
    CHECK ((crossed_at IS NULL) = (crossing_point IS NULL))
) STRICT;

CREATE INDEX credentials_application ON credentials (application_id);
CREATE INDEX credentials_kid ON credentials (kid, expires_at);

CREATE TABLE credential_revocation_counter (
    only_row INTEGER NOT NULL PRIMARY KEY CHECK (only_row = 1),
    seq      INTEGER NOT NULL
) STRICT;

INSERT INTO credential_revocation_counter (only_row, seq) VALUES (1, 0);
