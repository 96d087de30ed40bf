//! `replay check-projections`: each live read model is compared with the log folded into a
//! scratch copy up to the live checkpoint, on both backends, while a server may be folding.
//!
//! Every case runs on both backends (`replay_check::sqlite::...`, `replay_check::postgres::...`).

use application::commands::CommandService;
use pretty_assertions::assert_eq;
use projections::{Projection, ProjectionRunner, RowDifference, RunnerOptions};
use replay::check::{CheckError, CheckOptions, check_projections, check_projections_with};
use std::time::{Duration, Instant};
use store::{AnyStore, EventStore, Position};
use tests::workload::{Workload, WorkloadReport};
use tests::{Backend, TestStore};

on_both_backends!(
    after_thousands_of_events_every_live_read_model_is_identical_to_the_log_folded_to_its_checkpoint,
    an_altered_or_deleted_live_row_is_reported_with_its_projection_table_and_key,
    a_check_while_a_runner_keeps_folding_compares_each_projection_at_one_position_and_finds_it_identical,
    no_scratch_schema_or_file_is_left_behind_after_a_check_a_failed_check_or_a_cancelled_check,
);

// ---- helpers --------------------------------------------------------------------------------

async fn migrated_runner(db: &TestStore) -> ProjectionRunner {
    let runner = ProjectionRunner::new(
        db.store.clone(),
        RunnerOptions {
            poll_interval: Duration::from_millis(20),
            ..RunnerOptions::default()
        },
    );
    runner.migrate().await.unwrap();
    runner
}

async fn workload(db: &TestStore, seed: u64, events: u64) -> WorkloadReport {
    let service = CommandService::new(db.store.clone());
    Workload::new(seed).run(&service, events).await.unwrap()
}

/// Waits until `total` events are readable (on PostgreSQL other sessions' open transactions
/// can hold the newest back for a moment), then folds them all.
async fn catch_up(db: &TestStore, runner: &ProjectionRunner, total: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while db.store.count_after(Position::START).await.unwrap() < total {
        assert!(Instant::now() < deadline, "the log settled in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    runner.catch_up_all().await.unwrap();
}

/// Runs a query returning three text columns directly on the database.
async fn select_three(db: &TestStore, sql: &str) -> (String, String, String) {
    match &db.store {
        AnyStore::Sqlite(store) => sqlx::query_as(sql)
            .fetch_one(store.read_pool())
            .await
            .unwrap(),
        AnyStore::Postgres(store) => sqlx::query_as(sql).fetch_one(store.pool()).await.unwrap(),
    }
}

/// What the check leaves behind: scratch schemas (PostgreSQL) or scratch directories beside
/// the database file (SQLite).
async fn scratch_leftovers(db: &TestStore) -> Vec<String> {
    match &db.store {
        AnyStore::Sqlite(store) => {
            let file = store
                .read_pool()
                .connect_options()
                .get_filename()
                .to_owned();
            let directory = file.parent().unwrap().to_owned();
            std::fs::read_dir(directory)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(".serial-ledger-check-"))
                .collect()
        }
        AnyStore::Postgres(store) => sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'replay\\_check\\_%'",
        )
        .fetch_all(store.pool())
        .await
        .unwrap(),
    }
}

// ---- cases ----------------------------------------------------------------------------------

async fn after_thousands_of_events_every_live_read_model_is_identical_to_the_log_folded_to_its_checkpoint(
    db: &TestStore,
) {
    let runner = migrated_runner(db).await;
    let written = workload(db, 7, 3_000).await;
    catch_up(db, &runner, written.events_written).await;

    let report = check_projections(&db.store, &Projection::ALL)
        .await
        .unwrap();

    assert!(report.all_identical(), "{report:#?}");
    assert_eq!(
        report
            .projections
            .iter()
            .map(|check| check.projection)
            .collect::<Vec<_>>(),
        Projection::ALL.to_vec()
    );
    for check in &report.projections {
        let (live_position, _) = runner.checkpoint(check.projection).await.unwrap();
        assert_eq!(check.position, live_position, "{}", check.projection.name());
        assert_eq!(check.rebuilt_position, live_position);
        assert_eq!(check.events_folded, written.events_written);
        assert_eq!(check.live_events_seen, written.events_written);
        assert_eq!(check.live, check.rebuilt);
        assert_eq!(
            check.live.digest,
            runner.digest(check.projection).await.unwrap(),
            "the snapshot digest is the runner's digest"
        );
        assert!(
            check.live.tables.iter().all(|table| table.rows > 0),
            "every table has rows to compare: {:?}",
            check.live.tables
        );
        assert!(check.differences.is_empty());
        eprintln!(
            "{}: {} events folded into the scratch copy in {:.2?} ({:.0} events/s)",
            check.projection.name(),
            check.events_folded,
            check.rebuild_time,
            check.events_per_second()
        );
    }
}

