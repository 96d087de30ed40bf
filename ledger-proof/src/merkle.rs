//! The ledger's RFC 9162 Merkle log: one leaf per event, in log order.
//!
//! Leaf hash = SHA-256(0x00 ‖ data), node hash = SHA-256(0x01 ‖ left ‖ right), and the leaf
//! data of the ledger is the 32 raw bytes of an event's hash (`EventEnvelope::hash`), so that
//! a leaf commits to the whole event through the stream hash chain's own hash.
//!
//! Storage follows tlog's *stored-hash index* (`tlog_tiles::stored_hash_index`): every
//! complete subtree's hash is stored once, about two per leaf, and any root or proof needs at
//! most O(log n) of them. The arithmetic is tlog_tiles' (a port of Go's sumdb/tlog), which
//! reads hashes through a synchronous `HashReader`, one `read_hashes` call per operation.
//! The store is async, so this module is sans-IO and two-phase: `*_indexes` says which
//! stored hashes an operation needs, the caller fetches them however it likes, and the
//! matching function computes from the fetched `HashMap`. A missing hash is an error
//! ([`ProofError::MissingStoredHash`]), never a panic: our readers always answer a
//! `read_hashes` call with exactly as many hashes as asked, or an error, because tlog_tiles
//! panics on any other count.

use crate::error::ProofError;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use tlog_tiles::{Hash as TlogHash, HashReader};

/// A SHA-256 hash: a leaf, node or root of the log, or an event's hash as raw bytes.
pub type Hash = [u8; 32];

/// The largest tree size accepted. tlog's index arithmetic (`stored_hash_index`, `maxpow2`)
/// overflows, and so panics in debug builds, near 2^63; 2^62 events is far beyond any
/// ledger, so sizes above it are refused up front instead.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// The longest proof accepted: a tree of [`MAX_TREE_SIZE`] leaves needs at most 62 hashes
/// for inclusion and 2·62 for consistency. Longer input is refused before tlog_tiles sees it
/// (its verifier copies the proof at every level, quadratic in the length).
pub const MAX_PROOF_HASHES: usize = 128;

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = tlog_tiles::EMPTY_HASH.0;

/// The leaf hash of an event: SHA-256(0x00 ‖ the 32 bytes of its hash).
pub fn leaf_hash(event_hash: &Hash) -> Hash {
    leaf_hash_of_bytes(event_hash)
}

/// The RFC 9162 leaf hash of arbitrary leaf data. The ledger's leaves are always event
/// hashes ([`leaf_hash`]); this general form exists so the published reference vectors,
/// whose leaves are of any length, can be checked against the same code.
pub fn leaf_hash_of_bytes(data: &[u8]) -> Hash {
    tlog_tiles::record_hash(data).0
}

/// The RFC 9162 interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Parses 64 hex digits into a hash.
pub fn parse_hash_hex(text: &str) -> Result<Hash, ProofError> {
    if text.len() != 64 {
        return Err(ProofError::MalformedHash {
            reason: format!("expected 64 hex digits, found {} characters", text.len()),
        });
    }
    let bytes = hex::decode(text).map_err(|error| ProofError::MalformedHash {
        reason: error.to_string(),
    })?;
    bytes.try_into().map_err(|_| ProofError::MalformedHash {
        reason: "not 32 bytes".to_owned(),
    })
}

fn check_size(size: u64) -> Result<(), ProofError> {
    if size > MAX_TREE_SIZE {
        return Err(ProofError::TreeTooLarge {
            size,
            max: MAX_TREE_SIZE,
        });
    }
    Ok(())
}

fn check_proof_length(what: &'static str, proof: &[Hash]) -> Result<(), ProofError> {
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::InvalidProof {
            what,
            reason: format!(
                "{} hashes, more than any tree needs ({MAX_PROOF_HASHES})",
                proof.len()
            ),
        });
    }
    Ok(())
}

fn to_tlog(proof: &[Hash]) -> Vec<TlogHash> {
    proof.iter().map(|hash| TlogHash(*hash)).collect()
}

fn from_tlog(proof: Vec<TlogHash>) -> Vec<Hash> {
    proof.into_iter().map(|hash| hash.0).collect()
}

/// Reads from the caller's fetched hashes; remembers the first index it lacked so the error
/// can name it (tlog's own error type has no room for it).
struct MapReader<'a> {
    hashes: &'a HashMap<u64, Hash>,
    missing: Cell<Option<u64>>,
}

