//! The published event schemas over HTTP: `GET /schemas/events` lists every event type and
//! version, `GET /schemas/events/{type}/{version}.json` serves one JSON Schema (draft
//! 2020-12), `GET /schemas/events/envelope.json` the envelope's.
//!
//! Public: the schemas describe the wire format, not any retailer's data, so no token is
//! needed. The bodies are [`event_schemas::json_schema::render`]ed once, at first use: the
//! same bytes as the files committed under `event-schemas/schemas/` (its `tests/schemas.rs`
//! fails when those differ from what the code generates).
//!
//! Errors are JSON `{"error": {"code", "message"}}`: `NOT_FOUND` (404) for a type or version
//! that is not published, `VALIDATION` (400) for a version that is not a positive integer.

use crate::state::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use event_schemas::json_schema::{self, ENVELOPE_SCHEMA_ID, SCHEMAS_PATH};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The media type of a JSON Schema document.
pub const SCHEMA_JSON: &str = "application/schema+json";

/// Every served body, rendered once: generation is cheap, but there is no reason to repeat it
/// per request.
struct Rendered {
    index: String,
    envelope: String,
    /// By (event type, version).
    events: BTreeMap<(String, u32), String>,
}

static RENDERED: LazyLock<Rendered> = LazyLock::new(|| Rendered {
    index: json_schema::render(&json_schema::index()),
    envelope: json_schema::render(&json_schema::envelope_schema()),
    events: json_schema::published()
        .into_iter()
        .map(|published| {
            (
                (published.event_type.to_owned(), published.schema_version),
                json_schema::render(&published.schema()),
            )
        })
        .collect(),
});

/// The schema routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(SCHEMAS_PATH, get(index))
        .route(ENVELOPE_SCHEMA_ID, get(envelope))
        // Axum cannot capture part of a segment (`{version}.json`): the handler takes the
        // whole file name and strips the extension.
        .route("/schemas/events/{event_type}/{file}", get(event_schema))
}

async fn index() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        RENDERED.index.as_str(),
    )
        .into_response()
}

async fn envelope() -> Response {
    schema_response(&RENDERED.envelope)
}

async fn event_schema(Path((event_type, file)): Path<(String, String)>) -> Response {
    let Some(version_text) = file.strip_suffix(".json") else {
        return SchemaError::not_found(format!(
            "no schema at {SCHEMAS_PATH}/{event_type}/{file}: schemas are served at \
             {SCHEMAS_PATH}/{{type}}/{{version}}.json"
        ))
        .into_response();
    };
    let version = match parse_version(version_text) {
        Ok(version) => version,
        Err(error) => return error.into_response(),
    };
    let body = version.and_then(|version| RENDERED.events.get(&(event_type.clone(), version)));
    match body {
        Some(body) => schema_response(body),
        None => SchemaError::not_found(not_published(&event_type, version_text)).into_response(),
    }
}

/// A version as written in a URL: decimal digits, at least 1. `None` for a number too large
/// to be any version (well-formed, but certainly not published).
fn parse_version(text: &str) -> Result<Option<u32>, SchemaError> {
    let invalid =
        || SchemaError::validation(format!("version must be a positive integer, not {text:?}"));
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.parse::<u32>() {
        Ok(0) => Err(invalid()),
        Ok(version) => Ok(Some(version)),
        Err(_) => Ok(None),
    }
}

/// The message of a 404 for `event_type` at `version`, with what is published instead.
fn not_published(event_type: &str, version: &str) -> String {
    let versions: Vec<String> = RENDERED
        .events
        .keys()
        .filter(|(published_type, _)| published_type == event_type)
        .map(|(_, version)| version.to_string())
        .collect();
    if versions.is_empty() {
        format!(
            "no published schema for event type {event_type:?} version {version}: unknown \
             event type; GET {SCHEMAS_PATH} lists every published schema"
        )
    } else {
        format!(
            "no published schema for event type {event_type:?} version {version}; its \
             published versions are {}",
            versions.join(", ")
        )
    }
}

fn schema_response(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, SCHEMA_JSON)], body).into_response()
}

/// An error answer: `{"error": {"code", "message"}}` with the status of the code.
struct SchemaError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl SchemaError {
    fn not_found(message: String) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            message,
        }
    }

    fn validation(message: String) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "VALIDATION",
            message,
        }
    }
}

impl IntoResponse for SchemaError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}
