//! Per-serial traceability: where a unit is now, who bought it and when, and every event
//! that ever touched it, from the serials projection (`rm_serials`, `rm_serial_history`).
//!
//! A unit is a (product, serial): the same serial text on two products is two units, so a
//! search by serial alone returns each. Searches normalise the text with
//! [`SerialNumber::parse`] (trim, validate, upper-case) exactly as every stored serial was
//! normalised; invalid text is [`QueryError::InvalidSerial`], naming the rule.
//!
//! The prefix search normalises the prefix the same way and reads the byte-wise range
//! `serial >= prefix AND serial < next(prefix)`, where `next` increments the last byte: the
//! serial columns compare byte-wise on both backends (SQLite's `BINARY`, PostgreSQL's
//! `COLLATE "C"`), so the range is exactly the serials starting with the prefix and is read
//! from the `(tenant_id, serial)` index.

use super::{MAX_PAGE_SIZE, QueryError, sku_param, tenant_param};
use crate::db::ReadDb;
use crate::serials::{HISTORY, SERIALS, SerialRow};
use crate::stored::{self, line_number, optional_time, uuid};
use crate::{fetch_all, serial_status};
use domain::serial::SerialNumber;
use event_schemas::{Customer, CustomerId, LineNumber, OutletId, ProductId, SaleId, TenantId};
use std::sync::LazyLock;
use store::Position;
use time::OffsetDateTime;

/// Where a unit is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialStatus {
    /// On a line that is not fulfilled yet.
    Allocated,
    /// Left with the customer.
    Fulfilled,
    /// Came back and was refunded.
    Returned,
    /// Taken off its line before fulfilment (serial removed, line cancelled or removed).
    Released,
}

impl SerialStatus {
    /// The stored code (`ALLOCATED`, `FULFILLED`, `RETURNED`, `RELEASED`).
    pub fn code(self) -> &'static str {
        match self {
            SerialStatus::Allocated => serial_status::ALLOCATED,
            SerialStatus::Fulfilled => serial_status::FULFILLED,
            SerialStatus::Returned => serial_status::RETURNED,
            SerialStatus::Released => serial_status::RELEASED,
        }
    }

    /// Reads a stored code back.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            SerialStatus::Allocated,
            SerialStatus::Fulfilled,
            SerialStatus::Returned,
            SerialStatus::Released,
        ]
        .into_iter()
        .find(|status| status.code() == code)
    }
}

/// A unit as it stands now: its status and its last holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialRecord {
    /// The product.
    pub product_id: ProductId,
    /// The serial, normalised.
    pub serial: String,
    /// The product's SKU on the line that last held the serial.
    pub sku: String,
    /// The product's name on that line.
    pub product_name: String,
    /// Where the unit is now.
    pub status: SerialStatus,
    /// The sale that holds it (or last held it: bought it, returned it, released it).
    pub sale_id: SaleId,
    /// That sale's invoice number.
    pub invoice_number: String,
    /// The line.
    pub line_number: LineNumber,
    /// The sale's outlet.
    pub outlet_id: OutletId,
    /// The sale's customer, when known: who holds or bought the unit.
    pub customer: Option<Customer>,
    /// When the serial was recorded on that line.
    pub allocated_at: OffsetDateTime,
    /// When that line was fulfilled.
    pub fulfilled_at: Option<OffsetDateTime>,
    /// When the unit came back from that line.
    pub returned_at: Option<OffsetDateTime>,
}

/// One event that touched a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialEvent {
    /// The event's position in the log (read it with the store for its full envelope).
    pub position: Position,
    /// Its global position (`position.prepare`).
    pub global_position: u64,
    /// Its type: `SerialAssigned`, `SerialRemoved`, `LineFulfilled`, `LineReturned`,
    /// `LineCancelled`, `LineRemoved`, `LineReissued`.
    pub event_type: String,
    /// The sale it happened on.
    pub sale_id: SaleId,
    /// That sale's invoice number.
    pub invoice_number: String,
    /// The line.
    pub line_number: LineNumber,
    /// When it was recorded.
    pub recorded_at: OffsetDateTime,
}

/// A unit with its full history, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialTrace {
    /// The unit as it stands now.
    pub record: SerialRecord,
    /// Every event that touched it, oldest first.
    pub history: Vec<SerialEvent>,
}

/// Which product(s) a serial search is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductScope {
    /// Only this product.
    pub product_id: Option<ProductId>,
    /// Only this SKU (as on the line that last held the serial; trimmed, exact).
    pub sku: Option<String>,
}

