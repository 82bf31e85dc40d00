-- A member's page lists the newest audit events naming them as target or
-- as actor; these indexes keep that a short index walk however long the
-- log grows (ListAuditAbout).
CREATE INDEX audit_events_org_target_seq ON audit_events (org_id, target_id, seq);
CREATE INDEX audit_events_org_actor_seq ON audit_events (org_id, actor_id, seq);
