//! The sale aggregate: one sale (order/invoice) per stream (`sale-{id}`).
//!
//! A sale has a sale type, a delivery mode (whose full name is never blank), an outlet, an
//! optional customer and an invoice number unique per retailer (enforced through claims,
//! see [`crate::claims`]). Its lines are numbered from 1 and numbers are never reused.
//!
//! Rules, each a guard in [`SaleDecider::decide`](crate::Decider::decide):
//!
//! - **Splitting.** A serial-tracked product (REQUIRED or OPTIONAL) added with quantity N
//!   becomes N lines of quantity 1; raising such a line's quantity is refused
//!   ([`SaleError::SplitLineRequired`]). A DISABLED product already on the sale (open, same
//!   price, not part of an exploded package, not a re-issue) is merged into its line when
//!   the retailer aggregates duplicate order items; serial-tracked products never are.
//! - **Packages.** An exploded package adds a DISABLED parent line (the package's price)
//!   and one line per component (price 0, following the component's own mode; split per
//!   unit when tracked, else one line of component quantity × package quantity). A
//!   consolidated package adds lines under the package's own mode; its components are not
//!   lines. Package and component lines keep their quantity: remove the package and add it
//!   again. Removing or cancelling an exploded package's parent line also removes or cancels
//!   its open component lines.
//! - **A line keeps the serial mode it was added with.** A later change of the product's
//!   mode does not change open lines: the unit was sold under that rule, and changing it
//!   under a half-finished sale would suddenly block fulfilment or make a recorded serial
//!   meaningless. New lines get the new mode.
//! - **Serials.** Assignable to REQUIRED and OPTIONAL lines only; normalised by
//!   [`crate::serial::SerialNumber::parse`]; removable and replaceable until the line is
//!   fulfilled, frozen afterwards ([`SaleError::SerialFrozen`]). A serial of a product is
//!   live on one line at a time (live: assigned and not removed, cancelled or returned):
//!   within the sale `decide` refuses it; across sales the claims do.
//! - **Fulfilment** (all open lines, or some) is refused while a selected REQUIRED line has
//!   no serial, listing those lines; OPTIONAL lines go without one. Lay-bys and special
//!   orders are lines like any other: their serial may be recorded at any time before
//!   fulfilment.
//! - **Returns** select exact units, by line number or by product and serial; only
//!   fulfilled, not yet returned lines can be returned, each once, and the whole line is
//!   returned (a DISABLED line of quantity 3 is returned whole). The refund is validated
//!   against the line's currency and total. A return releases the serial.
//! - **Cancel and remove** take an unfulfilled line off the sale and release its serial;
//!   cancel records a reason (a customer cancelling), remove is a correction while building
//!   the sale.
//! - **Re-issue.** A returned line of an earlier sale is issued again on this (new) sale:
//!   one line with the original line's product, quantity, price and serial mode, referencing
//!   the returned line, with its own serial (given in the command or assigned later).
//!
//! The POS indicator of a line is [`Line::indicator`]; lines to auto-prompt for after an
//! add are [`lines_to_prompt`].

mod command;
mod decide;
mod error;
mod state;

pub use command::{
    AddItem, AssignSerial, CancelLine, ChangeLineQuantity, FulfilLines, FulfilWithSerials,
    LineSelection, LineToFulfil, OpenSale, ReissueLine, RemoveLine, RemoveSerial, ReturnUnit,
    ReturnUnits, ReturnedLineFacts, SaleCommand, UnitSelector,
};
pub use decide::{
    MAX_INVOICE_NUMBER_LENGTH, MAX_LINE_QUANTITY, MAX_LINES_PER_SALE, MAX_NAME_LENGTH,
    MAX_REASON_LENGTH,
};
pub use error::SaleError;
pub use state::{Line, LineStatus, Sale, lines_to_prompt};

use crate::Decider;
use event_schemas::LedgerEvent;

/// The sale decider. State: `None` until the sale is opened.
#[derive(Debug, Clone, Copy, Default)]
pub struct SaleDecider;

impl Decider for SaleDecider {
    type State = Option<Sale>;
    type Command = SaleCommand;
    type Error = SaleError;

    fn decide(state: &Option<Sale>, command: SaleCommand) -> Result<Vec<LedgerEvent>, SaleError> {
        decide::decide(state.as_ref(), command)
    }

    fn evolve(state: Option<Sale>, event: &LedgerEvent) -> Option<Sale> {
        state::evolve(state, event)
    }
}
