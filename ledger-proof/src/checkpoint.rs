//! Signed checkpoints: a C2SP tlog-checkpoint in a C2SP signed note, Ed25519 keys in the Go
//! note formats (`PRIVATE+KEY+name+id+key` and `name+id+key`), via `signed_note`.
//!
//! The body is the three tlog-checkpoint lines (origin, tree size, base64 root) and then two
//! extension lines, always both, in this order:
//!
//! ```text
//! serial-ledger/0190c6e8-...-tenant-uuid
//! 1234
//! <base64 log root>
//! serial-map <base64 serial map root>
//! time <unix seconds>
//! ```
//!
//! Parsing is strict: anything tlog_tiles' `Checkpoint` refuses, a missing or reordered
//! extension, an extra line, or any non-canonical spelling (so that a parsed checkpoint
//! re-encodes to exactly the signed bytes: what was verified is what is reported). Notes
//! above [`MAX_NOTE_BYTES`] are refused unread.

use crate::cosignature::{Cosignature, WitnessVerifierKey, verify_cosignature};
use crate::error::ProofError;
use crate::merkle::Hash;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::{Note, Signature, StandardVerifier, Verifier as _, VerifierList};

/// The largest note (or body) accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// The signed-note algorithm byte of Ed25519 log keys.
pub(crate) const ALG_ED25519: u8 = 0x01;

const MAP_PREFIX: &str = "serial-map ";
const TIME_PREFIX: &str = "time ";

/// The checkpoint origin (log identity) of a tenant's ledger.
pub fn origin(tenant_id: &uuid::Uuid) -> String {
    format!("serial-ledger/{tenant_id}")
}

/// What a checkpoint says: the log of `origin` had `tree_size` events with root `root`, and
/// the serial map over them had root `map_root`, at `issued_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, [`origin`] of its tenant.
    pub origin: String,
    /// Number of events (leaves) in the log.
    pub tree_size: u64,
    /// The Merkle log root (RFC 9162).
    pub root: Hash,
    /// The root of the serial map as of `tree_size`.
    pub map_root: Hash,
    /// When the checkpoint was issued, Unix seconds.
    pub issued_at: i64,
}

pub(crate) fn check_size(text: &str) -> Result<(), ProofError> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(ProofError::NoteTooLarge {
            size: text.len(),
            max: MAX_NOTE_BYTES,
        });
    }
    Ok(())
}

fn malformed(line: usize, reason: impl Into<String>) -> ProofError {
    ProofError::MalformedCheckpoint {
        line,
        reason: reason.into(),
    }
}

fn parse_base64_hash(line: usize, what: &str, text: &str) -> Result<Hash, ProofError> {
    let bytes = BASE64
        .decode(text)
        .map_err(|error| malformed(line, format!("{what} is not base64: {error}")))?;
    bytes
        .try_into()
        .map_err(|_| malformed(line, format!("{what} is not 32 bytes")))
}

