//! Projection rebuilds with progress: what `serial-ledger replay rebuild` runs.
//!
//! [`rebuild`] takes each projection asked for in turn: [`ProjectionRunner::reset`] empties
//! its tables and moves its checkpoint back to the start, then
//! [`ProjectionRunner::run_batch`] folds the log batch by batch until it is caught up.
//! After every batch a [`RebuildObserver`] hears where it stands ([`Progress`]: events
//! done out of the log's size when the projection started, elapsed time, rate, ETA) and
//! may ask to stop; the command line draws a progress bar or prints lines from it.
//!
//! **Safe to interrupt.** The reset is one transaction (tables emptied and checkpoint
//! zeroed together), and each batch is one transaction in which the checkpoint moves
//! together with the rows it folded. Stopping at any moment (an observer's
//! [`Control::Stop`], Ctrl-C, a killed process, a dropped future: an uncommitted
//! transaction is rolled back by the database) therefore leaves the projection as it was
//! after some whole batch: consistent rows up to its checkpoint. Running the rebuild again
//! resets and starts over; a server's runner would instead simply carry on from that
//! checkpoint. Either way the result is the fold of the whole log.
//!
//! **Beside a running server.** A server's own runner may fold the same projection at
//! the same time. The runner moves the checkpoint with a conditional UPDATE (only from
//! where the batch was read), so exactly one of the two applies any batch; the other gets
//! [`BatchOutcome::Raced`], and this loop then reads the checkpoint again and counts what
//! the other runner folded as done.
//!
//! **Batch size.** Rebuilds fold 2,000 events per batch ([`REBUILD_BATCH_SIZE`], measured:
//! see the constant), the live runner 500. Batches are kept short beside a live server: on
//! SQLite a batch holds the store's single writer connection, so appends wait for it.

use projections::{BatchOutcome, Projection, ProjectionError, ProjectionRunner, RunnerOptions};
use std::time::{Duration, Instant};
use store::{AnyStore, EventStore, Position, StoreError};

/// Events per batch in a rebuild. Since batches are folded in memory (about ten statements
/// per batch, whatever its size), larger batches amortise those statements: measured with
/// `serial-ledger-bench rebuild --events 150000 --batch-size N` (release, all three
/// projections, one run each), 500 / 2,000 / 5,000 events per batch rebuilt at 9,374 /
/// 10,310 / 11,621 events/s on SQLite and 11,135 / 14,613 / 15,524 on PostgreSQL. 2,000
/// takes most of the gain while a batch holds its transaction (on SQLite the store's one
/// writer, which appends beside a live server wait for) for about 65 ms; the live runner
/// keeps 500 for the same reason. (Before in-memory folding, 500 to 5,000 made no
/// difference: folding cost 20-250 µs per event.)
pub const REBUILD_BATCH_SIZE: usize = 2_000;

/// How to rebuild.
#[derive(Debug, Clone, Copy)]
pub struct RebuildOptions {
    /// Events folded per batch (per transaction).
    pub batch_size: usize,
}

impl Default for RebuildOptions {
    fn default() -> Self {
        Self {
            batch_size: REBUILD_BATCH_SIZE,
        }
    }
}

/// Where a projection's rebuild stands, after a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The projection being rebuilt.
    pub projection: Projection,
    /// Events of the log folded since the reset (by this rebuild or by another runner).
    pub events_done: u64,
    /// Events in the log when the projection's rebuild started; raised to `events_done`
    /// if the log grew past it meanwhile, so the fraction never exceeds one.
    pub total: u64,
    /// Time since the projection's rebuild started.
    pub elapsed: Duration,
}

impl Progress {
    /// Events folded per second so far.
    pub fn events_per_second(&self) -> f64 {
        crate::per_second(self.events_done, self.elapsed)
    }

    /// The time left at the rate so far; `None` before any event is folded.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.events_per_second();
        if rate > 0.0 {
            let left = self.total.saturating_sub(self.events_done) as f64;
            Some(Duration::from_secs_f64(left / rate))
        } else {
            None
        }
    }
}

/// What an observer wants after a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop now; the projection is left consistent at its checkpoint (see the module
    /// documentation), and a re-run rebuilds it.
    Stop,
}

/// Hears a rebuild's progress; the command line renders it.
pub trait RebuildObserver {
    /// A projection's rebuild begins: it has been reset, and the log holds `total` events.
    fn started(&mut self, projection: Projection, total: u64) {
        let _ = (projection, total);
    }

    /// After every batch (and once at the end, with `events_done` final). Returning
    /// [`Control::Stop`] stops the rebuild before the next batch.
    fn progress(&mut self, progress: &Progress) -> Control;

