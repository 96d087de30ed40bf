//! The verifiable ledger over REST (`/api/v1/ledger/...`): the retailer's signed
//! checkpoints, witnesses' cosignatures, inclusion and consistency proofs and the signing
//! keys, the same operations as GraphQL's (`crate::graphql::ledger`). Auditors and
//! managers; a witness posts its cosignatures with an auditor token.
//!
//! A well-formed request the ledger refuses (a cosignature that does not verify, a
//! consistency proof from a tree past the other) is `VALIDATION` naming the field, answered
//! 422 rather than 400: the request matches the document, its content is what is wrong.
//! The writes need no `Idempotency-Key`: issuing again returns the checkpoint of the same
//! tree size, and a witness's cosignature is recorded once.

use super::errors::{ErrorBody, RestError};
use super::extract::{Caller, JsonBody, PathParams, QueryParams};
use super::models::{
    CheckpointList, CheckpointListParams, CheckpointResult, ConsistencyParams, ConsistencyResult,
    CosignRequest, CosignatureResult, InclusionParams, InclusionResult, LedgerKeyResult,
    LedgerKeysResult, NoParams, UsedKeyResult,
};
use crate::state::AppState;
use application::auth::{Permission, Principal};
use application::proofs::{self as service, MAX_CHECKPOINTS, WHAT};
use application::{AppError, ErrorCode};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use projections::proofs::checkpoints::StoredCheckpoint;

/// The error of a ledger endpoint: a [`RestError`] with its usual status, or `VALIDATION`
/// of a well-formed request, answered 422.
#[derive(Debug)]
pub enum LedgerError {
    /// Answered as every REST error is.
    Rest(RestError),
    /// Answered 422 Unprocessable Content.
    Refused(RestError),
}

impl LedgerError {
    /// `error`, answered 422 when it is `VALIDATION` (the content of a well-formed request).
    fn refusal(error: AppError) -> Self {
        if error.code == ErrorCode::Validation {
            Self::Refused(RestError(error))
        } else {
            Self::Rest(RestError(error))
        }
    }
}

impl From<RestError> for LedgerError {
    fn from(error: RestError) -> Self {
        Self::Rest(error)
    }
}

impl From<AppError> for LedgerError {
    fn from(error: AppError) -> Self {
        Self::Rest(RestError(error))
    }
}

impl IntoResponse for LedgerError {
    fn into_response(self) -> Response {
        match self {
            Self::Rest(error) => error.into_response(),
            Self::Refused(error) => {
                let mut response = error.into_response();
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                response
            }
        }
    }
}

/// The result of a ledger handler.
pub type LedgerResult<T> = Result<T, LedgerError>;

/// The largest tree size a parameter may name (2^53 - 1: exact in JSON).
const MAX_SIZE: u64 = (1 << 53) - 1;

fn reader(caller: &Caller) -> Result<&Principal, RestError> {
    caller.require(Permission::ReadLog, WHAT)
}

/// A tree size path parameter, or `VALIDATION` naming it.
fn parse_size(field: &str, text: &str) -> Result<u64, RestError> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|size| *size <= MAX_SIZE)
        .ok_or_else(|| RestError::invalid(field, "must be a whole number from 0 to 2^53 - 1"))
}

fn size_param(field: &str, size: Option<u64>) -> Result<Option<u64>, RestError> {
    match size {
        Some(size) if size > MAX_SIZE => Err(RestError::invalid(field, "must be at most 2^53 - 1")),
        size => Ok(size),
    }
}

fn checkpoint(stored: StoredCheckpoint) -> CheckpointResult {
    let note_with_cosignatures = stored.note_with_cosignatures();
    let body = stored.checkpoint;
    CheckpointResult {
        origin: body.origin,
        tree_size: body.tree_size,
        root_hash: hex::encode(body.root),
        serial_map_root: hex::encode(body.map_root),
        issued_at: service::unix_time(body.issued_at),
        signed: stored.key_name.is_some(),
        key_name: stored.key_name,
        verifier_key: stored.verifier_key,
        note: stored.note,
        note_with_cosignatures,
        cosignatures: stored
            .cosignatures
            .into_iter()
            .map(|cosignature| CosignatureResult {
                witness: cosignature.witness,
                signed_at: service::unix_time(cosignature.signed_at),
                line: cosignature.line,
            })
            .collect(),
    }
}

