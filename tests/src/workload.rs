//! A deterministic generator of realistic retail activity, driving the real
//! [`CommandService`] until it has written at least a given number of events.
//!
//! `Workload::new(seed).run(&service, 10_000)` sets up one or two retailers (settings,
//! products of every serial mode, a consolidated, an exploded and a nested package, a
//! composition change, a rename, a mode change) and then runs sales at a few outlets, a
//! handful in progress at a time per retailer, interleaved: sales of every type and
//! delivery mode, with and without a customer; items added (quantities above one, so
//! tracked products split into lines), serials assigned, replaced, removed and re-assigned
//! (serials that were returned are sold again), quantities of DISABLED lines changed,
//! lines removed and cancelled, fulfilment of all lines or some (REQUIRED lines only once
//! they have a serial), returns by line and by serial, and returned lines re-issued on new
//! sales. Now and then a product's mode or a setting changes mid-sale, and a client
//! re-sends a command it already sent (which must be deduplicated).
//!
//! It also makes mistakes on purpose, each of which must be refused with the right typed
//! error: a serial already live on another line (`SERIAL_ALREADY_ASSIGNED`, naming the
//! holder's invoice and line), an invoice number taken, a re-issue of a line already
//! re-issued, fulfilment with a REQUIRED serial missing, a serial on a DISABLED line, bad
//! serial text, raising a tracked line's quantity, returning an open or a returned line,
//! an unknown product, a package cycle, a settings change naming nothing. Any other
//! refusal, and any mistake that is not refused, stops the run with a [`WorkloadError`].
//!
//! The workload keeps its own model of every sale in progress (folded from the events the
//! service returns, so it reads nothing back) and of the claims table (from
//! [`domain::claims::claims_for`]); that model is what lets it predict refusals. Everything
//! it chooses, ids included, comes from a [`SmallRng`] seeded with the seed, and commands run
//! one at a time: the same seed on a fresh store gives the same commands and the same log
//! (event ids and timestamps aside). Running the same seed twice on one store replays the
//! same ids: use a fresh store or another seed.

mod catalogue;
mod choices;
mod mistakes;
mod model;
mod runner;
mod sales;

use application::commands::{CommandError, CommandService};
use event_schemas::TenantId;
use futures::future::try_join_all;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use runner::Runner;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};
use store::EventStore;

/// The generator: a seed and a shape. See the module documentation.
#[derive(Debug, Clone)]
pub struct Workload {
    seed: u64,
    tenants: usize,
    sales_in_progress: usize,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkloadReport {
    /// The seed the run was generated from.
    pub seed: u64,
    /// The retailers it wrote for.
    pub tenants: Vec<TenantId>,
    /// Events appended by this run (deduplicated re-sends not counted).
    pub events_written: u64,
    /// Commands that succeeded, including those that changed nothing and re-sends.
    pub commands_ok: usize,
    /// Of those, commands that changed nothing (no events, no append).
    pub commands_unchanged: usize,
    /// Of those, re-sends of a command already applied (`deduplicated`).
    pub commands_deduplicated: usize,
    /// Deliberate mistakes, refused as expected, by error code.
    pub commands_refused_by_code: BTreeMap<&'static str, usize>,
    /// Products created (packages included).
    pub products_created: usize,
    /// Sales opened.
    pub sales_opened: usize,
    /// Lines added (`LineAdded`).
    pub lines_added: usize,
    /// Serials recorded (`SerialAssigned`, re-issues included).
    pub serials_assigned: usize,
    /// Serials taken off (`SerialRemoved`).
    pub serials_removed: usize,
    /// Lines fulfilled.
    pub lines_fulfilled: usize,
    /// Units returned (`LineReturned`).
    pub returns: usize,
    /// Returned lines re-issued (`LineReissued`).
    pub reissues: usize,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl WorkloadReport {
    /// Adds a retailer's part of the run.
    fn absorb(&mut self, part: WorkloadReport) {
        self.tenants.extend(part.tenants);
        self.events_written += part.events_written;
        self.commands_ok += part.commands_ok;
        self.commands_unchanged += part.commands_unchanged;
        self.commands_deduplicated += part.commands_deduplicated;
        for (code, count) in part.commands_refused_by_code {
            *self.commands_refused_by_code.entry(code).or_default() += count;
        }
        self.products_created += part.products_created;
        self.sales_opened += part.sales_opened;
        self.lines_added += part.lines_added;
        self.serials_assigned += part.serials_assigned;
        self.serials_removed += part.serials_removed;
        self.lines_fulfilled += part.lines_fulfilled;
        self.returns += part.returns;
        self.reissues += part.reissues;
    }

    /// Deliberate mistakes refused, all codes together.
    pub fn commands_refused(&self) -> usize {
        self.commands_refused_by_code.values().sum()
    }

    /// How many events were written per second of the run.
    pub fn events_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.events_written as f64 / seconds
        } else {
            0.0
        }
    }
}

