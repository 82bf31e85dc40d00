-- Event times along a chain are nearly, not strictly, in seq order: each
-- node stamps its own clock. max_time is the running maximum of event_time
-- along the chain, so it never decreases with seq, and the chain head
-- keeps it for the next append. It turns a time range into a seq range
-- with index probes (see auditSeqBounds): no event is later than its
-- max_time, and an event more than a minute earlier than its max_time is
-- rare enough to be listed in an index of its own. Neither is part of an
-- event's hash: max_time follows from the hashed times.
ALTER TABLE audit_events ADD COLUMN max_time BIGINT;
UPDATE audit_events SET max_time = w.m
    FROM (SELECT org_id, seq, MAX(event_time) OVER (PARTITION BY org_id ORDER BY seq) AS m FROM audit_events) w
    WHERE audit_events.org_id = w.org_id AND audit_events.seq = w.seq;
CREATE INDEX audit_events_org_max_time ON audit_events (org_id, max_time, seq);
-- The predicate is repeated word for word by the query that reads it.
CREATE INDEX audit_events_org_backsteps ON audit_events (org_id, seq, event_time)
    WHERE max_time - event_time > 60000000;
ALTER TABLE audit_heads ADD COLUMN max_time BIGINT NOT NULL DEFAULT 0;
UPDATE audit_heads SET max_time = COALESCE((SELECT MAX(e.event_time) FROM audit_events e WHERE e.org_id = audit_heads.org_id), 0);