impl Checkpoint {
    /// The checkpoint body (the signed text), newline-terminated.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n{MAP_PREFIX}{}\n{TIME_PREFIX}{}\n",
            self.origin,
            self.tree_size,
            BASE64.encode(self.root),
            BASE64.encode(self.map_root),
            self.issued_at
        )
    }

    /// Parses a body (no signature lines). Errors name the 1-based line.
    pub fn parse_body(text: &str) -> Result<Self, ProofError> {
        check_size(text)?;
        let Some(content) = text.strip_suffix('\n') else {
            return Err(malformed(
                text.split('\n').count(),
                "the body must end with a newline",
            ));
        };
        let lines: Vec<&str> = content.split('\n').collect();
        let line = |number: usize| lines.get(number - 1).copied();

        let origin = line(1).unwrap_or_default();
        if origin.is_empty() {
            return Err(malformed(1, "the origin line is empty"));
        }
        if origin.chars().any(char::is_control) {
            return Err(malformed(1, "the origin contains control characters"));
        }
        let size_text = line(2).ok_or_else(|| malformed(2, "the tree size line is missing"))?;
        let tree_size: u64 = size_text
            .parse()
            .ok()
            .filter(|size: &u64| size.to_string() == size_text)
            .ok_or_else(|| malformed(2, "the tree size is not a decimal number"))?;
        let root_text = line(3).ok_or_else(|| malformed(3, "the root hash line is missing"))?;
        let root = parse_base64_hash(3, "the root hash", root_text)?;
        let map_text = line(4)
            .filter(|text| !text.is_empty())
            .ok_or_else(|| malformed(4, "the serial-map extension line is missing"))?;
        let map_root = map_text
            .strip_prefix(MAP_PREFIX)
            .ok_or_else(|| malformed(4, "expected the serial-map extension line"))
            .and_then(|value| parse_base64_hash(4, "the serial map root", value))?;
        let time_text = line(5)
            .filter(|text| !text.is_empty())
            .ok_or_else(|| malformed(5, "the time extension line is missing"))?;
        let issued_at: i64 = time_text
            .strip_prefix(TIME_PREFIX)
            .and_then(|value| {
                value
                    .parse()
                    .ok()
                    .filter(|time: &i64| time.to_string() == value)
            })
            .ok_or_else(|| malformed(5, "expected `time <unix seconds>`"))?;
        if lines.len() > 5 {
            return Err(malformed(6, "unexpected line after the time extension"));
        }
        let checkpoint = Self {
            origin: origin.to_owned(),
            tree_size,
            root,
            map_root,
            issued_at,
        };
        // Defence in depth: the reference tlog-checkpoint parser must accept it too.
        tlog_tiles::Checkpoint::from_bytes(text.as_bytes())
            .map_err(|_| malformed(1, "not a valid tlog-checkpoint"))?;
        if checkpoint.body() != text {
            return Err(malformed(
                3,
                "not in canonical form (base64 padding or spelling)",
            ));
        }
        Ok(checkpoint)
    }

    /// Checks the checkpoint is of the log `expected`.
    pub fn expect_origin(&self, expected: &str) -> Result<(), ProofError> {
        if self.origin != expected {
            return Err(ProofError::OriginMismatch {
                expected: expected.to_owned(),
                found: self.origin.clone(),
            });
        }
        Ok(())
    }

    /// Checks the checkpoint is of the tree of `size` leaves with root `root`.
    pub fn expect_tree(&self, size: u64, root: &Hash) -> Result<(), ProofError> {
        if self.tree_size != size || self.root != *root {
            return Err(ProofError::TreeMismatch {
                expected_size: size,
                expected_root: hex::encode(root),
                found_size: self.tree_size,
                found_root: hex::encode(self.root),
            });
        }
        Ok(())
    }
}

fn key_label(name: &str, id: u32) -> String {
    format!("{name}+{id:08x}")
}

