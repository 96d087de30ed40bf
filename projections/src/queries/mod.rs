//! The read models' queries: what the APIs and exports answer from the projections' tables.
//!
//! - [`pos`]: the POS order view of one sale (lines, indicators, can it be fulfilled now).
//! - [`fulfilment`]: the fulfilment report (every unfulfilled line) and the pick lists built
//!   from it.
//! - [`sales`]: the sales report and the sales detail export: one query over sold lines,
//!   two row shapes.
//! - [`products`]: product search (the catalogue), by id, SKU, search text and serial mode.
//! - [`trace`]: per-serial traceability: status, holder and full history of a serial;
//!   search by exact serial or by prefix.
//!
//! Every function takes the [`ReadDb`](crate::ReadDb) and a [`TenantId`] first, and every
//! statement is confined to that tenant: no query can return another retailer's rows.
//! Serial text given as a filter goes through [`domain::serial::SerialNumber::parse`], the
//! normalisation every stored serial went through, so `" abc-1 "` finds `ABC-1`.
//!
//! Lists that can grow are keyset-paged ([`PageRequest`] in, [`Page`] out, Relay-shaped):
//! ordered by (sale opened at, sale id, line number), a unique and stable key, so pages
//! concatenate to the whole list with no duplicates even while rows are added, and a page
//! costs the same wherever it starts. Cursors are opaque.
//!
//! Times are stored as microseconds since the Unix epoch and returned as UTC
//! [`OffsetDateTime`]s; money is integer minor units with its currency.

pub mod fulfilment;
pub mod pos;
pub mod products;
pub mod sales;
pub mod trace;

use crate::sales::{LINES, LineRow, SALES, SaleRow};
use crate::stored::{self, StoredValueError};
use domain::indicator::{SerialIndicator, serial_indicator};
use domain::serial::{SerialError, SerialNumber};
use event_schemas::{
    Customer, CustomerId, DeliveryMode, LineNumber, LinePackage, Money, OutletId, PackageMode,
    ProductId, SaleId, SaleType, SerialMode, TenantId,
};
use std::sync::LazyLock;
use time::OffsetDateTime;
use uuid::Uuid;

/// A line's status: the domain's, the one definition (its `code()` is what `rm_sale_lines`
/// stores). Re-exported here, where the queries' row types are.
pub use domain::sale::LineStatus;

/// The most rows one page may hold; a larger `first` is capped to it.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The read-model database failed. `UNAVAILABLE` (HTTP 503, retry later) when it cannot
    /// be reached, `INTERNAL` (500) otherwise; details go to the log, not to the client.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A serial number given as a filter is not a valid serial; the error names the rule.
    /// `INVALID_SERIAL`, HTTP 400.
    #[error("invalid serial number filter: {0}")]
    InvalidSerial(#[from] SerialError),
    /// The `after` cursor was not given out by this list. `VALIDATION`, HTTP 400.
    #[error(
        "after is not a cursor this list gave out: pass a cursor of the previous page, or none to start again from the first page"
    )]
    InvalidCursor,
    /// A filter breaks a rule (a blank SKU, a date range that ends before it starts).
    /// `VALIDATION`, HTTP 400.
    #[error("{field} {rule}")]
    InvalidFilter {
        /// The filter, as the API names it (`sku`, `opened_before`, ...).
        field: &'static str,
        /// The rule it breaks, a sentence ending "{field} ...".
        rule: String,
    },
    /// A stored value cannot be read back (an unknown enum code, an id that is not a UUID):
    /// the read model holds data this build does not know. `INTERNAL`, HTTP 500.
    #[error("stored {column} {value:?} cannot be read")]
    StoredValue {
        /// The column.
        column: &'static str,
        /// The value as stored.
        value: String,
    },
}

impl QueryError {
    /// The stable API code: `INVALID_SERIAL` or `VALIDATION` for bad input (HTTP 400),
    /// `UNAVAILABLE` (503) when the database cannot be reached, else `INTERNAL` (500).
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::InvalidSerial(error) => error.code(),
            QueryError::InvalidCursor | QueryError::InvalidFilter { .. } => "VALIDATION",
            QueryError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_),
            ) => "UNAVAILABLE",
            QueryError::Database(_) | QueryError::StoredValue { .. } => "INTERNAL",
        }
    }

    fn stored(column: &'static str, value: impl ToString) -> Self {
        StoredValueError::new(column, value).into()
    }
}

impl From<StoredValueError> for QueryError {
    fn from(error: StoredValueError) -> Self {
        QueryError::StoredValue {
            column: error.column,
            value: error.value,
        }
    }
}

