-- Webhooks: the endpoints a retailer registers and every delivery attempt made to them.
-- Configuration and delivery bookkeeping, not ledger facts: plain tables, not events.
--
-- An endpoint's checkpoint (checkpoint_commit, checkpoint_prepare) is the log position up
-- to which every event it wants has been delivered (2xx). It moves only in the transaction
-- that records the successful attempt (or skips events the endpoint does not want), so a
-- restart resumes at the first undelivered event. `failures` counts the failed attempts at
-- the next event after the checkpoint, so the retry count and the backoff survive a restart.
-- The secret is kept as given: it is needed to sign every delivery (it is never returned).
-- lease_owner/lease_until: the dispatcher instance delivering to the endpoint, so several
-- server processes on one database never deliver to one endpoint at the same time.

CREATE TABLE webhook_endpoints (
    webhook_id          TEXT    PRIMARY KEY,
    tenant_id           TEXT    NOT NULL REFERENCES tenants (tenant_id),
    url                 TEXT    NOT NULL,
    event_types         TEXT    NOT NULL,
    secret              TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('ACTIVE', 'DEAD_LETTERED')),
    checkpoint_commit   BIGINT  NOT NULL,
    checkpoint_prepare  BIGINT  NOT NULL,
    failures            BIGINT  NOT NULL DEFAULT 0,
    dead_event_id       TEXT,
    dead_cursor         TEXT,
    dead_attempts       BIGINT,
    dead_error          TEXT,
    dead_at             BIGINT,
    lease_owner         TEXT,
    lease_until         BIGINT,
    created_at          BIGINT  NOT NULL
);
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant_id, created_at);

CREATE TABLE webhook_deliveries (
    delivery_id     BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      TEXT    NOT NULL,
    tenant_id       TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_cursor    TEXT    NOT NULL,
    attempt         BIGINT  NOT NULL,
    attempted_at    BIGINT  NOT NULL,
    http_status     BIGINT,
    error           TEXT,
    duration_ms     BIGINT  NOT NULL,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('DELIVERED', 'FAILED', 'DEAD_LETTERED'))
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, delivery_id);
