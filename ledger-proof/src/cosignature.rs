//! Witness cosignatures: C2SP tlog-cosignature, the `cosignature/v1` Ed25519 type.
//!
//! A cosignature is an ordinary signed-note signature line on the checkpoint note,
//! `— <witness name> base64(key id ‖ timestamp ‖ signature)`, where
//!
//! * key id = SHA-256(name ‖ "\n" ‖ 0x04 ‖ 32-byte Ed25519 public key)[:4] (algorithm byte
//!   0x04 keeps a witness key from ever verifying as a log key, and the reverse);
//! * timestamp = the cosigning time, u64 big-endian POSIX seconds, at most 2^63 − 1;
//! * signature = Ed25519 over `"cosignature/v1\ntime <timestamp>\n"` followed by the whole
//!   checkpoint body (with its final newline, without signature lines).
//!
//! Witness keys use the Go note text shapes with algorithm 0x04: verifier
//! `name+id+base64(0x04 ‖ public key)` and private `PRIVATE+KEY+name+id+base64(0x04 ‖ seed)`
//! (the private shape is this crate's convention; the spec only defines the public one).

use crate::checkpoint::{
    Checkpoint, check_size, new_ed25519_key, parse_private_key, private_key_text, split_note,
    verifier_key_text,
};
use crate::error::ProofError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use signed_note::Signature;

/// The signed-note algorithm byte of cosignature/v1 Ed25519 keys.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// The latest timestamp the spec allows.
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

fn witness_key_hint(found: u8) -> &'static str {
    match found {
        0x01 => "; this is a log (note signing) key, not a witness key",
        _ => "",
    }
}

fn label(name: &str, id: u32) -> String {
    format!("{name}+{id:08x}")
}

/// The message a cosignature signs.
fn signed_message(body: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{body}").into_bytes()
}

/// The checkpoint body of a note (signed or bare), checked to be a serial-ledger checkpoint.
fn body_of(note: &str) -> Result<&str, ProofError> {
    check_size(note)?;
    let body = if note.contains("\n\n") {
        split_note(note)?.body
    } else {
        note
    };
    Checkpoint::parse_body(body)?;
    Ok(body)
}

/// Generates a witness key: (private key text, verifier key text with algorithm 0x04).
pub fn generate_witness_key(name: &str) -> Result<(String, String), ProofError> {
    if !signed_note::is_key_name_valid(name) {
        return Err(ProofError::InvalidKeyName {
            name: name.to_owned(),
        });
    }
    let key = new_ed25519_key()?;
    Ok((
        private_key_text(name, ALG_COSIGNATURE_V1, &key),
        verifier_key_text(name, ALG_COSIGNATURE_V1, &key.verifying_key()),
    ))
}

/// A witness's private cosigning key.
pub struct WitnessKey {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WitnessKey({})", label(&self.name, self.id))
    }
}

impl WitnessKey {
    /// Parses a witness private key text (whitespace around it ignored).
    pub fn from_text(text: &str) -> Result<Self, ProofError> {
        let parts = parse_private_key(text, ALG_COSIGNATURE_V1, witness_key_hint)?;
        Ok(Self {
            name: parts.name,
            id: parts.id,
            key: parts.signing_key,
        })
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The verifier key text to publish.
    pub fn verifier_key(&self) -> String {
        verifier_key_text(&self.name, ALG_COSIGNATURE_V1, &self.key.verifying_key())
    }

    /// Cosigns the checkpoint in `note` (signed or bare) as of `timestamp`: one signature
    /// line, ending in "\n", to add with [`add_signature_line`].
    pub fn cosign(&self, note: &str, timestamp: u64) -> Result<String, ProofError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(ProofError::MalformedCosignature {
                reason: format!("timestamp {timestamp} exceeds 2^63 - 1"),
            });
        }
        let body = body_of(note)?;
        let signature = ed25519_dalek::Signer::sign(&self.key, &signed_message(body, timestamp));
        let mut payload = timestamp.to_be_bytes().to_vec();
        payload.extend_from_slice(&signature.to_bytes());
        let line = Signature::new(self.name.clone(), self.id, payload).map_err(|error| {
            ProofError::MalformedCosignature {
                reason: error.to_string(),
            }
        })?;
        String::from_utf8(line.to_bytes()).map_err(|error| ProofError::MalformedCosignature {
            reason: error.to_string(),
        })
    }
}

/// A witness's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessVerifierKey {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
    text: String,
}

