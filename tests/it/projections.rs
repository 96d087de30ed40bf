//! The projections: exactly-once folding, failure handling, read-your-writes, rebuild.
//!
//! Every case runs on both backends (`projections::sqlite::...`, `projections::postgres::...`).

use event_schemas::*;
use pretty_assertions::assert_eq;
use projections::{Projection, ProjectionError, ProjectionRunner, RunnerOptions};
use std::time::Duration;
use store::*;
use tests::TestStore;
use uuid::Uuid;

on_both_backends!(
    a_projection_that_cannot_fold_an_event_stops_there_and_reports_it,
    waiting_for_a_position_returns_once_every_read_model_has_folded_it,
    stopping_the_runner_mid_stream_and_restarting_neither_loses_nor_doubles_anything,
    two_runners_at_once_fold_each_event_exactly_once,
    a_rebuild_is_safe_to_interrupt_and_run_again,
    after_ten_thousand_events_of_retail_activity_every_rebuild_equals_the_live_read_model,
    folding_in_batches_of_any_size_gives_the_read_models_of_folding_one_event_at_a_time,
    a_change_to_a_line_added_later_in_the_same_batch_is_an_inconsistency,
);

// ---- a small, hand-written history ----------------------------------------------------------

use tests::metadata;

async fn append(
    db: &TestStore,
    tenant_id: TenantId,
    stream: &str,
    events: Vec<LedgerEvent>,
) -> AppendResult {
    db.store
        .append(AppendRequest {
            tenant_id,
            metadata: metadata(),
            writes: vec![StreamWrite {
                stream_id: stream.to_owned(),
                expected_revision: ExpectedRevision::Any,
                events: events.iter().map(NewEvent::from_event).collect(),
            }],
            claims: vec![],
        })
        .await
        .unwrap()
}

fn line(number: u32, product_id: ProductId, serial_mode: SerialMode) -> SaleLine {
    SaleLine {
        line_number: LineNumber(number),
        product_id,
        sku: "SKU-1".into(),
        product_name: "Phone".into(),
        quantity: 1,
        unit_price: Money {
            amount_minor: 1000,
            currency: "AUD".into(),
        },
        serial_mode,
        package: None,
    }
}

/// A sale whose serialised unit is sold, returned and re-issued on a second sale: every
/// projection has something to fold. Returns the number of events written.
async fn sell_return_and_reissue(db: &TestStore, tenant_id: TenantId, n: u32) -> u64 {
    let product_id = ProductId::new_v7();
    let (first, second) = (SaleId::new_v7(), SaleId::new_v7());
    let serial = format!("SN-{n}");
    let opened = |sale_id, invoice: String| SaleOpened {
        sale_id,
        invoice_number: invoice,
        sale_type: SaleType::Sale,
        delivery_mode: DeliveryMode::CashAndCarry,
        outlet_id: OutletId(Uuid::from_u128(7)),
        customer: None,
    };
    append(
        db,
        tenant_id,
        &streams::product(product_id),
        vec![
            ProductCreated {
                product_id,
                sku: "SKU-1".into(),
                name: "Phone".into(),
                serial_mode: SerialMode::Required,
                serial_mode_source: SerialModeSource::Manual,
                package: None,
            }
            .into(),
        ],
    )
    .await;
    append(
        db,
        tenant_id,
        &streams::sale(first),
        vec![
            opened(first, format!("INV-{n}-A")).into(),
            LineAdded {
                line: line(1, product_id, SerialMode::Required),
            }
            .into(),
            SerialAssigned {
                line_number: LineNumber(1),
                product_id,
                serial: serial.clone(),
                scanned: None,
            }
            .into(),
            LineFulfilled {
                line_number: LineNumber(1),
                product_id,
                serial: Some(serial.clone()),
            }
            .into(),
            LineReturned {
                line_number: LineNumber(1),
                product_id,
                serial: Some(serial.clone()),
                refund: Money {
                    amount_minor: 1000,
                    currency: "AUD".into(),
                },
                reason: None,
            }
            .into(),
        ],
    )
    .await;
    append(
        db,
        tenant_id,
        &streams::sale(second),
        vec![
            opened(second, format!("INV-{n}-B")).into(),
            LineReissued {
                line: line(1, product_id, SerialMode::Required),
                reissue_of: ReturnedLineRef {
                    sale_id: first,
                    invoice_number: format!("INV-{n}-A"),
                    line_number: LineNumber(1),
                    serial: Some(serial.clone()),
                },
            }
            .into(),
            SerialAssigned {
                line_number: LineNumber(1),
                product_id,
                serial: format!("{serial}-B"),
                scanned: None,
            }
            .into(),
        ],
    )
    .await;
    9
}