fn check_key_name(name: &str) -> Result<(), ProofError> {
    if !signed_note::is_key_name_valid(name) {
        return Err(ProofError::InvalidKeyName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// The parts of a `PRIVATE+KEY+name+id+base64(alg ‖ secret)` text, shared with the witness
/// keys (which use the same shape with algorithm 0x04).
pub(crate) struct PrivateKeyParts {
    pub(crate) name: String,
    pub(crate) id: u32,
    pub(crate) signing_key: ed25519_dalek::SigningKey,
}

pub(crate) fn parse_private_key(
    text: &str,
    algorithm: u8,
    hint_for: fn(u8) -> &'static str,
) -> Result<PrivateKeyParts, ProofError> {
    let text = text.trim();
    let bad = |reason: &str| ProofError::MalformedKey {
        reason: reason.to_owned(),
    };
    let Some(rest) = text.strip_prefix("PRIVATE+KEY+") else {
        // Base64 may contain '+': a verifier key is name, id, then the rest.
        if text.splitn(3, '+').count() == 3 {
            return Err(ProofError::VerifierKeyGivenForSigning);
        }
        return Err(bad("expected PRIVATE+KEY+<name>+<id>+<key>"));
    };
    // Base64 may contain '+': the key is everything after the id.
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id_text), Some(key_text)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected PRIVATE+KEY+<name>+<id>+<key>"));
    };
    check_key_name(name)?;
    if id_text.len() != 8 {
        return Err(bad("the key id must be 8 hex digits"));
    }
    let id = u32::from_str_radix(id_text, 16).map_err(|_| bad("the key id is not hex"))?;
    let key = BASE64
        .decode(key_text)
        .map_err(|_| bad("the key is not base64"))?;
    let Some((&found, secret)) = key.split_first() else {
        return Err(bad("the key is empty"));
    };
    if found != algorithm {
        return Err(ProofError::WrongKeyAlgorithm {
            expected: algorithm,
            found,
            hint: hint_for(found),
        });
    }
    let secret: [u8; 32] = secret
        .try_into()
        .map_err(|_| bad("an Ed25519 private key is 32 bytes"))?;
    let signing_key = ed25519_dalek::SigningKey::from_bytes(&secret);
    let public = [&[algorithm][..], signing_key.verifying_key().as_bytes()].concat();
    if signed_note::key_id(name, &public) != id {
        return Err(bad(
            "the key id does not match the key (altered or mistyped key)",
        ));
    }
    Ok(PrivateKeyParts {
        name: name.to_owned(),
        id,
        signing_key,
    })
}

pub(crate) fn private_key_text(
    name: &str,
    algorithm: u8,
    key: &ed25519_dalek::SigningKey,
) -> String {
    let public = [&[algorithm][..], key.verifying_key().as_bytes()].concat();
    let secret = [&[algorithm][..], key.as_bytes()].concat();
    format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        signed_note::key_id(name, &public),
        BASE64.encode(secret)
    )
}

pub(crate) fn verifier_key_text(
    name: &str,
    algorithm: u8,
    key: &ed25519_dalek::VerifyingKey,
) -> String {
    let public = [&[algorithm][..], key.as_bytes()].concat();
    format!(
        "{name}+{:08x}+{}",
        signed_note::key_id(name, &public),
        BASE64.encode(public)
    )
}

pub(crate) fn new_ed25519_key() -> Result<ed25519_dalek::SigningKey, ProofError> {
    let mut secret = [0u8; 32];
    rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut secret).map_err(|error| {
        ProofError::KeyGeneration {
            reason: error.to_string(),
        }
    })?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&secret))
}

fn log_key_hint(found: u8) -> &'static str {
    match found {
        0x04 => "; this is a witness (cosignature/v1) key, not a log key",
        _ => "",
    }
}

/// Generates a log signing key named `name` (conventionally the origin):
/// (private key text `PRIVATE+KEY+name+id+key`, verifier key text `name+id+key`).
pub fn generate_signing_key(name: &str) -> Result<(String, String), ProofError> {
    check_key_name(name)?;
    let key = new_ed25519_key()?;
    Ok((
        private_key_text(name, ALG_ED25519, &key),
        verifier_key_text(name, ALG_ED25519, &key.verifying_key()),
    ))
}

/// A log's private signing key.
pub struct SigningKey {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

// Never print key material.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", key_label(&self.name, self.id))
    }
}

