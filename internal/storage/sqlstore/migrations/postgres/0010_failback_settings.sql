-- Failback settings per policy, and what the failback decision needs to
-- know about each account: how it came to exist and under what conditions
-- its password was set.
ALTER TABLE policies ADD COLUMN failback TEXT NOT NULL DEFAULT 'allowed';
ALTER TABLE policies ADD COLUMN mfa TEXT NOT NULL DEFAULT 'optional';
ALTER TABLE policies ADD COLUMN idle_timeout BIGINT NOT NULL DEFAULT 0;
ALTER TABLE policies ADD COLUMN max_lifetime BIGINT NOT NULL DEFAULT 0;
ALTER TABLE policies ADD COLUMN failback_window_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE policies ADD COLUMN auto_failback_after BIGINT NOT NULL DEFAULT 0;

-- Accounts an IdP created are those whose first SSO link was made when the
-- account was; everyone else was added by an admin or the set-up link.
ALTER TABLE accounts ADD COLUMN origin TEXT NOT NULL DEFAULT 'admin';
UPDATE accounts SET origin = 'jit'
    WHERE EXISTS (SELECT 1 FROM sso_links l WHERE l.account_id = accounts.id AND l.created_at = accounts.created_at);
-- Passwords set before this release are treated as set while SSO was not
-- enforced: nothing recorded otherwise.
ALTER TABLE accounts ADD COLUMN password_origin TEXT NOT NULL DEFAULT '';
UPDATE accounts SET password_origin = 'open' WHERE password_hash <> '';
ALTER TABLE accounts ADD COLUMN password_emergency_id TEXT NOT NULL DEFAULT '';

-- The emergency a session was made under ('' for ordinary sign-ins).
ALTER TABLE sessions ADD COLUMN emergency_id TEXT NOT NULL DEFAULT '';
