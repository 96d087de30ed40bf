//! Node places ([`NodeId`]) and what is stored at them ([`Node`]), plus the
//! consistency check every reader of caller-supplied nodes runs.

use std::collections::BTreeMap;
use std::fmt;

use crate::{EMPTY, Hash, MAX_DEPTH, MapError, bit, decode_lower_hex, internal_hash, leaf_hash};

/// A node's place: its depth (0 = root) and the first `depth` bits of any
/// key below it (later bits zero).
///
/// The derived order sorts by depth first, so a sorted set of ids lists the
/// tree level by level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    depth: u16,
    prefix: Hash,
}

impl NodeId {
    /// The root.
    pub const ROOT: NodeId = NodeId {
        depth: 0,
        prefix: [0u8; 32],
    };

    /// The node at `depth` on `key`'s path. Depths above 256 are treated as
    /// 256 (the deepest node, which stands for the key alone).
    pub fn of(key: &Hash, depth: u16) -> NodeId {
        let depth = depth.min(MAX_DEPTH);
        let mut prefix = [0u8; 32];
        let full = usize::from(depth / 8);
        let rest = depth % 8;
        for (dst, src) in prefix.iter_mut().zip(key.iter()).take(full) {
            *dst = *src;
        }
        if let (true, Some(dst), Some(src)) = (rest > 0, prefix.get_mut(full), key.get(full)) {
            // Keep the top `rest` bits of the partial byte.
            *dst = src & (u8::MAX << (8 - rest));
        }
        NodeId { depth, prefix }
    }

    /// The depth (0 = root, 256 = a single key's place).
    pub fn depth(&self) -> u16 {
        self.depth
    }

    /// The first `depth` bits of any key below this node, later bits zero.
    pub fn prefix(&self) -> &Hash {
        &self.prefix
    }

    /// Whether `key`'s path goes through this node.
    pub fn contains(&self, key: &Hash) -> bool {
        NodeId::of(key, self.depth) == *self
    }

    /// The other child of this node's parent; `None` for the root.
    pub fn sibling(&self) -> Option<NodeId> {
        let last = self.depth.checked_sub(1)?;
        let mut prefix = self.prefix;
        let i = usize::from(last);
        let byte = prefix.get_mut(i / 8)?;
        *byte ^= 1 << (7 - i % 8);
        Some(NodeId {
            depth: self.depth,
            prefix,
        })
    }

    /// The left (`right = false`) or right child; `None` at depth 256.
    pub fn child(&self, right: bool) -> Option<NodeId> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        let mut prefix = self.prefix;
        if right {
            let i = usize::from(self.depth);
            let byte = prefix.get_mut(i / 8)?;
            *byte |= 1 << (7 - i % 8);
        }
        Some(NodeId {
            depth: self.depth + 1,
            prefix,
        })
    }

    /// The child on `key`'s path (`None` at depth 256).
    pub fn child_towards(&self, key: &Hash) -> Option<NodeId> {
        self.child(bit(key, self.depth))
    }

    /// A compact, stable text form for a database key: 4 lowercase hex
    /// digits of depth, then lowercase hex of the `ceil(depth / 8)` prefix
    /// bytes. The root is `"0000"`.
    pub fn to_hex(&self) -> String {
        let bytes = usize::from(self.depth.div_ceil(8));
        let mut text = format!("{:04x}", self.depth);
        text.push_str(&hex::encode(
            self.prefix.get(..bytes).unwrap_or(&self.prefix),
        ));
        text
    }

    /// Parses [`NodeId::to_hex`]'s form, refusing anything it would not
    /// produce: a bad length, uppercase, a depth above 256, or prefix bits set
    /// past the depth (which would give one place two names).
    pub fn from_hex(text: &str) -> Result<NodeId, MapError> {
        let what = || "node id".to_string();
        let bytes = decode_lower_hex(text, what)?;
        let malformed = |reason| MapError::MalformedHex {
            what: what(),
            reason,
        };
        let (depth_bytes, prefix_bytes) = match bytes.as_slice() {
            [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
            _ => return Err(malformed("shorter than the 4 digits of depth")),
        };
        if depth_bytes > MAX_DEPTH {
            return Err(malformed("depth above 256"));
        }
        if prefix_bytes.len() != usize::from(depth_bytes.div_ceil(8)) {
            return Err(malformed("prefix length does not match the depth"));
        }
        let mut prefix = [0u8; 32];
        for (dst, src) in prefix.iter_mut().zip(prefix_bytes) {
            *dst = *src;
        }
        let id = NodeId::of(&prefix, depth_bytes);
        if id.prefix != prefix {
            return Err(malformed("prefix bits set past the depth"));
        }
        Ok(id)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// What is stored at a [`NodeId`] (an absent node is an empty subtree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// The only key of this subtree, with its value.
    Leaf {
        /// The key.
        key: Hash,
        /// Its value.
        value: Hash,
    },
    /// A subtree of two or more keys; only its hash is stored, since its
    /// children are stored at their own places.
    Internal {
        /// `internal_hash(left, right)` of its children.
        hash: Hash,
    },
}

impl Node {
    /// The subtree's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf { key, value } => leaf_hash(key, value),
            Node::Internal { hash } => *hash,
        }
    }
}

/// The hash at `id` (absent = empty).
pub(crate) fn hash_at(nodes: &BTreeMap<NodeId, Node>, id: &NodeId) -> Hash {
    nodes.get(id).map_or(EMPTY, Node::hash)
}

/// Checks one node as the caller supplied it, so that later reads can trust
/// it: a leaf must sit on its own key's path, and depth 256 holds one key.
pub(crate) fn check_node(id: &NodeId, node: &Node) -> Result<(), MapError> {
    match node {
        Node::Leaf { key, .. } if !id.contains(key) => Err(MapError::InconsistentNodes {
            id: *id,
            reason: "a leaf whose key is not below its place",
        }),
        Node::Internal { .. } if id.depth() >= MAX_DEPTH => Err(MapError::InconsistentNodes {
            id: *id,
            reason: "an internal node at depth 256, where only one key fits",
        }),
        _ => Ok(()),
    }
}

/// Checks that the internal node `hash` at `id` is what its (loaded)
/// children say. This is what turns "the caller forgot to load a node" or
/// "the caller's table is corrupt" into an error instead of a wrong root:
/// a missing child reads as empty and then no longer hashes to the parent.
pub(crate) fn check_internal(
    nodes: &BTreeMap<NodeId, Node>,
    id: &NodeId,
    hash: &Hash,
) -> Result<(), MapError> {
    let inconsistent = |reason| MapError::InconsistentNodes { id: *id, reason };
    let (Some(left), Some(right)) = (id.child(false), id.child(true)) else {
        return Err(inconsistent(
            "an internal node at depth 256, where only one key fits",
        ));
    };
    // With compressed leaves an internal node covers at least two keys; a
    // leaf beside an empty sibling should have been stored one level up.
    let keys = |child: &NodeId| match nodes.get(child) {
        None => 0,
        Some(Node::Leaf { .. }) => 1,
        Some(Node::Internal { .. }) => 2,
    };
    if keys(&left) + keys(&right) < 2 {
        return Err(inconsistent("an internal node over fewer than two keys"));
    }
    if internal_hash(&hash_at(nodes, &left), &hash_at(nodes, &right)) != *hash {
        return Err(inconsistent("its children do not hash to its stored hash"));
    }
    Ok(())
}
