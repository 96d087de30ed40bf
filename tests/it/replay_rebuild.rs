//! `replay rebuild` as a library: rebuilt read models equal the live ones, progress is
//! reported faithfully, and an interrupted rebuild run again ends where an uninterrupted one
//! does.
//!
//! Every case runs on both backends (`replay_rebuild::sqlite::...`,
//! `replay_rebuild::postgres::...`). The ignored `measure_rebuild_rate_*` tests print the
//! rebuild rate per batch size over a larger log (`cargo test -p tests --test it
//! replay_rebuild -- --ignored --nocapture`).

use pretty_assertions::assert_eq;
use projections::{Projection, ProjectionRunner, RunnerOptions};
use replay::rebuild::{
    Control, Progress, ProjectionRebuilt, REBUILD_BATCH_SIZE, RebuildObserver, RebuildOptions,
    rebuild,
};
use std::time::Duration;
use tests::TestStore;

on_both_backends!(
    rebuilding_every_projection_after_generated_activity_gives_the_same_read_models,
    progress_counts_rise_monotonically_to_the_total,
    an_interrupted_rebuild_run_again_ends_identical_to_the_original,
    a_rebuild_beside_a_running_server_runner_ends_identical_to_the_original,
);

// ---- helpers --------------------------------------------------------------------------------

/// Generates retail activity and folds it live; returns the runner and the events written.
async fn generated(db: &TestStore, seed: u64, events: u64) -> (ProjectionRunner, u64) {
    let service = application::commands::CommandService::new(db.store.clone());
    let report = tests::workload::Workload::new(seed)
        .tenants(2)
        .run(&service, events)
        .await
        .unwrap();
    let total = report.events_written;
    tests::wait_until_visible(&db.store, total).await;
    let runner = ProjectionRunner::new(db.store.clone(), RunnerOptions::default());
    runner.migrate().await.unwrap();
    runner.catch_up_all().await.unwrap();
    (runner, total)
}

async fn digests(runner: &ProjectionRunner) -> Vec<String> {
    let mut all = Vec::new();
    for projection in Projection::ALL {
        all.push(runner.digest(projection).await.unwrap());
    }
    all
}

fn keep_going(_: &Progress) -> Control {
    Control::Continue
}

/// Records everything an observer hears, and stops at a chosen batch.
#[derive(Default)]
struct Recorder {
    started: Vec<(Projection, u64)>,
    progress: Vec<Progress>,
    finished: Vec<ProjectionRebuilt>,
    /// Stop after this many batches of this projection.
    stop_at: Option<(Projection, usize)>,
}

impl RebuildObserver for Recorder {
    fn started(&mut self, projection: Projection, total: u64) {
        self.started.push((projection, total));
    }

    fn progress(&mut self, progress: &Progress) -> Control {
        self.progress.push(*progress);
        let batches = self
            .progress
            .iter()
            .filter(|p| p.projection == progress.projection)
            .count();
        match self.stop_at {
            Some((projection, at)) if projection == progress.projection && batches >= at => {
                Control::Stop
            }
            _ => Control::Continue,
        }
    }

    fn finished(&mut self, rebuilt: &ProjectionRebuilt) {
        self.finished.push(*rebuilt);
    }
}

// ---- cases ----------------------------------------------------------------------------------

async fn rebuilding_every_projection_after_generated_activity_gives_the_same_read_models(
    db: &TestStore,
) {
    let (runner, total) = generated(db, 31, 1_500).await;
    let live = digests(&runner).await;

    let report = rebuild(
        &db.store,
        &Projection::ALL,
        RebuildOptions::default(),
        &mut keep_going,
    )
    .await
    .unwrap();
    assert!(!report.stopped);
    assert_eq!(
        report
            .projections
            .iter()
            .map(|p| (p.projection, p.events, p.complete))
            .collect::<Vec<_>>(),
        Projection::ALL.map(|p| (p, total, true)).to_vec()
    );
    assert_eq!(digests(&runner).await, live, "rebuilt equals live");

    // One projection alone, named: the others are left untouched.
    let report = rebuild(
        &db.store,
        &[Projection::Serials],
        RebuildOptions { batch_size: 333 },
        &mut keep_going,
    )
    .await
    .unwrap();
    assert_eq!(report.projections.len(), 1);
    assert_eq!(report.projections[0].projection, Projection::Serials);
    assert_eq!(digests(&runner).await, live);
}

