-- When an account was last reminded to register an emergency passkey:
-- the console reminds a person at most once a week. One row per account;
-- reminded_at is unix microseconds.
CREATE TABLE passkey_reminders (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL,
    reminded_at BIGINT NOT NULL
);
