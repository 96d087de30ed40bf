//! The auditor's replay of a serial: its full history read from the events, where it stood
//! at every past moment, and the evidence file that can be checked offline.
//!
//! Every case runs on both backends (`replay_history::sqlite::...`, `...::postgres::...`).

use application::commands::CommandOutcome;
use domain::sale::{CancelLine, RemoveSerial, ReturnUnit, ReturnUnits, Sale, UnitSelector};
use event_schemas::*;
use ledger_proof::checkpoint::VerifierKey;
use ledger_proof::evidence::check_evidence;
use pretty_assertions::assert_eq;
use projections::ReadDb;
use projections::queries::trace::{ProductScope, SerialRecord, SerialStatus, trace_serial};
use replay::as_of::{sale_as_of, serial_as_of};
use replay::evidence;
use replay::history::{Cutoff, HistoryQuery, HistorySource, UnitAction, serial_history};
use store::{AnyStore, Position};
use tests::TestStore;
use tests::workload::Workload;

on_both_backends!(
    a_units_history_lists_every_assignment_removal_fulfilment_return_and_reissue_in_order,
    the_same_serial_on_two_products_is_two_units_each_with_its_own_history,
    as_of_every_step_a_serial_and_its_sales_are_as_the_live_system_had_them,
    the_index_and_a_scan_of_the_whole_log_give_the_same_histories_for_a_generated_workload,
    events_the_index_has_not_folded_yet_are_found_in_the_log_after_its_checkpoint,
    the_evidence_file_checks_offline_and_names_an_altered_event,
    a_serial_that_breaks_the_rules_is_refused_naming_the_rule,
);

use tests::shop::{STORE, Shop, WAREHOUSE, aud};

/// The life of one phone, SN-1: recorded, corrected, sold from the warehouse, returned
/// faulty, re-issued to another customer, sold again. Returns the shop, the phone's
/// product and the three sales.
struct PhoneStory {
    shop: Shop,
    phone: ProductId,
    first: SaleId,
    second: SaleId,
    /// After each command: its position, the live traceability records of SN-1 and the
    /// live state of each sale.
    steps: Vec<Step>,
}

struct Step {
    what: &'static str,
    position: Position,
    records: Vec<SerialRecord>,
    sales: Vec<(SaleId, Option<Sale>)>,
}

async fn tell_the_phone_story(db: &TestStore) -> PhoneStory {
    let shop = Shop::new(db).await;
    let phone = shop.product("PHONE-15", SerialMode::Required).await;
    let mut story = PhoneStory {
        phone,
        first: SaleId::new_v7(),
        second: SaleId::new_v7(),
        steps: Vec::new(),
        shop,
    };
    let (first, opened) = story.shop.open("INV-A", "Alice").await;
    story.first = first;
    story.record("open A", opened).await;
    let added = story.shop.add(first, phone).await;
    story.record("add phone", added).await;
    let assigned = story.shop.assign(first, 1, "SN-1").await;
    story.record("assign SN-1", assigned).await;
    let removed = story
        .shop
        .service
        .remove_serial(
            &story.shop.pos(),
            first,
            RemoveSerial {
                line_number: LineNumber(1),
                reason: Some("scanned the box, not the phone".into()),
            },
        )
        .await
        .unwrap();
    story.record("remove SN-1", removed).await;
    // Typed in lower case this time: recorded normalised.
    let assigned = story.shop.assign(first, 1, " sn-1 ").await;
    story.record("assign SN-1 again", assigned).await;
    let fulfilled = story.shop.fulfil_from_the_warehouse(first).await;
    story.record("fulfil A", fulfilled).await;
    let returned = story
        .shop
        .service
        .return_units(
            &story.shop.pos(),
            first,
            ReturnUnits {
                units: vec![ReturnUnit {
                    unit: UnitSelector::Serial {
                        product_id: phone,
                        serial: "SN-1".into(),
                    },
                    refund: aud(99_900),
                }],
                reason: Some("screen faulty".into()),
            },
        )
        .await
        .unwrap();
    story.record("return A", returned).await;
    let (second, opened) = story.shop.open("INV-B", "Bob").await;
    story.second = second;
    story.record("open B", opened).await;
    // The repaired phone goes to Bob on the re-issue of Alice's returned line.
    let reissued = story
        .shop
        .service
        .reissue_line(
            &story.shop.pos(),
            second,
            first,
            LineNumber(1),
            Some("SN-1".into()),
        )
        .await
        .unwrap();
    story.record("reissue on B", reissued).await;
    let fulfilled = story.shop.fulfil_from_the_warehouse(second).await;
    story.record("fulfil B", fulfilled).await;
    story
}

