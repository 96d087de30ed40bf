//! The verifiable ledger: each retailer's signed checkpoints (C2SP signed notes of its
//! RFC 9162 Merkle tree of events), inclusion and consistency proofs, witnesses'
//! cosignatures and the keys that signed. Permission `ReadLog` (auditors and managers): a
//! witness posts its cosignatures with an auditor token. Everything is confined to the
//! token's retailer: another retailer's event or checkpoint does not exist.
//!
//! Tree sizes and leaf indexes are `Int`s up to 2^53 (exact in JSON; a tree of more events
//! than that is far beyond any retailer's log).
//!
//! Each resolver is a thin adapter over one of the operations the REST API
//! (`/api/v1/ledger/...`) shares, in [`application::proofs`].

use super::context::{parse_uuid, require, state};
use super::errors::ApiResult;
use crate::state::AppState;
use application::AppError;
use application::auth::{Permission, Principal};
use application::proofs::{self as service, MAX_CHECKPOINTS, WHAT, unix_time};
use async_graphql::{Context, ID, Object, SimpleObject};
use projections::proofs::checkpoints::StoredCheckpoint;
use time::OffsetDateTime;

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
fn current_key(state: &AppState) -> Option<LedgerKey> {
    service::current_key(state).map(|key| LedgerKey {
        name: key.name,
        verifier_key: key.verifier_key,
    })
}

fn reader<'a>(ctx: &Context<'a>) -> Result<(&'a AppState, &'a Principal), AppError> {
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
            .ok_or_else(|| AppError::invalid("first", "must be from 1 to 500"))?;
        let found = service::list(state, principal.tenant_id, first, before).await?;
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
        let found = service::find(state, principal.tenant_id, tree_size).await?;
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
        let found = service::inclusion(state, principal.tenant_id, event_id, tree_size).await?;
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
        let found =
            service::consistency(state, principal.tenant_id, from_size, to_size, "fromSize")
                .await?;
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
        let used = service::used_keys(state, principal.tenant_id).await?;
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
        let (issued, _) = service::issue(state, principal.tenant_id).await?;
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
        let (stored, _) = service::cosign(
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
