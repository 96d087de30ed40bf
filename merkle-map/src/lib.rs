//! A sparse Merkle map with compressed leaves: an authenticated map from
//! 256-bit keys to 256-bit values, with membership and non-membership proofs.
//!
//! The crate does no I/O. A caller that keeps the tree's nodes in a database
//! loads the nodes an operation needs with a [`PathLoader`] (one batched
//! lookup per tree level), hands them to [`apply`] or [`prove`], and stores
//! the nodes [`apply`] reports as written. Keys are never removed; values
//! change. [`MemoryMap`] is a whole map in memory with the same hashing.
//!
//! # The tree (a published format: do not change)
//!
//! The map is a binary tree of depth at most 256. A key's path is its bits,
//! most significant first: bit `i` (`i = 0` is the root's branching bit) is
//! `(key[i / 8] >> (7 - i % 8)) & 1`; `0` goes left, `1` goes right.
//!
//! Leaves are *compressed*, as in Diem's Jellyfish Merkle tree (binary
//! form): a subtree holding exactly one key is represented by that key's
//! leaf, placed at the shallowest depth where the key is alone. So:
//!
//! - a subtree with no key hashes to [`EMPTY`] (32 zero bytes);
//! - a subtree with exactly one key hashes to that key's leaf hash,
//!   whatever its depth: `SHA-256(0x00 ‖ key ‖ value)` ([`leaf_hash`]);
//! - a subtree with two or more keys is an internal node:
//!   `SHA-256(0x01 ‖ left ‖ right)` ([`internal_hash`]), where an empty
//!   child counts as [`EMPTY`].
//!
//! The root of the empty map is [`EMPTY`]; the root of a one-key map is that
//! key's leaf hash.
//!
//! # Nodes as stored
//!
//! A node's place is a [`NodeId`] (depth and path prefix; its text form,
//! [`NodeId::to_hex`], is meant as a database key). What is stored there is
//! a [`Node`]: a `Leaf` (key and value) or an `Internal` node (its hash
//! only). An absent node is an empty subtree. Because keys are never
//! removed, a place once non-empty stays non-empty: updates only overwrite.
//!
//! # Proofs
//!
//! A [`MapProof`] lists the siblings along a key's path from the root's
//! children downwards and the node the path ends at ([`Terminal`]): the
//! key's own leaf (membership), or nothing or another key's leaf
//! (non-membership). Its text form is described at [`MapProof::to_hex`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod loader;
mod memory;
mod node;
mod proof;
mod update;

use sha2::{Digest, Sha256};

pub use error::MapError;
pub use loader::PathLoader;
pub use memory::MemoryMap;
pub use node::{Node, NodeId};
pub use proof::{MapProof, Terminal, prove};
pub use update::{MapUpdate, apply};

/// A 256-bit key, value or node hash.
pub type Hash = [u8; 32];

/// The hash of an empty subtree (and the root of the empty map).
pub const EMPTY: Hash = [0u8; 32];

/// The deepest level of the tree: a node at this depth stands for one key.
pub const MAX_DEPTH: u16 = 256;

/// Domain tag of a leaf hash. Distinct from [`INTERNAL_TAG`] so that no
/// leaf can hash like an internal node (see [`MapProof::verify_value`]).
const LEAF_TAG: u8 = 0x00;
/// Domain tag of an internal node hash.
const INTERNAL_TAG: u8 = 0x01;

/// The hash of a key's leaf: `SHA-256(0x00 ‖ key ‖ value)`.
pub fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_TAG]);
    hasher.update(key);
    hasher.update(value);
    hasher.finalize().into()
}

/// The hash of an internal node: `SHA-256(0x01 ‖ left ‖ right)`, an empty
/// child being passed as [`EMPTY`].
pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([INTERNAL_TAG]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Bit `index` of `key`, most significant bit first (`true` = go right).
/// Indices past 255 read as `false` rather than panicking, so hostile depths
/// cannot crash a caller.
pub fn bit(key: &Hash, index: u16) -> bool {
    let i = usize::from(index);
    key.get(i / 8)
        .is_some_and(|byte| (byte >> (7 - i % 8)) & 1 == 1)
}

/// Decodes lowercase hex only: the text forms of this crate are canonical,
/// so a decoder that also took uppercase would give one value two spellings.
fn decode_lower_hex(text: &str, what: impl Fn() -> String) -> Result<Vec<u8>, MapError> {
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(MapError::MalformedHex {
            what: what(),
            reason: "not lowercase hexadecimal",
        });
    }
    hex::decode(text).map_err(|_| MapError::MalformedHex {
        what: what(),
        reason: "odd number of hex digits",
    })
}

/// Decodes exactly 32 bytes of lowercase hex.
fn decode_hash(text: &str, what: impl Fn() -> String) -> Result<Hash, MapError> {
    let bytes = decode_lower_hex(text, &what)?;
    Hash::try_from(bytes.as_slice()).map_err(|_| MapError::MalformedHex {
        what: what(),
        reason: "not 64 hex digits",
    })
}