// ---- paging ---------------------------------------------------------------------------------

/// Which page of a list to read: the first `first` rows after the cursor `after` (from the
/// start when `None`). Relay's forward pagination arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// How many rows; capped at [`MAX_PAGE_SIZE`]. Zero reads no rows but still answers
    /// whether there are any.
    pub first: u32,
    /// The cursor of the last row already read, as given out in a [`Page`].
    pub after: Option<String>,
}

impl PageRequest {
    /// The first `first` rows.
    pub fn first(first: u32) -> Self {
        Self { first, after: None }
    }

    /// The same page size, after `cursor`.
    pub fn after(self, cursor: impl Into<String>) -> Self {
        Self {
            after: Some(cursor.into()),
            ..self
        }
    }

    /// The page size actually used.
    pub fn size(&self) -> u32 {
        self.first.min(MAX_PAGE_SIZE)
    }

    /// The SQL `LIMIT`: one row more than the page, to know whether another page follows.
    fn limit(&self) -> i64 {
        i64::from(self.size()) + 1
    }
}

impl Default for PageRequest {
    /// The first 50 rows.
    fn default() -> Self {
        Self::first(50)
    }
}

/// One row of a page with its cursor (a Relay edge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge<T> {
    /// Opaque; pass it as [`PageRequest::after`] to read on from this row.
    pub cursor: String,
    /// The row.
    pub node: T,
}

/// A page of a keyset-paged list (a Relay connection without its total).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows, in the list's order.
    pub edges: Vec<Edge<T>>,
    /// Whether rows follow the last one of this page.
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// The cursor of the last row (Relay's `pageInfo.endCursor`).
    pub fn end_cursor(&self) -> Option<&str> {
        self.edges.last().map(|edge| edge.cursor.as_str())
    }

    /// The rows without their cursors.
    pub fn nodes(&self) -> impl Iterator<Item = &T> {
        self.edges.iter().map(|edge| &edge.node)
    }

    /// The rows, owned, without their cursors.
    pub fn into_nodes(self) -> Vec<T> {
        self.edges.into_iter().map(|edge| edge.node).collect()
    }

    /// The same page with each row converted.
    pub fn map<U>(self, mut convert: impl FnMut(T) -> U) -> Page<U> {
        Page {
            edges: self
                .edges
                .into_iter()
                .map(|edge| Edge {
                    cursor: edge.cursor,
                    node: convert(edge.node),
                })
                .collect(),
            has_next_page: self.has_next_page,
        }
    }
}

/// The keyset of the line lists: (sale opened at, sale id, line number), unique per tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LineKey {
    opened_at: i64,
    sale_id: String,
    line_number: i64,
}

/// The tag that starts every line-list cursor, so a cursor of another shape (or of a later
/// format) is refused instead of misread.
const LINE_CURSOR_TAG: &str = "line-v1";

impl LineKey {
    /// The opaque cursor: hex of `line-v1|opened_at|sale_id|line_number`.
    fn encode(&self) -> String {
        hex::encode(format!(
            "{LINE_CURSOR_TAG}|{}|{}|{}",
            self.opened_at, self.sale_id, self.line_number
        ))
    }

    fn decode(cursor: &str) -> Result<Self, QueryError> {
        let bytes = hex::decode(cursor).map_err(|_| QueryError::InvalidCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| QueryError::InvalidCursor)?;
        let mut parts = text.split('|');
        let (Some(LINE_CURSOR_TAG), Some(opened_at), Some(sale_id), Some(line_number), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(QueryError::InvalidCursor);
        };
        let sale_id = Uuid::parse_str(sale_id).map_err(|_| QueryError::InvalidCursor)?;
        Ok(Self {
            opened_at: opened_at.parse().map_err(|_| QueryError::InvalidCursor)?,
            sale_id: sale_id.to_string(),
            line_number: line_number.parse().map_err(|_| QueryError::InvalidCursor)?,
        })
    }

    /// The three keyset parameters: all `NULL` for the first page.
    fn params(after: Option<&LineKey>) -> (Option<i64>, Option<String>, Option<i64>) {
        match after {
            Some(key) => (
                Some(key.opened_at),
                Some(key.sale_id.clone()),
                Some(key.line_number),
            ),
            None => (None, None, None),
        }
    }
}

/// Decodes the cursor of a page request, if any.
fn after_key(page: &PageRequest) -> Result<Option<LineKey>, QueryError> {
    page.after.as_deref().map(LineKey::decode).transpose()
}

