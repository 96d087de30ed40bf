//! The command service over the real store: load, decide, append, retry on conflict.
//!
//! Every case runs on both backends (`commands::sqlite::...`, `commands::postgres::...`).
//! Races the service must win by retrying are made deterministic with [`Interfering`], a
//! store that slips another writer's append in just before the service's own.

use application::commands::{
    CommandContext, CommandError, CommandOutcome, CommandService, NewProduct, RetryPolicy, streams,
};
use domain::claims::{self, ClaimOwner};
use domain::product::{ChangeProductDetails, ProductError, SetSerialMode};
use domain::sale::{
    AssignSerial, ChangeLineQuantity, FulfilLines, LineSelection, OpenSale, ReturnUnit,
    ReturnUnits, UnitSelector,
};
use domain::settings::{ChangeSettings, RetailerSettings};
use event_schemas::*;
use pretty_assertions::assert_eq;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use store::*;
use tests::workload::Workload;
use tests::{Backend, TestStore};
use tokio::sync::watch;
use uuid::Uuid;

on_both_backends!(
    a_sale_taken_through_its_life_records_each_event_with_the_metadata_of_its_command,
    two_concurrent_commands_on_one_sale_both_succeed_by_retrying,
    a_command_whose_stream_moves_before_it_appends_is_decided_again_on_the_new_state,
    a_command_that_keeps_losing_the_race_fails_with_conflict_naming_the_stream,
    of_two_sales_assigning_one_serial_at_once_exactly_one_wins_and_the_other_is_told_where_it_is,
    a_command_sent_twice_with_the_same_id_is_applied_once,
    unknown_products_sales_and_lines_are_refused_as_not_found_naming_them,
    a_command_that_changes_nothing_appends_nothing,
    a_package_cannot_be_made_to_contain_itself_through_a_package_the_service_loads,
    the_workload_writes_ten_thousand_events_leaving_an_intact_log_whose_claims_match_the_sales,
    the_workload_does_the_same_for_the_same_seed,
);

// ---- a shop to issue commands in ------------------------------------------------------------

struct Shop<S> {
    service: CommandService<S>,
    tenant_id: TenantId,
    outlet_id: OutletId,
}

impl<S: EventStore> Shop<S> {
    fn new(store: S) -> Self {
        Self {
            service: CommandService::new(store),
            tenant_id: TenantId::new_v7(),
            outlet_id: OutletId::new_v7(),
        }
    }

