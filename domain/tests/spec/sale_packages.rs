//! Package products on a sale: exploded and consolidated.

use crate::support::*;
use domain::product::ProductSnapshot;
use domain::sale::*;
use domain::settings::RetailerSettings;
use domain::validation::{FieldRule, InvalidField};
use event_schemas::*;

/// An exploded package whose own mode (REQUIRED) must be ignored: a phone (REQUIRED) and
/// two cables (DISABLED).
fn exploded_bundle() -> ProductSnapshot {
    package(
        20,
        "BUNDLE",
        SerialMode::Required,
        PackageMode::Exploded,
        &[(&phone(), 1), (&cable(), 2)],
    )
}

/// A consolidated package, one physical item, with its own mode.
fn boxed_kit(serial_mode: SerialMode) -> ProductSnapshot {
    package(
        21,
        "KIT",
        serial_mode,
        PackageMode::Consolidated,
        &[(&laptop(), 1), (&cable(), 1)],
    )
}

fn parent_line(number: u32, package: &ProductSnapshot, quantity: u32) -> LedgerEvent {
    added_line(SaleLine {
        serial_mode: SerialMode::Disabled,
        package: Some(LinePackage::Package {
            mode: PackageMode::Exploded,
        }),
        ..line(number, package, quantity)
    })
}

fn component_line(
    number: u32,
    product: &ProductSnapshot,
    quantity: u32,
    parent: u32,
) -> LedgerEvent {
    added_line(SaleLine {
        unit_price: aud(0),
        package: Some(LinePackage::Component {
            parent_line: n(parent),
        }),
        ..line(number, product, quantity)
    })
}

fn consolidated_line(number: u32, package: &ProductSnapshot, quantity: u32) -> LedgerEvent {
    added_line(SaleLine {
        package: Some(LinePackage::Package {
            mode: PackageMode::Consolidated,
        }),
        ..line(number, package, quantity)
    })
}

fn bundle_of_two() -> Vec<LedgerEvent> {
    vec![
        opened(),
        parent_line(1, &exploded_bundle(), 2),
        component_line(2, &phone(), 1, 1),
        component_line(3, &phone(), 1, 1),
        component_line(4, &cable(), 4, 1),
    ]
}

#[test]
fn an_exploded_package_adds_a_parent_line_and_component_lines_split_per_tracked_unit() {
    let mut expected = bundle_of_two();
    expected.remove(0);
    let state = sale([opened()])
        .when(add(&exploded_bundle(), 2))
        .then(expected)
        .unwrap();
    // The package line is ignored for serials; each phone unit takes its own serial.
    assert_eq!(state.lines[&n(1)].serial_mode, SerialMode::Disabled);
    assert_eq!(state.lines[&n(2)].serial_mode, SerialMode::Required);
    assert_eq!(state.lines[&n(4)].quantity, 4);
}

#[test]
fn an_exploded_package_needs_serials_only_for_its_required_components() {
    sale(bundle_of_two())
        .when(FulfilLines {
            lines: LineSelection::All,
        })
        .then_error(SaleError::SerialRequired {
            lines: vec![n(2), n(3)],
        });
}

#[test]
fn a_consolidated_tracked_package_adds_one_line_per_package_unit_and_ignores_its_components() {
    for mode in [SerialMode::Required, SerialMode::Optional] {
        sale([opened()]).when(add(&boxed_kit(mode), 2)).then([
            consolidated_line(1, &boxed_kit(mode), 1),
            consolidated_line(2, &boxed_kit(mode), 1),
        ]);
    }
}

#[test]
fn a_consolidated_disabled_package_adds_one_line_even_if_its_components_are_tracked() {
    sale([opened()])
        .when(add(&boxed_kit(SerialMode::Disabled), 2))
        .then([consolidated_line(1, &boxed_kit(SerialMode::Disabled), 2)]);
}

#[test]
fn a_consolidated_disabled_package_is_aggregated_like_any_disabled_product() {
    sale([
        opened(),
        consolidated_line(1, &boxed_kit(SerialMode::Disabled), 2),
    ])
    .when(add(&boxed_kit(SerialMode::Disabled), 1))
    .then([LineQuantityChanged {
        line_number: n(1),
        quantity: 3,
        previous_quantity: 2,
    }
    .into()]);
}

#[test]
fn an_exploded_package_is_never_aggregated() {
    let mut given = vec![opened()];
    given.extend([
        parent_line(1, &exploded_bundle(), 1),
        component_line(2, &phone(), 1, 1),
        component_line(3, &cable(), 2, 1),
    ]);
    sale(given)
        .when(AddItem {
            settings: RetailerSettings {
                aggregate_duplicate_order_items: true,
                ..RetailerSettings::default()
            },
            ..add(&exploded_bundle(), 1)
        })
        .then([
            parent_line(4, &exploded_bundle(), 1),
            component_line(5, &phone(), 1, 4),
            component_line(6, &cable(), 2, 4),
        ]);
}

#[test]
fn the_quantity_of_an_exploded_package_line_or_component_line_cannot_change() {
    for line_number in [1, 4] {
        sale(bundle_of_two())
            .when(ChangeLineQuantity {
                line_number: n(line_number),
                quantity: 3,
            })
            .then_error(SaleError::PackageLineQuantityFixed {
                line_number: n(line_number),
            });
    }
    sale(bundle_of_two())
        .when(ChangeLineQuantity {
            line_number: n(2),
            quantity: 2,
        })
        .then_error(SaleError::SplitLineRequired { line_number: n(2) });
}

#[test]
fn removing_an_exploded_package_removes_its_open_component_lines() {
    let mut given = bundle_of_two();
    given.push(assigned(2, &phone(), "SN1"));
    sale(given).when(RemoveLine { line_number: n(1) }).then([
        removed(1, None),
        removed(2, Some("SN1")),
        removed(3, None),
        removed(4, None),
    ]);
}

#[test]
fn cancelling_an_exploded_package_cancels_its_open_component_lines_only() {
    let mut given = bundle_of_two();
    given.push(fulfilled(4, &cable(), None));
    sale(given)
        .when(CancelLine {
            line_number: n(1),
            reason: None,
        })
        .then([
            cancelled(1, &exploded_bundle(), None),
            cancelled(2, &phone(), None),
            cancelled(3, &phone(), None),
        ]);
}

#[test]
fn an_exploded_package_whose_components_would_overflow_a_line_is_refused() {
    let huge = package(
        22,
        "PALLET",
        SerialMode::Disabled,
        PackageMode::Exploded,
        &[(&cable(), 5_000)],
    );
    sale([opened()])
        .when(add(&huge, 3))
        .then_error(InvalidField::new("quantity", FieldRule::TooLarge { max: 2 }).into());
}

#[test]
fn a_package_snapshot_without_components_is_refused() {
    let empty = package(
        23,
        "EMPTY",
        SerialMode::Disabled,
        PackageMode::Exploded,
        &[],
    );
    sale([opened()])
        .when(add(&empty, 1))
        .then_error(InvalidField::new("product.package.components", FieldRule::Empty).into());
}

#[test]
fn a_package_snapshot_with_a_zero_component_quantity_is_refused() {
    let zero = package(
        24,
        "ZERO",
        SerialMode::Disabled,
        PackageMode::Exploded,
        &[(&cable(), 0)],
    );
    sale([opened()]).when(add(&zero, 1)).then_error(
        InvalidField::new("product.package.components[0].quantity", FieldRule::Zero).into(),
    );
}
