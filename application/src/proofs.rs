//! The verifiable ledger's operations the adapters share: each retailer's signed
//! checkpoints (list, find, issue, cosign), inclusion and consistency proofs, and the keys
//! that signed. Everything is confined to the caller's retailer: another retailer's event
//! or checkpoint does not exist. Each GraphQL resolver and REST handler of the ledger is a
//! thin adapter over one of these functions.

use crate::app::Application;
use crate::error::AppError;
use event_schemas::{ProductId, TenantId};
use ledger_proof::ProofError;
use ledger_proof::cosignature::{WitnessVerifierKey, verify_cosignature};
use projections::proofs::checkpoints::{self, StoredCheckpoint};
use projections::proofs::queries;
use projections::{Projection, ReadTx};
use replay::evidence::{self, EvidenceError};
use replay::history::{HistoryQuery, HistorySource, serial_history};
use time::OffsetDateTime;

/// What the permission check names in a refusal.
pub const WHAT: &str = "read or issue the ledger's checkpoints and proofs";

/// The largest page of checkpoints.
pub const MAX_CHECKPOINTS: u64 = 500;

fn database(error: sqlx::Error) -> AppError {
    AppError::unavailable(&error)
}

fn projection(error: projections::ProjectionError) -> AppError {
    AppError::unavailable(&error)
}

async fn snapshot(app: &Application) -> Result<ReadTx, AppError> {
    app.db.snapshot().await.map_err(database)
}

async fn done(tx: ReadTx) -> Result<(), AppError> {
    tx.rollback().await.map_err(database)
}

/// The retailer's checkpoints, newest first, at most `limit`, below `before` leaves if given.
pub async fn list(
    app: &Application,
    tenant_id: TenantId,
    limit: u64,
    before: Option<u64>,
) -> Result<Vec<StoredCheckpoint>, AppError> {
    let mut tx = snapshot(app).await?;
    let found = checkpoints::list(&mut tx, tenant_id, limit, before).await?;
    done(tx).await?;
    Ok(found)
}

/// The retailer's checkpoint of `tree_size` leaves, or its newest when None; None when there
/// is no such checkpoint.
pub async fn find(
    app: &Application,
    tenant_id: TenantId,
    tree_size: Option<u64>,
) -> Result<Option<StoredCheckpoint>, AppError> {
    let mut tx = snapshot(app).await?;
    let found = match tree_size {
        Some(size) => checkpoints::at(&mut tx, tenant_id, size).await?,
        None => checkpoints::latest(&mut tx, tenant_id).await?,
    };
    done(tx).await?;
    Ok(found)
}

/// Like [`find`], `NOT_FOUND` when there is none.
pub async fn get(
    app: &Application,
    tenant_id: TenantId,
    tree_size: Option<u64>,
) -> Result<StoredCheckpoint, AppError> {
    find(app, tenant_id, tree_size)
        .await?
        .ok_or_else(|| not_issued(tree_size))
}

fn not_issued(tree_size: Option<u64>) -> AppError {
    match tree_size {
        Some(size) => AppError::not_found(format!("no checkpoint of {size} leaves was issued")),
        None => AppError::not_found(
            "no checkpoint has been issued yet: issue one (POST /api/v1/ledger/checkpoints, \
             GraphQL issueCheckpoint) or wait for the next",
        ),
    }
}

/// Issues a checkpoint of the retailer's tree now (the `proofs` projection caught up with
/// the log first), signed with the server's key when it has one. When the tree has not
/// grown since the checkpoint of its size, that checkpoint is returned as it is; the flag
/// says whether the checkpoint is new.
pub async fn issue(
    app: &Application,
    tenant_id: TenantId,
) -> Result<(StoredCheckpoint, bool), AppError> {
    app.projections
        .catch_up(Projection::Proofs)
        .await
        .map_err(projection)?;
    let mut tx = snapshot(app).await?;
    let tree = queries::state(&mut tx, tenant_id).await?;
    let existing = checkpoints::at(&mut tx, tenant_id, tree.tree_size).await?;
    done(tx).await?;
    if let Some(existing) = existing {
        return Ok((existing, false));
    }
    let key = app.ledger.signing_key.as_deref();
    let issued = checkpoints::issue(&app.db, tenant_id, key).await?;
    Ok((issued, true))
}

