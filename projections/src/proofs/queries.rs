//! Proofs made from the `proofs` projection's tables: roots, inclusion and consistency
//! proofs at any tree size, each event's leaf, a serial's committed chain and its map proof
//! at a checkpoint. Every function reads through one transaction, so a caller that needs
//! several answers about one moment opens a snapshot ([`ReadDb::snapshot`]) and asks them
//! all in it.
//!
//! [`ReadDb::snapshot`]: crate::ReadDb::snapshot

use super::{LogState, NodeRow, log_state, parse_hex, tree_hashes};
use crate::db::ReadTx;
use crate::fetch_optional;
use crate::projection::ProjectionError;
use crate::stored;
use event_schemas::TenantId;
use ledger_proof::merkle::{self, Hash};
use ledger_proof::serial_chain::{CHAIN_START, chain_step, serial_key};
use merkle_map::{MapProof, PathLoader};

/// Why a proof cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ProofQueryError {
    /// Reading the tables failed.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// What was asked for is not in the tree (yet).
    #[error("{0}")]
    NotFound(String),
    /// The request makes no sense (an old size past the new one, ...).
    #[error("{0}")]
    Invalid(String),
}

impl ProofQueryError {
    /// The stable code adapters answer with.
    pub fn code(&self) -> &'static str {
        match self {
            ProofQueryError::Projection(_) | ProofQueryError::Database(_) => "INTERNAL",
            ProofQueryError::NotFound(_) => "NOT_FOUND",
            ProofQueryError::Invalid(_) => "VALIDATION",
        }
    }
}

