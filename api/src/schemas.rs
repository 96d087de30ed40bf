//! The published event schemas over HTTP: `GET /schemas/events` lists every event type and
//! version, `GET /schemas/events/{type}/{version}.json` serves one JSON Schema.

use crate::state::AppState;
use axum::Router;

/// The schema routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