/// Verifies a witness's cosignature `line` of the checkpoint of `tree_size` leaves with the
/// witness's verifier key, records it (once per witness) and returns the checkpoint with
/// its cosignatures, and whether the witness's cosignature is new (a witness cosigns a
/// checkpoint once). A key or line that is refused is `VALIDATION` naming `key_field` or
/// `line_field` and saying why.
pub async fn cosign(
    app: &Application,
    tenant_id: TenantId,
    tree_size: u64,
    witness_key: &str,
    line: &str,
    (key_field, line_field): (&str, &str),
) -> Result<(StoredCheckpoint, bool), AppError> {
    let stored = get(app, tenant_id, Some(tree_size)).await?;
    let key = WitnessVerifierKey::from_text(witness_key).map_err(|error| {
        AppError::invalid(
            key_field,
            &format!(
                "is not a witness verifier key (name+id+base64 of a cosignature/v1 key): {error}"
            ),
        )
    })?;
    let cosignature =
        verify_cosignature(&stored.note, line, &key).map_err(|error| match error {
            ProofError::MalformedNote { .. }
            | ProofError::MalformedCheckpoint { .. }
            | ProofError::NoteTooLarge { .. } => AppError::internal(&error),
            ProofError::CosignatureKeyMismatch { .. } => AppError::invalid(
                line_field,
                &format!("is not signed with {key_field}: {error}"),
            ),
            error => AppError::invalid(
                line_field,
                &format!(
                    "is not a cosignature of the checkpoint of {tree_size} leaves by {key_field}: \
                 {error}"
                ),
            ),
        })?;
    let new = !stored
        .cosignatures
        .iter()
        .any(|recorded| recorded.witness == cosignature.witness);
    checkpoints::add_cosignature(&app.db, tenant_id, tree_size, &cosignature).await?;
    Ok((get(app, tenant_id, Some(tree_size)).await?, new))
}

/// An inclusion proof of an event.
pub struct Inclusion {
    /// The event.
    pub event_id: uuid::Uuid,
    /// Its leaf's index in the retailer's tree.
    pub leaf_index: u64,
    /// The tree the proof is against.
    pub tree_size: u64,
    /// The proof's hashes, hex, leaf to root.
    pub proof: Vec<String>,
}

/// The proof that event `event_id` of the retailer is a leaf of its tree of `tree_size`
/// leaves (of the newest checkpoint's when None). Another retailer's event is `NOT_FOUND`
/// like one that does not exist; so is an event not yet in the tree, saying so.
pub async fn inclusion(
    app: &Application,
    tenant_id: TenantId,
    event_id: uuid::Uuid,
    tree_size: Option<u64>,
) -> Result<Inclusion, AppError> {
    let unknown = || AppError::not_found(format!("no event {event_id} in this retailer's log"));
    let tenant = tenant_id.to_string();
    let mut tx = snapshot(app).await?;
    let mut leaf = queries::leaf_of_event(&mut tx, event_id).await?;
    if leaf.is_none() {
        // Recorded but not folded yet: fold, then look again.
        done(tx).await?;
        app.projections
            .catch_up(Projection::Proofs)
            .await
            .map_err(projection)?;
        tx = snapshot(app).await?;
        leaf = queries::leaf_of_event(&mut tx, event_id).await?;
    }
    let leaf_index = match leaf {
        Some((owner, index)) if owner == tenant => index,
        _ => {
            done(tx).await?;
            return Err(unknown());
        }
    };
    let tree_size = match tree_size {
        Some(size) => size,
        None => match checkpoints::latest(&mut tx, tenant_id).await? {
            Some(latest) => latest.checkpoint.tree_size,
            None => {
                done(tx).await?;
                return Err(not_issued(None));
            }
        },
    };
    if leaf_index >= tree_size {
        done(tx).await?;
        return Err(AppError::not_found(format!(
            "event {event_id} is leaf {leaf_index}, not yet in the tree of {tree_size} leaves: \
             ask again after a checkpoint of more than {leaf_index} leaves is issued"
        )));
    }
    let proof = queries::inclusion_proof(&mut tx, tenant_id, tree_size, leaf_index).await?;
    done(tx).await?;
    Ok(Inclusion {
        event_id,
        leaf_index,
        tree_size,
        proof: proof.iter().map(hex::encode).collect(),
    })
}

/// A consistency proof between two tree sizes.
pub struct Consistency {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size.
    pub to: u64,
    /// The proof's hashes, hex.
    pub proof: Vec<String>,
}

