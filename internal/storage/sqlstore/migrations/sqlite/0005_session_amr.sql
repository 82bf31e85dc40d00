-- Sessions record how they were made: the authentication methods (a JSON
-- array of RFC 8176 "amr" values plus Gatehouse's own, e.g. ["pwd"],
-- ["sso"]) and when the person authenticated (microseconds, like every
-- time column).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;

-- Sessions made before this migration knew only their method. A set-up or
-- password-reset session was made by the person choosing the account's
-- password in that very request: "pwd" is the honest nearest value and the
-- weakest standard one, so it never over-claims. A recovery link bypasses
-- every usual method and says so. They authenticated when the session
-- began.
UPDATE sessions SET
    amr = CASE method
        WHEN 'password' THEN '["pwd"]'
        WHEN 'setup'    THEN '["pwd"]'
        WHEN 'reset'    THEN '["pwd"]'
        WHEN 'sso'      THEN '["sso"]'
        WHEN 'recovery' THEN '["recovery"]'
        ELSE '[]'
    END,
    auth_time = created_at;
