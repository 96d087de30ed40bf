//! The fulfilment report and the pick lists built from it.
//!
//! The report lists every unfulfilled (OPEN) line across a tenant's sales, with its serial
//! (or the lack of one), filterable by outlet, sale type, delivery mode, when the sale was
//! opened, and "Show Items Pending Serial Number": REQUIRED lines that have no serial yet and
//! so block fulfilment. Its order, (sale opened at, sale id, line number), groups each sale's
//! lines together in line order and is stable, so the grid pages with a keyset.
//!
//! Pick lists are the report's rows as the warehouse prints them: the standard pick list
//! shows each line's serial, or marks it pending; the invoice pick list shows no serials at
//! all (the spec: serial numbers are in fulfilment exports and pick lists "excluding Invoice
//! Pick List").

use super::{
    LineKey, LineStatus, Page, PageRequest, QueryError, ReportLine, ReportRow, TimeRange,
    after_key, line_page, select_lines, tenant_param,
};
use crate::db::ReadDb;
use crate::fetch_all;
use crate::stored::enum_code;
use event_schemas::{DeliveryMode, LineNumber, OutletId, SaleId, SaleType, SerialMode, TenantId};

/// What the fulfilment report shows; every field narrows it, `Default` shows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FulfilmentFilter {
    /// Only sales of this outlet.
    pub outlet_id: Option<OutletId>,
    /// Only sales of this type.
    pub sale_type: Option<SaleType>,
    /// Only sales with this delivery mode.
    pub delivery_mode: Option<DeliveryMode>,
    /// Only sales opened in this range (`opened_from`, `opened_before`).
    pub opened: TimeRange,
    /// "Show Items Pending Serial Number": only REQUIRED lines without a serial.
    pub pending_serial_only: bool,
}

/// A page of the fulfilment report: open lines of `tenant` matching `filter`, in (sale
/// opened at, sale id, line number) order.
pub async fn fulfilment_report(
    db: &ReadDb,
    tenant: TenantId,
    filter: &FulfilmentFilter,
    page: &PageRequest,
) -> Result<Page<ReportLine>, QueryError> {
    let after = after_key(page)?;
    let (after_opened, after_sale, after_line) = LineKey::params(after.as_ref());
    let (opened_from, opened_before) = filter.opened.params("opened_from", "opened_before")?;
    let rows = fetch_all!(
        db,
        ReportRow,
        &select_lines(
            "WHERE l.tenant_id = $1 AND l.status = $2 \
             AND ($3 IS NULL OR s.outlet_id = $3) \
             AND ($4 IS NULL OR s.sale_type = $4) \
             AND ($5 IS NULL OR s.delivery_mode = $5) \
             AND ($6 IS NULL OR s.opened_at >= $6) \
             AND ($7 IS NULL OR s.opened_at < $7) \
             AND ($8 = 0 OR (l.serial_mode = $9 AND l.serial IS NULL)) \
             AND ($10 IS NULL OR (s.opened_at, s.sale_id, l.line_number) > ($10, $11, $12)) \
             ORDER BY s.opened_at, s.sale_id, l.line_number \
             LIMIT $13"
        ),
        tenant_param(tenant),
        LineStatus::Open.code(),
        filter.outlet_id.map(|id| id.to_string()),
        filter.sale_type.map(|value| enum_code(&value)),
        filter.delivery_mode.map(|value| enum_code(&value)),
        opened_from,
        opened_before,
        i64::from(filter.pending_serial_only),
        enum_code(&SerialMode::Required),
        after_opened,
        after_sale,
        after_line,
        page.limit(),
    )?;
    line_page(page, rows)
}

/// Which pick list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PickListKind {
    /// The pick list: each line with its serial, or marked pending.
    Standard,
    /// The invoice pick list: no serial numbers.
    Invoice,
}

/// What a standard pick list shows in its serial column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PickSerial {
    /// Pick the unit with this serial.
    Recorded(String),
    /// A REQUIRED line without a serial: record one before fulfilling.
    Pending,
    /// No serial recorded and none needed before fulfilment (OPTIONAL or DISABLED line).
    NotRequired,
}