impl PhoneStory {
    async fn record(&mut self, what: &'static str, outcome: CommandOutcome) {
        let position = outcome.position().expect("the command wrote events");
        self.shop.fold_up_to(position).await;
        let mut sales = Vec::new();
        for sale_id in [self.first, self.second] {
            let live = self
                .shop
                .service
                .load_sale(self.shop.tenant_id, sale_id)
                .await
                .unwrap();
            sales.push((sale_id, live));
        }
        self.steps.push(Step {
            what,
            position,
            records: self.shop.live_records("SN-1").await,
            sales,
        });
    }
}

/// (action, invoice, line, status after, channel, reason)
type Expected = (
    UnitAction,
    String,
    u32,
    SerialStatus,
    Channel,
    Option<String>,
);

fn expect(
    action: UnitAction,
    invoice: &str,
    line: u32,
    status: SerialStatus,
    channel: Channel,
    reason: Option<&str>,
) -> Expected {
    (
        action,
        invoice.to_owned(),
        line,
        status,
        channel,
        reason.map(str::to_owned),
    )
}

async fn a_units_history_lists_every_assignment_removal_fulfilment_return_and_reissue_in_order(
    db: &TestStore,
) {
    let story = tell_the_phone_story(db).await;
    let history = story.shop.history("sn-1", HistorySource::Index).await;
    assert_eq!(history.serial, "SN-1");
    assert_eq!(history.units.len(), 1);
    let unit = &history.units[0];
    use Channel::{FulfilmentReport as Warehouse, Pos};
    use SerialStatus::*;
    use UnitAction as A;
    let expected: Vec<Expected> = vec![
        expect(A::Assigned, "INV-A", 1, Allocated, Pos, None),
        expect(
            A::Removed,
            "INV-A",
            1,
            Released,
            Pos,
            Some("scanned the box, not the phone"),
        ),
        expect(A::Assigned, "INV-A", 1, Allocated, Pos, None),
        expect(A::Fulfilled, "INV-A", 1, Fulfilled, Warehouse, None),
        expect(
            A::Returned,
            "INV-A",
            1,
            Returned,
            Pos,
            Some("screen faulty"),
        ),
        expect(A::Reissued, "INV-B", 1, Returned, Pos, None),
        expect(A::Assigned, "INV-B", 1, Allocated, Pos, None),
        expect(A::Fulfilled, "INV-B", 1, Fulfilled, Warehouse, None),
    ];
    let timeline: Vec<Expected> = unit
        .entries
        .iter()
        .map(|entry| {
            (
                entry.action,
                entry.invoice_number.clone(),
                entry.line_number.0,
                entry.status_after,
                entry.channel,
                entry.reason.clone(),
            )
        })
        .collect();
    assert_eq!(timeline, expected);

    // Who, where and for whom, on every entry.
    let fulfilment = &unit.entries[3];
    assert_eq!(fulfilment.actor.display_name, "Wendy");
    assert_eq!(
        fulfilment.outlet_id(),
        WAREHOUSE,
        "fulfilled at the warehouse"
    );
    assert_eq!(fulfilment.sale_outlet_id, STORE, "for a sale of the store");
    let customers: Vec<String> = unit
        .entries
        .iter()
        .map(|entry| entry.customer.as_ref().unwrap().name.clone())
        .collect();
    assert_eq!(
        customers,
        [
            "Alice", "Alice", "Alice", "Alice", "Alice", "Bob", "Bob", "Bob"
        ]
    );
    assert_eq!(unit.entries[4].refund, Some(aud(99_900)));
    let reissue_of = unit.entries[5].reissue_of.as_ref().unwrap();
    assert_eq!(
        (reissue_of.sale_id, reissue_of.line_number),
        (story.first, LineNumber(1))
    );
    assert!(
        unit.entries
            .windows(2)
            .all(|pair| pair[0].position < pair[1].position),
        "in log order"
    );

    // Bob holds it now, exactly as the traceability read model says.
    assert_eq!(unit.current.status, SerialStatus::Fulfilled);
    assert_eq!(unit.current.sale_id, story.second);
    assert_eq!(unit.current.product_id, story.phone);
    assert_eq!(
        vec![unit.current.clone()],
        story.shop.live_records("SN-1").await
    );

    // The index, the index alone and a scan of the whole log agree.
    for source in [HistorySource::IndexOnly, HistorySource::Scan] {
        assert_eq!(
            story.shop.history("SN-1", source).await.units,
            history.units,
            "{source:?}"
        );
    }
}

