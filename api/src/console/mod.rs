//! The web console: the pages staff and auditors use (`/`, `/pos`, `/fulfilment`,
//! `/sales`, `/serials`, `/products`, `/settings`, `/sign-in`) and its session routes.
//!
//! The pages are static files (`api/assets/console/`, see [`crate::assets`]) whose scripts
//! call the same GraphQL API and file routes integrators use (ADR 0007): every rule and
//! every refusal is the API's. What this module adds is the session: a browser signs in
//! once with an API token (`POST /console/session`) and then carries an HttpOnly,
//! SameSite=Strict cookie instead of the token; the server's authenticating middleware
//! accepts the cookie wherever it accepts a bearer token, and refuses a write made with it
//! that lacks the session's CSRF token.

use crate::assets::{CONSOLE_CSP, page};
use crate::http::{SESSION_COOKIE, error_response, session_cookie};
use crate::state::AppState;
use application::auth::{AuthError, Permission};
use application::sessions::{ConsoleSession, DEFAULT_SESSION_LIFETIME};
use application::{AppError, ErrorCode};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;

/// The session routes.
pub const SESSION_PATH: &str = "/console/session";

/// The console's pages: each path serves the same page, whose script shows the screen.
pub const PAGES: [&str; 8] = [
    "/",
    "/sign-in",
    "/pos",
    "/fulfilment",
    "/sales",
    "/serials",
    "/products",
    "/settings",
];

/// The pages and the session routes.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new().route(
        SESSION_PATH,
        post(sign_in).get(current_session).delete(sign_out),
    );
    for path in PAGES {
        router = router.route(path, get(console_page));
    }
    router
}

/// Whether the request signs in: the one write made without a session.
pub fn is_sign_in(method: &Method, path: &str) -> bool {
    method == Method::POST && path == SESSION_PATH
}

async fn console_page() -> Response {
    page("console/index.html", CONSOLE_CSP)
}

/// `POST /console/session` with `{"token": "sl_..."}`: starts a session acting as the
/// token and sets its cookie.
async fn sign_in(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let token = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => value
            .get("token")
            .and_then(|token| token.as_str())
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .map(str::to_owned),
        Err(_) => None,
    };
    let Some(token) = token else {
        return error_response(AppError::invalid(
            "token",
            "is required: send {\"token\": \"sl_...\"} with an API token",
        ));
    };
    match state
        .auth
        .start_session(&token, DEFAULT_SESSION_LIFETIME)
        .await
    {
        Ok(started) => {
            let cookie = session_cookie_header(
                &started.session_id,
                DEFAULT_SESSION_LIFETIME.as_secs(),
                is_https(&headers),
            );
            let mut response = Json(describe(&started.session)).into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            response
        }
        Err(AuthError::Unauthenticated) => error_response(AppError::new(
            ErrorCode::Unauthenticated,
            "token is unknown or revoked: sign in with a live API token \
             (serial-ledger token create)",
        )),
        Err(error) => error_response(AppError::from(error)),
    }
}

/// `GET /console/session`: who the browser is signed in as, with the CSRF token its writes
/// must carry; 401 when it is not signed in (or the session ended).
async fn current_session(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session_of(&state, &headers).await {
        Ok(session) => Json(describe(&session)).into_response(),
        Err(error) => error_response(error),
    }
}

/// `DELETE /console/session`: signs out (the middleware has checked the CSRF token) and
/// clears the cookie.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = session_cookie(&headers)
        && let Err(error) = state.auth.end_session(id).await
    {
        return error_response(AppError::from(error));
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie_header("", 0, is_https(&headers)),
    );
    response
}

async fn session_of(state: &AppState, headers: &HeaderMap) -> Result<ConsoleSession, AppError> {
    let id = session_cookie(headers).ok_or_else(AppError::unauthenticated)?;
    state.auth.session(id).await.map_err(|error| match error {
        AuthError::Unauthenticated => AppError::new(
            ErrorCode::Unauthenticated,
            "the session has ended (signed out, expired, or its token was revoked): sign in again",
        ),
        other => AppError::from(other),
    })
}

fn describe(session: &ConsoleSession) -> serde_json::Value {
    let principal = &session.principal;
    let permissions: Vec<&str> = Permission::ALL
        .into_iter()
        .filter(|permission| principal.may(*permission))
        .map(Permission::name)
        .collect();
    let expires_at = time::OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(session.expires_at_micros) * 1_000,
    )
    .ok()
    .and_then(|at| {
        at.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    json!({
        "tenant": { "id": principal.tenant_id.to_string(), "name": session.tenant_name },
        "role": principal.role.name(),
        "label": principal.label,
        "permissions": permissions,
        "csrfToken": session.csrf_token,
        "expiresAt": expires_at,
    })
}

/// Whether the browser reached the server over TLS (the server itself speaks plain HTTP:
/// TLS ends at a proxy that says so in `X-Forwarded-Proto` or `Forwarded`).
fn is_https(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split([';', ','])
                .any(|part| part.trim().eq_ignore_ascii_case("proto=https"))
        });
    forwarded_proto || forwarded
}

/// The session cookie: HttpOnly (scripts cannot read it), SameSite=Strict (never sent by
/// another site's page), Secure over TLS; `max_age` 0 clears it.
fn session_cookie_header(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&cookie)
        .unwrap_or_else(|_| HeaderValue::from_static("sl_session=; Max-Age=0"))
}
