//! The one error type of the crate, with stable machine-readable codes.

use crate::{Hash, NodeId};

/// Everything that can go wrong: a proof that does not verify, malformed
/// text, or nodes from the caller that do not form a valid tree.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MapError {
    /// The proof is well formed but hashes to another root.
    #[error("the proof leads to root {}, not to the expected root {}", hex::encode(.computed), hex::encode(.expected))]
    RootMismatch {
        /// The root the proof was checked against.
        expected: Hash,
        /// The root the proof actually hashes to.
        computed: Hash,
    },
    /// A membership proof ends at another key's leaf.
    #[error("the proof ends at the leaf of key {}, not of key {}", hex::encode(.found), hex::encode(.expected))]
    KeyMismatch {
        /// The key the proof was checked for.
        expected: Hash,
        /// The key of the leaf the proof ends at.
        found: Hash,
    },
    /// A membership proof ends at the key's leaf, but with another value.
    #[error("the proof gives key {} the value {}, not {}", hex::encode(.key), hex::encode(.found), hex::encode(.expected))]
    ValueMismatch {
        /// The key.
        key: Hash,
        /// The value the proof was checked for.
        expected: Hash,
        /// The value in the proof's leaf.
        found: Hash,
    },
    /// A membership proof ends at an empty subtree: it claims the key is absent.
    #[error("the proof shows key {} absent", hex::encode(.key))]
    KeyAbsent {
        /// The key.
        key: Hash,
    },
    /// A non-membership proof ends at the key's own leaf: it claims the key is present.
    #[error("the proof shows key {} present", hex::encode(.key))]
    KeyPresent {
        /// The key.
        key: Hash,
    },
    /// A non-membership proof ends at a leaf whose key is not on the path.
    #[error("the proof ends at depth {depth} at the leaf of key {}, which is not on the path of key {}", hex::encode(.leaf_key), hex::encode(.key))]
    LeafOffPath {
        /// The key the proof was checked for.
        key: Hash,
        /// The key of the leaf the proof ends at.
        leaf_key: Hash,
        /// The depth the proof ends at (its number of siblings).
        depth: usize,
    },
    /// A proof has more siblings than the tree has levels.
    #[error("the proof has {len} siblings; a path has at most 256")]
    ProofTooLong {
        /// The number of siblings.
        len: usize,
    },
    /// A text form could not be decoded.
    #[error("malformed hex in {what}: {reason}")]
    MalformedHex {
        /// What was being decoded (for instance `node id` or `proof sibling 3`).
        what: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The caller supplied a node the [`PathLoader`](crate::PathLoader) did not ask for.
    #[error("node {id} was not asked for in this round")]
    UnrequestedNode {
        /// The node's place.
        id: NodeId,
    },
    /// The caller's nodes do not form a valid tree (or were not loaded for these keys).
    #[error("inconsistent nodes at {id}: {reason}")]
    InconsistentNodes {
        /// Where the inconsistency was found.
        id: NodeId,
        /// What is wrong there.
        reason: &'static str,
    },
}

impl MapError {
    /// A stable SCREAMING_SNAKE code for the variant, for logs and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            MapError::RootMismatch { .. } => "ROOT_MISMATCH",
            MapError::KeyMismatch { .. } => "KEY_MISMATCH",
            MapError::ValueMismatch { .. } => "VALUE_MISMATCH",
            MapError::KeyAbsent { .. } => "KEY_ABSENT",
            MapError::KeyPresent { .. } => "KEY_PRESENT",
            MapError::LeafOffPath { .. } => "LEAF_OFF_PATH",
            MapError::ProofTooLong { .. } => "PROOF_TOO_LONG",
            MapError::MalformedHex { .. } => "MALFORMED_HEX",
            MapError::UnrequestedNode { .. } => "UNREQUESTED_NODE",
            MapError::InconsistentNodes { .. } => "INCONSISTENT_NODES",
        }
    }
}
