//! What the workload knows of the ledger: its retailers, the sales in progress, the claims
//! it expects the store to hold, and the choices a step can make.

use domain::claims::{ClaimOwner, ClaimScope};
use domain::sale::{Line, LineStatus, Sale};
use event_schemas::{
    Actor, Customer, LineNumber, OutletId, ProductId, SaleId, SerialMode, TenantId,
};
use rand::Rng;
use rand::rngs::SmallRng;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A product the workload sells.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) product_id: ProductId,
    pub(super) price_minor: i64,
    /// How often it is picked, relative to the others.
    pub(super) weight: u32,
    /// Quantities added: 1..=max_quantity.
    pub(super) max_quantity: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Adding items and recording serials.
    Building,
    /// Recording the serials still missing and fulfilling.
    Fulfilling,
    /// Fulfilled: maybe a return, then done.
    After,
}

/// A sale in progress, as the workload knows it.
#[derive(Debug, Clone)]
pub(super) struct SaleInProgress {
    pub(super) sale: Sale,
    pub(super) actor: Actor,
    pub(super) correlation_id: Uuid,
    pub(super) phase: Phase,
    pub(super) adds_left: u32,
    pub(super) returned: bool,
}

/// A retailer, as the workload knows it.
#[derive(Debug)]
pub(super) struct Tenant {
    pub(super) tenant_id: TenantId,
    pub(super) currency: &'static str,
    pub(super) invoice_prefix: &'static str,
    pub(super) serial_prefix: &'static str,
    pub(super) outlets: Vec<OutletId>,
    pub(super) staff: Vec<Actor>,
    pub(super) customers: Vec<Customer>,
    pub(super) items: Vec<Item>,
    /// Products whose mode the workload toggles mid-run, with their two modes.
    pub(super) toggled: Vec<(ProductId, SerialMode, SerialMode)>,
    pub(super) auto_prompt: bool,
    pub(super) aggregate: bool,
    pub(super) sales: Vec<SaleInProgress>,
    pub(super) invoices: Vec<String>,
    pub(super) next_invoice: u32,
    pub(super) next_serial: u64,
    /// Serial claim keys released (removed, cancelled, returned), to sell again.
    pub(super) released: Vec<String>,
    /// Returned lines waiting to be re-issued: (sale, line, the line's mode).
    pub(super) to_reissue: Vec<(SaleId, LineNumber, SerialMode)>,
    /// Returned lines re-issued at some point.
    pub(super) reissued: Vec<(SaleId, LineNumber)>,
}

/// What a step does to a sale in progress.
#[derive(Debug, Clone)]
pub(super) enum Action {
    Add,
    AssignFresh(LineNumber),
    AssignReleased(LineNumber, String),
    AssignSame(LineNumber, String),
    RemoveSerial(LineNumber),
    ChangeQuantity(LineNumber, u32),
    RemoveLine(LineNumber),
    CancelLine(LineNumber),
    FulfilAll,
    FulfilSome(Vec<LineNumber>),
    Return(Vec<LineNumber>),
    Finish,
    Mistake(Mistake),
}

/// A deliberate mistake and what proves it refused.
#[derive(Debug, Clone)]
pub(super) enum Mistake {
    /// A serial live on another line (`holder`).
    DuplicateSerial {
        line: LineNumber,
        serial: String,
        holder: ClaimOwner,
    },
    InvalidSerial(LineNumber),
    SerialOnDisabledLine(LineNumber),
    RaiseTrackedQuantity(LineNumber),
    FulfilWithoutSerials(Vec<LineNumber>),
    ReturnOpenLine(LineNumber),
    ReturnTwice(LineNumber),
    UnknownProduct,
}

/// The claims table as the workload expects it.
pub(super) type ClaimsModel = BTreeMap<(TenantId, ClaimScope, String), ClaimOwner>;

pub(super) const OUTLETS: usize = 3;
pub(super) const MAX_LINES: usize = 60;

/// The lines of a sale, sorted into what can be done with them.
pub(super) struct LineFacts {
    pub(super) open: Vec<LineNumber>,
    /// Open REQUIRED or OPTIONAL lines, with their product.
    pub(super) tracked_open: Vec<(LineNumber, ProductId)>,
    pub(super) tracked_without_serial: Vec<(LineNumber, ProductId)>,
    pub(super) required_without_serial: Vec<(LineNumber, ProductId)>,
    pub(super) optional_without_serial: Vec<(LineNumber, ProductId)>,
    /// Open lines with a serial.
    pub(super) with_serial: Vec<(LineNumber, ProductId)>,
    /// Open DISABLED lines.
    pub(super) disabled_open: Vec<LineNumber>,
    /// Open DISABLED lines outside exploded packages, with their quantity.
    pub(super) quantity_changeable: Vec<(LineNumber, u32)>,
    /// Open lines that may be fulfilled now.
    pub(super) ready: Vec<LineNumber>,
    pub(super) fulfilled: Vec<LineNumber>,
    pub(super) returned: Vec<LineNumber>,
}

impl LineFacts {
    pub(super) fn of(sale: &Sale) -> Self {
        let select = |keep: &dyn Fn(&Line) -> bool| -> Vec<(LineNumber, ProductId)> {
            sale.lines
                .values()
                .filter(|line| keep(line))
                .map(|line| (line.line_number, line.product_id))
                .collect()
        };
        let numbers =
            |pairs: Vec<(LineNumber, ProductId)>| pairs.into_iter().map(|(line, _)| line).collect();
        let missing_required =
            |line: &Line| line.serial_mode == SerialMode::Required && line.serial.is_none();
        Self {
            open: numbers(select(&|line| line.is_open())),
            tracked_open: select(&|line| line.is_open() && line.serial_mode.is_tracked()),
            tracked_without_serial: select(&|line| {
                line.is_open() && line.serial_mode.is_tracked() && line.serial.is_none()
            }),
            required_without_serial: select(&|line| line.is_open() && missing_required(line)),
            optional_without_serial: select(&|line| {
                line.is_open() && line.serial_mode == SerialMode::Optional && line.serial.is_none()
            }),
            with_serial: select(&|line| line.is_open() && line.serial.is_some()),
            disabled_open: numbers(select(&|line| {
                line.is_open() && line.serial_mode == SerialMode::Disabled
            })),
            quantity_changeable: sale
                .lines
                .values()
                .filter(|line| {
                    line.is_open()
                        && line.serial_mode == SerialMode::Disabled
                        && !line.is_exploded_package()
                        && !line.is_component()
                })
                .map(|line| (line.line_number, line.quantity))
                .collect(),
            ready: numbers(select(&|line| line.is_open() && !missing_required(line))),
            fulfilled: numbers(select(&|line| line.status == LineStatus::Fulfilled)),
            returned: numbers(select(&|line| line.status == LineStatus::Returned)),
        }
    }
}

/// One of `choices`, each as likely as its weight.
pub(super) fn weighted<T: Clone>(rng: &mut SmallRng, choices: &[(u32, T)]) -> T {
    let total: u32 = choices.iter().map(|(weight, _)| weight).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (weight, choice) in choices {
        if roll < *weight {
            return choice.clone();
        }
        roll -= weight;
    }
    choices[choices.len() - 1].1.clone()
}

pub(super) fn random_uuid(rng: &mut SmallRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}
