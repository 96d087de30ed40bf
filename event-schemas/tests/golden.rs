//! Golden fixtures: the wire format of every event type and of the envelope, byte for byte.
//!
//! A failing test here means integrators would receive something different. If the change is
//! intended, it needs a new schema version (and an upcaster), not an edited fixture. To write
//! fixtures for a new type or version: `UPDATE_FIXTURES=1 cargo test -p event-schemas`.

use event_schemas::*;
use pretty_assertions::assert_eq;
use std::path::PathBuf;
use time::macros::datetime;
use uuid::Uuid;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

fn line(number: u32, serial_mode: SerialMode, package: Option<LinePackage>) -> SaleLine {
    SaleLine {
        line_number: LineNumber(number),
        product_id: ProductId(id(10)),
        sku: "IPH-15-128-BLK".into(),
        product_name: "iPhone 15 128GB Black".into(),
        quantity: 1,
        unit_price: Money {
            amount_minor: 129_900,
            currency: "AUD".into(),
        },
        serial_mode,
        package,
    }
}

/// One sample of every event type, at its current version.
fn samples() -> Vec<LedgerEvent> {
    let product_id = ProductId(id(10));
    vec![
        ProductCreated {
            product_id,
            sku: "IPH-15-128-BLK".into(),
            name: "iPhone 15 128GB Black".into(),
            serial_mode: SerialMode::Required,
            serial_mode_source: SerialModeSource::PosQuickCreate,
            package: None,
        }
        .into(),
        ProductDetailsChanged {
            product_id,
            sku: "IPH-15-128-BLK".into(),
            name: "Apple iPhone 15 128GB Black".into(),
        }
        .into(),
        SerialModeChanged {
            product_id,
            serial_mode: SerialMode::Optional,
            previous_serial_mode: SerialMode::Required,
            source: SerialModeSource::BulkEdit,
        }
        .into(),
        PackageCompositionChanged {
            product_id: ProductId(id(20)),
            package: PackageComposition {
                mode: PackageMode::Exploded,
                components: vec![
                    PackageComponent {
                        product_id,
                        quantity: 1,
                    },
                    PackageComponent {
                        product_id: ProductId(id(11)),
                        quantity: 2,
                    },
                ],
            },
        }
        .into(),
        RetailerSettingsChanged {
            auto_prompt_serial_number: true,
            display_serial_number_on_invoice: true,
            aggregate_duplicate_order_items: false,
        }
        .into(),
        SaleOpened {
            sale_id: SaleId(id(30)),
            invoice_number: "INV-1042".into(),
            sale_type: SaleType::SpecialOrder,
            delivery_mode: DeliveryMode::CashAndCarry,
            outlet_id: OutletId(id(40)),
            customer: Some(Customer {
                customer_id: CustomerId(id(50)),
                name: "Jo Citizen".into(),
            }),
        }
        .into(),
        LineAdded {
            line: line(
                2,
                SerialMode::Required,
                Some(LinePackage::Component {
                    parent_line: LineNumber(1),
                }),
            ),
        }
        .into(),
        LineQuantityChanged {
            line_number: LineNumber(3),
            quantity: 4,
            previous_quantity: 3,
        }
        .into(),
        LineRemoved {
            line_number: LineNumber(3),
            released_serial: None,
        }
        .into(),
        LineCancelled {
            line_number: LineNumber(2),
            product_id,
            released_serial: Some("SN-ABC123".into()),
            reason: Some("customer changed mind".into()),
        }
        .into(),
        SerialAssigned {
            line_number: LineNumber(2),
            product_id,
            serial: "SN-ABC123".into(),
            scanned: Some("sn-abc123\n".into()),
        }
        .into(),
        SerialRemoved {
            line_number: LineNumber(2),
            product_id,
            serial: "SN-ABC123".into(),
            reason: Some("wrong unit scanned".into()),
        }
        .into(),
        LineFulfilled {
            line_number: LineNumber(2),
            product_id,
            serial: Some("SN-ABC123".into()),
        }
        .into(),
        LineReturned {
            line_number: LineNumber(2),
            product_id,
            serial: Some("SN-ABC123".into()),
            refund: Money {
                amount_minor: 129_900,
                currency: "AUD".into(),
            },
            reason: Some("faulty screen".into()),
        }
        .into(),
        LineReissued {
            line: line(
                1,
                SerialMode::Required,
                Some(LinePackage::Package {
                    mode: PackageMode::Consolidated,
                }),
            ),
            reissue_of: ReturnedLineRef {
                sale_id: SaleId(id(30)),
                invoice_number: "INV-1042".into(),
                line_number: LineNumber(2),
                serial: Some("SN-ABC123".into()),
            },
        }
        .into(),
    ]
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Compares `actual` with the committed fixture, or writes it when `UPDATE_FIXTURES` is set.
#[track_caller]
fn assert_matches_fixture(name: &str, actual: &serde_json::Value) {
    let path = fixture_path(name);
    let rendered = format!("{}\n", serde_json::to_string_pretty(actual).expect("json"));
    if std::env::var_os("UPDATE_FIXTURES").is_some() && !path.exists() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &rendered).expect("write fixture");
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing fixture {}: run with UPDATE_FIXTURES=1",
            path.display()
        )
    });
    assert_eq!(expected, rendered, "wire format of {name} changed");
}

