//! The command mix every writing scenario drives through the real command service (load,
//! decide, append with claims): a client opens a sale, adds a serial-tracked item, assigns
//! its serial and fulfils it; every fifth sale the unit comes back (returned and refunded)
//! and is re-issued, with a new serial, on a new sale that is fulfilled in turn.
//!
//! That is 4 commands per plain sale and 8 per sale with a return (4.8 on average; most
//! commands record one event). Every client has its own invoice numbers and
//! serials, so no command is refused; commands of different clients meet in the store
//! (the log's order, the claims table, SQLite's one writer), as the tills of one retailer do.

use crate::env::Shop;
use crate::stats::Latencies;
use application::commands::CommandOutcome;
use domain::sale::{
    AssignSerial, FulfilLines, LineSelection, OpenSale, ReturnUnit, ReturnUnits, UnitSelector,
};
use event_schemas::{Channel, DeliveryMode, LedgerEvent, LineNumber, Money, SaleId, SaleType};
use std::time::{Duration, Instant};

/// What the next command of a client is.
#[derive(Debug, Clone, Copy)]
enum Step {
    Open,
    Add,
    Assign,
    Fulfil,
    Return,
    OpenReissue,
    Reissue,
    FulfilReissued,
}

/// One client's place in its cycle of sales.
pub struct SaleFlow {
    shop: Shop,
    client: usize,
    sale_number: u64,
    step: Step,
    sale: SaleId,
    line: LineNumber,
    reissue_sale: SaleId,
}

/// What a client (or all of them) did.
#[derive(Debug, Default, Clone)]
pub struct MixStats {
    /// Commands that succeeded.
    pub commands: u64,
    /// Events they recorded.
    pub events: u64,
    /// Bytes of those events' JSON payloads.
    pub event_bytes: u64,
    /// Each command's time from call to acknowledgement.
    pub latencies: Latencies,
}

impl MixStats {
    /// Adds another client's counts.
    pub fn merge(&mut self, other: MixStats) {
        self.commands += other.commands;
        self.events += other.events;
        self.event_bytes += other.event_bytes;
        self.latencies.extend(other.latencies);
    }

    /// Average payload size of an event.
    pub fn bytes_per_event(&self) -> usize {
        (self.event_bytes / self.events.max(1)) as usize
    }
}

fn aud(amount_minor: i64) -> Money {
    Money {
        amount_minor,
        currency: "AUD".into(),
    }
}

fn first_line(outcome: &CommandOutcome) -> Option<LineNumber> {
    outcome.events.iter().find_map(|event| match event {
        LedgerEvent::LineAdded(added) => Some(added.line.line_number),
        LedgerEvent::LineReissued(reissued) => Some(reissued.line.line_number),
        _ => None,
    })
}

impl SaleFlow {
    /// Client number `client` (its invoices and serials are its own) of `run` (so runs on one
    /// database never collide).
    pub fn new(shop: Shop, run: u32, client: usize) -> Self {
        Self {
            shop,
            client: (run as usize) * 10_000 + client,
            sale_number: 0,
            step: Step::Open,
            sale: SaleId::new_v7(),
            line: LineNumber(1),
            reissue_sale: SaleId::new_v7(),
        }
    }

    fn open(&self, sale_id: SaleId, suffix: &str) -> OpenSale {
        OpenSale {
            sale_id,
            invoice_number: format!("B{}-{}{suffix}", self.client, self.sale_number),
            sale_type: SaleType::Sale,
            delivery_mode: DeliveryMode::CashAndCarry,
            outlet_id: self.shop.outlet_id,
            customer: None,
        }
    }

    fn serial(&self, suffix: &str) -> String {
        format!("SN{}X{}{suffix}", self.client, self.sale_number)
    }

    /// Runs the client's next command; the outcome and how long it took.
    pub async fn next(&mut self) -> anyhow::Result<(CommandOutcome, Duration)> {
        let commands = &self.shop.state.commands;
        let context = self.shop.context(Channel::Pos);
        let started = Instant::now();
        let outcome = match self.step {
            Step::Open => {
                self.sale_number += 1;
                self.sale = SaleId::new_v7();
                commands
                    .open_sale(&context, self.open(self.sale, ""))
                    .await?
            }
            Step::Add => {
                let outcome = commands
                    .add_item(&context, self.sale, self.shop.product_id, 1, aud(99_900))
                    .await?;
                self.line = first_line(&outcome)
                    .ok_or_else(|| anyhow::anyhow!("add_item recorded no line"))?;
                outcome
            }
            Step::Assign => {
                let assign = AssignSerial {
                    line_number: self.line,
                    serial: self.serial(""),
                };
                commands.assign_serial(&context, self.sale, assign).await?
            }
            Step::Fulfil => {
                let fulfil = FulfilLines {
                    lines: LineSelection::All,
                };
                commands.fulfil_lines(&context, self.sale, fulfil).await?
            }
            Step::Return => {
                let units = ReturnUnits {
                    units: vec![ReturnUnit {
                        unit: UnitSelector::Line(self.line),
                        refund: aud(99_900),
                    }],
                    reason: Some("faulty".into()),
                };
                commands.return_units(&context, self.sale, units).await?
            }
            Step::OpenReissue => {
                self.reissue_sale = SaleId::new_v7();
                commands
                    .open_sale(&context, self.open(self.reissue_sale, "R"))
                    .await?
            }
            Step::Reissue => {
                commands
                    .reissue_line(
                        &context,
                        self.reissue_sale,
                        self.sale,
                        self.line,
                        Some(self.serial("R")),
                    )
                    .await?
            }
            Step::FulfilReissued => {
                let fulfil = FulfilLines {
                    lines: LineSelection::All,
                };
                commands
                    .fulfil_lines(&context, self.reissue_sale, fulfil)
                    .await?
            }
        };
        let took = started.elapsed();
        self.step = match self.step {
            Step::Open => Step::Add,
            Step::Add => Step::Assign,
            Step::Assign => Step::Fulfil,
            Step::Fulfil if self.sale_number.is_multiple_of(5) => Step::Return,
            Step::Fulfil => Step::Open,
            Step::Return => Step::OpenReissue,
            Step::OpenReissue => Step::Reissue,
            Step::Reissue => Step::FulfilReissued,
            Step::FulfilReissued => Step::Open,
        };
        Ok((outcome, took))
    }

    /// Runs commands until `deadline`, or until `stop` says the shared total is reached.
    pub async fn run_until(
        &mut self,
        deadline: Instant,
        stop: impl Fn() -> bool,
        mut on_commit: impl FnMut(&CommandOutcome),
    ) -> anyhow::Result<MixStats> {
        let mut stats = MixStats::default();
        while Instant::now() < deadline && !stop() {
            let (outcome, took) = self.next().await?;
            stats.commands += 1;
            stats.events += outcome.events.len() as u64;
            stats.event_bytes += outcome
                .events
                .iter()
                .map(|event| event.to_payload().to_string().len() as u64)
                .sum::<u64>();
            stats.latencies.push(took);
            on_commit(&outcome);
        }
        Ok(stats)
    }
}
