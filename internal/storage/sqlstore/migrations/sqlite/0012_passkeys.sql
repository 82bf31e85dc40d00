-- Passkeys (WebAuthn credentials). credential_id is the authenticator's
-- own ID, unique across the deployment: a discoverable sign-in finds the
-- account by it. Times are unix microseconds, 0 for none.
CREATE TABLE passkeys (
    id                 TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    org_id             TEXT NOT NULL,
    credential_id      BLOB NOT NULL UNIQUE,
    public_key         BLOB NOT NULL,
    attestation_type   TEXT NOT NULL,
    attestation_format TEXT NOT NULL,
    aaguid             BLOB NOT NULL,
    sign_count         BIGINT NOT NULL,
    transports         TEXT NOT NULL,
    backup_eligible    INTEGER NOT NULL,
    backup_state       INTEGER NOT NULL,
    name               TEXT NOT NULL,
    emergency          INTEGER NOT NULL,
    clone_suspected_at INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER NOT NULL
);
CREATE INDEX passkeys_account ON passkeys (account_id, created_at);
-- The console counts who under a policy has an emergency passkey.
CREATE INDEX passkeys_emergency ON passkeys (org_id, emergency);

-- WebAuthn ceremonies in progress. id_hash is the SHA-256 of the opaque ID
-- the browser holds; a row is deleted when it is used, so a challenge
-- answers at most one ceremony. account_id is '' for a discoverable login.
CREATE TABLE passkey_challenges (
    id_hash    TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    emergency  INTEGER NOT NULL,
    session    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);
