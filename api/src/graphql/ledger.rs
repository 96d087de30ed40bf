//! The verifiable ledger: each retailer's signed checkpoints (C2SP signed notes of its
//! RFC 9162 Merkle tree of events), inclusion and consistency proofs, witnesses'
//! cosignatures and the keys that signed. Permission `ReadLog` (auditors and managers): a
//! witness posts its cosignatures with an auditor token. Everything is confined to the
//! token's retailer: another retailer's event or checkpoint does not exist.
//!
//! Tree sizes and leaf indexes are `Int`s up to 2^53 (exact in JSON; a tree of more events
//! than that is far beyond any retailer's log).
//!
//! The operations shared with the REST API (`/api/v1/ledger/...`) are the `pub(crate)`
//! functions here; each resolver and handler is a thin adapter over one of them.

use super::context::{parse_uuid, require, state};
use super::errors::{ApiError, ApiResult};
use crate::auth::{Permission, Principal};
use crate::state::AppState;
use async_graphql::{Context, ID, Object, SimpleObject};
use event_schemas::TenantId;
use ledger_proof::ProofError;
use ledger_proof::cosignature::{WitnessVerifierKey, verify_cosignature};
use projections::proofs::checkpoints::{self, StoredCheckpoint};
use projections::proofs::queries;
use projections::{Projection, ReadTx};
use time::OffsetDateTime;

/// What the permission check names in a refusal.
pub(crate) const WHAT: &str = "read or issue the ledger's checkpoints and proofs";

/// The largest page of checkpoints.
pub(crate) const MAX_CHECKPOINTS: u64 = 500;

fn database(error: sqlx::Error) -> ApiError {
    ApiError::unavailable(&error)
}

fn projection(error: projections::ProjectionError) -> ApiError {
    ApiError::unavailable(&error)
}

async fn snapshot(state: &AppState) -> Result<ReadTx, ApiError> {
    state.db.snapshot().await.map_err(database)
}

async fn done(tx: ReadTx) -> Result<(), ApiError> {
    tx.rollback().await.map_err(database)
}

/// The retailer's checkpoints, newest first, at most `limit`, below `before` leaves if given.
pub(crate) async fn list(
    state: &AppState,
    tenant_id: TenantId,
    limit: u64,
    before: Option<u64>,
) -> Result<Vec<StoredCheckpoint>, ApiError> {
    let mut tx = snapshot(state).await?;
    let found = checkpoints::list(&mut tx, tenant_id, limit, before).await?;
    done(tx).await?;
    Ok(found)
}

/// The retailer's checkpoint of `tree_size` leaves, or its newest when None; None when there
/// is no such checkpoint.
pub(crate) async fn find(
    state: &AppState,
    tenant_id: TenantId,
    tree_size: Option<u64>,
) -> Result<Option<StoredCheckpoint>, ApiError> {
    let mut tx = snapshot(state).await?;
    let found = match tree_size {
        Some(size) => checkpoints::at(&mut tx, tenant_id, size).await?,
        None => checkpoints::latest(&mut tx, tenant_id).await?,
    };
    done(tx).await?;
    Ok(found)
}

/// Like [`find`], `NOT_FOUND` when there is none.
pub(crate) async fn get(
    state: &AppState,
    tenant_id: TenantId,
    tree_size: Option<u64>,
) -> Result<StoredCheckpoint, ApiError> {
    find(state, tenant_id, tree_size)
        .await?
        .ok_or_else(|| not_issued(tree_size))
}

fn not_issued(tree_size: Option<u64>) -> ApiError {
    match tree_size {
        Some(size) => ApiError::not_found(format!("no checkpoint of {size} leaves was issued")),
        None => ApiError::not_found(
            "no checkpoint has been issued yet: issue one (POST /api/v1/ledger/checkpoints, \
             GraphQL issueCheckpoint) or wait for the next",
        ),
    }
}

/// Issues a checkpoint of the retailer's tree now (the `proofs` projection caught up with
/// the log first), signed with the server's key when it has one. When the tree has not
/// grown since the checkpoint of its size, that checkpoint is returned as it is; the flag
/// says whether the checkpoint is new.
pub(crate) async fn issue(
    state: &AppState,
    tenant_id: TenantId,
) -> Result<(StoredCheckpoint, bool), ApiError> {
    state
        .projections
        .catch_up(Projection::Proofs)
        .await
        .map_err(projection)?;
    let mut tx = snapshot(state).await?;
    let tree = queries::state(&mut tx, tenant_id).await?;
    let existing = checkpoints::at(&mut tx, tenant_id, tree.tree_size).await?;
    done(tx).await?;
    if let Some(existing) = existing {
        return Ok((existing, false));
    }
    let key = state.ledger.signing_key.as_deref();
    let issued = checkpoints::issue(&state.db, tenant_id, key).await?;
    Ok((issued, true))
}

