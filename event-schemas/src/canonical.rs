//! Canonical bytes and the hash of a stored event, so anyone can check a stream's chain
//! offline with nothing but this crate (or a reimplementation of these few rules).
//!
//! Canonical JSON here: object keys sorted by their UTF-8 bytes, no insignificant whitespace,
//! strings escaped as `serde_json` escapes them, integers in decimal. Payloads contain no
//! floating-point numbers (money is integer minor units), so number formatting is exact.

use crate::envelope::{CommandMetadata, EventEnvelope};
use crate::ids::TenantId;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `previous_hash` of a stream's first event: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Writes `value` as canonical JSON (sorted keys, compact).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Everything an event's hash covers.
#[derive(Debug, Clone, Copy)]
pub struct EventHashInput<'a> {
    /// The event's id.
    pub event_id: Uuid,
    /// Its retailer.
    pub tenant_id: TenantId,
    /// Its stream.
    pub stream_id: &'a str,
    /// Its place in the stream.
    pub stream_revision: u64,
    /// When it was recorded, in microseconds since the Unix epoch (UTC).
    pub recorded_at_micros: i64,
    /// Who, where, which command.
    pub metadata: &'a CommandMetadata,
    /// Its type name.
    pub event_type: &'a str,
    /// Its schema version.
    pub schema_version: u32,
    /// Its payload.
    pub payload: &'a Value,
    /// The hash of the stream's previous event, or [`GENESIS_HASH`].
    pub previous_hash: &'a str,
}

/// The hex SHA-256 of the canonical JSON of the input's fields.
///
/// The global position is deliberately not covered: it is assigned by the database at
/// commit, and the chain protects each stream, while the log digest (replay) covers order.
pub fn event_hash(input: &EventHashInput<'_>) -> String {
    let document = serde_json::json!({
        "event_id": input.event_id,
        "tenant_id": input.tenant_id,
        "stream_id": input.stream_id,
        "stream_revision": input.stream_revision,
        "recorded_at_micros": input.recorded_at_micros,
        "metadata": input.metadata,
        "event_type": input.event_type,
        "schema_version": input.schema_version,
        "payload": input.payload,
        "previous_hash": input.previous_hash,
    });
    hex::encode(Sha256::digest(canonical_json(&document).as_bytes()))
}

/// The hash `envelope` should carry, recomputed from its content: equal to
/// `envelope.hash` unless the event was altered. Lets anyone holding an exported event check
/// it without access to the store.
pub fn envelope_hash(envelope: &EventEnvelope) -> String {
    event_hash(&EventHashInput {
        event_id: envelope.event_id,
        tenant_id: envelope.tenant_id,
        stream_id: &envelope.stream_id,
        stream_revision: envelope.stream_revision,
        recorded_at_micros: i64::try_from(envelope.recorded_at.unix_timestamp_nanos() / 1_000)
            .unwrap_or(i64::MAX),
        metadata: &envelope.metadata,
        event_type: &envelope.event_type,
        schema_version: envelope.schema_version,
        payload: &envelope.payload,
        previous_hash: &envelope.previous_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_drops_whitespace() {
        let value = json!({"b": 1, "a": {"d": [true, null], "c": "x\"y"}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":"x\"y","d":[true,null]},"b":1}"#
        );
    }
}
