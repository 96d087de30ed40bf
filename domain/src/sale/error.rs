//! Why a sale command is refused: one variant per rule, each with its stable API code.

use super::state::LineStatus;
use crate::claims::{ClaimChange, ClaimOwner, ClaimScope};
use crate::serial::SerialError;
use crate::validation::InvalidField;
use event_schemas::LineNumber;

/// Why a sale command is refused. Messages are written for the shop user; `code()` gives
/// the stable API code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaleError {
    /// A field breaks a rule. API code `VALIDATION`.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The serial text is not a valid serial number. API code `INVALID_SERIAL`.
    #[error(transparent)]
    InvalidSerial(#[from] SerialError),
    /// The sale was never opened. API code `NOT_FOUND`.
    #[error("this sale has not been opened: open it first")]
    SaleNotOpened,
    /// The sale is already open. API code `ALREADY_EXISTS`.
    #[error("this sale is already open as invoice {invoice_number}")]
    SaleAlreadyOpened {
        /// Its invoice number.
        invoice_number: String,
    },
    /// Another sale of the retailer has this invoice number (reported by the claims).
    /// API code `INVOICE_NUMBER_TAKEN`.
    #[error("invoice number {invoice_number} is already used by another sale: choose another")]
    InvoiceNumberTaken {
        /// The invoice number asked for.
        invoice_number: String,
    },
    /// No line has this number. API code `NOT_FOUND`.
    #[error("line {line_number} is not on this sale")]
    LineNotFound {
        /// The line asked for.
        line_number: LineNumber,
    },
    /// The quantity of a serial-tracked line cannot change. API code `QUANTITY_SPLIT_REQUIRED`.
    #[error(
        "line {line_number} is serial-tracked: add the item as a new, separate line instead of raising its quantity"
    )]
    SplitLineRequired {
        /// The line.
        line_number: LineNumber,
    },
    /// The quantity of an exploded package's line or component line cannot change.
    /// API code `PACKAGE_LINE`.
    #[error(
        "line {line_number} is part of a package: remove the package and add it again with the quantity needed"
    )]
    PackageLineQuantityFixed {
        /// The line.
        line_number: LineNumber,
    },
    /// The line's product has serial numbers disabled. API code `SERIAL_MODE_DISABLED`.
    #[error(
        "line {line_number} is for a product with serial numbers disabled: it cannot take a serial number"
    )]
    SerialNotAllowed {
        /// The line.
        line_number: LineNumber,
    },
    /// The line was fulfilled, so its serial cannot change. API code `LINE_FULFILLED`.
    #[error(
        "line {line_number} was fulfilled: its serial is frozen; return the unit and re-issue it on a new invoice to change it"
    )]
    SerialFrozen {
        /// The line.
        line_number: LineNumber,
    },
    /// The line was already fulfilled. API code `LINE_FULFILLED`.
    #[error(
        "line {line_number} was already fulfilled: it cannot be changed; return the unit instead"
    )]
    LineAlreadyFulfilled {
        /// The line.
        line_number: LineNumber,
    },
    /// The line was returned, cancelled or removed. API code `LINE_CLOSED`.
    #[error("line {line_number} was {}: it can no longer be changed", .status.label())]
    LineClosed {
        /// The line.
        line_number: LineNumber,
        /// What happened to it.
        status: LineStatus,
    },
    /// The line has no serial to remove. API code `NOT_FOUND`.
    #[error("line {line_number} has no serial number to remove")]
    NoSerialToRemove {
        /// The line.
        line_number: LineNumber,
    },
    /// The serial of this product is live on another line, of this sale or (reported by the
    /// claims) of another. API code `SERIAL_ALREADY_ASSIGNED`.
    #[error("serial {serial} is already on invoice {invoice_number}{}", line_suffix(*.line_number))]
    SerialAlreadyLive {
        /// The serial (normalised).
        serial: String,
        /// The invoice holding it.
        invoice_number: String,
        /// The line holding it.
        line_number: Option<LineNumber>,
    },
    /// REQUIRED lines without a serial cannot be fulfilled. API code `SERIAL_REQUIRED`.
    #[error(
        "{} must have a serial number recorded before fulfilment",
        lines_text(.lines)
    )]
    SerialRequired {
        /// The selected REQUIRED lines that have no serial.
        lines: Vec<LineNumber>,
    },
    /// "Fulfil all" found no open line. API code `VALIDATION`.
    #[error("this sale has no open lines to fulfil")]
    NothingToFulfil,
    /// Only fulfilled lines can be returned. API code `LINE_NOT_FULFILLED`.
    #[error("line {line_number} has not been fulfilled: cancel it instead of returning it")]
    LineNotFulfilled {
        /// The line.
        line_number: LineNumber,
    },
    /// The unit was already returned. API code `ALREADY_RETURNED`.
    #[error("line {line_number} was already returned: a unit can be returned only once")]
    AlreadyReturned {
        /// The line.
        line_number: LineNumber,
    },
    /// No line of this sale ever had this serial of this product. API code `NOT_FOUND`.
    #[error("no line of this sale has serial {serial} of that product")]
    SerialNotOnSale {
        /// The serial (normalised).
        serial: String,
    },
    /// A unit or line is selected twice in one command. API code `VALIDATION`.
    #[error("line {line_number} is selected more than once: select each unit once")]
    LineSelectedTwice {
        /// The line.
        line_number: LineNumber,
    },
    /// The sale would have too many lines. API code `VALIDATION`.
    #[error(
        "this would give the sale {lines} lines; a sale holds at most {max} lines: start another sale"
    )]
    TooManyLines {
        /// Lines the sale would have.
        lines: u64,
        /// The most a sale may have.
        max: u32,
    },
    /// A re-issue must go on a new sale. API code `VALIDATION`.
    #[error(
        "a re-issue goes on a new invoice: open a new sale to re-issue line {line_number} of invoice {invoice_number}"
    )]
    ReissueOnSameSale {
        /// The original invoice.
        invoice_number: String,
        /// The original line.
        line_number: LineNumber,
    },
    /// Only a returned line can be re-issued. API code `LINE_NOT_RETURNED`.
    #[error(
        "line {line_number} of invoice {invoice_number} has not been returned: return the unit before re-issuing it"
    )]
    OriginalLineNotReturned {
        /// The original invoice.
        invoice_number: String,
        /// The original line.
        line_number: LineNumber,
    },
    /// The returned line was already re-issued (on this sale, or reported by the claims on
    /// another). API code `ALREADY_REISSUED`.
    #[error("this returned unit was already re-issued on invoice {invoice_number}{}", line_suffix(*.line_number))]
    AlreadyReissued {
        /// The invoice of the re-issue.
        invoice_number: String,
        /// The re-issue's line.
        line_number: Option<LineNumber>,
    },
}

