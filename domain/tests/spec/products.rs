//! Products: serial mode, where it was set, packages.

use crate::support::*;
use domain::Decider;
use domain::product::*;
use domain::validation::{FieldRule, InvalidField};
use event_schemas::*;
use pretty_assertions::assert_eq;
use std::collections::BTreeMap;

fn pid(n: u128) -> ProductId {
    ProductId(id(n))
}

fn create(serial_mode: Option<SerialMode>, source: SerialModeSource) -> CreateProduct {
    CreateProduct {
        product_id: pid(10),
        sku: "IPH-15".into(),
        name: "iPhone 15".into(),
        serial_mode,
        source,
        package: None,
        package_graph: PackageGraph::new(),
    }
}

fn created(serial_mode: SerialMode, source: SerialModeSource) -> LedgerEvent {
    ProductCreated {
        product_id: pid(10),
        sku: "IPH-15".into(),
        name: "iPhone 15".into(),
        serial_mode,
        serial_mode_source: source,
        package: None,
    }
    .into()
}

fn composition(mode: PackageMode, components: &[(u128, u32)]) -> PackageComposition {
    PackageComposition {
        mode,
        components: components
            .iter()
            .map(|(n, quantity)| PackageComponent {
                product_id: pid(*n),
                quantity: *quantity,
            })
            .collect(),
    }
}

const ALL_SOURCES: [SerialModeSource; 6] = [
    SerialModeSource::Manual,
    SerialModeSource::CsvMassUpload,
    SerialModeSource::BulkEdit,
    SerialModeSource::PosQuickCreate,
    SerialModeSource::PoQuickCreate,
    SerialModeSource::Api,
];

#[test]
fn new_products_default_to_disabled_unless_a_mode_is_specified() {
    product([])
        .when(create(None, SerialModeSource::Manual))
        .then([created(SerialMode::Disabled, SerialModeSource::Manual)]);
}

#[test]
fn a_product_can_be_created_with_any_serial_mode_from_any_place() {
    for source in ALL_SOURCES {
        for mode in [
            SerialMode::Required,
            SerialMode::Optional,
            SerialMode::Disabled,
        ] {
            product([])
                .when(create(Some(mode), source))
                .then([created(mode, source)]);
        }
    }
}

#[test]
fn products_created_before_the_feature_count_as_disabled() {
    // A ProductCreated stored before the feature has no serial_mode.
    let legacy = serde_json::json!({
        "product_id": pid(10),
        "sku": "OLD-1",
        "name": "Old product",
        "serial_mode_source": "MANUAL",
        "package": null
    });
    let event = LedgerEvent::decode("ProductCreated", 1, &legacy).unwrap();
    let state = ProductDecider::fold([&event]);
    assert_eq!(state.map(|p| p.serial_mode), Some(SerialMode::Disabled));
}

#[test]
fn the_serial_mode_can_be_changed_from_every_place_and_the_event_records_which() {
    for source in ALL_SOURCES {
        let state = product([created(SerialMode::Disabled, SerialModeSource::Manual)])
            .when(SetSerialMode {
                serial_mode: SerialMode::Required,
                source,
            })
            .then([SerialModeChanged {
                product_id: pid(10),
                serial_mode: SerialMode::Required,
                previous_serial_mode: SerialMode::Disabled,
                source,
            }
            .into()]);
        assert_eq!(state.map(|p| p.serial_mode_source), Some(source));
    }
}

#[test]
fn setting_the_mode_a_product_already_has_records_nothing() {
    product([created(SerialMode::Optional, SerialModeSource::Api)])
        .when(SetSerialMode {
            serial_mode: SerialMode::Optional,
            source: SerialModeSource::BulkEdit,
        })
        .then_nothing();
}

#[test]
fn a_product_can_be_created_only_once() {
    product([created(SerialMode::Disabled, SerialModeSource::Manual)])
        .when(create(None, SerialModeSource::Manual))
        .then_error(ProductError::AlreadyExists {
            product_id: pid(10),
        });
}

#[test]
fn a_product_that_was_never_created_cannot_be_changed() {
    product([])
        .when(SetSerialMode {
            serial_mode: SerialMode::Required,
            source: SerialModeSource::Manual,
        })
        .then_error(ProductError::NotFound);
}

