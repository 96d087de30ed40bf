//! What can be asked of a sale. Facts from outside the sale (the product, the settings, a
//! returned line of another sale) arrive in the command, loaded by the command service.

use crate::product::ProductSnapshot;
use crate::settings::RetailerSettings;
use event_schemas::{
    Customer, DeliveryMode, LineNumber, Money, OutletId, ProductId, SaleId, SaleLine, SaleType,
};

/// Open a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSale {
    /// The new sale's id (chosen by the caller).
    pub sale_id: SaleId,
    /// The human invoice number; trimmed, not blank, unique per retailer ignoring case.
    pub invoice_number: String,
    /// Sale, special order or lay-by.
    pub sale_type: SaleType,
    /// How the goods reach the customer.
    pub delivery_mode: DeliveryMode,
    /// The outlet the sale belongs to.
    pub outlet_id: OutletId,
    /// The customer, when known; the name is trimmed and must not be blank.
    pub customer: Option<Customer>,
}

/// Add a product to a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddItem {
    /// The product as it stands now (with its components' snapshots for a package).
    pub product: ProductSnapshot,
    /// How many units (packages, for a package); from 1.
    pub quantity: u32,
    /// The price of one unit (one package); not negative, in the sale's currency.
    pub unit_price: Money,
    /// The retailer's settings as they stand now.
    pub settings: RetailerSettings,
}

/// Change the quantity of a line of a DISABLED product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeLineQuantity {
    /// The line.
    pub line_number: LineNumber,
    /// Units after the change; from 1 (remove the line to go to none).
    pub quantity: u32,
}

/// Take an unfulfilled line off the sale, as a correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoveLine {
    /// The line.
    pub line_number: LineNumber,
}

/// Record a serial number against a line (replacing the one it has, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignSerial {
    /// The line.
    pub line_number: LineNumber,
    /// The serial as typed or scanned; normalised by
    /// [`crate::serial::SerialNumber::parse`].
    pub serial: String,
}

/// Take the serial number off an unfulfilled line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveSerial {
    /// The line.
    pub line_number: LineNumber,
    /// Why, as the user gave it (optional).
    pub reason: Option<String>,
}

/// Which lines a fulfilment covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineSelection {
    /// Every open line of the sale.
    All,
    /// These lines (each once, each open).
    Lines(Vec<LineNumber>),
}

/// Fulfil lines: hand them over or dispatch them. Their serials are frozen from then on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilLines {
    /// Which lines.
    pub lines: LineSelection,
}

/// One line of a [`FulfilWithSerials`]: the line and, when the unit's serial is recorded in
/// the same step, that serial as typed or scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineToFulfil {
    /// The line.
    pub line_number: LineNumber,
    /// The serial of the unit leaving with the line (recorded first, replacing any other);
    /// `None` keeps what the line has.
    pub serial: Option<String>,
}

/// Record the serials of the units picked and fulfil their lines in one step (the warehouse
/// scans each unit as it packs it): either every serial is recorded and every line
/// fulfilled, or nothing is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilWithSerials {
    /// The lines, each once.
    pub lines: Vec<LineToFulfil>,
}

/// How a returned unit is picked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitSelector {
    /// By line number.
    Line(LineNumber),
    /// By the serial recorded on it (serials are unique per product, hence the product).
    Serial {
        /// The product.
        product_id: ProductId,
        /// The serial as typed or scanned.
        serial: String,
    },
}

/// One unit being returned, with its refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUnit {
    /// Which unit.
    pub unit: UnitSelector,
    /// The amount refunded: the line's currency, not negative, at most the line's total.
    pub refund: Money,
}

/// Return and refund exact units of fulfilled lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUnits {
    /// The units; at least one, each once.
    pub units: Vec<ReturnUnit>,
    /// Why, as the user gave it (blank means none).
    pub reason: Option<String>,
}

/// Cancel an unfulfilled line; its serial is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelLine {
    /// The line.
    pub line_number: LineNumber,
    /// Why, as the user gave it (blank means none).
    pub reason: Option<String>,
}

/// The facts of a line of an earlier sale, as the command service loads them with
/// [`super::Sale::returned_line_facts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnedLineFacts {
    /// The earlier sale.
    pub sale_id: SaleId,
    /// Its invoice number.
    pub invoice_number: String,
    /// The line as it was sold.
    pub line: SaleLine,
    /// The serial recorded on the returned unit, if any.
    pub serial: Option<String>,
    /// Whether the line has been returned.
    pub returned: bool,
}

impl ReturnedLineFacts {
    /// Whether the line may be issued again: only a returned line may
    /// ([`SaleError::OriginalLineNotReturned`]).
    pub fn ensure_returned(&self) -> Result<(), super::SaleError> {
        if self.returned {
            Ok(())
        } else {
            Err(super::SaleError::OriginalLineNotReturned {
                invoice_number: self.invoice_number.clone(),
                line_number: self.line.line_number,
            })
        }
    }
}

/// Issue a returned line of an earlier sale again, on this new sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReissueLine {
    /// The returned line.
    pub original: ReturnedLineFacts,
    /// The re-issued unit's own serial, if known now (as typed or scanned).
    pub serial: Option<String>,
}

/// Everything that can be asked of a sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaleCommand {
    /// See [`OpenSale`].
    OpenSale(OpenSale),
    /// See [`AddItem`].
    AddItem(AddItem),
    /// See [`ChangeLineQuantity`].
    ChangeLineQuantity(ChangeLineQuantity),
    /// See [`RemoveLine`].
    RemoveLine(RemoveLine),
    /// See [`AssignSerial`].
    AssignSerial(AssignSerial),
    /// See [`RemoveSerial`].
    RemoveSerial(RemoveSerial),
    /// See [`FulfilLines`].
    FulfilLines(FulfilLines),
    /// See [`FulfilWithSerials`].
    FulfilWithSerials(FulfilWithSerials),
    /// See [`ReturnUnits`].
    ReturnUnits(ReturnUnits),
    /// See [`CancelLine`].
    CancelLine(CancelLine),
    /// See [`ReissueLine`].
    ReissueLine(ReissueLine),
}

into_command!(SaleCommand: OpenSale, AddItem, ChangeLineQuantity, RemoveLine, AssignSerial,
    RemoveSerial, FulfilLines, FulfilWithSerials, ReturnUnits, CancelLine, ReissueLine);
