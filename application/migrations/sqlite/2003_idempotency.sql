-- The Idempotency-Key of each REST write, with the fingerprint (SHA-256 of method, path and
-- body) of the request first sent with it: a key sent again with a different request is
-- refused (IDEMPOTENCY_KEY_REUSED) instead of silently answering for the first one.
-- The command itself is applied once through its command id, derived from the key.

CREATE TABLE idempotency_keys (
    tenant_id    TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);
