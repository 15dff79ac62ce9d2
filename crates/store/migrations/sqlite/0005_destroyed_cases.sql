-- When a mission's data keys are shredded, its cases keep their ids, states and dates for the
-- statistics but leave the queues and screening: data_destroyed_at marks them. Their blind
-- indexes are erased in the same transaction.
ALTER TABLE applications ADD COLUMN data_destroyed_at INTEGER;

-- One-off upgrade steps done in code record here that they finished, so they run once.
CREATE TABLE store_upgrades (
    name        TEXT    NOT NULL PRIMARY KEY,
    finished_at INTEGER NOT NULL
) STRICT;
