-- Emergencies (failback mode). An organization has at most one open
-- emergency (ended_at = 0) at a time, whatever its scope: the partial
-- unique index enforces it on every node. Scoped emergencies list their
-- policies in emergency_policies; policy IDs are not foreign keys, so the
-- history survives a policy's deletion.
CREATE TABLE emergencies (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    reason           TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    ends_at          INTEGER NOT NULL,
    ended_at         INTEGER NOT NULL,
    started_by_type  TEXT NOT NULL,
    started_by_id    TEXT NOT NULL,
    started_by_email TEXT NOT NULL,
    ended_by_type    TEXT NOT NULL,
    ended_by_id      TEXT NOT NULL,
    ended_by_email   TEXT NOT NULL,
    end_reason       TEXT NOT NULL,
    automatic        INTEGER NOT NULL,
    cause            TEXT NOT NULL,
    scoped           INTEGER NOT NULL,
    version          INTEGER NOT NULL
);
CREATE UNIQUE INDEX emergencies_one_open ON emergencies (org_id) WHERE ended_at = 0;
CREATE INDEX emergencies_org_started ON emergencies (org_id, started_at);
CREATE INDEX emergencies_due ON emergencies (ends_at) WHERE ended_at = 0;

CREATE TABLE emergency_policies (
    emergency_id TEXT NOT NULL REFERENCES emergencies (id) ON DELETE CASCADE,
    policy_id    TEXT NOT NULL,
    PRIMARY KEY (emergency_id, policy_id)
);

-- Ending an emergency finds what was made under it.
CREATE INDEX sessions_emergency ON sessions (emergency_id) WHERE emergency_id <> '';
CREATE INDEX accounts_password_emergency ON accounts (password_emergency_id) WHERE password_emergency_id <> '';