impl SigningKey {
    /// Parses a private key text (surrounding whitespace, such as a file's final newline, is
    /// ignored). A verifier key is refused with [`ProofError::VerifierKeyGivenForSigning`].
    pub fn from_text(text: &str) -> Result<Self, ProofError> {
        let parts = parse_private_key(text, ALG_ED25519, log_key_hint)?;
        Ok(Self {
            name: parts.name,
            id: parts.id,
            key: parts.signing_key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id (the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)).
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The verifier key text to publish.
    pub fn verifier_key(&self) -> String {
        verifier_key_text(&self.name, ALG_ED25519, &self.key.verifying_key())
    }

    /// Signs the checkpoint: the whole signed note text (body, blank line, signature line).
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<String, ProofError> {
        let body = checkpoint.body();
        // Refuse to sign what no verifier would parse back (an origin with a newline, ...).
        if Checkpoint::parse_body(&body)? != *checkpoint {
            return Err(malformed(1, "the checkpoint does not survive encoding"));
        }
        let signature = ed25519_dalek::Signer::sign(&self.key, body.as_bytes());
        let line = Signature::new(self.name.clone(), self.id, signature.to_bytes().to_vec())
            .map_err(|error| ProofError::MalformedNote {
                reason: error.to_string(),
            })?;
        let note =
            Note::new(body.as_bytes(), &[line]).map_err(|error| ProofError::MalformedNote {
                reason: error.to_string(),
            })?;
        String::from_utf8(note.to_bytes()).map_err(|error| ProofError::MalformedNote {
            reason: error.to_string(),
        })
    }
}

/// A log's public verifier key.
#[derive(Clone)]
pub struct VerifierKey {
    text: String,
    verifier: StandardVerifier,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifierKey({})", self.text)
    }
}

impl VerifierKey {
    /// Parses a verifier key text `name+id+base64(0x01 ‖ key)` (surrounding whitespace
    /// ignored). A private key is refused with [`ProofError::PrivateKeyGivenForVerifying`].
    pub fn from_text(text: &str) -> Result<Self, ProofError> {
        let text = text.trim();
        if text.starts_with("PRIVATE+KEY+") {
            return Err(ProofError::PrivateKeyGivenForVerifying);
        }
        let verifier = StandardVerifier::new(text).map_err(|error| match error {
            signed_note::VerifierError::Alg => {
                let found = text
                    .splitn(3, '+')
                    .nth(2)
                    .and_then(|key| BASE64.decode(key).ok())
                    .and_then(|key| key.first().copied())
                    .unwrap_or_default();
                ProofError::WrongKeyAlgorithm {
                    expected: ALG_ED25519,
                    found,
                    hint: log_key_hint(found),
                }
            }
            signed_note::VerifierError::Id => ProofError::MalformedKey {
                reason: "the key id does not match the key (altered or mistyped key)".into(),
            },
            signed_note::VerifierError::Format => ProofError::MalformedKey {
                reason: "expected <name>+<8 hex digit id>+<base64 key>".into(),
            },
        })?;
        Ok(Self {
            text: text.to_owned(),
            verifier,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        self.verifier.name()
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.verifier.key_id()
    }

    /// The key text, trimmed.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn label(&self) -> String {
        key_label(self.name(), self.key_id())
    }
}

/// A checkpoint whose note verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    /// What it says.
    pub checkpoint: Checkpoint,
    /// The note as given.
    pub note: String,
    /// Names of the given keys whose signatures verified.
    pub signed_by: Vec<String>,
    /// Witness cosignatures that verified with the given witness keys.
    pub cosignatures: Vec<Cosignature>,
}

/// A note split into its text (body) and parsed signature lines.
pub(crate) struct SplitNote<'a> {
    pub(crate) body: &'a str,
    pub(crate) lines: Vec<(&'a str, Signature)>,
}

/// Splits a signed note, naming the offending line on failure. A note is the text, a blank
/// line, then one or more signature lines each ending in a newline.
pub(crate) fn split_note(note: &str) -> Result<SplitNote<'_>, ProofError> {
    check_size(note)?;
    if let Some(position) = note.find(|c: char| c < ' ' && c != '\n') {
        return Err(ProofError::MalformedNote {
            reason: format!("control character at byte {position}"),
        });
    }
    let Some(split) = note.rfind("\n\n") else {
        return Err(ProofError::MalformedNote {
            reason: "no blank line before the signatures".into(),
        });
    };
    let body = &note[..split + 1];
    let signatures = &note[split + 2..];
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Err(ProofError::MalformedNote {
            reason: "the last signature line does not end with a newline".into(),
        });
    };
    let body_lines = body.split('\n').count();
    let mut lines = Vec::new();
    for (offset, line) in signatures.split('\n').enumerate() {
        let signature =
            Signature::from_bytes(line.as_bytes()).map_err(|_| ProofError::MalformedNote {
                reason: format!(
                    "line {} is not a signature line (— <name> <base64>)",
                    body_lines + 1 + offset
                ),
            })?;
        lines.push((line, signature));
    }
    Ok(SplitNote { body, lines })
}

