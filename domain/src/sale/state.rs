//! A sale's state: what `evolve` records of the sale's events, and read helpers over it.

use super::command::ReturnedLineFacts;
use super::error::SaleError;
use crate::indicator::{SerialIndicator, serial_indicator, should_auto_prompt};
use crate::serial::SerialNumber;
use crate::settings::RetailerSettings;
use event_schemas::{
    Customer, DeliveryMode, LedgerEvent, LineNumber, LinePackage, Money, OutletId, ProductId,
    ReturnedLineRef, SaleId, SaleLine, SaleType, SerialMode,
};
use std::collections::BTreeMap;

/// Where a line is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineStatus {
    /// On the sale, not yet fulfilled: its serial can still change.
    Open,
    /// Handed over or dispatched: its serial is frozen.
    Fulfilled,
    /// Fulfilled, then returned and refunded: its serial is released.
    Returned,
    /// Cancelled before fulfilment: its serial is released.
    Cancelled,
    /// Taken off the sale before fulfilment as a correction: its serial is released.
    Removed,
}

impl LineStatus {
    /// Every status, in the order of a line's life.
    pub const ALL: [LineStatus; 5] = [
        LineStatus::Open,
        LineStatus::Fulfilled,
        LineStatus::Returned,
        LineStatus::Cancelled,
        LineStatus::Removed,
    ];

    /// The word used in messages ("open", "fulfilled", ...).
    pub fn label(self) -> &'static str {
        match self {
            LineStatus::Open => "open",
            LineStatus::Fulfilled => "fulfilled",
            LineStatus::Returned => "returned",
            LineStatus::Cancelled => "cancelled",
            LineStatus::Removed => "removed",
        }
    }

    /// The stable code (`OPEN`, `FULFILLED`, `RETURNED`, `CANCELLED`, `REMOVED`): what read
    /// models store and APIs show. Codes are never renamed, since stored rows and
    /// integrators depend on them.
    pub const fn code(self) -> &'static str {
        match self {
            LineStatus::Open => "OPEN",
            LineStatus::Fulfilled => "FULFILLED",
            LineStatus::Returned => "RETURNED",
            LineStatus::Cancelled => "CANCELLED",
            LineStatus::Removed => "REMOVED",
        }
    }

    /// The status a [`code`](Self::code) stands for; `None` for any other text (exact
    /// match: codes are stored as written, never typed by hand).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.code() == code)
    }
}

/// A line of a sale, as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's number within the sale.
    pub line_number: LineNumber,
    /// The product sold.
    pub product_id: ProductId,
    /// The product's SKU when the line was added.
    pub sku: String,
    /// The product's name when the line was added.
    pub product_name: String,
    /// Units on the line; 1 for serial-tracked lines.
    pub quantity: u32,
    /// Price of one unit.
    pub unit_price: Money,
    /// The serial mode the line was added with; it never changes.
    pub serial_mode: SerialMode,
    /// The line's place in a package.
    pub package: Option<LinePackage>,
    /// The serial recorded (normalised). Kept after a return, cancellation or removal for
    /// history; [`Line::live_serial`] says whether it still counts.
    pub serial: Option<String>,
    /// Where the line is in its life.
    pub status: LineStatus,
    /// The returned line of an earlier sale this line re-issues.
    pub reissue_of: Option<ReturnedLineRef>,
    /// The refund, once returned.
    pub refund: Option<Money>,
}

impl Line {
    fn new(line: &SaleLine, reissue_of: Option<ReturnedLineRef>) -> Self {
        Self {
            line_number: line.line_number,
            product_id: line.product_id,
            sku: line.sku.clone(),
            product_name: line.product_name.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price.clone(),
            serial_mode: line.serial_mode,
            package: line.package.clone(),
            serial: None,
            status: LineStatus::Open,
            reissue_of,
            refund: None,
        }
    }

    /// The line as the events describe it.
    pub fn to_sale_line(&self) -> SaleLine {
        SaleLine {
            line_number: self.line_number,
            product_id: self.product_id,
            sku: self.sku.clone(),
            product_name: self.product_name.clone(),
            quantity: self.quantity,
            unit_price: self.unit_price.clone(),
            serial_mode: self.serial_mode,
            package: self.package.clone(),
        }
    }

