-- Throttling failed sign-ins counts recent events per object; without this index that
-- count would read the whole log.
CREATE INDEX audit_events_object_at ON audit_events (object, at);
