//! The published event schemas, end to end: what the server serves is what is committed
//! under `event-schemas/schemas/`, to anyone, with the JSON Schema media type; and every event
//! the ledger writes is valid against the schema of its stored type and version.
//!
//! Serving does not touch the database, so those cases run on one server (SQLite); the log
//! cases run on both backends (`event_schemas::sqlite::...`, `...::postgres::...`).

use application::commands::CommandService;
use event_schemas::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use store::{AppendRequest, EventStore, ExpectedRevision, NewEvent, StreamWrite};
use tests::schema_check::assert_log_matches_schemas;
use tests::workload::Workload;
use tests::{Backend, TestStore};
use uuid::Uuid;

on_both_backends!(
    every_event_the_workload_writes_is_valid_against_the_schema_of_its_type_and_version,
    a_v1_event_stored_by_an_older_build_is_checked_against_the_v1_schema_not_the_current_one,
    a_stored_payload_that_breaks_its_schema_fails_the_check_naming_the_event_and_the_error,
);

/// The committed file `name`, relative to `event-schemas/schemas/`.
fn committed(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../event-schemas/schemas")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("committed schema file {}: {error}", path.display()))
}

/// A GET without any token: status, content type and body.
async fn get(app: &tests::app::TestApp, path: &str) -> (u16, String, String) {
    let response = reqwest::get(app.url(path)).await.expect("request sent");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        status,
        content_type,
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_served_index_is_the_committed_one_and_lists_every_current_and_superseded_version() {
    let app = tests::app::TestApp::spawn(Backend::Sqlite).await;
    let (status, content_type, body) = get(&app, "/schemas/events").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(body, committed("index.json"));

    let index: Value = serde_json::from_str(&body).unwrap();
    let listed: BTreeSet<(String, u64, bool)> = index["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["event_type"].as_str().unwrap().to_owned(),
                entry["schema_version"].as_u64().unwrap(),
                entry["current"].as_bool().unwrap(),
            )
        })
        .collect();
    let mut expected: BTreeSet<(String, u64, bool)> = LedgerEvent::TYPES
        .iter()
        .map(|&(event_type, version)| (event_type.to_owned(), u64::from(version), true))
        .collect();
    expected.insert(("SerialAssigned".to_owned(), 1, false));
    expected.insert(("SerialRemoved".to_owned(), 1, false));
    assert_eq!(listed, expected);
    assert_eq!(index["envelope"], "/schemas/events/envelope.json");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_listed_schema_is_served_to_anyone_as_the_committed_file_with_the_schema_media_type()
{
    let app = tests::app::TestApp::spawn(Backend::Sqlite).await;
    let index: Value = serde_json::from_str(&committed("index.json")).unwrap();
    let mut urls: Vec<String> = index["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["url"].as_str().unwrap().to_owned())
        .collect();
    urls.push(index["envelope"].as_str().unwrap().to_owned());
    for url in urls {
        let (status, content_type, body) = get(&app, &url).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "application/schema+json"),
            "{url}"
        );
        let file = url.strip_prefix("/schemas/events/").unwrap();
        assert_eq!(body, committed(file), "{url} is served as committed");
        let schema: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            schema["$id"],
            url.as_str(),
            "a schema's $id is where it is served"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_type_or_version_is_not_found_and_the_error_names_what_was_asked() {
    let app = tests::app::TestApp::spawn(Backend::Sqlite).await;
    for (path, named) in [
        (
            "/schemas/events/SerialAssigned/3.json",
            "\"SerialAssigned\" version 3",
        ),
        (
            "/schemas/events/SerialRemoved/3.json",
            "\"SerialRemoved\" version 3",
        ),
        (
            "/schemas/events/SaleClosed/1.json",
            "\"SaleClosed\" version 1",
        ),
        (
            "/schemas/events/SerialAssigned/99999999999.json",
            "\"SerialAssigned\" version 99999999999",
        ),
        ("/schemas/events/SerialAssigned/1", "SerialAssigned/1"),
    ] {
        let (status, content_type, body) = get(&app, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(content_type, "application/json", "{path}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], "NOT_FOUND", "{path}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{path}: {message}");
    }
    let (_, _, body) = get(&app, "/schemas/events/SerialRemoved/3.json").await;
    assert!(
        body.contains("published versions are 1, 2"),
        "says which versions exist: {body}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_version_that_is_not_a_positive_integer_is_a_validation_error() {
    let app = tests::app::TestApp::spawn(Backend::Sqlite).await;
    for version in ["v1", "0", "-1", "1.5", "+1", "one"] {
        let path = format!("/schemas/events/SerialAssigned/{version}.json");
        let (status, _, body) = get(&app, &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"]["code"], "VALIDATION", "{path}: {body}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("version must be a positive integer"),
            "{path}: {message}"
        );
    }
    app.stop().await;
}

// ---- the log ---------------------------------------------------------------------------------

async fn every_event_the_workload_writes_is_valid_against_the_schema_of_its_type_and_version(
    db: &TestStore,
) {
    let service = CommandService::new(db.store.clone());
    let report = Workload::new(71).run(&service, 3_000).await.unwrap();

    let coverage = assert_log_matches_schemas(&db.store).await;

    assert_eq!(coverage.events, report.events_written);
    let seen: BTreeSet<(String, u32)> = coverage.by_type.keys().cloned().collect();
    let current: BTreeSet<(String, u32)> = LedgerEvent::TYPES
        .iter()
        .map(|&(event_type, version)| (event_type.to_owned(), version))
        .collect();
    assert_eq!(
        seen, current,
        "the workload writes every current type and version, and nothing else"
    );
}

/// Appends one event with exactly this type, version and payload, as an older build (or
/// anyone with write access to the store) could have stored it.
async fn append_raw(
    db: &TestStore,
    tenant_id: TenantId,
    stream_id: &str,
    event_type: &str,
    schema_version: u32,
    payload: Value,
) {
    db.store
        .append(AppendRequest {
            tenant_id,
            metadata: tests::metadata(),
            writes: vec![StreamWrite {
                stream_id: stream_id.to_owned(),
                expected_revision: ExpectedRevision::Any,
                events: vec![NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: event_type.to_owned(),
                    schema_version,
                    payload,
                }],
            }],
            claims: vec![],
        })
        .await
        .unwrap();
}

async fn a_v1_event_stored_by_an_older_build_is_checked_against_the_v1_schema_not_the_current_one(
    db: &TestStore,
) {
    let tenant_id = TenantId::new_v7();
    let sale = format!("sale-{}", Uuid::now_v7());
    // SerialRemoved v1 had no reason; v2 requires the key (null when there is none).
    let v1 = json!({
        "line_number": 1,
        "product_id": Uuid::now_v7(),
        "serial": "SN-OLD-1",
    });
    append_raw(db, tenant_id, &sale, "SerialRemoved", 1, v1.clone()).await;

    let coverage = assert_log_matches_schemas(&db.store).await;
    assert_eq!(coverage.types_seen(), vec![("SerialRemoved".to_owned(), 1)]);
    let v2_schema = json_schema::event_schema("SerialRemoved", 2).unwrap();
    assert!(
        !jsonschema::is_valid(&v2_schema, &v1),
        "the same payload would not be a valid v2"
    );
}

async fn a_stored_payload_that_breaks_its_schema_fails_the_check_naming_the_event_and_the_error(
    db: &TestStore,
) {
    let tenant_id = TenantId::new_v7();
    let sale = format!("sale-{}", Uuid::now_v7());
    // The store gives events no meaning, so it keeps a payload no schema allows.
    append_raw(
        db,
        tenant_id,
        &sale,
        "SerialAssigned",
        1,
        json!({ "line_number": "one", "product_id": Uuid::now_v7() }),
    )
    .await;

    let store = db.store.clone();
    let checked = tokio::spawn(async move { assert_log_matches_schemas(&store).await }).await;
    let panic = checked.expect_err("the check fails").into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    for expected in [
        "1 of 1 events do not match",
        &format!("({sale} revision 0) SerialAssigned v1"),
        "/schemas/events/SerialAssigned/1.json",
        "\"serial\" is a required property",
        "/line_number",
    ] {
        assert!(message.contains(expected), "{expected:?} in: {message}");
    }
}
