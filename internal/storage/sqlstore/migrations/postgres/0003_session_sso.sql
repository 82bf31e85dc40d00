-- Sessions created by SSO record the IdP connection and the IdP's
-- authentication instant.
ALTER TABLE sessions ADD COLUMN connection_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN idp_authn_at BIGINT NOT NULL DEFAULT 0;
