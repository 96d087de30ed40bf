//! `serial-ledger-verify EVIDENCE.json --public-key KEY`: the auditor's offline check of a
//! serial-history evidence file against the ledger's published verifier key.
//!
//! KEY is a file holding the verifier key, or the key text itself; `--public-key` may be
//! given more than once (a key rotation). Exit status: 0 intact and signed, 1 problems
//! found, 2 usage error or unreadable file. Arguments are parsed with std only, so the
//! binary has no dependency beyond the library.

#![forbid(unsafe_code)]

use ledger_proof::checkpoint::VerifierKey;
use ledger_proof::evidence::{MAX_DOCUMENT_BYTES, check_evidence_bytes};
use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: serial-ledger-verify EVIDENCE.json --public-key KEY [--public-key KEY ...]\n\
KEY is a file holding the ledger's verifier key (name+id+key), or the key text itself.";

fn usage(message: &str) -> ExitCode {
    eprintln!("serial-ledger-verify: {message}\n{USAGE}");
    ExitCode::from(2)
}

/// Reads at most `limit + 1` bytes, so an oversized file is detected without reading it all.
fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(bytes)
}

fn load_key(argument: &str) -> Result<VerifierKey, String> {
    let path = Path::new(argument);
    let text = if path.is_file() {
        let bytes = read_bounded(path, 64 * 1024)?;
        String::from_utf8(bytes).map_err(|_| format!("{argument}: not a text file"))?
    } else {
        argument.to_owned()
    };
    VerifierKey::from_text(&text).map_err(|error| format!("public key {argument}: {error}"))
}

fn main() -> ExitCode {
    let mut evidence: Option<String> = None;
    let mut key_arguments: Vec<String> = Vec::new();
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--public-key" => match arguments.next() {
                Some(key) => key_arguments.push(key),
                None => return usage("--public-key needs a value"),
            },
            other if other.starts_with("--public-key=") => {
                key_arguments.push(other.trim_start_matches("--public-key=").to_owned());
            }
            other if other.starts_with('-') && other.len() > 1 => {
                return usage(&format!("unknown option {other}"));
            }
            other => {
                if evidence.is_some() {
                    return usage("give one evidence file");
                }
                evidence = Some(other.to_owned());
            }
        }
    }
    let Some(evidence) = evidence else {
        return usage("no evidence file given");
    };
    if key_arguments.is_empty() {
        return usage("no --public-key given: without the ledger's key nothing can be verified");
    }
    let mut keys = Vec::new();
    for argument in &key_arguments {
        match load_key(argument) {
            Ok(key) => keys.push(key),
            Err(message) => return usage(&message),
        }
    }
    let bytes = match read_bounded(Path::new(&evidence), MAX_DOCUMENT_BYTES) {
        Ok(bytes) => bytes,
        Err(message) => {
            eprintln!("serial-ledger-verify: cannot read {message}");
            return ExitCode::from(2);
        }
    };

    let check = check_evidence_bytes(&bytes, Some(&keys));
    if check.is_verified() {
        let size = check
            .checkpoint
            .as_ref()
            .map_or(0, |checkpoint| checkpoint.tree_size);
        let signer = check.signed_by.join(", ");
        println!(
            "evidence for serial {} verified against checkpoint of tree size {size} signed by {signer}: {} unit(s), {} events, complete",
            check.serial, check.units, check.events
        );
        return ExitCode::SUCCESS;
    }
    let serial = if check.serial.is_empty() {
        "(unknown)"
    } else {
        &check.serial
    };
    println!(
        "evidence for serial {serial} is NOT verified: {} problem(s)",
        check.problems.len().max(1)
    );
    for problem in &check.problems {
        println!("  - [{}] {problem}", problem.code());
    }
    if check.problems.is_empty() {
        println!("  - [SIGNATURE_NOT_CHECKED] no signature by the given key was checked");
    }
    ExitCode::from(1)
}
