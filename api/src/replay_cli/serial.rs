//! `replay serial`: a unit's full history from the events, as a table, JSON evidence or CSV.

use super::{OutputFormat, print_table, show_time};
use crate::DatabaseArgs;
use crate::cli_common::resolve_tenant;
use anyhow::Context;
use clap::Args;
use event_schemas::ProductId;
use projections::{Projection, ProjectionRunner, RunnerOptions};
use replay::evidence;
use replay::history::{
    HistoryQuery, HistorySource, SerialHistory, UnitAction, UnitHistory, serial_history,
};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

#[derive(Debug, Args)]
pub(crate) struct SerialArgs {
    /// The serial number, as typed or scanned (normalised like every stored serial).
    serial: String,
    /// Only the unit of the product with this SKU (as on the line that last held it).
    #[arg(long, conflicts_with = "product")]
    sku: Option<String>,
    /// Only the unit of this product (UUID).
    #[arg(long)]
    product: Option<Uuid>,
    /// The retailer (slug or UUID); needed when the database holds several.
    #[arg(long)]
    tenant: Option<String>,
    /// table for people, json for an evidence file (every event with its hashes, checkable
    /// offline with `replay check-evidence`), csv for spreadsheets.
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Find the events by scanning the whole log instead of through the traceability
    /// index (slower; independent of every read model).
    #[arg(long)]
    scan: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) async fn run(args: SerialArgs) -> anyhow::Result<ExitCode> {
    if args.format == OutputFormat::Json && (args.sku.is_some() || args.product.is_some()) {
        anyhow::bail!(
            "--format json writes an evidence file, which covers every unit of the serial (its \
             completeness proof is of the serial, whatever the product): drop --sku/--product"
        );
    }
    let store = args.database.connect().await?;
    let tenant_id = resolve_tenant(&store, args.tenant.as_deref()).await?;
    let query = HistoryQuery {
        product_id: args.product.map(ProductId),
        sku: args.sku.clone(),
        source: if args.scan {
            HistorySource::Scan
        } else {
            HistorySource::Index
        },
        ..HistoryQuery::new(tenant_id, &args.serial)
    };
    let history = serial_history(&store, &query)
        .await
        .with_context(|| format!("cannot read the history of serial {:?}", args.serial))?;
    let proofs = if args.format == OutputFormat::Json && !history.units.is_empty() {
        let runner = ProjectionRunner::new(store.clone(), RunnerOptions::default());
        runner
            .migrate()
            .await
            .context("migration of the read models failed")?;
        runner
            .catch_up(Projection::Proofs)
            .await
            .context("folding the proofs failed")?;
        Some(evidence::prove(runner.db(), &history).await?)
    } else {
        None
    };
    store.close().await;
    let bytes = match args.format {
        OutputFormat::Table => table(&history).into_bytes(),
        OutputFormat::Json => {
            let now = time::OffsetDateTime::now_utc();
            let document = match &proofs {
                Some(proofs) => {
                    if proofs.after_checkpoint > 0 {
                        eprintln!(
                            "{} event(s) recorded after the newest checkpoint (tree size {}) \
                             are not in the file: a newer checkpoint covers them",
                            proofs.after_checkpoint, proofs.checkpoint.checkpoint.tree_size
                        );
                    }
                    if proofs.checkpoint.key_name.is_none() {
                        eprintln!(
                            "the newest checkpoint is UNSIGNED: the file proves completeness \
                             against it, but nothing proves who issued it"
                        );
                    }
                    evidence::to_json(&history, proofs, now)
                }
                None => evidence::history_json(&history, now),
            };
            let mut text = serde_json::to_string_pretty(&document)?;
            text.push('\n');
            text.into_bytes()
        }
        OutputFormat::Csv => {
            let mut bytes = Vec::new();
            evidence::write_csv(&history, &mut bytes)?;
            bytes
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote the history of {} ({} unit(s)) to {}",
                history.serial,
                history.units.len(),
                path.display()
            );
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    if history.units.is_empty() {
        eprintln!("serial {} was never recorded", history.serial);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The whole history as text: per unit, where it is now, then every event.
pub(crate) fn table(history: &SerialHistory) -> String {
    let mut out = String::new();
    if history.units.len() > 1 {
        out.push_str(&format!(
            "serial {} exists on {} products\n\n",
            history.serial,
            history.units.len()
        ));
    }
    for unit in &history.units {
        unit_table(&mut out, unit);
        out.push('\n');
    }
    out.push_str(&format!(
        "log read up to position {} ({})\n",
        history.covers_up_to,
        match history.source {
            HistorySource::Index => "traceability index, then the log after it",
            HistorySource::IndexOnly => "traceability index",
            HistorySource::Scan => "scan of the whole log",
        }
    ));
    out
}

fn unit_table(out: &mut String, unit: &UnitHistory) {
    let now = &unit.current;
    out.push_str(&format!(
        "serial {} of {} (SKU {}, product {})\n",
        now.serial, now.product_name, now.sku, now.product_id
    ));
    let customer = now
        .customer
        .as_ref()
        .map_or("no customer".to_owned(), |c| format!("customer {}", c.name));
    out.push_str(&format!(
        "now: {} on invoice {} line {} (sale {}, outlet {}, {customer})\n\n",
        now.status.code(),
        now.invoice_number,
        now.line_number.0,
        now.sale_id,
        now.outlet_id
    ));
    let rows: Vec<Vec<String>> = unit
        .entries
        .iter()
        .map(|entry| {
            let mut detail = Vec::new();
            match (&entry.reissue_of, entry.action) {
                (Some(reissue), UnitAction::Assigned) => detail.push(format!(
                    "replaces serial {} of invoice {} line {}",
                    reissue.serial.as_deref().unwrap_or("(none recorded)"),
                    reissue.invoice_number,
                    reissue.line_number.0
                )),
                (Some(reissue), _) => detail.push(format!(
                    "re-issue of invoice {} line {}",
                    reissue.invoice_number, reissue.line_number.0
                )),
                (None, _) => {}
            }
            if let Some(replacement) = &entry.replaced_by {
                detail.push(format!(
                    "replaced by {} on invoice {} line {}",
                    replacement
                        .serial
                        .as_deref()
                        .map_or("a unit with no serial yet".to_owned(), |s| format!(
                            "serial {s}"
                        )),
                    replacement.invoice_number,
                    replacement.line_number.0
                ));
            }
            if let Some(refund) = &entry.refund {
                detail.push(format!(
                    "refund {} {}",
                    refund.amount_minor, refund.currency
                ));
            }
            if let Some(reason) = &entry.reason {
                detail.push(format!("reason: {reason}"));
            }
            vec![
                show_time(entry.recorded_at()),
                entry.position.to_string(),
                entry.action.code().to_owned(),
                entry.status_after.code().to_owned(),
                format!("{} / {}", entry.invoice_number, entry.line_number.0),
                entry.outlet_id().to_string(),
                entry
                    .customer
                    .as_ref()
                    .map_or(String::new(), |c| c.name.clone()),
                format!("{} ({})", entry.actor.display_name, entry.actor.kind.code()),
                entry.channel.code().to_owned(),
                detail.join("; "),
            ]
        })
        .collect();
    print_table(
        out,
        &[
            "time",
            "position",
            "action",
            "status",
            "invoice / line",
            "outlet",
            "customer",
            "actor",
            "channel",
            "detail",
        ],
        &rows,
    );
}
