//! `replay serial`: a unit's full history from the events, as a table, JSON evidence or CSV.

use super::{OutputFormat, print_table, resolve_tenant, show_time};
use crate::DatabaseArgs;
use anyhow::Context;
use clap::Args;
use event_schemas::ProductId;
use replay::evidence;
use replay::history::{HistoryQuery, HistorySource, SerialHistory, UnitHistory, serial_history};
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
    store.close().await;
    let bytes = match args.format {
        OutputFormat::Table => table(&history).into_bytes(),
        OutputFormat::Json => {
            let document = evidence::to_json(&history, time::OffsetDateTime::now_utc());
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
            if let Some(reissue) = &entry.reissue_of {
                detail.push(format!(
                    "re-issue of invoice {} line {}",
                    reissue.invoice_number, reissue.line_number.0
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
