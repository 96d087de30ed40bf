//! Applying new values to a map whose relevant nodes the caller loaded.

use std::collections::BTreeMap;

use crate::node::{check_internal, check_node, hash_at};
use crate::{EMPTY, Hash, MapError, Node, NodeId, bit};

/// The result of [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapUpdate {
    /// The new root hash.
    pub root: Hash,
    /// Every node whose content changed, sorted by place, for the caller to
    /// write (it versions them itself). Nothing is ever deleted: keys are
    /// never removed, so a place once non-empty stays non-empty.
    pub written: Vec<(NodeId, Node)>,
}

/// Applies new values (insert or change) to the map whose loaded nodes are
/// `nodes`, as a [`PathLoader`](crate::PathLoader) loaded them for exactly
/// these keys (absent = empty subtree).
///
/// Returns the new root and every node that changed. A leaf pushed down by
/// a new key is rewritten at its new place and its old place becomes
/// internal. `nodes` is updated in place too, so further applies can follow
/// on the same nodes. Setting a key to the value it already has writes
/// nothing.
///
/// On error `nodes` may be partly updated and should be discarded.
pub fn apply(
    nodes: &mut BTreeMap<NodeId, Node>,
    updates: &BTreeMap<Hash, Hash>,
) -> Result<MapUpdate, MapError> {
    let entries: Vec<(Hash, Hash)> = updates.iter().map(|(k, v)| (*k, *v)).collect();
    let mut written = BTreeMap::new();
    if !entries.is_empty() {
        update_subtree(nodes, NodeId::ROOT, &entries, &mut written)?;
    }
    Ok(MapUpdate {
        root: hash_at(nodes, &NodeId::ROOT),
        written: written.into_iter().collect(),
    })
}

/// Applies `entries` (non-empty, sorted by key, all below `id`) to the
/// subtree at `id`, returning its new hash.
fn update_subtree(
    nodes: &mut BTreeMap<NodeId, Node>,
    id: NodeId,
    entries: &[(Hash, Hash)],
    written: &mut BTreeMap<NodeId, Node>,
) -> Result<Hash, MapError> {
    match nodes.get(&id).cloned() {
        None => build(nodes, id, entries, written),
        Some(Node::Leaf { key, value }) => {
            check_node(&id, &Node::Leaf { key, value })?;
            let mut merged = entries.to_vec();
            if let Err(at) = merged.binary_search_by(|(k, _)| k.cmp(&key)) {
                // The existing key is not being updated: it keeps its value
                // but may be pushed down beside the new keys.
                merged.insert(at, (key, value));
            }
            build(nodes, id, &merged, written)
        }
        Some(Node::Internal { hash }) => {
            // Check before changing anything below, so a node the caller did
            // not load is an error rather than a silently wrong root.
            check_internal(nodes, &id, &hash)?;
            let (Some(left), Some(right)) = (id.child(false), id.child(true)) else {
                return Err(MapError::InconsistentNodes {
                    id,
                    reason: "an internal node at depth 256, where only one key fits",
                });
            };
            let split = entries.partition_point(|(k, _)| !bit(k, id.depth()));
            let (to_left, to_right) = entries.split_at(split);
            let left_hash = if to_left.is_empty() {
                hash_at(nodes, &left)
            } else {
                update_subtree(nodes, left, to_left, written)?
            };
            let right_hash = if to_right.is_empty() {
                hash_at(nodes, &right)
            } else {
                update_subtree(nodes, right, to_right, written)?
            };
            let hash = crate::internal_hash(&left_hash, &right_hash);
            write(nodes, written, id, Node::Internal { hash });
            Ok(hash)
        }
    }
}

/// Builds the subtree at `id` from scratch out of `entries` (sorted,
/// distinct, all below `id`): the place was empty or held a single leaf, so
/// nothing below it is stored yet.
fn build(
    nodes: &mut BTreeMap<NodeId, Node>,
    id: NodeId,
    entries: &[(Hash, Hash)],
    written: &mut BTreeMap<NodeId, Node>,
) -> Result<Hash, MapError> {
    match entries {
        [] => Ok(EMPTY),
        [(key, value)] => {
            let node = Node::Leaf {
                key: *key,
                value: *value,
            };
            let hash = node.hash();
            write(nodes, written, id, node);
            Ok(hash)
        }
        _ => {
            // Two distinct keys below `id` differ at some bit at or below
            // `id`'s depth, so this never reaches depth 256; the error is
            // only there so that no input can make this code panic.
            let (Some(left), Some(right)) = (id.child(false), id.child(true)) else {
                return Err(MapError::InconsistentNodes {
                    id,
                    reason: "two keys at depth 256",
                });
            };
            let split = entries.partition_point(|(k, _)| !bit(k, id.depth()));
            let (to_left, to_right) = entries.split_at(split);
            let left_hash = build(nodes, left, to_left, written)?;
            let right_hash = build(nodes, right, to_right, written)?;
            let hash = crate::internal_hash(&left_hash, &right_hash);
            write(nodes, written, id, Node::Internal { hash });
            Ok(hash)
        }
    }
}

/// Stores `node` at `id`, recording it as written only if it changed.
fn write(
    nodes: &mut BTreeMap<NodeId, Node>,
    written: &mut BTreeMap<NodeId, Node>,
    id: NodeId,
    node: Node,
) {
    if nodes.get(&id) != Some(&node) {
        nodes.insert(id, node.clone());
        written.insert(id, node);
    }
}
