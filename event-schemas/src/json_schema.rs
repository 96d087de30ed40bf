//! The published JSON Schemas (draft 2020-12) of every event payload, by type and version,
//! and of the envelope every reader receives.
//!
//! The schemas are generated from the payload types (`#[derive(JsonSchema)]`), so they
//! describe exactly the JSON serde writes: flattened lines, transparent ids, upper-case enum
//! names, `LinePackage` tagged by `role`. What is published:
//!
//! - every current (type, version) of [`LedgerEvent::TYPES`], flagged `current`;
//! - every older version this build still reads and upcasts ([`LedgerEvent::SUPERSEDED`]),
//!   flagged not current: events stored under it stay in the log for ever, so its schema
//!   stays published;
//! - the envelope ([`ENVELOPE_SCHEMA_ID`]).
//!
//! Each schema's `$id` is where the API serves it (`/schemas/events/{Type}/{version}.json`);
//! the same files are committed under `event-schemas/schemas/`, and
//! `event-schemas/tests/schemas.rs` fails when they differ from what this module generates.
//! No schema sets `additionalProperties: false`: consumers must ignore fields they do not
//! know, so a producer may add an optional field within a version.

use crate::envelope::EventEnvelope;
use crate::events::LedgerEvent;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

/// The URL path every event schema is served under (and its index at exactly this path).
pub const SCHEMAS_PATH: &str = "/schemas/events";

/// The `$id` of the envelope's schema, and where it is served.
pub const ENVELOPE_SCHEMA_ID: &str = "/schemas/events/envelope.json";

/// One published event schema: a type, a version, and whether the ledger still writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublishedSchema {
    /// The event type, as stored in `event_type`.
    pub event_type: &'static str,
    /// The schema version, as stored in `schema_version`.
    pub schema_version: u32,
    /// True for the version the ledger writes now; false for an older version that is
    /// upcast when read.
    pub current: bool,
}

impl PublishedSchema {
    /// The schema's file, relative to `event-schemas/schemas/` and to [`SCHEMAS_PATH`]:
    /// `{Type}/{version}.json`.
    pub fn file_name(&self) -> String {
        format!("{}/{}.json", self.event_type, self.schema_version)
    }

    /// Where the schema is served, which is also its `$id`.
    pub fn url(&self) -> String {
        format!("{SCHEMAS_PATH}/{}", self.file_name())
    }

    /// The schema itself.
    pub fn schema(&self) -> Value {
        // Every PublishedSchema comes from `published()`, whose pairs all have a schema; the
        // fallback only keeps this total.
        event_schema(self.event_type, self.schema_version).unwrap_or(Value::Null)
    }
}

/// Every published event schema: per type in [`LedgerEvent::TYPES`] order, its superseded
/// versions (oldest first), then its current one.
pub fn published() -> Vec<PublishedSchema> {
    let mut published = Vec::new();
    for &(event_type, current_version) in LedgerEvent::TYPES {
        let mut older: Vec<u32> = LedgerEvent::SUPERSEDED
            .iter()
            .filter(|(superseded_type, _)| *superseded_type == event_type)
            .map(|&(_, version)| version)
            .collect();
        older.sort_unstable();
        published.extend(older.into_iter().map(|schema_version| PublishedSchema {
            event_type,
            schema_version,
            current: false,
        }));
        published.push(PublishedSchema {
            event_type,
            schema_version: current_version,
            current: true,
        });
    }
    published
}

/// The published schema of `event_type` v`schema_version`, if there is one.
pub fn find(event_type: &str, schema_version: u32) -> Option<PublishedSchema> {
    published()
        .into_iter()
        .find(|schema| schema.event_type == event_type && schema.schema_version == schema_version)
}

/// The JSON Schema of the payload of `event_type` v`schema_version`, with its `$id`, title and
/// description; `None` when that pair is neither written nor upcast by this build.
pub fn event_schema(event_type: &str, schema_version: u32) -> Option<Value> {
    let published = find(event_type, schema_version)?;
    let schema = LedgerEvent::payload_schema(event_type, schema_version)?;
    let mut schema = schema.to_value();
    let object = schema.as_object_mut()?;
    let described = object
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let version_note = if published.current {
        format!(
            "The payload of a `{event_type}` event, schema version {schema_version} (current: \
             the version the ledger writes)."
        )
    } else {
        let current = LedgerEvent::TYPES
            .iter()
            .find(|(current_type, _)| *current_type == event_type)
            .map_or(0, |&(_, version)| version);
        format!(
            "The payload of a `{event_type}` event, schema version {schema_version} \
             (superseded: events stored as v{schema_version} are upcast to v{current} when \
             read, and new events are written as v{current})."
        )
    };
    object.insert("$id".into(), published.url().into());
    object.insert(
        "title".into(),
        format!("{event_type} v{schema_version}").into(),
    );
    object.insert(
        "description".into(),
        join_paragraphs(&version_note, &described).into(),
    );
    Some(sorted(schema))
}