/// Opens a signed checkpoint: at least one signature by one of `keys` must verify (a bad
/// signature by a given key is an error even if another verifies); signature lines by other
/// keys are ignored, as the signed-note spec says.
pub fn open_checkpoint(note: &str, keys: &[VerifierKey]) -> Result<OpenedCheckpoint, ProofError> {
    open_checkpoint_with_witnesses(note, keys, &[])
}

/// Like [`open_checkpoint`], also reporting the cosignatures of `witnesses` that verify
/// (a witness line that does not verify is not reported, and not an error: a witness
/// policy, not this function, decides how many are needed).
pub fn open_checkpoint_with_witnesses(
    note: &str,
    keys: &[VerifierKey],
    witnesses: &[WitnessVerifierKey],
) -> Result<OpenedCheckpoint, ProofError> {
    let split = split_note(note)?;
    let parsed = Note::from_bytes(note.as_bytes()).map_err(|error| ProofError::MalformedNote {
        reason: error.to_string(),
    })?;
    // The same key given twice must not make signed_note call the key ambiguous.
    let mut distinct: Vec<&VerifierKey> = Vec::new();
    for key in keys {
        if !distinct.iter().any(|seen| seen.text == key.text) {
            distinct.push(key);
        }
    }
    let list = VerifierList::new(
        distinct
            .iter()
            .map(|key| Box::new(key.verifier.clone()) as Box<dyn signed_note::Verifier>)
            .collect(),
    );
    let verified = match parsed.verify(&list) {
        Ok((verified, _unknown)) => verified,
        Err(signed_note::NoteError::InvalidSignature { name, id }) => {
            return Err(ProofError::BadSignature {
                key: key_label(&name, id),
            });
        }
        Err(signed_note::NoteError::UnverifiedNote) => {
            let found: Vec<String> = split
                .lines
                .iter()
                .map(|(_, signature)| key_label(signature.name(), signature.id()))
                .collect();
            let expected: Vec<String> = distinct.iter().map(|key| key.label()).collect();
            return Err(ProofError::NotSignedByKnownKey {
                expected: if expected.is_empty() {
                    "no keys given".into()
                } else {
                    expected.join(", ")
                },
                found: found.join(", "),
            });
        }
        Err(error) => {
            return Err(ProofError::MalformedNote {
                reason: error.to_string(),
            });
        }
    };
    let checkpoint = Checkpoint::parse_body(split.body)?;
    let mut cosignatures = Vec::new();
    for witness in witnesses {
        for (line, _) in &split.lines {
            if let Ok(cosignature) = verify_cosignature(note, line, witness) {
                cosignatures.push(cosignature);
                break;
            }
        }
    }
    Ok(OpenedCheckpoint {
        checkpoint,
        note: note.to_owned(),
        signed_by: verified.iter().map(|s| s.name().to_owned()).collect(),
        cosignatures,
    })
}