async fn the_same_serial_on_two_products_is_two_units_each_with_its_own_history(db: &TestStore) {
    let story = tell_the_phone_story(db).await;
    let shop = &story.shop;
    let case = shop.product("CASE-15", SerialMode::Optional).await;
    let (third, _) = shop.open("INV-C", "Carol").await;
    shop.add(third, case).await;
    shop.assign(third, 1, "SN-1").await;
    let cancelled = shop
        .service
        .cancel_line(
            &shop.pos(),
            third,
            CancelLine {
                line_number: LineNumber(1),
                reason: Some("changed her mind".into()),
            },
        )
        .await
        .unwrap();
    shop.fold_up_to(cancelled.position().unwrap()).await;

    let history = shop.history("SN-1", HistorySource::Index).await;
    let mut products: Vec<ProductId> = vec![story.phone, case];
    products.sort();
    assert_eq!(
        history
            .units
            .iter()
            .map(|unit| unit.current.product_id)
            .collect::<Vec<_>>(),
        products,
        "one unit per product, by product id"
    );
    let case_unit = history
        .units
        .iter()
        .find(|unit| unit.current.product_id == case)
        .unwrap();
    let actions: Vec<_> = case_unit
        .entries
        .iter()
        .map(|entry| (entry.action, entry.status_after))
        .collect();
    assert_eq!(
        actions,
        [
            (UnitAction::Assigned, SerialStatus::Allocated),
            (UnitAction::Cancelled, SerialStatus::Released)
        ]
    );
    assert_eq!(
        case_unit.entries[1].reason.as_deref(),
        Some("changed her mind")
    );
    let mut live = shop.live_records("SN-1").await;
    live.sort_by_key(|record| record.product_id);
    assert_eq!(
        history
            .units
            .iter()
            .map(|unit| unit.current.clone())
            .collect::<Vec<_>>(),
        live
    );

    // Narrowed to one product, by id or by SKU.
    let by_product = serial_history(
        shop.service.store(),
        &HistoryQuery {
            product_id: Some(case),
            ..HistoryQuery::new(shop.tenant_id, "SN-1")
        },
    )
    .await
    .unwrap();
    assert_eq!(by_product.units, vec![case_unit.clone()]);
    let by_sku = serial_history(
        shop.service.store(),
        &HistoryQuery {
            sku: Some(" PHONE-15 ".into()),
            ..HistoryQuery::new(shop.tenant_id, "SN-1")
        },
    )
    .await
    .unwrap();
    assert_eq!(by_sku.units.len(), 1);
    assert_eq!(by_sku.units[0].current.product_id, story.phone);
}

