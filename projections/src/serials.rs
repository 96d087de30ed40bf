//! Projection "serials": the per-serial traceability index.
//!
//! `rm_serials` holds one row per (product, serial) ever recorded: its status now
//! (ALLOCATED: on an unfulfilled line; FULFILLED: left with the customer; RETURNED: came
//! back; RELEASED: taken off its line before fulfilment), and who holds or bought it (sale,
//! invoice, line, outlet, customer) and when. `rm_serial_history` lists the log position of
//! every event that touched it, so an auditor's full history is one indexed lookup followed
//! by reads of exactly those events.
//!
//! The projection keeps its own copy of sale headers and lines (`rm_trace_sales`,
//! `rm_trace_lines`) instead of reading the sales projection's tables, so that each
//! projection can be rebuilt alone and in any order.

use crate::db::ReadTx;
use crate::projection::{EventContext, ProjectionError, TableSpec, position_columns};
use crate::{execute, fetch_optional};
use event_schemas::{LedgerEvent, LineNumber, ProductId, SaleLine, streams};

pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "rm_serials",
        columns: &[
            "tenant_id",
            "product_id",
            "serial",
            "sku",
            "product_name",
            "status",
            "sale_id",
            "invoice_number",
            "line_number",
            "outlet_id",
            "customer_id",
            "customer_name",
            "allocated_at",
            "fulfilled_at",
            "returned_at",
        ],
        key: &["tenant_id", "product_id", "serial"],
    },
    TableSpec {
        name: "rm_serial_history",
        columns: &[
            "tenant_id",
            "product_id",
            "serial",
            "commit_position",
            "global_position",
            "event_type",
            "sale_id",
            "invoice_number",
            "line_number",
            "recorded_at",
        ],
        key: &[
            "tenant_id",
            "product_id",
            "serial",
            "commit_position",
            "global_position",
        ],
    },
    TableSpec {
        name: "rm_trace_sales",
        columns: &[
            "tenant_id",
            "sale_id",
            "invoice_number",
            "outlet_id",
            "customer_id",
            "customer_name",
        ],
        key: &["tenant_id", "sale_id"],
    },
    TableSpec {
        name: "rm_trace_lines",
        columns: &[
            "tenant_id",
            "sale_id",
            "line_number",
            "product_id",
            "sku",
            "product_name",
        ],
        key: &["tenant_id", "sale_id", "line_number"],
    },
];

/// Serial statuses as stored.
pub mod status {
    /// On a line that is not fulfilled yet.
    pub const ALLOCATED: &str = "ALLOCATED";
    /// Left with the customer.
    pub const FULFILLED: &str = "FULFILLED";
    /// Came back and was refunded.
    pub const RETURNED: &str = "RETURNED";
    /// Taken off its line before fulfilment (removed, line cancelled or removed).
    pub const RELEASED: &str = "RELEASED";
}

#[derive(sqlx::FromRow)]
struct TraceSale {
    invoice_number: String,
    outlet_id: String,
    customer_id: Option<String>,
    customer_name: Option<String>,
}

#[derive(sqlx::FromRow)]
struct TraceLine {
    product_id: String,
    sku: String,
    product_name: String,
}

/// The sale and line an event is about, as this projection recorded them.
struct Holder {
    sale_id: String,
    line_number: i64,
    sale: TraceSale,
}

async fn holder(
    tx: &mut ReadTx,
    context: &EventContext<'_>,
    sale_id: &str,
    line: LineNumber,
) -> Result<Holder, ProjectionError> {
    let sale = fetch_optional!(
        tx,
        TraceSale,
        "SELECT invoice_number, outlet_id, customer_id, customer_name FROM rm_trace_sales \
         WHERE tenant_id = $1 AND sale_id = $2",
        &context.tenant_id,
        sale_id,
    )?
    .ok_or_else(|| context.inconsistent(format!("sale {sale_id} was never opened")))?;
    Ok(Holder {
        sale_id: sale_id.to_owned(),
        line_number: i64::from(line.0),
        sale,
    })
}

