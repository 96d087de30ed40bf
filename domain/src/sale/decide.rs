//! The sale's `decide`: for each command, a run of guard clauses ending in the events.

use super::command::{
    AddItem, AssignSerial, CancelLine, ChangeLineQuantity, FulfilLines, FulfilWithSerials,
    LineSelection, OpenSale, ReissueLine, RemoveLine, RemoveSerial, ReturnUnits, SaleCommand,
    UnitSelector,
};
use super::error::SaleError;
use super::state::{Line, LineStatus, Sale};
use crate::product::{MAX_PRODUCT_NAME_LENGTH, MAX_SKU_LENGTH, ProductSnapshot};
use crate::serial::SerialNumber;
use crate::validation::{self, FieldRule, InvalidField};
use event_schemas::{
    Customer, LedgerEvent, LineAdded, LineCancelled, LineFulfilled, LineNumber, LinePackage,
    LineQuantityChanged, LineReissued, LineRemoved, LineReturned, Money, PackageMode,
    ReturnedLineRef, SaleLine, SaleOpened, SerialAssigned, SerialMode, SerialRemoved,
};
use std::collections::BTreeSet;

/// The most characters in an invoice number.
pub const MAX_INVOICE_NUMBER_LENGTH: usize = 64;
/// The most characters in a customer name.
pub const MAX_NAME_LENGTH: usize = 200;
/// The most characters in a cancellation or return reason.
pub const MAX_REASON_LENGTH: usize = 500;
/// The most units on one line.
pub const MAX_LINE_QUANTITY: u32 = 10_000;
/// The most lines a sale may have (removed and cancelled ones included).
pub const MAX_LINES_PER_SALE: u32 = 1_000;
/// The highest unit price, in minor units: any line of up to [`MAX_LINE_QUANTITY`] units
/// then has a total that fits an `i64`.
pub const MAX_UNIT_PRICE_MINOR: i64 = i64::MAX / MAX_LINE_QUANTITY as i64;

pub(crate) fn decide(
    state: Option<&Sale>,
    command: SaleCommand,
) -> Result<Vec<LedgerEvent>, SaleError> {
    let Some(sale) = state else {
        return match command {
            SaleCommand::OpenSale(open) => open_sale(open),
            _ => Err(SaleError::SaleNotOpened),
        };
    };
    match command {
        SaleCommand::OpenSale(_) => Err(SaleError::SaleAlreadyOpened {
            invoice_number: sale.invoice_number.clone(),
        }),
        SaleCommand::AddItem(add) => add_item(sale, add),
        SaleCommand::ChangeLineQuantity(change) => change_line_quantity(sale, change),
        SaleCommand::RemoveLine(remove) => remove_line(sale, remove),
        SaleCommand::AssignSerial(assign) => assign_serial(sale, assign),
        SaleCommand::RemoveSerial(remove) => remove_serial(sale, remove),
        SaleCommand::FulfilLines(fulfil) => fulfil_lines(sale, fulfil),
        SaleCommand::FulfilWithSerials(fulfil) => fulfil_with_serials(sale, fulfil),
        SaleCommand::ReturnUnits(units) => return_units(sale, units),
        SaleCommand::CancelLine(cancel) => cancel_line(sale, cancel),
        SaleCommand::ReissueLine(reissue) => reissue_line(sale, reissue),
    }
}

fn open_sale(open: OpenSale) -> Result<Vec<LedgerEvent>, SaleError> {
    let invoice_number = validation::required_text(
        "invoice_number",
        &open.invoice_number,
        MAX_INVOICE_NUMBER_LENGTH,
    )?;
    let customer = open
        .customer
        .map(|customer| {
            validation::required_text("customer.name", &customer.name, MAX_NAME_LENGTH).map(
                |name| Customer {
                    customer_id: customer.customer_id,
                    name,
                },
            )
        })
        .transpose()?;
    Ok(vec![
        SaleOpened {
            sale_id: open.sale_id,
            invoice_number,
            sale_type: open.sale_type,
            delivery_mode: open.delivery_mode,
            outlet_id: open.outlet_id,
            customer,
        }
        .into(),
    ])
}

// ---- adding items ---------------------------------------------------------------------------