    /// Whether the line is still open (not fulfilled, returned, cancelled or removed).
    pub fn is_open(&self) -> bool {
        self.status == LineStatus::Open
    }

    /// The serial, while it is live: assigned and the line neither returned, cancelled nor
    /// removed.
    pub fn live_serial(&self) -> Option<&str> {
        match self.status {
            LineStatus::Open | LineStatus::Fulfilled => self.serial.as_deref(),
            LineStatus::Returned | LineStatus::Cancelled | LineStatus::Removed => None,
        }
    }

    /// Whether the line still counts as the re-issue of its `reissue_of` (not cancelled or
    /// removed).
    pub fn holds_reissue(&self) -> bool {
        self.reissue_of.is_some()
            && !matches!(self.status, LineStatus::Cancelled | LineStatus::Removed)
    }

    /// The line's total: unit price × quantity, in minor units (saturating).
    pub fn total_minor(&self) -> i64 {
        self.unit_price
            .amount_minor
            .saturating_mul(i64::from(self.quantity))
    }

    /// The POS indicator: red, orange, blue or none.
    pub fn indicator(&self) -> SerialIndicator {
        serial_indicator(self.serial_mode, self.serial.is_some())
    }

    /// Whether the line is an exploded package's own line.
    pub fn is_exploded_package(&self) -> bool {
        matches!(
            self.package,
            Some(LinePackage::Package {
                mode: event_schemas::PackageMode::Exploded
            })
        )
    }

    /// Whether the line is a component of an exploded package.
    pub fn is_component(&self) -> bool {
        matches!(self.package, Some(LinePackage::Component { .. }))
    }
}

/// A sale as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    /// The sale.
    pub sale_id: SaleId,
    /// The invoice number as given (trimmed).
    pub invoice_number: String,
    /// Sale, special order or lay-by.
    pub sale_type: SaleType,
    /// How the goods reach the customer.
    pub delivery_mode: DeliveryMode,
    /// The outlet.
    pub outlet_id: OutletId,
    /// The customer, when known.
    pub customer: Option<Customer>,
    /// Every line ever added, by number (removed and cancelled ones included).
    pub lines: BTreeMap<LineNumber, Line>,
}

impl Sale {
    /// The line numbered `line_number`.
    pub fn line(&self, line_number: LineNumber) -> Option<&Line> {
        self.lines.get(&line_number)
    }

    /// The line numbered `line_number`, or [`SaleError::LineNotFound`].
    pub fn existing_line(&self, line_number: LineNumber) -> Result<&Line, SaleError> {
        self.line(line_number)
            .ok_or(SaleError::LineNotFound { line_number })
    }

    /// The number the next line gets: one past the highest ever used, from 1.
    pub fn next_line_number(&self) -> LineNumber {
        LineNumber(
            self.lines
                .keys()
                .next_back()
                .map_or(1, |last| last.0.saturating_add(1)),
        )
    }

    /// The currency the sale is priced in: that of its first line, if any.
    pub fn currency(&self) -> Option<&str> {
        self.lines
            .values()
            .next()
            .map(|line| line.unit_price.currency.as_str())
    }

    /// The line on which `serial` (normalised) of `product_id` is live, other than `except`.
    pub fn live_holder(
        &self,
        product_id: ProductId,
        serial: &str,
        except: Option<LineNumber>,
    ) -> Option<&Line> {
        self.lines.values().find(|line| {
            Some(line.line_number) != except
                && line.product_id == product_id
                && line.live_serial() == Some(serial)
        })
    }

    /// The line that sold `serial`: a fulfilled one if any, else one already returned (so
    /// a refusal says so), else any other line that had it; of `product_id` only when
    /// given. This is the one rule for finding the unit a typed or scanned serial names on
    /// a sale (a return by serial, a refund picked by serial).
    pub fn line_with_serial(
        &self,
        product_id: Option<ProductId>,
        serial: &SerialNumber,
    ) -> Result<&Line, SaleError> {
        let candidates = || {
            self.lines.values().filter(|line| {
                product_id.is_none_or(|product_id| line.product_id == product_id)
                    && line.serial.as_deref() == Some(serial.as_str())
            })
        };
        [LineStatus::Fulfilled, LineStatus::Returned]
            .into_iter()
            .find_map(|status| candidates().find(|line| line.status == status))
            .or_else(|| candidates().next())
            .ok_or_else(|| SaleError::SerialNotOnSale {
                serial: serial.to_string(),
            })
    }