/// Turns the `limit()` rows fetched for `page` into a page.
fn line_page(page: &PageRequest, mut rows: Vec<ReportRow>) -> Result<Page<ReportLine>, QueryError> {
    let size = usize::try_from(page.size()).unwrap_or(usize::MAX);
    let has_next_page = rows.len() > size;
    rows.truncate(size);
    let edges = rows
        .into_iter()
        .map(|row| {
            let cursor = row.key().encode();
            Ok(Edge {
                cursor,
                node: row.into_report_line()?,
            })
        })
        .collect::<Result<_, QueryError>>()?;
    Ok(Page {
        edges,
        has_next_page,
    })
}

// ---- filters --------------------------------------------------------------------------------

/// A half-open range of times `[from, before)`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// From this time, inclusive.
    pub from: Option<OffsetDateTime>,
    /// Before this time (exclusive).
    pub before: Option<OffsetDateTime>,
}

impl TimeRange {
    /// The range as bound parameters (microseconds), checked to be non-empty.
    fn params(
        &self,
        from_field: &'static str,
        before_field: &'static str,
    ) -> Result<(Option<i64>, Option<i64>), QueryError> {
        let from = self.from.map(|time| micros(time, from_field)).transpose()?;
        let before = self
            .before
            .map(|time| micros(time, before_field))
            .transpose()?;
        if matches!((from, before), (Some(from), Some(before)) if before < from) {
            return Err(QueryError::InvalidFilter {
                field: before_field,
                rule: format!("must not be before {from_field}"),
            });
        }
        Ok((from, before))
    }
}

fn micros(time: OffsetDateTime, field: &'static str) -> Result<i64, QueryError> {
    stored::micros(time).ok_or_else(|| QueryError::InvalidFilter {
        field,
        rule: "is out of range".to_owned(),
    })
}

/// A serial filter, normalised as the domain normalises serials: trimmed, validated,
/// upper-cased. Invalid text is [`QueryError::InvalidSerial`], naming the rule.
fn serial_param(raw: Option<&str>) -> Result<Option<String>, QueryError> {
    Ok(raw
        .map(SerialNumber::parse)
        .transpose()?
        .map(SerialNumber::into_string))
}

/// A SKU filter: trimmed, and not blank.
fn sku_param(raw: Option<&str>) -> Result<Option<String>, QueryError> {
    raw.map(|sku| {
        let sku = sku.trim();
        if sku.is_empty() {
            Err(QueryError::InvalidFilter {
                field: "sku",
                rule: "must not be blank".to_owned(),
            })
        } else {
            filter_text("sku", sku)?;
            Ok(sku.to_owned())
        }
    })
    .transpose()
}

/// The most characters a search text may have (the longest product name); longer text
/// could match nothing, and SQLite refuses `LIKE` patterns past 50,000 bytes.
pub const MAX_SEARCH_LENGTH: usize = 200;

/// Refuses text no stored value can hold before it reaches SQL: a control character (stored
/// text never has one; PostgreSQL refuses NUL outright and SQLite cuts text at it, so
/// `A\0` would match like `A`).
pub(crate) fn filter_text(field: &'static str, text: &str) -> Result<(), QueryError> {
    match text.chars().position(char::is_control) {
        Some(index) => Err(QueryError::InvalidFilter {
            field,
            rule: format!(
                "must not contain control characters (found one at character {})",
                index + 1
            ),
        }),
        None => Ok(()),
    }
}

// ---- rows -----------------------------------------------------------------------------------

/// A sale's header, as the lists show it beside each line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleHeader {
    /// The sale.
    pub sale_id: SaleId,
    /// Its invoice number.
    pub invoice_number: String,
    /// Sale, special order or lay-by.
    pub sale_type: SaleType,
    /// How the goods reach the customer.
    pub delivery_mode: DeliveryMode,
    /// The outlet the sale belongs to.
    pub outlet_id: OutletId,
    /// The customer, when known.
    pub customer: Option<Customer>,
    /// When the sale was opened (the sale's date in reports).
    pub opened_at: OffsetDateTime,
}

/// The returned line of an earlier sale that a line re-issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReissueOf {
    /// The earlier sale.
    pub sale_id: SaleId,
    /// Its invoice number.
    pub invoice_number: String,
    /// The returned line.
    pub line_number: LineNumber,
}