fn add_item(sale: &Sale, add: AddItem) -> Result<Vec<LedgerEvent>, SaleError> {
    let quantity = validation::count("quantity", add.quantity, MAX_LINE_QUANTITY)?;
    validation::money("unit_price", &add.unit_price)?;
    if add.unit_price.amount_minor > MAX_UNIT_PRICE_MINOR {
        return Err(InvalidField::new(
            "unit_price.amount_minor",
            FieldRule::TooLarge {
                max: MAX_UNIT_PRICE_MINOR.unsigned_abs(),
            },
        )
        .into());
    }
    same_currency(sale, "unit_price.currency", &add.unit_price.currency)?;
    let product = checked_snapshot(add.product)?;
    let exploded = product
        .package
        .as_ref()
        .is_some_and(|package| package.mode == PackageMode::Exploded);
    if exploded {
        return add_exploded_package(sale, &product, quantity, add.unit_price);
    }
    // A standard product, or a consolidated package (one physical item: the package's own
    // mode governs; its components are not lines).
    let package = product
        .package
        .as_ref()
        .map(|package| LinePackage::Package { mode: package.mode });
    let mergeable = (add.settings.aggregate_duplicate_order_items
        && !product.serial_mode.is_tracked())
    .then(|| {
        sale.lines.values().find(|line| {
            line.is_open()
                && line.product_id == product.product_id
                && line.serial_mode == SerialMode::Disabled
                && line.package == package
                && line.unit_price == add.unit_price
                && line.reissue_of.is_none()
        })
    })
    .flatten();
    if let Some(line) = mergeable {
        let merged = u64::from(line.quantity) + u64::from(quantity);
        if merged > u64::from(MAX_LINE_QUANTITY) {
            return Err(InvalidField::new(
                "quantity",
                FieldRule::TooLarge {
                    max: u64::from(MAX_LINE_QUANTITY.saturating_sub(line.quantity)),
                },
            )
            .into());
        }
        return Ok(vec![
            LineQuantityChanged {
                line_number: line.line_number,
                quantity: line.quantity.saturating_add(quantity),
                previous_quantity: line.quantity,
            }
            .into(),
        ]);
    }
    let mut lines = LinePlan::new(sale);
    lines.push_units(
        &product,
        product.serial_mode,
        quantity,
        add.unit_price,
        package,
    )?;
    Ok(lines.into_events())
}

fn add_exploded_package(
    sale: &Sale,
    package: &ProductSnapshot,
    quantity: u32,
    unit_price: Money,
) -> Result<Vec<LedgerEvent>, SaleError> {
    let components = package
        .package
        .as_ref()
        .map(|package| package.components.as_slice())
        .unwrap_or_default();
    let zero = Money {
        amount_minor: 0,
        currency: unit_price.currency.clone(),
    };
    let mut lines = LinePlan::new(sale);
    // The package's own line: ignored for serials, carries the price.
    let parent_line = lines.push_units(
        package,
        SerialMode::Disabled,
        quantity,
        unit_price,
        Some(LinePackage::Package {
            mode: PackageMode::Exploded,
        }),
    )?;
    for component in components {
        let units = u64::from(component.quantity) * u64::from(quantity);
        let units = u32::try_from(units)
            .ok()
            .filter(|units| *units <= MAX_LINE_QUANTITY)
            .ok_or_else(|| {
                InvalidField::new(
                    "quantity",
                    FieldRule::TooLarge {
                        max: u64::from(MAX_LINE_QUANTITY / component.quantity.max(1)),
                    },
                )
            })?;
        lines.push_units(
            &component.product,
            component.product.serial_mode,
            units,
            zero.clone(),
            Some(LinePackage::Component { parent_line }),
        )?;
    }
    Ok(lines.into_events())
}

/// The lines an add creates, numbered from the sale's next line number.
struct LinePlan {
    existing: u64,
    next: u32,
    lines: Vec<SaleLine>,
}

impl LinePlan {
    fn new(sale: &Sale) -> Self {
        Self {
            existing: sale.lines.len() as u64,
            next: sale.next_line_number().0,
            lines: Vec::new(),
        }
    }

