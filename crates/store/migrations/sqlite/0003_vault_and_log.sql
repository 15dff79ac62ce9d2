-- Personal data encrypted at rest, and the audit log made tamper-evident.
--
-- applications.details, applications.flags and application_history.details now hold sealed
-- envelopes (JSON maps of base64 XChaCha20-Poly1305 envelopes, see crates/store/src/crypto.rs)
-- instead of plaintext JSON; rows written before this migration are sealed by the server when
-- it first opens the database with its keys.

-- One data key per mission and version, wrapped by the key-encryption key (which lives outside
-- the database). A destroyed key keeps its row, with wrapped = NULL, so that what it sealed is
-- known to be shredded rather than lost.
CREATE TABLE data_keys (
    mission_id   TEXT    NOT NULL REFERENCES missions (id),
    version      INTEGER NOT NULL CHECK (version >= 1),
    kek_version  INTEGER NOT NULL CHECK (kek_version >= 1),
    wrapped      BLOB,
    created_at   INTEGER NOT NULL,
    destroyed_at INTEGER,
    PRIMARY KEY (mission_id, version),
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
) STRICT;

-- Keyed hash of the e-mail address (exact lookup without the address).
ALTER TABLE applications ADD COLUMN email_index TEXT;
CREATE INDEX applications_email_index ON applications (email_index);

-- Hashes of the changed row before and after the event (NULL when the event changed no row),
-- and the hash chain: chain(n) = SHA-256(chain(n-1) || leaf_hash(event n)). NULL only for
-- events written before this migration, until the server fills it in once.
ALTER TABLE audit_events ADD COLUMN before_hash TEXT;
ALTER TABLE audit_events ADD COLUMN after_hash TEXT;
ALTER TABLE audit_events ADD COLUMN chain TEXT;

-- The one update allowed: filling in the chain of an event written before it existed.
DROP TRIGGER audit_events_no_update;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN OLD.chain IS NOT NULL
    OR NEW.seq IS NOT OLD.seq OR NEW.at IS NOT OLD.at OR NEW.actor IS NOT OLD.actor
    OR NEW.role IS NOT OLD.role OR NEW.mission IS NOT OLD.mission OR NEW.action IS NOT OLD.action
    OR NEW.object IS NOT OLD.object OR NEW.outcome IS NOT OLD.outcome
    OR NEW.before_hash IS NOT OLD.before_hash OR NEW.after_hash IS NOT OLD.after_hash
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- Signed tree heads (C2SP tlog-checkpoint notes), append-only like the log itself.
CREATE TABLE audit_checkpoints (
    tree_size INTEGER NOT NULL PRIMARY KEY CHECK (tree_size >= 1),
    root      TEXT    NOT NULL,
    note      TEXT    NOT NULL,
    at        INTEGER NOT NULL
) STRICT;

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
