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
mod serials;

use crate::state::AppState;
use application::auth::{Permission, Principal};
use application::{AppError, ErrorCode};
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
/// A JSON document (evidence files).
pub const JSON: &str = "application/json";

/// Every file route, on the server's state.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(products::routes())
        .merge(sales_detail::routes())
        .merge(fulfilment::routes())
        .merge(invoice::routes())
        .merge(serials::routes())
}

/// An error answer: the stable code, a message a shop user can act on, and the HTTP
/// status that goes with the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// `UNAUTHENTICATED`, `FORBIDDEN`, `VALIDATION`, `NOT_FOUND`, `INVALID_SERIAL`, ...
    pub code: ErrorCode,
    /// What went wrong and what to do.
    pub message: String,
}

impl FileError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `VALIDATION`: `field` breaks `rule`.
    pub fn invalid(field: &str, rule: &str) -> Self {
        Self::new(ErrorCode::Validation, format!("{field} {rule}"))
    }

    /// `INTERNAL`, with the details logged and not shown.
    pub fn internal(details: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %details, "internal error answering a file request");
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// The HTTP status of the error's code. Exhaustive: a new code does not compile until
    /// it has a status. A file request's refusals are all about what it asked for (400),
    /// unlike REST's, which tell rule refusals (422) from malformed input.
    fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::CsrfTokenInvalid => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Validation
            | ErrorCode::InvalidSerial
            | ErrorCode::AlreadyExists
            | ErrorCode::PackageCycle
            | ErrorCode::InvoiceNumberTaken
            | ErrorCode::QuantitySplitRequired
            | ErrorCode::PackageLine
            | ErrorCode::SerialModeDisabled
            | ErrorCode::LineFulfilled
            | ErrorCode::LineClosed
            | ErrorCode::SerialAlreadyAssigned
            | ErrorCode::SerialRequired
            | ErrorCode::LineNotFulfilled
            | ErrorCode::AlreadyReturned
            | ErrorCode::LineNotReturned
            | ErrorCode::AlreadyReissued
            | ErrorCode::IdempotencyKeyReused
            | ErrorCode::UnsupportedMediaType
            | ErrorCode::SlowConsumer => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<AppError> for FileError {
    fn from(error: AppError) -> Self {
        FileError::new(error.code, error.message)
    }
}

impl From<projections::queries::QueryError> for FileError {
    fn from(error: projections::queries::QueryError) -> Self {
        AppError::from(error).into()
    }
}

impl IntoResponse for FileError {
    fn into_response(self) -> Response {
        let status = self.status();
        (
            status,
            Json(json!({ "code": self.code.as_str(), "message": self.message })),
        )
            .into_response()
    }
}

/// The principal of the request's credential (a bearer token, or the console's session
/// cookie: a browser follows a download link with its cookie), allowed `permission`
/// (`what` names the action in the refusal: "export sales").
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    permission: Permission,
    what: &str,
) -> Result<Principal, FileError> {
    // Good credentials are answered UNAVAILABLE, never "unauthenticated", while the
    // database is down: the client would drop them instead of retrying.
    let principal = crate::http::principal(state, crate::http::credential(headers))
        .await?
        .ok_or_else(|| {
            FileError::new(
                ErrorCode::Unauthenticated,
                "missing, unknown or revoked token",
            )
        })?;
    if !principal.may(permission) {
        return Err(FileError::new(
            ErrorCode::Forbidden,
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
