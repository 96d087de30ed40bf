//! Projection "sales": every sale and every line as it stands now. The POS order view, the
//! fulfilment report and pick lists, the sales report and the sales detail export are all
//! queries over these two tables (see `queries`), so one fold serves them all.
//!
//! A line's `status` is OPEN, FULFILLED, RETURNED, CANCELLED or REMOVED; its `serial` is
//! the serial it holds (released serials are cleared; a returned unit keeps the serial it
//! came back with).

use crate::db::ReadTx;
use crate::execute;
use crate::projection::{EventContext, ProjectionError, TableSpec, enum_code};
use event_schemas::{LedgerEvent, LineNumber, LinePackage, SaleLine, streams};

pub(crate) const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "rm_sales",
        columns: &[
            "tenant_id",
            "sale_id",
            "invoice_number",
            "sale_type",
            "delivery_mode",
            "outlet_id",
            "customer_id",
            "customer_name",
            "opened_at",
        ],
        key: &["tenant_id", "sale_id"],
    },
    TableSpec {
        name: "rm_sale_lines",
        columns: &[
            "tenant_id",
            "sale_id",
            "line_number",
            "product_id",
            "sku",
            "product_name",
            "quantity",
            "unit_price_minor",
            "currency",
            "serial_mode",
            "serial",
            "status",
            "package_role",
            "package_mode",
            "parent_line",
            "reissue_of_sale_id",
            "reissue_of_invoice",
            "reissue_of_line",
            "added_at",
            "fulfilled_at",
            "returned_at",
            "cancelled_at",
            "refund_minor",
        ],
        key: &["tenant_id", "sale_id", "line_number"],
    },
];

/// Line statuses as stored.
pub mod status {
    /// Not yet fulfilled.
    pub const OPEN: &str = "OPEN";
    /// Handed over or dispatched.
    pub const FULFILLED: &str = "FULFILLED";
    /// Came back and was refunded.
    pub const RETURNED: &str = "RETURNED";
    /// Cancelled before fulfilment.
    pub const CANCELLED: &str = "CANCELLED";
    /// Taken off the sale while it was being built.
    pub const REMOVED: &str = "REMOVED";
}

fn line_number(line: LineNumber) -> i64 {
    i64::from(line.0)
}

async fn insert_line(
    tx: &mut ReadTx,
    context: &EventContext<'_>,
    sale_id: &str,
    line: &SaleLine,
    reissue_of: Option<(&str, &str, i64)>,
) -> Result<(), ProjectionError> {
    let (package_role, package_mode, parent_line) = match &line.package {
        None => (None, None, None),
        Some(LinePackage::Package { mode }) => (Some("PACKAGE"), Some(enum_code(mode)), None),
        Some(LinePackage::Component { parent_line }) => {
            (Some("COMPONENT"), None, Some(line_number(*parent_line)))
        }
    };
    execute!(
        tx,
        "INSERT INTO rm_sale_lines (tenant_id, sale_id, line_number, product_id, sku, \
         product_name, quantity, unit_price_minor, currency, serial_mode, serial, status, \
         package_role, package_mode, parent_line, reissue_of_sale_id, reissue_of_invoice, \
         reissue_of_line, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $12, $13, $14, $15, $16, \
         $17, $18)",
        &context.tenant_id,
        sale_id,
        line_number(line.line_number),
        line.product_id.to_string(),
        &line.sku,
        &line.product_name,
        i64::from(line.quantity),
        line.unit_price.amount_minor,
        &line.unit_price.currency,
        enum_code(&line.serial_mode),
        status::OPEN,
        package_role,
        package_mode,
        parent_line,
        reissue_of.map(|(sale, _, _)| sale.to_owned()),
        reissue_of.map(|(_, invoice, _)| invoice.to_owned()),
        reissue_of.map(|(_, _, line)| line),
        context.recorded_at,
    )?;
    Ok(())
}

