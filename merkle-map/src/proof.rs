//! Membership and non-membership proofs: building them from loaded nodes,
//! verifying them (safely, against any input), and their text form.

use std::collections::BTreeMap;

use crate::node::{check_internal, check_node, hash_at};
use crate::{
    EMPTY, Hash, MAX_DEPTH, MapError, Node, NodeId, bit, decode_hash, decode_lower_hex,
    internal_hash, leaf_hash,
};

/// What a proof's path ends at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminal {
    /// An empty subtree: the key is absent.
    Empty,
    /// A leaf: the key's own (membership) or another key's whose leaf sits
    /// where the key's path ends (non-membership).
    Leaf {
        /// The leaf's key.
        key: Hash,
        /// The leaf's value.
        value: Hash,
    },
}

/// A proof that a key has a value, or is absent, under a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapProof {
    /// From the root's children downwards: `siblings[d]` is the hash of the
    /// sibling of the key's node at depth `d + 1`. Its length is the depth
    /// of the terminal.
    pub siblings: Vec<Hash>,
    /// What the key's path ends at.
    pub terminal: Terminal,
}

/// Builds the proof for `key` from nodes a
/// [`PathLoader`](crate::PathLoader) loaded for it (absent = empty).
pub fn prove(nodes: &BTreeMap<NodeId, Node>, key: &Hash) -> Result<MapProof, MapError> {
    let mut siblings = Vec::new();
    let mut id = NodeId::ROOT;
    loop {
        match nodes.get(&id) {
            None => {
                return Ok(MapProof {
                    siblings,
                    terminal: Terminal::Empty,
                });
            }
            Some(
                node @ Node::Leaf {
                    key: leaf_key,
                    value,
                },
            ) => {
                check_node(&id, node)?;
                return Ok(MapProof {
                    siblings,
                    terminal: Terminal::Leaf {
                        key: *leaf_key,
                        value: *value,
                    },
                });
            }
            Some(Node::Internal { hash }) => {
                check_internal(nodes, &id, hash)?;
                let toward = bit(key, id.depth());
                let (Some(child), Some(sibling)) = (id.child(toward), id.child(!toward)) else {
                    // check_internal refuses internal nodes at depth 256;
                    // this keeps `prove` free of panics regardless.
                    return Err(MapError::InconsistentNodes {
                        id,
                        reason: "an internal node at depth 256, where only one key fits",
                    });
                };
                siblings.push(hash_at(nodes, &sibling));
                id = child;
            }
        }
    }
}

impl MapProof {
    /// Folds the terminal's hash up the siblings along `key`'s path and
    /// returns the root it leads to.
    ///
    /// Why a proof cannot place a key shallower (or deeper) than it really
    /// is: the node at a proof's terminal depth must hash to what the tree
    /// has there. If the key's leaf really sits deeper, the tree has an
    /// internal node there, so the proof would need a leaf hash equal to an
    /// internal hash. Without domain separation that is easy: a leaf hash
    /// `H(key ‖ value)` and an internal hash `H(left ‖ right)` both hash 64
    /// bytes, so anyone could present the root's two children as "key =
    /// left, value = right" and prove a made-up key at depth 0. The leading
    /// byte (0x00 for leaves, 0x01 for internal nodes) makes the two
    /// preimages differ, so a leaf posing as an internal node (or the
    /// reverse) needs a SHA-256 collision. [`EMPTY`] is not a SHA-256 output
    /// anyone can find, so an empty terminal cannot stand in for a real
    /// subtree either.
    fn fold(&self, key: &Hash) -> Result<Hash, MapError> {
        let len = self.siblings.len();
        if len > usize::from(MAX_DEPTH) {
            return Err(MapError::ProofTooLong { len });
        }
        let mut hash = match &self.terminal {
            Terminal::Empty => EMPTY,
            Terminal::Leaf { key, value } => leaf_hash(key, value),
        };
        // `len <= 256`, so every index fits the u16 depth of `bit`.
        for (depth, sibling) in (0..MAX_DEPTH).zip(self.siblings.iter()).rev() {
            hash = if bit(key, depth) {
                internal_hash(sibling, &hash)
            } else {
                internal_hash(&hash, sibling)
            };
        }
        Ok(hash)
    }

    fn check_root(&self, root: &Hash, key: &Hash) -> Result<(), MapError> {
        let computed = self.fold(key)?;
        if computed != *root {
            return Err(MapError::RootMismatch {
                expected: *root,
                computed,
            });
        }
        Ok(())
    }

