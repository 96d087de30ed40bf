//! Projection "sales": every sale and every line as it stands now. The POS order view, the
//! fulfilment report and pick lists, the sales report and the sales detail export are all
//! queries over these two tables (see `queries`), so one fold serves them all.
//!
//! A line's `status` is the code of its [`LineStatus`] (OPEN, FULFILLED, RETURNED,
//! CANCELLED or REMOVED); its `serial` is the serial it holds (released serials are
//! cleared; a returned unit keeps the serial it came back with).

use crate::db::ReadTx;
use crate::projection::{EventContext, ProjectionError, TableSpec};
use crate::rows::{OnConflict, RowBuffer, insert_rows, read_model_table};
use crate::stored::enum_code;
use domain::sale::LineStatus;
use event_schemas::{LedgerEvent, LineNumber, LinePackage, SaleLine, streams};
use std::collections::BTreeSet;

pub(crate) const TABLES: &[TableSpec] = &[SALES, LINES];

read_model_table! {
    /// A row of `rm_sales`: a sale's header, written when it is opened and never changed.
    pub(crate) struct SaleRow as SALES ("rm_sales", key: [tenant_id, sale_id]) {
        tenant_id: String,
        sale_id: String,
        invoice_number: String,
        sale_type: String,
        delivery_mode: String,
        outlet_id: String,
        customer_id: Option<String>,
        customer_name: Option<String>,
        /// Microseconds since the Unix epoch, as every time here.
        opened_at: i64,
    }
}

read_model_table! {
    /// A row of `rm_sale_lines`: a line as it stands now.
    pub(crate) struct LineRow as LINES ("rm_sale_lines", key: [tenant_id, sale_id, line_number]) {
        tenant_id: String,
        sale_id: String,
        line_number: i64,
        product_id: String,
        sku: String,
        product_name: String,
        quantity: i64,
        unit_price_minor: i64,
        currency: String,
        serial_mode: String,
        serial: Option<String>,
        /// A [`LineStatus`] code.
        status: String,
        /// `PACKAGE` or `COMPONENT`.
        package_role: Option<String>,
        package_mode: Option<String>,
        parent_line: Option<i64>,
        reissue_of_sale_id: Option<String>,
        reissue_of_invoice: Option<String>,
        reissue_of_line: Option<i64>,
        added_at: i64,
        fulfilled_at: Option<i64>,
        returned_at: Option<i64>,
        cancelled_at: Option<i64>,
        refund_minor: Option<i64>,
    }
}

/// Line statuses as stored: the codes of [`LineStatus`], the one definition of a line's
/// status (kept as constants for code written against them).
pub mod status {
    use domain::sale::LineStatus;

    /// Not yet fulfilled.
    pub const OPEN: &str = LineStatus::Open.code();
    /// Handed over or dispatched.
    pub const FULFILLED: &str = LineStatus::Fulfilled.code();
    /// Came back and was refunded.
    pub const RETURNED: &str = LineStatus::Returned.code();
    /// Cancelled before fulfilment.
    pub const CANCELLED: &str = LineStatus::Cancelled.code();
    /// Taken off the sale while it was being built.
    pub const REMOVED: &str = LineStatus::Removed.code();
}

fn line_number(line: LineNumber) -> i64 {
    i64::from(line.0)
}

/// (tenant, sale, line number)
type LineKey = (String, String, i64);

