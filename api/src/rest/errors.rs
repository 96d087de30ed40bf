//! How the REST API answers an error: the HTTP status that fits the code, and a JSON body
//! `{"error": {"code", "message", "details"}}` whose `code` is the same stable code GraphQL
//! puts in `extensions.code` (the two APIs share [`AppError`]).

use application::{AppError, ErrorCode};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
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

/// The status each code is answered with. Refusals of a command that the state of the
/// ledger decides (a serial live elsewhere, a concurrent change, a key reused) are 409; the
/// other business-rule refusals 422; malformed input 400. Exhaustive: a new code does not
/// compile until it has a status.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Validation | ErrorCode::InvalidSerial => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden | ErrorCode::CsrfTokenInvalid => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::Conflict
        | ErrorCode::SerialAlreadyAssigned
        | ErrorCode::InvoiceNumberTaken
        | ErrorCode::AlreadyReissued
        | ErrorCode::IdempotencyKeyReused => StatusCode::CONFLICT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::AlreadyExists
        | ErrorCode::PackageCycle
        | ErrorCode::QuantitySplitRequired
        | ErrorCode::PackageLine
        | ErrorCode::SerialModeDisabled
        | ErrorCode::LineFulfilled
        | ErrorCode::LineClosed
        | ErrorCode::SerialRequired
        | ErrorCode::LineNotFulfilled
        | ErrorCode::AlreadyReturned
        | ErrorCode::LineNotReturned
        | ErrorCode::SlowConsumer => StatusCode::UNPROCESSABLE_ENTITY,
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
        let AppError {
            code,
            message,
            details,
        } = self.0;
        let details = details
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect();
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.as_str().to_owned(),
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
        assert_eq!(status_of(ErrorCode::Validation), StatusCode::BAD_REQUEST);
        assert_eq!(
            status_of(ErrorCode::SerialAlreadyAssigned),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status_of(ErrorCode::SerialRequired),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status_of(ErrorCode::LineFulfilled),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status_of(ErrorCode::Internal),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
