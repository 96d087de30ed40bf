//! Sans-IO loading of the nodes on some keys' paths, one tree level per
//! round, so the caller can fetch each level with one batched lookup.

use std::collections::{BTreeMap, BTreeSet};

use crate::node::{check_internal, check_node};
use crate::{Hash, MapError, Node, NodeId};

/// Loads the nodes on the paths of some keys, and their siblings, level by
/// level:
///
/// ```
/// # use std::collections::BTreeMap;
/// # use merkle_map::{Node, NodeId, PathLoader};
/// # fn main() -> Result<(), merkle_map::MapError> {
/// let table: BTreeMap<NodeId, Node> = BTreeMap::new(); // the caller's store
/// let mut loader = PathLoader::new([[7u8; 32]]);
/// loop {
///     let ids = loader.next_ids();
///     if ids.is_empty() {
///         break;
///     }
///     // One batched lookup; only the ids that exist are handed back.
///     let found = ids.iter().filter_map(|id| table.get(id).map(|n| (*id, n.clone()))).collect();
///     loader.supply(found)?;
/// }
/// let nodes = loader.into_nodes();
/// # assert!(nodes.is_empty());
/// # Ok(())
/// # }
/// ```
///
/// Every walk goes down one level per round and ends at its key's first
/// absent node or leaf, so loading for B keys in a map of K keys takes about
/// `log2(K)` rounds. Each round also checks the previous level against what
/// it just loaded (children must hash to their parent), so a table that is
/// missing nodes or is corrupt is reported, not silently trusted.
#[derive(Debug, Clone)]
pub struct PathLoader {
    /// The depth the current round asks for.
    depth: u16,
    /// The keys whose walk has reached `depth` (sorted, distinct).
    walking: Vec<Hash>,
    /// What this round asks for; `supply` refuses anything else.
    requested: BTreeSet<NodeId>,
    nodes: BTreeMap<NodeId, Node>,
}

impl PathLoader {
    /// Starts loading for `keys` (duplicates are fine). The first round
    /// always asks for the root, even for no keys.
    pub fn new(keys: impl IntoIterator<Item = Hash>) -> Self {
        let walking: Vec<Hash> = keys
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // The root is asked for even with no keys, so that `apply` of an
        // empty batch still reports the current root.
        let requested = BTreeSet::from([NodeId::ROOT]);
        PathLoader {
            depth: 0,
            walking,
            requested,
            nodes: BTreeMap::new(),
        }
    }

    /// The ids to look up this round: for every key still walking, its node
    /// at the current depth and that node's sibling. Empty when every walk
    /// has ended.
    pub fn next_ids(&self) -> Vec<NodeId> {
        self.requested.iter().copied().collect()
    }

    /// The depth of this round's ids.
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// Hands over the nodes of this round's ids that exist (the others are
    /// empty subtrees), and moves every walk that met an internal node one
    /// level down.
    pub fn supply(&mut self, found: Vec<(NodeId, Node)>) -> Result<(), MapError> {
        for (id, node) in found {
            if !self.requested.contains(&id) {
                return Err(MapError::UnrequestedNode { id });
            }
            check_node(&id, &node)?;
            match self.nodes.get(&id) {
                Some(earlier) if *earlier != node => {
                    return Err(MapError::InconsistentNodes {
                        id,
                        reason: "supplied twice with different contents",
                    });
                }
                _ => {
                    self.nodes.insert(id, node);
                }
            }
        }
        // This round loaded both children of every parent the walks passed
        // through, so those parents can now be checked.
        if let Some(parent_depth) = self.depth.checked_sub(1) {
            let parents: BTreeSet<NodeId> = self
                .walking
                .iter()
                .map(|key| NodeId::of(key, parent_depth))
                .collect();
            for parent in parents {
                if let Some(Node::Internal { hash }) = self.nodes.get(&parent) {
                    check_internal(&self.nodes, &parent, hash)?;
                }
            }
        }
        let depth = self.depth;
        let nodes = &self.nodes;
        self.walking.retain(|key| {
            matches!(
                nodes.get(&NodeId::of(key, depth)),
                Some(Node::Internal { .. })
            )
        });
        self.requested.clear();
        if !self.walking.is_empty() {
            // check_node refuses internal nodes at depth 256, so a walk that
            // is still going is above 256 and its children exist.
            self.depth = depth + 1;
            for key in &self.walking {
                let id = NodeId::of(key, self.depth);
                self.requested.insert(id);
                if let Some(sibling) = id.sibling() {
                    self.requested.insert(sibling);
                }
            }
        }
        Ok(())
    }

    /// The nodes loaded so far (absent ids are empty subtrees).
    pub fn into_nodes(self) -> BTreeMap<NodeId, Node> {
        self.nodes
    }
}