async fn as_of_every_step_a_serial_and_its_sales_are_as_the_live_system_had_them(db: &TestStore) {
    let story = tell_the_phone_story(db).await;
    let shop = &story.shop;
    let store = shop.service.store();
    let query = HistoryQuery::new(shop.tenant_id, "SN-1");
    for step in &story.steps {
        // By position: exactly the state after that command.
        let at_position = Cutoff::Position(step.position);
        let then = serial_as_of(store, &query, at_position).await.unwrap();
        let records: Vec<SerialRecord> = then.units.iter().map(|u| u.current.clone()).collect();
        assert_eq!(records, step.records, "serial as of {}", step.what);
        for (sale_id, live) in &step.sales {
            let folded = sale_as_of(store, shop.tenant_id, *sale_id, at_position)
                .await
                .unwrap();
            assert_eq!(&folded.sale, live, "sale as of {}", step.what);
        }

        // By time: the time its last event was recorded names the same moment.
        let last_event = store::EventStore::read_all(
            store,
            Position {
                commit: step.position.commit,
                prepare: step.position.prepare.saturating_sub(1),
            },
            1,
        )
        .await
        .unwrap();
        let recorded_at = last_event
            .iter()
            .find(|event| event.position == step.position)
            .map(|event| event.envelope.recorded_at)
            .expect("the step's last event");
        let then = serial_as_of(store, &query, Cutoff::Time(recorded_at))
            .await
            .unwrap();
        let records: Vec<SerialRecord> = then.units.iter().map(|u| u.current.clone()).collect();
        assert_eq!(records, step.records, "serial at the time of {}", step.what);
    }

    // Before anything happened, nothing is known; a moment is a position or a time.
    let before = serial_as_of(store, &query, Cutoff::Position(Position::START))
        .await
        .unwrap();
    assert!(before.units.is_empty());
    let not_yet = sale_as_of(
        store,
        shop.tenant_id,
        story.second,
        Cutoff::Position(story.steps[0].position),
    )
    .await
    .unwrap();
    assert_eq!((not_yet.sale, not_yet.events_folded), (None, 0));
    assert!(matches!(
        "12:34".parse::<Cutoff>(),
        Ok(Cutoff::Position(Position {
            commit: 12,
            prepare: 34
        }))
    ));
    assert!(matches!(
        "2026-11-26T09:30:00Z".parse::<Cutoff>(),
        Ok(Cutoff::Time(_))
    ));
    let error = "yesterday".parse::<Cutoff>().unwrap_err().to_string();
    assert!(
        error.contains("COMMIT:PREPARE") && error.contains("RFC 3339"),
        "{error}"
    );
}

async fn the_index_and_a_scan_of_the_whole_log_give_the_same_histories_for_a_generated_workload(
    db: &TestStore,
) {
    let shop = Shop::new(db).await;
    let report = Workload::new(61)
        .run(&shop.service, 2_500)
        .await
        .expect("workload");
    assert!(report.serials_removed > 0 && report.returns > 0 && report.reissues > 0);
    let end = store::EventStore::read_all(&db.store, Position::START, usize::MAX)
        .await
        .unwrap()
        .last()
        .unwrap()
        .position;
    shop.fold_up_to(end).await;
    let db_read = ReadDb::of(&db.store);
    let mut compared = 0;
    for tenant_id in &report.tenants {
        let mut serials = all_serials(&db.store, *tenant_id).await;
        serials.dedup();
        assert!(!serials.is_empty());
        for (index, serial) in serials.iter().enumerate() {
            let query = HistoryQuery::new(*tenant_id, serial);
            let through_index = serial_history(&db.store, &query).await.unwrap();
            let live: Vec<SerialRecord> =
                trace_serial(&db_read, *tenant_id, serial, &ProductScope::default())
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|trace| trace.record)
                    .collect();
            let replayed: Vec<SerialRecord> = through_index
                .units
                .iter()
                .map(|unit| unit.current.clone())
                .collect();
            assert_eq!(replayed, live, "serial {serial}: replay vs read model");
            for unit in &through_index.units {
                assert_eq!(unit.entries[0].action, UnitAction::Assigned);
            }
            // A full scan per serial is slow: compare a sample.
            if index % 10 == 0 {
                let scanned = serial_history(
                    &db.store,
                    &HistoryQuery {
                        source: HistorySource::Scan,
                        ..query
                    },
                )
                .await
                .unwrap();
                assert_eq!(scanned.units, through_index.units, "serial {serial}");
            }
            compared += 1;
        }
    }
    assert!(compared > 20, "only {compared} serials compared");
}

async fn all_serials(store: &AnyStore, tenant_id: TenantId) -> Vec<String> {
    let sql = "SELECT serial FROM rm_serials WHERE tenant_id = $1 ORDER BY serial";
    let tenant = tenant_id.to_string();
    let rows: Vec<(String,)> = match store {
        AnyStore::Sqlite(store) => sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(store.read_pool())
            .await
            .unwrap(),
        AnyStore::Postgres(store) => sqlx::query_as(sql)
            .bind(tenant)
            .fetch_all(store.pool())
            .await
            .unwrap(),
    };
    rows.into_iter().map(|(serial,)| serial).collect()
}

