-- API tokens may expire (0: never), and record the address of their last
-- use beside its time, so an admin can tell a token used from an unknown
-- place before revoking it.
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN last_used_ip TEXT NOT NULL DEFAULT '';

-- The console overview counts sign-ins per day and method over the last
-- 30 days. With (org_id, action, event_time) the count reads only the
-- organization's sign-in events of those days, however large the rest of
-- the log grows; (org_id, event_time) would read every event of the window.
CREATE INDEX audit_events_activity ON audit_events (org_id, action, event_time);