async fn migrated_runner(db: &TestStore, options: RunnerOptions) -> ProjectionRunner {
    let runner = ProjectionRunner::new(db.store.clone(), options);
    runner.migrate().await.unwrap();
    runner
}

async fn digests(runner: &ProjectionRunner) -> Vec<String> {
    let mut all = Vec::new();
    for projection in Projection::ALL {
        all.push(runner.digest(projection).await.unwrap());
    }
    all
}

/// Every projection folded exactly `total` events, and each equals its own rebuild.
async fn assert_exactly_once_and_rebuildable(runner: &ProjectionRunner, total: u64) {
    for projection in Projection::ALL {
        let (_, seen) = runner.checkpoint(projection).await.unwrap();
        assert_eq!(seen, total, "{} saw every event once", projection.name());
    }
    let live = digests(runner).await;
    for projection in Projection::ALL {
        assert_eq!(runner.rebuild(projection).await.unwrap(), total);
    }
    assert_eq!(
        digests(runner).await,
        live,
        "rebuilt read models equal the live ones"
    );
}

// ---- cases ----------------------------------------------------------------------------------

async fn a_projection_that_cannot_fold_an_event_stops_there_and_reports_it(db: &TestStore) {
    let tenant_id = TenantId::new_v7();
    let runner = migrated_runner(db, RunnerOptions::default()).await;
    let written = sell_return_and_reissue(db, tenant_id, 1).await;
    tests::wait_until_visible(&db.store, written).await;
    runner.catch_up_all().await.unwrap();
    let (before, seen_before) = runner.checkpoint(Projection::Sales).await.unwrap();

    // A serial for a line that was never added: the sales projection cannot fold it.
    let sale_id = SaleId::new_v7();
    append(
        db,
        tenant_id,
        &streams::sale(sale_id),
        vec![
            SerialAssigned {
                line_number: LineNumber(9),
                product_id: ProductId::new_v7(),
                serial: "X".into(),
                scanned: None,
            }
            .into(),
        ],
    )
    .await;
    tests::wait_until_visible(&db.store, written + 1).await;
    let error = runner.catch_up(Projection::Sales).await.unwrap_err();
    assert!(
        matches!(error, ProjectionError::Inconsistent { .. }),
        "{error:?}"
    );
    assert_eq!(
        runner.checkpoint(Projection::Sales).await.unwrap(),
        (before, seen_before)
    );
    let status = runner
        .status()
        .into_iter()
        .find(|s| s.projection == Projection::Sales)
        .unwrap();
    assert!(
        status.error.unwrap().contains("line 9"),
        "the status names the failure"
    );

    // It does not skip: asked again, it stops at the same event.
    assert!(runner.catch_up(Projection::Sales).await.is_err());
    assert_eq!(
        runner.checkpoint(Projection::Sales).await.unwrap().0,
        before
    );
}

async fn waiting_for_a_position_returns_once_every_read_model_has_folded_it(db: &TestStore) {
    let tenant_id = TenantId::new_v7();
    let runner = migrated_runner(
        db,
        RunnerOptions {
            poll_interval: Duration::from_millis(20),
            ..RunnerOptions::default()
        },
    )
    .await;
    let product_id = ProductId::new_v7();
    let written = append(
        db,
        tenant_id,
        &streams::product(product_id),
        vec![
            ProductCreated {
                product_id,
                sku: "A".into(),
                name: "A".into(),
                serial_mode: SerialMode::Optional,
                serial_mode_source: SerialModeSource::Api,
                package: None,
            }
            .into(),
        ],
    )
    .await;
    let stopped = runner
        .wait_for(written.position, Duration::from_millis(200))
        .await;
    assert!(
        matches!(stopped, Err(ProjectionError::WaitTimedOut { .. })),
        "no runner, no progress"
    );

    let running = runner.spawn();
    runner
        .wait_for(written.position, Duration::from_secs(10))
        .await
        .unwrap();
    // Read-your-writes waits for the read models; the proofs follow on their own.
    for status in runner.status() {
        if status.projection.is_read_model() {
            assert!(status.position >= written.position);
        }
    }
    let again = append(
        db,
        tenant_id,
        &streams::product(product_id),
        vec![
            SerialModeChanged {
                product_id,
                serial_mode: SerialMode::Required,
                previous_serial_mode: SerialMode::Optional,
                source: SerialModeSource::BulkEdit,
            }
            .into(),
        ],
    )
    .await;
    runner
        .wait_for(again.position, Duration::from_secs(10))
        .await
        .unwrap();
    running.stop().await;
}

