//! Request plumbing every HTTP adapter shares: the credential (a bearer token, or the web
//! console's session cookie), the correlation id, and the caller the credential stands for
//! (resolved once per request: the authenticating middleware hands what it resolved to the
//! handler through a task-local).

use crate::state::AppState;
use application::ErrorCode;
use application::auth::{AuthError, Principal};
use application::{AppError, request::Caller};
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use uuid::Uuid;

/// The header carrying a request's correlation id, in and out.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The cookie carrying a console session's id.
pub const SESSION_COOKIE: &str = "sl_session";

/// The header every write made with a session cookie must carry: the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What a request presents to say who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// `Authorization: Bearer <token>` (integrators, GraphiQL, the CLI's clients).
    Bearer(&'a str),
    /// The console's session cookie (browsers).
    Session(&'a str),
}

impl Credential<'_> {
    /// The token or session id.
    pub fn text(&self) -> &str {
        match self {
            Credential::Bearer(text) | Credential::Session(text) => text,
        }
    }
}

/// The request's credential: the bearer token when there is one, else the session cookie.
pub fn credential(headers: &HeaderMap) -> Option<Credential<'_>> {
    bearer_token(headers)
        .map(Credential::Bearer)
        .or_else(|| session_cookie(headers).map(Credential::Session))
}

/// The console session id in the request's `Cookie` header.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The credential a request's middleware resolved, for its handler (see [`principal`]).
pub(crate) struct Resolved {
    credential: Option<String>,
    principal: Option<Principal>,
}

tokio::task_local! {
    static RESOLVED: Resolved;
}

/// Runs `handler` with the credential the middleware resolved, so [`principal`] does not
/// look it up again.
pub(crate) async fn with_resolved<F: Future>(
    credential: Option<String>,
    principal: Option<Principal>,
    handler: F,
) -> F::Output {
    RESOLVED
        .scope(
            Resolved {
                credential,
                principal,
            },
            handler,
        )
        .await
}

/// What the middleware resolved for this request, if it ran.
pub(crate) fn resolved_principal() -> Option<Principal> {
    RESOLVED
        .try_with(|resolved| resolved.principal.clone())
        .ok()
        .flatten()
}

/// The token of an `Authorization: Bearer ...` header.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The request's correlation id: the `x-correlation-id` header when it is a UUID, else a
/// new one.
pub fn correlation_id(headers: &HeaderMap) -> Uuid {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| Uuid::parse_str(text).ok())
        .unwrap_or_else(Uuid::now_v7)
}

/// Who the credential acts as; `Ok(None)` when there is none or it is unknown, revoked,
/// expired or signed out. When the tokens cannot be read (the database is down) the answer
/// is `UNAVAILABLE`, not "no credential": a client told `UNAUTHENTICATED` would drop good
/// credentials instead of retrying.
pub async fn principal(
    state: &AppState,
    credential: Option<Credential<'_>>,
) -> Result<Option<Principal>, AppError> {
    let Some(credential) = credential else {
        return Ok(None);
    };
    // Resolved moments ago by the middleware of this very request.
    let resolved = RESOLVED.try_with(|resolved| {
        (resolved.credential.as_deref() == Some(credential.text()))
            .then(|| resolved.principal.clone())
    });
    if let Ok(Some(principal)) = resolved {
        return Ok(principal);
    }
    let resolution = match credential {
        Credential::Bearer(token) => state.auth.authenticate(token).await,
        Credential::Session(id) => state
            .auth
            .session(id)
            .await
            .map(|session| session.principal),
    };
    match resolution {
        Ok(principal) => Ok(Some(principal)),
        Err(error @ AuthError::Database(_)) => Err(AppError::unavailable(&error)),
        Err(error) => {
            // Never log the credential itself.
            tracing::info!(%error, "request with an unusable credential");
            Ok(None)
        }
    }
}

/// The authenticated caller of a request: `Ok(None)` without a usable token.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, AppError> {
    let correlation_id = correlation_id(headers);
    Ok(principal(state, credential(headers))
        .await?
        .map(|principal| Caller {
            principal,
            correlation_id,
        }))
}

/// The HTTP status each code is answered with, by every JSON route (REST, the console's
/// session routes, refusals before a handler runs). Refusals of a command that the state of the
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

/// An error as every JSON route outside GraphQL answers it: the status of its code and
/// `{"error": {"code", "message", "details"}}` (documented as REST's `ErrorBody`), with
/// `WWW-Authenticate: Bearer` on 401.
pub fn error_response(error: AppError) -> Response {
    let status = status_of(error.code);
    let AppError {
        code,
        message,
        details,
    } = error;
    let details: serde_json::Map<String, serde_json::Value> = details
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    let body = serde_json::json!({
        "error": { "code": code.as_str(), "message": message, "details": details },
    });
    let mut response = (status, Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

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