    /// The facts a re-issue of line `line_number` needs, for the command service to put in
    /// a [`super::ReissueLine`] on the new sale.
    pub fn returned_line_facts(
        &self,
        line_number: LineNumber,
    ) -> Result<ReturnedLineFacts, SaleError> {
        let line = self.existing_line(line_number)?;
        Ok(ReturnedLineFacts {
            sale_id: self.sale_id,
            invoice_number: self.invoice_number.clone(),
            line: line.to_sale_line(),
            serial: line.serial.clone(),
            returned: line.status == LineStatus::Returned,
        })
    }
}

/// The lines added by `events` for which POS should pop up the serial prompt (see
/// [`should_auto_prompt`]).
pub fn lines_to_prompt(settings: &RetailerSettings, events: &[LedgerEvent]) -> Vec<LineNumber> {
    events
        .iter()
        .filter_map(|event| match event {
            LedgerEvent::LineAdded(added) => Some(&added.line),
            LedgerEvent::LineReissued(reissued) => Some(&reissued.line),
            _ => None,
        })
        .filter(|line| should_auto_prompt(settings, line.serial_mode))
        .map(|line| line.line_number)
        .collect()
}

/// Records one event. Events of other aggregates, and sale events before `SaleOpened`,
/// leave the state unchanged.
pub(crate) fn evolve(state: Option<Sale>, event: &LedgerEvent) -> Option<Sale> {
    let Some(mut sale) = state else {
        return match event {
            LedgerEvent::SaleOpened(opened) => Some(Sale {
                sale_id: opened.sale_id,
                invoice_number: opened.invoice_number.clone(),
                sale_type: opened.sale_type,
                delivery_mode: opened.delivery_mode,
                outlet_id: opened.outlet_id,
                customer: opened.customer.clone(),
                lines: BTreeMap::new(),
            }),
            _ => None,
        };
    };
    match event {
        LedgerEvent::LineAdded(added) => {
            sale.lines
                .insert(added.line.line_number, Line::new(&added.line, None));
        }
        LedgerEvent::LineReissued(reissued) => {
            sale.lines.insert(
                reissued.line.line_number,
                Line::new(&reissued.line, Some(reissued.reissue_of.clone())),
            );
        }
        LedgerEvent::LineQuantityChanged(changed) => {
            if let Some(line) = sale.lines.get_mut(&changed.line_number) {
                line.quantity = changed.quantity;
            }
        }
        LedgerEvent::LineRemoved(removed) => {
            if let Some(line) = sale.lines.get_mut(&removed.line_number) {
                line.status = LineStatus::Removed;
            }
        }
        LedgerEvent::LineCancelled(cancelled) => {
            if let Some(line) = sale.lines.get_mut(&cancelled.line_number) {
                line.status = LineStatus::Cancelled;
            }
        }
        LedgerEvent::SerialAssigned(assigned) => {
            if let Some(line) = sale.lines.get_mut(&assigned.line_number) {
                line.serial = Some(assigned.serial.clone());
            }
        }
        LedgerEvent::SerialRemoved(removed) => {
            if let Some(line) = sale.lines.get_mut(&removed.line_number) {
                line.serial = None;
            }
        }
        LedgerEvent::LineFulfilled(fulfilled) => {
            if let Some(line) = sale.lines.get_mut(&fulfilled.line_number) {
                line.status = LineStatus::Fulfilled;
            }
        }
        LedgerEvent::LineReturned(returned) => {
            if let Some(line) = sale.lines.get_mut(&returned.line_number) {
                line.status = LineStatus::Returned;
                line.refund = Some(returned.refund.clone());
            }
        }
        _ => {}
    }
    Some(sale)
}