#[test]
fn every_event_type_has_a_sample() {
    let sampled: Vec<(&str, u32)> = samples()
        .iter()
        .map(|event| (event.event_type(), event.schema_version()))
        .collect();
    assert_eq!(sampled, LedgerEvent::TYPES.to_vec());
}

#[test]
fn every_event_encodes_exactly_as_its_golden_fixture() {
    for event in samples() {
        let name = format!("v{}/{}.json", event.schema_version(), event.event_type());
        assert_matches_fixture(&name, &event.to_payload());
    }
}

#[test]
fn every_golden_fixture_decodes_to_its_sample() {
    for event in samples() {
        let name = format!("v{}/{}.json", event.schema_version(), event.event_type());
        let text = std::fs::read_to_string(fixture_path(&name)).expect("fixture");
        let payload: serde_json::Value = serde_json::from_str(&text).expect("json");
        let decoded = LedgerEvent::decode(event.event_type(), event.schema_version(), &payload)
            .expect("fixture decodes");
        assert_eq!(decoded, event);
    }
}

#[test]
fn a_product_recorded_before_the_feature_decodes_as_disabled() {
    let legacy = serde_json::json!({
        "product_id": id(10),
        "sku": "KETTLE-1",
        "name": "Kettle",
        "serial_mode_source": "MANUAL",
        "package": null
    });
    let LedgerEvent::ProductCreated(created) =
        LedgerEvent::decode("ProductCreated", 1, &legacy).expect("decodes")
    else {
        panic!("wrong variant");
    };
    assert_eq!(created.serial_mode, SerialMode::Disabled);
}

#[test]
fn an_unknown_type_or_version_is_a_typed_decode_error() {
    let error = LedgerEvent::decode("SerialAssigned", 99, &serde_json::json!({})).unwrap_err();
    assert!(matches!(
        error,
        DecodeError::UnknownType {
            schema_version: 99,
            ..
        }
    ));
    let error = LedgerEvent::decode("SerialAssigned", 1, &serde_json::json!({})).unwrap_err();
    assert!(matches!(error, DecodeError::Payload { .. }));
}

