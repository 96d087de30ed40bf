//! `replay as-of`: a sale or a serial as it stood at a past position or time.

use super::{OutputFormat, print_table, show_time};
use crate::DatabaseArgs;
use crate::cli_common::resolve_tenant;
use anyhow::{Context, bail};
use clap::Args;
use domain::sale::Sale;
use event_schemas::{ProductId, SaleId};
use replay::as_of::{sale_as_of, serial_as_of};
use replay::evidence;
use replay::history::{Cutoff, HistoryQuery};
use serde_json::json;
use std::process::ExitCode;
use uuid::Uuid;

#[derive(Debug, Args)]
pub(crate) struct AsOfArgs {
    /// The moment: a log position `COMMIT:PREPARE` (as printed by `replay serial` and the
    /// API's cursors; inclusive) or an RFC 3339 time such as `2026-11-26T09:30:00Z`
    /// (events recorded at or before it).
    moment: String,
    /// A sale (UUID); repeatable.
    #[arg(long = "sale", required_unless_present = "serials")]
    sales: Vec<Uuid>,
    /// A serial number; repeatable.
    #[arg(long = "serial")]
    serials: Vec<String>,
    /// With --serial: only the unit of the product with this SKU.
    #[arg(long, conflicts_with = "product")]
    sku: Option<String>,
    /// With --serial: only the unit of this product (UUID).
    #[arg(long)]
    product: Option<Uuid>,
    /// The retailer (slug or UUID); needed when the database holds several.
    #[arg(long)]
    tenant: Option<String>,
    /// table for people; json (for a serial, the evidence format of `replay serial`).
    #[arg(long, value_enum, default_value = "table")]
    format: OutputFormat,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) async fn run(args: AsOfArgs) -> anyhow::Result<ExitCode> {
    if args.format == OutputFormat::Csv {
        bail!("--format csv is for `replay serial`; as-of prints table or json");
    }
    let cutoff: Cutoff = args.moment.parse()?;
    let store = args.database.connect().await?;
    let tenant_id = resolve_tenant(&store, args.tenant.as_deref()).await?;
    let mut out = String::new();
    let mut documents = Vec::new();
    let mut found_all = true;
    for sale_id in &args.sales {
        let sale_id = SaleId(*sale_id);
        let state = sale_as_of(&store, tenant_id, sale_id, cutoff)
            .await
            .with_context(|| format!("cannot fold sale {sale_id}"))?;
        let last = state.last_event.as_ref().map(|event| {
            (
                event.position.to_string(),
                show_time(event.envelope.recorded_at),
            )
        });
        match (&state.sale, args.format) {
            (None, _) => {
                found_all = false;
                out.push_str(&format!(
                    "sale {sale_id}: not opened yet at {}\n\n",
                    args.moment
                ));
                documents.push(json!({ "sale_id": sale_id, "opened": false }));
            }
            (Some(sale), OutputFormat::Json) => documents.push(json!({
                "sale_id": sale_id,
                "opened": true,
                "events_folded": state.events_folded,
                "last_event_position": last.as_ref().map(|(p, _)| p),
                "last_event_at": last.as_ref().map(|(_, t)| t),
                "sale": sale_json(sale),
            })),
            (Some(sale), _) => {
                let (position, at) = last.unwrap_or_default();
                out.push_str(&format!(
                    "sale {sale_id} as of {}: {} events, the last at {at} (position {position})\n",
                    args.moment, state.events_folded
                ));
                sale_table(&mut out, sale);
                out.push('\n');
            }
        }
    }
    for serial in &args.serials {
        let query = HistoryQuery {
            product_id: args.product.map(ProductId),
            sku: args.sku.clone(),
            ..HistoryQuery::new(tenant_id, serial)
        };
        let history = serial_as_of(&store, &query, cutoff)
            .await
            .with_context(|| format!("cannot read the history of serial {serial:?}"))?;
        if history.units.is_empty() {
            found_all = false;
        }
        match args.format {
            OutputFormat::Json => documents.push(evidence::history_json(
                &history,
                time::OffsetDateTime::now_utc(),
            )),
            _ => {
                out.push_str(&format!(
                    "serial {} as of {}:\n",
                    history.serial, args.moment
                ));
                if history.units.is_empty() {
                    out.push_str("  not recorded yet\n\n");
                } else {
                    out.push_str(&super::serial::table(&history));
                    out.push('\n');
                }
            }
        }
    }
    store.close().await;
    if args.format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&documents)?);
    } else {
        print!("{out}");
    }
    Ok(if found_all {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn sale_json(sale: &Sale) -> serde_json::Value {
    json!({
        "invoice_number": sale.invoice_number,
        "sale_type": sale.sale_type,
        "delivery_mode": sale.delivery_mode,
        "outlet_id": sale.outlet_id,
        "customer": sale.customer,
        "lines": sale.lines.values().map(|line| json!({
            "line_number": line.line_number.0,
            "product_id": line.product_id,
            "sku": line.sku,
            "product_name": line.product_name,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "serial_mode": line.serial_mode,
            "serial": line.serial,
            "live_serial": line.live_serial(),
            "status": line.status.label(),
            "package": line.package,
            "reissue_of": line.reissue_of,
            "refund": line.refund,
        })).collect::<Vec<_>>(),
    })
}

fn sale_table(out: &mut String, sale: &Sale) {
    out.push_str(&format!(
        "invoice {}, {:?}, delivery {}, outlet {}, {}\n",
        sale.invoice_number,
        sale.sale_type,
        sale.delivery_mode.full_name(),
        sale.outlet_id,
        sale.customer
            .as_ref()
            .map_or("no customer".to_owned(), |c| format!("customer {}", c.name))
    ));
    let rows: Vec<Vec<String>> = sale
        .lines
        .values()
        .map(|line| {
            vec![
                line.line_number.0.to_string(),
                line.sku.clone(),
                line.product_name.clone(),
                line.quantity.to_string(),
                format!("{:?}", line.serial_mode).to_uppercase(),
                line.serial.clone().unwrap_or_default(),
                line.status.label().to_owned(),
            ]
        })
        .collect();
    print_table(
        out,
        &[
            "line",
            "sku",
            "product",
            "qty",
            "serial mode",
            "serial",
            "status",
        ],
        &rows,
    );
}
