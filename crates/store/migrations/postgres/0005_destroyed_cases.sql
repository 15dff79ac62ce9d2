-- See migrations/sqlite/0005_destroyed_cases.sql.
ALTER TABLE applications ADD COLUMN data_destroyed_at BIGINT;

-- One-off upgrade steps done in code record here that they finished, so they run once.
CREATE TABLE store_upgrades (
    name        TEXT   NOT NULL PRIMARY KEY,
    finished_at BIGINT NOT NULL
);
