//! The POS order view: one sale with its lines as the POS screen shows them.
//!
//! Each line carries its product, SKU, quantity, serial mode, serial, its state (open,
//! fulfilled, returned with its refund, cancelled), the package line it belongs to, and the
//! coloured indicator, computed from the line's mode and serial with
//! [`domain::indicator::serial_indicator`] (never stored). Lines taken off the sale while it
//! was being built (REMOVED) are not shown: they were never part of the sale.
//!
//! The sale can be fulfilled now when at least one line is open and no open REQUIRED line
//! lacks its serial: the rule the decider applies to "fulfil all".

use super::{LineStatus, LineView, QueryError, ReportRow, SaleHeader, select_lines, tenant_param};
use crate::db::ReadDb;
use crate::fetch_all;
use crate::sales::{SALES, SaleRow};
use event_schemas::{SaleId, TenantId};

/// A sale as the POS order screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosOrder {
    /// The sale's header.
    pub sale: SaleHeader,
    /// Its lines in line-number order, REMOVED lines left out.
    pub lines: Vec<LineView>,
    /// Whether "fulfil" can be pressed now: at least one open line, and no open REQUIRED
    /// line without a serial.
    pub can_fulfil_now: bool,
}

impl PosOrder {
    /// The open REQUIRED lines still waiting for a serial (shown RED).
    pub fn lines_pending_serial(&self) -> impl Iterator<Item = &LineView> {
        self.lines.iter().filter(|line| line.is_pending_serial())
    }
}

/// Whether a sale with these lines can be fulfilled now.
pub fn can_fulfil_now(lines: &[LineView]) -> bool {
    lines.iter().any(|line| line.status == LineStatus::Open)
        && !lines.iter().any(LineView::is_pending_serial)
}

/// The POS order view of the sale of `tenant` with this invoice number (ignoring case and
/// surrounding spaces); `None` when the tenant has no such invoice. A blank number, or one
/// with control characters (no invoice number holds one; PostgreSQL refuses NUL and SQLite
/// cuts text at it), is refused naming `invoiceNumber`.
pub async fn pos_order_by_invoice(
    db: &ReadDb,
    tenant: TenantId,
    invoice_number: &str,
) -> Result<Option<PosOrder>, QueryError> {
    let invoice = invoice_number.trim();
    if invoice.is_empty() {
        return Err(QueryError::InvalidFilter {
            field: "invoiceNumber",
            rule: "must not be blank".to_owned(),
        });
    }
    if invoice.chars().any(char::is_control) {
        return Err(QueryError::InvalidFilter {
            field: "invoiceNumber",
            rule: "must not contain control characters".to_owned(),
        });
    }
    let headers = fetch_all!(
        db,
        SaleRow,
        &format!(
            "{} WHERE tenant_id = $1 AND LOWER(invoice_number) = LOWER($2) \
             ORDER BY opened_at LIMIT 1",
            SALES.select()
        ),
        tenant_param(tenant),
        invoice,
    )?;
    match headers.first() {
        Some(header) => pos_order(db, tenant, header.header()?.sale_id).await,
        None => Ok(None),
    }
}

/// The POS order view of a sale of `tenant`; `None` when the tenant has no such sale (or
/// the projection has not folded its opening yet).
pub async fn pos_order(
    db: &ReadDb,
    tenant: TenantId,
    sale_id: SaleId,
) -> Result<Option<PosOrder>, QueryError> {
    let tenant = tenant_param(tenant);
    let sale = sale_id.to_string();
    // A sale's header never changes once opened, so reading it apart from the lines is safe.
    let headers = fetch_all!(
        db,
        SaleRow,
        &format!("{} WHERE tenant_id = $1 AND sale_id = $2", SALES.select()),
        &tenant,
        &sale,
    )?;
    let Some(header) = headers.first() else {
        return Ok(None);
    };
    let rows = fetch_all!(
        db,
        ReportRow,
        &select_lines(
            "WHERE l.tenant_id = $1 AND l.sale_id = $2 AND l.status <> $3 \
             ORDER BY l.line_number"
        ),
        &tenant,
        &sale,
        LineStatus::Removed.code(),
    )?;
    let lines = rows
        .into_iter()
        .map(|row| row.line.line())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(PosOrder {
        sale: header.header()?,
        can_fulfil_now: can_fulfil_now(&lines),
        lines,
    }))
}