/// A sale line as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineView {
    /// The line's number within its sale.
    pub line_number: LineNumber,
    /// The product sold.
    pub product_id: ProductId,
    /// The product's SKU when the line was added.
    pub sku: String,
    /// The product's name when the line was added.
    pub product_name: String,
    /// Units on the line (always 1 on serial-tracked lines).
    pub quantity: u32,
    /// Price of one unit.
    pub unit_price: Money,
    /// The serial mode the line was added with.
    pub serial_mode: SerialMode,
    /// The serial it holds (a returned unit keeps the serial it came back with).
    pub serial: Option<String>,
    /// The POS indicator, computed from the mode and the serial (never stored).
    pub indicator: SerialIndicator,
    /// Open, fulfilled, returned, cancelled or removed.
    pub status: LineStatus,
    /// Its place in a package: a package line (with the package's mode) or a component of
    /// the package line it names.
    pub package: Option<LinePackage>,
    /// The returned line this line re-issues, if it is a re-issue.
    pub reissue_of: Option<ReissueOf>,
    /// When the line was added.
    pub added_at: OffsetDateTime,
    /// When it was fulfilled.
    pub fulfilled_at: Option<OffsetDateTime>,
    /// When its unit came back.
    pub returned_at: Option<OffsetDateTime>,
    /// When it was cancelled or removed.
    pub cancelled_at: Option<OffsetDateTime>,
    /// The amount refunded, when returned.
    pub refund: Option<Money>,
}

impl LineView {
    /// The package line this line is a component of.
    pub fn parent_line(&self) -> Option<LineNumber> {
        match self.package {
            Some(LinePackage::Component { parent_line }) => Some(parent_line),
            _ => None,
        }
    }

    /// Whether the line waits for a serial before it can be fulfilled: open, REQUIRED and
    /// without a serial.
    pub fn is_pending_serial(&self) -> bool {
        self.status == LineStatus::Open
            && self.serial_mode == SerialMode::Required
            && self.serial.is_none()
    }

    /// Unit price times quantity, in the line's currency.
    pub fn line_total(&self) -> Money {
        Money {
            amount_minor: self
                .unit_price
                .amount_minor
                .saturating_mul(i64::from(self.quantity)),
            currency: self.unit_price.currency.clone(),
        }
    }
}

/// A line with its sale's header: a row of the fulfilment report and of the sales report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// The sale.
    pub sale: SaleHeader,
    /// The line.
    pub line: LineView,
}

/// The start of every line query, up to its `WHERE`: every column of `rm_sales s` and of
/// `rm_sale_lines l` (the join columns once), the columns of a [`ReportRow`]. Built once
/// from the tables' declarations, so a column added to a table is read here too.
static SELECT_LINES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {} FROM rm_sale_lines l \
         JOIN rm_sales s ON s.tenant_id = l.tenant_id AND s.sale_id = l.sale_id ",
        SALES.qualified_columns("s", &[]),
        LINES.qualified_columns("l", SALES.columns),
    )
});

/// A line query: [`SELECT_LINES`] followed by `rest` (its `WHERE`, order and limit).
fn select_lines(rest: &str) -> String {
    format!("{}{rest}", *SELECT_LINES)
}

/// A row of [`SELECT_LINES`]: a line with its sale.
#[derive(Debug, sqlx::FromRow)]
struct ReportRow {
    #[sqlx(flatten)]
    sale: SaleRow,
    #[sqlx(flatten)]
    line: LineRow,
}

impl SaleRow {
    fn header(&self) -> Result<SaleHeader, QueryError> {
        let customer = match &self.customer_id {
            Some(id) => Some(Customer {
                customer_id: CustomerId(stored::uuid("customer_id", id)?),
                name: self.customer_name.clone().unwrap_or_default(),
            }),
            None => None,
        };
        Ok(SaleHeader {
            sale_id: SaleId(stored::uuid("sale_id", &self.sale_id)?),
            invoice_number: self.invoice_number.clone(),
            sale_type: stored::code("sale_type", &self.sale_type)?,
            delivery_mode: stored::code("delivery_mode", &self.delivery_mode)?,
            outlet_id: OutletId(stored::uuid("outlet_id", &self.outlet_id)?),
            customer,
            opened_at: stored::time("opened_at", self.opened_at)?,
        })
    }
}

