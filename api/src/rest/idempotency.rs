//! `Idempotency-Key`: a client that retries a write with the same key gets it applied once.
//!
//! The key becomes the command's id (a UUID v5 of the retailer and the key), so the command
//! service's own deduplication applies it once, across retries, restarts and concurrent
//! duplicates, and the retry answers `deduplicated: true`. The first request's fingerprint
//! (SHA-256 of method, path and body) is kept with the key: the same key with a different
//! request is refused with `IDEMPOTENCY_KEY_REUSED` (409) rather than answered as if it
//! were the first. Without a key every request is a new command.

use super::errors::RestError;
use super::extract::IdempotencyKey;
use crate::state::AppState;
use application::{AppError, ErrorCode};
use event_schemas::{CommandId, TenantId};
use projections::{ReadDb, execute, fetch_all};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Namespace of the command ids derived from idempotency keys.
const KEY_NAMESPACE: Uuid = Uuid::from_u128(0x5e71_a11e_d6e7_4c3b_9d0a_1d3e_c0de_0001);

#[derive(sqlx::FromRow)]
struct FingerprintRow {
    fingerprint: String,
}

/// The command id of this request: derived from its key (after checking the key was not
/// used for a different request), or a new one without a key.
pub async fn command_id(
    state: &AppState,
    tenant_id: TenantId,
    key: &IdempotencyKey,
    body: &[u8],
) -> Result<CommandId, RestError> {
    let Some(text) = &key.key else {
        return Ok(CommandId::new_v7());
    };
    let mut hasher = Sha256::new();
    hasher.update(key.method.as_str().as_bytes());
    hasher.update(b" ");
    hasher.update(key.path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    let fingerprint = hex::encode(hasher.finalize());
    let first = remember(&state.db, tenant_id, text, &fingerprint)
        .await
        .map_err(|error| RestError(AppError::unavailable(&error)))?;
    if first != fingerprint {
        return Err(RestError(AppError::new(
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was already used for a different request: use a new key \
             for a new request",
        )));
    }
    Ok(CommandId(Uuid::new_v5(
        &KEY_NAMESPACE,
        format!("{tenant_id}/{text}").as_bytes(),
    )))
}

/// Stores the key's fingerprint unless the key is known; returns the fingerprint of the
/// request that used the key first.
async fn remember(
    db: &ReadDb,
    tenant_id: TenantId,
    key: &str,
    fingerprint: &str,
) -> Result<String, sqlx::Error> {
    let mut tx = db.begin().await?;
    execute!(
        &mut tx,
        "INSERT INTO idempotency_keys (tenant_id, idempotency_key, fingerprint, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
        tenant_id.to_string(),
        key,
        fingerprint,
        time::OffsetDateTime::now_utc().unix_timestamp(),
    )?;
    tx.commit().await?;
    let rows = fetch_all!(
        db,
        FingerprintRow,
        "SELECT fingerprint FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2",
        tenant_id.to_string(),
        key,
    )?;
    Ok(rows
        .into_iter()
        .next()
        .map(|row| row.fingerprint)
        .unwrap_or_else(|| fingerprint.to_owned()))
}