impl<'a> MapReader<'a> {
    fn new(hashes: &'a HashMap<u64, Hash>) -> Self {
        Self {
            hashes,
            missing: Cell::new(None),
        }
    }

    fn error(&self, error: tlog_tiles::Error) -> ProofError {
        match self.missing.get() {
            Some(index) => ProofError::MissingStoredHash { index },
            None => ProofError::Tlog(error.to_string()),
        }
    }
}

impl HashReader for MapReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<TlogHash>, tlog_tiles::Error> {
        let mut out = Vec::with_capacity(indexes.len());
        for index in indexes {
            match self.hashes.get(index) {
                Some(hash) => out.push(TlogHash(*hash)),
                None => {
                    self.missing.set(Some(*index));
                    return Err(tlog_tiles::Error::IndexesNotInTree);
                }
            }
        }
        Ok(out)
    }
}

/// Records which indexes an operation asks for, answering with placeholder hashes of the
/// right count. tlog_tiles keeps its index planners private but makes exactly one
/// `read_hashes` call per operation, so running the operation against this reader is the
/// index plan (the placeholder result is thrown away).
#[derive(Default)]
struct IndexRecorder {
    asked: Cell<Vec<u64>>,
}

impl IndexRecorder {
    fn into_indexes(self) -> Vec<u64> {
        self.asked.into_inner()
    }
}

impl HashReader for IndexRecorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<TlogHash>, tlog_tiles::Error> {
        let mut asked = self.asked.take();
        asked.extend_from_slice(indexes);
        self.asked.set(asked);
        Ok(vec![TlogHash::default(); indexes.len()])
    }
}

/// The stored-hash indexes needed for the root of a tree of `size` leaves: the hashes of its
/// right edge, the maximal complete subtrees (at most 1 + log₂ size). Empty for size 0, and
/// for a size above [`MAX_TREE_SIZE`] (which [`root`] refuses).
pub fn root_indexes(size: u64) -> Vec<u64> {
    if size == 0 || size > MAX_TREE_SIZE {
        return Vec::new();
    }
    tlog_tiles::sub_tree_index(0, size, Vec::new())
}

/// The root of the tree of `size` leaves, from the hashes at [`root_indexes`]`(size)`.
pub fn root(size: u64, hashes: &HashMap<u64, Hash>) -> Result<Hash, ProofError> {
    check_size(size)?;
    let reader = MapReader::new(hashes);
    tlog_tiles::tree_hash(size, &reader)
        .map(|hash| hash.0)
        .map_err(|error| reader.error(error))
}