impl PickSerial {
    /// The text of the serial column: the serial, `PENDING`, or nothing.
    pub fn cell(&self) -> String {
        match self {
            PickSerial::Recorded(serial) => serial.clone(),
            PickSerial::Pending => "PENDING".to_owned(),
            PickSerial::NotRequired => String::new(),
        }
    }
}

/// A line of a pick list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickListLine {
    /// The sale.
    pub sale_id: SaleId,
    /// Its invoice number.
    pub invoice_number: String,
    /// The customer's name, when known.
    pub customer_name: Option<String>,
    /// The outlet.
    pub outlet_id: OutletId,
    /// How the goods reach the customer.
    pub delivery_mode: DeliveryMode,
    /// The line.
    pub line_number: LineNumber,
    /// The package line it is a component of, if any.
    pub parent_line: Option<LineNumber>,
    /// The product's SKU.
    pub sku: String,
    /// The product's name.
    pub product_name: String,
    /// Units to pick.
    pub quantity: u32,
    /// The serial column: `None` on the invoice pick list, which shows no serials.
    pub serial: Option<PickSerial>,
}

impl PickListLine {
    /// The columns of a standard pick list, in order.
    pub const HEADERS: [&'static str; 9] = [
        "Invoice Number",
        "Customer",
        "Delivery Mode",
        "Line",
        "Package Line",
        "SKU",
        "Product",
        "Quantity",
        "Serial Number",
    ];

    /// The columns of an invoice pick list, in order: the standard ones without the serial.
    pub const INVOICE_HEADERS: [&'static str; 8] = [
        "Invoice Number",
        "Customer",
        "Delivery Mode",
        "Line",
        "Package Line",
        "SKU",
        "Product",
        "Quantity",
    ];

    /// The headers of a pick list of `kind`.
    pub fn headers(kind: PickListKind) -> &'static [&'static str] {
        match kind {
            PickListKind::Standard => &Self::HEADERS,
            PickListKind::Invoice => &Self::INVOICE_HEADERS,
        }
    }

    /// A report line as a line of a pick list of `kind`.
    pub fn from_report_line(row: &ReportLine, kind: PickListKind) -> Self {
        let line = &row.line;
        let serial = match kind {
            PickListKind::Invoice => None,
            PickListKind::Standard => Some(match &line.serial {
                Some(serial) => PickSerial::Recorded(serial.clone()),
                None if line.serial_mode == SerialMode::Required => PickSerial::Pending,
                None => PickSerial::NotRequired,
            }),
        };
        Self {
            sale_id: row.sale.sale_id,
            invoice_number: row.sale.invoice_number.clone(),
            customer_name: row.sale.customer.as_ref().map(|c| c.name.clone()),
            outlet_id: row.sale.outlet_id,
            delivery_mode: row.sale.delivery_mode,
            line_number: line.line_number,
            parent_line: line.parent_line(),
            sku: line.sku.clone(),
            product_name: line.product_name.clone(),
            quantity: line.quantity,
            serial,
        }
    }

    /// The line's cells, in the order of its list's headers (the serial cell only when the
    /// list shows serials).
    pub fn cells(&self) -> Vec<String> {
        let mut cells = vec![
            self.invoice_number.clone(),
            self.customer_name.clone().unwrap_or_default(),
            self.delivery_mode.full_name().to_owned(),
            self.line_number.to_string(),
            self.parent_line
                .map(|line| line.to_string())
                .unwrap_or_default(),
            self.sku.clone(),
            self.product_name.clone(),
            self.quantity.to_string(),
        ];
        if let Some(serial) = &self.serial {
            cells.push(serial.cell());
        }
        cells
    }
}

/// A page of a pick list: the fulfilment report's rows for `filter`, as pick-list lines of
/// `kind`, with the report's cursors.
pub async fn pick_list(
    db: &ReadDb,
    tenant: TenantId,
    filter: &FulfilmentFilter,
    kind: PickListKind,
    page: &PageRequest,
) -> Result<Page<PickListLine>, QueryError> {
    let report = fulfilment_report(db, tenant, filter, page).await?;
    Ok(report.map(|row| PickListLine::from_report_line(&row, kind)))
}