async fn stopping_the_runner_mid_stream_and_restarting_neither_loses_nor_doubles_anything(
    db: &TestStore,
) {
    let tenant_id = TenantId::new_v7();
    let mut total = 0;
    for n in 0..60 {
        total += sell_return_and_reissue(db, tenant_id, n).await;
    }
    tests::wait_until_visible(&db.store, total).await;
    let small_batches = RunnerOptions {
        batch_size: 7,
        poll_interval: Duration::from_millis(10),
        ..RunnerOptions::default()
    };
    let first = migrated_runner(db, small_batches).await;
    let running = first.spawn();
    // Stop it somewhere in the middle of the log.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen: u64 = first
            .status()
            .iter()
            .map(|s| s.events_seen)
            .min()
            .unwrap_or(0);
        if seen >= total / 3 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.stop().await;
    let (_, stopped_at) = first.checkpoint(Projection::Serials).await.unwrap();
    assert!(
        stopped_at < total,
        "stopped mid-stream ({stopped_at} of {total})"
    );

    let restarted = ProjectionRunner::new(db.store.clone(), small_batches);
    assert!(restarted.lag(Projection::Serials).await.unwrap() > 0);
    restarted.catch_up_all().await.unwrap();
    for projection in Projection::ALL {
        assert_eq!(restarted.lag(projection).await.unwrap(), 0);
    }
    assert_exactly_once_and_rebuildable(&restarted, total).await;
}

async fn two_runners_at_once_fold_each_event_exactly_once(db: &TestStore) {
    let tenant_id = TenantId::new_v7();
    let mut total = 0;
    for n in 0..30 {
        total += sell_return_and_reissue(db, tenant_id, n).await;
    }
    tests::wait_until_visible(&db.store, total).await;
    let options = RunnerOptions {
        batch_size: 5,
        ..RunnerOptions::default()
    };
    let one = migrated_runner(db, options).await;
    let other = ProjectionRunner::new(db.store.clone(), options);
    let (a, b) = tokio::join!(one.catch_up_all(), other.catch_up_all());
    a.unwrap();
    b.unwrap();
    assert_exactly_once_and_rebuildable(&one, total).await;
}

async fn a_rebuild_is_safe_to_interrupt_and_run_again(db: &TestStore) {
    let tenant_id = TenantId::new_v7();
    let mut total = 0;
    for n in 0..20 {
        total += sell_return_and_reissue(db, tenant_id, n).await;
    }
    tests::wait_until_visible(&db.store, total).await;
    let runner = migrated_runner(
        db,
        RunnerOptions {
            batch_size: 4,
            ..RunnerOptions::default()
        },
    )
    .await;
    runner.catch_up_all().await.unwrap();
    let live = digests(&runner).await;

    // Interrupted: reset and only a few batches folded.
    runner.reset(Projection::Serials).await.unwrap();
    runner.run_batch(Projection::Serials).await.unwrap();
    runner.run_batch(Projection::Serials).await.unwrap();
    assert_ne!(digests(&runner).await, live);

    assert_eq!(runner.rebuild(Projection::Serials).await.unwrap(), total);
    assert_eq!(digests(&runner).await, live);
}