impl WitnessVerifierKey {
    /// Parses `name+id+base64(0x04 ‖ public key)` (whitespace around it ignored).
    pub fn from_text(text: &str) -> Result<Self, ProofError> {
        let text = text.trim();
        if text.starts_with("PRIVATE+KEY+") {
            return Err(ProofError::PrivateKeyGivenForVerifying);
        }
        let bad = |reason: &str| ProofError::MalformedKey {
            reason: reason.to_owned(),
        };
        // Base64 may contain '+': the key is everything after the id.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_text), Some(key_text)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected <name>+<8 hex digit id>+<base64 key>"));
        };
        if !signed_note::is_key_name_valid(name) {
            return Err(ProofError::InvalidKeyName {
                name: name.to_owned(),
            });
        }
        if id_text.len() != 8 {
            return Err(bad("the key id must be 8 hex digits"));
        }
        let id = u32::from_str_radix(id_text, 16).map_err(|_| bad("the key id is not hex"))?;
        let key = BASE64
            .decode(key_text)
            .map_err(|_| bad("the key is not base64"))?;
        let Some((&found, public)) = key.split_first() else {
            return Err(bad("the key is empty"));
        };
        if found != ALG_COSIGNATURE_V1 {
            return Err(ProofError::WrongKeyAlgorithm {
                expected: ALG_COSIGNATURE_V1,
                found,
                hint: witness_key_hint(found),
            });
        }
        if signed_note::key_id(name, &key) != id {
            return Err(bad(
                "the key id does not match the key (altered or mistyped key)",
            ));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("an Ed25519 public key is 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| bad("not a valid Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
            text: text.to_owned(),
        })
    }

    /// The witness name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The key text, trimmed.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// A verified witness cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness (key name).
    pub witness: String,
    /// When the witness cosigned, POSIX seconds.
    pub timestamp: u64,
    /// The signature line, ending in "\n".
    pub line: String,
}

/// Verifies that `line` is `key`'s cosignature/v1 of the checkpoint in `note`.
pub fn verify_cosignature(
    note: &str,
    line: &str,
    key: &WitnessVerifierKey,
) -> Result<Cosignature, ProofError> {
    let body = body_of(note)?;
    let bare = line.strip_suffix('\n').unwrap_or(line);
    let signature =
        Signature::from_bytes(bare.as_bytes()).map_err(|_| ProofError::MalformedCosignature {
            reason: "not a signature line (— <name> <base64>)".into(),
        })?;
    if signature.name() != key.name || signature.id() != key.id {
        return Err(ProofError::CosignatureKeyMismatch {
            expected: label(&key.name, key.id),
            found: label(signature.name(), signature.id()),
        });
    }
    let payload = signature.signature();
    let (Some(time_bytes), Some(signature_bytes)) = (payload.get(..8), payload.get(8..)) else {
        return Err(ProofError::MalformedCosignature {
            reason: "too short for a timestamp and a signature".into(),
        });
    };
    let signature_bytes: [u8; 64] =
        signature_bytes
            .try_into()
            .map_err(|_| ProofError::MalformedCosignature {
                reason: format!(
                    "expected 72 bytes after the key id, found {}",
                    payload.len()
                ),
            })?;
    let mut time = [0u8; 8];
    time.copy_from_slice(time_bytes);
    let timestamp = u64::from_be_bytes(time);
    if timestamp > MAX_TIMESTAMP {
        return Err(ProofError::MalformedCosignature {
            reason: "timestamp exceeds 2^63 - 1".into(),
        });
    }
    let ed_signature = ed25519_dalek::Signature::from_bytes(&signature_bytes);
    key.key
        .verify_strict(&signed_message(body, timestamp), &ed_signature)
        .map_err(|_| ProofError::BadCosignature {
            witness: label(&key.name, key.id),
        })?;
    Ok(Cosignature {
        witness: key.name.clone(),
        timestamp,
        line: format!("{bare}\n"),
    })
}

