//! `serial-ledger export ...`: the sales detail export, the fulfilment report export, pick
//! lists and invoices written to a file, by the same `files` code the HTTP routes serve.
//!
//! The read models are caught up with the log first, so the file is current even when no
//! server is running. A file is written beside its destination and renamed into place
//! when complete, so a failed export never leaves half a file under the asked-for name.

use crate::DatabaseArgs;
use crate::cli_common::resolve_tenant;
use anyhow::{Context, bail};
use application::Application;
use clap::{Args, Subcommand, ValueEnum};
use event_schemas::{DeliveryMode, OutletId, ProductId, SaleId, SaleType};
use files::fulfilment as fulfilment_files;
use files::invoice::{InvoiceOptions, invoice_pdf};
use files::sales_detail::{csv_table, xlsx_table};
use futures::StreamExt;
use projections::queries::fulfilment::{
    FulfilmentFilter, PickListKind, fulfilment_report, pick_list,
};
use projections::queries::pos::pos_order;
use projections::queries::sales::{SalesFilter, sales_detail_stream};
use projections::queries::{MAX_PAGE_SIZE, TimeRange, all_pages};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

#[derive(Debug, Subcommand)]
pub(crate) enum ExportCommand {
    /// The sales detail export (Serial Number, Sale Type, Delivery Mode beside the serial).
    SalesDetail {
        /// csv or xlsx; by default from the output file's extension.
        #[arg(long, value_enum)]
        format: Option<TableFormat>,
        #[command(flatten)]
        filter: SalesFilterArgs,
        #[command(flatten)]
        target: Target,
    },
    /// The fulfilment report export (open lines, with serials and pending markers).
    FulfilmentReport {
        /// csv or xlsx; by default from the output file's extension.
        #[arg(long, value_enum)]
        format: Option<TableFormat>,
        #[command(flatten)]
        filter: FulfilmentFilterArgs,
        #[command(flatten)]
        target: Target,
    },
    /// A pick list: with serials (`--kind serial`) or the invoice pick list without them.
    PickList {
        /// serial (each line's serial, or PENDING) or invoice (no serials).
        #[arg(long, value_enum, default_value = "serial")]
        kind: KindArg,
        /// pdf, csv or xlsx; by default from the output file's extension.
        #[arg(long, value_enum)]
        format: Option<PickListFormat>,
        #[command(flatten)]
        filter: FulfilmentFilterArgs,
        #[command(flatten)]
        target: Target,
    },
    /// A sale's customer invoice as PDF (serials shown per "Display Serial Number on
    /// Invoice").
    Invoice {
        /// The sale's id.
        sale_id: Uuid,
        #[command(flatten)]
        target: Target,
    },
}

/// Where from and where to.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The file to write.
    #[arg(long, short)]
    output: PathBuf,
    /// The retailer (slug or id); needed only when the database holds several.
    #[arg(long)]
    tenant: Option<String>,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// The sales report's filters.
#[derive(Debug, Args)]
pub(crate) struct SalesFilterArgs {
    /// "Product Serial Number", as typed or scanned.
    #[arg(long)]
    serial_number: Option<String>,
    /// Only lines of this product.
    #[arg(long)]
    product_id: Option<Uuid>,
    /// Only lines of this SKU.
    #[arg(long)]
    sku: Option<String>,
    /// Only sales of this outlet.
    #[arg(long)]
    outlet_id: Option<Uuid>,
    /// Only sales opened at or after this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    from: Option<OffsetDateTime>,
    /// Only sales opened before this time (RFC 3339, exclusive).
    #[arg(long, value_parser = parse_time)]
    to: Option<OffsetDateTime>,
}

