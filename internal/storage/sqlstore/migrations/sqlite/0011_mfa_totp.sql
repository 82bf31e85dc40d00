-- Authenticator-app (TOTP) factors: one row per account, holding the
-- secret in use and a pending one (an enrolment not yet confirmed), both
-- sealed with the deployment's secret key ('' when absent). last_step is
-- the RFC 6238 time step of the last code accepted: a code is accepted
-- only by an UPDATE that moves it forward, so it is accepted at most once.
CREATE TABLE mfa_totp (
    account_id     TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    secret_sealed  TEXT NOT NULL,
    pending_sealed TEXT NOT NULL,
    pending_at     INTEGER NOT NULL,
    confirmed_at   INTEGER NOT NULL,
    last_step      INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL
);

-- Personal recovery codes, stored as hex SHA-256 of the normalised code;
-- used_at is 0 while a code is unused and set once, by a conditional UPDATE.
CREATE TABLE mfa_recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, code_hash)
);