    /// Adds `quantity` units of `product` under `mode`: one line of quantity 1 per unit
    /// when the mode is serial-tracked, else one line. Returns the first line's number.
    fn push_units(
        &mut self,
        product: &ProductSnapshot,
        mode: SerialMode,
        quantity: u32,
        unit_price: Money,
        package: Option<LinePackage>,
    ) -> Result<LineNumber, SaleError> {
        let (count, per_line) = if mode.is_tracked() {
            (quantity, 1)
        } else {
            (1, quantity)
        };
        let total = self.existing + self.lines.len() as u64 + u64::from(count);
        if total > u64::from(MAX_LINES_PER_SALE) {
            return Err(SaleError::TooManyLines {
                lines: total,
                max: MAX_LINES_PER_SALE,
            });
        }
        let first = LineNumber(self.next);
        for _ in 0..count {
            self.lines.push(SaleLine {
                line_number: LineNumber(self.next),
                product_id: product.product_id,
                sku: product.sku.clone(),
                product_name: product.name.clone(),
                quantity: per_line,
                unit_price: unit_price.clone(),
                serial_mode: mode,
                package: package.clone(),
            });
            self.next = self.next.saturating_add(1);
        }
        Ok(first)
    }

    fn into_events(self) -> Vec<LedgerEvent> {
        self.lines
            .into_iter()
            .map(|line| LineAdded { line }.into())
            .collect()
    }
}

/// Checks the product snapshot the command service loaded and trims its text.
fn checked_snapshot(mut product: ProductSnapshot) -> Result<ProductSnapshot, SaleError> {
    product.sku = validation::required_text("product.sku", &product.sku, MAX_SKU_LENGTH)?;
    product.name =
        validation::required_text("product.name", &product.name, MAX_PRODUCT_NAME_LENGTH)?;
    if let Some(package) = product.package.as_mut() {
        if package.components.is_empty() {
            return Err(InvalidField::new("product.package.components", FieldRule::Empty).into());
        }
        for (index, component) in package.components.iter_mut().enumerate() {
            let field = format!("product.package.components[{index}]");
            validation::count(
                &format!("{field}.quantity"),
                component.quantity,
                MAX_LINE_QUANTITY,
            )?;
            component.product.sku = validation::required_text(
                &format!("{field}.product.sku"),
                &component.product.sku,
                MAX_SKU_LENGTH,
            )?;
            component.product.name = validation::required_text(
                &format!("{field}.product.name"),
                &component.product.name,
                MAX_PRODUCT_NAME_LENGTH,
            )?;
        }
    }
    Ok(product)
}

/// A sale is priced in one currency: that of its first line.
fn same_currency(sale: &Sale, field: &str, currency: &str) -> Result<(), SaleError> {
    match sale.currency() {
        Some(expected) if expected != currency => Err(InvalidField::new(
            field,
            FieldRule::CurrencyMismatch {
                expected: expected.to_owned(),
            },
        )
        .into()),
        _ => Ok(()),
    }
}

// ---- changing and removing lines ------------------------------------------------------------

/// Refuses anything but an open line: fulfilled lines are returned, not changed; returned,
/// cancelled and removed lines are closed.
fn ensure_open(line: &Line) -> Result<(), SaleError> {
    match line.status {
        LineStatus::Open => Ok(()),
        LineStatus::Fulfilled => Err(SaleError::LineAlreadyFulfilled {
            line_number: line.line_number,
        }),
        status => Err(SaleError::LineClosed {
            line_number: line.line_number,
            status,
        }),
    }
}

fn change_line_quantity(
    sale: &Sale,
    change: ChangeLineQuantity,
) -> Result<Vec<LedgerEvent>, SaleError> {
    let quantity = validation::count("quantity", change.quantity, MAX_LINE_QUANTITY)?;
    let line = sale.existing_line(change.line_number)?;
    ensure_open(line)?;
    if quantity == line.quantity {
        return Ok(Vec::new());
    }
    if line.serial_mode.is_tracked() {
        return Err(SaleError::SplitLineRequired {
            line_number: line.line_number,
        });
    }
    if line.is_exploded_package() || line.is_component() {
        return Err(SaleError::PackageLineQuantityFixed {
            line_number: line.line_number,
        });
    }
    Ok(vec![
        LineQuantityChanged {
            line_number: line.line_number,
            quantity,
            previous_quantity: line.quantity,
        }
        .into(),
    ])
}

