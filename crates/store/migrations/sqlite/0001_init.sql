-- Legion schema, SQLite dialect. Same tables and columns as migrations/postgres/0001_init.sql.
-- Times are INTEGER milliseconds since the Unix epoch, UTC. JSON is stored as TEXT and only
-- ever read back whole. STRICT makes SQLite refuse values of the wrong type, as PostgreSQL does.

CREATE TABLE missions (
    id       TEXT    NOT NULL PRIMARY KEY,
    name     TEXT    NOT NULL,
    country  TEXT    NOT NULL,
    covers   TEXT    NOT NULL,
    regional INTEGER NOT NULL CHECK (regional IN (0, 1))
) STRICT;

CREATE TABLE staff (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    mission_id    TEXT    REFERENCES missions (id),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    staff_id   TEXT    NOT NULL REFERENCES staff (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_staff ON sessions (staff_id);

-- details holds the ApplicantDetails as JSON and will be encrypted: never query inside it.
-- state has no CHECK so that new lifecycle states do not need a table rebuild; the
-- application refuses unknown states when it reads them.
CREATE TABLE applications (
    id             TEXT    NOT NULL PRIMARY KEY,
    reference      TEXT    NOT NULL UNIQUE,
    mission_id     TEXT    NOT NULL REFERENCES missions (id),
    state          TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    access_hash    TEXT    NOT NULL,
    passport_index TEXT    NOT NULL,
    details        TEXT    NOT NULL,
    submitted_at   INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    policy_version TEXT    NOT NULL,
    recommended_by TEXT    REFERENCES staff (id),
    recommendation TEXT    CHECK (recommendation IN ('approve', 'reject')),
    flags          TEXT    NOT NULL DEFAULT '[]',
    CHECK ((recommended_by IS NULL) = (recommendation IS NULL))
) STRICT;

CREATE INDEX applications_mission_queue ON applications (mission_id, state, submitted_at);
CREATE INDEX applications_state_queue ON applications (state, submitted_at);
CREATE INDEX applications_passport_index ON applications (passport_index);

CREATE TABLE application_history (
    application_id TEXT    NOT NULL REFERENCES applications (id),
    seq            INTEGER NOT NULL CHECK (seq >= 1),
    at             INTEGER NOT NULL,
    actor          TEXT    NOT NULL,
    actor_role     TEXT    NOT NULL,
    command        TEXT    NOT NULL,
    from_state     TEXT    NOT NULL,
    to_state       TEXT    NOT NULL,
    details        TEXT    NOT NULL,
    policy_version TEXT    NOT NULL,
    PRIMARY KEY (application_id, seq)
) STRICT;

-- seq is assigned by the insert as MAX(seq) + 1 inside the writing transaction (one writer),
-- so the log has no gaps even when a transaction rolls back.
CREATE TABLE audit_events (
    seq     INTEGER NOT NULL PRIMARY KEY CHECK (seq >= 1),
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL CHECK (actor <> ''),
    role    TEXT    NOT NULL CHECK (role <> ''),
    mission TEXT,
    action  TEXT    NOT NULL CHECK (action <> ''),
    object  TEXT    NOT NULL CHECK (object <> ''),
    outcome TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed'))
) STRICT;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