async fn progress_counts_rise_monotonically_to_the_total(db: &TestStore) {
    let (_, total) = generated(db, 37, 1_000).await;
    let mut recorder = Recorder::default();
    let batch_size = 97;
    let report = rebuild(
        &db.store,
        &Projection::ALL,
        RebuildOptions { batch_size },
        &mut recorder,
    )
    .await
    .unwrap();
    assert!(!report.stopped);
    assert_eq!(
        recorder.started,
        Projection::ALL.map(|p| (p, total)).to_vec()
    );
    assert_eq!(recorder.finished, report.projections);
    for projection in Projection::ALL {
        let seen: Vec<&Progress> = recorder
            .progress
            .iter()
            .filter(|p| p.projection == projection)
            .collect();
        // One report per batch, and one more once caught up.
        assert_eq!(
            seen.len() as u64,
            total.div_ceil(batch_size as u64) + 1,
            "{projection:?}"
        );
        assert!(
            seen.windows(2)
                .all(|w| w[0].events_done <= w[1].events_done && w[0].elapsed <= w[1].elapsed),
            "{projection:?}: counts and time only rise"
        );
        assert!(
            seen.iter()
                .all(|p| p.total == total && p.events_done <= total)
        );
        assert_eq!(seen[0].events_done, batch_size as u64);
        let last = seen.last().unwrap();
        assert_eq!(last.events_done, total);
        assert_eq!(last.eta(), Some(Duration::ZERO));
        assert!(last.events_per_second() > 0.0);
    }
}

async fn an_interrupted_rebuild_run_again_ends_identical_to_the_original(db: &TestStore) {
    let (runner, total) = generated(db, 41, 1_200).await;
    let live = digests(&runner).await;
    let options = RebuildOptions { batch_size: 100 };

    // Stopped after two batches of the second projection: the first is rebuilt, the second
    // is part-way, the third not started.
    let mut recorder = Recorder {
        stop_at: Some((Projection::Sales, 2)),
        ..Recorder::default()
    };
    let report = rebuild(&db.store, &Projection::ALL, options, &mut recorder)
        .await
        .unwrap();
    assert!(report.stopped);
    assert_eq!(
        report
            .projections
            .iter()
            .map(|p| (p.projection, p.events, p.complete))
            .collect::<Vec<_>>(),
        vec![
            (Projection::Products, total, true),
            (Projection::Sales, 200, false)
        ]
    );
    // What was stopped is consistent at its checkpoint: exactly the two batches.
    let (_, seen) = runner.checkpoint(Projection::Sales).await.unwrap();
    assert_eq!(seen, 200);
    let partial = digests(&runner).await;
    assert_eq!(partial[0], live[0]);
    assert_ne!(partial[1], live[1]);
    assert_eq!(partial[2], live[2], "not started: untouched");

    // Run again: everything equals the original.
    let report = rebuild(&db.store, &Projection::ALL, options, &mut keep_going)
        .await
        .unwrap();
    assert!(!report.stopped);
    assert!(
        report
            .projections
            .iter()
            .all(|p| p.complete && p.events == total)
    );
    assert_eq!(digests(&runner).await, live);

    // Stopped right after the reset's first batch, then left to a server's runner: it
    // carries on from the checkpoint to the same read model.
    let mut recorder = Recorder {
        stop_at: Some((Projection::Serials, 1)),
        ..Recorder::default()
    };
    rebuild(&db.store, &[Projection::Serials], options, &mut recorder)
        .await
        .unwrap();
    assert_ne!(digests(&runner).await, live);
    runner.catch_up(Projection::Serials).await.unwrap();
    assert_eq!(digests(&runner).await, live);
}

