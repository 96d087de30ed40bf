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
use crate::rows::{OnConflict, RowBuffer, insert_rows, read_model_table};
use event_schemas::{LedgerEvent, LineNumber, SaleLine, streams};
use std::collections::BTreeSet;

pub(crate) const TABLES: &[TableSpec] = &[SERIALS, HISTORY, TRACE_SALES, TRACE_LINES];

read_model_table! {
    /// A row of `rm_serials`: a unit (product, serial) with its status and last holder.
    pub(crate) struct SerialRow as SERIALS ("rm_serials", key: [tenant_id, product_id, serial]) {
        tenant_id: String,
        product_id: String,
        serial: String,
        sku: String,
        product_name: String,
        /// A [`status`] code.
        status: String,
        sale_id: String,
        invoice_number: String,
        line_number: i64,
        outlet_id: String,
        customer_id: Option<String>,
        customer_name: Option<String>,
        allocated_at: i64,
        fulfilled_at: Option<i64>,
        returned_at: Option<i64>,
    }
}

read_model_table! {
    /// A row of `rm_serial_history`: one event that touched a unit, by its log position.
    pub(crate) struct HistoryRow as HISTORY (
        "rm_serial_history",
        key: [tenant_id, product_id, serial, commit_position, global_position]
    ) {
        tenant_id: String,
        product_id: String,
        serial: String,
        commit_position: i64,
        global_position: i64,
        event_type: String,
        sale_id: String,
        invoice_number: String,
        line_number: i64,
        recorded_at: i64,
    }
}

read_model_table! {
    /// A row of `rm_trace_sales`: the sale header the index copies onto its serials.
    struct TraceSaleRow as TRACE_SALES ("rm_trace_sales", key: [tenant_id, sale_id]) {
        tenant_id: String,
        sale_id: String,
        invoice_number: String,
        outlet_id: String,
        customer_id: Option<String>,
        customer_name: Option<String>,
    }
}

read_model_table! {
    /// A row of `rm_trace_lines`: which product a line sells.
    struct TraceLineRow as TRACE_LINES ("rm_trace_lines", key: [tenant_id, sale_id, line_number]) {
        tenant_id: String,
        sale_id: String,
        line_number: i64,
        product_id: String,
        sku: String,
        product_name: String,
    }
}

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

/// (tenant, sale)
type SaleKey = (String, String);
/// (tenant, sale, line number)
type LineKey = (String, String, i64);
/// (tenant, product, serial)
type SerialKey = (String, String, String);

/// The sale and line an event is about, as this projection recorded them.
struct Holder {
    sale_id: String,
    line_number: i64,
    sale: TraceSaleRow,
}

/// The rows of one batch, folded in memory and written at its end.
struct Batch {
    sales: RowBuffer<SaleKey, TraceSaleRow>,
    lines: RowBuffer<LineKey, TraceLineRow>,
    serials: RowBuffer<SerialKey, SerialRow>,
    history: Vec<HistoryRow>,
}

/// The line whose holder an event needs, if any.
fn held_line(event: &LedgerEvent) -> Option<LineNumber> {
    match event {
        LedgerEvent::LineReissued(reissued) if reissued.reissue_of.serial.is_some() => {
            Some(reissued.line.line_number)
        }
        LedgerEvent::SerialAssigned(assigned) => Some(assigned.line_number),
        LedgerEvent::SerialRemoved(removed) => Some(removed.line_number),
        LedgerEvent::LineFulfilled(fulfilled) if fulfilled.serial.is_some() => {
            Some(fulfilled.line_number)
        }
        LedgerEvent::LineReturned(returned) if returned.serial.is_some() => {
            Some(returned.line_number)
        }
        LedgerEvent::LineCancelled(cancelled) if cancelled.released_serial.is_some() => {
            Some(cancelled.line_number)
        }
        LedgerEvent::LineRemoved(removed) if removed.released_serial.is_some() => {
            Some(removed.line_number)
        }
        _ => None,
    }
}

/// The serial (and its product) whose status an event changes, when the event names both.
fn released_or_moved_serial(event: &LedgerEvent) -> Option<(String, &str)> {
    match event {
        LedgerEvent::SerialRemoved(removed) => {
            Some((removed.product_id.to_string(), removed.serial.as_str()))
        }
        LedgerEvent::LineFulfilled(fulfilled) => fulfilled
            .serial
            .as_deref()
            .map(|serial| (fulfilled.product_id.to_string(), serial)),
        LedgerEvent::LineReturned(returned) => returned
            .serial
            .as_deref()
            .map(|serial| (returned.product_id.to_string(), serial)),
        LedgerEvent::LineCancelled(cancelled) => cancelled
            .released_serial
            .as_deref()
            .map(|serial| (cancelled.product_id.to_string(), serial)),
        _ => None,
    }
}

