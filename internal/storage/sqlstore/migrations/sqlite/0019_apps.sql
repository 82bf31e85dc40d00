-- Registered applications: OpenID Connect clients and sites behind a
-- reverse proxy that asks /auth/verify. Lists (redirect URIs, scopes,
-- groups, hosts) are JSON arrays of strings: they are read and written
-- whole with the app. Each host is also a row of app_hosts, whose primary
-- key makes a host belong to one app in the whole deployment.
CREATE TABLE apps (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    secret_hash        TEXT NOT NULL,
    public             INTEGER NOT NULL,
    redirect_uris      TEXT NOT NULL,
    post_logout_uris   TEXT NOT NULL,
    scopes             TEXT NOT NULL,
    allowed_groups     TEXT NOT NULL,
    hosts              TEXT NOT NULL,
    access_token_ttl   INTEGER NOT NULL,
    id_token_ttl       INTEGER NOT NULL,
    refresh_token_ttl  INTEGER NOT NULL,
    signing_alg        TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    version            INTEGER NOT NULL
);
CREATE UNIQUE INDEX apps_client_id ON apps (client_id);
CREATE UNIQUE INDEX apps_org_name ON apps (org_id, name);

CREATE TABLE app_hosts (
    host   TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps (id) ON DELETE CASCADE
);
CREATE INDEX app_hosts_app ON app_hosts (app_id);
