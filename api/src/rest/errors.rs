//! How the REST API answers an error: the HTTP status that fits the code, and a JSON body
//! `{"error": {"code", "message", "details"}}` whose `code` is the same stable code GraphQL
//! puts in `extensions.code` (the two APIs share [`ApiError`]).

use crate::graphql::errors::ApiError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestError(pub ApiError);

impl RestError {
    /// `VALIDATION`, naming the field and the rule it breaks.
    pub fn invalid(field: &str, rule: &str) -> Self {
        Self(ApiError::invalid(field, rule))
    }

    /// The HTTP status of the error's code.
    pub fn status(&self) -> StatusCode {
        status_of(self.0.code)
    }
}

impl<E: Into<ApiError>> From<E> for RestError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

/// The status each code is answered with. Refusals of a command that the state of the
/// ledger decides (a serial live elsewhere, a concurrent change, a key reused) are 409; the
/// other business-rule refusals 422; malformed input 400.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "VALIDATION" | "INVALID_SERIAL" => StatusCode::BAD_REQUEST,
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "PAYLOAD_TOO_LARGE" => StatusCode::PAYLOAD_TOO_LARGE,
        "UNSUPPORTED_MEDIA_TYPE" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "CONFLICT"
        | "SERIAL_ALREADY_ASSIGNED"
        | "INVOICE_NUMBER_TAKEN"
        | "ALREADY_REISSUED"
        | "IDEMPOTENCY_KEY_REUSED" => StatusCode::CONFLICT,
        "RATE_LIMITED" => StatusCode::TOO_MANY_REQUESTS,
        "UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "INTERNAL" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
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
        let status = self.status();
        let ApiError {
            code,
            message,
            details,
        } = self.0;
        let details = details
            .into_iter()
            .map(|(key, value)| {
                let value = value.into_json().unwrap_or(serde_json::Value::Null);
                (key.to_owned(), value)
            })
            .collect();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                details,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The result of a handler.
pub type RestResult<T> = Result<T, RestError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_the_api_gives_has_a_fitting_status() {
        assert_eq!(status_of("VALIDATION"), StatusCode::BAD_REQUEST);
        assert_eq!(status_of("SERIAL_ALREADY_ASSIGNED"), StatusCode::CONFLICT);
        assert_eq!(
            status_of("SERIAL_REQUIRED"),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status_of("LINE_FULFILLED"),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(status_of("INTERNAL"), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
