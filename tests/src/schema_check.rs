//! Checks a store's whole log against the published JSON Schemas: every stored payload
//! against the schema of its stored (event type, schema version), every envelope against the
//! envelope's schema. End-to-end tests call [`assert_log_matches_schemas`] last, so any event
//! a scenario produces that integrators could not validate fails the scenario.
//!
//! The payload is checked as stored, not decoded: a v1 event stays a v1 payload in the log
//! (it is upcast only when read by the ledger), and integrators reading the raw log or an
//! evidence file see exactly what is stored.

use event_schemas::json_schema;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use store::{EventStore, Position};

/// Events read per `read_all` call.
const BATCH: usize = 500;

/// At most this many invalid events are described in a failure, so it stays readable.
const REPORTED: usize = 20;

/// What a check of the log saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaCoverage {
    /// Events checked.
    pub events: u64,
    /// How many events of each stored (type, version) were checked.
    pub by_type: BTreeMap<(String, u32), u64>,
}

impl SchemaCoverage {
    /// The (type, version) pairs seen, in order.
    pub fn types_seen(&self) -> Vec<(String, u32)> {
        self.by_type.keys().cloned().collect()
    }
}

/// A validator that checks formats too (`uuid`, `date-time`): an id that is not a UUID is an
/// error, not an annotation.
fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|error| panic!("{} is a valid JSON Schema: {error}", schema["$id"]))
}

/// Reads every event of the log (all retailers) and validates its payload against the
/// published schema of its stored type and version, and its envelope against the envelope's;
/// panics naming each invalid event (position, stream and revision, type and version) with
/// the validator's errors. Returns what was checked.
///
/// "Every event" is what the stream heads count: on PostgreSQL the newest commits can be
/// held back from `read_all` for a moment by other sessions' open transactions, so it reads
/// until it has seen them all (or fails after a minute).
pub async fn assert_log_matches_schemas(store: &impl EventStore) -> SchemaCoverage {
    let expected: u64 = store
        .list_streams(None)
        .await
        .expect("list streams")
        .iter()
        .map(|head| head.revision + 1)
        .sum();
    let envelope_schema = validator(&json_schema::envelope_schema());
    let mut validators: HashMap<(String, u32), Option<jsonschema::Validator>> = HashMap::new();
    let mut coverage = SchemaCoverage::default();
    let mut problems: Vec<String> = Vec::new();
    let mut after = Position::START;
    let deadline = Instant::now() + Duration::from_secs(60);
    while coverage.events < expected {
        let batch = store.read_all(after, BATCH).await.expect("read the log");
        if batch.is_empty() {
            assert!(
                Instant::now() < deadline,
                "read {} of the log's {expected} events within a minute",
                coverage.events
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        for recorded in batch {
            after = recorded.position;
            let envelope = &recorded.envelope;
            let key = (envelope.event_type.clone(), envelope.schema_version);
            *coverage.by_type.entry(key.clone()).or_default() += 1;
            coverage.events += 1;
            let place = format!(
                "event at {} ({} revision {}) {} v{}",
                recorded.position,
                envelope.stream_id,
                envelope.stream_revision,
                envelope.event_type,
                envelope.schema_version
            );
            let validator = validators.entry(key).or_insert_with(|| {
                json_schema::event_schema(&envelope.event_type, envelope.schema_version)
                    .map(|schema| validator(&schema))
            });
            match validator {
                None => problems.push(format!("{place}: no published schema for it")),
                Some(validator) => {
                    let errors = described(validator, &envelope.payload);
                    if !errors.is_empty() {
                        problems.push(format!(
                            "{place}: the payload {} does not match {}: {}",
                            envelope.payload,
                            json_schema::find(&envelope.event_type, envelope.schema_version)
                                .map(|published| published.url())
                                .unwrap_or_default(),
                            errors.join("; ")
                        ));
                    }
                }
            }
            let as_json = serde_json::to_value(envelope).expect("an envelope encodes");
            let errors = described(&envelope_schema, &as_json);
            if !errors.is_empty() {
                problems.push(format!(
                    "{place}: the envelope does not match {}: {}",
                    json_schema::ENVELOPE_SCHEMA_ID,
                    errors.join("; ")
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} events do not match their published schema:\n  {}",
        problems.len(),
        coverage.events,
        problems
            .iter()
            .take(REPORTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    coverage
}

/// The validator's errors for `instance`, each with where in the instance it is.
fn described(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("at {:?}: {error}", error.instance_path().as_str()))
        .collect()
}