/// Verifies a witness's cosignature `line` of the checkpoint of `tree_size` leaves with the
/// witness's verifier key, records it (once per witness) and returns the checkpoint with
/// its cosignatures, and whether the witness's cosignature is new (a witness cosigns a
/// checkpoint once). A key or line that is refused is `VALIDATION` naming `key_field` or
/// `line_field` and saying why.
pub(crate) async fn cosign(
    state: &AppState,
    tenant_id: TenantId,
    tree_size: u64,
    witness_key: &str,
    line: &str,
    (key_field, line_field): (&str, &str),
) -> Result<(StoredCheckpoint, bool), ApiError> {
    let stored = get(state, tenant_id, Some(tree_size)).await?;
    let key = WitnessVerifierKey::from_text(witness_key).map_err(|error| {
        ApiError::invalid(
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
            | ProofError::NoteTooLarge { .. } => ApiError::internal(&error),
            ProofError::CosignatureKeyMismatch { .. } => ApiError::invalid(
                line_field,
                &format!("is not signed with {key_field}: {error}"),
            ),
            error => ApiError::invalid(
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
    checkpoints::add_cosignature(&state.db, tenant_id, tree_size, &cosignature).await?;
    Ok((get(state, tenant_id, Some(tree_size)).await?, new))
}

/// An inclusion proof of an event.
pub(crate) struct Inclusion {
    pub(crate) event_id: uuid::Uuid,
    pub(crate) leaf_index: u64,
    pub(crate) tree_size: u64,
    pub(crate) proof: Vec<String>,
}

/// The proof that event `event_id` of the retailer is a leaf of its tree of `tree_size`
/// leaves (of the newest checkpoint's when None). Another retailer's event is `NOT_FOUND`
/// like one that does not exist; so is an event not yet in the tree, saying so.
pub(crate) async fn inclusion(
    state: &AppState,
    tenant_id: TenantId,
    event_id: uuid::Uuid,
    tree_size: Option<u64>,
) -> Result<Inclusion, ApiError> {
    let unknown = || ApiError::not_found(format!("no event {event_id} in this retailer's log"));
    let tenant = tenant_id.to_string();
    let mut tx = snapshot(state).await?;
    let mut leaf = queries::leaf_of_event(&mut tx, event_id).await?;
    if leaf.is_none() {
        // Recorded but not folded yet: fold, then look again.
        done(tx).await?;
        state
            .projections
            .catch_up(Projection::Proofs)
            .await
            .map_err(projection)?;
        tx = snapshot(state).await?;
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
        return Err(ApiError::not_found(format!(
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
pub(crate) struct Consistency {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) proof: Vec<String>,
}

/// The proof that the retailer's tree of `to` leaves (the newest checkpoint's when None)
/// extends its tree of `from` leaves. `from` past `to` is `VALIDATION` naming `from_field`.
pub(crate) async fn consistency(
    state: &AppState,
    tenant_id: TenantId,
    from: u64,
    to: Option<u64>,
    from_field: &str,
) -> Result<Consistency, ApiError> {
    let mut tx = snapshot(state).await?;
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
        return Err(ApiError::invalid(
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
pub(crate) struct UsedKey {
    pub(crate) name: String,
    pub(crate) verifier_key: String,
    pub(crate) first_tree_size: u64,
    pub(crate) last_tree_size: u64,
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
pub(crate) async fn used_keys(
    state: &AppState,
    tenant_id: TenantId,
) -> Result<Vec<UsedKey>, ApiError> {
    const SQL: &str = "SELECT key_name, verifier_key, MIN(tree_size) AS first_tree_size, \
                       MAX(tree_size) AS last_tree_size FROM ledger_checkpoints \
                       WHERE tenant_id = $1 AND key_name IS NOT NULL AND verifier_key IS NOT NULL \
                       GROUP BY key_name, verifier_key ORDER BY first_tree_size";
    let tenant = tenant_id.to_string();
    let mut tx = snapshot(state).await?;
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
                    ApiError::internal(&format!("a stored checkpoint has tree size {value}"))
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
pub(crate) fn unix_time(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A witness's cosignature of a checkpoint.
#[derive(SimpleObject)]
pub struct LedgerCosignature {
    /// The witness (its key's name).
    pub witness: String,
    /// When the witness cosigned (from its signature).
    pub signed_at: OffsetDateTime,
    /// The cosignature line of the note, ending with a newline.
    pub line: String,
}

/// A checkpoint: the retailer's tree size and root (and serial map root) at one moment, as
/// a C2SP signed note.
#[derive(SimpleObject)]
pub struct LedgerCheckpoint {
    /// The log's origin line (names the retailer).
    pub origin: String,
    /// Events (leaves) in the tree.
    pub tree_size: u64,
    /// The Merkle tree's root, lower-case hex.
    pub root_hash: String,
    /// The serial map's root, lower-case hex.
    pub serial_map_root: String,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// Whether the ledger signed it (it has no key configured otherwise).
    pub signed: bool,
    /// The signing key's name; null when unsigned.
    pub key_name: Option<String>,
    /// The verifier (public) key that checks the signature; null when unsigned.
    pub verifier_key: Option<String>,
    /// The signed note as issued (the body alone when unsigned), without cosignatures.
    pub note: String,
    /// The note followed by every witness's cosignature line: what an auditor keeps.
    pub note_with_cosignatures: String,
    /// Witnesses' cosignatures, by witness name.
    pub cosignatures: Vec<LedgerCosignature>,
}

impl From<StoredCheckpoint> for LedgerCheckpoint {
    fn from(stored: StoredCheckpoint) -> Self {
        let note_with_cosignatures = stored.note_with_cosignatures();
        let checkpoint = stored.checkpoint;
        Self {
            origin: checkpoint.origin,
            tree_size: checkpoint.tree_size,
            root_hash: hex::encode(checkpoint.root),
            serial_map_root: hex::encode(checkpoint.map_root),
            issued_at: unix_time(checkpoint.issued_at),
            signed: stored.key_name.is_some(),
            key_name: stored.key_name,
            verifier_key: stored.verifier_key,
            note: stored.note,
            note_with_cosignatures,
            cosignatures: stored
                .cosignatures
                .into_iter()
                .map(|cosignature| LedgerCosignature {
                    witness: cosignature.witness,
                    signed_at: unix_time(cosignature.signed_at),
                    line: cosignature.line,
                })
                .collect(),
        }
    }
}

/// The proof that an event is a leaf of the retailer's tree.
#[derive(SimpleObject)]
pub struct InclusionProof {
    /// The event.
    pub event_id: ID,
    /// Its leaf index (from 0).
    pub leaf_index: u64,
    /// The tree the proof is for (a checkpoint's tree size).
    pub tree_size: u64,
    /// The RFC 9162 audit path, lower-case hex, leaf to root.
    pub proof: Vec<String>,
}

/// The proof that the retailer's tree of `to` leaves extends its tree of `from` leaves.
#[derive(SimpleObject)]
pub struct ConsistencyProof {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size.
    pub to: u64,
    /// The RFC 9162 consistency proof, lower-case hex (empty from 0 or between equal sizes).
    pub proof: Vec<String>,
}

/// A key the ledger signs with.
#[derive(SimpleObject)]
pub struct LedgerKey {
    /// The key's name.
    pub name: String,
    /// The verifier (public) key text, `name+id+base64`.
    pub verifier_key: String,
}

/// A key that signed some of the retailer's checkpoints.
#[derive(SimpleObject)]
pub struct UsedLedgerKey {
    /// The key's name.
    pub name: String,
    /// The verifier (public) key text that checks those checkpoints.
    pub verifier_key: String,
    /// The smallest tree size it signed.
    pub first_tree_size: u64,
    /// The largest tree size it signed.
    pub last_tree_size: u64,
}

/// The ledger's signing keys, now and over the retailer's checkpoints (after a key
/// rotation, older checkpoints still verify with the key that signed them).
#[derive(SimpleObject)]
pub struct LedgerKeys {
    /// The key new checkpoints are signed with; null when the server has none.
    pub current: Option<LedgerKey>,
    /// Whether new checkpoints are signed.
    pub signing: bool,
    /// Every key that signed one of the retailer's checkpoints, first used first.
    pub used: Vec<UsedLedgerKey>,
}

/// The current key, as the server holds it.
pub(crate) fn current_key(state: &AppState) -> Option<LedgerKey> {
    state.ledger.signing_key.as_ref().map(|key| LedgerKey {
        name: key.name().to_owned(),
        verifier_key: key.verifier_key(),
    })
}

fn reader<'a>(ctx: &Context<'a>) -> Result<(&'a AppState, &'a Principal), ApiError> {
    let principal = require(ctx, Permission::ReadLog, WHAT)?;
    Ok((state(ctx)?, principal))
}

/// Ledger queries.
#[derive(Default)]
pub struct LedgerQuery;

#[Object]
impl LedgerQuery {
    /// The retailer's checkpoints, newest first: `first` (1 to 500) of them, below `before`
    /// leaves when given. Auditors and managers.
    #[graphql(complexity = "first.clamp(0, 500) as usize * child_complexity + 1")]
    async fn ledger_checkpoints(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        before: Option<u64>,
    ) -> ApiResult<Vec<LedgerCheckpoint>> {
        let (state, principal) = reader(ctx)?;
        let first = u64::try_from(first)
            .ok()
            .filter(|first| (1..=MAX_CHECKPOINTS).contains(first))
            .ok_or_else(|| ApiError::invalid("first", "must be from 1 to 500"))?;
        let found = list(state, principal.tenant_id, first, before).await?;
        Ok(found.into_iter().map(LedgerCheckpoint::from).collect())
    }

    /// The retailer's checkpoint of `treeSize` leaves, or its newest when `treeSize` is not
    /// given; null when there is none. Auditors and managers.
    async fn ledger_checkpoint(
        &self,
        ctx: &Context<'_>,
        tree_size: Option<u64>,
    ) -> ApiResult<Option<LedgerCheckpoint>> {
        let (state, principal) = reader(ctx)?;
        let found = find(state, principal.tenant_id, tree_size).await?;
        Ok(found.map(LedgerCheckpoint::from))
    }

    /// The proof that event `eventId` is in the retailer's tree of `treeSize` leaves (the
    /// newest checkpoint's when not given). `NOT_FOUND` for an event of another retailer and
    /// for one not yet in that tree. Auditors and managers.
    async fn inclusion_proof(
        &self,
        ctx: &Context<'_>,
        event_id: ID,
        tree_size: Option<u64>,
    ) -> ApiResult<InclusionProof> {
        let (state, principal) = reader(ctx)?;
        let event_id = parse_uuid("eventId", &event_id)?;
        let found = inclusion(state, principal.tenant_id, event_id, tree_size).await?;
        Ok(InclusionProof {
            event_id: ID(found.event_id.to_string()),
            leaf_index: found.leaf_index,
            tree_size: found.tree_size,
            proof: found.proof,
        })
    }

    /// The proof that the retailer's tree of `toSize` leaves (the newest checkpoint's when
    /// not given) extends its tree of `fromSize` leaves. Auditors and managers.
    async fn consistency_proof(
        &self,
        ctx: &Context<'_>,
        from_size: u64,
        to_size: Option<u64>,
    ) -> ApiResult<ConsistencyProof> {
        let (state, principal) = reader(ctx)?;
        let found = consistency(state, principal.tenant_id, from_size, to_size, "fromSize").await?;
        Ok(ConsistencyProof {
            from: found.from,
            to: found.to,
            proof: found.proof,
        })
    }

    /// The key new checkpoints are signed with, and every key that signed the retailer's
    /// checkpoints. Auditors and managers.
    async fn ledger_keys(&self, ctx: &Context<'_>) -> ApiResult<LedgerKeys> {
        let (state, principal) = reader(ctx)?;
        let used = used_keys(state, principal.tenant_id).await?;
        let current = current_key(state);
        Ok(LedgerKeys {
            signing: current.is_some(),
            current,
            used: used
                .into_iter()
                .map(|key| UsedLedgerKey {
                    name: key.name,
                    verifier_key: key.verifier_key,
                    first_tree_size: key.first_tree_size,
                    last_tree_size: key.last_tree_size,
                })
                .collect(),
        })
    }
}

/// Ledger mutations.
#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Issues a checkpoint of the retailer's tree now, with every event recorded so far
    /// (signed when the server has a signing key). When the tree has not grown since the
    /// last one, that checkpoint is returned. Auditors and managers.
    async fn issue_checkpoint(&self, ctx: &Context<'_>) -> ApiResult<LedgerCheckpoint> {
        let (state, principal) = reader(ctx)?;
        let (issued, _) = issue(state, principal.tenant_id).await?;
        Ok(issued.into())
    }

    /// Records a witness's cosignature `line` of the checkpoint of `treeSize` leaves, after
    /// verifying it with `witnessKey` (the witness's verifier key); returns the checkpoint
    /// with its cosignatures. A witness cosigns once per checkpoint (a second line is not
    /// recorded). Auditor tokens (a witness's) and managers.
    async fn add_cosignature(
        &self,
        ctx: &Context<'_>,
        tree_size: u64,
        witness_key: String,
        line: String,
    ) -> ApiResult<LedgerCheckpoint> {
        let (state, principal) = reader(ctx)?;
        let (stored, _) = cosign(
            state,
            principal.tenant_id,
            tree_size,
            &witness_key,
            &line,
            ("witnessKey", "line"),
        )
        .await?;
        Ok(stored.into())
    }
}
