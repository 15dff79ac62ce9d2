-- Legion schema, PostgreSQL dialect. Same tables and columns as migrations/sqlite/0001_init.sql.
-- Times are BIGINT milliseconds since the Unix epoch, UTC. JSON is stored as TEXT and only
-- ever read back whole. Keys are COLLATE "C" so that ORDER BY sorts byte-wise, as SQLite
-- does, whatever the database's default collation.

CREATE TABLE missions (
    id       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name     TEXT    NOT NULL,
    country  TEXT    NOT NULL,
    covers   TEXT    NOT NULL,
    regional BOOLEAN NOT NULL
);

CREATE TABLE staff (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    mission_id    TEXT COLLATE "C" REFERENCES missions (id),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT   NOT NULL PRIMARY KEY,
    staff_id   TEXT COLLATE "C" NOT NULL REFERENCES staff (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_staff ON sessions (staff_id);

-- details holds the ApplicantDetails as JSON and will be encrypted: never query inside it.
-- state has no CHECK so that new lifecycle states need no constraint change; the
-- application refuses unknown states when it reads them.
CREATE TABLE applications (
    id             TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    reference      TEXT COLLATE "C" NOT NULL UNIQUE,
    mission_id     TEXT COLLATE "C" NOT NULL REFERENCES missions (id),
    state          TEXT COLLATE "C" NOT NULL,
    version        BIGINT NOT NULL CHECK (version >= 1),
    access_hash    TEXT   NOT NULL,
    passport_index TEXT   NOT NULL,
    details        TEXT   NOT NULL,
    submitted_at   BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    policy_version TEXT   NOT NULL,
    recommended_by TEXT COLLATE "C" REFERENCES staff (id),
    recommendation TEXT   CHECK (recommendation IN ('approve', 'reject')),
    flags          TEXT   NOT NULL DEFAULT '[]',
    CHECK ((recommended_by IS NULL) = (recommendation IS NULL))
);

CREATE INDEX applications_mission_queue ON applications (mission_id, state, submitted_at);
CREATE INDEX applications_state_queue ON applications (state, submitted_at);
CREATE INDEX applications_passport_index ON applications (passport_index);

CREATE TABLE application_history (
    application_id TEXT COLLATE "C" NOT NULL REFERENCES applications (id),
    seq            BIGINT NOT NULL CHECK (seq >= 1),
    at             BIGINT NOT NULL,
    actor          TEXT   NOT NULL,
    actor_role     TEXT   NOT NULL,
    command        TEXT   NOT NULL,
    from_state     TEXT   NOT NULL,
    to_state       TEXT   NOT NULL,
    details        TEXT   NOT NULL,
    policy_version TEXT   NOT NULL,
    PRIMARY KEY (application_id, seq)
);

-- Not an identity column: a sequence hands out numbers outside transactions, so rolled-back
-- appends would leave gaps and concurrent appends could commit out of order. The store
-- assigns MAX(seq) + 1 while holding an EXCLUSIVE lock on the table until commit.
CREATE TABLE audit_events (
    seq     BIGINT NOT NULL PRIMARY KEY CHECK (seq >= 1),
    at      BIGINT NOT NULL,
    actor   TEXT   NOT NULL CHECK (actor <> ''),
    role    TEXT   NOT NULL CHECK (role <> ''),
    mission TEXT,
    action  TEXT   NOT NULL CHECK (action <> ''),
    object  TEXT   NOT NULL CHECK (object <> ''),
    outcome TEXT   NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed'))
);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- Row triggers do not see TRUNCATE.
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