#[test]
fn a_blank_sku_or_name_is_refused_naming_the_field() {
    let mut blank_sku = create(None, SerialModeSource::Manual);
    blank_sku.sku = "   ".into();
    product([])
        .when(blank_sku)
        .then_error(InvalidField::new("sku", FieldRule::Blank).into());

    let mut blank_name = create(None, SerialModeSource::Manual);
    blank_name.name = String::new();
    product([])
        .when(blank_name)
        .then_error(InvalidField::new("name", FieldRule::Blank).into());
}

#[test]
fn a_sku_too_long_or_with_control_characters_is_refused() {
    let mut long = create(None, SerialModeSource::Manual);
    long.sku = "X".repeat(MAX_SKU_LENGTH + 1);
    product([]).when(long).then_error(
        InvalidField::new(
            "sku",
            FieldRule::TooLong {
                max: MAX_SKU_LENGTH,
            },
        )
        .into(),
    );

    let mut control = create(None, SerialModeSource::Manual);
    control.name = "iPhone\u{7}15".into();
    product([])
        .when(control)
        .then_error(InvalidField::new("name", FieldRule::ControlCharacter { position: 7 }).into());
}

#[test]
fn sku_and_name_are_trimmed() {
    let mut padded = create(None, SerialModeSource::Manual);
    padded.sku = "  IPH-15 ".into();
    padded.name = " iPhone 15\n".into();
    product([])
        .when(padded)
        .then([created(SerialMode::Disabled, SerialModeSource::Manual)]);
}

#[test]
fn product_details_can_be_changed() {
    product([created(SerialMode::Disabled, SerialModeSource::Manual)])
        .when(ChangeProductDetails {
            sku: "IPH-15-BLK".into(),
            name: "iPhone 15 Black".into(),
        })
        .then([ProductDetailsChanged {
            product_id: pid(10),
            sku: "IPH-15-BLK".into(),
            name: "iPhone 15 Black".into(),
        }
        .into()]);
}

#[test]
fn changing_details_to_what_they_are_records_nothing() {
    product([created(SerialMode::Disabled, SerialModeSource::Manual)])
        .when(ChangeProductDetails {
            sku: "IPH-15".into(),
            name: "iPhone 15".into(),
        })
        .then_nothing();
}

#[test]
fn a_package_is_created_consolidated_or_exploded_with_component_quantities() {
    for mode in [PackageMode::Consolidated, PackageMode::Exploded] {
        let mut package = create(Some(SerialMode::Required), SerialModeSource::Manual);
        package.product_id = pid(20);
        package.package = Some(composition(mode, &[(10, 1), (12, 2)]));
        let state = product([]).when(package).then([ProductCreated {
            product_id: pid(20),
            sku: "IPH-15".into(),
            name: "iPhone 15".into(),
            serial_mode: SerialMode::Required,
            serial_mode_source: SerialModeSource::Manual,
            package: Some(composition(mode, &[(10, 1), (12, 2)])),
        }
        .into()]);
        assert_eq!(
            state.and_then(|p| p.package).map(|p| p.mode),
            Some(mode),
            "package mode"
        );
    }
}

#[test]
fn a_package_composition_can_be_changed() {
    product([created(SerialMode::Disabled, SerialModeSource::Manual)])
        .when(SetPackageComposition {
            package: composition(PackageMode::Exploded, &[(11, 3)]),
            package_graph: PackageGraph::new(),
        })
        .then([PackageCompositionChanged {
            product_id: pid(10),
            package: composition(PackageMode::Exploded, &[(11, 3)]),
        }
        .into()]);
}

#[test]
fn a_package_cannot_contain_itself_directly() {
    product([created(SerialMode::Disabled, SerialModeSource::Manual)])
        .when(SetPackageComposition {
            package: composition(PackageMode::Consolidated, &[(11, 1), (10, 1)]),
            package_graph: PackageGraph::new(),
        })
        .then_error(ProductError::PackageCycle {
            path: vec![pid(10), pid(10)],
        });
}

#[test]
fn a_package_cannot_contain_itself_through_another_package() {
    // 10 would contain 30, which contains 31, which contains 10.
    let graph = PackageGraph::from([(pid(30), vec![pid(12), pid(31)]), (pid(31), vec![pid(10)])]);
    product([created(SerialMode::Disabled, SerialModeSource::Manual)])
        .when(SetPackageComposition {
            package: composition(PackageMode::Exploded, &[(11, 1), (30, 1)]),
            package_graph: graph,
        })
        .then_error(ProductError::PackageCycle {
            path: vec![pid(10), pid(30), pid(31), pid(10)],
        });
}

