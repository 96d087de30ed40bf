-- Retailers (tenants) and their API tokens. Configuration, not ledger facts: these rows may
-- change (a token is revoked), so they are plain tables, not events.
-- Tokens are never stored: only the SHA-256 of each token is.

CREATE TABLE tenants (
    tenant_id   TEXT    PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    token_id    TEXT    PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (tenant_id),
    role        TEXT    NOT NULL,
    label       TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id);
