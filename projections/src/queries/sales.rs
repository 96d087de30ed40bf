//! The sales report and the sales detail export: one query over sold lines, two row shapes.
//!
//! A line is *sold* when it is OPEN (on a sale, not yet handed over), FULFILLED or RETURNED
//! (sold, then refunded: the report keeps it, with its refund, so a returned serial can still
//! be traced to its buyer). CANCELLED lines (called off before fulfilment) and REMOVED lines
//! (corrections while building the sale) were never sold and are left out.
//!
//! Filters: the product serial number (exact, normalised as the domain normalises serials,
//! so whatever case or surrounding whitespace is typed finds the line), product, SKU, outlet
//! and when the sale was opened (the sale's date). Rows come in (sale opened at, sale id,
//! line number) order, keyset-paged; [`sales_detail_stream`] walks every page for exports.
//!
//! The sales detail export's columns are [`SalesDetailRow::HEADERS`]; a row gives its cells
//! in that order ([`SalesDetailRow::cells`]), so a CSV or XLSX writer needs to know nothing
//! of the columns.

use super::{
    LineKey, LineStatus, Page, PageRequest, QueryError, ReportLine, ReportRow, TimeRange,
    after_key, line_page, select_lines, serial_param, sku_param, tenant_param,
};
use crate::db::ReadDb;
use crate::fetch_all;
use event_schemas::{
    DeliveryMode, LineNumber, Money, OutletId, ProductId, SaleId, SaleType, TenantId,
};
use futures::Stream;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What the sales report (and the sales detail export) shows; every field narrows it,
/// `Default` shows every sold line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SalesFilter {
    /// "Product Serial Number": the serial as typed or scanned; normalised before matching.
    pub serial: Option<String>,
    /// Only lines of this product.
    pub product_id: Option<ProductId>,
    /// Only lines of this SKU (as recorded on the line; trimmed, exact).
    pub sku: Option<String>,
    /// Only sales of this outlet.
    pub outlet_id: Option<OutletId>,
    /// Only sales opened in this range (`opened_from`, `opened_before`).
    pub opened: TimeRange,
}

/// A page of the sales report: sold lines of `tenant` matching `filter`.
pub async fn sales_report(
    db: &ReadDb,
    tenant: TenantId,
    filter: &SalesFilter,
    page: &PageRequest,
) -> Result<Page<ReportLine>, QueryError> {
    let serial = serial_param(filter.serial.as_deref())?;
    let sku = sku_param(filter.sku.as_deref())?;
    let (opened_from, opened_before) = filter.opened.params("opened_from", "opened_before")?;
    let after = after_key(page)?;
    let (after_opened, after_sale, after_line) = LineKey::params(after.as_ref());
    // A serial is matched by a plain `l.serial = $5` when one is given: SQLite plans a
    // statement once for every value, and `($5 IS NULL OR l.serial = $5)` kept it from the
    // serial index (it walked every sale in date order: 9.6 s at 10M lines, found by the
    // console benchmark). Both forms bind the same parameters.
    let serial_condition = if serial.is_some() {
        "l.serial = $5"
    } else {
        "$5 IS NULL"
    };
    let rows = fetch_all!(
        db,
        ReportRow,
        &select_lines(&format!(
            "WHERE l.tenant_id = $1 AND l.status IN ($2, $3, $4) \
             AND {serial_condition} \
             AND ($6 IS NULL OR l.product_id = $6) \
             AND ($7 IS NULL OR l.sku = $7) \
             AND ($8 IS NULL OR s.outlet_id = $8) \
             AND ($9 IS NULL OR s.opened_at >= $9) \
             AND ($10 IS NULL OR s.opened_at < $10) \
             AND ($11 IS NULL OR (s.opened_at, s.sale_id, l.line_number) > ($11, $12, $13)) \
             ORDER BY s.opened_at, s.sale_id, l.line_number \
             LIMIT $14"
        )),
        tenant_param(tenant),
        LineStatus::Open.code(),
        LineStatus::Fulfilled.code(),
        LineStatus::Returned.code(),
        serial,
        filter.product_id.map(|id| id.to_string()),
        sku,
        filter.outlet_id.map(|id| id.to_string()),
        opened_from,
        opened_before,
        after_opened,
        after_sale,
        after_line,
        page.limit(),
    )?;
    line_page(page, rows)
}

/// A row of the sales detail export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesDetailRow {
    /// When the sale was opened.
    pub date: OffsetDateTime,
    /// The sale.
    pub sale_id: SaleId,
    /// Its invoice number.
    pub invoice_number: String,
    /// The line.
    pub line_number: LineNumber,
    /// Sale, special order or lay-by; shown with [`SaleType::label`].
    pub sale_type: SaleType,
    /// The customer's name, when known.
    pub customer_name: Option<String>,
    /// The outlet.
    pub outlet_id: OutletId,
    /// The product.
    pub product_id: ProductId,
    /// The product's name on the line.
    pub product_name: String,
    /// The SKU on the line.
    pub sku: String,
    /// Units.
    pub quantity: u32,
    /// Price of one unit.
    pub unit_price: Money,
    /// Unit price times quantity.
    pub line_total: Money,
    /// The amount refunded, when returned.
    pub refund: Option<Money>,
    /// Open, fulfilled or returned.
    pub status: LineStatus,
    /// The serial sold on the line.
    pub serial: Option<String>,
    /// How the goods reach the customer; shown with its full name
    /// ([`DeliveryMode::full_name`]: never blank, "Cash and Carry" included).
    pub delivery_mode: DeliveryMode,
}

