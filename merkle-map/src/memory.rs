//! A whole map in memory, hashed from scratch: for tests and for
//! recomputing a map independently of the node-by-node update code.

use std::collections::BTreeMap;

use crate::{EMPTY, Hash, MapProof, Node, NodeId, Terminal, bit, internal_hash, leaf_hash};

/// A whole map in memory, with the same hashing as the stored tree.
///
/// It keeps only the key-value pairs and derives the tree from them when
/// asked, which makes it a second, independent implementation of the format
/// to check [`apply`](crate::apply) against. Hashing the root costs
/// O(n log n); it is meant for tests and verification, not hot paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryMap {
    entries: BTreeMap<Hash, Hash>,
}

impl MemoryMap {
    /// The empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: Hash, value: Hash) -> Option<Hash> {
        self.entries.insert(key, value)
    }

    /// The value of `key`.
    pub fn get(&self, key: &Hash) -> Option<Hash> {
        self.entries.get(key).copied()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn sorted(&self) -> Vec<(Hash, Hash)> {
        self.entries.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        subtree_hash(&self.sorted(), 0)
    }

    /// The proof for `key` (membership if present, non-membership if not).
    pub fn prove(&self, key: &Hash) -> MapProof {
        let entries = self.sorted();
        let mut below: &[(Hash, Hash)] = &entries;
        let mut siblings = Vec::new();
        let mut depth = 0u16;
        loop {
            match below {
                [] => {
                    return MapProof {
                        siblings,
                        terminal: Terminal::Empty,
                    };
                }
                [(k, v)] => {
                    return MapProof {
                        siblings,
                        terminal: Terminal::Leaf { key: *k, value: *v },
                    };
                }
                _ => {
                    let (left, right) = split(below, depth);
                    let (toward, away) = if bit(key, depth) {
                        (right, left)
                    } else {
                        (left, right)
                    };
                    siblings.push(subtree_hash(away, depth + 1));
                    below = toward;
                    depth += 1;
                }
            }
        }
    }

    /// Every node of the tree, as a complete store would hold them.
    pub fn nodes(&self) -> BTreeMap<NodeId, Node> {
        let mut nodes = BTreeMap::new();
        collect(&self.sorted(), NodeId::ROOT, &mut nodes);
        nodes
    }
}

/// A key and its value.
type Entry = (Hash, Hash);

/// Splits sorted entries that share their first `depth` bits by bit
/// `depth`. Sorted byte order is bit order, most significant first, so the
/// left part is a prefix of the slice.
fn split(entries: &[Entry], depth: u16) -> (&[Entry], &[Entry]) {
    entries.split_at(entries.partition_point(|(k, _)| !bit(k, depth)))
}

/// The hash of the subtree at `depth` holding `entries` (sorted, distinct).
/// Two distinct keys differ at some bit below 256, so the recursion splits
/// them before running out of bits.
fn subtree_hash(entries: &[(Hash, Hash)], depth: u16) -> Hash {
    match entries {
        [] => EMPTY,
        [(k, v)] => leaf_hash(k, v),
        _ => {
            let (left, right) = split(entries, depth);
            internal_hash(
                &subtree_hash(left, depth + 1),
                &subtree_hash(right, depth + 1),
            )
        }
    }
}

fn collect(entries: &[(Hash, Hash)], id: NodeId, nodes: &mut BTreeMap<NodeId, Node>) -> Hash {
    match entries {
        [] => EMPTY,
        [(k, v)] => {
            let node = Node::Leaf { key: *k, value: *v };
            let hash = node.hash();
            nodes.insert(id, node);
            hash
        }
        _ => {
            let (left, right) = split(entries, id.depth());
            let (Some(left_id), Some(right_id)) = (id.child(false), id.child(true)) else {
                // Unreachable for distinct keys (see subtree_hash).
                return EMPTY;
            };
            let hash = internal_hash(
                &collect(left, left_id, nodes),
                &collect(right, right_id, nodes),
            );
            nodes.insert(id, Node::Internal { hash });
            hash
        }
    }
}