    /// A fresh command: new command and correlation ids.
    fn context(&self, channel: Channel) -> CommandContext {
        CommandContext {
            tenant_id: self.tenant_id,
            metadata: CommandMetadata {
                command_id: CommandId::new_v7(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                actor: Actor {
                    kind: ActorKind::User,
                    id: "staff-7".into(),
                    display_name: "Robin".into(),
                },
                channel,
                outlet_id: Some(self.outlet_id),
            },
        }
    }

    async fn product(&self, sku: &str, serial_mode: SerialMode) -> ProductId {
        let product_id = ProductId::new_v7();
        self.service
            .create_product(
                &self.context(Channel::BackOffice),
                NewProduct {
                    product_id,
                    sku: sku.into(),
                    name: format!("{sku} product"),
                    serial_mode: Some(serial_mode),
                    source: SerialModeSource::Manual,
                    package: None,
                },
            )
            .await
            .unwrap();
        product_id
    }

    async fn package(
        &self,
        sku: &str,
        components: &[ProductId],
    ) -> Result<ProductId, CommandError> {
        let product_id = ProductId::new_v7();
        self.service
            .create_product(
                &self.context(Channel::BackOffice),
                NewProduct {
                    product_id,
                    sku: sku.into(),
                    name: format!("{sku} package"),
                    serial_mode: None,
                    source: SerialModeSource::Manual,
                    package: Some(composition(components)),
                },
            )
            .await
            .map(|_| product_id)
    }

    async fn open(&self, invoice_number: &str) -> SaleId {
        let sale_id = SaleId::new_v7();
        self.service
            .open_sale(
                &self.context(Channel::Pos),
                open_sale(sale_id, invoice_number),
            )
            .await
            .unwrap();
        sale_id
    }

    async fn add(&self, sale_id: SaleId, product_id: ProductId, quantity: u32) -> CommandOutcome {
        self.service
            .add_item(
                &self.context(Channel::Pos),
                sale_id,
                product_id,
                quantity,
                aud(12_900),
            )
            .await
            .unwrap()
    }

    async fn assign(
        &self,
        sale_id: SaleId,
        line: u32,
        serial: &str,
    ) -> Result<CommandOutcome, CommandError> {
        self.service
            .assign_serial(&self.context(Channel::Pos), sale_id, assign(line, serial))
            .await
    }

    async fn stream(&self, stream_id: &str) -> Vec<RecordedEvent> {
        self.service
            .store()
            .read_stream(self.tenant_id, stream_id, 0, 10_000)
            .await
            .unwrap()
    }
}

fn open_sale(sale_id: SaleId, invoice_number: &str) -> OpenSale {
    OpenSale {
        sale_id,
        invoice_number: invoice_number.into(),
        sale_type: SaleType::Sale,
        delivery_mode: DeliveryMode::CashAndCarry,
        outlet_id: OutletId::new_v7(),
        customer: None,
    }
}

fn assign(line: u32, serial: &str) -> AssignSerial {
    AssignSerial {
        line_number: LineNumber(line),
        serial: serial.into(),
    }
}

fn aud(amount_minor: i64) -> Money {
    Money {
        amount_minor,
        currency: "AUD".into(),
    }
}

fn composition(components: &[ProductId]) -> PackageComposition {
    PackageComposition {
        mode: PackageMode::Consolidated,
        components: components
            .iter()
            .map(|product_id| PackageComponent {
                product_id: *product_id,
                quantity: 1,
            })
            .collect(),
    }
}

fn event_types(events: &[LedgerEvent]) -> Vec<&'static str> {
    events.iter().map(LedgerEvent::event_type).collect()
}

fn owner(sale_id: SaleId, invoice_number: &str, line: Option<u32>) -> String {
    ClaimOwner {
        sale_id,
        invoice_number: invoice_number.into(),
        line_number: line.map(LineNumber),
    }
    .to_owner_string()
}

// ---- cases ----------------------------------------------------------------------------------

