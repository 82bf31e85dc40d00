-- SSO health (internal/health): outcome counts per connection and minute,
-- active checks, incidents and the certificate-expiry notices already sent.
-- Times are unix microseconds (0 = unset), like every other table.

-- One row per connection and minute, updated by upsert: never one row per
-- sign-in.
CREATE TABLE sso_outcomes (
    connection_id TEXT NOT NULL REFERENCES idp_connections (id) ON DELETE CASCADE,
    minute        INTEGER NOT NULL,
    started       INTEGER NOT NULL DEFAULT 0,
    succeeded     INTEGER NOT NULL DEFAULT 0,
    idp_error     INTEGER NOT NULL DEFAULT 0,
    invalid       INTEGER NOT NULL DEFAULT 0,
    abandoned     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, minute)
);
CREATE INDEX sso_outcomes_minute ON sso_outcomes (minute);

-- How each connection's most recent sign-in ended ("did the last one fail?").
CREATE TABLE sso_last_outcomes (
    connection_id TEXT PRIMARY KEY REFERENCES idp_connections (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    at            INTEGER NOT NULL
);

-- Probe and metadata-refresh results: the latest per connection and a short
-- history (purged by age).
CREATE TABLE sso_checks (
    connection_id TEXT NOT NULL REFERENCES idp_connections (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    at            INTEGER NOT NULL,
    ok            INTEGER NOT NULL,
    latency_us    INTEGER NOT NULL,
    detail        TEXT NOT NULL
);
CREATE INDEX sso_checks_connection ON sso_checks (connection_id, at);
CREATE INDEX sso_checks_at ON sso_checks (at);

-- failing_at is the last evaluation that found the condition still true;
-- the incident closes once it has been clear for the whole window.
-- At most one open incident per connection: the partial unique index is
-- the arbiter when several nodes evaluate at once.
CREATE TABLE sso_incidents (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES idp_connections (id) ON DELETE CASCADE,
    cause         TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER NOT NULL,
    failing_at    INTEGER NOT NULL,
    details       TEXT NOT NULL
);
CREATE UNIQUE INDEX sso_incidents_open ON sso_incidents (connection_id) WHERE ended_at = 0;
CREATE INDEX sso_incidents_org ON sso_incidents (org_id, started_at);

-- Certificate-expiry notices sent: each threshold once per certificate.
CREATE TABLE sso_cert_notices (
    connection_id TEXT NOT NULL REFERENCES idp_connections (id) ON DELETE CASCADE,
    fingerprint   TEXT NOT NULL,
    days          INTEGER NOT NULL,
    sent_at       INTEGER NOT NULL,
    PRIMARY KEY (connection_id, fingerprint, days)
);

-- An AuthnRequest that expired unanswered is counted as abandoned once;
-- this marks it counted.
ALTER TABLE authn_requests ADD COLUMN abandon_claimed INTEGER NOT NULL DEFAULT 0;
