//! The `proofs` projection: what the verifiable ledger's checkpoints sign and its proofs are
//! made from, folded from the log exactly once like every read model.
//!
//! Per retailer:
//! - an RFC 9162 Merkle tree whose leaves are the retailer's events in log order (leaf data:
//!   the event's 32-byte hash), stored as every complete subtree hash under its tlog
//!   stored-hash index (`proof_tree_hashes`, about two rows per event), so a root, an
//!   inclusion proof or a consistency proof at any tree size reads O(log n) rows;
//! - each event's leaf index (`proof_leaves`);
//! - each serial's history chain: every event that names the serial, in log order, folded
//!   with [`ledger_proof::serial_chain::chain_step`] (`proof_serials`);
//! - a sparse Merkle map from each serial to its chain (`proof_map_nodes`, the current
//!   nodes), with every version of a node a batch wrote (`proof_map_history`, version = the
//!   tree size after the batch), so a map proof can be made at any checkpoint, which is
//!   always issued at a batch's end.
//!
//! The history table depends on where batches ended, so it is emptied by a rebuild but left
//! out of the projection's digest; its contents are checked by the proofs made from it.

pub mod checkpoints;
pub mod queries;

use crate::db::ReadTx;
use crate::fetch_optional;
use crate::projection::{EventContext, ProjectionError, TableSpec};
use crate::rows::{OnConflict, Value, fetch_in, insert_rows, read_model_table};
use event_schemas::LedgerEvent;
use ledger_proof::merkle::{self, Hash, TreeAppender};
use ledger_proof::serial_chain::{CHAIN_START, chain_step, serial_key, serial_value};
use merkle_map::{Node, NodeId, PathLoader};
use std::collections::{BTreeMap, HashMap};

pub(crate) const TABLES: &[TableSpec] =
    &[LOGS, LEAVES, TREE_HASHES, SERIALS, MAP_NODES, MAP_HISTORY];

/// Tables whose rows depend on batch boundaries, left out of the digest.
pub(crate) const UNDIGESTED: &[&str] = &["proof_map_history"];

// Hashes are stored as lower-case hex, sizes and indexes as BIGINT.

read_model_table! {
    /// A row of `proof_logs`: a retailer's tree as last folded.
    pub(crate) struct LogRow as LOGS ("proof_logs", key: [tenant_id]) {
        tenant_id: String,
        tree_size: i64,
        root: String,
        map_root: String,
    }
}

read_model_table! {
    /// A row of `proof_leaves`: an event's leaf, with the map key of the serial it names.
    struct LeafRow as LEAVES ("proof_leaves", key: [tenant_id, leaf_index]) {
        tenant_id: String,
        leaf_index: i64,
        event_id: String,
        event_hash: String,
        serial_key: Option<String>,
    }
}

read_model_table! {
    /// A row of `proof_tree_hashes`: a complete subtree's hash under its stored-hash index.
    struct HashRow as TREE_HASHES ("proof_tree_hashes", key: [tenant_id, hash_index]) {
        tenant_id: String,
        hash_index: i64,
        hash: String,
    }
}

read_model_table! {
    /// A row of `proof_serials`: a serial's history chain (events in it, head).
    struct SerialRow as SERIALS ("proof_serials", key: [tenant_id, serial_key]) {
        tenant_id: String,
        serial_key: String,
        serial: String,
        events: i64,
        chain_head: String,
    }
}

read_model_table! {
    /// A row of `proof_map_nodes`: a node of the serial map as it is now.
    struct MapNodeRow as MAP_NODES ("proof_map_nodes", key: [tenant_id, node_id]) {
        tenant_id: String,
        node_id: String,
        /// Set on a leaf (whose `hash` is its value); NULL on an internal node.
        leaf_key: Option<String>,
        hash: String,
    }
}

read_model_table! {
    /// A row of `proof_map_history`: a node as a batch left it, at `version` leaves.
    struct MapHistoryRow as MAP_HISTORY ("proof_map_history", key: [tenant_id, node_id, version]) {
        tenant_id: String,
        node_id: String,
        version: i64,
        leaf_key: Option<String>,
        hash: String,
    }
}

/// A retailer's tree as last folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogState {
    /// Leaves (events) in the tree.
    pub tree_size: u64,
    /// The Merkle tree's root.
    pub root: Hash,
    /// The serial map's root.
    pub map_root: Hash,
}