impl SalesDetailRow {
    /// The export's columns, in order. As the spec asks: "Serial Number" and "Sale Type"
    /// are columns, and "Delivery Mode" (its full name) is right beside "Serial Number".
    /// Amounts are integer minor units of the row's "Currency".
    pub const HEADERS: [&'static str; 16] = [
        "Date",
        "Invoice Number",
        "Line",
        "Sale Type",
        "Customer",
        "Outlet",
        "Product",
        "SKU",
        "Quantity",
        "Unit Price (Minor Units)",
        "Line Total (Minor Units)",
        "Refund (Minor Units)",
        "Currency",
        "Status",
        "Serial Number",
        "Delivery Mode",
    ];

    /// A sold line as an export row.
    pub fn from_report_line(row: ReportLine) -> Self {
        let ReportLine { sale, line } = row;
        Self {
            date: sale.opened_at,
            sale_id: sale.sale_id,
            invoice_number: sale.invoice_number,
            line_number: line.line_number,
            sale_type: sale.sale_type,
            customer_name: sale.customer.map(|customer| customer.name),
            outlet_id: sale.outlet_id,
            line_total: line.line_total(),
            product_id: line.product_id,
            product_name: line.product_name,
            sku: line.sku,
            quantity: line.quantity,
            unit_price: line.unit_price,
            refund: line.refund,
            status: line.status,
            serial: line.serial,
            delivery_mode: sale.delivery_mode,
        }
    }

    /// The row's cells, in the order of [`Self::HEADERS`]. The date is RFC 3339 in UTC;
    /// absent values (no customer, no refund, no serial) are empty cells.
    pub fn cells(&self) -> [String; 16] {
        [
            self.date.format(&Rfc3339).unwrap_or_default(),
            self.invoice_number.clone(),
            self.line_number.to_string(),
            self.sale_type.label().to_owned(),
            self.customer_name.clone().unwrap_or_default(),
            self.outlet_id.to_string(),
            self.product_name.clone(),
            self.sku.clone(),
            self.quantity.to_string(),
            self.unit_price.amount_minor.to_string(),
            self.line_total.amount_minor.to_string(),
            self.refund
                .as_ref()
                .map(|refund| refund.amount_minor.to_string())
                .unwrap_or_default(),
            self.unit_price.currency.clone(),
            status_label(self.status).to_owned(),
            self.serial.clone().unwrap_or_default(),
            self.delivery_mode.full_name().to_owned(),
        ]
    }
}

/// A line's status as the export's "Status" column shows it ("Open", "Fulfilled", ...):
/// capitalised, where the domain's [`LineStatus::label`] is the lower-case word of messages.
pub fn status_label(status: LineStatus) -> &'static str {
    match status {
        LineStatus::Open => "Open",
        LineStatus::Fulfilled => "Fulfilled",
        LineStatus::Returned => "Returned",
        LineStatus::Cancelled => "Cancelled",
        LineStatus::Removed => "Removed",
    }
}

/// A page of the sales detail export: the sales report's rows for `filter` as export rows,
/// with the report's cursors.
pub async fn sales_detail(
    db: &ReadDb,
    tenant: TenantId,
    filter: &SalesFilter,
    page: &PageRequest,
) -> Result<Page<SalesDetailRow>, QueryError> {
    let report = sales_report(db, tenant, filter, page).await?;
    Ok(report.map(SalesDetailRow::from_report_line))
}

/// Every row of the sales detail export for `filter`, read a page of `page_size` rows (at
/// most [`MAX_PAGE_SIZE`](super::MAX_PAGE_SIZE)) at a time, so a large range never sits in
/// memory whole. Each page is its own query: rows added while the stream runs appear if
/// they sort after the rows already read. The stream ends after the first error.
pub fn sales_detail_stream(
    db: ReadDb,
    tenant: TenantId,
    filter: SalesFilter,
    page_size: u32,
) -> impl Stream<Item = Result<SalesDetailRow, QueryError>> {
    struct State {
        db: ReadDb,
        filter: SalesFilter,
        next: Option<PageRequest>,
    }
    let state = State {
        db,
        filter,
        next: Some(PageRequest::first(page_size.max(1))),
    };
    let pages = futures::stream::unfold(state, move |mut state| async move {
        let request = state.next.take()?;
        match sales_detail(&state.db, tenant, &state.filter, &request).await {
            Ok(page) => {
                state.next = match page.end_cursor() {
                    Some(cursor) if page.has_next_page => Some(request.after(cursor)),
                    _ => None,
                };
                let rows: Vec<_> = page.into_nodes().into_iter().map(Ok).collect();
                Some((futures::stream::iter(rows), state))
            }
            Err(error) => Some((futures::stream::iter(vec![Err(error)]), state)),
        }
    });
    futures::StreamExt::flatten(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_shows_each_line_status_capitalised() {
        assert_eq!(
            LineStatus::ALL.map(status_label),
            ["Open", "Fulfilled", "Returned", "Cancelled", "Removed"]
        );
    }
}
