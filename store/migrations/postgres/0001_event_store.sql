-- The event log, its stream index, idempotency records and uniqueness claims (PostgreSQL).
-- No global sequence must be serialised for correctness: readers order by (transaction_id,
-- global_position) and only read below the oldest running transaction (see read_all).

CREATE TABLE events (
    global_position     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id      XID8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id            UUID        NOT NULL UNIQUE,
    tenant_id           UUID        NOT NULL,
    stream_id           TEXT        NOT NULL,
    stream_revision     BIGINT      NOT NULL CHECK (stream_revision >= 0),
    recorded_at         TIMESTAMPTZ NOT NULL,
    event_type          TEXT        NOT NULL,
    schema_version      INTEGER     NOT NULL CHECK (schema_version >= 1),
    payload             TEXT        NOT NULL,
    command_id          UUID        NOT NULL,
    correlation_id      UUID        NOT NULL,
    causation_id        UUID,
    actor_kind          TEXT        NOT NULL,
    actor_id            TEXT        NOT NULL,
    actor_name          TEXT        NOT NULL,
    channel             TEXT        NOT NULL,
    outlet_id           UUID,
    previous_hash       TEXT        NOT NULL,
    hash                TEXT        NOT NULL,
    UNIQUE (tenant_id, stream_id, stream_revision)
);

CREATE INDEX events_commit_order ON events (transaction_id, global_position);
CREATE INDEX events_by_tenant ON events (tenant_id, global_position);

-- Guarantee 1: nothing updates, deletes or truncates an event row; the database refuses.
CREATE FUNCTION refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % of the event log is refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER events_refuse_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_event_change();

CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_event_change();

-- The head of every stream, locked by appends for optimistic concurrency.
-- last_transaction_id: the transaction that wrote the stream last. A writer whose own
-- transaction id is older retries in a new transaction, so that ordering the log by
-- transaction id never puts a stream's later revision before an earlier one.
CREATE TABLE streams (
    tenant_id            UUID   NOT NULL,
    stream_id            TEXT   NOT NULL,
    revision             BIGINT NOT NULL,
    last_hash            TEXT   NOT NULL,
    last_transaction_id  XID8   NOT NULL DEFAULT '0',
    PRIMARY KEY (tenant_id, stream_id)
);

-- Commands already applied, with their result, for idempotent retries.
CREATE TABLE commands (
    tenant_id    UUID        NOT NULL,
    command_id   UUID        NOT NULL,
    result       TEXT        NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, command_id)
);

-- Live uniqueness claims, written in the transaction of the events that take or release them.
CREATE TABLE claims (
    tenant_id  UUID NOT NULL,
    scope      TEXT NOT NULL,
    claim_key  TEXT NOT NULL,
    owner      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, scope, claim_key)
);
