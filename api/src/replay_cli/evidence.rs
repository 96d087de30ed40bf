//! `replay check-evidence`: checks a JSON evidence file offline (no database needed), with
//! the ledger's public key: hashes, links, inclusion proofs, completeness, signature.

use anyhow::Context;
use clap::Args;
use ledger_proof::checkpoint::VerifierKey;
use ledger_proof::evidence::check_evidence;
use std::path::PathBuf;
use std::process::ExitCode;

/// The largest evidence file read (its events are bounded by the verifier too).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Args)]
pub(crate) struct CheckEvidenceArgs {
    /// The file written by `replay serial SERIAL --format json --output FILE`.
    file: PathBuf,
    /// The ledger's public (verifier) key, or a file holding it (`serve` prints it; `keys
    /// generate` writes it to FILE.pub). Repeat it for checkpoints of older keys. Without
    /// it the signature is not checked, and the output says so.
    #[arg(long)]
    public_key: Vec<String>,
}

pub(crate) async fn run(args: CheckEvidenceArgs) -> anyhow::Result<ExitCode> {
    let keys = args
        .public_key
        .iter()
        .map(|given| {
            let text = crate::cli_common::key_text(given)?;
            VerifierKey::from_text(&text)
                .map_err(|error| anyhow::anyhow!("--public-key {given}: {error}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        anyhow::bail!(
            "{} is {size} bytes: larger than any evidence file this tool reads ({MAX_FILE_BYTES})",
            args.file.display()
        );
    }
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let document: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.file.display()))?;
    let check = check_evidence(&document, (!keys.is_empty()).then_some(keys.as_slice()));
    if !check.is_intact() {
        for problem in &check.problems {
            println!("BROKEN: {problem} [{}]", problem.code());
        }
        return Ok(ExitCode::FAILURE);
    }
    let size = check
        .checkpoint
        .as_ref()
        .map_or(0, |checkpoint| checkpoint.tree_size);
    println!(
        "evidence for serial {} intact and complete: {} unit(s), {} events, every hash, link \
         and inclusion proof verified against the checkpoint of tree size {size}",
        check.serial, check.units, check.events
    );
    if check.signature_checked {
        println!("checkpoint signature verified");
    } else {
        println!(
            "checkpoint signature NOT checked: give the ledger's public key with --public-key"
        );
    }
    Ok(ExitCode::SUCCESS)
}
