//! How the REST API answers an error: the HTTP status that fits the code, and a JSON body
//! `{"error": {"code", "message", "details"}}` whose `code` is the same stable code GraphQL
//! puts in `extensions.code` (the two APIs share [`AppError`]).

pub use crate::http::status_of;
use application::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RestError(pub AppError);

impl RestError {
    /// `VALIDATION`, naming the field and the rule it breaks.
    pub fn invalid(field: &str, rule: &str) -> Self {
        Self(AppError::invalid(field, rule))
    }

    /// The HTTP status of the error's code.
    pub fn status(&self) -> StatusCode {
        status_of(self.0.code)
    }
}

impl<E: Into<AppError>> From<E> for RestError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, the same as GraphQL's `extensions.code`: `VALIDATION`, `INVALID_SERIAL`,
    /// `UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, `SERIAL_ALREADY_ASSIGNED`,
    /// `SERIAL_REQUIRED`, `IDEMPOTENCY_KEY_REUSED`, `UNAVAILABLE`, `INTERNAL`, ...
    #[schema(example = "SERIAL_ALREADY_ASSIGNED")]
    pub code: String,
    /// What the user can act on.
    pub message: String,
    /// Facts a client may act on without parsing the message (the lines missing a serial,
    /// the invoice and line holding a serial, ...).
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        crate::http::error_response(self.0)
    }
}

/// The result of a handler.
pub type RestResult<T> = Result<T, RestError>;
