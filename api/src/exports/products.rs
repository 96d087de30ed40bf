//! The product mass upload/download CSV over HTTP (format: [`files::products_csv`]; the
//! import and export themselves: [`application::catalogue`]).
//!
//! - `GET /exports/products.csv[?search=...&serialMode=REQUIRED|OPTIONAL|DISABLED]`
//!   (permission `Read`): every product of the retailer, or a product search's result set,
//!   streamed a page at a time as `products-YYYY-MM-DD.csv`.
//! - `POST /imports/products[?mode=all-or-nothing|partial]` with the CSV as the body
//!   (`text/csv`; permission `ManageCatalogue`; up to [`MAX_UPLOAD_BYTES`]). The answer is
//!   JSON: `rows`, `created`, `updated`, `unchanged`, `rejected`, `written`, `errors`
//!   (`[{line, column, reason}]`), `rejectedCsv` (partial mode) and `cursor`. In
//!   all-or-nothing mode a file with any bad row is refused with HTTP 400, code
//!   `VALIDATION`, the same fields, and nothing written; in partial mode the answer is 200
//!   with the bad rows listed and returned as CSV.
//!
//! The upload is held in memory (at most 64 MiB) because validation reads it twice: once
//! to check every row, once to write. The 256 KiB limit of `/graphql` does not apply here.

use super::sales_detail::{bad_query, dated_file_name, present};
use super::{CSV, FileError, authorize, file_response};
use crate::state::AppState;
use application::auth::Permission;
use application::catalogue::{
    ImportMode, MassUploadError, import_products_csv, products_csv_stream,
};
use application::request::Caller;
use application::{AppError, ErrorCode};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use event_schemas::{Channel, CommandId, SerialMode};
use futures::StreamExt;
use projections::queries::products::ProductFilter;
use serde::Deserialize;
use serde_json::json;
use std::io::Cursor;

/// The largest product upload accepted (about a million rows of a typical catalogue).
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/exports/products.csv", get(export_products))
        .route(
            "/imports/products",
            post(import_products).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
}

/// The export's filters: the product search's.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportParams {
    search: Option<String>,
    serial_mode: Option<String>,
}

impl ExportParams {
    fn filter(self) -> Result<ProductFilter, FileError> {
        let serial_mode = present(self.serial_mode)
            .map(|text| {
                serde_json::from_value::<SerialMode>(json!(text.trim().to_ascii_uppercase()))
                    .map_err(|_| {
                        FileError::invalid("serialMode", "must be REQUIRED, OPTIONAL or DISABLED")
                    })
            })
            .transpose()?;
        Ok(ProductFilter {
            search: present(self.search),
            serial_mode,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct ImportParams {
    mode: Option<ImportMode>,
}

fn failed(error: MassUploadError) -> FileError {
    AppError::from(error).into()
}

async fn export_products(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Response, FileError> {
    let principal = authorize(&state, &headers, Permission::Read, "export products").await?;
    let Query(params) = params.map_err(bad_query)?;
    let filter = params.filter()?;
    let mut chunks = Box::pin(products_csv_stream(
        state.db.clone(),
        principal.tenant_id,
        filter,
    ));
    // The first page is read before answering, so a failing query is a clean error
    // rather than a download that breaks off at once.
    let first = match chunks.next().await {
        Some(chunk) => chunk.map_err(failed)?,
        None => Vec::new(),
    };
    let rest = chunks.map(|chunk| {
        chunk.map_err(|error| {
            tracing::error!(%error, "the product export broke off");
            std::io::Error::other("the product export broke off")
        })
    });
    let mut response = file_response(CSV, &dated_file_name("products", "csv"), Vec::new());
    *response.body_mut() = Body::from_stream(futures::stream::iter([Ok(first)]).chain(rest));
    Ok(response)
}

async fn import_products(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<ImportParams>, QueryRejection>,
    body: Bytes,
) -> Result<Response, FileError> {
    let principal = authorize(
        &state,
        &headers,
        Permission::ManageCatalogue,
        "import products",
    )
    .await?;
    let Query(params) = params.map_err(bad_query)?;
    let mode = params.mode.unwrap_or_default();
    if let Some(kind) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .filter(|kind| kind.starts_with("multipart/") || kind.starts_with("application/json"))
    {
        return Err(FileError::new(
            ErrorCode::Validation,
            format!("the body must be the CSV itself (text/csv), not {kind}"),
        ));
    }
    let caller = Caller {
        principal,
        correlation_id: uuid::Uuid::now_v7(),
    };
    let context = caller.command_context(CommandId::new_v7(), Some(Channel::Import), None);
    let payload = import_products_csv(&state, &context, Cursor::new(body), mode, &mut |_| {})
        .await
        .map_err(failed)?;
    state.wait_for(payload.last_position).await;
    let mut answer = serde_json::to_value(&payload).map_err(|error| FileError::internal(&error))?;
    if !payload.written {
        // All-or-nothing found bad rows: a refusal with the usual code and message, and
        // every bad row.
        if let Some(object) = answer.as_object_mut() {
            object.insert("code".into(), json!(ErrorCode::Validation.as_str()));
            object.insert(
                "message".into(),
                json!(format!(
                    "{} of {} rows are bad; nothing was written: fix them or upload with mode=partial",
                    payload.rejected, payload.rows
                )),
            );
        }
        return Ok((StatusCode::BAD_REQUEST, Json(answer)).into_response());
    }
    Ok(Json(answer).into_response())
}
