-- SSO: domains, IdP connections, policies, SSO links and SAML state.
-- PostgreSQL dialect; keep in step with sqlite/0002_sso.sql (only types differ).
-- Every time is an integer of unix microseconds (0 = unset); every boolean is
-- an integer 0/1 in both dialects, so one set of SQL binds them the same way.

-- A name may be claimed by several organizations (each gets its own token)
-- but verified by at most one: the partial unique index is the arbiter when
-- two organizations verify the same name at once.
CREATE TABLE domains (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    verification_token TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    verified_at        BIGINT NOT NULL,
    last_checked_at    BIGINT NOT NULL,
    last_error         TEXT NOT NULL
);
CREATE UNIQUE INDEX domains_org_name ON domains (org_id, name);
CREATE UNIQUE INDEX domains_verified_name ON domains (name) WHERE verified_at > 0;

-- signing_certs is a JSON array of PEM strings, attribute_map a JSON object.
CREATE TABLE idp_connections (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    slug                TEXT NOT NULL,
    name                TEXT NOT NULL,
    entity_id           TEXT NOT NULL,
    sso_url             TEXT NOT NULL,
    signing_certs       TEXT NOT NULL,
    metadata_url        TEXT NOT NULL,
    metadata_xml        TEXT NOT NULL,
    metadata_fetched_at BIGINT NOT NULL,
    metadata_error      TEXT NOT NULL,
    name_id_format      TEXT NOT NULL,
    attribute_map       TEXT NOT NULL,
    jit                 INTEGER NOT NULL,
    allow_idp_initiated INTEGER NOT NULL,
    allow_sha1          INTEGER NOT NULL,
    allow_expired_certs INTEGER NOT NULL,
    sign_requests       INTEGER NOT NULL,
    sp_key_pem          TEXT NOT NULL,
    sp_cert_pem         TEXT NOT NULL,
    tested_at           BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    version             BIGINT NOT NULL
);
CREATE UNIQUE INDEX idp_connections_slug ON idp_connections (slug);
-- Target of the policies foreign key below, which names the organization too
-- so a policy can never point at another organization's connection.
CREATE UNIQUE INDEX idp_connections_org_id ON idp_connections (org_id, id);

-- connection_id is NULL (not '') when the policy names no connection, so the
-- foreign key is not checked for it. The key has no ON DELETE action: a
-- connection a policy uses cannot be deleted (DeleteIdPConnection reports
-- ErrConflict), while deleting a whole organization still cascades.
CREATE TABLE policies (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    is_default    INTEGER NOT NULL,
    sso           TEXT NOT NULL,
    connection_id TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    FOREIGN KEY (org_id, connection_id) REFERENCES idp_connections (org_id, id)
);
CREATE UNIQUE INDEX policies_org_name ON policies (org_id, name);
CREATE UNIQUE INDEX policies_org_default ON policies (org_id) WHERE is_default = 1;
CREATE UNIQUE INDEX policies_org_id ON policies (org_id, id);
CREATE INDEX policies_connection ON policies (connection_id);

-- account_id is the primary key: an account is in at most one named policy.
CREATE TABLE policy_members (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    org_id     TEXT NOT NULL,
    policy_id  TEXT NOT NULL,
    FOREIGN KEY (org_id, policy_id) REFERENCES policies (org_id, id) ON DELETE CASCADE
);
CREATE INDEX policy_members_policy ON policy_members (org_id, policy_id, account_id);

CREATE TABLE sso_links (
    connection_id TEXT NOT NULL REFERENCES idp_connections (id) ON DELETE CASCADE,
    subject       TEXT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, subject)
);
CREATE INDEX sso_links_account ON sso_links (account_id);

CREATE TABLE account_groups (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);

CREATE TABLE authn_requests (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES idp_connections (id) ON DELETE CASCADE,
    browser_hash  TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    test          INTEGER NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT NOT NULL
);
CREATE INDEX authn_requests_expires ON authn_requests (expires_at);

-- The replay cache, shared by every node.
CREATE TABLE saml_assertions (
    connection_id TEXT NOT NULL REFERENCES idp_connections (id) ON DELETE CASCADE,
    assertion_id  TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX saml_assertions_expires ON saml_assertions (expires_at);
