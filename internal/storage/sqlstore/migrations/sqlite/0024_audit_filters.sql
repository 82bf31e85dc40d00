-- The console and the API read the audit log newest first, a page at a
-- time by seq, filtered by who, what, outcome and target. Each index below
-- serves one filter in seq order, so a filtered page (and a deep one, by its
-- seq cursor) reads about a page of index entries rather than the whole
-- chain, at a million events as at ten. Prefix actions (login.*) use the
-- action index as a range.
CREATE INDEX audit_events_org_actor_id ON audit_events (org_id, actor_id, seq);
CREATE INDEX audit_events_org_actor_email ON audit_events (org_id, actor_email, seq);
CREATE INDEX audit_events_org_action ON audit_events (org_id, action, seq);
CREATE INDEX audit_events_org_outcome ON audit_events (org_id, outcome, seq);
CREATE INDEX audit_events_org_target ON audit_events (org_id, target_type, target_id, seq);
CREATE INDEX audit_events_org_target_id ON audit_events (org_id, target_id, seq);
-- A time range is read through this index alone when it is sorted (seq is
-- in the index), and the seq at a range's edge is one lookup.
CREATE INDEX audit_events_org_time_seq ON audit_events (org_id, event_time, seq);
-- Superseded by audit_events_org_time_seq.
DROP INDEX audit_events_org_time;
