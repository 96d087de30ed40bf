-- The event log, its stream index, idempotency records and uniqueness claims (SQLite).
-- Ids are stored as hyphenated UUID text so the file can be read with any SQLite tool.

CREATE TABLE events (
    global_position     INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id            TEXT    NOT NULL UNIQUE,
    tenant_id           TEXT    NOT NULL,
    stream_id           TEXT    NOT NULL,
    stream_revision     INTEGER NOT NULL CHECK (stream_revision >= 0),
    recorded_at_micros  INTEGER NOT NULL,
    event_type          TEXT    NOT NULL,
    schema_version      INTEGER NOT NULL CHECK (schema_version >= 1),
    payload             TEXT    NOT NULL,
    command_id          TEXT    NOT NULL,
    correlation_id      TEXT    NOT NULL,
    causation_id        TEXT,
    actor_kind          TEXT    NOT NULL,
    actor_id            TEXT    NOT NULL,
    actor_name          TEXT    NOT NULL,
    channel             TEXT    NOT NULL,
    outlet_id           TEXT,
    previous_hash       TEXT    NOT NULL,
    hash                TEXT    NOT NULL,
    UNIQUE (tenant_id, stream_id, stream_revision)
);

CREATE INDEX events_by_tenant ON events (tenant_id, global_position);

-- Guarantee 1: nothing updates or deletes an event row; the database itself refuses.
CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable: UPDATE of the event log is refused');
END;

CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable: DELETE from the event log is refused');
END;

-- The head of every stream: its last revision and hash, for optimistic concurrency and the
-- hash chain. Derivable from `events`; `verify` checks that it agrees.
CREATE TABLE streams (
    tenant_id  TEXT    NOT NULL,
    stream_id  TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    last_hash  TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, stream_id)
) WITHOUT ROWID;

-- Commands already applied, with their result: a retried command returns it instead of
-- writing twice.
CREATE TABLE commands (
    tenant_id           TEXT    NOT NULL,
    command_id          TEXT    NOT NULL,
    result              TEXT    NOT NULL,
    recorded_at_micros  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, command_id)
) WITHOUT ROWID;

-- Live uniqueness claims ("serial X of product P is on sale S line L"), written in the same
-- transaction as the events that take or release them, so a race becomes a key conflict.
CREATE TABLE claims (
    tenant_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    claim_key  TEXT NOT NULL,
    owner      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, scope, claim_key)
) WITHOUT ROWID;
