//! The REST handlers' extractors. Each turns a malformed request into a [`RestError`] with
//! a JSON body naming the field (axum's own rejections answer in plain text, which would
//! break the contract's "every error is JSON with a code").

use super::errors::RestError;
use crate::state::AppState;
use application::AppError;
use application::ErrorCode;
use application::auth::{Permission, Principal};
use application::commands::CommandContext;
use application::request::integration_channel;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use event_schemas::CommandId;
use serde::de::DeserializeOwned;

/// The authenticated caller of a REST request: the application's [`application::request::Caller`],
/// extracted from the bearer token and the correlation id header.
#[derive(Debug, Clone)]
pub struct Caller(pub application::request::Caller);

impl Caller {
    /// The caller, who must be allowed `permission` (`what` names it for the message).
    pub fn require(&self, permission: Permission, what: &str) -> Result<&Principal, RestError> {
        Ok(self.0.require(permission, what)?)
    }

    /// The context of a command this request issues: warehouse tokens arrive through the
    /// Warehouse Management Service API (`WMS`), every other token through `API`.
    pub fn command_context(&self, command_id: CommandId) -> CommandContext {
        let channel = integration_channel(self.0.principal.role);
        self.0.command_context(command_id, Some(channel), None)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = RestError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match crate::http::caller(state, &parts.headers).await? {
            Some(caller) => Ok(Self(caller)),
            None => Err(RestError(AppError::unauthenticated())),
        }
    }
}

/// A JSON body, with its raw bytes kept for the idempotency fingerprint.
#[derive(Debug)]
pub struct JsonBody<T> {
    /// The decoded body.
    pub value: T,
    /// The body as received.
    pub raw: Bytes,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(RestError(AppError::new(
                ErrorCode::UnsupportedMediaType,
                "the body must be JSON: send Content-Type: application/json",
            )));
        }
        let raw = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    RestError(AppError::new(
                        ErrorCode::PayloadTooLarge,
                        format!("the body is larger than {} bytes", super::MAX_BODY_BYTES),
                    ))
                } else {
                    RestError::invalid("body", "could not be read")
                }
            })?;
        let value = decode_json(&raw)?;
        Ok(Self { value, raw })
    }
}

/// Decodes a JSON body, naming the field serde stopped at.
fn decode_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, RestError> {
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." || path.is_empty() {
            "body".to_owned()
        } else {
            format!("body.{path}")
        };
        let reason = error.into_inner().to_string();
        RestError(AppError::new(
            ErrorCode::Validation,
            format!("{field} is not valid: {reason}"),
        ))
    })
}

/// Query-string parameters; a bad one is named.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| {
                RestError(AppError::new(
                    ErrorCode::Validation,
                    format!("query string is not valid: {}", rejection.body_text()),
                ))
            })
    }
}

/// Path parameters, taken as text and parsed by the handler (so each error names its
/// parameter).
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|rejection| {
                RestError(AppError::new(
                    ErrorCode::Validation,
                    format!("path is not valid: {}", rejection.body_text()),
                ))
            })
    }
}

/// The `Idempotency-Key` header, when given, and the method and path it was sent with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    /// The key, validated.
    pub key: Option<String>,
    /// The request's method.
    pub method: Method,
    /// The request's path.
    pub path: String,
}

/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_LENGTH: usize = 255;

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let key = match parts.headers.get("idempotency-key") {
            None => None,
            Some(value) => {
                let key = value
                    .to_str()
                    .ok()
                    .map(str::trim)
                    .filter(|key| {
                        !key.is_empty()
                            && key.len() <= MAX_IDEMPOTENCY_KEY_LENGTH
                            && key.bytes().all(|byte| byte.is_ascii_graphic())
                    })
                    .ok_or_else(|| {
                        RestError::invalid(
                            "Idempotency-Key",
                            "must be 1 to 255 visible ASCII characters (a UUID is a good key)",
                        )
                    })?;
                Some(key.to_owned())
            }
        };
        Ok(Self {
            key,
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
        })
    }
}
