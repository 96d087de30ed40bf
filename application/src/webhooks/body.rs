//! The JSON body of a delivery: one ledger event in its envelope, in the camelCase shape the
//! GraphQL `LedgerEvent` has, with `cursor` (the log position, as `events(after:)` and
//! `ledgerEvents(after:)` take it) and `id` (the event id: the key to deduplicate on, since
//! delivery is at least once).
//!
//! ```json
//! { "id": "0190…", "type": "SerialAssigned", "version": 1, "cursor": "1234:1234",
//!   "streamId": "sale-0190…", "streamRevision": 3, "recordedAt": "2026-11-27T03:00:00.123456Z",
//!   "payload": { … as in the event schemas … },
//!   "metadata": { "actor": { "kind": "USER", "id": "…", "displayName": "Sam" },
//!                 "channel": "POS", "outletId": "…", "commandId": "…",
//!                 "correlationId": "…", "causationId": null },
//!   "hash": "…", "previousHash": "…" }
//! ```

use serde_json::{Value, json};
use store::RecordedEvent;
use time::format_description::well_known::Rfc3339;

/// The body delivered for `event`, as bytes (what is signed and sent).
pub fn delivery_body(event: &RecordedEvent) -> Vec<u8> {
    let envelope = &event.envelope;
    let metadata = &envelope.metadata;
    // Formatting a stored UTC time as RFC 3339 only fails for years beyond 9999.
    let recorded_at = envelope
        .recorded_at
        .format(&Rfc3339)
        .unwrap_or_else(|_| envelope.recorded_at.to_string());
    let body = json!({
        "id": envelope.event_id.to_string(),
        "type": envelope.event_type,
        "version": envelope.schema_version,
        "cursor": event.position.to_string(),
        "streamId": envelope.stream_id,
        "streamRevision": envelope.stream_revision,
        "recordedAt": recorded_at,
        "payload": envelope.payload,
        "metadata": {
            "actor": {
                "kind": metadata.actor.kind.code(),
                "id": metadata.actor.id,
                "displayName": metadata.actor.display_name,
            },
            "channel": metadata.channel.code(),
            "outletId": metadata.outlet_id.map(|id| id.to_string()),
            "commandId": metadata.command_id.to_string(),
            "correlationId": metadata.correlation_id.to_string(),
            "causationId": metadata.causation_id.map(|id| id.to_string()),
        },
        "hash": envelope.hash,
        "previousHash": envelope.previous_hash,
    });
    // A `Value` always serialises.
    serde_json::to_vec(&body).unwrap_or_else(|_| Value::Null.to_string().into_bytes())
}
