-- The members page at scale: search by name prefix and sort by name or
-- last sign-in with keyset paging. name_key is the lowercased display name
-- (storage.NameKey), written by the store with every create and update and
-- filled in for older rows by the Go step of this version (backfill.go);
-- last_sign_in_at is the creation time of the account's newest session,
-- kept by CreateSession. Text keys compare bytewise (COLLATE "C"), so a
-- prefix is a range of the index whatever the database's collation.
ALTER TABLE accounts ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN last_sign_in_at BIGINT NOT NULL DEFAULT 0;
UPDATE accounts SET last_sign_in_at = COALESCE((SELECT MAX(s.created_at) FROM sessions s WHERE s.account_id = accounts.id), 0);
CREATE INDEX accounts_org_name_key ON accounts (org_id, name_key, id);
CREATE INDEX accounts_org_last_sign_in ON accounts (org_id, last_sign_in_at, id);
CREATE INDEX accounts_org_created ON accounts (org_id, created_at, id);
CREATE INDEX accounts_org_email_c ON accounts (org_id, email COLLATE "C");