    /// Checks that under `root`, `key` has `value`: the terminal is
    /// `Leaf { key, value }` and folding its leaf hash upward with the
    /// siblings (bit `d` of `key` choosing the side at depth `d`) gives
    /// `root`. Never panics, whatever the proof holds.
    pub fn verify_value(&self, root: &Hash, key: &Hash, value: &Hash) -> Result<(), MapError> {
        let len = self.siblings.len();
        if len > usize::from(MAX_DEPTH) {
            return Err(MapError::ProofTooLong { len });
        }
        match &self.terminal {
            Terminal::Empty => return Err(MapError::KeyAbsent { key: *key }),
            Terminal::Leaf { key: found, .. } if found != key => {
                return Err(MapError::KeyMismatch {
                    expected: *key,
                    found: *found,
                });
            }
            Terminal::Leaf { value: found, .. } if found != value => {
                return Err(MapError::ValueMismatch {
                    key: *key,
                    expected: *value,
                    found: *found,
                });
            }
            Terminal::Leaf { .. } => {}
        }
        self.check_root(root, key)
    }

    /// Checks that under `root`, `key` is absent: the path ends at an empty
    /// subtree, or at the leaf of another key that shares the path's first
    /// `siblings.len()` bits with `key` (that subtree holds only the other
    /// key), and folding up gives `root`. Never panics.
    pub fn verify_absent(&self, root: &Hash, key: &Hash) -> Result<(), MapError> {
        let len = self.siblings.len();
        if len > usize::from(MAX_DEPTH) {
            return Err(MapError::ProofTooLong { len });
        }
        if let Terminal::Leaf { key: leaf_key, .. } = &self.terminal {
            if leaf_key == key {
                return Err(MapError::KeyPresent { key: *key });
            }
            // `len <= 256` was checked above, so the depth fits.
            let depth = u16::try_from(len).unwrap_or(MAX_DEPTH);
            if NodeId::of(leaf_key, depth) != NodeId::of(key, depth) {
                return Err(MapError::LeafOffPath {
                    key: *key,
                    leaf_key: *leaf_key,
                    depth: len,
                });
            }
        }
        self.check_root(root, key)
    }

    /// Verifies the proof either way and says what it shows: `Some(value)`
    /// if `key` has `value` under `root`, `None` if it is absent.
    pub fn verify(&self, root: &Hash, key: &Hash) -> Result<Option<Hash>, MapError> {
        match &self.terminal {
            Terminal::Leaf {
                key: leaf_key,
                value,
            } if leaf_key == key => self.verify_value(root, key, value).map(|()| Some(*value)),
            _ => self.verify_absent(root, key).map(|()| None),
        }
    }

    /// A JSON-friendly text form: a list of strings, lowercase hex.
    ///
    /// - Element 0 is the terminal: `""` for [`Terminal::Empty`], or 128 hex
    ///   digits, the leaf's key then its value, for [`Terminal::Leaf`].
    /// - Elements 1.. are the siblings in order (`siblings[0]` first), each
    ///   64 hex digits, except that an empty sibling ([`EMPTY`]) is written
    ///   `""` to keep files small (most siblings deep in a path are empty).
    pub fn to_hex(&self) -> Vec<String> {
        let terminal = match &self.terminal {
            Terminal::Empty => String::new(),
            Terminal::Leaf { key, value } => {
                let mut text = hex::encode(key);
                text.push_str(&hex::encode(value));
                text
            }
        };
        std::iter::once(terminal)
            .chain(self.siblings.iter().map(|sibling| {
                if *sibling == EMPTY {
                    String::new()
                } else {
                    hex::encode(sibling)
                }
            }))
            .collect()
    }

    /// Parses [`MapProof::to_hex`]'s form, refusing anything it would not
    /// produce (uppercase, wrong lengths, an empty sibling spelled as 64
    /// zeros, more than 256 siblings). Never panics.
    pub fn from_hex<S: AsRef<str>>(parts: &[S]) -> Result<MapProof, MapError> {
        let Some((terminal, siblings)) = parts.split_first() else {
            return Err(MapError::MalformedHex {
                what: "proof".to_string(),
                reason: "no terminal (the list is empty)",
            });
        };
        if siblings.len() > usize::from(MAX_DEPTH) {
            return Err(MapError::ProofTooLong {
                len: siblings.len(),
            });
        }
        let terminal = terminal.as_ref();
        let terminal = if terminal.is_empty() {
            Terminal::Empty
        } else {
            let what = || "proof terminal".to_string();
            let bytes = decode_lower_hex(terminal, what)?;
            match bytes.split_at_checked(32) {
                Some((key, value)) if value.len() == 32 => Terminal::Leaf {
                    key: Hash::try_from(key).unwrap_or(EMPTY),
                    value: Hash::try_from(value).unwrap_or(EMPTY),
                },
                _ => {
                    return Err(MapError::MalformedHex {
                        what: what(),
                        reason: "neither empty nor 128 hex digits",
                    });
                }
            }
        };
        let siblings = siblings
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let text = text.as_ref();
                if text.is_empty() {
                    return Ok(EMPTY);
                }
                let hash = decode_hash(text, || format!("proof sibling {i}"))?;
                if hash == EMPTY {
                    return Err(MapError::MalformedHex {
                        what: format!("proof sibling {i}"),
                        reason: "an empty sibling must be written as \"\"",
                    });
                }
                Ok(hash)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MapProof { siblings, terminal })
    }
}