impl LogRow {
    pub(crate) fn state(&self) -> Result<LogState, String> {
        Ok(LogState {
            tree_size: crate::stored::integer("tree_size", self.tree_size)
                .map_err(|e| e.to_string())?,
            root: parse_hex(&self.root)?,
            map_root: parse_hex(&self.map_root)?,
        })
    }
}

/// A node as the proofs read it, from `proof_map_nodes` or `proof_map_history`.
#[derive(sqlx::FromRow)]
pub(crate) struct NodeRow {
    pub(crate) node_id: String,
    pub(crate) leaf_key: Option<String>,
    pub(crate) hash: String,
}

impl NodeRow {
    pub(crate) fn node(&self) -> Result<(NodeId, Node), String> {
        let id = NodeId::from_hex(&self.node_id).map_err(|e| e.to_string())?;
        let hash = parse_hex(&self.hash)?;
        let node = match &self.leaf_key {
            Some(key) => Node::Leaf {
                key: parse_hex(key)?,
                value: hash,
            },
            None => Node::Internal { hash },
        };
        Ok((id, node))
    }
}

/// A stored hash back to bytes.
pub(crate) fn parse_hex(text: &str) -> Result<Hash, String> {
    merkle::parse_hash_hex(text).map_err(|error| error.to_string())
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A node as the columns `leaf_key, hash`.
pub(crate) fn node_columns(node: &Node) -> (Option<String>, String) {
    match node {
        Node::Leaf { key, value } => (Some(hex::encode(key)), hex::encode(value)),
        Node::Internal { hash } => (None, hex::encode(hash)),
    }
}

/// The retailer's tree as `tx` sees it; None before its first event.
pub(crate) async fn log_state(
    tx: &mut ReadTx,
    tenant_id: &str,
) -> Result<Option<LogState>, ProjectionError> {
    let row = fetch_optional!(
        tx,
        LogRow,
        &format!("{} WHERE tenant_id = $1", LOGS.select()),
        tenant_id
    )?;
    row.map(|row| row.state().map_err(stored)).transpose()
}

fn stored(reason: String) -> ProjectionError {
    ProjectionError::Stored(format!("proofs: {reason}"))
}

/// A stored size, index or count read back as the unsigned value it was written from.
fn stored_integer(column: &'static str, value: i64) -> Result<u64, ProjectionError> {
    crate::stored::integer(column, value).map_err(|error| stored(error.to_string()))
}

/// Reads the stored tree hashes at `indexes`, refusing a missing one.
pub(crate) async fn tree_hashes(
    tx: &mut ReadTx,
    tenant_id: &str,
    indexes: &[u64],
) -> Result<HashMap<u64, Hash>, ProjectionError> {
    if indexes.is_empty() {
        return Ok(HashMap::new());
    }
    let keys = BTreeMap::from([(
        tenant_id.to_owned(),
        indexes.iter().map(|&i| Value::from(to_i64(i))).collect(),
    )]);
    let rows: Vec<HashRow> = fetch_in(tx, &TREE_HASHES.select(), "hash_index", keys).await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let index = stored_integer("hash_index", row.hash_index)?;
        found.insert(index, parse_hex(&row.hash).map_err(stored)?);
    }
    if let Some(missing) = indexes.iter().find(|index| !found.contains_key(index)) {
        return Err(stored(format!(
            "tree hash {missing} of tenant {tenant_id} is missing"
        )));
    }
    Ok(found)
}

/// Loads the current map nodes on the paths of `keys`, level by level.
async fn load_map_paths(
    tx: &mut ReadTx,
    tenant_id: &str,
    keys: impl IntoIterator<Item = Hash>,
) -> Result<BTreeMap<NodeId, Node>, ProjectionError> {
    let mut loader = PathLoader::new(keys);
    loop {
        let ids = loader.next_ids();
        if ids.is_empty() {
            break;
        }
        let keys = BTreeMap::from([(
            tenant_id.to_owned(),
            ids.iter().map(|id| Value::from(id.to_hex())).collect(),
        )]);
        let rows: Vec<NodeRow> = fetch_in(
            tx,
            "SELECT node_id, leaf_key, hash FROM proof_map_nodes",
            "node_id",
            keys,
        )
        .await?;
        let found = rows
            .iter()
            .map(NodeRow::node)
            .collect::<Result<Vec<_>, _>>()
            .map_err(stored)?;
        loader
            .supply(found)
            .map_err(|error| stored(error.to_string()))?;
    }
    Ok(loader.into_nodes())
}

