//! Request plumbing every HTTP adapter shares: the bearer token, the correlation id, and
//! the caller the token stands for (resolved once per request: the rate-limiting
//! middleware hands what it resolved to the handler through a task-local).

use crate::state::AppState;
use application::auth::{AuthError, Principal};
use application::{AppError, request::Caller};
use axum::http::{HeaderMap, header};
use std::future::Future;
use uuid::Uuid;

/// The header carrying a request's correlation id, in and out.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The token a request's middleware resolved, for its handler (see [`principal`]).
pub(crate) struct Resolved {
    token: Option<String>,
    principal: Option<Principal>,
}

tokio::task_local! {
    static RESOLVED: Resolved;
}

/// Runs `handler` with the token the middleware resolved, so [`principal`] does not look
/// it up again.
pub(crate) async fn with_resolved<F: Future>(
    token: Option<String>,
    principal: Option<Principal>,
    handler: F,
) -> F::Output {
    RESOLVED.scope(Resolved { token, principal }, handler).await
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

/// Who the token acts as; `Ok(None)` when there is no token or it is unknown or revoked.
/// When the tokens cannot be read (the database is down) the answer is `UNAVAILABLE`, not
/// "no token": a client told `UNAUTHENTICATED` would drop good credentials instead of
/// retrying.
pub async fn principal(
    state: &AppState,
    token: Option<&str>,
) -> Result<Option<Principal>, AppError> {
    let Some(token) = token else {
        return Ok(None);
    };
    // Resolved moments ago by the rate-limiting middleware of this very request.
    let resolved = RESOLVED.try_with(|resolved| {
        (resolved.token.as_deref() == Some(token)).then(|| resolved.principal.clone())
    });
    if let Ok(Some(principal)) = resolved {
        return Ok(principal);
    }
    match state.auth.authenticate(token).await {
        Ok(principal) => Ok(Some(principal)),
        Err(error @ AuthError::Database(_)) => Err(AppError::unavailable(&error)),
        Err(error) => {
            // Never log the token itself.
            tracing::info!(%error, "request with an unusable token");
            Ok(None)
        }
    }
}

/// The authenticated caller of a request: `Ok(None)` without a usable token.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, AppError> {
    let correlation_id = correlation_id(headers);
    Ok(principal(state, bearer_token(headers))
        .await?
        .map(|principal| Caller {
            principal,
            correlation_id,
        }))
}