/// An event for a line this projection never saw is an inconsistency, never ignored.
fn expect_one_line(
    updated: u64,
    context: &EventContext<'_>,
    sale_id: &str,
    line: LineNumber,
) -> Result<(), ProjectionError> {
    if updated == 1 {
        Ok(())
    } else {
        Err(context.inconsistent(format!("line {line} of sale {sale_id} is unknown")))
    }
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
    let tenant = &context.tenant_id;
    match event {
        LedgerEvent::SaleOpened(opened) => {
            execute!(
                tx,
                "INSERT INTO rm_sales (tenant_id, sale_id, invoice_number, sale_type, \
                 delivery_mode, outlet_id, customer_id, customer_name, opened_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &context.tenant_id,
                &sale_id,
                &opened.invoice_number,
                enum_code(&opened.sale_type),
                enum_code(&opened.delivery_mode),
                opened.outlet_id.to_string(),
                opened.customer.as_ref().map(|c| c.customer_id.to_string()),
                opened.customer.as_ref().map(|c| c.name.clone()),
                context.recorded_at,
            )?;
        }
        LedgerEvent::LineAdded(added) => {
            insert_line(tx, context, &sale_id, &added.line, None).await?;
        }
        LedgerEvent::LineReissued(reissued) => {
            let original = &reissued.reissue_of;
            let original_sale = original.sale_id.to_string();
            insert_line(
                tx,
                context,
                &sale_id,
                &reissued.line,
                Some((
                    &original_sale,
                    &original.invoice_number,
                    line_number(original.line_number),
                )),
            )
            .await?;
        }
        LedgerEvent::LineQuantityChanged(changed) => {
            let updated = execute!(
                tx,
                "UPDATE rm_sale_lines SET quantity = $4 \
                 WHERE tenant_id = $1 AND sale_id = $2 AND line_number = $3",
                tenant,
                &sale_id,
                line_number(changed.line_number),
                i64::from(changed.quantity),
            )?;
            expect_one_line(updated, context, &sale_id, changed.line_number)?;
        }
        LedgerEvent::SerialAssigned(assigned) => {
            let updated = execute!(
                tx,
                "UPDATE rm_sale_lines SET serial = $4 \
                 WHERE tenant_id = $1 AND sale_id = $2 AND line_number = $3",
                tenant,
                &sale_id,
                line_number(assigned.line_number),
                &assigned.serial,
            )?;
            expect_one_line(updated, context, &sale_id, assigned.line_number)?;
        }
        LedgerEvent::SerialRemoved(removed) => {
            let updated = execute!(
                tx,
                "UPDATE rm_sale_lines SET serial = NULL \
                 WHERE tenant_id = $1 AND sale_id = $2 AND line_number = $3",
                tenant,
                &sale_id,
                line_number(removed.line_number),
            )?;
            expect_one_line(updated, context, &sale_id, removed.line_number)?;
        }
        LedgerEvent::LineFulfilled(fulfilled) => {
            let updated = execute!(
                tx,
                "UPDATE rm_sale_lines SET status = 'FULFILLED', serial = $4, fulfilled_at = $5 \
                 WHERE tenant_id = $1 AND sale_id = $2 AND line_number = $3",
                tenant,
                &sale_id,
                line_number(fulfilled.line_number),
                &fulfilled.serial,
                context.recorded_at,
            )?;
            expect_one_line(updated, context, &sale_id, fulfilled.line_number)?;
        }
        LedgerEvent::LineReturned(returned) => {
            let updated = execute!(
                tx,
                "UPDATE rm_sale_lines SET status = 'RETURNED', refund_minor = $4, \
                 returned_at = $5 WHERE tenant_id = $1 AND sale_id = $2 AND line_number = $3",
                tenant,
                &sale_id,
                line_number(returned.line_number),
                returned.refund.amount_minor,
                context.recorded_at,
            )?;
            expect_one_line(updated, context, &sale_id, returned.line_number)?;
        }
        LedgerEvent::LineCancelled(cancelled) => {
            let updated = execute!(
                tx,
                "UPDATE rm_sale_lines SET status = 'CANCELLED', serial = NULL, \
                 cancelled_at = $4 WHERE tenant_id = $1 AND sale_id = $2 AND line_number = $3",
                tenant,
                &sale_id,
                line_number(cancelled.line_number),
                context.recorded_at,
            )?;
            expect_one_line(updated, context, &sale_id, cancelled.line_number)?;
        }
        LedgerEvent::LineRemoved(removed) => {
            let updated = execute!(
                tx,
                "UPDATE rm_sale_lines SET status = 'REMOVED', serial = NULL, \
                 cancelled_at = $4 WHERE tenant_id = $1 AND sale_id = $2 AND line_number = $3",
                tenant,
                &sale_id,
                line_number(removed.line_number),
                context.recorded_at,
            )?;
            expect_one_line(updated, context, &sale_id, removed.line_number)?;
        }
        _ => {}
    }
    Ok(())
}