impl Batch {
    /// Loads, in a few statements, the stored rows the batch's events will read.
    async fn prefetch(
        tx: &mut ReadTx,
        events: &[(EventContext<'_>, LedgerEvent)],
    ) -> Result<Self, ProjectionError> {
        let mut opened = BTreeSet::new();
        let mut created_lines = BTreeSet::new();
        let mut assigned = BTreeSet::new();
        let mut sales = BTreeSet::new();
        let mut lines = BTreeSet::new();
        let mut serials = BTreeSet::new();
        for (context, event) in events {
            let Some(sale) = streams::parse_sale(context.stream_id) else {
                continue;
            };
            let tenant = &context.tenant_id;
            let sale = (tenant.clone(), sale.to_string());
            let line_key = |line: LineNumber| (sale.0.clone(), sale.1.clone(), i64::from(line.0));
            match event {
                LedgerEvent::SaleOpened(_) => {
                    opened.insert(sale.clone());
                }
                LedgerEvent::LineAdded(added) => {
                    created_lines.insert(line_key(added.line.line_number));
                }
                LedgerEvent::LineReissued(reissued) => {
                    created_lines.insert(line_key(reissued.line.line_number));
                }
                LedgerEvent::SerialAssigned(assigned_serial) => {
                    assigned.insert((
                        tenant.clone(),
                        assigned_serial.product_id.to_string(),
                        assigned_serial.serial.clone(),
                    ));
                }
                _ => {}
            }
            if let Some(line) = held_line(event) {
                if !opened.contains(&sale) {
                    sales.insert(sale.clone());
                }
                let needs_product = matches!(
                    event,
                    LedgerEvent::SerialAssigned(_) | LedgerEvent::LineRemoved(_)
                );
                let key = line_key(line);
                if needs_product && !created_lines.contains(&key) {
                    lines.insert(key);
                }
            }
            if let Some((product, serial)) = released_or_moved_serial(event) {
                let key = (tenant.clone(), product, serial.to_owned());
                if !assigned.contains(&key) {
                    serials.insert(key);
                }
            }
        }
        let mut batch = Batch {
            sales: RowBuffer::new(),
            lines: RowBuffer::new(),
            serials: RowBuffer::new(),
            history: Vec::new(),
        };
        batch.load_sales(tx, sales).await?;
        batch.load_lines(tx, lines).await?;
        batch.load_serials(tx, serials).await?;
        Ok(batch)
    }

    async fn load_sales(
        &mut self,
        tx: &mut ReadTx,
        keys: BTreeSet<SaleKey>,
    ) -> Result<(), sqlx::Error> {
        self.sales
            .load(
                tx,
                "sale_id",
                keys,
                |(tenant, sale)| (tenant.clone(), sale.as_str().into()),
                |row| (row.tenant_id.clone(), row.sale_id.clone()),
            )
            .await
    }

    async fn load_lines(
        &mut self,
        tx: &mut ReadTx,
        keys: BTreeSet<LineKey>,
    ) -> Result<(), sqlx::Error> {
        self.lines
            .load(
                tx,
                "sale_id",
                keys,
                |(tenant, sale, _)| (tenant.clone(), sale.as_str().into()),
                |row| (row.tenant_id.clone(), row.sale_id.clone(), row.line_number),
            )
            .await
    }

    async fn load_serials(
        &mut self,
        tx: &mut ReadTx,
        keys: BTreeSet<SerialKey>,
    ) -> Result<(), sqlx::Error> {
        // By serial alone (the `rm_serials_by_serial` index): a serial string is rarely
        // shared between products, and the few extra rows are harmless.
        self.serials
            .load(
                tx,
                "serial",
                keys,
                |(tenant, _, serial)| (tenant.clone(), serial.as_str().into()),
                |row| {
                    (
                        row.tenant_id.clone(),
                        row.product_id.clone(),
                        row.serial.clone(),
                    )
                },
            )
            .await
    }

    async fn holder(
        &mut self,
        tx: &mut ReadTx,
        context: &EventContext<'_>,
        sale_id: &str,
        line: LineNumber,
    ) -> Result<Holder, ProjectionError> {
        let key = (context.tenant_id.clone(), sale_id.to_owned());
        if self.sales.is_unknown(&key) {
            self.load_sales(tx, BTreeSet::from([key.clone()])).await?;
        }
        let sale = self
            .sales
            .get(&key)
            .cloned()
            .ok_or_else(|| context.inconsistent(format!("sale {sale_id} was never opened")))?;
        Ok(Holder {
            sale_id: sale_id.to_owned(),
            line_number: i64::from(line.0),
            sale,
        })
    }

    async fn trace_line(
        &mut self,
        tx: &mut ReadTx,
        context: &EventContext<'_>,
        holder: &Holder,
    ) -> Result<TraceLineRow, ProjectionError> {
        let key = (
            context.tenant_id.clone(),
            holder.sale_id.clone(),
            holder.line_number,
        );
        if self.lines.is_unknown(&key) {
            self.load_lines(tx, BTreeSet::from([key.clone()])).await?;
        }
        self.lines.get(&key).cloned().ok_or_else(|| {
            context.inconsistent(format!(
                "line {} of sale {} is unknown",
                holder.line_number, holder.sale_id
            ))
        })
    }

    fn record_history(
        &mut self,
        context: &EventContext<'_>,
        product_id: &str,
        serial: &str,
        holder: &Holder,
    ) {
        let (commit, global) = position_columns(context.position);
        self.history.push(HistoryRow {
            tenant_id: context.tenant_id.clone(),
            product_id: product_id.to_owned(),
            serial: serial.to_owned(),
            commit_position: commit,
            global_position: global,
            event_type: context.event_type.to_owned(),
            sale_id: holder.sale_id.clone(),
            invoice_number: holder.sale.invoice_number.clone(),
            line_number: holder.line_number,
            recorded_at: context.recorded_at,
        });
    }

    /// Moves a serial held by `holder` to `new_status`, stamping `fulfilled_at`/`returned_at`.
    async fn set_status(
        &mut self,
        tx: &mut ReadTx,
        context: &EventContext<'_>,
        product_id: &str,
        serial: &str,
        holder: &Holder,
        new_status: &str,
    ) -> Result<(), ProjectionError> {
        let key = (
            context.tenant_id.clone(),
            product_id.to_owned(),
            serial.to_owned(),
        );
        if self.serials.is_unknown(&key) {
            self.load_serials(tx, BTreeSet::from([key.clone()])).await?;
        }
        let row = self
            .serials
            .get_mut(&key)
            .filter(|row| row.sale_id == holder.sale_id && row.line_number == holder.line_number)
            .ok_or_else(|| {
                context.inconsistent(format!(
                    "serial {serial} of product {product_id} is not held by sale {} line {}",
                    holder.sale_id, holder.line_number
                ))
            })?;
        new_status.clone_into(&mut row.status);
        if new_status == status::FULFILLED {
            row.fulfilled_at = Some(context.recorded_at);
        }
        if new_status == status::RETURNED {
            row.returned_at = Some(context.recorded_at);
        }
        self.record_history(context, product_id, serial, holder);
        Ok(())
    }

    fn remember_line(
        &mut self,
        context: &EventContext<'_>,
        sale_id: &str,
        line: &SaleLine,
    ) -> Result<(), ProjectionError> {
        let row = TraceLineRow {
            tenant_id: context.tenant_id.clone(),
            sale_id: sale_id.to_owned(),
            line_number: i64::from(line.line_number.0),
            product_id: line.product_id.to_string(),
            sku: line.sku.clone(),
            product_name: line.product_name.clone(),
        };
        let key = (row.tenant_id.clone(), row.sale_id.clone(), row.line_number);
        self.lines.insert(key, row).map_err(|_| {
            context.inconsistent(format!(
                "line {} of sale {sale_id} is already recorded",
                line.line_number
            ))
        })
    }

    async fn fold(
        &mut self,
        tx: &mut ReadTx,
        context: &EventContext<'_>,
        event: &LedgerEvent,
    ) -> Result<(), ProjectionError> {
        let Some(sale) = streams::parse_sale(context.stream_id) else {
            return Ok(());
        };
        let sale_id = sale.to_string();
        match event {
            LedgerEvent::SaleOpened(opened) => {
                let row = TraceSaleRow {
                    tenant_id: context.tenant_id.clone(),
                    sale_id: sale_id.clone(),
                    invoice_number: opened.invoice_number.clone(),
                    outlet_id: opened.outlet_id.to_string(),
                    customer_id: opened.customer.as_ref().map(|c| c.customer_id.to_string()),
                    customer_name: opened.customer.as_ref().map(|c| c.name.clone()),
                };
                let key = (row.tenant_id.clone(), row.sale_id.clone());
                self.sales
                    .insert(key, row)
                    .map_err(|_| context.inconsistent(format!("sale {sale_id} is already open")))?;
            }
            LedgerEvent::LineAdded(added) => self.remember_line(context, &sale_id, &added.line)?,
            LedgerEvent::LineReissued(reissued) => {
                self.remember_line(context, &sale_id, &reissued.line)?;
                // The returned unit's history says where it was re-issued.
                if let Some(serial) = &reissued.reissue_of.serial {
                    let holder = self
                        .holder(tx, context, &sale_id, reissued.line.line_number)
                        .await?;
                    let product_id = reissued.line.product_id.to_string();
                    self.record_history(context, &product_id, serial, &holder);
                }
            }
            LedgerEvent::SerialAssigned(assigned) => {
                let holder = self
                    .holder(tx, context, &sale_id, assigned.line_number)
                    .await?;
                let line = self.trace_line(tx, context, &holder).await?;
                let product_id = assigned.product_id.to_string();
                let row = SerialRow {
                    tenant_id: context.tenant_id.clone(),
                    product_id: product_id.clone(),
                    serial: assigned.serial.clone(),
                    sku: line.sku,
                    product_name: line.product_name,
                    status: status::ALLOCATED.to_owned(),
                    sale_id: holder.sale_id.clone(),
                    invoice_number: holder.sale.invoice_number.clone(),
                    line_number: holder.line_number,
                    outlet_id: holder.sale.outlet_id.clone(),
                    customer_id: holder.sale.customer_id.clone(),
                    customer_name: holder.sale.customer_name.clone(),
                    allocated_at: context.recorded_at,
                    fulfilled_at: None,
                    returned_at: None,
                };
                let key = (
                    row.tenant_id.clone(),
                    row.product_id.clone(),
                    row.serial.clone(),
                );
                self.serials.put(key, row);
                self.record_history(context, &product_id, &assigned.serial, &holder);
            }
            LedgerEvent::LineRemoved(removed) => {
                if let Some(serial) = &removed.released_serial {
                    let holder = self
                        .holder(tx, context, &sale_id, removed.line_number)
                        .await?;
                    let line = self.trace_line(tx, context, &holder).await?;
                    self.set_status(
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
            _ => {
                let new_status = match event {
                    LedgerEvent::SerialRemoved(_) | LedgerEvent::LineCancelled(_) => {
                        status::RELEASED
                    }
                    LedgerEvent::LineFulfilled(_) => status::FULFILLED,
                    LedgerEvent::LineReturned(_) => status::RETURNED,
                    _ => return Ok(()),
                };
                let (Some((product_id, serial)), Some(line)) =
                    (released_or_moved_serial(event), held_line(event))
                else {
                    return Ok(());
                };
                let holder = self.holder(tx, context, &sale_id, line).await?;
                self.set_status(tx, context, &product_id, serial, &holder, new_status)
                    .await?;
            }
        }
        Ok(())
    }

    async fn write(self, tx: &mut ReadTx) -> Result<(), sqlx::Error> {
        self.sales.write(tx).await?;
        self.lines.write(tx).await?;
        self.serials.write(tx).await?;
        insert_rows(tx, self.history, OnConflict::Fail).await
    }
}

pub(crate) async fn apply_batch(
    tx: &mut ReadTx,
    events: &[(EventContext<'_>, LedgerEvent)],
) -> Result<(), ProjectionError> {
    let mut batch = Batch::prefetch(tx, events).await?;
    for (context, event) in events {
        batch.fold(tx, context, event).await?;
    }
    batch.write(tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::value_columns;

    #[test]
    fn every_serials_row_gives_its_values_in_the_order_of_the_declared_columns() {
        assert_eq!(value_columns(SerialRow::default()), SERIALS.columns);
        assert_eq!(value_columns(HistoryRow::default()), HISTORY.columns);
        assert_eq!(value_columns(TraceSaleRow::default()), TRACE_SALES.columns);
        assert_eq!(value_columns(TraceLineRow::default()), TRACE_LINES.columns);
    }
}