impl LineRow {
    fn line(self) -> Result<LineView, QueryError> {
        let serial_mode: SerialMode = stored::code("serial_mode", &self.serial_mode)?;
        let status = LineStatus::from_code(&self.status)
            .ok_or_else(|| QueryError::stored("status", &self.status))?;
        let package = match (self.package_role.as_deref(), self.package_mode.as_deref()) {
            (None, _) => None,
            (Some("PACKAGE"), Some(mode)) => Some(LinePackage::Package {
                mode: stored::code::<PackageMode>("package_mode", mode)?,
            }),
            (Some("COMPONENT"), _) => {
                let parent = self
                    .parent_line
                    .ok_or_else(|| QueryError::stored("parent_line", "NULL"))?;
                Some(LinePackage::Component {
                    parent_line: stored::line_number("parent_line", parent)?,
                })
            }
            (Some(role), _) => return Err(QueryError::stored("package_role", role)),
        };
        let reissue_of = match (
            &self.reissue_of_sale_id,
            &self.reissue_of_invoice,
            self.reissue_of_line,
        ) {
            (Some(sale), Some(invoice), Some(line)) => Some(ReissueOf {
                sale_id: SaleId(stored::uuid("reissue_of_sale_id", sale)?),
                invoice_number: invoice.clone(),
                line_number: stored::line_number("reissue_of_line", line)?,
            }),
            _ => None,
        };
        let refund = self.refund_minor.map(|amount_minor| Money {
            amount_minor,
            currency: self.currency.clone(),
        });
        Ok(LineView {
            line_number: stored::line_number("line_number", self.line_number)?,
            product_id: ProductId(stored::uuid("product_id", &self.product_id)?),
            sku: self.sku,
            product_name: self.product_name,
            quantity: stored::integer("quantity", self.quantity)?,
            unit_price: Money {
                amount_minor: self.unit_price_minor,
                currency: self.currency,
            },
            indicator: serial_indicator(serial_mode, self.serial.is_some()),
            serial_mode,
            serial: self.serial,
            status,
            package,
            reissue_of,
            added_at: stored::time("added_at", self.added_at)?,
            fulfilled_at: stored::optional_time("fulfilled_at", self.fulfilled_at)?,
            returned_at: stored::optional_time("returned_at", self.returned_at)?,
            cancelled_at: stored::optional_time("cancelled_at", self.cancelled_at)?,
            refund,
        })
    }
}

impl ReportRow {
    /// The row's place in the line lists' order.
    fn key(&self) -> LineKey {
        LineKey {
            opened_at: self.sale.opened_at,
            sale_id: self.sale.sale_id.clone(),
            line_number: self.line.line_number,
        }
    }

    fn into_report_line(self) -> Result<ReportLine, QueryError> {
        Ok(ReportLine {
            sale: self.sale.header()?,
            line: self.line.line()?,
        })
    }
}

fn tenant_param(tenant: TenantId) -> String {
    tenant.to_string()
}

/// Every row of a keyset-paged query, read a page of [`MAX_PAGE_SIZE`] rows at a time, in
/// order. For exports of bounded sets (open lines, a pick list); unbounded ranges stream
/// instead (see `sales::sales_detail_stream`).
pub async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, QueryError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, QueryError>>,
{
    let mut rows = Vec::new();
    let mut request = PageRequest::first(MAX_PAGE_SIZE);
    loop {
        let next = page(request.clone()).await?;
        let cursor = next.end_cursor().map(str::to_owned);
        let more = next.has_next_page;
        rows.extend(next.into_nodes());
        match cursor {
            Some(cursor) if more => request = request.after(cursor),
            _ => return Ok(rows),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_query_selects_every_column_of_the_sale_and_of_the_line_once() {
        let select = select_lines("WHERE l.tenant_id = $1");
        let columns = select
            .strip_prefix("SELECT ")
            .and_then(|rest| rest.split(" FROM ").next())
            .unwrap_or_default();
        let names: Vec<&str> = columns
            .split(", ")
            .filter_map(|column| column.split_once('.'))
            .map(|(_, name)| name)
            .collect();
        let mut expected: Vec<&str> = SALES.columns.to_vec();
        expected.extend(
            LINES
                .columns
                .iter()
                .filter(|column| !SALES.columns.contains(column)),
        );
        assert_eq!(names, expected);
        assert!(select.ends_with(
            "FROM rm_sale_lines l JOIN rm_sales s \
             ON s.tenant_id = l.tenant_id AND s.sale_id = l.sale_id WHERE l.tenant_id = $1"
        ));
    }

    #[test]
    fn a_stored_line_status_the_build_does_not_know_is_a_stored_value_error() {
        let row = LineRow {
            status: "SHIPPED".to_owned(),
            serial_mode: "DISABLED".to_owned(),
            ..LineRow::default()
        };
        assert!(matches!(
            row.line(),
            Err(QueryError::StoredValue { column: "status", value }) if value == "SHIPPED"
        ));
    }
}