/// Appends a signature line to a note (a bare body becomes a signed note). A line already on
/// the note is not added twice.
pub fn add_signature_line(note: &str, line: &str) -> Result<String, ProofError> {
    check_size(note)?;
    let bare = line.strip_suffix('\n').unwrap_or(line);
    Signature::from_bytes(bare.as_bytes()).map_err(|_| ProofError::MalformedNote {
        reason: "not a signature line (— <name> <base64>)".into(),
    })?;
    let combined = if note.contains("\n\n") {
        let split = split_note(note)?;
        if split.lines.iter().any(|(existing, _)| *existing == bare) {
            return Ok(note.to_owned());
        }
        format!("{note}{bare}\n")
    } else {
        Checkpoint::parse_body(note)?;
        format!("{note}\n{bare}\n")
    };
    // The result must still be a well-formed, bounded note.
    split_note(&combined)?;
    signed_note::Note::from_bytes(combined.as_bytes()).map_err(|error| {
        ProofError::MalformedNote {
            reason: error.to_string(),
        }
    })?;
    Ok(combined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{
        SigningKey, VerifierKey, generate_signing_key, open_checkpoint_with_witnesses,
    };
    use sha2::{Digest, Sha256};

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "serial-ledger/00000000-0000-0000-0000-000000000001".into(),
            tree_size: 20852163,
            root: [1; 32],
            map_root: [2; 32],
            issued_at: 1_679_315_147,
        }
    }

    fn witness() -> (WitnessKey, WitnessVerifierKey) {
        let (private, public) = generate_witness_key("witness.example.com/w1").expect("keys");
        (
            WitnessKey::from_text(&private).expect("private"),
            WitnessVerifierKey::from_text(&public).expect("public"),
        )
    }

    fn signed_note() -> (String, VerifierKey) {
        let (private, public) = generate_signing_key("log.example").expect("keys");
        let key = SigningKey::from_text(&private).expect("key");
        (
            key.sign(&checkpoint()).expect("sign"),
            VerifierKey::from_text(&public).expect("v"),
        )
    }

    #[test]
    fn the_key_id_uses_algorithm_byte_four() {
        let (key, verifier) = witness();
        let public = BASE64
            .decode(verifier.text().splitn(3, '+').nth(2).expect("key"))
            .expect("base64");
        assert_eq!(public[0], 0x04);
        let mut preimage = b"witness.example.com/w1\n".to_vec();
        preimage.extend_from_slice(&public);
        let digest = Sha256::digest(&preimage);
        let expected = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        assert_eq!(verifier.key_id(), expected);
        assert_eq!(key.key_id(), expected);
        assert_eq!(key.verifier_key(), verifier.text());
    }

    #[test]
    fn a_cosignature_line_is_key_id_then_timestamp_then_signature_over_the_v1_message() {
        let (key, verifier) = witness();
        let (note, _) = signed_note();
        let line = key.cosign(&note, 1_679_315_147).expect("cosign");
        assert!(line.starts_with("— witness.example.com/w1 "));
        assert!(line.ends_with('\n'));
        let payload = BASE64
            .decode(line.trim_end().rsplit(' ').next().expect("b64"))
            .expect("base64");
        assert_eq!(payload.len(), 4 + 8 + 64);
        assert_eq!(payload[..4], key.key_id().to_be_bytes());
        assert_eq!(payload[4..12], 1_679_315_147u64.to_be_bytes());
        let message = format!("cosignature/v1\ntime 1679315147\n{}", checkpoint().body());
        let signature =
            ed25519_dalek::Signature::from_bytes(&payload[12..].try_into().expect("64"));
        verifier
            .key
            .verify_strict(message.as_bytes(), &signature)
            .expect("signs the spec's message");
        let verified = verify_cosignature(&note, &line, &verifier).expect("verifies");
        assert_eq!(verified.timestamp, 1_679_315_147);
        assert_eq!(verified.witness, "witness.example.com/w1");
    }

    #[test]
    fn cosignatures_are_added_once_and_reported_by_open_checkpoint() {
        let (key, verifier) = witness();
        let (note, log_key) = signed_note();
        let line = key.cosign(&note, 5).expect("cosign");
        let cosigned = add_signature_line(&note, &line).expect("add");
        assert_eq!(add_signature_line(&cosigned, &line), Ok(cosigned.clone()));
        let opened =
            open_checkpoint_with_witnesses(&cosigned, &[log_key], std::slice::from_ref(&verifier))
                .expect("open");
        assert_eq!(opened.cosignatures.len(), 1);
        assert_eq!(opened.cosignatures[0].line, line);
        // A bare body becomes a note with the cosignature as its only line.
        let bare = add_signature_line(&checkpoint().body(), &line).expect("bare");
        assert!(verify_cosignature(&bare, &line, &verifier).is_ok());
    }

    #[test]
    fn a_cosignature_of_another_checkpoint_or_key_fails() {
        let (key, verifier) = witness();
        let (_, other_verifier) = witness();
        let (note, _) = signed_note();
        let line = key.cosign(&note, 5).expect("cosign");
        let mut other = checkpoint();
        other.tree_size += 1;
        assert_eq!(
            verify_cosignature(&other.body(), &line, &verifier).map_err(|e| e.code()),
            Err("COSIGNATURE_INVALID")
        );
        assert_eq!(
            verify_cosignature(&note, &line, &other_verifier).map_err(|e| e.code()),
            Err("COSIGNATURE_WRONG_KEY")
        );
        assert!(
            verify_cosignature(&note, "— witness.example.com/w1 AAAAAAAA\n", &verifier).is_err()
        );
        assert!(verify_cosignature(&note, "garbage", &verifier).is_err());
    }

    #[test]
    fn witness_and_log_keys_are_not_interchangeable() {
        let (log_private, log_public) = generate_signing_key("log.example").expect("keys");
        let (witness_private, witness_public) = generate_witness_key("w.example").expect("keys");
        assert_eq!(
            WitnessVerifierKey::from_text(&log_public).map_err(|e| e.code()),
            Err("KEY_ALGORITHM_UNSUPPORTED")
        );
        assert_eq!(
            VerifierKey::from_text(&witness_public)
                .map(|_| ())
                .map_err(|e| e.code()),
            Err("KEY_ALGORITHM_UNSUPPORTED")
        );
        assert!(WitnessKey::from_text(&log_private).is_err());
        assert!(SigningKey::from_text(&witness_private).is_err());
        assert_eq!(
            WitnessKey::from_text(&witness_public).map(|_| ()),
            Err(ProofError::VerifierKeyGivenForSigning)
        );
    }
}