/// The traces of every unit of `tenant` whose serial is `serial` (as typed or scanned),
/// narrowed to `scope`; ordered by product id. Empty when the serial was never recorded.
pub async fn trace_serial(
    db: &ReadDb,
    tenant: TenantId,
    serial: &str,
    scope: &ProductScope,
) -> Result<Vec<SerialTrace>, QueryError> {
    let serial = SerialNumber::parse(serial)?.into_string();
    let sku = sku_param(scope.sku.as_deref())?;
    // One statement, so record and history come from one snapshot. The history is joined
    // on the parameter, not on `r.serial`: on PostgreSQL `rm_serials.serial` is COLLATE "C"
    // and the history's column is not, so `h.serial = r.serial` has no collation an index
    // can serve and scanned the whole history per lookup (found by the lookup benchmark at
    // 10M serials).
    let rows = fetch_all!(
        db,
        TraceRow,
        &*SELECT_TRACE,
        tenant_param(tenant),
        &serial,
        scope.product_id.map(|id| id.to_string()),
        sku,
    )?;
    let mut traces: Vec<SerialTrace> = Vec::new();
    for row in rows {
        let event = row.event()?;
        let same_unit = traces
            .last()
            .is_some_and(|trace| trace.record.product_id.to_string() == row.record.product_id);
        if !same_unit {
            traces.push(SerialTrace {
                record: row.record.into_record()?,
                history: Vec::new(),
            });
        }
        if let (Some(event), Some(trace)) = (event, traces.last_mut()) {
            trace.history.push(event);
        }
    }
    Ok(traces)
}

/// The sales whose events touched a unit with this serial (already normalised), optionally
/// of one product: where an auditor's replay reads the events themselves.
pub async fn sales_touching_serial(
    db: &ReadDb,
    tenant: TenantId,
    serial: &str,
    product_id: Option<ProductId>,
) -> Result<Vec<SaleId>, QueryError> {
    #[derive(sqlx::FromRow)]
    struct SaleRow {
        sale_id: String,
    }
    // Through rm_serials and its (tenant_id, serial) index, then the history's key prefix
    // (joined on the parameter: see `trace_serial`).
    let rows = fetch_all!(
        db,
        SaleRow,
        "SELECT DISTINCT h.sale_id FROM rm_serials r \
         JOIN rm_serial_history h ON h.tenant_id = r.tenant_id \
         AND h.product_id = r.product_id AND h.serial = $2 \
         WHERE r.tenant_id = $1 AND r.serial = $2 AND ($3 IS NULL OR r.product_id = $3) \
         ORDER BY h.sale_id",
        tenant_param(tenant),
        serial,
        product_id.map(|id| id.to_string()),
    )?;
    rows.iter()
        .map(|row| Ok(SaleId(uuid("sale_id", &row.sale_id)?)))
        .collect()
}

/// The statement of [`trace_serial`]: every column of `rm_serials r` and of the history row
/// joined to it, the history's under `h_` names (`h_event_type`, ...) beside the record's.
/// Its join columns (those of the unit's key) are left out: they equal the record's.
static SELECT_TRACE: LazyLock<String> = LazyLock::new(|| {
    let history: Vec<String> = HISTORY
        .columns
        .iter()
        .filter(|column| !SERIALS.key.contains(column))
        .map(|column| format!("h.{column} AS h_{column}"))
        .collect();
    format!(
        "SELECT {}, {} FROM rm_serials r \
         LEFT JOIN rm_serial_history h ON h.tenant_id = r.tenant_id \
         AND h.product_id = r.product_id AND h.serial = $2 \
         WHERE r.tenant_id = $1 AND r.serial = $2 \
         AND ($3 IS NULL OR r.product_id = $3) AND ($4 IS NULL OR r.sku = $4) \
         ORDER BY r.product_id, h.commit_position, h.global_position",
        SERIALS.qualified_columns("r", &[]),
        history.join(", ")
    )
});

/// Units whose serial starts with a prefix, at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialMatches {
    /// The units, in (serial, product id) order.
    pub records: Vec<SerialRecord>,
    /// Whether more units match than were returned.
    pub truncated: bool,
}

/// Units of `tenant` whose serial starts with `prefix` (as typed; normalised like a serial),
/// narrowed to `scope`, at most `limit` (capped at [`MAX_PAGE_SIZE`]).
pub async fn search_serial_prefix(
    db: &ReadDb,
    tenant: TenantId,
    prefix: &str,
    scope: &ProductScope,
    limit: u32,
) -> Result<SerialMatches, QueryError> {
    let prefix = SerialNumber::parse(prefix)?.into_string();
    let upper = next_prefix(&prefix);
    let sku = sku_param(scope.sku.as_deref())?;
    let limit = limit.min(MAX_PAGE_SIZE);
    let mut rows = fetch_all!(
        db,
        SerialRow,
        &format!(
            "{} WHERE tenant_id = $1 AND serial >= $2 AND serial < $3 \
             AND ($4 IS NULL OR product_id = $4) AND ($5 IS NULL OR sku = $5) \
             ORDER BY serial, product_id LIMIT $6",
            SERIALS.select()
        ),
        tenant_param(tenant),
        &prefix,
        &upper,
        scope.product_id.map(|id| id.to_string()),
        sku,
        i64::from(limit) + 1,
    )?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    Ok(SerialMatches {
        records: rows
            .into_iter()
            .map(SerialRow::into_record)
            .collect::<Result<_, _>>()?,
        truncated,
    })
}

