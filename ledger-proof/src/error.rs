//! The one error type of the crate's fallible operations, with stable codes.
//!
//! Callers (the API, the CLI, the lead's store layer) branch on [`ProofError::code`], never on
//! the message text, so the codes are part of the contract: add new ones, never rename.

use thiserror::Error;

/// Why a proof, checkpoint, key or signature operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// A hash was not 64 hex digits (or 32 bytes).
    #[error("malformed hash: {reason}")]
    MalformedHash {
        /// What was wrong.
        reason: String,
    },
    /// A tree size beyond what the stored-hash arithmetic supports.
    #[error("tree size {size} is larger than the supported maximum {max}")]
    TreeTooLarge {
        /// The size asked for.
        size: u64,
        /// [`crate::merkle::MAX_TREE_SIZE`].
        max: u64,
    },
    /// A leaf index that is not in the tree.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof asked from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizesOutOfOrder {
        /// The claimed older size.
        old_size: u64,
        /// The claimed newer size.
        new_size: u64,
    },
    /// The caller did not supply a stored hash the computation needs.
    #[error("stored hash {index} is needed but was not supplied")]
    MissingStoredHash {
        /// The stored-hash index (tlog numbering).
        index: u64,
    },
    /// A Merkle proof did not verify.
    #[error("{what} proof does not verify: {reason}")]
    InvalidProof {
        /// "inclusion" or "consistency".
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The Merkle arithmetic library failed in a way not covered above.
    #[error("transparency log arithmetic failed: {0}")]
    Tlog(String),
    /// A note (or checkpoint body) is larger than we are willing to parse.
    #[error("note of {size} bytes is larger than the {max} bytes accepted")]
    NoteTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The signed-note framing is broken (no blank line, bad signature line, ...).
    #[error("malformed signed note: {reason}")]
    MalformedNote {
        /// What was wrong, naming the line where there is one.
        reason: String,
    },
    /// The checkpoint body is not a serial-ledger tlog-checkpoint.
    #[error("malformed checkpoint, line {line}: {reason}")]
    MalformedCheckpoint {
        /// 1-based line of the body.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// No signature by any of the given keys is on the note.
    #[error(
        "checkpoint is not signed by any of the given keys ({expected}); it carries signatures by: {found}"
    )]
    NotSignedByKnownKey {
        /// The given keys, `name+id` each, comma separated.
        expected: String,
        /// The signature lines' `name+id`, comma separated, or "none".
        found: String,
    },
    /// A signature by one of the given keys is present but does not verify.
    #[error("signature by key {key} does not verify: the note was altered or the signature forged")]
    BadSignature {
        /// `name+id` of the key.
        key: String,
    },
    /// The checkpoint is of another log.
    #[error("checkpoint origin is {found:?}, expected {expected:?}")]
    OriginMismatch {
        /// The origin expected.
        expected: String,
        /// The origin found.
        found: String,
    },
    /// The checkpoint names another tree than expected.
    #[error(
        "checkpoint is of tree size {found_size} root {found_root}, expected size {expected_size} root {expected_root}"
    )]
    TreeMismatch {
        /// Size expected.
        expected_size: u64,
        /// Root expected (hex).
        expected_root: String,
        /// Size found.
        found_size: u64,
        /// Root found (hex).
        found_root: String,
    },
    /// A key text is malformed.
    #[error("malformed key: {reason}")]
    MalformedKey {
        /// What was wrong.
        reason: String,
    },
    /// A verifier (public) key was given where the private key is needed.
    #[error("this is a verifier (public) key; signing needs the private key (PRIVATE+KEY+...)")]
    VerifierKeyGivenForSigning,
    /// A private key was given where a verifier key is needed.
    #[error(
        "this is a private key; give the verifier (public) key instead, and keep this one secret"
    )]
    PrivateKeyGivenForVerifying,
    /// The key is of another algorithm (for instance a witness key where a log key is needed).
    #[error("key algorithm 0x{found:02x} is not accepted here (expected 0x{expected:02x}{hint})")]
    WrongKeyAlgorithm {
        /// The algorithm byte expected.
        expected: u8,
        /// The algorithm byte found.
        found: u8,
        /// A hint naming the kind of key found, or empty.
        hint: &'static str,
    },
    /// A key name that the signed-note format forbids (empty, spaces, '+').
    #[error("invalid key name {name:?}: it must be non-empty, without spaces or '+'")]
    InvalidKeyName {
        /// The name.
        name: String,
    },
    /// The operating system's random source failed.
    #[error("could not generate a key: {reason}")]
    KeyGeneration {
        /// What failed.
        reason: String,
    },
    /// A cosignature line is malformed.
    #[error("malformed cosignature: {reason}")]
    MalformedCosignature {
        /// What was wrong.
        reason: String,
    },
    /// The cosignature line is by another key than the one given.
    #[error("cosignature is by {found}, not by the given witness key {expected}")]
    CosignatureKeyMismatch {
        /// `name+id` of the given key.
        expected: String,
        /// `name+id` of the line.
        found: String,
    },
    /// The cosignature does not verify.
    #[error("cosignature by {witness} does not verify over this checkpoint")]
    BadCosignature {
        /// `name+id` of the witness.
        witness: String,
    },
}

impl ProofError {
    /// The stable machine-readable code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            ProofError::MalformedHash { .. } => "HASH_MALFORMED",
            ProofError::TreeTooLarge { .. } => "TREE_TOO_LARGE",
            ProofError::IndexOutOfRange { .. } => "LEAF_INDEX_OUT_OF_RANGE",
            ProofError::SizesOutOfOrder { .. } => "TREE_SIZES_OUT_OF_ORDER",
            ProofError::MissingStoredHash { .. } => "STORED_HASH_MISSING",
            ProofError::InvalidProof { .. } => "PROOF_INVALID",
            ProofError::Tlog(_) => "TLOG_FAILED",
            ProofError::NoteTooLarge { .. } => "NOTE_TOO_LARGE",
            ProofError::MalformedNote { .. } => "NOTE_MALFORMED",
            ProofError::MalformedCheckpoint { .. } => "CHECKPOINT_MALFORMED",
            ProofError::NotSignedByKnownKey { .. } => "CHECKPOINT_NOT_SIGNED_BY_KEY",
            ProofError::BadSignature { .. } => "SIGNATURE_INVALID",
            ProofError::OriginMismatch { .. } => "CHECKPOINT_ORIGIN_MISMATCH",
            ProofError::TreeMismatch { .. } => "CHECKPOINT_TREE_MISMATCH",
            ProofError::MalformedKey { .. } => "KEY_MALFORMED",
            ProofError::VerifierKeyGivenForSigning => "KEY_IS_VERIFIER_KEY",
            ProofError::PrivateKeyGivenForVerifying => "KEY_IS_PRIVATE_KEY",
            ProofError::WrongKeyAlgorithm { .. } => "KEY_ALGORITHM_UNSUPPORTED",
            ProofError::InvalidKeyName { .. } => "KEY_NAME_INVALID",
            ProofError::KeyGeneration { .. } => "KEY_GENERATION_FAILED",
            ProofError::MalformedCosignature { .. } => "COSIGNATURE_MALFORMED",
            ProofError::CosignatureKeyMismatch { .. } => "COSIGNATURE_WRONG_KEY",
            ProofError::BadCosignature { .. } => "COSIGNATURE_INVALID",
        }
    }
}
