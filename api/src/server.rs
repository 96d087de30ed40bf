//! The HTTP server: GraphQL over HTTP and WebSocket, GraphiQL, and the health check.
//!
//! The router is built by [`app`], so tests can serve it on port 0 exactly as the binary
//! does ([`serve`]). Every request resolves its `Authorization: Bearer` token to a
//! [`Principal`] (or none: resolvers then answer `UNAUTHENTICATED`) and gets a correlation
//! id (the `x-correlation-id` header when it is a UUID, else a new one), which tags its
//! `tracing` span and every event its commands record.
//!
//! Every route but `/healthz`, `/openapi.json` and `/schemas/...` is rate limited per caller
//! ([`crate::rate_limit`]): GraphQL over HTTP, the WebSocket upgrade, REST and files. The
//! limiting middleware resolves the token once and hands the result to the handler (a
//! task-local read by [`principal`]), so a limited request costs no second token lookup.

use crate::graphql::errors::GraphqlError;
use crate::graphql::{ApiSchema, RequestMeta, build_schema};
use crate::http::{
    CORRELATION_HEADER, CSRF_HEADER, Credential, bearer_token, correlation_id, credential,
    principal, resolved_principal, with_resolved,
};
use crate::rate_limit::{Caller, RateLimited, RateLimiter};
use crate::rest::errors::RestError;
use crate::state::AppState;
use application::auth::AuthError;
use application::{AppError, ErrorCode};
use async_graphql::Data;
use async_graphql::ParseRequestError;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::rejection::GraphQLRejection;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::extract::{ConnectInfo, Request, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tracing::Instrument;

/// Largest request body accepted (GraphQL documents and variables).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
struct ServerState {
    app: AppState,
    schema: ApiSchema,
}

/// The router: `POST /graphql`, `GET /graphql` (GraphiQL), `GET /graphql/ws`
/// (graphql-transport-ws), `GET /healthz`, REST, files and event schemas, rate limited as
/// `state.rate_limit` says.
pub fn app(state: AppState, schema: ApiSchema) -> Router {
    let limits = Limits {
        limiter: Arc::new(RateLimiter::new(state.rate_limit)),
    };
    let api = Router::new()
        .route("/graphql", get(crate::assets::graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(healthz))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::map_response(payload_too_large_as_json))
        .with_state(ServerState {
            app: state.clone(),
            schema,
        });
    // File routes set their own body limits (an upload of products is larger than any
    // GraphQL request).
    api.merge(crate::exports::routes().with_state(state.clone()))
        .merge(crate::schemas::routes().with_state(state.clone()))
        .merge(crate::console::routes().with_state(state.clone()))
        .merge(crate::assets::routes())
        .merge(crate::rest::routes().with_state(state.clone()))
        .layer(middleware::from_fn_with_state(limits, limit_rate))
        .layer(middleware::from_fn_with_state(state, authenticate))
        .layer(TraceLayer::new_for_http())
}

#[derive(Clone)]
struct Limits {
    limiter: Arc<RateLimiter>,
}

/// Routes that are never limited nor authenticated: probes, and public documents and
/// static files that cost nothing.
fn is_exempt(path: &str) -> bool {
    path == "/healthz"
        || path == "/openapi.json"
        || path.starts_with("/schemas/")
        || crate::assets::is_asset_path(path)
}

fn is_graphql(path: &str) -> bool {
    path == "/graphql" || path.starts_with("/graphql/")
}

/// Resolves the request's credential once (the bearer token, else the console's session
/// cookie) and hands it to the rate limiter and the handler. A write made with a session
/// cookie must carry the session's CSRF token in `X-CSRF-Token`, or it is refused with
/// `CSRF_TOKEN_INVALID` (403) before anything runs; signing in is the one write that has
/// no session yet.
async fn authenticate(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_exempt(path) || crate::console::is_sign_in(request.method(), path) {
        return next.run(request).await;
    }
    let graphql = is_graphql(path);
    let headers = request.headers();
    let Some(credential) = credential(headers) else {
        return with_resolved(None, None, next.run(request)).await;
    };
    let resolution = match credential {
        Credential::Bearer(token) => app.auth.authenticate(token).await,
        Credential::Session(id) => match app.auth.session(id).await {
            Ok(session) if is_safe(request.method()) => Ok(session.principal),
            Ok(session) if csrf_matches(headers, &session.csrf_token) => Ok(session.principal),
            Ok(_) => {
                let error = AppError::new(
                    ErrorCode::CsrfTokenInvalid,
                    format!(
                        "a write made with the console's session cookie must carry the \
                         session's CSRF token in the {CSRF_HEADER} header"
                    ),
                );
                return refusal(error, StatusCode::FORBIDDEN, graphql);
            }
            Err(error) => Err(error),
        },
    };
    let principal = match resolution {
        Ok(principal) => Some(principal),
        Err(error @ AuthError::Database(_)) => {
            return refusal(
                AppError::unavailable(&error),
                StatusCode::SERVICE_UNAVAILABLE,
                graphql,
            );
        }
        Err(error) => {
            // Never log the credential itself.
            tracing::info!(%error, "request with an unusable credential");
            None
        }
    };
    let credential = Some(credential.text().to_owned());
    with_resolved(credential, principal, next.run(request)).await
}

/// Whether the method only reads (so a session cookie alone may make the request).
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether `X-CSRF-Token` is the session's, compared in constant time.
fn csrf_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(sent) = headers.get(CSRF_HEADER).map(HeaderValue::as_bytes) else {
        return false;
    };
    let expected = expected.as_bytes();
    sent.len() == expected.len()
        && sent
            .iter()
            .zip(expected)
            .fold(0_u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

/// A refusal before any handler runs: a GraphQL error response on `/graphql`, the REST
/// error body elsewhere.
fn refusal(error: AppError, status: StatusCode, graphql: bool) -> Response {
    if graphql {
        transport_error(status, error.code.as_str(), error.message)
    } else {
        RestError(error).into_response()
    }
}

/// Takes one request from the caller's bucket, or answers 429 with `Retry-After`.
async fn limit_rate(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !limits.limiter.limit().is_on() || is_exempt(path) {
        return next.run(request).await;
    }
    let graphql = is_graphql(path);
    // Resolved by `authenticate`, which runs first.
    let principal = resolved_principal();
    // Keyed by the verified token's id, never by an id read from an unverified token (see
    // `rate_limit`); without a valid token, by the client address when the server knows it
    // (`serve` records it; a router driven in process has none: one anonymous bucket).
    let caller = match &principal {
        Some(principal) => Caller::Token(principal.token_id),
        None => Caller::unauthenticated(
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ),
    };
    match limits.limiter.check(caller) {
        Ok(()) => next.run(request).await,
        Err(limited) => {
            tracing::debug!(%caller, retry_after = limited.retry_after_secs, "rate limited");
            too_many_requests(limited, graphql)
        }
    }
}

/// 429 with `Retry-After`: a GraphQL error response on `/graphql`, the REST error body
/// elsewhere; both with the code `RATE_LIMITED`.
fn too_many_requests(limited: RateLimited, graphql: bool) -> Response {
    let seconds = limited.retry_after_secs;
    let message = format!("too many requests: retry in {seconds} s");
    let mut response = if graphql {
        let body = json!({
            "errors": [{
                "message": message,
                "extensions": { "code": ErrorCode::RateLimited.as_str(), "retryAfter": seconds },
            }],
        });
        (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
    } else {
        let error = AppError::new(ErrorCode::RateLimited, message)
            .with_detail("retryAfterSeconds", seconds);
        RestError(error).into_response()
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish and stops the projections after their current batch.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let projections = state.projections.spawn();
    let webhooks = application::webhooks::spawn(state.store.clone(), state.webhook_options.clone());
    let checkpoints = application::ledger::spawn(state.db.clone(), state.ledger.clone());
    let schema = build_schema(state.clone());
    // The client address keys the rate limit of requests without a valid token.
    let app = app(state, schema).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    webhooks.stop().await;
    checkpoints.stop().await;
    projections.stop().await;
    served
}

/// A refusal before GraphQL runs, answered as a GraphQL error with a code like any other.
fn transport_error(status: StatusCode, code: &str, message: String) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}

/// The body limit's 413 (plain, empty) as a GraphQL error with code `PAYLOAD_TOO_LARGE`.
async fn payload_too_large_as_json(response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    transport_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge.as_str(),
        format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

async fn graphql(
    State(server): State<ServerState>,
    headers: HeaderMap,
    request: Result<GraphQLRequest, GraphQLRejection>,
) -> Response {
    let request = match request {
        Ok(request) => request,
        Err(GraphQLRejection(ParseRequestError::PayloadTooLarge)) => {
            return payload_too_large_as_json(StatusCode::PAYLOAD_TOO_LARGE.into_response()).await;
        }
        Err(GraphQLRejection(error)) => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                ErrorCode::Validation.as_str(),
                format!("the body is not a GraphQL request: {error}"),
            );
        }
    };
    let correlation_id = correlation_id(&headers);
    let span = tracing::info_span!("graphql", %correlation_id, tenant = tracing::field::Empty);
    async move {
        let mut request = request.into_inner().data(RequestMeta { correlation_id });
        let principal = match principal(&server.app, credential(&headers)).await {
            Ok(principal) => principal,
            Err(error) => {
                return transport_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    error.code.as_str(),
                    error.message,
                );
            }
        };
        if let Some(principal) = principal {
            tracing::Span::current().record("tenant", tracing::field::display(principal.tenant_id));
            request = request.data(principal);
        }
        let response: GraphQLResponse = server.schema.execute(request).await.into();
        let mut response = response.into_response();
        if let Ok(value) = HeaderValue::from_str(&correlation_id.to_string()) {
            response.headers_mut().insert(CORRELATION_HEADER, value);
        }
        response
    }
    .instrument(span)
    .await
}

/// The token of a WebSocket connection: `{"authorization": "Bearer ..."}` or
/// `{"token": "..."}` in the `connection_init` payload.
fn init_token(payload: &serde_json::Value) -> Option<String> {
    let from_header = payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(|value| value.as_str())
        .and_then(|value| value.strip_prefix("Bearer "));
    from_header
        .or_else(|| payload.get("token").and_then(|value| value.as_str()))
        .map(|token| token.trim().to_owned())
}

async fn graphql_ws(
    State(server): State<ServerState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    websocket: WebSocketUpgrade,
) -> Response {
    let correlation_id = correlation_id(&headers);
    let header_token = bearer_token(&headers).map(str::to_owned);
    websocket
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let app = server.app.clone();
            GraphQLWebSocket::new(socket, server.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    let mut data = Data::default();
                    data.insert(RequestMeta { correlation_id });
                    let token = init_token(&payload).or(header_token);
                    let token = token.as_deref().map(Credential::Bearer);
                    if let Some(principal) = principal(&app, token)
                        .await
                        .map_err(|error| async_graphql::Error::from(GraphqlError::from(error)))?
                    {
                        data.insert(principal);
                    }
                    Ok(data)
                })
                .serve()
        })
}

async fn healthz(State(server): State<ServerState>) -> Response {
    let runner = &server.app.projections;
    let mut projections = Vec::new();
    let mut healthy = true;
    for status in runner.status() {
        let lag = match runner.lag(status.projection).await {
            Ok(lag) => json!(lag),
            Err(error) => {
                tracing::error!(%error, "health check cannot read the log");
                healthy = false;
                json!(null)
            }
        };
        healthy &= status.error.is_none();
        projections.push(json!({
            "name": status.projection.name(),
            "position": status.position.to_string(),
            "eventsSeen": status.events_seen,
            "lag": lag,
            "error": status.error,
        }));
    }
    let backend = server.app.store.backend_name();
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let status = if healthy { "ok" } else { "degraded" };
    (
        code,
        Json(json!({ "status": status, "backend": backend, "projections": projections })),
    )
        .into_response()
}
