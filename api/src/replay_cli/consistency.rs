//! `replay check-consistency`: an auditor holding an older checkpoint (kept outside the
//! database) proves that the log still extends it, or sees where it no longer does.

use crate::DatabaseArgs;
use anyhow::{Context, bail};
use clap::Args;
use ledger_proof::checkpoint::{VerifierKey, open_checkpoint, read_checkpoint_unverified};
use replay::signed::{Consistency, check_consistency};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(crate) struct CheckConsistencyArgs {
    /// The checkpoint file (`checkpoint export`, or a note fetched from the API).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The ledger's public key, or a file holding it: the checkpoint's signature is verified
    /// first. Without it the checkpoint is taken as it is, and the output says so.
    #[arg(long)]
    public_key: Option<String>,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) async fn run(args: CheckConsistencyArgs) -> anyhow::Result<ExitCode> {
    let note = std::fs::read_to_string(&args.checkpoint)
        .with_context(|| format!("cannot read {}", args.checkpoint.display()))?;
    let old = match &args.public_key {
        Some(given) => {
            let key = VerifierKey::from_text(&crate::cli_common::key_text(given)?)
                .map_err(|error| anyhow::anyhow!("--public-key: {error}"))?;
            let opened = open_checkpoint(&note, std::slice::from_ref(&key))
                .map_err(|error| anyhow::anyhow!("{}: {error}", args.checkpoint.display()))?;
            println!("checkpoint signature verified ({})", key.name());
            opened.checkpoint
        }
        None => {
            println!("checkpoint signature NOT checked (no --public-key)");
            read_checkpoint_unverified(&note)
                .map_err(|error| anyhow::anyhow!("{}: {error}", args.checkpoint.display()))?
        }
    };
    let Some(tenant) = old
        .origin
        .strip_prefix("serial-ledger/")
        .and_then(|id| uuid::Uuid::parse_str(id).ok())
    else {
        bail!(
            "the checkpoint's origin {:?} is not a serial-ledger retailer's log",
            old.origin
        );
    };
    let store = args.database.connect().await?;
    let db = projections::ReadDb::of(&store);
    let found = check_consistency(&store, &db, &old, event_schemas::TenantId(tenant)).await;
    store.close().await;
    match found.context("the log could not be read")? {
        Consistency::Extends {
            old,
            log_size,
            newest,
        } => {
            println!(
                "CONSISTENT: the log's first {} events of {} still hash to the checkpoint's root; \
                 the log now holds {log_size}",
                old.tree_size, old.origin
            );
            if let Some(newest) = newest {
                println!(
                    "the ledger's newest checkpoint (tree size {}, root {}) is proven to extend it",
                    newest.tree_size,
                    hex::encode(newest.root)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Consistency::Diverges {
            old,
            log_size,
            recomputed,
            first_difference,
        } => {
            match recomputed {
                Some(root) => println!(
                    "DIVERGES: the log's first {} events now hash to {}, not to the checkpoint's \
                     root {}: the history it signed was rewritten",
                    old.tree_size,
                    hex::encode(root),
                    hex::encode(old.root)
                ),
                None => println!(
                    "DIVERGES: the checkpoint covers {} events but the log holds only {log_size}: \
                     events were removed",
                    old.tree_size
                ),
            }
            match first_difference {
                Some((index, Some(event))) => println!(
                    "first difference at leaf {index}: now event {} (stream {} revision {}, \
                     position {}), not the event the ledger's tree recorded there",
                    event.envelope.event_id,
                    event.envelope.stream_id,
                    event.envelope.stream_revision,
                    event.position
                ),
                Some((index, None)) => {
                    println!("first difference at leaf {index}: the log ends before it")
                }
                None => println!(
                    "the ledger's proof tables were rewritten too: where it diverges cannot be \
                     told from this database"
                ),
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
