//! `replay check-evidence`: checks a JSON evidence file offline (no database needed).

use anyhow::Context;
use clap::Args;
use replay::evidence::check_evidence;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(crate) struct CheckEvidenceArgs {
    /// The file written by `replay serial SERIAL --format json --output FILE`.
    file: PathBuf,
}

pub(crate) async fn run(args: CheckEvidenceArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let document: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.file.display()))?;
    let check = check_evidence(&document);
    if check.is_intact() {
        println!(
            "evidence for serial {} intact: {} unit(s), {} events, every hash matches",
            check.serial, check.units, check.events
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for problem in &check.problems {
            println!("BROKEN: {problem}");
        }
        Ok(ExitCode::FAILURE)
    }
}