/// The fulfilment report's filters.
#[derive(Debug, Args)]
pub(crate) struct FulfilmentFilterArgs {
    /// Only sales of this outlet.
    #[arg(long)]
    outlet_id: Option<Uuid>,
    /// SALE, SPECIAL_ORDER or LAY_BY.
    #[arg(long, value_parser = parse_code::<SaleType>)]
    sale_type: Option<SaleType>,
    /// CASH_AND_CARRY, PICKUP, DELIVERY or DROP_SHIP.
    #[arg(long, value_parser = parse_code::<DeliveryMode>)]
    delivery_mode: Option<DeliveryMode>,
    /// Only sales opened at or after this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    from: Option<OffsetDateTime>,
    /// Only sales opened before this time (RFC 3339, exclusive).
    #[arg(long, value_parser = parse_time)]
    to: Option<OffsetDateTime>,
    /// "Show Items Pending Serial Number": only REQUIRED lines without a serial.
    #[arg(long)]
    pending_serial: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TableFormat {
    Csv,
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PickListFormat {
    Pdf,
    Csv,
    Xlsx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KindArg {
    Serial,
    Invoice,
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|_| "expected an RFC 3339 date-time such as 2026-11-27T00:00:00Z".to_owned())
}

/// An enum by its API code (`SPECIAL_ORDER`; case and `-` forgiven).
fn parse_code<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let code = text.trim().to_ascii_uppercase().replace('-', "_");
    serde_json::from_value(serde_json::Value::String(code))
        .map_err(|_| format!("{text:?} is not a value this option takes"))
}

impl FulfilmentFilterArgs {
    fn filter(&self) -> FulfilmentFilter {
        FulfilmentFilter {
            outlet_id: self.outlet_id.map(OutletId),
            sale_type: self.sale_type,
            delivery_mode: self.delivery_mode,
            opened: TimeRange {
                from: self.from,
                before: self.to,
            },
            pending_serial_only: self.pending_serial,
        }
    }
}

/// The format asked for, or the one the output's extension names.
fn format_of<T: ValueEnum>(asked: Option<T>, output: &Path) -> anyhow::Result<T> {
    if let Some(format) = asked {
        return Ok(format);
    }
    let extension = output
        .extension()
        .and_then(|extension| extension.to_str())
        .unwrap_or_default();
    T::from_str(extension, true).map_err(|_| {
        anyhow::anyhow!(
            "--format is needed: {} has no extension this export knows",
            output.display()
        )
    })
}

/// The state, with every read model caught up, and the retailer.
async fn open(target: &Target) -> anyhow::Result<(Application, event_schemas::TenantId)> {
    let state = Application::open(&target.database.database_url)
        .await
        .with_context(|| format!("cannot open {}", target.database.database_url))?;
    state
        .projections
        .catch_up_all()
        .await
        .context("cannot bring the read models up to date")?;
    let tenant = resolve_tenant(&state.store, target.tenant.as_deref()).await?;
    Ok((state, tenant))
}

/// Writes through `write` into a file beside `output`, then renames it into place.
fn write_file<T>(
    output: &Path,
    write: impl FnOnce(BufWriter<std::fs::File>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let partial = partial_path(output);
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let result = write(BufWriter::new(file));
    match result {
        Ok(value) => {
            std::fs::rename(&partial, output)
                .with_context(|| format!("cannot write {}", output.display()))?;
            Ok(value)
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

pub(crate) async fn run(command: ExportCommand) -> anyhow::Result<ExitCode> {
    match command {
        ExportCommand::SalesDetail {
            format,
            filter,
            target,
        } => {
            let format = format_of(format, &target.output)?;
            let (state, tenant) = open(&target).await?;
            let filter = SalesFilter {
                serial: filter.serial_number,
                product_id: filter.product_id.map(ProductId),
                sku: filter.sku,
                outlet_id: filter.outlet_id.map(OutletId),
                opened: TimeRange {
                    from: filter.from,
                    before: filter.to,
                },
            };
            let mut rows = Box::pin(sales_detail_stream(
                state.db.clone(),
                tenant,
                filter,
                MAX_PAGE_SIZE,
            ));
            // Rows are written as they are read, a page at a time: a large range never
            // sits in memory (XLSX keeps finished rows in a temporary file).
            let partial = partial_path(&target.output);
            let written: anyhow::Result<u64> = async {
                match format {
                    TableFormat::Csv => {
                        let file = std::fs::File::create(&partial)
                            .with_context(|| format!("cannot create {}", partial.display()))?;
                        let mut table = csv_table(BufWriter::new(file))?;
                        let mut count = 0u64;
                        while let Some(row) = rows.next().await {
                            table.write_row(&row?.cells())?;
                            count += 1;
                        }
                        table.finish()?.flush()?;
                        Ok(count)
                    }
                    TableFormat::Xlsx => {
                        let mut table = xlsx_table()?;
                        while let Some(row) = rows.next().await {
                            table.write_row(&row?.cells())?;
                        }
                        let count = u64::from(table.rows());
                        std::fs::write(&partial, table.finish()?)?;
                        Ok(count)
                    }
                }
            }
            .await;
            let count = match written {
                Ok(count) => count,
                Err(error) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(error);
                }
            };
            std::fs::rename(&partial, &target.output)
                .with_context(|| format!("cannot write {}", target.output.display()))?;
            println!("wrote {count} line(s) to {}", target.output.display());
            Ok(ExitCode::SUCCESS)
        }
        ExportCommand::FulfilmentReport {
            format,
            filter,
            target,
        } => {
            let format = format_of(format, &target.output)?;
            let (state, tenant) = open(&target).await?;
            let filter = filter.filter();
            let db = &state.db;
            let filter = &filter;
            let rows = all_pages(|request| async move {
                fulfilment_report(db, tenant, filter, &request).await
            })
            .await?;
            write_file(&target.output, |mut file| {
                match format {
                    TableFormat::Csv => {
                        fulfilment_files::write_report_csv(&mut file, &rows)?;
                    }
                    TableFormat::Xlsx => file.write_all(&fulfilment_files::report_xlsx(&rows)?)?,
                }
                file.flush()?;
                Ok(())
            })?;
            println!(
                "wrote {} line(s) to {}",
                rows.len(),
                target.output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        ExportCommand::PickList {
            kind,
            format,
            filter,
            target,
        } => {
            let format = format_of(format, &target.output)?;
            let kind = match kind {
                KindArg::Serial => PickListKind::Standard,
                KindArg::Invoice => PickListKind::Invoice,
            };
            let (state, tenant) = open(&target).await?;
            let filter = filter.filter();
            let db = &state.db;
            let filter = &filter;
            let lines =
                all_pages(
                    |request| async move { pick_list(db, tenant, filter, kind, &request).await },
                )
                .await?;
            write_file(&target.output, |mut file| {
                match format {
                    PickListFormat::Pdf => file.write_all(&fulfilment_files::pick_list_pdf(
                        kind,
                        &lines,
                        OffsetDateTime::now_utc(),
                    ))?,
                    PickListFormat::Csv => {
                        fulfilment_files::write_pick_list_csv(&mut file, kind, &lines)?;
                    }
                    PickListFormat::Xlsx => {
                        file.write_all(&fulfilment_files::pick_list_xlsx(kind, &lines)?)?
                    }
                }
                file.flush()?;
                Ok(())
            })?;
            println!(
                "wrote {} ({} line(s)) to {}",
                fulfilment_files::pick_list_title(kind),
                lines.len(),
                target.output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        ExportCommand::Invoice { sale_id, target } => {
            let (state, tenant) = open(&target).await?;
            let Some(order) = pos_order(&state.db, tenant, SaleId(sale_id)).await? else {
                bail!("this retailer has no sale {sale_id}");
            };
            let settings = state.commands.load_settings(tenant).await?;
            let options = InvoiceOptions {
                display_serial_numbers: settings.display_serial_number_on_invoice,
            };
            let bytes = invoice_pdf(&order, options);
            write_file(&target.output, |mut file| {
                file.write_all(&bytes)?;
                file.flush()?;
                Ok(())
            })?;
            println!(
                "wrote invoice {} to {}",
                order.sale.invoice_number,
                target.output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where a file is written before it is renamed into place.
fn partial_path(output: &Path) -> PathBuf {
    let mut partial = output.as_os_str().to_owned();
    partial.push(".partial");
    PathBuf::from(partial)
}