/// The proof that the retailer's tree of `to` leaves (the newest checkpoint's when None)
/// extends its tree of `from` leaves. `from` past `to` is `VALIDATION` naming `from_field`.
pub async fn consistency(
    app: &Application,
    tenant_id: TenantId,
    from: u64,
    to: Option<u64>,
    from_field: &str,
) -> Result<Consistency, AppError> {
    let mut tx = snapshot(app).await?;
    let to = match to {
        Some(size) => size,
        None => match checkpoints::latest(&mut tx, tenant_id).await? {
            Some(latest) => latest.checkpoint.tree_size,
            None => {
                done(tx).await?;
                return Err(not_issued(None));
            }
        },
    };
    if from > to {
        done(tx).await?;
        return Err(AppError::invalid(
            from_field,
            &format!("must not be past the newer tree size ({to})"),
        ));
    }
    let proof = queries::consistency_proof(&mut tx, tenant_id, from, to).await?;
    done(tx).await?;
    Ok(Consistency {
        from,
        to,
        proof: proof.iter().map(hex::encode).collect(),
    })
}

/// A key that signed checkpoints of the retailer.
pub struct UsedKey {
    /// The key's name.
    pub name: String,
    /// Its verifier key, in note format.
    pub verifier_key: String,
    /// The first tree size it signed.
    pub first_tree_size: u64,
    /// The last tree size it signed.
    pub last_tree_size: u64,
}

#[derive(sqlx::FromRow)]
struct UsedKeyRow {
    key_name: String,
    verifier_key: String,
    first_tree_size: i64,
    last_tree_size: i64,
}

/// Every key that signed one of the retailer's stored checkpoints, with the first and last
/// tree size it signed, in the order they were first used.
pub async fn used_keys(app: &Application, tenant_id: TenantId) -> Result<Vec<UsedKey>, AppError> {
    const SQL: &str = "SELECT key_name, verifier_key, MIN(tree_size) AS first_tree_size, \
                       MAX(tree_size) AS last_tree_size FROM ledger_checkpoints \
                       WHERE tenant_id = $1 AND key_name IS NOT NULL AND verifier_key IS NOT NULL \
                       GROUP BY key_name, verifier_key ORDER BY first_tree_size";
    let tenant = tenant_id.to_string();
    let mut tx = snapshot(app).await?;
    let rows: Vec<UsedKeyRow> = match &mut tx {
        ReadTx::Sqlite(tx) => sqlx::query_as(SQL).bind(&tenant).fetch_all(&mut **tx).await,
        ReadTx::Postgres(tx) => sqlx::query_as(SQL).bind(&tenant).fetch_all(&mut **tx).await,
    }
    .map_err(database)?;
    done(tx).await?;
    rows.into_iter()
        .map(|row| {
            let size = |value: i64| {
                u64::try_from(value).map_err(|_| {
                    AppError::internal(&format!("a stored checkpoint has tree size {value}"))
                })
            };
            Ok(UsedKey {
                first_tree_size: size(row.first_tree_size)?,
                last_tree_size: size(row.last_tree_size)?,
                name: row.key_name,
                verifier_key: row.verifier_key,
            })
        })
        .collect()
}

/// An RFC 3339 time from unix seconds (the Unix epoch when out of range, never the case for
/// a time the server or a witness wrote).
pub fn unix_time(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The key the server signs new checkpoints with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentKey {
    /// The key's name.
    pub name: String,
    /// Its verifier key, in note format.
    pub verifier_key: String,
}

/// The key new checkpoints are signed with; None when they are issued unsigned.
pub fn current_key(app: &Application) -> Option<CurrentKey> {
    app.ledger.signing_key.as_ref().map(|key| CurrentKey {
        name: key.name().to_owned(),
        verifier_key: key.verifier_key(),
    })
}

/// A serial's evidence file, as `replay serial --format json` writes it: every unit of the
/// serial (optionally of one product or SKU) with every event and its hashes, proven
/// against the retailer's newest checkpoint, checkable offline. `NOT_FOUND` when the
/// serial was never recorded or no checkpoint has been issued yet.
pub async fn serial_evidence(
    app: &Application,
    tenant_id: TenantId,
    serial: &str,
    product_id: Option<ProductId>,
    sku: Option<String>,
) -> Result<serde_json::Value, AppError> {
    let query = HistoryQuery {
        product_id,
        sku,
        source: HistorySource::Index,
        ..HistoryQuery::new(tenant_id, serial)
    };
    let history = serial_history(&app.store, &query).await?;
    if history.units.is_empty() {
        return Err(AppError::not_found(format!(
            "serial {serial:?} was never recorded by this retailer"
        )));
    }
    let proofs = evidence::prove(&app.db, &history)
        .await
        .map_err(|error| match error {
            EvidenceError::NoCheckpoint => AppError::not_found(error.to_string()),
            EvidenceError::Query(error) => AppError::from(error),
            EvidenceError::Database(error) => AppError::unavailable(&error),
            EvidenceError::MissingFromHistory { .. } => AppError::internal(&error),
        })?;
    Ok(evidence::to_json(
        &history,
        &proofs,
        OffsetDateTime::now_utc(),
    ))
}
