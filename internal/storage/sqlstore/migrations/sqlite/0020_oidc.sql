-- The OpenID Provider: authorization requests (kept after redemption so a
-- replayed code is recognised), access and refresh tokens (refresh tokens
-- as SHA-256 only; access tokens by ID, the token being an encryption of
-- it), and signing keys (private keys sealed under secret_key).
CREATE TABLE oidc_auth_requests (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    org_id          TEXT NOT NULL,
    request         TEXT NOT NULL,
    hint_subject    TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    done_at         BIGINT NOT NULL DEFAULT 0,
    account_id      TEXT NOT NULL DEFAULT '',
    session_id      TEXT NOT NULL DEFAULT '',
    auth_time       BIGINT NOT NULL DEFAULT 0,
    amr             TEXT NOT NULL DEFAULT '[]',
    emergency_id    TEXT NOT NULL DEFAULT '',
    code_hash       TEXT NOT NULL DEFAULT '',
    code_expires_at BIGINT NOT NULL DEFAULT 0,
    code_used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX oidc_auth_requests_code ON oidc_auth_requests (code_hash) WHERE code_hash <> '';
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);

CREATE TABLE oidc_tokens (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    token_hash      TEXT NOT NULL DEFAULT '',
    family_id       TEXT NOT NULL,
    auth_request_id TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    org_id          TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    auth_time       BIGINT NOT NULL,
    amr             TEXT NOT NULL,
    emergency_id    TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT NOT NULL DEFAULT 0,
    rotated_at      BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX oidc_tokens_hash ON oidc_tokens (token_hash) WHERE token_hash <> '';
CREATE INDEX oidc_tokens_family ON oidc_tokens (family_id);
CREATE INDEX oidc_tokens_auth_request ON oidc_tokens (auth_request_id);
CREATE INDEX oidc_tokens_expiry ON oidc_tokens (expires_at);

CREATE TABLE oidc_signing_keys (
    id           TEXT PRIMARY KEY,
    algorithm    TEXT NOT NULL,
    sealed_key   TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    active_until BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