async fn an_altered_or_deleted_live_row_is_reported_with_its_projection_table_and_key(
    db: &TestStore,
) {
    let runner = migrated_runner(db).await;
    let written = workload(db, 11, 1_500).await;
    catch_up(db, &runner, written.events_written).await;

    // An allocated or fulfilled serial marked released behind the projection's back...
    let (tenant, product, serial) = select_three(
        db,
        "SELECT tenant_id, product_id, serial FROM rm_serials \
         WHERE status IN ('ALLOCATED', 'FULFILLED') ORDER BY serial LIMIT 1",
    )
    .await;
    let altered = db
        .execute_raw(&format!(
            "UPDATE rm_serials SET status = 'RELEASED' WHERE tenant_id = '{tenant}' \
             AND product_id = '{product}' AND serial = '{serial}'"
        ))
        .await
        .unwrap();
    assert_eq!(altered, 1);
    // ...and a sale line deleted.
    let (line_tenant, sale, line) = select_three(
        db,
        "SELECT tenant_id, sale_id, CAST(line_number AS TEXT) FROM rm_sale_lines \
         ORDER BY sale_id, line_number LIMIT 1",
    )
    .await;
    let deleted = db
        .execute_raw(&format!(
            "DELETE FROM rm_sale_lines WHERE tenant_id = '{line_tenant}' \
             AND sale_id = '{sale}' AND line_number = {line}"
        ))
        .await
        .unwrap();
    assert_eq!(deleted, 1);

    let report = check_projections(&db.store, &Projection::ALL)
        .await
        .unwrap();

    assert!(!report.all_identical());
    assert!(report.get(Projection::Products).unwrap().is_identical());

    let serials = report.get(Projection::Serials).unwrap();
    assert!(!serials.is_identical());
    assert_ne!(serials.live.digest, serials.rebuilt.digest);
    assert_eq!(serials.differences.len(), 1, "{:#?}", serials.differences);
    let table = serials.table("rm_serials").unwrap();
    assert_eq!(table.count, 1);
    let RowDifference::Changed { key, columns } = &table.first[0] else {
        panic!("a changed row, not {:?}", table.first[0]);
    };
    assert_eq!(key.get("tenant_id"), Some(tenant.as_str()));
    assert_eq!(key.get("product_id"), Some(product.as_str()));
    assert_eq!(key.get("serial"), Some(serial.as_str()));
    assert_eq!(columns.len(), 1, "{columns:?}");
    assert_eq!(columns[0].column, "status");
    assert_eq!(columns[0].live.as_deref(), Some("RELEASED"));
    assert_ne!(columns[0].rebuilt.as_deref(), Some("RELEASED"));
    assert!(
        table.first[0].to_string().contains(&serial),
        "the printed difference names the serial: {}",
        table.first[0]
    );

    let sales = report.get(Projection::Sales).unwrap();
    assert!(!sales.is_identical());
    let table = sales.table("rm_sale_lines").unwrap();
    assert_eq!(table.count, 1);
    assert_eq!(
        table.first[0],
        RowDifference::MissingFromLive {
            key: projections::RowKey(vec![
                ("tenant_id", Some(line_tenant)),
                ("sale_id", Some(sale)),
                ("line_number", Some(line)),
            ])
        }
    );
    let lines = |digest: &projections::ProjectionDigest| {
        digest
            .tables
            .iter()
            .find(|table| table.table == "rm_sale_lines")
            .unwrap()
            .rows
    };
    assert_eq!(lines(&sales.live) + 1, lines(&sales.rebuilt));

    // Only the projections asked for are checked, each once.
    let only_sales = check_projections(&db.store, &[Projection::Sales, Projection::Sales])
        .await
        .unwrap();
    assert_eq!(only_sales.projections.len(), 1);
    assert_eq!(only_sales.projections[0].differences, sales.differences);
}

