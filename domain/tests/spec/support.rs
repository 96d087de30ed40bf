//! The given/when/then harness and the fixtures the specifications share.
//!
//! `given::<D>(events).when(command).then(events)` folds the given events with `D::evolve`,
//! decides the command, and compares the events (or `.then_error(error)`, the typed error)
//! exactly, with a readable diff. `then` returns the state after the new events so a
//! specification can look at it (an indicator, a line's status).

use domain::Decider;
use domain::product::{ComponentSnapshot, PackageSnapshot, ProductDecider, ProductSnapshot};
use domain::sale::{AddItem, OpenSale, SaleDecider};
use domain::settings::{RetailerSettings, SettingsDecider};
use event_schemas::*;
use pretty_assertions::assert_eq;
use std::fmt::{Debug, Display};
use std::marker::PhantomData;
use uuid::Uuid;

// ---- harness --------------------------------------------------------------------------------

/// The history a specification starts from.
pub struct Given<D: Decider> {
    history: Vec<LedgerEvent>,
    decider: PhantomData<D>,
}

/// The outcome of deciding a command on the given history.
pub struct Then<D: Decider> {
    state: D::State,
    result: Result<Vec<LedgerEvent>, D::Error>,
}

/// Given these events of an aggregate...
pub fn given<D: Decider>(history: impl IntoIterator<Item = LedgerEvent>) -> Given<D> {
    Given {
        history: history.into_iter().collect(),
        decider: PhantomData,
    }
}

/// Given these events of a sale...
pub fn sale(history: impl IntoIterator<Item = LedgerEvent>) -> Given<SaleDecider> {
    given(history)
}

/// Given these events of a product...
pub fn product(history: impl IntoIterator<Item = LedgerEvent>) -> Given<ProductDecider> {
    given(history)
}

/// Given these events of the retailer's settings...
pub fn settings(history: impl IntoIterator<Item = LedgerEvent>) -> Given<SettingsDecider> {
    given(history)
}

impl<D: Decider> Given<D> {
    /// ...when this command is decided...
    pub fn when(self, command: impl Into<D::Command>) -> Then<D> {
        let state = D::fold(&self.history);
        let result = D::decide(&state, command.into());
        Then { state, result }
    }

    /// The state the given events fold to.
    pub fn state(self) -> D::State {
        D::fold(&self.history)
    }
}

impl<D: Decider> Then<D>
where
    D::Error: Debug + Display + PartialEq,
{
    /// ...then exactly these events are recorded. Returns the state after them.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = LedgerEvent>) -> D::State {
        let expected: Vec<LedgerEvent> = expected.into_iter().collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected);
                D::evolve_all(self.state, &events)
            }
            Err(error) => panic!(
                "expected events {expected:#?}\nbut the command was refused: {error}\n{error:?}"
            ),
        }
    }

    /// ...then nothing is recorded, and nothing is refused either.
    #[track_caller]
    pub fn then_nothing(self) -> D::State {
        self.then([])
    }

    /// ...then the command is refused with exactly this error.
    #[track_caller]
    pub fn then_error(self, expected: D::Error) {
        match self.result {
            Ok(events) => panic!(
                "expected the command to be refused with {expected:?}\nbut it recorded {events:#?}"
            ),
            Err(error) => assert_eq!(error, expected),
        }
    }

    /// The raw result, for specifications that look at it another way.
    pub fn result(self) -> Result<Vec<LedgerEvent>, D::Error> {
        self.result
    }
}

// ---- ids, money -----------------------------------------------------------------------------

/// A fixed, readable UUID v7-shaped id.
pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

pub fn sale_id() -> SaleId {
    SaleId(id(1))
}

pub fn other_sale_id() -> SaleId {
    SaleId(id(2))
}

pub fn outlet() -> OutletId {
    OutletId(id(3))
}

pub const INVOICE: &str = "INV-1042";
pub const OTHER_INVOICE: &str = "INV-2000";

/// The unit price every fixture product sells at.
pub const PRICE: i64 = 10_000;

pub fn aud(amount_minor: i64) -> Money {
    Money {
        amount_minor,
        currency: "AUD".into(),
    }
}

// ---- products -------------------------------------------------------------------------------

pub fn snapshot(n: u128, sku: &str, name: &str, serial_mode: SerialMode) -> ProductSnapshot {
    ProductSnapshot {
        product_id: ProductId(id(n)),
        sku: sku.into(),
        name: name.into(),
        serial_mode,
        package: None,
    }
}

/// A REQUIRED product.
pub fn phone() -> ProductSnapshot {
    snapshot(10, "IPH-15", "iPhone 15", SerialMode::Required)
}

/// An OPTIONAL product.
pub fn laptop() -> ProductSnapshot {
    snapshot(11, "LAP-14", "Laptop 14", SerialMode::Optional)
}

/// A DISABLED product.
pub fn cable() -> ProductSnapshot {
    snapshot(12, "USB-C", "USB-C cable", SerialMode::Disabled)
}

/// A package of `components`, with its own serial mode.
pub fn package(
    n: u128,
    sku: &str,
    serial_mode: SerialMode,
    mode: PackageMode,
    components: &[(&ProductSnapshot, u32)],
) -> ProductSnapshot {
    ProductSnapshot {
        package: Some(PackageSnapshot {
            mode,
            components: components
                .iter()
                .map(|(product, quantity)| ComponentSnapshot {
                    product: (*product).clone(),
                    quantity: *quantity,
                })
                .collect(),
        }),
        ..snapshot(n, sku, sku, serial_mode)
    }
}

