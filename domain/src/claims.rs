//! Claims: how rules that span sales are enforced without giving up pure deciders.
//!
//! One sale's state cannot tell whether another sale holds a serial, an invoice number or
//! the re-issue of a returned line. So the store keeps a claims table, keyed by
//! (tenant, scope, key), written in the same transaction as a sale's events: a claim on a
//! key someone else holds fails the append, and the command service turns the failure back
//! into a typed error with [`SaleError::from_claim_conflict`](crate::sale::SaleError::from_claim_conflict).
//!
//! [`claims_for`] maps a sale's new events to claim changes:
//!
//! | event | change |
//! |---|---|
//! | `SaleOpened` | claim `invoice-number` / [`invoice_key`] (trimmed, upper-cased: `inv-1042` and `INV-1042` are the same invoice) |
//! | `SerialAssigned` | claim `serial` / [`serial_key`] `{product_id}/{serial}` |
//! | `SerialRemoved` | release that serial |
//! | `LineRemoved`, `LineCancelled` with a released serial | release that serial |
//! | `LineReturned` with a serial | release that serial (it may be sold again) |
//! | `LineReissued` | claim `reissue` / [`reissue_key`] `{original sale_id}/{original line}` |
//! | `LineRemoved`, `LineCancelled` of a re-issued line | release its `reissue` claim |
//!
//! Every claim change names its [`ClaimOwner`] (sale, invoice, line), stored by the store as
//! [`ClaimOwner::to_owner_string`]; a release is made by the holder. [`live_claims`] gives
//! the claims a sale holds, to rebuild the table from the log.

use crate::Decider;
use crate::sale::{Sale, SaleDecider};
use event_schemas::{LedgerEvent, LineNumber, ProductId, SaleId};
use std::fmt;

/// Whether a change takes or gives back a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClaimAction {
    /// Take the key; fails if another owner holds it.
    Claim,
    /// Give the key back.
    Release,
}

/// What a key is unique among.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClaimScope {
    /// A live serial of a product: key `{product_id}/{normalised serial}`.
    Serial,
    /// An invoice number: key = trimmed, upper-cased invoice number.
    InvoiceNumber,
    /// The re-issue of a returned line: key `{original sale_id}/{original line number}`.
    Reissue,
}

impl ClaimScope {
    /// Every scope.
    pub const ALL: [ClaimScope; 3] = [
        ClaimScope::Serial,
        ClaimScope::InvoiceNumber,
        ClaimScope::Reissue,
    ];

    /// The stable text stored by the store (`serial`, `invoice-number`, `reissue`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimScope::Serial => "serial",
            ClaimScope::InvoiceNumber => "invoice-number",
            ClaimScope::Reissue => "reissue",
        }
    }

    /// Reads [`ClaimScope::as_str`] back.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == text)
    }
}

impl fmt::Display for ClaimScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who holds a claim: a sale, its invoice number, and the line when the claim is a line's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimOwner {
    /// The sale.
    pub sale_id: SaleId,
    /// Its invoice number, as given.
    pub invoice_number: String,
    /// The line (serial and re-issue claims); `None` for the invoice number.
    pub line_number: Option<LineNumber>,
}

/// The prefix of the owner text format.
const OWNER_FORMAT: &str = "v1";

impl ClaimOwner {
    /// The stable text form the store keeps:
    /// `v1|{sale_id}|{line number, or - for none}|{invoice number}`. The invoice number
    /// comes last, so it may contain anything, `|` included.
    pub fn to_owner_string(&self) -> String {
        let line = self
            .line_number
            .map_or_else(|| "-".to_owned(), |line| line.to_string());
        format!(
            "{OWNER_FORMAT}|{}|{line}|{}",
            self.sale_id, self.invoice_number
        )
    }

    /// Reads [`ClaimOwner::to_owner_string`] back.
    pub fn parse(text: &str) -> Result<Self, InvalidClaimOwner> {
        let invalid = || InvalidClaimOwner {
            text: text.to_owned(),
        };
        let mut parts = text.splitn(4, '|');
        let (Some(OWNER_FORMAT), Some(sale), Some(line), Some(invoice_number)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let sale_id = SaleId(sale.parse().map_err(|_| invalid())?);
        let line_number = match line {
            "-" => None,
            number => Some(LineNumber(number.parse().map_err(|_| invalid())?)),
        };
        Ok(Self {
            sale_id,
            invoice_number: invoice_number.to_owned(),
            line_number,
        })
    }
}

/// Text that is not a [`ClaimOwner::to_owner_string`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a claim owner: {text:?}")]
pub struct InvalidClaimOwner {
    /// The text.
    pub text: String,
}

/// One change to the claims table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimChange {
    /// Claim or release.
    pub action: ClaimAction,
    /// What the key is unique among.
    pub scope: ClaimScope,
    /// The key within the scope.
    pub key: String,
    /// Who claims or releases it.
    pub owner: ClaimOwner,
}

/// The key of a live serial: `{product_id}/{serial}` (the serial already normalised).
pub fn serial_key(product_id: ProductId, serial: &str) -> String {
    format!("{product_id}/{serial}")
}

/// The key of an invoice number: trimmed and upper-cased, so invoice numbers are unique
/// ignoring case and surrounding spaces.
pub fn invoice_key(invoice_number: &str) -> String {
    invoice_number.trim().to_uppercase()
}