fn line_suffix(line_number: Option<LineNumber>) -> String {
    line_number.map_or_else(String::new, |line| format!(" line {line}"))
}

fn lines_text(lines: &[LineNumber]) -> String {
    let numbers = lines
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if lines.len() == 1 {
        format!("line {numbers}")
    } else {
        format!("lines {numbers}")
    }
}

impl SaleError {
    /// The stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            SaleError::Invalid(_)
            | SaleError::NothingToFulfil
            | SaleError::LineSelectedTwice { .. }
            | SaleError::TooManyLines { .. }
            | SaleError::ReissueOnSameSale { .. } => "VALIDATION",
            SaleError::InvalidSerial(error) => error.code(),
            SaleError::SaleNotOpened
            | SaleError::LineNotFound { .. }
            | SaleError::NoSerialToRemove { .. }
            | SaleError::SerialNotOnSale { .. } => "NOT_FOUND",
            SaleError::SaleAlreadyOpened { .. } => "ALREADY_EXISTS",
            SaleError::InvoiceNumberTaken { .. } => "INVOICE_NUMBER_TAKEN",
            SaleError::SplitLineRequired { .. } => "QUANTITY_SPLIT_REQUIRED",
            SaleError::PackageLineQuantityFixed { .. } => "PACKAGE_LINE",
            SaleError::SerialNotAllowed { .. } => "SERIAL_MODE_DISABLED",
            SaleError::SerialFrozen { .. } | SaleError::LineAlreadyFulfilled { .. } => {
                "LINE_FULFILLED"
            }
            SaleError::LineClosed { .. } => "LINE_CLOSED",
            SaleError::SerialAlreadyLive { .. } => "SERIAL_ALREADY_ASSIGNED",
            SaleError::SerialRequired { .. } => "SERIAL_REQUIRED",
            SaleError::LineNotFulfilled { .. } => "LINE_NOT_FULFILLED",
            SaleError::AlreadyReturned { .. } => "ALREADY_RETURNED",
            SaleError::OriginalLineNotReturned { .. } => "LINE_NOT_RETURNED",
            SaleError::AlreadyReissued { .. } => "ALREADY_REISSUED",
        }
    }

    /// "serial ABC123 is already on invoice INV-1042 line 2": `serial` is held by `holder`.
    pub fn serial_already_live(serial: &str, holder: &ClaimOwner) -> Self {
        SaleError::SerialAlreadyLive {
            serial: serial.to_owned(),
            invoice_number: holder.invoice_number.clone(),
            line_number: holder.line_number,
        }
    }

    /// The typed error for a claim the store refused because `holder` holds it: the store
    /// reports the holder's owner string, which [`ClaimOwner::parse`] reads back.
    pub fn from_claim_conflict(claim: &ClaimChange, holder: &ClaimOwner) -> Self {
        match claim.scope {
            ClaimScope::Serial => {
                let serial = claim
                    .key
                    .split_once('/')
                    .map_or(claim.key.as_str(), |(_, serial)| serial);
                Self::serial_already_live(serial, holder)
            }
            ClaimScope::InvoiceNumber => SaleError::InvoiceNumberTaken {
                invoice_number: claim.owner.invoice_number.clone(),
            },
            ClaimScope::Reissue => SaleError::AlreadyReissued {
                invoice_number: holder.invoice_number.clone(),
                line_number: holder.line_number,
            },
        }
    }
}
