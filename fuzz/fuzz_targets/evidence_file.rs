//! The offline evidence check (`ledger_proof::evidence::check_evidence_bytes`) on any bytes,
//! with the fixed log verifier key of `common/keys.rs`, as `serial-ledger-verify` runs it:
//! never panics; a refused file has at least one problem, each with a non-empty message
//! and a SCREAMING_SNAKE `code()`; a file found intact is JSON of the format, version 2,
//! signed by the key, and checks intact again with the same result (the check is
//! deterministic), and intact without the key too (nothing but the signature is skipped).
//!
//! Input: the file's bytes. The committed seeds (made by `examples/ledger_proof_seeds.rs`)
//! are a small genuine file, signed with the fixed key, and mutations of it.
#![no_main]

#[path = "common/keys.rs"]
mod keys;

use ledger_proof::checkpoint::VerifierKey;
use ledger_proof::evidence::{
    EVIDENCE_FORMAT, EVIDENCE_FORMAT_VERSION, EvidenceCheck, check_evidence_bytes,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;

fn key() -> &'static VerifierKey {
    static KEY: OnceLock<VerifierKey> = OnceLock::new();
    KEY.get_or_init(|| VerifierKey::from_text(keys::LOG_VERIFIER_KEY).expect("the fixed key"))
}

fuzz_target!(|data: &[u8]| {
    let keys = std::slice::from_ref(key());
    let check = check_evidence_bytes(data, Some(keys));
    if check.is_intact() {
        intact(data, &check);
    } else {
        refused(data, &check);
    }
});

/// Practically never reached from mutations: only a genuine file (a seed) gets here.
fn intact(data: &[u8], check: &EvidenceCheck) {
    let document: Value = serde_json::from_slice(data)
        .unwrap_or_else(|error| panic!("an intact file is not JSON: {error}"));
    assert_eq!(
        document["format"].as_str(),
        Some(EVIDENCE_FORMAT),
        "an intact file of another format"
    );
    assert_eq!(
        document["format_version"].as_u64(),
        Some(EVIDENCE_FORMAT_VERSION),
        "an intact file of another version"
    );
    assert!(
        check.signature_checked && check.is_verified(),
        "intact with a key given, yet not signed by it: {check:?}"
    );
    assert!(
        !check.signed_by.is_empty()
            && check
                .signed_by
                .iter()
                .all(|name| name == keys::LOG_KEY_NAME),
        "intact, signed by {:?}",
        check.signed_by
    );
    assert!(!check.serial.is_empty(), "an intact file without a serial");
    assert!(check.checkpoint.is_some(), "intact without a checkpoint");
    let again = check_evidence_bytes(data, Some(std::slice::from_ref(key())));
    assert_eq!(&again, check, "checking the same file twice differs");
    let unsigned = check_evidence_bytes(data, None);
    assert!(
        unsigned.is_intact() && !unsigned.signature_checked,
        "intact with the key but not without it: {:?}",
        unsigned.problems
    );
    assert_eq!(unsigned.checkpoint, check.checkpoint);
}

fn refused(data: &[u8], check: &EvidenceCheck) {
    assert!(!check.problems.is_empty(), "refused without a problem");
    assert!(!check.is_verified(), "verified with problems");
    for problem in &check.problems {
        let message = problem.to_string();
        assert!(
            !message.trim().is_empty(),
            "a problem without a message: {problem:?} in {:?}",
            String::from_utf8_lossy(data)
        );
        let code = problem.code();
        assert!(
            is_screaming_snake(code),
            "code {code:?} of {problem:?} is not SCREAMING_SNAKE"
        );
    }
}

/// `A_B1_C`: upper-case ASCII letters and digits in words joined by single underscores,
/// starting with a letter.
fn is_screaming_snake(code: &str) -> bool {
    code.starts_with(|c: char| c.is_ascii_uppercase())
        && code.split('_').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit())
        })
}