async fn a_sale_taken_through_its_life_records_each_event_with_the_metadata_of_its_command(
    db: &TestStore,
) {
    let shop = Shop::new(db.store.clone());
    let service = &shop.service;
    let settings = ChangeSettings {
        auto_prompt_serial_number: Some(true),
        ..ChangeSettings::default()
    };
    service
        .change_settings(&shop.context(Channel::BackOffice), settings)
        .await
        .unwrap();
    let laptop = shop.product("LAPTOP-14", SerialMode::Required).await;
    let cable = shop.product("CABLE", SerialMode::Disabled).await;
    let sale_id = SaleId::new_v7();
    let mut commands: Vec<(CommandContext, CommandOutcome)> = Vec::new();

    let context = shop.context(Channel::Pos);
    let opened = service
        .open_sale(&context, open_sale(sale_id, "INV-1042"))
        .await
        .unwrap();
    assert_eq!(event_types(&opened.events), ["SaleOpened"]);
    commands.push((context, opened));

    let context = shop.context(Channel::Pos);
    let added = service
        .add_item(&context, sale_id, laptop, 2, aud(129_900))
        .await
        .unwrap();
    assert_eq!(event_types(&added.events), ["LineAdded", "LineAdded"]);
    assert_eq!(added.prompt_serial_for, [LineNumber(1), LineNumber(2)]);
    commands.push((context, added));

    let context = shop.context(Channel::Pos);
    let added = service
        .add_item(&context, sale_id, cable, 3, aud(1_900))
        .await
        .unwrap();
    assert_eq!(event_types(&added.events), ["LineAdded"]);
    assert_eq!(added.prompt_serial_for, []);
    commands.push((context, added));

    for (line, serial) in [(1, " abc-123 "), (2, "XYZ-9")] {
        let context = shop.context(Channel::Pos);
        let assigned = service
            .assign_serial(&context, sale_id, assign(line, serial))
            .await
            .unwrap();
        assert_eq!(event_types(&assigned.events), ["SerialAssigned"]);
        commands.push((context, assigned));
    }

    let context = shop.context(Channel::FulfilmentReport);
    let fulfilled = service
        .fulfil_lines(
            &context,
            sale_id,
            FulfilLines {
                lines: LineSelection::All,
            },
        )
        .await
        .unwrap();
    assert_eq!(event_types(&fulfilled.events), ["LineFulfilled"; 3]);
    commands.push((context, fulfilled));

    let context = shop.context(Channel::Pos);
    let returned = service
        .return_units(
            &context,
            sale_id,
            ReturnUnits {
                units: vec![ReturnUnit {
                    unit: UnitSelector::Serial {
                        product_id: laptop,
                        serial: "ABC-123".into(),
                    },
                    refund: aud(129_900),
                }],
                reason: Some("Faulty".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(event_types(&returned.events), ["LineReturned"]);
    commands.push((context, returned));

    // The stream holds each command's events, in order, under that command's metadata, and
    // each outcome's position is that of its command's last event.
    let stream = shop.stream(&streams::sale(sale_id)).await;
    let expected: Vec<(CommandMetadata, LedgerEvent)> = commands
        .iter()
        .flat_map(|(context, outcome)| {
            outcome
                .events
                .iter()
                .map(|event| (context.metadata.clone(), event.clone()))
        })
        .collect();
    let recorded: Vec<(CommandMetadata, LedgerEvent)> = stream
        .iter()
        .map(|recorded| {
            let envelope = &recorded.envelope;
            let event = LedgerEvent::decode(
                &envelope.event_type,
                envelope.schema_version,
                &envelope.payload,
            )
            .unwrap();
            (envelope.metadata.clone(), event)
        })
        .collect();
    assert_eq!(recorded, expected);
    for (context, outcome) in &commands {
        let last = stream
            .iter()
            .rfind(|recorded| recorded.envelope.metadata.command_id == context.metadata.command_id)
            .unwrap();
        assert_eq!(outcome.position(), Some(last.position));
        assert!(!outcome.deduplicated());
    }

    // Re-issued on a new invoice with the replacement unit's serial.
    let reissue_id = shop.open("INV-1043").await;
    let reissued = service
        .reissue_line(
            &shop.context(Channel::Pos),
            reissue_id,
            sale_id,
            LineNumber(1),
            Some("NEW-1".into()),
        )
        .await
        .unwrap();
    assert_eq!(
        event_types(&reissued.events),
        ["LineReissued", "SerialAssigned"]
    );
    assert_eq!(reissued.prompt_serial_for, [LineNumber(1)]);
    let third = shop.open("INV-1044").await;
    let again = service
        .reissue_line(
            &shop.context(Channel::Pos),
            third,
            sale_id,
            LineNumber(1),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(again.code(), "ALREADY_REISSUED");
    assert_eq!(
        again.to_string(),
        "this returned unit was already re-issued on invoice INV-1043 line 1"
    );

    // The claims: the returned serial is free again, the others are held by their lines.
    let holder = |scope: &'static str, key: String| {
        let store = service.store().clone();
        let tenant_id = shop.tenant_id;
        async move { store.claim_holder(tenant_id, scope, &key).await.unwrap() }
    };
    assert_eq!(
        holder("serial", claims::serial_key(laptop, "ABC-123")).await,
        None
    );
    assert_eq!(
        holder("serial", claims::serial_key(laptop, "XYZ-9")).await,
        Some(owner(sale_id, "INV-1042", Some(2)))
    );
    assert_eq!(
        holder("serial", claims::serial_key(laptop, "NEW-1")).await,
        Some(owner(reissue_id, "INV-1043", Some(1)))
    );
    assert_eq!(
        holder("reissue", claims::reissue_key(sale_id, LineNumber(1))).await,
        Some(owner(reissue_id, "INV-1043", Some(1)))
    );
    assert_eq!(
        holder("invoice-number", claims::invoice_key("INV-1042")).await,
        Some(owner(sale_id, "INV-1042", None))
    );
}

async fn two_concurrent_commands_on_one_sale_both_succeed_by_retrying(db: &TestStore) {
    let shop = Shop::new(db.store.clone());
    let laptop = shop.product("LAPTOP-14", SerialMode::Required).await;
    let sale_id = shop.open("INV-1").await;
    const WRITERS: u32 = 6;
    shop.add(sale_id, laptop, WRITERS).await;

    let tasks: Vec<_> = (1..=WRITERS)
        .map(|line| {
            let service = shop.service.clone();
            let context = shop.context(Channel::Pos);
            tokio::spawn(async move {
                service
                    .assign_serial(&context, sale_id, assign(line, &format!("SER-{line}")))
                    .await
            })
        })
        .collect();
    for task in tasks {
        let outcome = task.await.unwrap().unwrap();
        assert_eq!(event_types(&outcome.events), ["SerialAssigned"]);
    }

    let sale = shop
        .service
        .load_sale(shop.tenant_id, sale_id)
        .await
        .unwrap()
        .unwrap();
    let serials: Vec<Option<String>> = sale
        .lines
        .values()
        .map(|line| line.serial.clone())
        .collect();
    let expected: Vec<Option<String>> = (1..=WRITERS)
        .map(|line| Some(format!("SER-{line}")))
        .collect();
    assert_eq!(serials, expected);
    let stream = shop.stream(&streams::sale(sale_id)).await;
    assert_eq!(
        stream.len(),
        1 + WRITERS as usize * 2,
        "opened, lines, serials"
    );
}

async fn a_command_whose_stream_moves_before_it_appends_is_decided_again_on_the_new_state(
    db: &TestStore,
) {
    let store = Interfering::new(db.store.clone());
    let shop = Shop::new(store.clone());
    let cable = shop.product("CABLE", SerialMode::Disabled).await;
    let laptop = shop.product("LAPTOP-14", SerialMode::Required).await;
    let sale_id = shop.open("INV-1").await;
    shop.add(sale_id, cable, 1).await;
    shop.add(sale_id, laptop, 1).await;

    // Two other writers change line 1's quantity, one just before each of the next two
    // appends.
    store.slip_in(&shop, sale_id, &[(1, 2), (2, 3)]);
    let outcome = shop.assign(sale_id, 2, "SER-1").await.unwrap();
    assert_eq!(event_types(&outcome.events), ["SerialAssigned"]);
    let stream = shop.stream(&streams::sale(sale_id)).await;
    let types: Vec<&str> = stream
        .iter()
        .map(|event| event.envelope.event_type.as_str())
        .collect();
    assert_eq!(
        types[3..],
        [
            "LineQuantityChanged",
            "LineQuantityChanged",
            "SerialAssigned"
        ]
    );

    // Set line 1 to 5 while others set it to 4 then 5: decided again on the new state, the
    // command finds nothing left to do.
    store.slip_in(&shop, sale_id, &[(3, 4), (4, 5)]);
    let change = ChangeLineQuantity {
        line_number: LineNumber(1),
        quantity: 5,
    };
    let outcome = shop
        .service
        .change_line_quantity(&shop.context(Channel::Pos), sale_id, change)
        .await
        .unwrap();
    assert_eq!(outcome.events, []);
    assert_eq!(outcome.append, None);
    let sale = shop
        .service
        .load_sale(shop.tenant_id, sale_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sale.lines[&LineNumber(1)].quantity, 5);
    assert_eq!(sale.lines[&LineNumber(2)].serial.as_deref(), Some("SER-1"));
}

async fn a_command_that_keeps_losing_the_race_fails_with_conflict_naming_the_stream(
    db: &TestStore,
) {
    let store = Interfering::new(db.store.clone());
    let mut shop = Shop::new(store.clone());
    shop.service = CommandService::new(store.clone()).with_retry_policy(RetryPolicy {
        max_attempts: 3,
        backoff: std::time::Duration::from_millis(1),
    });
    let cable = shop.product("CABLE", SerialMode::Disabled).await;
    let laptop = shop.product("LAPTOP-14", SerialMode::Required).await;
    let sale_id = shop.open("INV-1").await;
    shop.add(sale_id, cable, 1).await;
    shop.add(sale_id, laptop, 1).await;

    store.slip_in(&shop, sale_id, &[(1, 2), (2, 3), (3, 4), (4, 5)]);
    let error = shop.assign(sale_id, 2, "SER-1").await.unwrap_err();
    assert!(
        matches!(&error, CommandError::Conflict { stream_id, attempts: 3 } if *stream_id == streams::sale(sale_id)),
        "{error:?}"
    );
    assert_eq!(error.code(), "CONFLICT");
    let sale = shop
        .service
        .load_sale(shop.tenant_id, sale_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        sale.lines[&LineNumber(2)].serial,
        None,
        "nothing of the command was written"
    );
}

async fn of_two_sales_assigning_one_serial_at_once_exactly_one_wins_and_the_other_is_told_where_it_is(
    db: &TestStore,
) {
    let shop = Shop::new(db.store.clone());
    let laptop = shop.product("LAPTOP-14", SerialMode::Required).await;
    let first = shop.open("INV-A").await;
    let second = shop.open("INV-B").await;
    const ROUNDS: u32 = 3;
    shop.add(first, laptop, ROUNDS).await;
    shop.add(second, laptop, ROUNDS).await;

    for line in 1..=ROUNDS {
        let serial = format!("ABC{line}");
        let attempts: Vec<_> = [(first, "INV-A"), (second, "INV-B")]
            .into_iter()
            .map(|(sale_id, invoice)| {
                let service = shop.service.clone();
                let context = shop.context(Channel::Pos);
                let serial = serial.clone();
                tokio::spawn(async move {
                    let result = service
                        .assign_serial(&context, sale_id, assign(line, &serial))
                        .await;
                    (invoice, result)
                })
            })
            .collect();
        let mut results = Vec::new();
        for attempt in attempts {
            results.push(attempt.await.unwrap());
        }
        let winners: Vec<&str> = results
            .iter()
            .filter(|(_, result)| result.is_ok())
            .map(|(invoice, _)| *invoice)
            .collect();
        assert_eq!(winners.len(), 1, "round {line}: {results:?}");
        let (_, refused) = results.iter().find(|(_, result)| result.is_err()).unwrap();
        let refused = refused.as_ref().unwrap_err();
        assert_eq!(refused.code(), "SERIAL_ALREADY_ASSIGNED");
        assert_eq!(
            refused.to_string(),
            format!(
                "serial {serial} is already on invoice {} line {line}",
                winners[0]
            )
        );
    }
}

async fn a_command_sent_twice_with_the_same_id_is_applied_once(db: &TestStore) {
    let shop = Shop::new(db.store.clone());
    let service = &shop.service;
    let laptop = shop.product("LAPTOP-14", SerialMode::Required).await;

    // Opening: the second time would be "already open" if it were decided again.
    let sale_id = SaleId::new_v7();
    let context = shop.context(Channel::Pos);
    let first = service
        .open_sale(&context, open_sale(sale_id, "INV-1"))
        .await
        .unwrap();
    let second = service
        .open_sale(&context, open_sale(sale_id, "INV-1"))
        .await
        .unwrap();
    assert!(second.deduplicated());
    assert_eq!(second.events, first.events);
    assert_eq!(second.position(), first.position());
    assert_eq!(shop.stream(&streams::sale(sale_id)).await.len(), 1);

    // Assigning, re-sent after another command moved the stream: found in the stream.
    shop.add(sale_id, laptop, 2).await;
    let context = shop.context(Channel::Pos);
    let first = service
        .assign_serial(&context, sale_id, assign(1, "SER-1"))
        .await
        .unwrap();
    shop.assign(sale_id, 2, "SER-2").await.unwrap();
    let second = service
        .assign_serial(&context, sale_id, assign(1, "SER-1"))
        .await
        .unwrap();
    assert!(second.deduplicated());
    assert_eq!(second.events, first.events);
    assert_eq!(second.position(), first.position());
    assert_eq!(shop.stream(&streams::sale(sale_id)).await.len(), 1 + 2 + 2);

    // The same id for a command on another sale (a client bug): the store answers with the
    // original result and writes nothing.
    let other = shop.open("INV-2").await;
    shop.add(other, laptop, 1).await;
    let reused = service
        .assign_serial(&context, other, assign(1, "SER-9"))
        .await
        .unwrap();
    assert!(reused.deduplicated());
    assert_eq!(reused.events, first.events);
    assert_eq!(shop.stream(&streams::sale(other)).await.len(), 2);
}

async fn unknown_products_sales_and_lines_are_refused_as_not_found_naming_them(db: &TestStore) {
    let shop = Shop::new(db.store.clone());
    let service = &shop.service;
    let laptop = shop.product("LAPTOP-14", SerialMode::Required).await;
    let sale_id = shop.open("INV-1").await;
    let unknown_product = ProductId::new_v7();
    let unknown_sale = SaleId::new_v7();
    let context = || shop.context(Channel::Pos);
    let not_found = |error: CommandError, what: &str, id: String| {
        assert_eq!(error.code(), "NOT_FOUND");
        assert!(
            matches!(&error, CommandError::NotFound { what: found, id: named } if *found == what && *named == id),
            "{error:?}"
        );
        assert_eq!(error.to_string(), format!("{what} {id} does not exist"));
    };

    let error = service
        .add_item(&context(), sale_id, unknown_product, 1, aud(100))
        .await
        .unwrap_err();
    not_found(error, "product", unknown_product.to_string());
    let error = service
        .assign_serial(&context(), unknown_sale, assign(1, "SER-1"))
        .await
        .unwrap_err();
    not_found(error, "sale", unknown_sale.to_string());
    let error = service
        .add_item(&context(), unknown_sale, laptop, 1, aud(100))
        .await
        .unwrap_err();
    not_found(error, "sale", unknown_sale.to_string());
    let new_sale = shop.open("INV-2").await;
    let error = service
        .reissue_line(&context(), new_sale, unknown_sale, LineNumber(1), None)
        .await
        .unwrap_err();
    not_found(error, "sale", unknown_sale.to_string());
    let error = service
        .reissue_line(&context(), new_sale, sale_id, LineNumber(9), None)
        .await
        .unwrap_err();
    not_found(error, "line", "9 of invoice INV-1".into());
    let rename = ChangeProductDetails {
        sku: "X".into(),
        name: "X".into(),
    };
    let error = service
        .change_product_details(&context(), unknown_product, rename)
        .await
        .unwrap_err();
    not_found(error, "product", unknown_product.to_string());
    let set = SetSerialMode {
        serial_mode: SerialMode::Optional,
        source: SerialModeSource::Api,
    };
    let error = service
        .set_serial_mode(&context(), unknown_product, set)
        .await
        .unwrap_err();
    not_found(error, "product", unknown_product.to_string());

    let error = shop
        .package("KIT", &[laptop, unknown_product])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CommandError::Product(ProductError::ComponentNotFound { product_id }) if *product_id == unknown_product),
        "{error:?}"
    );
    assert_eq!(error.code(), "NOT_FOUND");

    assert_eq!(
        service
            .load_sale(shop.tenant_id, unknown_sale)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        service
            .load_product(shop.tenant_id, unknown_product)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        service.load_settings(shop.tenant_id).await.unwrap(),
        RetailerSettings::default()
    );
    assert_eq!(
        service
            .load_product(shop.tenant_id, laptop)
            .await
            .unwrap()
            .map(|product| product.sku),
        Some("LAPTOP-14".to_owned())
    );
}

async fn a_command_that_changes_nothing_appends_nothing(db: &TestStore) {
    let shop = Shop::new(db.store.clone());
    let service = &shop.service;
    let laptop = shop.product("LAPTOP-14", SerialMode::Required).await;
    let sale_id = shop.open("INV-1").await;
    shop.add(sale_id, laptop, 1).await;
    shop.assign(sale_id, 1, "SER-1").await.unwrap();
    let head = |stream: String| {
        let store = service.store().clone();
        let tenant_id = shop.tenant_id;
        async move {
            store
                .stream_head(tenant_id, &stream)
                .await
                .unwrap()
                .map(|head| head.revision)
        }
    };
    let before = head(streams::sale(sale_id)).await;

    let same_serial = shop.assign(sale_id, 1, " ser-1 ").await.unwrap();
    assert_eq!(same_serial.events, []);
    assert_eq!(same_serial.append, None);
    assert_eq!(same_serial.position(), None);
    assert_eq!(head(streams::sale(sale_id)).await, before);

    let same_mode = service
        .set_serial_mode(
            &shop.context(Channel::BackOffice),
            laptop,
            SetSerialMode {
                serial_mode: SerialMode::Required,
                source: SerialModeSource::BulkEdit,
            },
        )
        .await
        .unwrap();
    assert_eq!(same_mode.append, None);
    assert_eq!(head(streams::product(laptop)).await, Some(0));

    let defaults = service
        .change_settings(
            &shop.context(Channel::BackOffice),
            ChangeSettings {
                aggregate_duplicate_order_items: Some(true),
                ..ChangeSettings::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(defaults.append, None);
    assert_eq!(head(streams::RETAILER_SETTINGS.to_owned()).await, None);
}

async fn a_package_cannot_be_made_to_contain_itself_through_a_package_the_service_loads(
    db: &TestStore,
) {
    let shop = Shop::new(db.store.clone());
    let laptop = shop.product("LAPTOP-14", SerialMode::Required).await;
    let headphones = shop.product("HEADPHONES", SerialMode::Optional).await;
    let bundle = shop.package("BUNDLE", &[laptop]).await.unwrap();
    let mega = shop.package("MEGA", &[bundle, headphones]).await.unwrap();
    let outer = shop.package("OUTER", &[mega]).await.unwrap();

    let error = shop
        .service
        .set_package_composition(
            &shop.context(Channel::BackOffice),
            bundle,
            composition(&[laptop, outer]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CommandError::Product(ProductError::PackageCycle { path }) if *path == [bundle, outer, mega, bundle]),
        "{error:?}"
    );
    assert_eq!(error.code(), "PACKAGE_CYCLE");
    shop.service
        .set_package_composition(
            &shop.context(Channel::BackOffice),
            bundle,
            composition(&[laptop, headphones]),
        )
        .await
        .unwrap();
}

async fn the_workload_writes_ten_thousand_events_leaving_an_intact_log_whose_claims_match_the_sales(
    db: &TestStore,
) {
    let service = CommandService::new(db.store.clone());
    let report = Workload::new(7).run(&service, 10_000).await.unwrap();
    eprintln!("workload on {:?}: {report}", db.backend());
    assert!(report.events_written >= 10_000);
    for code in [
        "SERIAL_ALREADY_ASSIGNED",
        "SERIAL_REQUIRED",
        "INVOICE_NUMBER_TAKEN",
    ] {
        assert!(
            report.commands_refused_by_code.contains_key(code),
            "{code}: {report}"
        );
    }
    assert!(
        report.returns > 0 && report.reissues > 0 && report.serials_removed > 0,
        "{report}"
    );

    let verified = verify(&db.store, &VerifyScope::default()).await.unwrap();
    assert!(verified.is_intact(), "{:?}", verified.problems);
    assert_eq!(verified.events, report.events_written);

    // The claims table is exactly what the sales, folded, hold; no serial is live twice.
    let mut expected = BTreeSet::new();
    let mut live_serials = BTreeSet::new();
    for tenant_id in &report.tenants {
        for head in db.store.list_streams(Some(*tenant_id)).await.unwrap() {
            let Some(sale_id) = streams::parse_sale(&head.stream_id) else {
                continue;
            };
            let sale = service
                .load_sale(*tenant_id, sale_id)
                .await
                .unwrap()
                .unwrap();
            for claim in claims::live_claims(&sale) {
                let row = (
                    tenant_id.to_string(),
                    claim.scope.as_str().to_owned(),
                    claim.key.clone(),
                    claim.owner.to_owner_string(),
                );
                assert!(
                    live_serials.insert((tenant_id.to_string(), claim.scope, claim.key)),
                    "{row:?} is claimed twice"
                );
                expected.insert(row);
            }
        }
    }
    assert_eq!(stored_claims(db).await, expected);
}

async fn the_workload_does_the_same_for_the_same_seed(db: &TestStore) {
    let other = match db.backend() {
        Backend::Sqlite => TestStore::sqlite().await,
        Backend::Postgres => TestStore::postgres().await,
    };
    let mut runs = Vec::new();
    for store in [&db.store, &other.store] {
        let service = CommandService::new(store.clone());
        let mut report = Workload::new(11).run(&service, 1_000).await.unwrap();
        report.elapsed = std::time::Duration::ZERO;
        let heads: Vec<(TenantId, String, u64)> = store
            .list_streams(None)
            .await
            .unwrap()
            .into_iter()
            .map(|head| (head.tenant_id, head.stream_id, head.revision))
            .collect();
        runs.push((report, heads));
    }
    assert_eq!(runs[0], runs[1]);
}

/// Every row of the claims table: (tenant, scope, key, owner).
async fn stored_claims(db: &TestStore) -> BTreeSet<(String, String, String, String)> {
    let rows: Vec<(String, String, String, String)> = match &db.store {
        AnyStore::Sqlite(store) => {
            sqlx::query_as("SELECT tenant_id, scope, claim_key, owner FROM claims")
                .fetch_all(store.read_pool())
                .await
        }
        AnyStore::Postgres(store) => {
            sqlx::query_as("SELECT tenant_id::text, scope, claim_key, owner FROM claims")
                .fetch_all(store.pool())
                .await
        }
    }
    .unwrap();
    rows.into_iter().collect()
}

// ---- a store that loses races on purpose ----------------------------------------------------

/// A store that, before each of the next appends, appends another writer's event to the
/// same sale (`slip_in`), so the service's append finds the stream moved.
#[derive(Clone)]
struct Interfering<S> {
    inner: S,
    intruders: Arc<Mutex<Vec<AppendRequest>>>,
}

impl<S: EventStore> Interfering<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            intruders: Arc::default(),
        }
    }

    /// Before each of the next appends, another writer changes line 1's quantity from one
    /// value to the next of `changes`.
    fn slip_in<T>(&self, shop: &Shop<T>, sale_id: SaleId, changes: &[(u32, u32)]) {
        let mut intruders = self.intruders.lock().unwrap();
        for &(previous_quantity, quantity) in changes.iter().rev() {
            let event = LedgerEvent::from(LineQuantityChanged {
                line_number: LineNumber(1),
                quantity,
                previous_quantity,
            });
            intruders.push(AppendRequest {
                tenant_id: shop.tenant_id,
                metadata: CommandMetadata {
                    command_id: CommandId::new_v7(),
                    correlation_id: Uuid::now_v7(),
                    causation_id: None,
                    actor: Actor {
                        kind: ActorKind::User,
                        id: "staff-8".into(),
                        display_name: "Another till".into(),
                    },
                    channel: Channel::Pos,
                    outlet_id: None,
                },
                writes: vec![StreamWrite {
                    stream_id: streams::sale(sale_id),
                    expected_revision: ExpectedRevision::Any,
                    events: vec![NewEvent::from_event(&event)],
                }],
                claims: vec![],
            });
        }
    }
}

impl<S: EventStore> EventStore for Interfering<S> {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.inner.migrate().await
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        let intruder = self.intruders.lock().unwrap().pop();
        if let Some(intruder) = intruder {
            self.inner.append(intruder).await?;
        }
        self.inner.append(request).await
    }

    async fn read_stream(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner
            .read_stream(tenant_id, stream_id, from_revision, max_count)
            .await
    }

    async fn stream_head(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
    ) -> Result<Option<StreamHead>, StoreError> {
        self.inner.stream_head(tenant_id, stream_id).await
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after, max_count).await
    }

    async fn count_after(&self, after: Position) -> Result<u64, StoreError> {
        self.inner.count_after(after).await
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        self.inner.head_position().await
    }

    async fn list_streams(
        &self,
        tenant_id: Option<TenantId>,
    ) -> Result<Vec<StreamHead>, StoreError> {
        self.inner.list_streams(tenant_id).await
    }

    async fn claim_holder(
        &self,
        tenant_id: TenantId,
        scope: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.inner.claim_holder(tenant_id, scope, key).await
    }

    fn wakeups(&self) -> watch::Receiver<u64> {
        self.inner.wakeups()
    }
}
