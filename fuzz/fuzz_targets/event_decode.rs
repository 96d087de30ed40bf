//! Decoding stored events (`LedgerEvent::decode`, upcasting older versions) and the
//! canonical JSON the hash chain covers, on any JSON: never panics; a decoded event encodes
//! (`to_payload`) and decodes again to the same event, with its current type and version;
//! canonical JSON is valid JSON, and canonical again when re-read.
//!
//! Input: the first byte picks the (type, version), from `LedgerEvent::TYPES`, then
//! `LedgerEvent::SUPERSEDED`, then two pairs no build knows; the rest is the JSON payload.
#![no_main]

use event_schemas::{EventEnvelope, LedgerEvent, canonical_json, envelope_hash};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const UNKNOWN: &[(&str, u32)] = &[("SerialAssigned", 0), ("NoSuchEvent", 1)];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    let pairs: Vec<(&str, u32)> = LedgerEvent::TYPES
        .iter()
        .chain(LedgerEvent::SUPERSEDED)
        .chain(UNKNOWN)
        .copied()
        .collect();
    let (event_type, version) = pairs[usize::from(selector) % pairs.len()];
    let Ok(payload) = serde_json::from_slice::<Value>(json) else {
        return;
    };

    match LedgerEvent::decode(event_type, version, &payload) {
        Ok(event) => {
            assert!(
                !UNKNOWN.contains(&(event_type, version)),
                "{event_type} v{version} is not a known event, yet it decoded"
            );
            assert_eq!(event.event_type(), event_type);
            assert!(
                LedgerEvent::TYPES.contains(&(event.event_type(), event.schema_version())),
                "{event_type} v{version} decoded to a version this build does not write"
            );
            let encoded = event.to_payload();
            let again = LedgerEvent::decode(event.event_type(), event.schema_version(), &encoded)
                .unwrap_or_else(|error| {
                    panic!("{event_type} v{version}: its own encoding {encoded} does not decode: {error}")
                });
            assert_eq!(
                again, event,
                "{event_type} v{version} changes on encode and decode"
            );
        }
        Err(error) => {
            assert!(!error.to_string().is_empty());
        }
    }

    // The bytes the hash chain covers.
    let canonical = canonical_json(&payload);
    let reread: Value = serde_json::from_str(&canonical)
        .unwrap_or_else(|error| panic!("canonical JSON {canonical:?} is not JSON: {error}"));
    if !has_float(&payload) {
        // Floats never occur in payloads (money is integer minor units) and may not
        // round-trip digit for digit; everything else must.
        assert_eq!(reread, payload, "canonical JSON changes the value");
        assert_eq!(
            canonical_json(&reread),
            canonical,
            "canonical JSON is not canonical"
        );
    }
    // An exported envelope (an evidence file's event) checked offline.
    if let Ok(envelope) = serde_json::from_value::<EventEnvelope>(payload) {
        let hash = envelope_hash(&envelope);
        assert_eq!(hash.len(), 64);
    }
});

fn has_float(value: &Value) -> bool {
    match value {
        Value::Number(number) => number.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}
