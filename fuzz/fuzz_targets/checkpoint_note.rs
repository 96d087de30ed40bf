//! Checkpoint notes (`ledger_proof::checkpoint`) and witness cosignatures
//! (`ledger_proof::cosignature`) on any text, with the fixed log and witness keys of
//! `common/keys.rs`: never panics; every error has a message and a SCREAMING_SNAKE code;
//! a body that parses (`Checkpoint::parse_body`, strict) re-serialises (`body()`) to
//! exactly the text it was parsed from and parses again to the same checkpoint; what
//! `read_checkpoint_unverified` reads is the note's leading body, and round-trips the same
//! way; a note that opens with the key (`open_checkpoint`) says what
//! `read_checkpoint_unverified` reads, signed by that key alone, and each cosignature
//! `open_checkpoint_with_witnesses` reports verifies on its own; a cosignature that
//! verifies (`verify_cosignature`) is the witness's, of a note whose checkpoint reads.
//!
//! Input: the text (bytes that are not UTF-8 decoded lossily, U+FFFD). It is tried whole
//! as a body and as a note; then split at its first blank line ("\n\n") into a note (the
//! part before, newline-terminated) and a signature line (the rest) for
//! `verify_cosignature`, and each line after its last blank line is tried as a cosignature
//! of the whole note. The committed seeds (made by `examples/ledger_proof_seeds.rs`) are a
//! signed note, a bare body, cosigned notes and truncations of them.
#![no_main]

#[path = "common/keys.rs"]
mod keys;

use ledger_proof::ProofError;
use ledger_proof::checkpoint::{
    Checkpoint, VerifierKey, open_checkpoint, open_checkpoint_with_witnesses,
    read_checkpoint_unverified,
};
use ledger_proof::cosignature::{WitnessVerifierKey, verify_cosignature};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

struct Keys {
    log: VerifierKey,
    witness: WitnessVerifierKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        log: VerifierKey::from_text(keys::LOG_VERIFIER_KEY).expect("the fixed log key"),
        witness: WitnessVerifierKey::from_text(keys::WITNESS_VERIFIER_KEY)
            .expect("the fixed witness key"),
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let keys = keys();

    // The text as a bare body.
    match Checkpoint::parse_body(&text) {
        Ok(checkpoint) => round_trip(&checkpoint, &text),
        Err(error) => check_error(&error),
    }

    // The text as a note (or a bare body), signatures ignored.
    let unverified = read_checkpoint_unverified(&text);
    match &unverified {
        Ok(checkpoint) => {
            let body = checkpoint.body();
            assert!(
                text.starts_with(&body),
                "read_checkpoint_unverified read {body:?}, not the start of {text:?}"
            );
            round_trip(checkpoint, &body);
        }
        Err(error) => check_error(error),
    }

    // The text as a signed note, with the log key.
    match open_checkpoint(&text, std::slice::from_ref(&keys.log)) {
        Ok(opened) => {
            assert_eq!(
                unverified.as_ref(),
                Ok(&opened.checkpoint),
                "the opened checkpoint is not what read_checkpoint_unverified reads of {text:?}"
            );
            assert_eq!(opened.note, text);
            assert!(
                !opened.signed_by.is_empty()
                    && opened.signed_by.iter().all(|name| name == keys.log.name()),
                "opened, signed by {:?}",
                opened.signed_by
            );
            assert!(
                opened.cosignatures.is_empty(),
                "cosignatures without witnesses"
            );
            let witnessed = open_checkpoint_with_witnesses(
                &text,
                std::slice::from_ref(&keys.log),
                std::slice::from_ref(&keys.witness),
            )
            .unwrap_or_else(|error| {
                panic!("opens without witnesses, not with them ({error}): {text:?}")
            });
            assert_eq!(witnessed.checkpoint, opened.checkpoint);
            assert!(witnessed.cosignatures.len() <= 1);
            for cosignature in &witnessed.cosignatures {
                let again = verify_cosignature(&text, &cosignature.line, &keys.witness)
                    .unwrap_or_else(|error| {
                        panic!("a reported cosignature does not verify ({error}): {text:?}")
                    });
                assert_eq!(&again, cosignature);
            }
        }
        Err(error) => check_error(&error),
    }

    // Split at the first blank line: a note and a cosignature line.
    if let Some((head, line)) = text.split_once("\n\n") {
        let note = format!("{head}\n");
        cosignature(&note, line, &keys.witness);
    }
    // Each signature line of the whole note as a cosignature.
    if let Some((_, lines)) = text.rsplit_once("\n\n") {
        for line in lines.split_inclusive('\n').take(16) {
            cosignature(&text, line, &keys.witness);
        }
    }
});

/// A parsed checkpoint encodes to exactly `text` and parses back to itself.
fn round_trip(checkpoint: &Checkpoint, text: &str) {
    let body = checkpoint.body();
    assert_eq!(
        body, text,
        "a parsed body does not re-serialise to its text"
    );
    assert_eq!(
        Checkpoint::parse_body(&body).as_ref(),
        Ok(checkpoint),
        "a checkpoint's body parses to another checkpoint"
    );
}

fn cosignature(note: &str, line: &str, witness: &WitnessVerifierKey) {
    match verify_cosignature(note, line, witness) {
        Ok(cosignature) => {
            assert_eq!(cosignature.witness, witness.name());
            assert_eq!(
                cosignature.line,
                format!("{}\n", line.strip_suffix('\n').unwrap_or(line)),
                "the verified line is not the line given"
            );
            assert!(
                read_checkpoint_unverified(note).is_ok(),
                "a cosignature verifies on a note whose checkpoint does not read: {note:?}"
            );
        }
        Err(error) => check_error(&error),
    }
}

fn check_error(error: &ProofError) {
    assert!(
        !error.to_string().trim().is_empty(),
        "an error without a message: {error:?}"
    );
    let code = error.code();
    assert!(
        is_screaming_snake(code),
        "code {code:?} of {error:?} is not SCREAMING_SNAKE"
    );
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
