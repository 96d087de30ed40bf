//! Sale flows: what a request does with a sale beyond one command, so every adapter does
//! it the same way.
//!
//! - [`refund`]: return and refund exact units picked by line number and/or by the serial
//!   recorded on them, each refunded its line total.
//! - [`cancel_lines`]: cancel several unfulfilled lines, one command each.
//! - [`reissue`]: issue a returned line again on a sale already opened, or on a new sale
//!   opened for it.
//! - [`SaleWrite`]: what a write did, after the read models have caught up with it
//!   (read-your-writes), for the adapter to answer from.
//!
//! Single commands (open, add, assign a serial, fulfil, ...) go straight to
//! [`crate::commands::CommandService`] and are answered with [`SaleWrite::of`].

use crate::app::Application;
use crate::code::ErrorCode;
use crate::commands::{CommandContext, CommandError, CommandOutcome};
use crate::error::{AppError, AppResult};
use crate::request::part_of;
use domain::sale::{CancelLine, OpenSale, ReturnUnit, ReturnUnits, SaleError, UnitSelector};
use domain::serial::SerialNumber;
use event_schemas::{LedgerEvent, LineNumber, Money, SaleId};
use std::collections::BTreeSet;
use store::Position;

/// The currency of a line added without one to a sale with no line yet (and of a refund of
/// a line the sale does not have, which the domain refuses). The ledger is for an
/// Australian retail system.
pub const DEFAULT_CURRENCY: &str = "AUD";

/// What one or more commands on one sale did, once the read models show it.
#[derive(Debug, Clone)]
pub struct SaleWrite {
    /// The sale written (for a re-issue onto a new sale, the new one).
    pub sale_id: SaleId,
    /// Each command's outcome, in the order they were applied.
    pub outcomes: Vec<CommandOutcome>,
}

impl SaleWrite {
    /// The write of `outcomes` on `sale_id`, answered once the read models have folded its
    /// last event.
    pub async fn of(
        app: &Application,
        sale_id: SaleId,
        outcomes: Vec<CommandOutcome>,
    ) -> SaleWrite {
        let write = SaleWrite { sale_id, outcomes };
        app.wait_for(write.position()).await;
        write
    }

    /// Where the last event recorded is in the log, when anything was.
    pub fn position(&self) -> Option<Position> {
        self.outcomes
            .iter()
            .filter_map(CommandOutcome::position)
            .max()
    }

    /// Whether every command had been applied before and nothing new was recorded.
    pub fn deduplicated(&self) -> bool {
        !self.outcomes.is_empty() && self.outcomes.iter().all(CommandOutcome::deduplicated)
    }

    /// The lines the commands added or changed.
    pub fn touched_lines(&self) -> BTreeSet<LineNumber> {
        self.outcomes
            .iter()
            .flat_map(|outcome| outcome.events.iter().filter_map(line_of))
            .collect()
    }

    /// The new lines POS should prompt a serial for (auto-prompt on, REQUIRED lines).
    pub fn prompt_serial_for(&self) -> Vec<LineNumber> {
        self.outcomes
            .iter()
            .flat_map(|outcome| outcome.prompt_serial_for.iter().copied())
            .collect()
    }
}

/// The line an event is about, if it is about one.
fn line_of(event: &LedgerEvent) -> Option<LineNumber> {
    Some(match event {
        LedgerEvent::LineAdded(added) => added.line.line_number,
        LedgerEvent::LineReissued(reissued) => reissued.line.line_number,
        LedgerEvent::LineQuantityChanged(changed) => changed.line_number,
        LedgerEvent::LineRemoved(removed) => removed.line_number,
        LedgerEvent::LineCancelled(cancelled) => cancelled.line_number,
        LedgerEvent::SerialAssigned(assigned) => assigned.line_number,
        LedgerEvent::SerialRemoved(removed) => removed.line_number,
        LedgerEvent::LineFulfilled(fulfilled) => fulfilled.line_number,
        LedgerEvent::LineReturned(returned) => returned.line_number,
        _ => return None,
    })
}

/// The price of a unit added to `sale_id`: `amount_minor` in `currency`, or when none is
/// given in the sale's currency, or [`DEFAULT_CURRENCY`] on a sale with no line yet. (The
/// ledger records serials; the POS owns pricing, so an amount may well be 0.)
pub async fn unit_price(
    app: &Application,
    tenant_id: event_schemas::TenantId,
    sale_id: SaleId,
    amount_minor: i64,
    currency: Option<String>,
) -> AppResult<Money> {
    let currency = match currency {
        Some(currency) => currency,
        None => app
            .commands
            .load_sale(tenant_id, sale_id)
            .await?
            .and_then(|sale| sale.currency().map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_CURRENCY.to_owned()),
    };
    Ok(Money {
        amount_minor,
        currency,
    })
}

/// The units a refund returns: by line number, by the serial recorded on them (as typed or
/// scanned), or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefundSelection {
    /// Lines, by number.
    pub lines: Vec<LineNumber>,
    /// Serials, as typed or scanned.
    pub serials: Vec<String>,
}

