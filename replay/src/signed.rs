//! Verifying the log against what was signed: `replay verify` recomputes every retailer's
//! Merkle tree and serial map from the log itself (trusting no table the `proofs`
//! projection wrote) and compares them with every stored checkpoint; `replay
//! check-consistency` proves to an auditor holding an older checkpoint, kept outside the
//! database, that the log still extends it, or shows where it no longer does.
//!
//! Why this catches a rewrite that the hash chains cannot: the chains are unkeyed, so
//! whoever can write the database can rewrite a stream and recompute every hash after the
//! change. A checkpoint is signed with a key kept outside the database, and a recomputed
//! root that differs from a signed one cannot be made to match without that key (or a
//! SHA-256 collision).

use event_schemas::{LedgerEvent, TenantId};
use ledger_proof::checkpoint::{
    Checkpoint, VerifierKey, open_checkpoint, read_checkpoint_unverified,
};
use ledger_proof::merkle::{self, Hash, TreeAppender};
use ledger_proof::serial_chain::{CHAIN_START, chain_step, serial_key, serial_value};
use merkle_map::{Node, NodeId};
use projections::ReadDb;
use projections::proofs::checkpoints::{self, StoredCheckpoint};
use projections::proofs::queries::ProofQueryError;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use store::{AnyStore, EventStore, RecordedEvent, StoreError};

/// Events read per page.
const PAGE: usize = 2_000;

/// Something wrong between the log and a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointProblem {
    /// The log's first `tree_size` events of the retailer no longer hash to the signed root.
    RootMismatch {
        /// The retailer.
        tenant_id: TenantId,
        /// The checkpoint's size.
        tree_size: u64,
        /// The root recomputed from the log.
        recomputed: Hash,
        /// The root the checkpoint names.
        signed: Hash,
        /// The largest checkpoint below it that still matches (the rewrite is after it).
        last_matching: Option<u64>,
    },
    /// The serial map recomputed from the log differs from the checkpoint's.
    MapMismatch {
        /// The retailer.
        tenant_id: TenantId,
        /// The checkpoint's size.
        tree_size: u64,
    },
    /// The log holds fewer events of the retailer than the checkpoint covers.
    LogShorter {
        /// The retailer.
        tenant_id: TenantId,
        /// The checkpoint's size.
        tree_size: u64,
        /// Events of the retailer in the log now.
        log_size: u64,
    },
    /// The stored note does not verify, or says something else than its columns.
    BadNote {
        /// The retailer.
        tenant_id: TenantId,
        /// The checkpoint's size.
        tree_size: u64,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for CheckpointProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointProblem::RootMismatch {
                tenant_id,
                tree_size,
                recomputed,
                signed,
                last_matching,
            } => {
                write!(
                    f,
                    "tenant {tenant_id}: the checkpoint of tree size {tree_size} signs root {} \
                     but the log's first {tree_size} events hash to {}: the log was rewritten",
                    hex::encode(signed),
                    hex::encode(recomputed)
                )?;
                match last_matching {
                    Some(size) => write!(
                        f,
                        " after its first {size} events (the last checkpoint that still matches)"
                    ),
                    None => write!(f, " (no earlier checkpoint matches)"),
                }
            }
            CheckpointProblem::MapMismatch {
                tenant_id,
                tree_size,
            } => write!(
                f,
                "tenant {tenant_id}: the serial map recomputed from the log's first {tree_size} \
                 events differs from the checkpoint's: a serial's history was changed"
            ),
            CheckpointProblem::LogShorter {
                tenant_id,
                tree_size,
                log_size,
            } => write!(
                f,
                "tenant {tenant_id}: the checkpoint of tree size {tree_size} covers more events \
                 than the log holds ({log_size}): events were removed"
            ),
            CheckpointProblem::BadNote {
                tenant_id,
                tree_size,
                reason,
            } => write!(
                f,
                "tenant {tenant_id}: the stored checkpoint of tree size {tree_size}: {reason}"
            ),
        }
    }
}