/// The smallest text greater than every text starting with `prefix`: the prefix with its
/// last byte incremented. A normalised serial is printable ASCII (below `0x7F`), so the
/// increment stays ASCII and never carries.
fn next_prefix(prefix: &str) -> String {
    let mut upper: Vec<char> = prefix.chars().collect();
    if let Some(last) = upper.last_mut() {
        *last = char::from_u32(u32::from(*last) + 1).unwrap_or(char::MAX);
    }
    upper.into_iter().collect()
}

impl SerialRow {
    fn into_record(self) -> Result<SerialRecord, QueryError> {
        let customer = match self.customer_id {
            Some(id) => Some(Customer {
                customer_id: CustomerId(uuid("customer_id", &id)?),
                name: self.customer_name.unwrap_or_default(),
            }),
            None => None,
        };
        Ok(SerialRecord {
            product_id: ProductId(uuid("product_id", &self.product_id)?),
            serial: self.serial,
            sku: self.sku,
            product_name: self.product_name,
            status: SerialStatus::from_code(&self.status)
                .ok_or_else(|| QueryError::stored("status", &self.status))?,
            sale_id: SaleId(uuid("sale_id", &self.sale_id)?),
            invoice_number: self.invoice_number,
            line_number: line_number("line_number", self.line_number)?,
            outlet_id: OutletId(uuid("outlet_id", &self.outlet_id)?),
            customer,
            allocated_at: stored::time("allocated_at", self.allocated_at)?,
            fulfilled_at: optional_time("fulfilled_at", self.fulfilled_at)?,
            returned_at: optional_time("returned_at", self.returned_at)?,
        })
    }
}

/// A record joined with one of its history rows (absent only if a record had no history).
#[derive(Debug, sqlx::FromRow)]
struct TraceRow {
    #[sqlx(flatten)]
    record: SerialRow,
    h_commit_position: Option<i64>,
    h_global_position: Option<i64>,
    h_event_type: Option<String>,
    h_sale_id: Option<String>,
    h_invoice_number: Option<String>,
    h_line_number: Option<i64>,
    h_recorded_at: Option<i64>,
}

impl TraceRow {
    fn event(&self) -> Result<Option<SerialEvent>, QueryError> {
        let (
            Some(commit),
            Some(global),
            Some(event_type),
            Some(sale_id),
            Some(invoice_number),
            Some(line),
            Some(recorded_at),
        ) = (
            self.h_commit_position,
            self.h_global_position,
            &self.h_event_type,
            &self.h_sale_id,
            &self.h_invoice_number,
            self.h_line_number,
            self.h_recorded_at,
        )
        else {
            return Ok(None);
        };
        let global_position = stored::integer("global_position", global)?;
        Ok(Some(SerialEvent {
            position: Position {
                commit: stored::integer("commit_position", commit)?,
                prepare: global_position,
            },
            global_position,
            event_type: event_type.clone(),
            sale_id: SaleId(uuid("sale_id", sale_id)?),
            invoice_number: invoice_number.clone(),
            line_number: line_number("line_number", line)?,
            recorded_at: stored::time("recorded_at", recorded_at)?,
        }))
    }
}

/// The most recorded serials a prefix search answers.
pub const MAX_PREFIX_MATCHES: u32 = 100;

/// The distinct serials of `tenant` that start with `prefix` (as typed or scanned, so
/// normalised like a serial), in order, at most `limit` (capped at
/// [`MAX_PREFIX_MATCHES`]): the serial lookup's search as the user types.
pub async fn serials_with_prefix(
    db: &ReadDb,
    tenant: TenantId,
    prefix: &str,
    limit: u32,
) -> Result<Vec<String>, QueryError> {
    #[derive(sqlx::FromRow)]
    struct SerialRow {
        serial: String,
    }
    let prefix = SerialNumber::parse(prefix)?.into_string();
    // A range over the (tenant_id, serial) index: `serial` is COLLATE "C" on PostgreSQL and
    // BINARY on SQLite, so every serial starting with the prefix sorts in
    // [prefix, prefix + U+10FFFF).
    let upper = format!("{prefix}\u{10FFFF}");
    let limit = i64::from(limit.clamp(1, MAX_PREFIX_MATCHES));
    let rows = fetch_all!(
        db,
        SerialRow,
        "SELECT DISTINCT serial FROM rm_serials \
         WHERE tenant_id = $1 AND serial >= $2 AND serial < $3 ORDER BY serial LIMIT $4",
        tenant_param(tenant),
        &prefix,
        &upper,
        limit,
    )?;
    Ok(rows
        .into_iter()
        .map(|row| row.serial)
        .filter(|serial| serial.starts_with(&prefix))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::next_prefix;

    #[test]
    fn the_next_prefix_increments_the_last_character() {
        assert_eq!(next_prefix("AB"), "AC");
        assert_eq!(next_prefix("A9"), "A:");
        assert_eq!(next_prefix("Z"), "[");
    }
}