/// Returns and refunds exact units of fulfilled lines of `sale_id`. Each unit is refunded
/// its line total; its serial is released (it may be sold again). A serial names the line
/// the domain's rule picks ([`domain::sale::Sale::line_with_serial`]): the fulfilled line
/// that sold it, whichever product it is of.
pub async fn refund(
    app: &Application,
    context: &CommandContext,
    sale_id: SaleId,
    selection: RefundSelection,
    reason: Option<String>,
) -> AppResult<SaleWrite> {
    if selection.lines.is_empty() && selection.serials.is_empty() {
        return Err(AppError::invalid(
            "lineIds",
            "or serialNumbers must select at least one unit",
        ));
    }
    let sale = app
        .commands
        .load_sale(context.tenant_id, sale_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("sale {sale_id} does not exist")))?;
    let mut units = Vec::with_capacity(selection.lines.len() + selection.serials.len());
    for line_number in selection.lines {
        // A line that is not on the sale is refused by the domain (NOT_FOUND).
        let refund = sale.line(line_number).map_or_else(
            || Money {
                amount_minor: 0,
                currency: sale.currency().unwrap_or(DEFAULT_CURRENCY).to_owned(),
            },
            |line| Money {
                amount_minor: line.total_minor(),
                currency: line.unit_price.currency.clone(),
            },
        );
        units.push(ReturnUnit {
            unit: UnitSelector::Line(line_number),
            refund,
        });
    }
    for (index, typed) in selection.serials.into_iter().enumerate() {
        let serial = SerialNumber::parse(&typed).map_err(|error| {
            AppError::new(
                ErrorCode::InvalidSerial,
                format!("serialNumbers[{index}]: {error}"),
            )
        })?;
        let line = sale
            .line_with_serial(None, &serial)
            .map_err(|error| match error {
                SaleError::SerialNotOnSale { .. } => AppError::not_found(format!(
                    "no line of invoice {} has serial {}",
                    sale.invoice_number,
                    serial.as_str()
                )),
                error => AppError::from(error),
            })?;
        units.push(ReturnUnit {
            unit: UnitSelector::Serial {
                product_id: line.product_id,
                serial: typed,
            },
            refund: Money {
                amount_minor: line.total_minor(),
                currency: line.unit_price.currency.clone(),
            },
        });
    }
    let outcome = app
        .commands
        .return_units(context, sale_id, ReturnUnits { units, reason })
        .await?;
    Ok(SaleWrite::of(app, sale_id, vec![outcome]).await)
}

/// Cancels unfulfilled lines of `sale_id` (each releases its serial), one command each, in
/// the order given. A refusal stops there: the lines before it stay cancelled, and a retry
/// with the same command id does not cancel them twice (each line's command id is derived
/// from the request's).
pub async fn cancel_lines(
    app: &Application,
    context: &CommandContext,
    sale_id: SaleId,
    lines: Vec<LineNumber>,
    reason: Option<String>,
) -> AppResult<SaleWrite> {
    if lines.is_empty() {
        return Err(AppError::invalid("lineIds", "must list at least one line"));
    }
    let mut outcomes = Vec::with_capacity(lines.len());
    for line_number in lines {
        let cancel = CancelLine {
            line_number,
            reason: reason.clone(),
        };
        let part = part_of(context, &format!("cancel-{line_number}"));
        match app.commands.cancel_line(&part, sale_id, cancel).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => {
                // What was cancelled stays cancelled: let the caller read it back.
                SaleWrite::of(app, sale_id, outcomes).await;
                return Err(error.into());
            }
        }
    }
    Ok(SaleWrite::of(app, sale_id, outcomes).await)
}

/// The sale a returned line is issued again on.
#[derive(Debug, Clone)]
pub enum ReissueOnto {
    /// A sale already opened.
    Sale(SaleId),
    /// A new sale, opened by the re-issue.
    NewSale(OpenSale),
}

/// Issues line `line` of sale `original`, returned, again on a new invoice, with the new
/// unit's serial when known. Opening a new sale and re-issuing are two commands: a retry
/// with the same command id applies each once. A re-issue the domain would refuse for the
/// returned line itself (no such sale or line, not returned, an invalid serial) is refused
/// before a new sale is opened, so a refused re-issue leaves no sale behind.
pub async fn reissue(
    app: &Application,
    context: &CommandContext,
    onto: ReissueOnto,
    original: SaleId,
    line: LineNumber,
    serial: Option<String>,
) -> AppResult<SaleWrite> {
    let mut outcomes = Vec::new();
    let sale_id = match onto {
        ReissueOnto::Sale(sale_id) => sale_id,
        ReissueOnto::NewSale(open) => {
            let facts = app
                .commands
                .returned_line(context.tenant_id, original, line)
                .await?;
            facts.ensure_returned().map_err(CommandError::Sale)?;
            if let Some(serial) = &serial {
                SerialNumber::parse(serial).map_err(SaleError::InvalidSerial)?;
            }
            let generated = open.sale_id;
            let mut opening = part_of(context, "open-sale");
            opening.metadata.outlet_id = Some(open.outlet_id);
            let opened = app.commands.open_sale(&opening, open).await?;
            // On a retry the opening is deduplicated: the sale is the one opened the first
            // time, as recorded, not the id generated for this attempt.
            let sale_id = opened
                .events
                .iter()
                .find_map(|event| match event {
                    LedgerEvent::SaleOpened(opened) => Some(opened.sale_id),
                    _ => None,
                })
                .unwrap_or(generated);
            outcomes.push(opened);
            sale_id
        }
    };
    let outcome = app
        .commands
        .reissue_line(context, sale_id, original, line, serial)
        .await?;
    outcomes.push(outcome);
    Ok(SaleWrite::of(app, sale_id, outcomes).await)
}