fn check_index(size: u64, index: u64) -> Result<(), ProofError> {
    check_size(size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    Ok(())
}

/// The stored-hash indexes needed for the inclusion proof of leaf `index` in the tree of
/// `size` leaves.
pub fn inclusion_indexes(size: u64, index: u64) -> Result<Vec<u64>, ProofError> {
    check_index(size, index)?;
    let recorder = IndexRecorder::default();
    tlog_tiles::prove_record(size, index, &recorder)
        .map_err(|error| ProofError::Tlog(error.to_string()))?;
    Ok(recorder.into_indexes())
}

/// The RFC 9162 inclusion proof (audit path) of leaf `index` in the tree of `size` leaves,
/// from the hashes at [`inclusion_indexes`].
pub fn inclusion_proof(
    size: u64,
    index: u64,
    hashes: &HashMap<u64, Hash>,
) -> Result<Vec<Hash>, ProofError> {
    check_index(size, index)?;
    let reader = MapReader::new(hashes);
    tlog_tiles::prove_record(size, index, &reader)
        .map(from_tlog)
        .map_err(|error| reader.error(error))
}

fn check_sizes(old_size: u64, new_size: u64) -> Result<(), ProofError> {
    check_size(new_size)?;
    if old_size > new_size {
        return Err(ProofError::SizesOutOfOrder { old_size, new_size });
    }
    Ok(())
}

/// The stored-hash indexes needed for the consistency proof from the tree of `old_size`
/// leaves to the tree of `new_size` leaves. Empty when the proof is (old size 0, or equal
/// sizes).
pub fn consistency_indexes(old_size: u64, new_size: u64) -> Result<Vec<u64>, ProofError> {
    check_sizes(old_size, new_size)?;
    if old_size == 0 {
        return Ok(Vec::new());
    }
    let recorder = IndexRecorder::default();
    tlog_tiles::prove_tree(new_size, old_size, &recorder)
        .map_err(|error| ProofError::Tlog(error.to_string()))?;
    Ok(recorder.into_indexes())
}

/// The RFC 9162 consistency proof from `old_size` to `new_size`, from the hashes at
/// [`consistency_indexes`].
pub fn consistency_proof(
    old_size: u64,
    new_size: u64,
    hashes: &HashMap<u64, Hash>,
) -> Result<Vec<Hash>, ProofError> {
    check_sizes(old_size, new_size)?;
    if old_size == 0 {
        // Every tree extends the empty tree: RFC 9162 §2.1.4 has nothing to prove.
        return Ok(Vec::new());
    }
    let reader = MapReader::new(hashes);
    tlog_tiles::prove_tree(new_size, old_size, &reader)
        .map(from_tlog)
        .map_err(|error| reader.error(error))
}

/// Verifies that the event with hash `event_hash` is leaf `index` of the tree of `size`
/// leaves with root `root`.
pub fn verify_inclusion(
    size: u64,
    root: &Hash,
    index: u64,
    event_hash: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    verify_leaf_inclusion(size, root, index, &leaf_hash(event_hash), proof)
}

/// Like [`verify_inclusion`], given the leaf hash itself (for leaf data other than an event
/// hash, such as the RFC reference vectors').
pub fn verify_leaf_inclusion(
    size: u64,
    root: &Hash,
    index: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_index(size, index)?;
    check_proof_length("inclusion", proof)?;
    tlog_tiles::check_record(
        &to_tlog(proof),
        size,
        TlogHash(*root),
        index,
        TlogHash(*leaf),
    )
    .map_err(|error| ProofError::InvalidProof {
        what: "inclusion",
        reason: match error {
            tlog_tiles::Error::InvalidProof => {
                format!("leaf {index} is not in the tree of size {size} with this root")
            }
            other => other.to_string(),
        },
    })
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends (contains as a
/// prefix) the tree of `old_size` leaves with root `old_root`.
///
/// From size 0 the proof must be empty and `old_root` must be [`EMPTY_ROOT`]: every tree
/// extends the empty one, but a claimed empty-tree root that is not the empty root is false.
pub fn verify_consistency(
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    check_sizes(old_size, new_size)?;
    check_proof_length("consistency", proof)?;
    let invalid = |reason: String| ProofError::InvalidProof {
        what: "consistency",
        reason,
    };
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(invalid("a proof from the empty tree must be empty".into()));
        }
        if *old_root != EMPTY_ROOT {
            return Err(invalid("the root of the empty tree is not that".into()));
        }
        return Ok(());
    }
    tlog_tiles::check_tree(
        &to_tlog(proof),
        new_size,
        TlogHash(*new_root),
        old_size,
        TlogHash(*old_root),
    )
    .map_err(|error| {
        invalid(match error {
            tlog_tiles::Error::InvalidProof => format!(
                "the tree of size {new_size} with this root does not extend the tree of size {old_size} with that root"
            ),
            other => other.to_string(),
        })
    })
}

/// Appends leaves to a stored tree, given only the stored hashes of its right edge.
///
/// Keeps the right edge of the growing tree in memory (and nothing else of the past), so a
/// batch of appends reads nothing beyond the initial [`root_indexes`]`(size)`; every stored
/// hash it computes is handed out once by [`TreeAppender::take_written`] for the caller to
/// persist in the same transaction as the events.
#[derive(Debug, Clone)]
pub struct TreeAppender {
    size: u64,
    edge: HashMap<u64, Hash>,
    written: Vec<(u64, Hash)>,
}

impl TreeAppender {
    /// Starts from a tree of `size` leaves; `right_edge` must hold (at least) the hashes at
    /// [`root_indexes`]`(size)`.
    pub fn new(size: u64, right_edge: HashMap<u64, Hash>) -> Result<Self, ProofError> {
        check_size(size)?;
        let needed = root_indexes(size);
        let mut edge = HashMap::with_capacity(needed.len());
        for index in needed {
            match right_edge.get(&index) {
                Some(hash) => {
                    edge.insert(index, *hash);
                }
                None => return Err(ProofError::MissingStoredHash { index }),
            }
        }
        Ok(Self {
            size,
            edge,
            written: Vec::new(),
        })
    }

    /// Appends the event with hash `event_hash`; returns its leaf index.
    pub fn push(&mut self, event_hash: &Hash) -> Result<u64, ProofError> {
        self.push_leaf_hash(leaf_hash(event_hash))
    }

    /// Appends a leaf given its leaf hash; returns its leaf index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> Result<u64, ProofError> {
        let index = self.size;
        check_size(index.saturating_add(1))?;
        let new_hashes = {
            let reader = MapReader::new(&self.edge);
            tlog_tiles::stored_hashes_for_record_hash(index, TlogHash(leaf), &reader)
                .map_err(|error| reader.error(error))?
        };
        // tlog stores the hashes of record n consecutively from stored_hash_index(0, n): the
        // leaf, then each subtree it completes, bottom up.
        let first = tlog_tiles::stored_hash_index(0, index);
        for (offset, hash) in (0u64..).zip(new_hashes) {
            self.edge.insert(first + offset, hash.0);
            self.written.push((first + offset, hash.0));
        }
        self.size = index + 1;
        // Only the new right edge is ever needed again: forget the rest, so memory stays
        // O(log n) however long the batch.
        let keep: HashSet<u64> = root_indexes(self.size).into_iter().collect();
        self.edge.retain(|stored, _| keep.contains(stored));
        Ok(index)
    }

    /// The number of leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree as it stands.
    pub fn root(&self) -> Result<Hash, ProofError> {
        root(self.size, &self.edge)
    }

    /// Every stored hash (stored index, hash) computed since the last call, in index order.
    pub fn take_written(&mut self) -> Vec<(u64, Hash)> {
        std::mem::take(&mut self.written)
    }
}