async fn a_check_while_a_runner_keeps_folding_compares_each_projection_at_one_position_and_finds_it_identical(
    db: &TestStore,
) {
    let runner = migrated_runner(db).await;
    let first = workload(db, 21, 500).await;
    catch_up(db, &runner, first.events_written).await;

    // A live runner follows the log while more retail activity is written...
    let running = runner.spawn();
    let service = CommandService::new(db.store.clone());
    let writing = tokio::spawn(async move {
        Workload::new(22)
            .run(&service, 1_500)
            .await
            .unwrap()
            .events_written
    });
    // ...and checks run meanwhile, until the writing is over.
    let mut checks = Vec::new();
    while !writing.is_finished() || checks.is_empty() {
        let report = check_projections(&db.store, &Projection::ALL)
            .await
            .unwrap();
        assert!(report.all_identical(), "{report:#?}");
        checks.push(report);
    }
    let total = first.events_written + writing.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while runner
        .status()
        .iter()
        .any(|status| status.events_seen < total)
    {
        assert!(
            Instant::now() < deadline,
            "live projections caught up in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.stop().await;

    // At least one check compared read models that were still moving.
    let final_positions: Vec<Position> = runner.status().iter().map(|s| s.position).collect();
    let mid_flight = checks.iter().any(|report| {
        report
            .projections
            .iter()
            .zip(&final_positions)
            .any(|(check, last)| check.position < *last && check.events_folded > 0)
    });
    assert!(
        mid_flight,
        "{} checks ran, one of them while events were being folded",
        checks.len()
    );
    eprintln!(
        "{} checks while {} events were written and folded",
        checks.len(),
        total - first.events_written
    );
    let last = check_projections(&db.store, &Projection::ALL)
        .await
        .unwrap();
    assert!(last.all_identical(), "{last:#?}");
    assert!(
        last.projections
            .iter()
            .all(|check| check.events_folded == total)
    );
}

async fn no_scratch_schema_or_file_is_left_behind_after_a_check_a_failed_check_or_a_cancelled_check(
    db: &TestStore,
) {
    let runner = migrated_runner(db).await;
    let written = workload(db, 31, 1_000).await;
    catch_up(db, &runner, written.events_written).await;

    // A check that completes.
    check_projections(&db.store, &Projection::ALL)
        .await
        .unwrap();
    assert_eq!(scratch_leftovers(db).await, Vec::<String>::new());

    // A check cancelled half-way (its future dropped, as on Ctrl-C): one event per scratch
    // transaction makes sure it is still folding when the time is up.
    let slow = CheckOptions {
        batch_size: 1,
        ..CheckOptions::default()
    };
    let cancelled = tokio::time::timeout(
        Duration::from_millis(300),
        check_projections_with(&db.store, &Projection::ALL, &slow),
    )
    .await;
    assert!(cancelled.is_err(), "the check was cancelled while folding");
    assert_eq!(scratch_leftovers(db).await, Vec::<String>::new());

    // A check that fails: a live table is missing.
    db.execute_raw("DROP TABLE rm_trace_lines").await.unwrap();
    let failed = check_projections(&db.store, &Projection::ALL).await;
    assert!(
        matches!(
            &failed,
            Err(CheckError::Live {
                projection: "serials",
                ..
            })
        ),
        "{failed:?}"
    );
    assert_eq!(scratch_leftovers(db).await, Vec::<String>::new());
    if db.backend() == Backend::Postgres {
        // The scratch pools' connections are gone too.
        let AnyStore::Postgres(store) = &db.store else {
            unreachable!()
        };
        let connections: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name LIKE 'replay\\_check\\_%'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(connections, 0);
    }
}