fn corrupt(reason: impl std::fmt::Display) -> ProofQueryError {
    ProofQueryError::Projection(ProjectionError::Stored(format!("proofs: {reason}")))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The retailer's tree as last folded (size 0 with empty roots before its first event).
pub async fn state(tx: &mut ReadTx, tenant_id: TenantId) -> Result<LogState, ProofQueryError> {
    Ok(log_state(tx, &tenant_id.to_string())
        .await?
        .unwrap_or(LogState {
            tree_size: 0,
            root: merkle::EMPTY_ROOT,
            map_root: merkle_map::EMPTY,
        }))
}

fn check_size(state: &LogState, size: u64) -> Result<(), ProofQueryError> {
    if size > state.tree_size {
        return Err(ProofQueryError::NotFound(format!(
            "the tree has {} leaves so far, not {size}",
            state.tree_size
        )));
    }
    Ok(())
}

/// The root of the retailer's tree at `size` leaves.
pub async fn root_at(
    tx: &mut ReadTx,
    tenant_id: TenantId,
    size: u64,
) -> Result<Hash, ProofQueryError> {
    let state = state(tx, tenant_id).await?;
    check_size(&state, size)?;
    let tenant = tenant_id.to_string();
    let hashes = tree_hashes(tx, &tenant, &merkle::root_indexes(size)).await?;
    merkle::root(size, &hashes).map_err(corrupt)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
pub async fn inclusion_proof(
    tx: &mut ReadTx,
    tenant_id: TenantId,
    size: u64,
    index: u64,
) -> Result<Vec<Hash>, ProofQueryError> {
    let state = state(tx, tenant_id).await?;
    check_size(&state, size)?;
    if index >= size {
        return Err(ProofQueryError::Invalid(format!(
            "leaf {index} is not in a tree of {size} leaves"
        )));
    }
    let indexes = merkle::inclusion_indexes(size, index).map_err(corrupt)?;
    let hashes = tree_hashes(tx, &tenant_id.to_string(), &indexes).await?;
    merkle::inclusion_proof(size, index, &hashes).map_err(corrupt)
}

/// The consistency proof from the tree of `old_size` leaves to the tree of `new_size`.
pub async fn consistency_proof(
    tx: &mut ReadTx,
    tenant_id: TenantId,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofQueryError> {
    let state = state(tx, tenant_id).await?;
    check_size(&state, new_size)?;
    if old_size > new_size {
        return Err(ProofQueryError::Invalid(format!(
            "the older tree size ({old_size}) is past the newer one ({new_size})"
        )));
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    let indexes = merkle::consistency_indexes(old_size, new_size).map_err(corrupt)?;
    let hashes = tree_hashes(tx, &tenant_id.to_string(), &indexes).await?;
    merkle::consistency_proof(old_size, new_size, &hashes).map_err(corrupt)
}

#[derive(sqlx::FromRow)]
struct LeafRow {
    tenant_id: String,
    leaf_index: i64,
}

/// The retailer and leaf index of an event, once the projection has folded it.
pub async fn leaf_of_event(
    tx: &mut ReadTx,
    event_id: uuid::Uuid,
) -> Result<Option<(String, u64)>, ProofQueryError> {
    let row = fetch_optional!(
        tx,
        LeafRow,
        "SELECT tenant_id, leaf_index FROM proof_leaves WHERE event_id = $1",
        event_id.to_string()
    )?;
    row.map(|row| {
        stored::integer::<u64>("leaf_index", row.leaf_index)
            .map(|index| (row.tenant_id, index))
            .map_err(corrupt)
    })
    .transpose()
}

/// One event of a serial's committed chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedEvent {
    /// Its leaf in the retailer's tree.
    pub leaf_index: u64,
    /// The event.
    pub event_id: uuid::Uuid,
    /// Its hash.
    pub event_hash: Hash,
}

/// A serial's chain as of a tree size: every event naming it among the first `size` leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialChain {
    /// The map key of the serial.
    pub key: Hash,
    /// The events, in log order.
    pub events: Vec<ChainedEvent>,
    /// The chain's head after them.
    pub head: Hash,
}

#[derive(sqlx::FromRow)]
struct ChainRow {
    leaf_index: i64,
    event_id: String,
    event_hash: String,
}

/// The chain of `serial` (normalised) among the first `size` leaves of the retailer's tree.
pub async fn serial_chain(
    tx: &mut ReadTx,
    tenant_id: TenantId,
    serial: &str,
    size: u64,
) -> Result<SerialChain, ProofQueryError> {
    let key = serial_key(serial);
    let sql = "SELECT leaf_index, event_id, event_hash FROM proof_leaves \
               WHERE tenant_id = $1 AND serial_key = $2 AND leaf_index < $3 ORDER BY leaf_index";
    let tenant = tenant_id.to_string();
    let key_hex = hex::encode(key);
    let rows: Vec<ChainRow> = match tx {
        ReadTx::Sqlite(tx) => {
            sqlx::query_as(sql)
                .bind(&tenant)
                .bind(&key_hex)
                .bind(to_i64(size))
                .fetch_all(&mut **tx)
                .await?
        }
        ReadTx::Postgres(tx) => {
            sqlx::query_as(sql)
                .bind(&tenant)
                .bind(&key_hex)
                .bind(to_i64(size))
                .fetch_all(&mut **tx)
                .await?
        }
    };
    let mut head = CHAIN_START;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let leaf_index = stored::integer::<u64>("leaf_index", row.leaf_index).map_err(corrupt)?;
        let event_hash = parse_hex(&row.event_hash).map_err(corrupt)?;
        head = chain_step(&head, leaf_index, &event_hash);
        events.push(ChainedEvent {
            leaf_index,
            event_id: stored::uuid("event_id", &row.event_id).map_err(corrupt)?,
            event_hash,
        });
    }
    Ok(SerialChain { key, events, head })
}

/// The map proof of `key` in the retailer's serial map as it stood at `version` leaves
/// (a checkpoint's tree size: always where a batch ended).
pub async fn map_proof_at(
    tx: &mut ReadTx,
    tenant_id: TenantId,
    version: u64,
    key: &Hash,
) -> Result<MapProof, ProofQueryError> {
    let tenant = tenant_id.to_string();
    let mut loader = PathLoader::new([*key]);
    let sql = "SELECT node_id, leaf_key, hash FROM proof_map_history h \
               WHERE tenant_id = $1 AND node_id = $2 AND version = \
               (SELECT MAX(version) FROM proof_map_history \
                WHERE tenant_id = $1 AND node_id = $2 AND version <= $3)";
    loop {
        let ids = loader.next_ids();
        if ids.is_empty() {
            break;
        }
        let mut found = Vec::new();
        for id in ids {
            let id = id.to_hex();
            let row = fetch_optional!(tx, NodeRow, sql, &tenant, &id, to_i64(version))?;
            if let Some(row) = row {
                found.push(row.node().map_err(corrupt)?);
            }
        }
        loader.supply(found).map_err(corrupt)?;
    }
    merkle_map::prove(&loader.into_nodes(), key).map_err(corrupt)
}

#[derive(sqlx::FromRow)]
struct LeafHashRow {
    event_hash: String,
}

/// The event hashes of the retailer's first `size` leaves, as the projection recorded them
/// (to find where a rewritten log first differs from what was folded before).
pub async fn leaf_hashes(
    tx: &mut ReadTx,
    tenant_id: TenantId,
    size: u64,
) -> Result<Vec<Hash>, ProofQueryError> {
    let sql = "SELECT event_hash FROM proof_leaves WHERE tenant_id = $1 AND leaf_index < $2 \
               ORDER BY leaf_index";
    let tenant = tenant_id.to_string();
    let rows: Vec<LeafHashRow> = match tx {
        ReadTx::Sqlite(tx) => {
            sqlx::query_as(sql)
                .bind(&tenant)
                .bind(to_i64(size))
                .fetch_all(&mut **tx)
                .await?
        }
        ReadTx::Postgres(tx) => {
            sqlx::query_as(sql)
                .bind(&tenant)
                .bind(to_i64(size))
                .fetch_all(&mut **tx)
                .await?
        }
    };
    rows.iter()
        .map(|row| parse_hex(&row.event_hash).map_err(corrupt))
        .collect()
}