/// Reads a tree held in memory as a vector indexed by stored-hash index.
struct SliceReader<'a>(&'a [Hash]);

impl HashReader for SliceReader<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<TlogHash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|index| {
                usize::try_from(*index)
                    .ok()
                    .and_then(|index| self.0.get(index))
                    .map(|hash| TlogHash(*hash))
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// A whole tree in memory: for tests, recomputation and small offline tools.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    size: u64,
    stored: Vec<Hash>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the event with hash `event_hash`; returns its leaf index.
    pub fn push(&mut self, event_hash: &Hash) -> Result<u64, ProofError> {
        self.push_leaf_hash(leaf_hash(event_hash))
    }

    /// Appends a leaf given its leaf hash; returns its leaf index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> Result<u64, ProofError> {
        let index = self.size;
        check_size(index.saturating_add(1))?;
        let new_hashes = tlog_tiles::stored_hashes_for_record_hash(
            index,
            TlogHash(leaf),
            &SliceReader(&self.stored),
        )
        .map_err(|error| ProofError::Tlog(error.to_string()))?;
        self.stored
            .extend(new_hashes.into_iter().map(|hash| hash.0));
        self.size = index + 1;
        Ok(index)
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.root_at(self.size).unwrap_or(EMPTY_ROOT)
    }

    /// The root of the tree as it was at `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_held(size)?;
        tlog_tiles::tree_hash(size, &SliceReader(&self.stored))
            .map(|hash| hash.0)
            .map_err(|error| ProofError::Tlog(error.to_string()))
    }

    /// The inclusion proof of leaf `index` in the tree as it was at `size` leaves.
    pub fn inclusion_proof(&self, size: u64, index: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_held(size)?;
        check_index(size, index)?;
        tlog_tiles::prove_record(size, index, &SliceReader(&self.stored))
            .map(from_tlog)
            .map_err(|error| ProofError::Tlog(error.to_string()))
    }

    /// The consistency proof from `old_size` to `new_size` leaves.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_held(new_size)?;
        check_sizes(old_size, new_size)?;
        if old_size == 0 {
            return Ok(Vec::new());
        }
        tlog_tiles::prove_tree(new_size, old_size, &SliceReader(&self.stored))
            .map(from_tlog)
            .map_err(|error| ProofError::Tlog(error.to_string()))
    }

    /// Every stored hash, by stored-hash index: what a store would hold.
    pub fn stored_hashes(&self) -> HashMap<u64, Hash> {
        (0u64..).zip(self.stored.iter().copied()).collect()
    }

    fn check_held(&self, size: u64) -> Result<(), ProofError> {
        if size > self.size {
            return Err(ProofError::IndexOutOfRange {
                index: size,
                size: self.size,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: u64) -> Hash {
        Sha256::digest(i.to_be_bytes()).into()
    }

    fn tree_of(n: u64) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for i in 0..n {
            tree.push(&event(i)).expect("push");
        }
        tree
    }

    fn only(hashes: &HashMap<u64, Hash>, indexes: &[u64]) -> HashMap<u64, Hash> {
        indexes
            .iter()
            .map(|index| (*index, hashes[index]))
            .collect()
    }

    #[test]
    fn a_leaf_is_the_hash_of_zero_then_the_event_hash_bytes() {
        let event_hash = event(7);
        let mut data = vec![0u8];
        data.extend_from_slice(&event_hash);
        let expected: Hash = Sha256::digest(&data).into();
        assert_eq!(leaf_hash(&event_hash), expected);
    }

    #[test]
    fn the_two_phase_api_computes_from_exactly_the_hashes_it_asked_for() {
        let tree = tree_of(37);
        let all = tree.stored_hashes();
        for size in 1..=37 {
            let fetched = only(&all, &root_indexes(size));
            assert_eq!(root(size, &fetched), tree.root_at(size));
            for index in 0..size {
                let fetched = only(&all, &inclusion_indexes(size, index).expect("plan"));
                let proof = inclusion_proof(size, index, &fetched).expect("prove");
                assert_eq!(Ok(proof.clone()), tree.inclusion_proof(size, index));
                let root_hash = tree.root_at(size).expect("root");
                verify_inclusion(size, &root_hash, index, &event(index), &proof).expect("verify");
            }
            for old in 0..=size {
                let fetched = only(&all, &consistency_indexes(old, size).expect("plan"));
                let proof = consistency_proof(old, size, &fetched).expect("prove");
                let old_root = tree.root_at(old).expect("old root");
                let new_root = tree.root_at(size).expect("new root");
                verify_consistency(old, &old_root, size, &new_root, &proof).expect("verify");
            }
        }
    }

    #[test]
    fn a_missing_stored_hash_is_named_not_a_panic() {
        let tree = tree_of(10);
        let mut fetched = only(&tree.stored_hashes(), &root_indexes(10));
        let dropped = root_indexes(10)[0];
        fetched.remove(&dropped);
        assert_eq!(
            root(10, &fetched),
            Err(ProofError::MissingStoredHash { index: dropped })
        );
        assert_eq!(
            inclusion_proof(10, 3, &HashMap::new()).map_err(|e| e.code()),
            Err("STORED_HASH_MISSING")
        );
    }

    #[test]
    fn the_empty_tree_has_the_empty_root_and_nothing_to_read() {
        assert!(root_indexes(0).is_empty());
        assert_eq!(root(0, &HashMap::new()), Ok(EMPTY_ROOT));
        assert_eq!(MemoryTree::new().root(), EMPTY_ROOT);
    }

    #[test]
    fn sizes_beyond_the_maximum_are_refused_not_overflowed() {
        assert!(root_indexes(u64::MAX).is_empty());
        assert_eq!(
            root(u64::MAX, &HashMap::new()).map_err(|e| e.code()),
            Err("TREE_TOO_LARGE")
        );
        assert!(inclusion_indexes(u64::MAX, 5).is_err());
        assert!(consistency_indexes(3, u64::MAX).is_err());
        assert!(verify_inclusion(u64::MAX, &[0; 32], u64::MAX - 1, &[0; 32], &[]).is_err());
        assert!(verify_consistency(1, &[0; 32], u64::MAX, &[0; 32], &[]).is_err());
        assert!(TreeAppender::new(u64::MAX, HashMap::new()).is_err());
    }

    #[test]
    fn the_appender_needs_the_right_edge_and_nothing_more() {
        let tree = tree_of(11);
        let edge = only(&tree.stored_hashes(), &root_indexes(11));
        let mut appender = TreeAppender::new(11, edge.clone()).expect("appender");
        assert_eq!(appender.root(), Ok(tree.root()));
        let mut incomplete = edge;
        let first = root_indexes(11)[0];
        incomplete.remove(&first);
        assert_eq!(
            TreeAppender::new(11, incomplete).map(|_| ()),
            Err(ProofError::MissingStoredHash { index: first })
        );
        assert_eq!(appender.push(&event(11)), Ok(11));
        assert_eq!(appender.size(), 12);
        assert_eq!(appender.root(), tree_of(12).root_at(12));
    }

    #[test]
    fn the_appender_writes_what_a_full_tree_stores() {
        let full = tree_of(40);
        let all = full.stored_hashes();
        let mut appender = TreeAppender::new(0, HashMap::new()).expect("appender");
        let mut written = HashMap::new();
        for i in 0..40 {
            appender.push(&event(i)).expect("push");
            if i % 7 == 0 {
                written.extend(appender.take_written());
            }
        }
        written.extend(appender.take_written());
        assert_eq!(written, all);
        assert!(
            appender.take_written().is_empty(),
            "each hash is handed out once"
        );
    }
}
