//! `GET /exports/serials/evidence?serial=...[&productId=...][&sku=...]`: a serial's evidence
//! file (every unit, every event with its hashes, proven against the newest checkpoint),
//! the same document `replay serial --format json` writes, downloaded as
//! `evidence-<serial>.json` and checkable offline with `replay check-evidence`. Permission
//! `ReadLog` (auditors and managers), like the ledger's proofs.

use super::{FileError, JSON, authorize, file_response};
use crate::state::AppState;
use application::auth::Permission;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use event_schemas::ProductId;
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/exports/serials/evidence", get(evidence))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EvidenceParams {
    serial: Option<String>,
    product_id: Option<String>,
    sku: Option<String>,
}

async fn evidence(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<EvidenceParams>,
) -> Result<Response, FileError> {
    let principal = authorize(
        &state,
        &headers,
        Permission::ReadLog,
        "download evidence files",
    )
    .await?;
    let serial = params
        .serial
        .filter(|serial| !serial.trim().is_empty())
        .ok_or_else(|| FileError::invalid("serial", "is required"))?;
    let product_id = params
        .product_id
        .filter(|id| !id.trim().is_empty())
        .map(|id| Uuid::parse_str(id.trim()).map(ProductId))
        .transpose()
        .map_err(|_| FileError::invalid("productId", "must be a UUID"))?;
    let sku = params.sku.filter(|sku| !sku.trim().is_empty());
    let document =
        application::proofs::serial_evidence(&state, principal.tenant_id, &serial, product_id, sku)
            .await?;
    let mut bytes = serde_json::to_vec_pretty(&document)
        .map_err(|error| FileError::from(application::AppError::internal(&error)))?;
    bytes.push(b'\n');
    let name: String = document["serial"]
        .as_str()
        .unwrap_or("serial")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(file_response(JSON, &format!("evidence-{name}.json"), bytes))
}