/// Reads a checkpoint without checking any signature: for a ledger run without a signing
/// key, whose "note" is the bare body. A note with signature lines is read too, its
/// signatures ignored. Never treat the result as authenticated.
pub fn read_checkpoint_unverified(note: &str) -> Result<Checkpoint, ProofError> {
    check_size(note)?;
    // A body has no empty line, so a blank line means signatures follow.
    if note.contains("\n\n") {
        let split = split_note(note)?;
        return Checkpoint::parse_body(split.body);
    }
    Checkpoint::parse_body(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            origin: origin(&uuid::Uuid::from_u128(
                0x0190_c6e8_0000_7000_8000_0000_0000_0001,
            )),
            tree_size: 1234,
            root: [7; 32],
            map_root: [9; 32],
            issued_at: 1_760_000_000,
        }
    }

    fn keys() -> (SigningKey, VerifierKey) {
        let (private, public) = generate_signing_key("serial-ledger.example/log").expect("keys");
        (
            SigningKey::from_text(&private).expect("private"),
            VerifierKey::from_text(&public).expect("public"),
        )
    }

    #[test]
    fn the_origin_is_serial_ledger_slash_tenant() {
        let tenant = uuid::Uuid::from_u128(1);
        assert_eq!(
            origin(&tenant),
            "serial-ledger/00000000-0000-0000-0000-000000000001"
        );
    }

    #[test]
    fn the_body_is_the_checkpoint_lines_then_serial_map_then_time() {
        let body = sample().body();
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines[0], sample().origin);
        assert_eq!(lines[1], "1234");
        assert_eq!(lines[2], BASE64.encode([7u8; 32]));
        assert_eq!(lines[3], format!("serial-map {}", BASE64.encode([9u8; 32])));
        assert_eq!(lines[4], "time 1760000000");
        assert_eq!(lines.len(), 5);
        assert!(body.ends_with('\n'));
        assert_eq!(Checkpoint::parse_body(&body), Ok(sample()));
        let reference = tlog_tiles::Checkpoint::from_bytes(body.as_bytes()).expect("tlog parses");
        assert_eq!(reference.size(), 1234);
    }

    #[test]
    fn a_body_without_the_extensions_or_with_extra_lines_is_refused_naming_the_line() {
        let body = sample().body();
        let lines: Vec<&str> = body.lines().collect();
        let without_map = format!("{}\n{}\n{}\n{}\n", lines[0], lines[1], lines[2], lines[4]);
        assert!(matches!(
            Checkpoint::parse_body(&without_map),
            Err(ProofError::MalformedCheckpoint { line: 4, .. })
        ));
        let without_time = format!("{}\n{}\n{}\n{}\n", lines[0], lines[1], lines[2], lines[3]);
        assert!(matches!(
            Checkpoint::parse_body(&without_time),
            Err(ProofError::MalformedCheckpoint { line: 5, .. })
        ));
        let plain = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2]);
        assert!(Checkpoint::parse_body(&plain).is_err());
        let extra = format!("{body}extra\n");
        assert!(matches!(
            Checkpoint::parse_body(&extra),
            Err(ProofError::MalformedCheckpoint { line: 6, .. })
        ));
        let bad_size = body.replacen("\n1234\n", "\n01234\n", 1);
        assert!(matches!(
            Checkpoint::parse_body(&bad_size),
            Err(ProofError::MalformedCheckpoint { line: 2, .. })
        ));
        let no_newline = body.trim_end();
        assert!(Checkpoint::parse_body(no_newline).is_err());
        assert!(Checkpoint::parse_body("").is_err());
        assert!(Checkpoint::parse_body("\n").is_err());
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_key() {
        let (signing, verifier) = keys();
        let note = signing.sign(&sample()).expect("sign");
        assert!(note.starts_with(&sample().body()));
        let opened = open_checkpoint(&note, std::slice::from_ref(&verifier)).expect("open");
        assert_eq!(opened.checkpoint, sample());
        assert_eq!(
            opened.signed_by,
            vec!["serial-ledger.example/log".to_owned()]
        );
        assert_eq!(signing.verifier_key(), verifier.text());
        assert_eq!(signing.key_id(), verifier.key_id());
        assert_eq!(read_checkpoint_unverified(&note), Ok(sample()));
        assert_eq!(read_checkpoint_unverified(&sample().body()), Ok(sample()));
    }

    #[test]
    fn another_key_is_not_signed_and_names_the_keys_present() {
        let (signing, _) = keys();
        let (_, other) = keys();
        let note = signing.sign(&sample()).expect("sign");
        let error = open_checkpoint(&note, &[other]).expect_err("other key");
        assert_eq!(error.code(), "CHECKPOINT_NOT_SIGNED_BY_KEY");
        let message = error.to_string();
        assert!(
            message.contains(&format!("{:08x}", signing.key_id())),
            "{message}"
        );
    }

    #[test]
    fn an_altered_body_has_a_bad_signature() {
        let (signing, verifier) = keys();
        let note = signing.sign(&sample()).expect("sign");
        let altered = note.replacen("\n1234\n", "\n1235\n", 1);
        let error = open_checkpoint(&altered, &[verifier]).expect_err("altered");
        assert_eq!(error.code(), "SIGNATURE_INVALID");
    }

    #[test]
    fn unknown_signature_lines_are_ignored() {
        let (signing, verifier) = keys();
        let (other, _) = keys();
        let note = signing.sign(&sample()).expect("sign");
        let other_note = other.sign(&sample()).expect("sign");
        let other_line = other_note.rsplit_once("\n\n").expect("split").1;
        let both = format!("{note}{other_line}");
        let opened = open_checkpoint(&both, &[verifier]).expect("open");
        assert_eq!(opened.signed_by.len(), 1);
    }

    #[test]
    fn keys_are_refused_in_the_wrong_role() {
        let (private, public) = generate_signing_key("log.example").expect("keys");
        assert_eq!(
            SigningKey::from_text(&public).map(|_| ()),
            Err(ProofError::VerifierKeyGivenForSigning)
        );
        assert_eq!(
            VerifierKey::from_text(&private).map(|_| ()),
            Err(ProofError::PrivateKeyGivenForVerifying)
        );
        assert!(SigningKey::from_text(&format!("  {private}\n")).is_ok());
        assert!(VerifierKey::from_text(&format!("{public}\n")).is_ok());
        assert_eq!(
            generate_signing_key("has space")
                .map(|_| ())
                .map_err(|e| e.code()),
            Err("KEY_NAME_INVALID")
        );
        let tampered = format!("{}A", &public[..public.len() - 1]);
        assert!(VerifierKey::from_text(&tampered).is_err());
    }

    #[test]
    fn origin_and_tree_expectations_are_checked() {
        let checkpoint = sample();
        assert!(checkpoint.expect_origin(&checkpoint.origin.clone()).is_ok());
        assert_eq!(
            checkpoint
                .expect_origin("serial-ledger/other")
                .map_err(|e| e.code()),
            Err("CHECKPOINT_ORIGIN_MISMATCH")
        );
        assert!(checkpoint.expect_tree(1234, &[7; 32]).is_ok());
        assert_eq!(
            checkpoint.expect_tree(1233, &[7; 32]).map_err(|e| e.code()),
            Err("CHECKPOINT_TREE_MISMATCH")
        );
    }

    #[test]
    fn oversized_and_broken_notes_are_refused() {
        let (_, verifier) = keys();
        let huge = "a".repeat(MAX_NOTE_BYTES + 1);
        assert_eq!(
            open_checkpoint(&huge, std::slice::from_ref(&verifier)).map_err(|e| e.code()),
            Err("NOTE_TOO_LARGE")
        );
        assert_eq!(
            read_checkpoint_unverified(&huge).map_err(|e| e.code()),
            Err("NOTE_TOO_LARGE")
        );
        let body = sample().body();
        for broken in [
            body.clone(),
            format!("{body}\n"),
            format!("{body}\n— x\n"),
            format!("{body}\nnot a signature\n"),
            format!("{body}\n— name AAAA\u{7}AAA\n"),
        ] {
            assert!(open_checkpoint(&broken, std::slice::from_ref(&verifier)).is_err());
        }
    }
}