    /// A projection's rebuild ended (caught up, or stopped).
    fn finished(&mut self, rebuilt: &ProjectionRebuilt) {
        let _ = rebuilt;
    }
}

/// A closure that gets every [`Progress`] is an observer.
impl<F: FnMut(&Progress) -> Control> RebuildObserver for F {
    fn progress(&mut self, progress: &Progress) -> Control {
        self(progress)
    }
}

/// How one projection's rebuild ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProjectionRebuilt {
    /// The projection.
    pub projection: Projection,
    /// Events folded since its reset.
    pub events: u64,
    /// How long it took.
    pub elapsed: Duration,
    /// True when it caught up with the log; false when it was stopped.
    pub complete: bool,
}

impl ProjectionRebuilt {
    /// Events folded per second.
    pub fn events_per_second(&self) -> f64 {
        crate::per_second(self.events, self.elapsed)
    }
}

/// What a rebuild did, projection by projection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RebuildReport {
    /// The projections rebuilt (or started), in order; one stopped is last and incomplete.
    pub projections: Vec<ProjectionRebuilt>,
    /// True when an observer stopped it before every projection was caught up.
    pub stopped: bool,
}

/// Why a rebuild could not go on. The projection it stopped at is left consistent at its
/// checkpoint; fix the cause and run again.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// The log could not be read.
    #[error("the log could not be read: {0}")]
    Store(#[from] StoreError),
    /// The read-model schema could not be created or upgraded.
    #[error("the read-model schema could not be prepared: {0}")]
    Migrate(#[source] ProjectionError),
    /// A projection failed to reset or to fold an event.
    #[error("rebuilding {projection} failed: {source}")]
    Projection {
        /// The projection's name.
        projection: &'static str,
        /// Why.
        #[source]
        source: ProjectionError,
    },
}

/// Rebuilds each of `projections` in turn from the log, reporting to `observer`.
///
/// Creates the read-model schema first if it is missing (safe to repeat), so it also works
/// on a database whose read models were never built.
pub async fn rebuild(
    store: &AnyStore,
    projections: &[Projection],
    options: RebuildOptions,
    observer: &mut impl RebuildObserver,
) -> Result<RebuildReport, RebuildError> {
    let runner = ProjectionRunner::new(
        store.clone(),
        RunnerOptions {
            batch_size: options.batch_size.max(1),
            ..RunnerOptions::default()
        },
    );
    // Without its checkpoint row a projection's batches could never claim it: migrate
    // creates the rows (and tables) if they are missing and changes nothing otherwise.
    runner.migrate().await.map_err(RebuildError::Migrate)?;
    let mut report = RebuildReport::default();
    for &projection in projections {
        let rebuilt = rebuild_one(store, &runner, projection, observer).await?;
        observer.finished(&rebuilt);
        report.projections.push(rebuilt);
        if !rebuilt.complete {
            report.stopped = true;
            break;
        }
    }
    Ok(report)
}

async fn rebuild_one(
    store: &AnyStore,
    runner: &ProjectionRunner,
    projection: Projection,
    observer: &mut impl RebuildObserver,
) -> Result<ProjectionRebuilt, RebuildError> {
    let failed = |source| RebuildError::Projection {
        projection: projection.name(),
        source,
    };
    let started = Instant::now();
    runner.reset(projection).await.map_err(failed)?;
    let mut total = store.count_after(Position::START).await?;
    observer.started(projection, total);
    let mut done = 0_u64;
    let mut complete = false;
    loop {
        match runner.run_batch(projection).await.map_err(failed)? {
            BatchOutcome::CaughtUp => complete = true,
            // Raced: another runner (a server's) folded that batch first; the loop reads
            // again from where it left the checkpoint.
            BatchOutcome::Applied(_) | BatchOutcome::Raced => {}
        }
        // The checkpoint counts the events folded since the reset by whichever runner
        // folded them, so it is the rebuild's progress even when a server's runner takes
        // some batches (with or without a race this loop sees). `max` keeps the reported
        // count monotonic should anyone reset the projection again meanwhile.
        let (_, seen) = runner.checkpoint(projection).await.map_err(failed)?;
        done = done.max(seen);
        // The log may grow while we rebuild (a live server): never report past 100%.
        total = total.max(done);
        let progress = Progress {
            projection,
            events_done: done,
            total,
            elapsed: started.elapsed(),
        };
        let control = observer.progress(&progress);
        if complete || control == Control::Stop {
            break;
        }
    }
    Ok(ProjectionRebuilt {
        projection,
        events: done,
        elapsed: started.elapsed(),
        complete,
    })
}
