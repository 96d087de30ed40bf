//! The REST API for integrations (Retail Express API, Warehouse Management Service API).

use crate::state::AppState;
use axum::Router;

/// The REST routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