#[derive(sqlx::FromRow)]
struct SizeRow {
    tree_size: i64,
}

/// The sizes of the retailer's stored checkpoints strictly between `from` and `to` leaves.
async fn checkpoint_sizes_within(
    tx: &mut ReadTx,
    tenant_id: &str,
    from: u64,
    to: u64,
) -> Result<Vec<u64>, ProjectionError> {
    let sql = "SELECT tree_size FROM ledger_checkpoints \
               WHERE tenant_id = $1 AND tree_size > $2 AND tree_size < $3";
    let rows: Vec<SizeRow> = match tx {
        ReadTx::Sqlite(tx) => {
            sqlx::query_as(sql)
                .bind(tenant_id)
                .bind(to_i64(from))
                .bind(to_i64(to))
                .fetch_all(&mut **tx)
                .await?
        }
        ReadTx::Postgres(tx) => {
            sqlx::query_as(sql)
                .bind(tenant_id)
                .bind(to_i64(from))
                .bind(to_i64(to))
                .fetch_all(&mut **tx)
                .await?
        }
    };
    Ok(rows
        .into_iter()
        .filter_map(|row| u64::try_from(row.tree_size).ok())
        .collect())
}

/// Applies new serial values to the map; writes the changed nodes as they are now and as
/// version `version` (the tree size they belong to); returns the new root.
async fn write_map(
    tx: &mut ReadTx,
    tenant_id: &str,
    updated: BTreeMap<Hash, Hash>,
    version: u64,
) -> Result<Hash, ProjectionError> {
    let mut nodes = load_map_paths(tx, tenant_id, updated.keys().copied()).await?;
    let update = merkle_map::apply(&mut nodes, &updated).map_err(|e| stored(e.to_string()))?;
    let mut current = Vec::with_capacity(update.written.len());
    let mut history = Vec::with_capacity(update.written.len());
    for (id, node) in &update.written {
        let (leaf_key, hash) = node_columns(node);
        current.push(MapNodeRow {
            tenant_id: tenant_id.to_owned(),
            node_id: id.to_hex(),
            leaf_key: leaf_key.clone(),
            hash: hash.clone(),
        });
        history.push(MapHistoryRow {
            tenant_id: tenant_id.to_owned(),
            node_id: id.to_hex(),
            version: to_i64(version),
            leaf_key,
            hash,
        });
    }
    insert_rows(tx, current, OnConflict::Replace).await?;
    insert_rows(tx, history, OnConflict::Replace).await?;
    Ok(update.root)
}