fn sample_envelope() -> EventEnvelope {
    let metadata = CommandMetadata {
        command_id: CommandId(id(60)),
        correlation_id: id(61),
        causation_id: Some(id(62)),
        actor: Actor {
            kind: ActorKind::User,
            id: "staff-17".into(),
            display_name: "Sam Storeperson".into(),
        },
        channel: Channel::Pos,
        outlet_id: Some(OutletId(id(40))),
    };
    // An envelope carries its payload as stored: this one was stored by a build that wrote
    // SerialAssigned v1 (the raw log and evidence files show it so; readers upcast it).
    let payload = serde_json::to_value(SerialAssignedV1 {
        line_number: LineNumber(2),
        product_id: ProductId(id(10)),
        serial: "SN-ABC123".into(),
    })
    .expect("json");
    let (event_type, schema_version) = ("SerialAssigned", 1);
    let recorded_at = datetime!(2026-11-26 09:30:15.123456 UTC);
    let tenant_id = TenantId(id(1));
    let hash = event_hash(&EventHashInput {
        event_id: id(70),
        tenant_id,
        stream_id: "sale-01900000-0000-7000-8000-00000000001e",
        stream_revision: 3,
        recorded_at_micros: (recorded_at.unix_timestamp_nanos() / 1000) as i64,
        metadata: &metadata,
        event_type,
        schema_version,
        payload: &payload,
        previous_hash: GENESIS_HASH,
    });
    EventEnvelope {
        event_id: id(70),
        tenant_id,
        stream_id: "sale-01900000-0000-7000-8000-00000000001e".into(),
        stream_revision: 3,
        global_position: 1234,
        recorded_at,
        metadata,
        event_type: event_type.into(),
        schema_version,
        payload,
        previous_hash: GENESIS_HASH.into(),
        hash,
    }
}

/// The fixture includes the hash, so this also pins the canonical-bytes rules that offline
/// verifiers reimplement.
#[test]
fn the_envelope_encodes_exactly_as_its_golden_fixture() {
    let envelope = sample_envelope();
    assert_matches_fixture(
        "envelope.json",
        &serde_json::to_value(&envelope).expect("json"),
    );
    let text = std::fs::read_to_string(fixture_path("envelope.json")).expect("fixture");
    let decoded: EventEnvelope = serde_json::from_str(&text).expect("decodes");
    assert_eq!(decoded, envelope);
}

#[test]
fn a_v1_serial_removed_reads_as_the_current_version_without_a_reason() {
    let text = std::fs::read_to_string(fixture_path("v1/SerialRemoved.json")).expect("v1 fixture");
    let payload: serde_json::Value = serde_json::from_str(&text).expect("json");
    let LedgerEvent::SerialRemoved(removed) =
        LedgerEvent::decode("SerialRemoved", 1, &payload).expect("v1 upcasts")
    else {
        panic!("wrong variant");
    };
    assert_eq!(removed.serial, "SN-ABC123");
    assert_eq!(removed.reason, None);
    assert_eq!(
        LedgerEvent::SerialRemoved(removed).schema_version(),
        2,
        "new events are written as v2"
    );
}

#[test]
fn a_v1_serial_assigned_reads_as_the_current_version_without_the_scanned_text() {
    let text = std::fs::read_to_string(fixture_path("v1/SerialAssigned.json")).expect("v1 fixture");
    let payload: serde_json::Value = serde_json::from_str(&text).expect("json");
    let LedgerEvent::SerialAssigned(assigned) =
        LedgerEvent::decode("SerialAssigned", 1, &payload).expect("v1 upcasts")
    else {
        panic!("wrong variant");
    };
    assert_eq!(assigned.serial, "SN-ABC123");
    assert_eq!(assigned.scanned, None, "v1 did not keep the scanned text");
    let current = LedgerEvent::SerialAssigned(assigned);
    assert_eq!(current.schema_version(), 2, "new events are written as v2");
    assert_eq!(
        current.to_payload()["scanned"],
        serde_json::Value::Null,
        "read as v2, the field is there and null"
    );
}

#[test]
fn an_exported_envelope_can_be_checked_offline_by_recomputing_its_hash() {
    let text = std::fs::read_to_string(fixture_path("envelope.json")).expect("fixture");
    let mut envelope: EventEnvelope = serde_json::from_str(&text).expect("decodes");
    assert_eq!(event_schemas::envelope_hash(&envelope), envelope.hash);
    envelope.payload["serial"] = serde_json::json!("SN-OTHER");
    assert_ne!(
        event_schemas::envelope_hash(&envelope),
        envelope.hash,
        "an altered payload no longer matches its hash"
    );
}