#[test]
fn a_package_may_contain_another_package_that_does_not_lead_back() {
    let graph = PackageGraph::from([(pid(30), vec![pid(12), pid(31)]), (pid(31), vec![pid(30)])]);
    // The graph given is itself cyclic (30 <-> 31), but never reaches 10: the check ends.
    product([created(SerialMode::Disabled, SerialModeSource::Manual)])
        .when(SetPackageComposition {
            package: composition(PackageMode::Exploded, &[(30, 1)]),
            package_graph: graph,
        })
        .then([PackageCompositionChanged {
            product_id: pid(10),
            package: composition(PackageMode::Exploded, &[(30, 1)]),
        }
        .into()]);
}

#[test]
fn a_package_component_listed_twice_is_refused() {
    product([created(SerialMode::Disabled, SerialModeSource::Manual)])
        .when(SetPackageComposition {
            package: composition(PackageMode::Exploded, &[(11, 1), (12, 1), (11, 2)]),
            package_graph: PackageGraph::new(),
        })
        .then_error(ProductError::DuplicateComponent {
            product_id: pid(11),
        });
}

#[test]
fn a_package_component_needs_a_quantity_of_at_least_one() {
    product([created(SerialMode::Disabled, SerialModeSource::Manual)])
        .when(SetPackageComposition {
            package: composition(PackageMode::Exploded, &[(11, 1), (12, 0)]),
            package_graph: PackageGraph::new(),
        })
        .then_error(InvalidField::new("package.components[1].quantity", FieldRule::Zero).into());
}

#[test]
fn a_package_needs_at_least_one_component() {
    let mut empty = create(None, SerialModeSource::Manual);
    empty.package = Some(composition(PackageMode::Consolidated, &[]));
    product([])
        .when(empty)
        .then_error(InvalidField::new("package.components", FieldRule::Empty).into());
}

#[test]
fn setting_the_composition_a_package_already_has_records_nothing() {
    let package = composition(PackageMode::Exploded, &[(11, 1)]);
    product([
        created(SerialMode::Disabled, SerialModeSource::Manual),
        PackageCompositionChanged {
            product_id: pid(10),
            package: package.clone(),
        }
        .into(),
    ])
    .when(SetPackageComposition {
        package,
        package_graph: PackageGraph::new(),
    })
    .then_nothing();
}

#[test]
fn a_product_snapshot_carries_each_component_with_its_own_mode() {
    let component = |n: u128, mode| Product {
        product_id: pid(n),
        sku: format!("C-{n}"),
        name: format!("Component {n}"),
        serial_mode: mode,
        serial_mode_source: SerialModeSource::Manual,
        package: None,
    };
    let package = Product {
        package: Some(composition(PackageMode::Exploded, &[(11, 1), (12, 2)])),
        ..component(20, SerialMode::Disabled)
    };
    let products = BTreeMap::from([
        (pid(11), component(11, SerialMode::Required)),
        (pid(12), component(12, SerialMode::Disabled)),
    ]);
    let snapshot = package.snapshot(&products).unwrap();
    assert_eq!(
        snapshot.package,
        Some(PackageSnapshot {
            mode: PackageMode::Exploded,
            components: vec![
                ComponentSnapshot {
                    product: component(11, SerialMode::Required).flat_snapshot(),
                    quantity: 1,
                },
                ComponentSnapshot {
                    product: component(12, SerialMode::Disabled).flat_snapshot(),
                    quantity: 2,
                },
            ],
        })
    );
    assert_eq!(
        package.snapshot(&BTreeMap::new()),
        Err(ProductError::ComponentNotFound {
            product_id: pid(11)
        })
    );
}

#[test]
fn evolve_ignores_events_of_other_products_and_other_aggregates() {
    let state = product([
        created(SerialMode::Disabled, SerialModeSource::Manual),
        SerialModeChanged {
            product_id: pid(99),
            serial_mode: SerialMode::Required,
            previous_serial_mode: SerialMode::Disabled,
            source: SerialModeSource::Api,
        }
        .into(),
        opened(),
    ])
    .state();
    assert_eq!(state.map(|p| p.serial_mode), Some(SerialMode::Disabled));
}