/// The line and, for an exploded package's own line, its component lines still open.
fn line_with_components(sale: &Sale, line: &Line) -> Vec<Line> {
    let mut lines = vec![line.clone()];
    if line.is_exploded_package() {
        let component_of_line = Some(LinePackage::Component {
            parent_line: line.line_number,
        });
        lines.extend(
            sale.lines
                .values()
                .filter(|other| other.is_open() && other.package == component_of_line)
                .cloned(),
        );
    }
    lines
}

fn remove_line(sale: &Sale, remove: RemoveLine) -> Result<Vec<LedgerEvent>, SaleError> {
    let line = sale.existing_line(remove.line_number)?;
    ensure_open(line)?;
    Ok(line_with_components(sale, line)
        .into_iter()
        .map(|line| {
            LineRemoved {
                line_number: line.line_number,
                released_serial: line.serial,
            }
            .into()
        })
        .collect())
}

fn cancel_line(sale: &Sale, cancel: CancelLine) -> Result<Vec<LedgerEvent>, SaleError> {
    let line = sale.existing_line(cancel.line_number)?;
    ensure_open(line)?;
    let reason = validation::optional_text("reason", cancel.reason, MAX_REASON_LENGTH)?;
    Ok(line_with_components(sale, line)
        .into_iter()
        .map(|line| {
            LineCancelled {
                line_number: line.line_number,
                product_id: line.product_id,
                released_serial: line.serial,
                reason: reason.clone(),
            }
            .into()
        })
        .collect())
}

// ---- serials --------------------------------------------------------------------------------

/// Refuses a serial change on a line that is not open: fulfilled (or since returned) lines
/// have a frozen serial; cancelled and removed lines are closed.
fn ensure_serial_changeable(line: &Line) -> Result<(), SaleError> {
    match line.status {
        LineStatus::Open => Ok(()),
        LineStatus::Fulfilled | LineStatus::Returned => Err(SaleError::SerialFrozen {
            line_number: line.line_number,
        }),
        status => Err(SaleError::LineClosed {
            line_number: line.line_number,
            status,
        }),
    }
}

/// Refuses `serial` of the line's product when another line of this sale holds it live.
fn ensure_not_live_elsewhere(
    sale: &Sale,
    line_number: LineNumber,
    product_id: event_schemas::ProductId,
    serial: &SerialNumber,
) -> Result<(), SaleError> {
    match sale.live_holder(product_id, serial.as_str(), Some(line_number)) {
        Some(holder) => Err(SaleError::SerialAlreadyLive {
            serial: serial.to_string(),
            invoice_number: sale.invoice_number.clone(),
            line_number: Some(holder.line_number),
        }),
        None => Ok(()),
    }
}

fn assign_serial(sale: &Sale, assign: AssignSerial) -> Result<Vec<LedgerEvent>, SaleError> {
    let line = sale.existing_line(assign.line_number)?;
    if !line.serial_mode.is_tracked() {
        return Err(SaleError::SerialNotAllowed {
            line_number: line.line_number,
        });
    }
    ensure_serial_changeable(line)?;
    let serial = SerialNumber::parse(&assign.serial)?;
    if line.serial.as_deref() == Some(serial.as_str()) {
        return Ok(Vec::new());
    }
    ensure_not_live_elsewhere(sale, line.line_number, line.product_id, &serial)?;
    let mut events = Vec::with_capacity(2);
    if let Some(previous) = &line.serial {
        events.push(
            SerialRemoved {
                line_number: line.line_number,
                product_id: line.product_id,
                serial: previous.clone(),
                reason: None,
            }
            .into(),
        );
    }
    events.push(
        SerialAssigned {
            line_number: line.line_number,
            product_id: line.product_id,
            serial: serial.into_string(),
            scanned: Some(assign.serial),
        }
        .into(),
    );
    Ok(events)
}