impl fmt::Display for WorkloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events in {:.2?} ({:.0} events/s): {} commands ok ({} unchanged, {} deduplicated), \
             {} refused {:?}; {} products, {} sales, {} lines, {} serials assigned, {} removed, \
             {} fulfilled, {} returned, {} re-issued",
            self.events_written,
            self.elapsed,
            self.events_per_second(),
            self.commands_ok,
            self.commands_unchanged,
            self.commands_deduplicated,
            self.commands_refused(),
            self.commands_refused_by_code,
            self.products_created,
            self.sales_opened,
            self.lines_added,
            self.serials_assigned,
            self.serials_removed,
            self.lines_fulfilled,
            self.returns,
            self.reissues,
        )
    }
}

/// Why a run stopped: the service did something the workload did not expect.
#[derive(Debug)]
pub enum WorkloadError {
    /// A command that should have succeeded was refused or failed.
    Failed {
        /// The command, described.
        command: String,
        /// What the service said.
        error: Box<CommandError>,
    },
    /// A deliberate mistake was accepted.
    NotRefused {
        /// The command, described.
        command: String,
        /// The refusal expected.
        expected: String,
    },
    /// A deliberate mistake was refused, but not as expected.
    WrongRefusal {
        /// The command, described.
        command: String,
        /// The refusal expected.
        expected: String,
        /// What the service said.
        error: Box<CommandError>,
    },
    /// The service's answer disagrees with the workload's model of the ledger.
    Diverged(String),
    /// The run stopped making progress towards its target.
    Stalled {
        /// Steps taken.
        steps: u64,
        /// Events written by then.
        events: u64,
    },
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkloadError::Failed { command, error } => {
                write!(f, "{command} failed with {}: {error}", error.code())
            }
            WorkloadError::NotRefused { command, expected } => {
                write!(f, "{command} was accepted; expected the refusal {expected}")
            }
            WorkloadError::WrongRefusal {
                command,
                expected,
                error,
            } => write!(
                f,
                "{command} was refused with {} ({error}); expected {expected}",
                error.code()
            ),
            WorkloadError::Diverged(what) => {
                write!(f, "the ledger diverged from the model: {what}")
            }
            WorkloadError::Stalled { steps, events } => {
                write!(f, "no progress: {events} events after {steps} steps")
            }
        }
    }
}

impl std::error::Error for WorkloadError {}

impl Workload {
    /// Two retailers, four sales in progress at a time each, everything from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            tenants: 2,
            sales_in_progress: 4,
        }
    }

    /// Writes for this many retailers (at least one).
    pub fn tenants(mut self, tenants: usize) -> Self {
        self.tenants = tenants.max(1);
        self
    }

    /// Keeps this many sales in progress per retailer (at least one).
    pub fn sales_in_progress(mut self, sales: usize) -> Self {
        self.sales_in_progress = sales.max(1);
        self
    }

    /// Drives `service` until this run has written at least `target_events` events: each
    /// retailer writes its share, the retailers concurrently (each one's commands one at a
    /// time, so each retailer's history depends on the seed alone).
    pub async fn run<S: EventStore>(
        &self,
        service: &CommandService<S>,
        target_events: u64,
    ) -> Result<WorkloadReport, WorkloadError> {
        let started = Instant::now();
        let mut seeds = SmallRng::seed_from_u64(self.seed);
        let share = target_events.div_ceil(self.tenants as u64);
        let runners = (0..self.tenants)
            .map(|index| Runner::new(service, self, index, seeds.random()).run(share));
        let mut report = WorkloadReport {
            seed: self.seed,
            ..WorkloadReport::default()
        };
        for part in try_join_all(runners).await? {
            report.absorb(part);
        }
        report.elapsed = started.elapsed();
        Ok(report)
    }
}
