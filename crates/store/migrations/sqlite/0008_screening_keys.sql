-- Blind keys of each application's names and date of birth (keyed hashes, never the
-- names themselves), for finding the same person applying twice under other spellings.
-- Written when a case is screened; removed when its data is destroyed.
CREATE TABLE screening_keys (
    key            INTEGER NOT NULL,
    application_id TEXT    NOT NULL REFERENCES applications (id),
    PRIMARY KEY (key, application_id)
) WITHOUT ROWID;
CREATE INDEX screening_keys_application ON screening_keys (application_id);