/// What the comparison found.
#[derive(Debug, Clone, Default)]
pub struct CheckpointReport {
    /// Checkpoints compared.
    pub checked: usize,
    /// Of them, whose signature was verified with a given key.
    pub signatures_verified: usize,
    /// Of them, unsigned.
    pub unsigned: usize,
    /// What is wrong.
    pub problems: Vec<CheckpointProblem>,
}

/// Why the comparison could not run.
#[derive(Debug, thiserror::Error)]
pub enum SignedError {
    /// Reading the log failed.
    #[error("reading the log failed: {0}")]
    Store(#[from] StoreError),
    /// Reading the checkpoints failed.
    #[error("reading the checkpoints failed: {0}")]
    Checkpoints(#[from] ProofQueryError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// A retailer's tree and serial map, recomputed event by event from the log. The map's
/// nodes are all held in memory and updated in a batch whenever its root is asked for.
struct Recomputed {
    tree: TreeAppender,
    chains: HashMap<Hash, (u64, Hash)>,
    nodes: BTreeMap<NodeId, Node>,
    pending: BTreeMap<Hash, Hash>,
    map_root: Option<Hash>,
    /// Leaf hashes, kept only when asked (to say where a log diverges).
    leaves: Option<Vec<(Hash, RecordedEvent)>>,
}

impl Default for Recomputed {
    fn default() -> Self {
        Self {
            // The empty tree needs no stored hash: this cannot fail.
            tree: TreeAppender::new(0, HashMap::new())
                .unwrap_or_else(|_| unreachable!("an empty tree has no right edge")),
            chains: HashMap::new(),
            nodes: BTreeMap::new(),
            pending: BTreeMap::new(),
            map_root: None,
            leaves: None,
        }
    }
}

impl Recomputed {
    fn push(&mut self, event: &RecordedEvent) -> Result<(), String> {
        let hash = merkle::parse_hash_hex(&event.envelope.hash).map_err(|e| e.to_string())?;
        let index = self.tree.push(&hash).map_err(|e| e.to_string())?;
        // Only the root is wanted here: the stored hashes are not kept.
        drop(self.tree.take_written());
        let decoded = LedgerEvent::decode(
            &event.envelope.event_type,
            event.envelope.schema_version,
            &event.envelope.payload,
        )
        .map_err(|e| e.to_string())?;
        if let Some(serial) = decoded.serial_named() {
            let key = serial_key(serial);
            let chain = self.chains.entry(key).or_insert((0, CHAIN_START));
            *chain = (chain.0 + 1, chain_step(&chain.1, index, &hash));
            self.pending.insert(key, serial_value(chain.0, &chain.1));
        }
        if let Some(leaves) = &mut self.leaves {
            leaves.push((hash, event.clone()));
        }
        Ok(())
    }

    /// The serial map's root after every event pushed so far.
    fn map_root(&mut self) -> Result<Hash, String> {
        if !self.pending.is_empty() || self.map_root.is_none() {
            let pending = std::mem::take(&mut self.pending);
            let update = merkle_map::apply(&mut self.nodes, &pending).map_err(|e| e.to_string())?;
            self.map_root = Some(update.root);
        }
        Ok(self.map_root.unwrap_or(merkle_map::EMPTY))
    }
}

/// The checkpoint a stored note says (verified with `keys` when given), compared with its
/// stored columns.
fn signed_checkpoint(
    stored: &StoredCheckpoint,
    keys: &[VerifierKey],
) -> Result<(Checkpoint, bool), String> {
    let (checkpoint, verified) = if keys.is_empty() || stored.key_name.is_none() {
        (
            read_checkpoint_unverified(&stored.note).map_err(|e| e.to_string())?,
            false,
        )
    } else {
        (
            open_checkpoint(&stored.note, keys)
                .map_err(|e| format!("its signature does not verify: {e}"))?
                .checkpoint,
            true,
        )
    };
    if checkpoint.tree_size != stored.checkpoint.tree_size
        || checkpoint.root != stored.checkpoint.root
        || checkpoint.map_root != stored.checkpoint.map_root
    {
        return Err("its note says something else than its stored columns".to_owned());
    }
    Ok((checkpoint, verified))
}

/// Recomputes each retailer's tree and map from the log (all retailers, or one) and
/// compares them with every stored checkpoint.
pub async fn verify_checkpoints(
    store: &AnyStore,
    db: &ReadDb,
    tenant_id: Option<TenantId>,
    keys: &[VerifierKey],
) -> Result<CheckpointReport, SignedError> {
    let mut tx = db.snapshot().await?;
    let stored = checkpoints::all(&mut tx, tenant_id).await?;
    tx.rollback().await?;
    let mut report = CheckpointReport::default();
    // Per retailer, the checkpoints to meet, by size.
    let mut due: BTreeMap<TenantId, BTreeMap<u64, Checkpoint>> = BTreeMap::new();
    for checkpoint in &stored {
        report.checked += 1;
        if checkpoint.key_name.is_none() {
            report.unsigned += 1;
        }
        match signed_checkpoint(checkpoint, keys) {
            Ok((signed, verified)) => {
                if verified {
                    report.signatures_verified += 1;
                }
                due.entry(checkpoint.tenant_id)
                    .or_default()
                    .insert(signed.tree_size, signed);
            }
            Err(reason) => report.problems.push(CheckpointProblem::BadNote {
                tenant_id: checkpoint.tenant_id,
                tree_size: checkpoint.checkpoint.tree_size,
                reason,
            }),
        }
    }
    let mut trees: HashMap<TenantId, Recomputed> = HashMap::new();
    let mut last_matching: HashMap<TenantId, u64> = HashMap::new();
    // The empty tree of a retailer is checkpointed before any event: meet size 0 first.
    for (tenant, checkpoints) in &due {
        if let Some(checkpoint) = checkpoints.get(&0) {
            compare(
                *tenant,
                checkpoint,
                &mut Recomputed::default(),
                &mut last_matching,
                &mut report,
            );
        }
    }
    let mut after = store::Position::START;
    loop {
        let page = store.read_all(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in &page {
            let tenant = event.envelope.tenant_id;
            let Some(checkpoints) = due.get(&tenant) else {
                continue;
            };
            let tree = trees.entry(tenant).or_default();
            if let Err(reason) = tree.push(event) {
                report.problems.push(CheckpointProblem::BadNote {
                    tenant_id: tenant,
                    tree_size: tree.tree.size(),
                    reason: format!("event at position {} unreadable: {reason}", event.position),
                });
                continue;
            }
            if let Some(checkpoint) = checkpoints.get(&tree.tree.size()) {
                compare(tenant, checkpoint, tree, &mut last_matching, &mut report);
            }
        }
    }
    for (tenant, checkpoints) in &due {
        let log_size = trees.get(tenant).map_or(0, |tree| tree.tree.size());
        for size in checkpoints.keys().filter(|&&size| size > log_size) {
            report.problems.push(CheckpointProblem::LogShorter {
                tenant_id: *tenant,
                tree_size: *size,
                log_size,
            });
        }
    }
    Ok(report)
}

fn compare(
    tenant_id: TenantId,
    checkpoint: &Checkpoint,
    tree: &mut Recomputed,
    last_matching: &mut HashMap<TenantId, u64>,
    report: &mut CheckpointReport,
) {
    let recomputed = tree.tree.root().unwrap_or(merkle::EMPTY_ROOT);
    if recomputed != checkpoint.root {
        report.problems.push(CheckpointProblem::RootMismatch {
            tenant_id,
            tree_size: checkpoint.tree_size,
            recomputed,
            signed: checkpoint.root,
            last_matching: last_matching.get(&tenant_id).copied(),
        });
    } else if tree.map_root().ok() != Some(checkpoint.map_root) {
        report.problems.push(CheckpointProblem::MapMismatch {
            tenant_id,
            tree_size: checkpoint.tree_size,
        });
    } else {
        last_matching.insert(tenant_id, checkpoint.tree_size);
    }
}

/// What `check-consistency` found for an auditor's checkpoint.
#[derive(Debug, Clone)]
pub enum Consistency {
    /// The log's first `tree_size` events still hash to the auditor's root, and the
    /// ledger's newest checkpoint (if newer) is proven to extend it.
    Extends {
        /// The auditor's checkpoint.
        old: Checkpoint,
        /// Events of the retailer in the log now.
        log_size: u64,
        /// The newest stored checkpoint, when newer, whose consistency proof from the
        /// auditor's verified.
        newest: Option<Checkpoint>,
    },
    /// The log no longer extends the auditor's checkpoint.
    Diverges {
        /// The auditor's checkpoint.
        old: Checkpoint,
        /// Events of the retailer in the log now.
        log_size: u64,
        /// The root of the log's first `old.tree_size` events now (None: the log is shorter).
        recomputed: Option<Hash>,
        /// The first leaf whose event differs from what the ledger's own tree recorded, with
        /// the event now there, when the proofs tables still hold the old leaves.
        first_difference: Option<(u64, Option<Box<RecordedEvent>>)>,
    },
}

/// Checks an auditor's checkpoint (the note's text) against the log: recomputes the root of
/// its first `tree_size` events, and proves the newest stored checkpoint consistent with it.
pub async fn check_consistency(
    store: &AnyStore,
    db: &ReadDb,
    old: &Checkpoint,
    tenant_id: TenantId,
) -> Result<Consistency, SignedError> {
    let mut tree = Recomputed {
        leaves: Some(Vec::new()),
        ..Recomputed::default()
    };
    let mut at_old: Option<Hash> = (old.tree_size == 0).then_some(merkle::EMPTY_ROOT);
    let mut after = store::Position::START;
    loop {
        let page = store.read_all(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in page.iter().filter(|e| e.envelope.tenant_id == tenant_id) {
            // A hash that cannot be read leaves the tree short, which reports divergence.
            if tree.push(event).is_err() {
                continue;
            }
            if tree.tree.size() == old.tree_size {
                at_old = tree.tree.root().ok();
            }
        }
    }
    let log_size = tree.tree.size();
    if at_old != Some(old.root) {
        let first_difference = first_difference(db, tenant_id, &tree, old.tree_size).await?;
        return Ok(Consistency::Diverges {
            old: old.clone(),
            log_size,
            recomputed: at_old,
            first_difference,
        });
    }
    let mut tx = db.snapshot().await?;
    let newest = checkpoints::latest(&mut tx, tenant_id).await?;
    let newest = match newest {
        Some(newest) if newest.checkpoint.tree_size > old.tree_size => {
            let proof = projections::proofs::queries::consistency_proof(
                &mut tx,
                tenant_id,
                old.tree_size,
                newest.checkpoint.tree_size,
            )
            .await?;
            let new = &newest.checkpoint;
            if merkle::verify_consistency(
                old.tree_size,
                &old.root,
                new.tree_size,
                &new.root,
                &proof,
            )
            .is_err()
            {
                tx.rollback().await?;
                return Ok(Consistency::Diverges {
                    old: old.clone(),
                    log_size,
                    recomputed: at_old,
                    first_difference: None,
                });
            }
            Some(newest.checkpoint)
        }
        _ => None,
    };
    tx.rollback().await?;
    Ok(Consistency::Extends {
        old: old.clone(),
        log_size,
        newest,
    })
}

/// The first leaf below `size` whose hash differs from the one the `proofs` projection
/// stored for it (when it still holds the leaves as folded before a rewrite).
async fn first_difference(
    db: &ReadDb,
    tenant_id: TenantId,
    tree: &Recomputed,
    size: u64,
) -> Result<Option<(u64, Option<Box<RecordedEvent>>)>, SignedError> {
    let leaves = tree.leaves.as_deref().unwrap_or_default();
    let mut tx = db.snapshot().await?;
    let stored = projections::proofs::queries::leaf_hashes(&mut tx, tenant_id, size).await?;
    tx.rollback().await?;
    for (index, stored_hash) in stored.iter().enumerate() {
        let index = index as u64;
        match leaves.get(index as usize) {
            Some((hash, event)) if hash != stored_hash => {
                return Ok(Some((index, Some(Box::new(event.clone())))));
            }
            None => return Ok(Some((index, None))),
            Some(_) => {}
        }
    }
    Ok(None)
}
