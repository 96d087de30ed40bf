//! `serial-ledger products export|import FILE`: the product mass upload/download CSV from
//! the command line, by the same code as `GET /exports/products.csv` and
//! `POST /imports/products` ([`application::catalogue`]).
//!
//! Commands are recorded with actor SYSTEM/`cli` and channel IMPORT. The read models are
//! caught up with the log before reading the catalogue and after writing, so the CLI is
//! right without a server running. Progress goes to stderr (a spinner on a terminal, a
//! line every 10,000 rows otherwise); an import with bad rows in all-or-nothing mode lists
//! every one and exits 1.

use crate::DatabaseArgs;
use crate::cli_common::resolve_tenant;
use anyhow::Context;
use application::Application;
use application::catalogue::{
    ImportMode, ImportProgress, import_products_csv, products_csv_stream,
};
use application::commands::CommandContext;
use clap::Subcommand;
use event_schemas::{Actor, ActorKind, Channel, CommandId, CommandMetadata, TenantId};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use projections::queries::products::ProductFilter;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, Subcommand)]
pub(crate) enum ProductsCommand {
    /// Writes the products (all, or a search's result) as the mass upload/download CSV:
    /// SKU, Name, Serial Number Option, Package Mode, Components.
    Export {
        /// The CSV file to write.
        file: PathBuf,
        /// Only products whose SKU or name contains this (case-insensitive).
        #[arg(long)]
        search: Option<String>,
        /// The retailer (slug or id); needed only when the database holds several.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Creates or edits products from a CSV. Every row is validated first; by default
    /// nothing is written when any row is bad (exit 1, every bad row listed).
    Import {
        /// The CSV file to read.
        file: PathBuf,
        /// Write the good rows even when some are bad.
        #[arg(long)]
        partial: bool,
        /// With --partial: write the rejected rows (with Line and Errors columns) here.
        #[arg(long, requires = "partial")]
        rejected: Option<PathBuf>,
        /// The retailer (slug or id); needed only when the database holds several.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub(crate) async fn run(command: ProductsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProductsCommand::Export {
            file,
            search,
            tenant,
            database,
        } => {
            let (state, tenant) = open(&database, tenant.as_deref()).await?;
            export(&state, tenant, search, &file).await
        }
        ProductsCommand::Import {
            file,
            partial,
            rejected,
            tenant,
            database,
        } => {
            let (state, tenant) = open(&database, tenant.as_deref()).await?;
            let mode = if partial {
                ImportMode::Partial
            } else {
                ImportMode::AllOrNothing
            };
            import(&state, tenant, &file, mode, rejected.as_deref()).await
        }
    }
}

/// The state with every read model caught up, and the retailer.
async fn open(
    database: &DatabaseArgs,
    tenant: Option<&str>,
) -> anyhow::Result<(Application, TenantId)> {
    let state = Application::open(&database.database_url)
        .await
        .with_context(|| format!("cannot open {}", database.database_url))?;
    state
        .projections
        .catch_up_all()
        .await
        .context("cannot bring the read models up to date")?;
    let tenant = resolve_tenant(&state.store, tenant).await?;
    Ok((state, tenant))
}

fn progress_bar(what: &'static str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec}, {elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what);
    bar
}

/// Reports progress: the bar on a terminal, otherwise a line every 10,000 rows.
fn report(bar: &ProgressBar, rows: u64) {
    if std::io::stderr().is_terminal() {
        bar.set_position(rows);
    } else if rows.is_multiple_of(10_000) && rows > 0 {
        eprintln!("{}: {rows} rows", bar.message());
    }
}

async fn export(
    state: &Application,
    tenant: TenantId,
    search: Option<String>,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let filter = ProductFilter {
        search,
        serial_mode: None,
    };
    // Written beside the destination and renamed into place when complete, so a failed
    // export never leaves half a file under the asked-for name.
    let partial = file.with_extension("csv.partial");
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?,
    );
    let bar = progress_bar("exported");
    let mut chunks = Box::pin(products_csv_stream(state.db.clone(), tenant, filter));
    let mut rows = 0_u64;
    let result: anyhow::Result<()> = async {
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            rows += chunk.iter().filter(|byte| **byte == b'\n').count() as u64;
            out.write_all(&chunk)?;
            report(&bar, rows.saturating_sub(1));
        }
        out.flush()?;
        Ok(())
    }
    .await;
    bar.finish_and_clear();
    if let Err(error) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(error.context(format!("cannot export to {}", file.display())));
    }
    std::fs::rename(&partial, file).with_context(|| format!("cannot write {}", file.display()))?;
    // Lines, not products, were counted: a name with a line break counts twice. Good
    // enough for a progress figure; the file is exact.
    let products = rows.saturating_sub(1);
    eprintln!(
        "wrote {} ({products} products) in {:.1?}",
        file.display(),
        started.elapsed()
    );
    Ok(ExitCode::SUCCESS)
}

async fn import(
    state: &Application,
    tenant: TenantId,
    file: &Path,
    mode: ImportMode,
    rejected_file: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let context = CommandContext {
        tenant_id: tenant,
        metadata: CommandMetadata {
            command_id: CommandId::new_v7(),
            correlation_id: uuid::Uuid::now_v7(),
            causation_id: None,
            actor: Actor {
                kind: ActorKind::System,
                id: "cli".into(),
                display_name: "serial-ledger products import".into(),
            },
            channel: Channel::Import,
            outlet_id: None,
        },
    };
    let validating = progress_bar("validated");
    let writing = progress_bar("written");
    let mut on_progress = |progress: ImportProgress| match progress {
        ImportProgress::Validated(rows) => report(&validating, rows),
        ImportProgress::Written(rows) => {
            validating.finish_and_clear();
            report(&writing, rows);
        }
    };
    let payload = import_products_csv(
        state,
        &context,
        std::io::BufReader::new(input),
        mode,
        &mut on_progress,
    )
    .await
    .with_context(|| format!("cannot import {}", file.display()))?;
    validating.finish_and_clear();
    writing.finish_and_clear();
    if payload.written {
        state
            .projections
            .catch_up_all()
            .await
            .context("the products were written, but the read models could not catch up")?;
    }
    for error in &payload.errors {
        match &error.column {
            Some(column) => eprintln!("line {}, {column}: {}", error.line, error.reason),
            None => eprintln!("line {}: {}", error.line, error.reason),
        }
    }
    if let (Some(path), Some(csv)) = (rejected_file, &payload.rejected_csv) {
        std::fs::write(path, csv).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("rejected rows written to {}", path.display());
    }
    let elapsed = started.elapsed();
    let rate = payload.rows as f64 / elapsed.as_secs_f64().max(1e-9);
    if !payload.written {
        eprintln!(
            "{} of {} rows are bad: nothing was written (fix them, or use --partial)",
            payload.rejected, payload.rows
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{} rows: {} created, {} updated, {} unchanged, {} rejected ({:.1?}, {rate:.0} rows/s)",
        payload.rows,
        payload.created,
        payload.updated,
        payload.unchanged,
        payload.rejected,
        elapsed
    );
    Ok(if payload.rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