/// Folds a batch: each retailer's events become leaves of its tree, in log order; each
/// event naming a serial extends that serial's chain; the map takes the chains' new values.
pub(crate) async fn apply_batch(
    tx: &mut ReadTx,
    events: &[(EventContext<'_>, LedgerEvent)],
) -> Result<(), ProjectionError> {
    let mut by_tenant: BTreeMap<&str, Vec<&(EventContext<'_>, LedgerEvent)>> = BTreeMap::new();
    for item in events {
        by_tenant
            .entry(item.0.tenant_id.as_str())
            .or_default()
            .push(item);
    }
    for (tenant_id, events) in by_tenant {
        apply_tenant(tx, tenant_id, &events).await?;
    }
    Ok(())
}

async fn apply_tenant(
    tx: &mut ReadTx,
    tenant_id: &str,
    events: &[&(EventContext<'_>, LedgerEvent)],
) -> Result<(), ProjectionError> {
    let state = log_state(tx, tenant_id).await?;
    let size = state.map_or(0, |state| state.tree_size);
    let edge = tree_hashes(tx, tenant_id, &merkle::root_indexes(size)).await?;
    let mut tree = TreeAppender::new(size, edge).map_err(|e| stored(e.to_string()))?;

    // The chains of the serials this batch names, as stored.
    let mut serial_texts: BTreeMap<Hash, String> = BTreeMap::new();
    for (_, event) in events {
        if let Some(serial) = event.serial_named() {
            serial_texts.insert(serial_key(serial), serial.to_owned());
        }
    }
    let mut chains: BTreeMap<Hash, (u64, Hash)> = BTreeMap::new();
    if !serial_texts.is_empty() {
        let keys = BTreeMap::from([(
            tenant_id.to_owned(),
            serial_texts
                .keys()
                .map(|key| Value::from(hex::encode(key)))
                .collect(),
        )]);
        let rows: Vec<SerialRow> = fetch_in(tx, &SERIALS.select(), "serial_key", keys).await?;
        for row in rows {
            let key = parse_hex(&row.serial_key).map_err(stored)?;
            let events = stored_integer("events", row.events)?;
            chains.insert(key, (events, parse_hex(&row.chain_head).map_err(stored)?));
        }
    }

    // The map is versioned where batches end, and proofs are made at checkpoints: a batch
    // that spans a checkpoint's size (a rebuild, whose batches end elsewhere than the live
    // runner's did) also writes the map as it stood there.
    let cuts = checkpoint_sizes_within(tx, tenant_id, size, size + events.len() as u64).await?;
    let mut map_root = state.map_or(merkle_map::EMPTY, |state| state.map_root);
    let mut dirty: BTreeMap<Hash, Hash> = BTreeMap::new();
    let mut leaves = Vec::with_capacity(events.len());
    for (context, event) in events {
        let event_hash = parse_hex(context.hash)
            .map_err(|reason| context.inconsistent(format!("event hash: {reason}")))?;
        let index = tree.push(&event_hash).map_err(|e| stored(e.to_string()))?;
        let key = event.serial_named().map(serial_key);
        if let Some(key) = key {
            let chain = chains.entry(key).or_insert((0, CHAIN_START));
            *chain = (chain.0 + 1, chain_step(&chain.1, index, &event_hash));
            dirty.insert(key, serial_value(chain.0, &chain.1));
        }
        leaves.push(LeafRow {
            tenant_id: tenant_id.to_owned(),
            leaf_index: to_i64(index),
            event_id: context.event_id.to_string(),
            event_hash: context.hash.to_owned(),
            serial_key: key.map(hex::encode),
        });
        if cuts.contains(&tree.size()) && !dirty.is_empty() {
            map_root = write_map(tx, tenant_id, std::mem::take(&mut dirty), tree.size()).await?;
        }
    }
    let new_size = tree.size();
    if !dirty.is_empty() {
        map_root = write_map(tx, tenant_id, dirty, new_size).await?;
    }
    let root = tree.root().map_err(|e| stored(e.to_string()))?;
    let written = tree.take_written();
    let hashes = written
        .into_iter()
        .map(|(index, hash)| HashRow {
            tenant_id: tenant_id.to_owned(),
            hash_index: to_i64(index),
            hash: hex::encode(hash),
        })
        .collect();
    insert_rows(tx, hashes, OnConflict::Fail).await?;
    insert_rows(tx, leaves, OnConflict::Fail).await?;
    let serial_rows = chains
        .iter()
        .filter_map(|(key, (count, head))| {
            Some(SerialRow {
                tenant_id: tenant_id.to_owned(),
                serial_key: hex::encode(key),
                serial: serial_texts.get(key)?.clone(),
                events: to_i64(*count),
                chain_head: hex::encode(head),
            })
        })
        .collect();
    insert_rows(tx, serial_rows, OnConflict::Replace).await?;
    let log = LogRow {
        tenant_id: tenant_id.to_owned(),
        tree_size: to_i64(new_size),
        root: hex::encode(root),
        map_root: hex::encode(map_root),
    };
    insert_rows(tx, vec![log], OnConflict::Replace).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::value_columns;

    #[test]
    fn every_proofs_row_gives_its_values_in_the_order_of_the_declared_columns() {
        assert_eq!(value_columns(LogRow::default()), LOGS.columns);
        assert_eq!(value_columns(LeafRow::default()), LEAVES.columns);
        assert_eq!(value_columns(HashRow::default()), TREE_HASHES.columns);
        assert_eq!(value_columns(SerialRow::default()), SERIALS.columns);
        assert_eq!(value_columns(MapNodeRow::default()), MAP_NODES.columns);
        assert_eq!(value_columns(MapHistoryRow::default()), MAP_HISTORY.columns);
    }
}
