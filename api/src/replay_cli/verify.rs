//! `replay verify`: hash chains, revisions and positions, and a digest of the log.

use crate::DatabaseArgs;
use anyhow::Context;
use clap::Args;
use event_schemas::TenantId;
use std::process::ExitCode;
use std::time::Instant;
use store::VerifyScope;
use uuid::Uuid;

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Only this retailer's streams (tenant UUID).
    #[arg(long)]
    tenant: Option<Uuid>,
    /// Only this stream (e.g. `sale-0190...`).
    #[arg(long)]
    stream: Option<String>,
}

pub(crate) async fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let store = args.database.connect().await?;
    let started = Instant::now();
    let scope = VerifyScope {
        tenant_id: args.tenant.map(TenantId),
        stream_id: args.stream,
    };
    let report = store::verify(&store, &scope)
        .await
        .context("verification could not read the log")?;
    println!(
        "verified {} streams, {} events in {:.2?}",
        report.streams,
        report.events,
        started.elapsed()
    );
    store.close().await;
    if report.is_intact() {
        println!("all hash chains intact");
        Ok(ExitCode::SUCCESS)
    } else {
        for problem in &report.problems {
            println!("BROKEN: {problem}");
        }
        Ok(ExitCode::FAILURE)
    }
}