/// Each serial is assigned as [`assign_serial`] would (against the sale as the earlier
/// assignments left it, so two lines cannot take the same serial), then the lines are
/// fulfilled as [`fulfil_lines`] would: one refusal refuses the whole step.
fn fulfil_with_serials(
    sale: &Sale,
    fulfil: FulfilWithSerials,
) -> Result<Vec<LedgerEvent>, SaleError> {
    if fulfil.lines.is_empty() {
        return Err(InvalidField::new("lines", FieldRule::Empty).into());
    }
    let mut seen = BTreeSet::new();
    for line in &fulfil.lines {
        if !seen.insert(line.line_number) {
            return Err(SaleError::LineSelectedTwice {
                line_number: line.line_number,
            });
        }
    }
    let mut events = Vec::new();
    let mut after: Option<Sale> = None;
    for line in &fulfil.lines {
        let Some(serial) = &line.serial else {
            continue;
        };
        let current = after.as_ref().unwrap_or(sale);
        let assigned = assign_serial(
            current,
            AssignSerial {
                line_number: line.line_number,
                serial: serial.clone(),
            },
        )?;
        let mut next = Some(current.clone());
        for event in &assigned {
            next = super::state::evolve(next, event);
        }
        after = next;
        events.extend(assigned);
    }
    let fulfilled = fulfil_lines(
        after.as_ref().unwrap_or(sale),
        FulfilLines {
            lines: LineSelection::Lines(fulfil.lines.iter().map(|line| line.line_number).collect()),
        },
    )?;
    events.extend(fulfilled);
    Ok(events)
}

fn remove_serial(sale: &Sale, remove: RemoveSerial) -> Result<Vec<LedgerEvent>, SaleError> {
    let line = sale.existing_line(remove.line_number)?;
    ensure_serial_changeable(line)?;
    let Some(serial) = &line.serial else {
        return Err(SaleError::NoSerialToRemove {
            line_number: line.line_number,
        });
    };
    let reason = validation::optional_text("reason", remove.reason, MAX_REASON_LENGTH)?;
    Ok(vec![
        SerialRemoved {
            line_number: line.line_number,
            product_id: line.product_id,
            serial: serial.clone(),
            reason,
        }
        .into(),
    ])
}

// ---- fulfilment -----------------------------------------------------------------------------

fn fulfil_lines(sale: &Sale, fulfil: FulfilLines) -> Result<Vec<LedgerEvent>, SaleError> {
    let selected: Vec<&Line> = match fulfil.lines {
        LineSelection::All => {
            let open: Vec<&Line> = sale.lines.values().filter(|line| line.is_open()).collect();
            if open.is_empty() {
                return Err(SaleError::NothingToFulfil);
            }
            open
        }
        LineSelection::Lines(numbers) => {
            if numbers.is_empty() {
                return Err(InvalidField::new("lines", FieldRule::Empty).into());
            }
            let mut seen = BTreeSet::new();
            let mut lines = Vec::with_capacity(numbers.len());
            for line_number in numbers {
                if !seen.insert(line_number) {
                    return Err(SaleError::LineSelectedTwice { line_number });
                }
                let line = sale.existing_line(line_number)?;
                ensure_open(line)?;
                lines.push(line);
            }
            lines.sort_by_key(|line| line.line_number);
            lines
        }
    };
    let missing: Vec<LineNumber> = selected
        .iter()
        .filter(|line| line.serial_mode == SerialMode::Required && line.serial.is_none())
        .map(|line| line.line_number)
        .collect();
    if !missing.is_empty() {
        return Err(SaleError::SerialRequired { lines: missing });
    }
    Ok(selected
        .into_iter()
        .map(|line| {
            LineFulfilled {
                line_number: line.line_number,
                product_id: line.product_id,
                serial: line.serial.clone(),
            }
            .into()
        })
        .collect())
}

// ---- returns --------------------------------------------------------------------------------