async fn a_rebuild_beside_a_running_server_runner_ends_identical_to_the_original(db: &TestStore) {
    let (runner, total) = generated(db, 43, 1_200).await;
    let live = digests(&runner).await;
    // A server following the log with small batches, racing the rebuild for each one.
    let server = ProjectionRunner::new(
        db.store.clone(),
        RunnerOptions {
            batch_size: 50,
            poll_interval: Duration::from_millis(1),
            ..RunnerOptions::default()
        },
    );
    let running = server.spawn();
    let mut recorder = Recorder::default();
    let report = rebuild(
        &db.store,
        &Projection::ALL,
        RebuildOptions { batch_size: 50 },
        &mut recorder,
    )
    .await
    .unwrap();
    running.stop().await;
    assert!(!report.stopped);
    for rebuilt in &report.projections {
        assert!(rebuilt.complete);
        assert_eq!(
            rebuilt.events, total,
            "{rebuilt:?}: the other runner's batches count"
        );
    }
    for projection in Projection::ALL {
        let counts: Vec<u64> = recorder
            .progress
            .iter()
            .filter(|p| p.projection == projection)
            .map(|p| p.events_done)
            .collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
        let (_, seen) = runner.checkpoint(projection).await.unwrap();
        assert_eq!(
            seen, total,
            "each event folded exactly once since the reset"
        );
    }
    assert_eq!(digests(&runner).await, live);
}

// ---- measurement ----------------------------------------------------------------------------

/// Prints how fast every projection rebuilds over a log of `SERIAL_LEDGER_MEASURE_EVENTS`
/// (default 30,000) generated events, per batch size. Timing only: it asserts nothing
/// about speed.
async fn measure_rebuild_rate(db: &TestStore) {
    let target = std::env::var("SERIAL_LEDGER_MEASURE_EVENTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(30_000);
    let (runner, total) = generated(db, 47, target).await;
    let live = digests(&runner).await;
    // Batch sizes interleaved over several rounds, so a busy machine skews them alike; the
    // median of each is printed at the end.
    let sizes = [500, REBUILD_BATCH_SIZE, 5_000];
    let mut timings: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len()];
    for round in 0..3 {
        for (index, &batch_size) in sizes.iter().enumerate() {
            let report = rebuild(
                &db.store,
                &Projection::ALL,
                RebuildOptions { batch_size },
                &mut keep_going,
            )
            .await
            .unwrap();
            let elapsed: Duration = report.projections.iter().map(|p| p.elapsed).sum();
            let per_projection: Vec<String> = report
                .projections
                .iter()
                .map(|p| format!("{} {:.0} ev/s", p.projection.name(), p.events_per_second()))
                .collect();
            eprintln!(
                "{:?}: round {round}, batch {batch_size}: {total} events x {} projections in \
                 {elapsed:.2?} ({})",
                db.backend(),
                report.projections.len(),
                per_projection.join(", ")
            );
            timings[index].push(elapsed);
            assert_eq!(digests(&runner).await, live);
        }
    }
    for (batch_size, mut times) in sizes.into_iter().zip(timings) {
        times.sort();
        let median = times[times.len() / 2];
        eprintln!(
            "{:?}: batch {batch_size}: median {median:.2?} for {total} events x {} projections \
             = {:.0} events/s per projection",
            db.backend(),
            Projection::ALL.len(),
            (total * Projection::ALL.len() as u64) as f64 / median.as_secs_f64()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement: run with --ignored --nocapture"]
async fn measure_rebuild_rate_sqlite() {
    measure_rebuild_rate(&TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement: run with --ignored --nocapture"]
async fn measure_rebuild_rate_postgres() {
    measure_rebuild_rate(&TestStore::postgres().await).await;
}
