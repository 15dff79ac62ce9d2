-- Personal data encrypted at rest, and the audit log made tamper-evident.
-- Same tables and columns as migrations/sqlite/0003_vault_and_log.sql; see there.

CREATE TABLE data_keys (
    mission_id   TEXT    NOT NULL REFERENCES missions (id),
    version      BIGINT  NOT NULL CHECK (version >= 1),
    kek_version  BIGINT  NOT NULL CHECK (kek_version >= 1),
    wrapped      BYTEA,
    created_at   BIGINT  NOT NULL,
    destroyed_at BIGINT,
    PRIMARY KEY (mission_id, version),
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);

ALTER TABLE applications ADD COLUMN email_index TEXT;
CREATE INDEX applications_email_index ON applications (email_index);

ALTER TABLE audit_events ADD COLUMN before_hash TEXT;
ALTER TABLE audit_events ADD COLUMN after_hash TEXT;
ALTER TABLE audit_events ADD COLUMN chain TEXT;

-- The one update allowed: filling in the chain of an event written before it existed.
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'audit_events' AND TG_OP = 'UPDATE' THEN
        IF OLD.chain IS NULL
            AND (NEW.seq, NEW.at, NEW.actor, NEW.role, NEW.mission, NEW.action, NEW.object, NEW.outcome,
                 NEW.before_hash, NEW.after_hash)
                IS NOT DISTINCT FROM
                (OLD.seq, OLD.at, OLD.actor, OLD.role, OLD.mission, OLD.action, OLD.object, OLD.outcome,
                 OLD.before_hash, OLD.after_hash)
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TABLE audit_checkpoints (
    tree_size BIGINT NOT NULL PRIMARY KEY CHECK (tree_size >= 1),
    root      TEXT   NOT NULL,
    note      TEXT   NOT NULL,
    at        BIGINT NOT NULL
);

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
