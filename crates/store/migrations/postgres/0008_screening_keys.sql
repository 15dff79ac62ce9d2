-- Blind keys of each application's names and date of birth (keyed hashes, never the
-- names themselves), for finding the same person applying twice under other spellings.
-- Written when a case is screened; removed when its data is destroyed.
CREATE TABLE screening_keys (
    key            BIGINT NOT NULL,
    application_id TEXT COLLATE "C" NOT NULL REFERENCES applications (id),
    PRIMARY KEY (key, application_id)
);
CREATE INDEX screening_keys_application ON screening_keys (application_id);