async fn events_the_index_has_not_folded_yet_are_found_in_the_log_after_its_checkpoint(
    db: &TestStore,
) {
    let shop = Shop::new(db).await;
    let phone = shop.product("PHONE-15", SerialMode::Required).await;
    let (sale, _) = shop.open("INV-T", "Tess").await;
    shop.add(sale, phone).await;
    // No projection runs after this: the index knows nothing of SN-T.
    let assigned = shop.assign(sale, 1, "SN-T").await;
    tests::wait_until_readable(&db.store, assigned.position().unwrap()).await;

    let index_only = shop.history("SN-T", HistorySource::IndexOnly).await;
    assert!(index_only.units.is_empty(), "as of the index's checkpoint");
    let with_tail = shop.history("SN-T", HistorySource::Index).await;
    assert_eq!(with_tail.units.len(), 1);
    assert_eq!(with_tail.units[0].current.status, SerialStatus::Allocated);
    assert_eq!(with_tail.units[0].current.invoice_number, "INV-T");
    assert!(with_tail.covers_up_to >= assigned.position().unwrap());
}

async fn the_evidence_file_checks_offline_and_names_an_altered_event(db: &TestStore) {
    let story = tell_the_phone_story(db).await;
    let (private, public) = ledger_proof::checkpoint::generate_signing_key("test-ledger").unwrap();
    let key = ledger_proof::checkpoint::SigningKey::from_text(&private).unwrap();
    let public = VerifierKey::from_text(&public).unwrap();
    story.shop.checkpoint(Some(&key)).await;
    let history = story.shop.history("SN-1", HistorySource::Index).await;
    let document = story.shop.evidence("SN-1").await;
    let check = check_evidence(&document, Some(std::slice::from_ref(&public)));
    assert!(check.is_intact(), "{:?}", check.problems);
    assert!(check.signature_checked);
    assert_eq!((check.units, check.events), (1, 8));
    let first = &document["units"][0]["history"][0]["event"];
    assert_eq!(first["hash"], history.units[0].entries[0].event.hash);

    // Someone edits the serial of the fourth event in the file.
    let mut altered = document.clone();
    altered["units"][0]["history"][3]["event"]["payload"]["serial"] = "SN-2".into();
    let check = check_evidence(&altered, Some(std::slice::from_ref(&public)));
    let event_id = history.units[0].entries[3].event.event_id.to_string();
    let altered_problem = check
        .problems
        .iter()
        .find(|problem| problem.code() == "EVENT_ALTERED")
        .expect("the altered event is named");
    assert!(
        altered_problem.to_string().contains(&event_id),
        "{altered_problem}"
    );
    assert!(!check_evidence(&serde_json::json!({"format": "other"}), None).is_intact());

    // The CSV: a header and a row per event, with the hash of each.
    let mut csv = Vec::new();
    evidence::write_csv(&history, &mut csv).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        evidence::CSV_HEADER
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 8);
    assert_eq!(&rows[1][4], "REMOVED");
    assert_eq!(&rows[1][18], "scanned the box, not the phone");
    assert_eq!(&rows[7][26], history.units[0].entries[7].event.hash);
}

async fn a_serial_that_breaks_the_rules_is_refused_naming_the_rule(db: &TestStore) {
    let shop = Shop::new(db).await;
    for (serial, rule) in [
        ("", "blank"),
        ("A B", "spaces"),
        (&"X".repeat(65), "at most"),
    ] {
        let error = serial_history(&db.store, &HistoryQuery::new(shop.tenant_id, serial))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "INVALID_SERIAL");
        assert!(error.to_string().contains(rule), "{serial:?}: {error}");
    }
    let error = serial_history(
        &db.store,
        &HistoryQuery {
            sku: Some("  ".into()),
            ..HistoryQuery::new(shop.tenant_id, "SN-1")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(error.code(), "VALIDATION");
    assert!(error.to_string().contains("sku"), "{error}");
}