/// The key of a returned line's re-issue: `{sale_id}/{line number}` of the returned line.
pub fn reissue_key(sale_id: SaleId, line_number: LineNumber) -> String {
    format!("{sale_id}/{line_number}")
}

/// The claim changes of a sale's new `events`, given the sale's state before them
/// (`None` for a new sale, whose events then begin with `SaleOpened`). In event order.
pub fn claims_for(before: Option<&Sale>, events: &[LedgerEvent]) -> Vec<ClaimChange> {
    let mut state = before.cloned();
    let mut changes = Vec::new();
    for event in events {
        if let Some(sale) = &state {
            changes.extend(changes_of(sale, event));
        } else if let LedgerEvent::SaleOpened(opened) = event {
            changes.push(ClaimChange {
                action: ClaimAction::Claim,
                scope: ClaimScope::InvoiceNumber,
                key: invoice_key(&opened.invoice_number),
                owner: ClaimOwner {
                    sale_id: opened.sale_id,
                    invoice_number: opened.invoice_number.clone(),
                    line_number: None,
                },
            });
        }
        state = SaleDecider::evolve(state, event);
    }
    changes
}

/// The claim changes of one event on an opened sale (its state before the event).
fn changes_of(sale: &Sale, event: &LedgerEvent) -> Vec<ClaimChange> {
    let change = |action, scope, key, line| ClaimChange {
        action,
        scope,
        key,
        owner: owner(sale, line),
    };
    let reissue_release = |line_number: LineNumber| {
        sale.line(line_number)
            .filter(|line| line.holds_reissue())
            .and_then(|line| line.reissue_of.as_ref())
            .map(|of| {
                change(
                    ClaimAction::Release,
                    ClaimScope::Reissue,
                    reissue_key(of.sale_id, of.line_number),
                    Some(line_number),
                )
            })
    };
    match event {
        LedgerEvent::SerialAssigned(assigned) => vec![change(
            ClaimAction::Claim,
            ClaimScope::Serial,
            serial_key(assigned.product_id, &assigned.serial),
            Some(assigned.line_number),
        )],
        LedgerEvent::SerialRemoved(removed) => vec![change(
            ClaimAction::Release,
            ClaimScope::Serial,
            serial_key(removed.product_id, &removed.serial),
            Some(removed.line_number),
        )],
        LedgerEvent::LineRemoved(removed) => {
            let product_id = sale.line(removed.line_number).map(|line| line.product_id);
            let serial =
                removed
                    .released_serial
                    .as_deref()
                    .zip(product_id)
                    .map(|(serial, product_id)| {
                        change(
                            ClaimAction::Release,
                            ClaimScope::Serial,
                            serial_key(product_id, serial),
                            Some(removed.line_number),
                        )
                    });
            serial
                .into_iter()
                .chain(reissue_release(removed.line_number))
                .collect()
        }
        LedgerEvent::LineCancelled(cancelled) => {
            let serial = cancelled.released_serial.as_deref().map(|serial| {
                change(
                    ClaimAction::Release,
                    ClaimScope::Serial,
                    serial_key(cancelled.product_id, serial),
                    Some(cancelled.line_number),
                )
            });
            serial
                .into_iter()
                .chain(reissue_release(cancelled.line_number))
                .collect()
        }
        LedgerEvent::LineReturned(returned) => returned
            .serial
            .as_deref()
            .map(|serial| {
                change(
                    ClaimAction::Release,
                    ClaimScope::Serial,
                    serial_key(returned.product_id, serial),
                    Some(returned.line_number),
                )
            })
            .into_iter()
            .collect(),
        LedgerEvent::LineReissued(reissued) => vec![change(
            ClaimAction::Claim,
            ClaimScope::Reissue,
            reissue_key(reissued.reissue_of.sale_id, reissued.reissue_of.line_number),
            Some(reissued.line.line_number),
        )],
        _ => Vec::new(),
    }
}

fn owner(sale: &Sale, line_number: Option<LineNumber>) -> ClaimOwner {
    ClaimOwner {
        sale_id: sale.sale_id,
        invoice_number: sale.invoice_number.clone(),
        line_number,
    }
}

/// Every claim `sale` holds now (all [`ClaimAction::Claim`]): its invoice number, its live
/// serials and its live re-issues. Rebuilding the claims table from the log is applying
/// this to every sale.
pub fn live_claims(sale: &Sale) -> Vec<ClaimChange> {
    let claim = |scope, key, line| ClaimChange {
        action: ClaimAction::Claim,
        scope,
        key,
        owner: owner(sale, line),
    };
    let mut claims = vec![claim(
        ClaimScope::InvoiceNumber,
        invoice_key(&sale.invoice_number),
        None,
    )];
    for line in sale.lines.values() {
        if let Some(serial) = line.live_serial() {
            claims.push(claim(
                ClaimScope::Serial,
                serial_key(line.product_id, serial),
                Some(line.line_number),
            ));
        }
        if let Some(of) = line.reissue_of.as_ref().filter(|_| line.holds_reissue()) {
            claims.push(claim(
                ClaimScope::Reissue,
                reissue_key(of.sale_id, of.line_number),
                Some(line.line_number),
            ));
        }
    }
    claims
}