fn return_units(sale: &Sale, units: ReturnUnits) -> Result<Vec<LedgerEvent>, SaleError> {
    if units.units.is_empty() {
        return Err(InvalidField::new("units", FieldRule::Empty).into());
    }
    let reason = validation::optional_text("reason", units.reason, MAX_REASON_LENGTH)?;
    let mut seen = BTreeSet::new();
    let mut events = Vec::with_capacity(units.units.len());
    for (index, unit) in units.units.into_iter().enumerate() {
        let line = match &unit.unit {
            UnitSelector::Line(line_number) => sale.existing_line(*line_number)?,
            UnitSelector::Serial { product_id, serial } => {
                let serial = SerialNumber::parse(serial)?;
                sale.line_with_serial(Some(*product_id), &serial)?
            }
        };
        match line.status {
            LineStatus::Fulfilled => {}
            LineStatus::Returned => {
                return Err(SaleError::AlreadyReturned {
                    line_number: line.line_number,
                });
            }
            LineStatus::Open => {
                return Err(SaleError::LineNotFulfilled {
                    line_number: line.line_number,
                });
            }
            status => {
                return Err(SaleError::LineClosed {
                    line_number: line.line_number,
                    status,
                });
            }
        }
        if !seen.insert(line.line_number) {
            return Err(SaleError::LineSelectedTwice {
                line_number: line.line_number,
            });
        }
        let field = format!("units[{index}].refund");
        validation::money(&field, &unit.refund)?;
        if unit.refund.currency != line.unit_price.currency {
            return Err(InvalidField::new(
                format!("{field}.currency"),
                FieldRule::CurrencyMismatch {
                    expected: line.unit_price.currency.clone(),
                },
            )
            .into());
        }
        let line_total = line.total_minor();
        if unit.refund.amount_minor > line_total {
            return Err(InvalidField::new(
                format!("{field}.amount_minor"),
                FieldRule::TooLarge {
                    max: u64::try_from(line_total).unwrap_or_default(),
                },
            )
            .into());
        }
        events.push(
            LineReturned {
                line_number: line.line_number,
                product_id: line.product_id,
                serial: line.serial.clone(),
                refund: unit.refund,
                reason: reason.clone(),
            }
            .into(),
        );
    }
    Ok(events)
}

// ---- re-issue -------------------------------------------------------------------------------

fn reissue_line(sale: &Sale, reissue: ReissueLine) -> Result<Vec<LedgerEvent>, SaleError> {
    let original = reissue.original;
    if original.sale_id == sale.sale_id {
        return Err(SaleError::ReissueOnSameSale {
            invoice_number: original.invoice_number,
            line_number: original.line.line_number,
        });
    }
    original.ensure_returned()?;
    if let Some(holder) = sale.lines.values().find(|line| {
        line.holds_reissue()
            && line.reissue_of.as_ref().is_some_and(|of| {
                of.sale_id == original.sale_id && of.line_number == original.line.line_number
            })
    }) {
        return Err(SaleError::AlreadyReissued {
            invoice_number: sale.invoice_number.clone(),
            line_number: Some(holder.line_number),
        });
    }
    same_currency(
        sale,
        "original.line.unit_price.currency",
        &original.line.unit_price.currency,
    )?;
    let line_number = sale.next_line_number();
    let total = sale.lines.len() as u64 + 1;
    if total > u64::from(MAX_LINES_PER_SALE) {
        return Err(SaleError::TooManyLines {
            lines: total,
            max: MAX_LINES_PER_SALE,
        });
    }
    // The re-issued unit stands alone on the new invoice: a component loses its link to a
    // package line of the old sale.
    let mut line = original.line.clone();
    line.line_number = line_number;
    if line
        .package
        .as_ref()
        .is_some_and(|package| matches!(package, LinePackage::Component { .. }))
    {
        line.package = None;
    }
    let serial = match reissue.serial {
        None => None,
        Some(raw) => {
            if !line.serial_mode.is_tracked() {
                return Err(SaleError::SerialNotAllowed { line_number });
            }
            let serial = SerialNumber::parse(&raw)?;
            ensure_not_live_elsewhere(sale, line_number, line.product_id, &serial)?;
            Some((serial, raw))
        }
    };
    let product_id = line.product_id;
    let mut events: Vec<LedgerEvent> = vec![
        LineReissued {
            line,
            reissue_of: ReturnedLineRef {
                sale_id: original.sale_id,
                invoice_number: original.invoice_number,
                line_number: original.line.line_number,
                serial: original.serial,
            },
        }
        .into(),
    ];
    if let Some((serial, scanned)) = serial {
        events.push(
            SerialAssigned {
                line_number,
                product_id,
                serial: serial.into_string(),
                scanned: Some(scanned),
            }
            .into(),
        );
    }
    Ok(events)
}
