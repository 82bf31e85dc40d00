-- Sign-ins in progress: the sign-in engine's server-side transactions.
-- Each is usable only in the browser whose secret hashes to browser_hash,
-- expires after ten minutes and is spent when a session is issued.
CREATE TABLE login_flows (
    id            TEXT PRIMARY KEY,
    browser_hash  TEXT NOT NULL,
    step          TEXT NOT NULL,
    email         TEXT NOT NULL,
    chosen        TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    methods       TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    auth_time     INTEGER NOT NULL,
    return_to     TEXT NOT NULL,
    prev_session  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER NOT NULL,
    version       INTEGER NOT NULL
);
CREATE INDEX login_flows_expires ON login_flows (expires_at);

-- An AuthnRequest sent on behalf of a flow names it, so the IdP's answer
-- continues that flow.
ALTER TABLE authn_requests ADD COLUMN flow_id TEXT NOT NULL DEFAULT '';

-- An admin's test sign-in names the admin, whose own action it is audited as.
ALTER TABLE authn_requests ADD COLUMN tester_id TEXT NOT NULL DEFAULT '';
