-- Organization recovery codes: ten single-use codes an owner generates;
-- each signs an owner in at /recover without the IdP and without mail.
-- Only the SHA-256 of each code is kept. Regenerating deletes the old set.
CREATE TABLE org_recovery_codes (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0,
    used_by    TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX org_recovery_codes_hash ON org_recovery_codes (org_id, code_hash);