/// A new line as the projection stores it.
fn new_line(
    context: &EventContext<'_>,
    sale_id: &str,
    line: &SaleLine,
    reissue_of: Option<(String, String, i64)>,
) -> LineRow {
    let (package_role, package_mode, parent_line) = match &line.package {
        None => (None, None, None),
        Some(LinePackage::Package { mode }) => {
            (Some("PACKAGE".to_owned()), Some(enum_code(mode)), None)
        }
        Some(LinePackage::Component { parent_line }) => (
            Some("COMPONENT".to_owned()),
            None,
            Some(line_number(*parent_line)),
        ),
    };
    let (reissue_of_sale_id, reissue_of_invoice, reissue_of_line) = match reissue_of {
        Some((sale, invoice, line)) => (Some(sale), Some(invoice), Some(line)),
        None => (None, None, None),
    };
    LineRow {
        tenant_id: context.tenant_id.clone(),
        sale_id: sale_id.to_owned(),
        line_number: line_number(line.line_number),
        product_id: line.product_id.to_string(),
        sku: line.sku.clone(),
        product_name: line.product_name.clone(),
        quantity: i64::from(line.quantity),
        unit_price_minor: line.unit_price.amount_minor,
        currency: line.unit_price.currency.clone(),
        serial_mode: enum_code(&line.serial_mode),
        serial: None,
        status: LineStatus::Open.code().to_owned(),
        package_role,
        package_mode,
        parent_line,
        reissue_of_sale_id,
        reissue_of_invoice,
        reissue_of_line,
        added_at: context.recorded_at,
        fulfilled_at: None,
        returned_at: None,
        cancelled_at: None,
        refund_minor: None,
    }
}

/// The line an event changes, if it changes one.
fn changed_line(event: &LedgerEvent) -> Option<LineNumber> {
    match event {
        LedgerEvent::LineQuantityChanged(changed) => Some(changed.line_number),
        LedgerEvent::SerialAssigned(assigned) => Some(assigned.line_number),
        LedgerEvent::SerialRemoved(removed) => Some(removed.line_number),
        LedgerEvent::LineFulfilled(fulfilled) => Some(fulfilled.line_number),
        LedgerEvent::LineReturned(returned) => Some(returned.line_number),
        LedgerEvent::LineCancelled(cancelled) => Some(cancelled.line_number),
        LedgerEvent::LineRemoved(removed) => Some(removed.line_number),
        _ => None,
    }
}

/// The line an event creates, if it creates one.
fn created_line(event: &LedgerEvent) -> Option<&SaleLine> {
    match event {
        LedgerEvent::LineAdded(added) => Some(&added.line),
        LedgerEvent::LineReissued(reissued) => Some(&reissued.line),
        _ => None,
    }
}

/// Loads the stored lines of `keys` (every line of their sales; they are few).
async fn load_lines(
    tx: &mut ReadTx,
    lines: &mut RowBuffer<LineKey, LineRow>,
    keys: BTreeSet<LineKey>,
) -> Result<(), sqlx::Error> {
    lines
        .load(
            tx,
            "sale_id",
            keys,
            |(tenant, sale, _)| (tenant.clone(), sale.as_str().into()),
            |row| (row.tenant_id.clone(), row.sale_id.clone(), row.line_number),
        )
        .await
}