/// The JSON Schema of the envelope every reader receives ([`EventEnvelope`]).
pub fn envelope_schema() -> Value {
    let mut schema = root_schema::<EventEnvelope>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert("$id".into(), ENVELOPE_SCHEMA_ID.into());
        object.insert("title".into(), "Event envelope".into());
        // Written for integrators rather than taken from the Rust doc, which points at
        // functions of this crate.
        object.insert(
            "description".into(),
            "A stored event as every reader receives it: the payload inside its envelope. \
             `payload` is valid against the schema of its `event_type` and `schema_version`, \
             `/schemas/events/{event_type}/{schema_version}.json`. `metadata` says who did it, \
             through which channel and at which outlet; `stream_id`, `stream_revision` and \
             `global_position` place it in its stream and in the log. `hash` is the hex SHA-256 \
             of the canonical JSON of every field but `global_position` and `hash`; \
             `previous_hash` is the `hash` of the stream's previous event (64 zeros for the \
             first)."
                .into(),
        );
    }
    sorted(schema)
}

/// The index of every published schema, as committed in `event-schemas/schemas/index.json`
/// and served at [`SCHEMAS_PATH`].
pub fn index() -> Value {
    let events: Vec<Value> = published()
        .iter()
        .map(|schema| {
            json!({
                "event_type": schema.event_type,
                "schema_version": schema.schema_version,
                "current": schema.current,
                "url": schema.url(),
            })
        })
        .collect();
    sorted(json!({ "envelope": ENVELOPE_SCHEMA_ID, "events": events }))
}

/// The text of a schema file: pretty JSON, keys sorted, with a trailing newline. The API
/// serves these exact bytes and the committed files hold them.
pub fn render(schema: &Value) -> String {
    // Serialising a `Value` cannot fail (its map keys are strings).
    let text = serde_json::to_string_pretty(&sorted(schema.clone())).unwrap_or_default();
    format!("{text}\n")
}

/// The root schema of `T` with this crate's settings: draft 2020-12, definitions under
/// `$defs`, describing what serde writes for `T` (so an `Option` field is required and may be
/// `null`: serde never leaves it out).
pub(crate) fn root_schema<T: JsonSchema>() -> Schema {
    // A fresh generator per schema: each published file carries only its own `$defs`.
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// `text` without rustdoc's link brackets: "[`SerialRemoved`]" reads "`SerialRemoved`" in a
/// schema, where there is nothing to link to.
fn without_rustdoc_links(text: &str) -> String {
    text.replace("[`", "`").replace("`]", "`")
}

fn join_paragraphs(first: &str, second: &str) -> String {
    if second.is_empty() {
        first.to_owned()
    } else {
        format!("{first}\n\n{second}")
    }
}

/// `value` with every object's keys in sorted order, whatever serde_json's map type is
/// (with the `preserve_order` feature, which another crate could turn on, maps keep insertion
/// order): the rendered files must not depend on the build. Descriptions lose their rustdoc
/// link brackets on the way.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, item)| match item {
                        Value::String(text) if key == "description" => {
                            let text = without_rustdoc_links(&text);
                            (key, Value::String(text))
                        }
                        item => (key, sorted(item)),
                    })
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        scalar => scalar,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_current_type_and_every_upcast_version_is_published_once() {
        let published = published();
        for &(event_type, version) in LedgerEvent::TYPES {
            assert_eq!(
                find(event_type, version).map(|schema| schema.current),
                Some(true),
                "{event_type} v{version}"
            );
        }
        for &(event_type, version) in LedgerEvent::SUPERSEDED {
            assert_eq!(
                find(event_type, version).map(|schema| schema.current),
                Some(false),
                "{event_type} v{version}"
            );
        }
        assert_eq!(
            published.len(),
            LedgerEvent::TYPES.len() + LedgerEvent::SUPERSEDED.len(),
            "no pair is both current and superseded"
        );
    }

    #[test]
    fn a_superseded_version_is_older_than_the_current_one() {
        for &(event_type, version) in LedgerEvent::SUPERSEDED {
            let current = LedgerEvent::TYPES
                .iter()
                .find(|(current_type, _)| *current_type == event_type)
                .map(|&(_, version)| version);
            assert!(
                current.is_some_and(|current| current > version),
                "{event_type} v{version} is upcast to a newer current version"
            );
        }
    }

    #[test]
    fn every_published_schema_has_its_url_as_id_and_a_title() {
        for published in published() {
            let schema = published.schema();
            assert_eq!(schema["$id"], published.url().as_str());
            assert_eq!(
                schema["$schema"],
                "https://json-schema.org/draft/2020-12/schema"
            );
            assert_eq!(
                schema["title"],
                format!("{} v{}", published.event_type, published.schema_version).as_str()
            );
            assert!(schema["description"].is_string());
        }
    }

    #[test]
    fn an_unknown_type_or_version_has_no_schema() {
        assert_eq!(event_schema("SerialAssigned", 3), None);
        assert_eq!(event_schema("SerialAssigned", 0), None);
        assert_eq!(event_schema("NoSuchEvent", 1), None);
    }
}
