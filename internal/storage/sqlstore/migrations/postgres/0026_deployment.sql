-- Facts about the running deployment, not about any organization: `serve`
-- records the public URL it runs at, so that the admin CLI prints the
-- addresses the server really answers on. One row per key.
CREATE TABLE deployment_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