async fn trace_line(
    tx: &mut ReadTx,
    context: &EventContext<'_>,
    holder: &Holder,
) -> Result<TraceLine, ProjectionError> {
    fetch_optional!(
        tx,
        TraceLine,
        "SELECT product_id, sku, product_name FROM rm_trace_lines \
         WHERE tenant_id = $1 AND sale_id = $2 AND line_number = $3",
        &context.tenant_id,
        &holder.sale_id,
        holder.line_number,
    )?
    .ok_or_else(|| {
        context.inconsistent(format!(
            "line {} of sale {} is unknown",
            holder.line_number, holder.sale_id
        ))
    })
}

async fn record_history(
    tx: &mut ReadTx,
    context: &EventContext<'_>,
    product_id: &str,
    serial: &str,
    holder: &Holder,
) -> Result<(), ProjectionError> {
    let (commit, global) = position_columns(context.position);
    execute!(
        tx,
        "INSERT INTO rm_serial_history (tenant_id, product_id, serial, commit_position, \
         global_position, event_type, sale_id, invoice_number, line_number, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &context.tenant_id,
        product_id,
        serial,
        commit,
        global,
        context.event_type,
        &holder.sale_id,
        &holder.sale.invoice_number,
        holder.line_number,
        context.recorded_at,
    )?;
    Ok(())
}

/// Moves a serial held by `holder` to `status`, stamping `fulfilled_at`/`returned_at`.
async fn set_status(
    tx: &mut ReadTx,
    context: &EventContext<'_>,
    product_id: &str,
    serial: &str,
    holder: &Holder,
    new_status: &str,
) -> Result<(), ProjectionError> {
    let updated = execute!(
        tx,
        "UPDATE rm_serials SET status = $6, \
         fulfilled_at = CASE WHEN $6 = 'FULFILLED' THEN $7 ELSE fulfilled_at END, \
         returned_at = CASE WHEN $6 = 'RETURNED' THEN $7 ELSE returned_at END \
         WHERE tenant_id = $1 AND product_id = $2 AND serial = $3 AND sale_id = $4 \
         AND line_number = $5",
        &context.tenant_id,
        product_id,
        serial,
        &holder.sale_id,
        holder.line_number,
        new_status,
        context.recorded_at,
    )?;
    if updated != 1 {
        return Err(context.inconsistent(format!(
            "serial {serial} of product {product_id} is not held by sale {} line {}",
            holder.sale_id, holder.line_number
        )));
    }
    record_history(tx, context, product_id, serial, holder).await
}

async fn remember_line(
    tx: &mut ReadTx,
    context: &EventContext<'_>,
    sale_id: &str,
    line: &SaleLine,
) -> Result<(), ProjectionError> {
    execute!(
        tx,
        "INSERT INTO rm_trace_lines (tenant_id, sale_id, line_number, product_id, sku, \
         product_name) VALUES ($1, $2, $3, $4, $5, $6)",
        &context.tenant_id,
        sale_id,
        i64::from(line.line_number.0),
        line.product_id.to_string(),
        &line.sku,
        &line.product_name,
    )?;
    Ok(())
}