// ---- sale commands --------------------------------------------------------------------------

pub fn open_sale() -> OpenSale {
    OpenSale {
        sale_id: sale_id(),
        invoice_number: INVOICE.into(),
        sale_type: SaleType::Sale,
        delivery_mode: DeliveryMode::CashAndCarry,
        outlet_id: outlet(),
        customer: None,
    }
}

/// Add `quantity` of `product` at [`PRICE`], with the default settings.
pub fn add(product: &ProductSnapshot, quantity: u32) -> AddItem {
    AddItem {
        product: product.clone(),
        quantity,
        unit_price: aud(PRICE),
        settings: RetailerSettings::default(),
    }
}

// ---- sale events ----------------------------------------------------------------------------

pub fn opened() -> LedgerEvent {
    opened_as(sale_id(), INVOICE, SaleType::Sale)
}

pub fn opened_as(sale_id: SaleId, invoice_number: &str, sale_type: SaleType) -> LedgerEvent {
    SaleOpened {
        sale_id,
        invoice_number: invoice_number.into(),
        sale_type,
        delivery_mode: DeliveryMode::CashAndCarry,
        outlet_id: outlet(),
        customer: None,
    }
    .into()
}

/// A line of `product` at [`PRICE`], under the product's mode, outside any package.
pub fn line(number: u32, product: &ProductSnapshot, quantity: u32) -> SaleLine {
    SaleLine {
        line_number: LineNumber(number),
        product_id: product.product_id,
        sku: product.sku.clone(),
        product_name: product.name.clone(),
        quantity,
        unit_price: aud(PRICE),
        serial_mode: product.serial_mode,
        package: None,
    }
}

pub fn added(number: u32, product: &ProductSnapshot, quantity: u32) -> LedgerEvent {
    LineAdded {
        line: line(number, product, quantity),
    }
    .into()
}

pub fn added_line(line: SaleLine) -> LedgerEvent {
    LineAdded { line }.into()
}

/// A serial recorded as typed (already in its normalised form).
pub fn assigned(number: u32, product: &ProductSnapshot, serial: &str) -> LedgerEvent {
    assigned_as(number, product, serial, serial)
}

/// A serial recorded from text typed or scanned as `scanned`.
pub fn assigned_as(
    number: u32,
    product: &ProductSnapshot,
    serial: &str,
    scanned: &str,
) -> LedgerEvent {
    SerialAssigned {
        line_number: LineNumber(number),
        product_id: product.product_id,
        serial: serial.into(),
        scanned: Some(scanned.into()),
    }
    .into()
}

pub fn serial_removed(number: u32, product: &ProductSnapshot, serial: &str) -> LedgerEvent {
    SerialRemoved {
        line_number: LineNumber(number),
        product_id: product.product_id,
        serial: serial.into(),
        reason: None,
    }
    .into()
}

pub fn fulfilled(number: u32, product: &ProductSnapshot, serial: Option<&str>) -> LedgerEvent {
    LineFulfilled {
        line_number: LineNumber(number),
        product_id: product.product_id,
        serial: serial.map(Into::into),
    }
    .into()
}

pub fn returned(
    number: u32,
    product: &ProductSnapshot,
    serial: Option<&str>,
    refund: i64,
) -> LedgerEvent {
    LineReturned {
        line_number: LineNumber(number),
        product_id: product.product_id,
        serial: serial.map(Into::into),
        refund: aud(refund),
        reason: None,
    }
    .into()
}

pub fn cancelled(number: u32, product: &ProductSnapshot, serial: Option<&str>) -> LedgerEvent {
    LineCancelled {
        line_number: LineNumber(number),
        product_id: product.product_id,
        released_serial: serial.map(Into::into),
        reason: None,
    }
    .into()
}

pub fn removed(number: u32, serial: Option<&str>) -> LedgerEvent {
    LineRemoved {
        line_number: LineNumber(number),
        released_serial: serial.map(Into::into),
    }
    .into()
}

pub fn n(number: u32) -> LineNumber {
    LineNumber(number)
}

// ---- a claims table, as the store keeps it ----------------------------------------------------

use domain::claims::{ClaimAction, ClaimChange, ClaimOwner, ClaimScope};
use domain::sale::SaleError;
use std::collections::BTreeMap;

/// The store's claims table in miniature: (scope, key) -> holder's owner string. Applies a
/// command's claim changes all or nothing, refusing a claim another owner holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsTable {
    pub held: BTreeMap<(ClaimScope, String), String>,
}

impl ClaimsTable {
    /// Applies `changes`; on a conflict, changes nothing and returns the typed error, built
    /// from the refused claim and its holder read back from the owner string, as the API
    /// will.
    pub fn apply(&mut self, changes: &[ClaimChange]) -> Result<(), SaleError> {
        let mut next = self.held.clone();
        for change in changes {
            let slot = (change.scope, change.key.clone());
            let owner = change.owner.to_owner_string();
            match change.action {
                ClaimAction::Claim => match next.get(&slot) {
                    Some(holder) if *holder != owner => {
                        let holder = ClaimOwner::parse(holder).unwrap();
                        return Err(SaleError::from_claim_conflict(change, &holder));
                    }
                    _ => {
                        next.insert(slot, owner);
                    }
                },
                ClaimAction::Release => {
                    if next.get(&slot) == Some(&owner) {
                        next.remove(&slot);
                    }
                }
            }
        }
        self.held = next;
        Ok(())
    }
}
