-- The chain head also records the time of its newest event, so the head
-- can be exported and logged as (seq, hash, time) and compared with a copy
-- kept outside the database. Existing heads take it from their event.
ALTER TABLE audit_heads ADD COLUMN event_time BIGINT NOT NULL DEFAULT 0;
UPDATE audit_heads SET event_time = COALESCE((SELECT e.event_time FROM audit_events e
    WHERE e.org_id = audit_heads.org_id AND e.seq = audit_heads.seq), 0);