pub(crate) async fn apply(
    tx: &mut ReadTx,
    context: &EventContext<'_>,
    event: &LedgerEvent,
) -> Result<(), ProjectionError> {
    let Some(sale) = streams::parse_sale(context.stream_id) else {
        return Ok(());
    };
    let sale_id = sale.to_string();
    let product = |id: ProductId| id.to_string();
    match event {
        LedgerEvent::SaleOpened(opened) => {
            execute!(
                tx,
                "INSERT INTO rm_trace_sales (tenant_id, sale_id, invoice_number, outlet_id, \
                 customer_id, customer_name) VALUES ($1, $2, $3, $4, $5, $6)",
                &context.tenant_id,
                &sale_id,
                &opened.invoice_number,
                opened.outlet_id.to_string(),
                opened.customer.as_ref().map(|c| c.customer_id.to_string()),
                opened.customer.as_ref().map(|c| c.name.clone()),
            )?;
        }
        LedgerEvent::LineAdded(added) => remember_line(tx, context, &sale_id, &added.line).await?,
        LedgerEvent::LineReissued(reissued) => {
            remember_line(tx, context, &sale_id, &reissued.line).await?;
            // The returned unit's history says where it was re-issued.
            if let Some(serial) = &reissued.reissue_of.serial {
                let holder = holder(tx, context, &sale_id, reissued.line.line_number).await?;
                record_history(
                    tx,
                    context,
                    &product(reissued.line.product_id),
                    serial,
                    &holder,
                )
                .await?;
            }
        }
        LedgerEvent::SerialAssigned(assigned) => {
            let holder = holder(tx, context, &sale_id, assigned.line_number).await?;
            let line = trace_line(tx, context, &holder).await?;
            execute!(
                tx,
                "INSERT INTO rm_serials (tenant_id, product_id, serial, sku, product_name, \
                 status, sale_id, invoice_number, line_number, outlet_id, customer_id, \
                 customer_name, allocated_at, fulfilled_at, returned_at) \
                 VALUES ($1, $2, $3, $4, $5, 'ALLOCATED', $6, $7, $8, $9, $10, $11, $12, NULL, NULL) \
                 ON CONFLICT (tenant_id, product_id, serial) DO UPDATE SET \
                 sku = excluded.sku, product_name = excluded.product_name, \
                 status = excluded.status, sale_id = excluded.sale_id, \
                 invoice_number = excluded.invoice_number, line_number = excluded.line_number, \
                 outlet_id = excluded.outlet_id, customer_id = excluded.customer_id, \
                 customer_name = excluded.customer_name, allocated_at = excluded.allocated_at, \
                 fulfilled_at = NULL, returned_at = NULL",
                &context.tenant_id,
                product(assigned.product_id),
                &assigned.serial,
                &line.sku,
                &line.product_name,
                &holder.sale_id,
                &holder.sale.invoice_number,
                holder.line_number,
                &holder.sale.outlet_id,
                &holder.sale.customer_id,
                &holder.sale.customer_name,
                context.recorded_at,
            )?;
            record_history(
                tx,
                context,
                &product(assigned.product_id),
                &assigned.serial,
                &holder,
            )
            .await?;
        }
        LedgerEvent::SerialRemoved(removed) => {
            let holder = holder(tx, context, &sale_id, removed.line_number).await?;
            let product_id = product(removed.product_id);
            set_status(
                tx,
                context,
                &product_id,
                &removed.serial,
                &holder,
                status::RELEASED,
            )
            .await?;
        }
        LedgerEvent::LineFulfilled(fulfilled) => {
            if let Some(serial) = &fulfilled.serial {
                let holder = holder(tx, context, &sale_id, fulfilled.line_number).await?;
                let product_id = product(fulfilled.product_id);
                set_status(tx, context, &product_id, serial, &holder, status::FULFILLED).await?;
            }
        }
        LedgerEvent::LineReturned(returned) => {
            if let Some(serial) = &returned.serial {
                let holder = holder(tx, context, &sale_id, returned.line_number).await?;
                let product_id = product(returned.product_id);
                set_status(tx, context, &product_id, serial, &holder, status::RETURNED).await?;
            }
        }
        LedgerEvent::LineCancelled(cancelled) => {
            if let Some(serial) = &cancelled.released_serial {
                let holder = holder(tx, context, &sale_id, cancelled.line_number).await?;
                let product_id = product(cancelled.product_id);
                set_status(tx, context, &product_id, serial, &holder, status::RELEASED).await?;
            }
        }
        LedgerEvent::LineRemoved(removed) => {
            if let Some(serial) = &removed.released_serial {
                let holder = holder(tx, context, &sale_id, removed.line_number).await?;
                let line = trace_line(tx, context, &holder).await?;
                set_status(
                    tx,
                    context,
                    &line.product_id,
                    serial,
                    &holder,
                    status::RELEASED,
                )
                .await?;
            }
        }
        _ => {}
    }
    Ok(())
}
