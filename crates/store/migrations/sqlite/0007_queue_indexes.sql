-- A staff queue reads the oldest (or most recently changed) cases of one mission, of one
-- mission in one state, page by page, among cases whose data is not destroyed. Each order
-- has an index, so that a page reads its own rows only, however many cases there are.
CREATE INDEX applications_mission_submitted ON applications (mission_id, submitted_at, id)
    WHERE data_destroyed_at IS NULL;
CREATE INDEX applications_mission_state_submitted ON applications (mission_id, state, submitted_at, id)
    WHERE data_destroyed_at IS NULL;
CREATE INDEX applications_mission_updated ON applications (mission_id, updated_at, id)
    WHERE data_destroyed_at IS NULL;
