//! Files over HTTP: `GET /exports/...` downloads and `POST /imports/...` uploads, with the
//! same bearer tokens, roles and error codes as GraphQL.
//!
//! Each area has its own file and adds its routes to [`routes`]; this one holds what they
//! share: authorising a request, answering with a file (content type and a download file
//! name), and errors as JSON `{"code", "message"}` with the HTTP status of the code.

mod fulfilment;
mod invoice;
mod products;
mod sales_detail;

use crate::auth::{Permission, Principal};
use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

/// CSV, as spreadsheet tools expect it.
pub const CSV: &str = "text/csv; charset=utf-8";
/// An Excel workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// A PDF document.
pub const PDF: &str = "application/pdf";

/// Every file route, on the server's state.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(products::routes())
        .merge(sales_detail::routes())
        .merge(fulfilment::routes())
        .merge(invoice::routes())
}

/// An error answer: the stable code, a message a shop user can act on, and the HTTP
/// status that goes with the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// `UNAUTHENTICATED`, `FORBIDDEN`, `VALIDATION`, `NOT_FOUND`, `INVALID_SERIAL`, ...
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl FileError {
    /// An error with this code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `VALIDATION`: `field` breaks `rule`.
    pub fn invalid(field: &str, rule: &str) -> Self {
        Self::new("VALIDATION", format!("{field} {rule}"))
    }

    /// `INTERNAL`, with the details logged and not shown.
    pub fn internal(details: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %details, "internal error answering a file request");
        Self::new("INTERNAL", "internal error")
    }

    fn status(&self) -> StatusCode {
        match self.code {
            "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
            "FORBIDDEN" => StatusCode::FORBIDDEN,
            "NOT_FOUND" => StatusCode::NOT_FOUND,
            "PAYLOAD_TOO_LARGE" => StatusCode::PAYLOAD_TOO_LARGE,
            "UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
            "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
            "CONFLICT" => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<projections::queries::QueryError> for FileError {
    fn from(error: projections::queries::QueryError) -> Self {
        match error.code() {
            "INTERNAL" | "UNAVAILABLE" => FileError::internal(&error),
            code => FileError::new(code, error.to_string()),
        }
    }
}

impl IntoResponse for FileError {
    fn into_response(self) -> Response {
        let status = self.status();
        (
            status,
            Json(json!({ "code": self.code, "message": self.message })),
        )
            .into_response()
    }
}

/// The principal of the request's bearer token, allowed `permission` (`what` names the
/// action in the refusal: "export sales").
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    permission: Permission,
    what: &str,
) -> Result<Principal, FileError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| FileError::new("UNAUTHENTICATED", "missing, unknown or revoked token"))?;
    let principal = state.auth.authenticate(token).await.map_err(|error| {
        if let crate::auth::AuthError::Database(_) = error {
            // Good credentials must not be answered "unauthenticated" while the database
            // is down: the client would drop them instead of retrying.
            tracing::error!(%error, "file request: the tokens cannot be read");
            return FileError::new("UNAVAILABLE", "service unavailable, retry");
        }
        tracing::info!(%error, "file request with an unusable token");
        FileError::new("UNAUTHENTICATED", "missing, unknown or revoked token")
    })?;
    if !principal.may(permission) {
        return Err(FileError::new(
            "FORBIDDEN",
            format!("the {} role may not {what}", principal.role.name()),
        ));
    }
    Ok(principal)
}

/// A file to download: its bytes, content type and the name browsers save it under.
pub fn file_response(content_type: &'static str, file_name: &str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // File names are built by the routes from ids and dates, never from raw input; quotes
    // are stripped anyway so the header stays well-formed.
    let safe: String = file_name
        .chars()
        .filter(|c| *c != '"' && !c.is_control())
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