async fn after_ten_thousand_events_of_retail_activity_every_rebuild_equals_the_live_read_model(
    db: &TestStore,
) {
    let runner = migrated_runner(
        db,
        RunnerOptions {
            poll_interval: Duration::from_millis(20),
            ..RunnerOptions::default()
        },
    )
    .await;
    // The read models follow the log live while the workload writes it.
    let running = runner.spawn();
    let service = application::commands::CommandService::new(db.store.clone());
    let report = tests::workload::Workload::new(42)
        .tenants(2)
        .run(&service, 10_000)
        .await
        .unwrap();
    assert!(report.events_written >= 10_000, "{report:?}");
    assert!(
        report.returns > 0 && report.reissues > 0 && report.serials_removed > 0,
        "{report:?}"
    );

    // On PostgreSQL other sessions' open transactions (other tests) can hold the newest
    // events back from readers for a moment: wait until all of them are visible.
    let total = report.events_written;
    tests::wait_until_visible(&db.store, total).await;
    assert_eq!(db.store.count_after(Position::START).await.unwrap(), total);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while runner.status().iter().any(|s| s.events_seen < total) {
        assert!(
            std::time::Instant::now() < deadline,
            "live projections caught up in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop().await;
    let live_digests = digests(&runner).await;

    let started = std::time::Instant::now();
    for projection in Projection::ALL {
        assert_eq!(runner.rebuild(projection).await.unwrap(), total);
    }
    let elapsed = started.elapsed();
    eprintln!(
        "rebuild of {} projections over {total} events: {elapsed:.2?} ({:.0} events/s per projection)",
        Projection::ALL.len(),
        (total as f64 * Projection::ALL.len() as f64) / elapsed.as_secs_f64()
    );
    assert_eq!(
        digests(&runner).await,
        live_digests,
        "rebuilt read models equal the live ones"
    );
}

async fn folding_in_batches_of_any_size_gives_the_read_models_of_folding_one_event_at_a_time(
    db: &TestStore,
) {
    let service = application::commands::CommandService::new(db.store.clone());
    let report = tests::workload::Workload::new(7)
        .tenants(2)
        .run(&service, 2_000)
        .await
        .unwrap();
    assert!(
        report.returns > 0 && report.reissues > 0 && report.serials_removed > 0,
        "{report:?}"
    );
    let total = report.events_written;
    tests::wait_until_visible(&db.store, total).await;

    let one_at_a_time = migrated_runner(
        db,
        RunnerOptions {
            batch_size: 1,
            ..RunnerOptions::default()
        },
    )
    .await;
    one_at_a_time.catch_up_all().await.unwrap();
    let expected = digests(&one_at_a_time).await;

    for batch_size in [13, 5_000] {
        let runner = migrated_runner(
            db,
            RunnerOptions {
                batch_size,
                ..RunnerOptions::default()
            },
        )
        .await;
        for projection in Projection::ALL {
            assert_eq!(runner.rebuild(projection).await.unwrap(), total);
        }
        assert_eq!(
            digests(&runner).await,
            expected,
            "batches of {batch_size} events fold to the same read models"
        );
    }
}

async fn a_change_to_a_line_added_later_in_the_same_batch_is_an_inconsistency(db: &TestStore) {
    let tenant_id = TenantId::new_v7();
    let runner = migrated_runner(db, RunnerOptions::default()).await;
    let product_id = ProductId::new_v7();
    let sale_id = SaleId::new_v7();
    // One batch: the serial comes before the line it is for.
    append(
        db,
        tenant_id,
        &streams::sale(sale_id),
        vec![
            SaleOpened {
                sale_id,
                invoice_number: "INV-1".into(),
                sale_type: SaleType::Sale,
                delivery_mode: DeliveryMode::CashAndCarry,
                outlet_id: OutletId(Uuid::from_u128(7)),
                customer: None,
            }
            .into(),
            SerialAssigned {
                line_number: LineNumber(1),
                product_id,
                serial: "SN-1".into(),
                scanned: None,
            }
            .into(),
            LineAdded {
                line: line(1, product_id, SerialMode::Required),
            }
            .into(),
        ],
    )
    .await;
    tests::wait_until_visible(&db.store, 3).await;
    for projection in [Projection::Sales, Projection::Serials] {
        let error = runner.catch_up(projection).await.unwrap_err();
        assert!(
            matches!(&error, ProjectionError::Inconsistent { event_type, .. } if event_type == "SerialAssigned"),
            "{projection:?}: {error:?}"
        );
        assert_eq!(
            runner.checkpoint(projection).await.unwrap(),
            (Position::START, 0),
            "{projection:?} folded nothing of the batch"
        );
    }
}
