//! The published JSON Schemas: the committed files are what the code generates, every golden
//! fixture is valid against the schema of its type and version, and the validation is real
//! (what serde would refuse, the schema refuses too).
//!
//! When a payload type changes on purpose, regenerate the files with
//! `UPDATE_SCHEMAS=1 cargo test -p event-schemas` and commit them with the change.

use event_schemas::json_schema::{self, PublishedSchema};
use event_schemas::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const REGENERATE: &str = "UPDATE_SCHEMAS=1 cargo test -p event-schemas";

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("fixture {}: {error}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// Every file `event-schemas/schemas/` must hold, relative to it, with its text.
fn expected_files() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    files.insert(
        "index.json".to_owned(),
        json_schema::render(&json_schema::index()),
    );
    files.insert(
        "envelope.json".to_owned(),
        json_schema::render(&json_schema::envelope_schema()),
    );
    for published in json_schema::published() {
        files.insert(
            published.file_name(),
            json_schema::render(&published.schema()),
        );
    }
    files
}

/// Every `.json` file under `dir`, relative to it, with `/` separators.
fn committed_files(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(root, &path, files);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                let relative = path.strip_prefix(root).expect("under the root");
                let name = relative
                    .components()
                    .map(|part| part.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let text = std::fs::read_to_string(&path).expect("readable schema file");
                files.insert(name, text);
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// Writes the expected files and removes any other `.json` file (a schema no longer
/// published), leaving no empty directory behind.
fn rewrite(dir: &Path, expected: &BTreeMap<String, String>) {
    for name in committed_files(dir).keys() {
        if !expected.contains_key(name) {
            std::fs::remove_file(dir.join(name)).expect("remove a stale schema file");
            if let Some(parent) = dir.join(name).parent() {
                let _ = std::fs::remove_dir(parent); // only succeeds when now empty
            }
        }
    }
    for (name, text) in expected {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write schema file");
    }
}

#[test]
fn the_committed_schema_files_are_exactly_what_the_code_generates() {
    let dir = schemas_dir();
    let expected = expected_files();
    if std::env::var_os("UPDATE_SCHEMAS").is_some() {
        rewrite(&dir, &expected);
    }
    let committed = committed_files(&dir);
    let mut problems = Vec::new();
    for (name, text) in &expected {
        match committed.get(name) {
            None => problems.push(format!("event-schemas/schemas/{name} is missing")),
            Some(committed) if committed != text => problems.push(format!(
                "event-schemas/schemas/{name} differs from what the code generates"
            )),
            Some(_) => {}
        }
    }
    for name in committed.keys() {
        if !expected.contains_key(name) {
            problems.push(format!(
                "event-schemas/schemas/{name} is not a published schema (stale file)"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the committed JSON Schemas are out of date:\n  {}\nRegenerate them with `{REGENERATE}` \
         and commit the result (if the wire format changed, that needs a new schema version \
         instead: see tests/golden.rs).",
        problems.join("\n  ")
    );
}

#[test]
fn the_index_lists_every_current_version_and_the_upcast_v1s_of_serial_assigned_and_removed() {
    let index = json_schema::index();
    let listed: Vec<(String, u64, bool)> = index["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|entry| {
            (
                entry["event_type"].as_str().expect("type").to_owned(),
                entry["schema_version"].as_u64().expect("version"),
                entry["current"].as_bool().expect("current"),
            )
        })
        .collect();
    for &(event_type, version) in LedgerEvent::TYPES {
        assert!(listed.contains(&(event_type.to_owned(), u64::from(version), true)));
    }
    assert!(listed.contains(&("SerialAssigned".to_owned(), 1, false)));
    assert!(listed.contains(&("SerialRemoved".to_owned(), 1, false)));
    assert_eq!(listed.len(), LedgerEvent::TYPES.len() + 2);
    assert_eq!(index["envelope"], "/schemas/events/envelope.json");
    assert_eq!(
        index["events"][0]["url"],
        "/schemas/events/ProductCreated/1.json"
    );
}

// ---- validation -----------------------------------------------------------------------------

/// A validator for `schema` that also checks formats (uuid, date-time), so ids must be UUIDs.
fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|error| panic!("{} is a valid JSON Schema: {error}", schema["$id"]))
}

fn schema_of(event_type: &str, version: u32) -> Value {
    json_schema::event_schema(event_type, version)
        .unwrap_or_else(|| panic!("{event_type} v{version} is published"))
}

/// The validator's errors for `instance`, as text (empty when valid).
fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    validator(schema)
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

#[track_caller]
fn assert_valid(schema: &Value, instance: &Value) {
    let errors = errors(schema, instance);
    assert!(
        errors.is_empty(),
        "{instance} should be valid against {}: {errors:#?}",
        schema["$id"]
    );
}

/// Asserts `instance` is refused, with an error mentioning `mentioning`.
#[track_caller]
fn assert_refused(schema: &Value, instance: &Value, mentioning: &str) {
    let errors = errors(schema, instance);
    assert!(
        !errors.is_empty(),
        "{instance} should be refused by {}",
        schema["$id"]
    );
    assert!(
        errors.iter().any(|error| error.contains(mentioning)),
        "an error should mention {mentioning:?}: {errors:#?}"
    );
}

#[test]
fn every_published_schema_is_a_valid_draft_2020_12_schema() {
    for published in json_schema::published() {
        validator(&published.schema());
    }
    validator(&json_schema::envelope_schema());
}

#[test]
fn every_golden_fixture_is_valid_against_the_schema_of_its_type_and_version() {
    let mut checked: Vec<PublishedSchema> = Vec::new();
    for version in [1, 2] {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/v{version}"));
        for entry in std::fs::read_dir(&dir).expect("fixture directory") {
            let path = entry.expect("entry").path();
            let event_type = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .expect("fixture named after its type");
            let published = json_schema::find(event_type, version).unwrap_or_else(|| {
                panic!("the fixture v{version}/{event_type}.json has no published schema")
            });
            assert_valid(
                &published.schema(),
                &fixture(&format!("v{version}/{event_type}.json")),
            );
            checked.push(published);
        }
    }
    checked.sort();
    let mut published = json_schema::published();
    published.sort();
    assert_eq!(
        checked, published,
        "every published schema has a golden fixture"
    );
}

#[test]
fn the_golden_envelope_is_valid_and_so_is_its_payload_against_its_own_schema() {
    let envelope = fixture("envelope.json");
    assert_valid(&json_schema::envelope_schema(), &envelope);
    let event_type = envelope["event_type"].as_str().expect("type");
    let version = envelope["schema_version"].as_u64().expect("version") as u32;
    assert_valid(&schema_of(event_type, version), &envelope["payload"]);
}

#[test]
fn a_payload_missing_a_required_field_is_refused() {
    let mut assigned = fixture("v1/SerialAssigned.json");
    assigned.as_object_mut().expect("object").remove("serial");
    assert_refused(&schema_of("SerialAssigned", 1), &assigned, "serial");
}

#[test]
fn an_optional_value_is_written_as_null_so_its_key_is_required_too() {
    let schema = schema_of("LineCancelled", 1);
    let mut cancelled = fixture("v1/LineCancelled.json");
    cancelled["released_serial"] = Value::Null;
    cancelled["reason"] = Value::Null;
    assert_valid(&schema, &cancelled);
    cancelled.as_object_mut().expect("object").remove("reason");
    assert_refused(&schema, &cancelled, "reason");
}

#[test]
fn a_field_of_the_wrong_type_is_refused() {
    let schema = schema_of("SerialAssigned", 1);
    let mut assigned = fixture("v1/SerialAssigned.json");
    assigned["line_number"] = json!("2");
    assert_refused(&schema, &assigned, "line_number");
    let mut assigned = fixture("v1/SerialAssigned.json");
    assigned["line_number"] = json!(-1);
    assert_refused(&schema, &assigned, "line_number");
    let mut assigned = fixture("v1/SerialAssigned.json");
    assigned["product_id"] = json!("not-a-uuid");
    assert_refused(&schema, &assigned, "product_id");
}

#[test]
fn an_unknown_enum_value_is_refused() {
    let schema = schema_of("ProductCreated", 1);
    let mut created = fixture("v1/ProductCreated.json");
    created["serial_mode"] = json!("MANDATORY");
    assert_refused(&schema, &created, "serial_mode");
    // Enums are written in upper case; the Rust variant name is not the wire value.
    created["serial_mode"] = json!("Required");
    assert_refused(&schema, &created, "serial_mode");
}

#[test]
fn a_package_line_is_tagged_by_role_and_an_unknown_role_is_refused() {
    let schema = schema_of("LineAdded", 1);
    let mut added = fixture("v1/LineAdded.json");
    added["package"] = json!({ "role": "PACKAGE", "mode": "EXPLODED" });
    assert_valid(&schema, &added);
    added["package"] = json!({ "role": "BUNDLE", "parent_line": 1 });
    assert_refused(&schema, &added, "package");
}

#[test]
fn a_line_added_carries_the_line_flattened_not_nested() {
    let line = fixture("v1/LineAdded.json");
    assert_refused(
        &schema_of("LineAdded", 1),
        &json!({ "line": line }),
        "line_number",
    );
}

#[test]
fn a_product_recorded_before_serial_modes_existed_is_valid_and_reads_as_disabled() {
    let schema = schema_of("ProductCreated", 1);
    assert_eq!(
        schema["properties"]["serial_mode"]["default"], "DISABLED",
        "the schema says what a missing mode means"
    );
    let mut legacy = fixture("v1/ProductCreated.json");
    legacy
        .as_object_mut()
        .expect("object")
        .remove("serial_mode");
    assert_valid(&schema, &legacy);
}

#[test]
fn an_unknown_field_is_allowed_so_that_consumers_learn_to_ignore_it() {
    let mut assigned = fixture("v1/SerialAssigned.json");
    assigned["added_later"] = json!("ignored by consumers");
    assert_valid(&schema_of("SerialAssigned", 1), &assigned);
}

#[test]
fn a_v1_serial_removed_is_not_a_v2_one_which_requires_the_reason() {
    let v1 = fixture("v1/SerialRemoved.json");
    assert_valid(&schema_of("SerialRemoved", 1), &v1);
    assert_refused(&schema_of("SerialRemoved", 2), &v1, "reason");
    let v1_schema = schema_of("SerialRemoved", 1);
    assert!(
        v1_schema["description"]
            .as_str()
            .is_some_and(|text| text.contains("upcast to v2")),
        "the v1 schema says it is superseded: {}",
        v1_schema["description"]
    );
}

#[test]
fn an_envelope_with_a_malformed_hash_a_bad_time_or_a_non_object_payload_is_refused() {
    let schema = json_schema::envelope_schema();
    let mut envelope = fixture("envelope.json");
    envelope["hash"] = json!("E6425B");
    assert_refused(&schema, &envelope, "hash");
    let mut envelope = fixture("envelope.json");
    envelope["recorded_at"] = json!("yesterday");
    assert_refused(&schema, &envelope, "recorded_at");
    let mut envelope = fixture("envelope.json");
    envelope["payload"] = json!("SN-ABC123");
    assert_refused(&schema, &envelope, "payload");
    let mut envelope = fixture("envelope.json");
    envelope["metadata"]["channel"] = json!("FAX");
    assert_refused(&schema, &envelope, "channel");
}
