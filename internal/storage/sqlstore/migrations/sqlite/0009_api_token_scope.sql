-- API tokens carry a scope: read (GET only), admin, or owner. Tokens made
-- before scopes existed acted with the organization's full admin authority;
-- they become admin tokens, which keeps every call they made working except
-- the owner-only ones.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';
