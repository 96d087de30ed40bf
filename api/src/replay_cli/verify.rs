//! `replay verify`: hash chains, revisions and positions, and a digest of the log.
//!
//! A thin shell over [`replay::verify::verify_log`]: it resolves `--tenant`, prints the
//! summary, every problem as a `BROKEN:` line and the first broken event, and exits 1 when
//! anything is wrong. Output goes to stdout so it can be kept as an audit record.

use crate::DatabaseArgs;
use anyhow::Context;
use clap::Args;
use replay::signed::verify_checkpoints;
use replay::verify::{PositionNumbering, VerifyOptions, verify_log};
use std::process::ExitCode;
use store::Position;

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Only this retailer's streams, by slug or id; the digest then covers its events only.
    /// Global positions are still checked over the whole log.
    #[arg(long)]
    tenant: Option<String>,
    /// Only this stream (e.g. `sale-0190...`); the digest then covers its events only.
    #[arg(long)]
    stream: Option<String>,
    /// Digest the log up to and including this position (`COMMIT:PREPARE`, as printed by
    /// another run), to compare with another copy. Default: up to the last event.
    #[arg(long, value_name = "COMMIT:PREPARE")]
    up_to: Option<Position>,
    /// The ledger's public (verifier) key, or a file holding it: each stored checkpoint's
    /// signature is verified with it (repeat for checkpoints of older keys). Without it,
    /// checkpoints are compared with the log but their signatures are not checked.
    #[arg(long)]
    public_key: Vec<String>,
}

pub(crate) async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let store = args.database.connect().await?;
    // Only a named retailer is resolved: without --tenant every retailer is verified, even
    // in a database that has several, or none.
    let tenant_id = match args.tenant.as_deref() {
        Some(text) => Some(crate::cli_common::resolve_tenant(&store, Some(text)).await?),
        None => None,
    };
    let options = VerifyOptions {
        tenant_id,
        stream_id: args.stream.clone(),
        up_to: args.up_to,
        numbering: None,
    };
    let keys = args
        .public_key
        .iter()
        .map(|given| {
            let text = crate::cli_common::key_text(given)?;
            ledger_proof::checkpoint::VerifierKey::from_text(&text)
                .map_err(|error| anyhow::anyhow!("--public-key {given}: {error}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let verified = verify_log(&store, &options).await;
    let db = projections::ReadDb::of(&store);
    // The checkpoint table exists once the read models were migrated; an older database
    // that never ran a server simply has no checkpoints.
    projections::ProjectionRunner::new(store.clone(), projections::RunnerOptions::default())
        .migrate()
        .await
        .context("migration of the read models failed")?;
    let signed = verify_checkpoints(&store, &db, tenant_id, &keys).await;
    store.close().await;
    let report = verified.context("verification could not read the log")?;
    let signed = signed.context("the checkpoints could not be compared with the log")?;

    println!(
        "backend: {}; global positions {}",
        store.backend_name(),
        report.numbering
    );
    println!(
        "chains: {} streams, {} events{}",
        report.streams,
        report.events,
        scope_text(&args)
    );
    match report.numbering {
        PositionNumbering::GapFree => println!(
            "positions: {} events of the whole log read in order, checked for holes",
            report.log_events
        ),
        PositionNumbering::MayHaveGaps => println!(
            "positions: {} events of the whole log read in order, not checked for holes",
            report.log_events
        ),
    }
    let digest = &report.digest;
    match digest.through {
        Some(through) => {
            println!(
                "digest: sha256 {} over {} events{} through position {through}",
                digest.sha256,
                digest.events,
                scope_text(&args)
            );
            println!(
                "  to compare another copy: serial-ledger replay verify --up-to {through}{}",
                compare_flags(&args)
            );
        }
        None => println!(
            "digest: sha256 {} over no events{}",
            digest.sha256,
            scope_text(&args)
        ),
    }
    println!(
        "verified {} streams, {} events in {:.2?} ({:.0} events/s)",
        report.streams,
        report.events,
        report.elapsed,
        report.events_per_second()
    );
    println!(
        "checkpoints: {} compared with the tree and serial map recomputed from the log; {}",
        signed.checked,
        if keys.is_empty() {
            "signatures NOT checked (give --public-key)".to_owned()
        } else {
            format!(
                "{} signature(s) verified, {} unsigned",
                signed.signatures_verified, signed.unsigned
            )
        }
    );
    if report.is_intact() && signed.problems.is_empty() {
        println!("all hash chains intact; the log matches every checkpoint");
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &report.problems {
        println!("BROKEN: {problem}");
    }
    for problem in &signed.problems {
        println!("BROKEN: {problem}");
    }
    if let Some(first) = report.first_broken() {
        println!("first broken event: {first}");
    }
    Ok(ExitCode::FAILURE)
}

/// " (tenant X, stream Y)" for the flags that narrowed the run, as given.
fn scope_text(args: &VerifyArgs) -> String {
    let parts: Vec<String> = [
        args.tenant
            .as_ref()
            .map(|tenant| format!("tenant {tenant}")),
        args.stream
            .as_ref()
            .map(|stream| format!("stream {stream}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// The scope flags another auditor must repeat for the digest to be comparable.
fn compare_flags(args: &VerifyArgs) -> String {
    let mut flags = String::new();
    if let Some(tenant) = &args.tenant {
        flags.push_str(&format!(" --tenant {tenant}"));
    }
    if let Some(stream) = &args.stream {
        flags.push_str(&format!(" --stream {stream}"));
    }
    flags
}