/// The retailer's checkpoints, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/checkpoints",
    tag = "ledger",
    params(CheckpointListParams),
    responses(
        (status = 200, description = "The checkpoints, newest first.", body = CheckpointList),
        (status = 400, description = "A malformed parameter (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not read the ledger: auditors and managers (FORBIDDEN).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_checkpoints(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<CheckpointListParams>,
) -> LedgerResult<Json<CheckpointList>> {
    let principal = reader(&caller)?;
    let limit = match params.limit.map(u64::from) {
        None => 50,
        Some(limit @ 1..=MAX_CHECKPOINTS) => limit,
        Some(_) => return Err(RestError::invalid("limit", "must be from 1 to 500").into()),
    };
    let before = size_param("before", params.before)?;
    let found = service::list(&state, principal.tenant_id, limit, before).await?;
    Ok(Json(CheckpointList {
        checkpoints: found.into_iter().map(checkpoint).collect(),
    }))
}

/// The retailer's newest checkpoint.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/checkpoints/latest",
    tag = "ledger",
    responses(
        (status = 200, description = "The newest checkpoint.", body = CheckpointResult),
        (status = 400, description = "A query parameter this endpoint does not take (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not read the ledger: auditors and managers (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "No checkpoint has been issued yet (NOT_FOUND).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn latest_checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> LedgerResult<Json<CheckpointResult>> {
    let principal = reader(&caller)?;
    let found = service::get(&state, principal.tenant_id, None).await?;
    Ok(Json(checkpoint(found)))
}

/// The retailer's checkpoint of `treeSize` leaves.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/checkpoints/{treeSize}",
    tag = "ledger",
    params(
        ("treeSize" = u64, Path, minimum = 0, maximum = 9007199254740991_u64, description = "The checkpoint's tree size."),
    ),
    responses(
        (status = 200, description = "The checkpoint.", body = CheckpointResult),
        (status = 400, description = "A malformed tree size (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not read the ledger: auditors and managers (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "No checkpoint of that tree size was issued (NOT_FOUND).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn checkpoint_at(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(tree_size): PathParams<String>,
) -> LedgerResult<Json<CheckpointResult>> {
    let principal = reader(&caller)?;
    let tree_size = parse_size("treeSize", &tree_size)?;
    let found = service::get(&state, principal.tenant_id, Some(tree_size)).await?;
    Ok(Json(checkpoint(found)))
}

/// The checkpoint of `treeSize` leaves as a C2SP signed note with every witness's
/// cosignature line: the text an auditor keeps in a file and verifies offline.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/checkpoints/{treeSize}/note",
    tag = "ledger",
    params(
        ("treeSize" = u64, Path, minimum = 0, maximum = 9007199254740991_u64, description = "The checkpoint's tree size."),
    ),
    responses(
        (status = 200, description = "The signed note with its cosignatures.", body = String, content_type = "text/plain; charset=utf-8"),
        (status = 400, description = "A malformed tree size (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not read the ledger: auditors and managers (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "No checkpoint of that tree size was issued (NOT_FOUND).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn checkpoint_note(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(tree_size): PathParams<String>,
) -> LedgerResult<Response> {
    let principal = reader(&caller)?;
    let tree_size = parse_size("treeSize", &tree_size)?;
    let found = service::get(&state, principal.tenant_id, Some(tree_size)).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        found.note_with_cosignatures(),
    )
        .into_response())
}

/// Issues a checkpoint of the retailer's tree now, with every event recorded so far,
/// signed when the server has a signing key: 201 with the new checkpoint. When the tree has
/// not grown since the checkpoint of its size, that checkpoint is answered with 200.
#[utoipa::path(
    post,
    path = "/api/v1/ledger/checkpoints",
    tag = "ledger",
    responses(
        (status = 201, description = "The checkpoint issued.", body = CheckpointResult),
        (status = 200, description = "The tree has not grown: the checkpoint of its size, issued before.", body = CheckpointResult),
        (status = 400, description = "A query parameter this endpoint does not take (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not issue checkpoints: auditors and managers (FORBIDDEN).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn issue_checkpoint(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> LedgerResult<(StatusCode, Json<CheckpointResult>)> {
    let principal = reader(&caller)?;
    let (issued, new) = service::issue(&state, principal.tenant_id).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(checkpoint(issued))))
}

/// Records a witness's cosignature of the checkpoint of `treeSize` leaves, after verifying
/// the line with the witness's key against the checkpoint's note: 201 with the checkpoint
/// and its cosignatures. A witness cosigns a checkpoint once: a line of a witness whose
/// cosignature is recorded already is verified, not recorded, and answered 200.
#[utoipa::path(
    post,
    path = "/api/v1/ledger/checkpoints/{treeSize}/cosignatures",
    tag = "ledger",
    params(
        ("treeSize" = u64, Path, minimum = 0, maximum = 9007199254740991_u64, description = "The checkpoint's tree size."),
    ),
    request_body = CosignRequest,
    responses(
        (status = 201, description = "The cosignature was recorded: the checkpoint with its cosignatures.", body = CheckpointResult),
        (status = 200, description = "This witness's cosignature was recorded before: the checkpoint with its cosignatures.", body = CheckpointResult),
        (status = 400, description = "A malformed request (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not cosign: a witness uses an auditor token (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "No checkpoint of that tree size was issued (NOT_FOUND).", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "The key is not a witness verifier key, or the line is not its cosignature of this checkpoint (VALIDATION naming `witnessKey` or `line`, saying why).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn add_cosignature(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(tree_size): PathParams<String>,
    body: JsonBody<CosignRequest>,
) -> LedgerResult<(StatusCode, Json<CheckpointResult>)> {
    let principal = reader(&caller)?;
    let tree_size = parse_size("treeSize", &tree_size)?;
    let CosignRequest { witness_key, line } = body.value;
    let (stored, new) = service::cosign(
        &state,
        principal.tenant_id,
        tree_size,
        &witness_key,
        &line,
        ("witnessKey", "line"),
    )
    .await
    .map_err(LedgerError::refusal)?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(checkpoint(stored))))
}

/// The proof that an event of the retailer is a leaf of its tree of `treeSize` leaves (the
/// newest checkpoint's when not given): verify it against that checkpoint's root.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/proofs/inclusion",
    tag = "ledger",
    params(InclusionParams),
    responses(
        (status = 200, description = "The inclusion proof.", body = InclusionResult),
        (status = 400, description = "A malformed parameter (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not read the ledger: auditors and managers (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "No such event of this retailer, the event is not yet in that tree, the tree is smaller, or no checkpoint has been issued yet (NOT_FOUND).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<InclusionParams>,
) -> LedgerResult<Json<InclusionResult>> {
    let principal = reader(&caller)?;
    let event_id = super::parse_uuid("eventId", &params.event_id)?;
    let tree_size = size_param("treeSize", params.tree_size)?;
    let found = service::inclusion(&state, principal.tenant_id, event_id, tree_size)
        .await
        .map_err(LedgerError::refusal)?;
    Ok(Json(InclusionResult {
        event_id: found.event_id.to_string(),
        leaf_index: found.leaf_index,
        tree_size: found.tree_size,
        proof: found.proof,
    }))
}

/// The proof that the retailer's tree of `to` leaves (the newest checkpoint's when not
/// given) extends its tree of `from` leaves: verify it against the two checkpoints' roots.
#[utoipa::path(
    get,
    path = "/api/v1/ledger/proofs/consistency",
    tag = "ledger",
    params(ConsistencyParams),
    responses(
        (status = 200, description = "The consistency proof.", body = ConsistencyResult),
        (status = 400, description = "A malformed parameter (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not read the ledger: auditors and managers (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "The tree is smaller than `to`, or no checkpoint has been issued yet (NOT_FOUND).", body = ErrorBody),
        (status = 422, description = "`from` is past `to` (VALIDATION naming `from`).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn consistency_proof(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<ConsistencyParams>,
) -> LedgerResult<Json<ConsistencyResult>> {
    let principal = reader(&caller)?;
    let from = size_param("from", Some(params.from))?.unwrap_or_default();
    let to = size_param("to", params.to)?;
    let found = service::consistency(&state, principal.tenant_id, from, to, "from")
        .await
        .map_err(LedgerError::refusal)?;
    Ok(Json(ConsistencyResult {
        from: found.from,
        to: found.to,
        proof: found.proof,
    }))
}

/// The key new checkpoints are signed with, and every key that signed the retailer's
/// checkpoints with the tree sizes it signed (after a key rotation, older checkpoints still
/// verify with the key that signed them).
#[utoipa::path(
    get,
    path = "/api/v1/ledger/keys",
    tag = "ledger",
    responses(
        (status = 200, description = "The keys.", body = LedgerKeysResult),
        (status = 400, description = "A query parameter this endpoint does not take (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not read the ledger: auditors and managers (FORBIDDEN).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn keys(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(NoParams {}): QueryParams<NoParams>,
) -> LedgerResult<Json<LedgerKeysResult>> {
    let principal = reader(&caller)?;
    let used = service::used_keys(&state, principal.tenant_id).await?;
    let current = service::current_key(&state).map(|key| LedgerKeyResult {
        name: key.name,
        verifier_key: key.verifier_key,
    });
    Ok(Json(LedgerKeysResult {
        signing: current.is_some(),
        current,
        used: used
            .into_iter()
            .map(|key| UsedKeyResult {
                name: key.name,
                verifier_key: key.verifier_key,
                first_tree_size: key.first_tree_size,
                last_tree_size: key.last_tree_size,
            })
            .collect(),
    }))
}