pub(crate) async fn apply_batch(
    tx: &mut ReadTx,
    events: &[(EventContext<'_>, LedgerEvent)],
) -> Result<(), ProjectionError> {
    let sale_of = |context: &EventContext<'_>| {
        streams::parse_sale(context.stream_id).map(|sale| sale.to_string())
    };
    // The lines the batch changes and does not create: loaded in one go.
    let mut created = BTreeSet::new();
    let mut wanted = BTreeSet::new();
    for (context, event) in events {
        let Some(sale_id) = sale_of(context) else {
            continue;
        };
        if let Some(line) = created_line(event) {
            created.insert((
                context.tenant_id.clone(),
                sale_id.clone(),
                line_number(line.line_number),
            ));
        }
        if let Some(line) = changed_line(event) {
            let key = (context.tenant_id.clone(), sale_id, line_number(line));
            if !created.contains(&key) {
                wanted.insert(key);
            }
        }
    }
    let mut lines = RowBuffer::new();
    load_lines(tx, &mut lines, wanted).await?;

    let mut sales = Vec::new();
    for (context, event) in events {
        let Some(sale_id) = sale_of(context) else {
            continue;
        };
        fold(context, &sale_id, event, &mut sales, &mut lines, tx).await?;
    }
    insert_rows(tx, sales, OnConflict::Fail).await?;
    lines.write(tx).await?;
    Ok(())
}

async fn fold(
    context: &EventContext<'_>,
    sale_id: &str,
    event: &LedgerEvent,
    sales: &mut Vec<SaleRow>,
    lines: &mut RowBuffer<LineKey, LineRow>,
    tx: &mut ReadTx,
) -> Result<(), ProjectionError> {
    let key = |line: LineNumber| {
        (
            context.tenant_id.clone(),
            sale_id.to_owned(),
            line_number(line),
        )
    };
    let create = |lines: &mut RowBuffer<LineKey, LineRow>, row: LineRow| {
        let line = row.line_number;
        lines
            .insert((row.tenant_id.clone(), row.sale_id.clone(), line), row)
            .map_err(|_| {
                context.inconsistent(format!("line {line} of sale {sale_id} is already recorded"))
            })
    };
    match event {
        LedgerEvent::SaleOpened(opened) => sales.push(SaleRow {
            tenant_id: context.tenant_id.clone(),
            sale_id: sale_id.to_owned(),
            invoice_number: opened.invoice_number.clone(),
            sale_type: enum_code(&opened.sale_type),
            delivery_mode: enum_code(&opened.delivery_mode),
            outlet_id: opened.outlet_id.to_string(),
            customer_id: opened.customer.as_ref().map(|c| c.customer_id.to_string()),
            customer_name: opened.customer.as_ref().map(|c| c.name.clone()),
            opened_at: context.recorded_at,
        }),
        LedgerEvent::LineAdded(added) => {
            create(lines, new_line(context, sale_id, &added.line, None))?
        }
        LedgerEvent::LineReissued(reissued) => {
            let original = &reissued.reissue_of;
            let reissue_of = (
                original.sale_id.to_string(),
                original.invoice_number.clone(),
                line_number(original.line_number),
            );
            create(
                lines,
                new_line(context, sale_id, &reissued.line, Some(reissue_of)),
            )?;
        }
        _ => {
            let Some(number) = changed_line(event) else {
                return Ok(());
            };
            let key = key(number);
            if lines.is_unknown(&key) {
                // Created later in the batch than this event: look it up after all.
                load_lines(tx, lines, BTreeSet::from([key.clone()])).await?;
            }
            let line = lines.get_mut(&key).ok_or_else(|| {
                context.inconsistent(format!("line {number} of sale {sale_id} is unknown"))
            })?;
            change_line(context, event, line);
        }
    }
    Ok(())
}

/// What an event does to a line it changes.
fn change_line(context: &EventContext<'_>, event: &LedgerEvent, line: &mut LineRow) {
    let at = Some(context.recorded_at);
    match event {
        LedgerEvent::LineQuantityChanged(changed) => line.quantity = i64::from(changed.quantity),
        LedgerEvent::SerialAssigned(assigned) => line.serial = Some(assigned.serial.clone()),
        LedgerEvent::SerialRemoved(_) => line.serial = None,
        LedgerEvent::LineFulfilled(fulfilled) => {
            line.status = LineStatus::Fulfilled.code().to_owned();
            line.serial.clone_from(&fulfilled.serial);
            line.fulfilled_at = at;
        }
        LedgerEvent::LineReturned(returned) => {
            line.status = LineStatus::Returned.code().to_owned();
            line.refund_minor = Some(returned.refund.amount_minor);
            line.returned_at = at;
        }
        LedgerEvent::LineCancelled(_) => {
            line.status = LineStatus::Cancelled.code().to_owned();
            line.serial = None;
            line.cancelled_at = at;
        }
        LedgerEvent::LineRemoved(_) => {
            line.status = LineStatus::Removed.code().to_owned();
            line.serial = None;
            line.cancelled_at = at;
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::value_columns;

    #[test]
    fn a_sale_row_gives_its_values_in_the_order_of_the_declared_columns() {
        assert_eq!(value_columns(SaleRow::default()), SALES.columns);
    }

    #[test]
    fn a_line_row_gives_its_values_in_the_order_of_the_declared_columns() {
        assert_eq!(value_columns(LineRow::default()), LINES.columns);
    }

    #[test]
    fn the_stored_line_statuses_are_the_domain_s_codes() {
        assert_eq!(
            [
                status::OPEN,
                status::FULFILLED,
                status::RETURNED,
                status::CANCELLED,
                status::REMOVED
            ],
            LineStatus::ALL.map(LineStatus::code)
        );
    }
}
