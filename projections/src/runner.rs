//! The projection runner: follows the log from each projection's checkpoint and folds events
//! into the read models, exactly once.
//!
//! Each batch is one transaction that first moves the projection's checkpoint from where the
//! batch was read (a conditional UPDATE, which also locks the row), then applies the batch's
//! events. So rows and checkpoint commit together (a crash loses or doubles nothing), and
//! two runners on one database (several API instances) cannot both apply a batch: the
//! second finds the checkpoint moved and re-reads.
//!
//! A projection that fails on an event stops there: the batch rolls back, the error is
//! logged and shown in [`ProjectionRunner::status`], and the batch is retried after a delay.

use crate::db::{ReadDb, ReadTx};
use crate::projection::{EventContext, Projection, ProjectionError};
use crate::snapshot::ReadSnapshot;
use crate::{execute, fetch_optional};
use event_schemas::LedgerEvent;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{AnyStore, EventStore, Position};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the runner reads and retries.
#[derive(Debug, Clone, Copy)]
pub struct RunnerOptions {
    /// Events per batch (and per transaction).
    pub batch_size: usize,
    /// Once caught up, how long to wait before looking for events of other processes.
    pub poll_interval: Duration,
    /// How long a failed projection waits before retrying its batch.
    pub retry_delay: Duration,
    /// After a batch that did not fill, how long a projection no read waits for
    /// ([`Projection::is_read_model`] false: the proofs) lets the log grow before its next
    /// batch. Its batches then come at most this often under load, each folding what arrived
    /// meanwhile: on SQLite's single writer, a follower committing a batch per append would
    /// hold the write lock (and an fsync) as often as the commands do.
    pub background_pause: Duration,
    /// Events per batch of a projection no read waits for, while it follows the log (a
    /// rebuild or catch-up uses `batch_size`). Larger than the read models' batches: under a
    /// sustained load its batches fill, and a larger batch shares the upper nodes of the
    /// tree and the map between more events, so the follower folds faster than it would
    /// in `batch_size` steps and keeps up with the appends.
    pub background_batch_size: usize,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_millis(100),
            retry_delay: Duration::from_secs(1),
            background_pause: Duration::from_millis(250),
            background_batch_size: 2_000,
        }
    }
}

/// Where a projection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    /// Which projection.
    pub projection: Projection,
    /// The position of the last event it has folded.
    pub position: Position,
    /// Events read from the log since its last reset (folded or not relevant to it).
    pub events_seen: u64,
    /// The error it is stopped at, if any.
    pub error: Option<String>,
}

/// What one batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Nothing new in the log.
    CaughtUp,
    /// Folded this many events.
    Applied(usize),
    /// Another runner moved the checkpoint first; read again.
    Raced,
}

/// Projections following the log in background tasks (see [`ProjectionRunner::spawn`]).
pub struct RunningProjections {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningProjections {
    /// Stops every task after its current batch and waits for them.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a projection task ended abnormally");
            }
        }
    }
}

/// Runs the projections of one database.
#[derive(Clone)]
pub struct ProjectionRunner {
    store: AnyStore,
    db: ReadDb,
    options: RunnerOptions,
    statuses: Arc<watch::Sender<BTreeMap<Projection, ProjectionStatus>>>,
}

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    commit_position: i64,
    prepare_position: i64,
    events_seen: i64,
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

impl CheckpointRow {
    fn position_and_seen(&self) -> (Position, u64) {
        (
            Position {
                commit: to_u64(self.commit_position),
                prepare: to_u64(self.prepare_position),
            },
            to_u64(self.events_seen),
        )
    }
}

const SELECT_CHECKPOINT: &str = "SELECT commit_position, prepare_position, events_seen \
     FROM projection_checkpoints WHERE projection = $1";

/// A projection's checkpoint as `tx` sees it (a projection never migrated is at the start).
pub(crate) async fn read_checkpoint(
    tx: &mut ReadTx,
    projection: Projection,
) -> Result<(Position, u64), sqlx::Error> {
    let row = fetch_optional!(tx, CheckpointRow, SELECT_CHECKPOINT, projection.name())?;
    Ok(row.map_or((Position::START, 0), |row| row.position_and_seen()))
}

impl ProjectionRunner {
    /// A runner for the read models in the store's database.
    pub fn new(store: AnyStore, options: RunnerOptions) -> Self {
        let db = ReadDb::of(&store);
        Self::with_db(store, db, options)
    }

    /// A runner that reads the log from `store` but keeps the read models in `db`, another
    /// database of the same backend (a scratch copy, see
    /// [`ScratchDb`](crate::ScratchDb)). [`migrate`](Self::migrate) creates them there.
    pub fn with_db(store: AnyStore, db: ReadDb, options: RunnerOptions) -> Self {
        let initial = Projection::ALL
            .into_iter()
            .map(|projection| {
                let status = ProjectionStatus {
                    projection,
                    position: Position::START,
                    events_seen: 0,
                    error: None,
                };
                (projection, status)
            })
            .collect();
        let (statuses, _) = watch::channel(initial);
        Self {
            store,
            db,
            options,
            statuses: Arc::new(statuses),
        }
    }

    /// The read-model database.
    pub fn db(&self) -> &ReadDb {
        &self.db
    }

    /// Creates or upgrades the read-model schema and each projection's checkpoint row.
    pub async fn migrate(&self) -> Result<(), ProjectionError> {
        let migrator = match &self.db {
            ReadDb::Sqlite { .. } => sqlx::migrate!("./migrations/sqlite"),
            ReadDb::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
        };
        self.db.run_migrations(migrator).await?;
        let mut tx = self.db.begin().await?;
        for projection in Projection::ALL {
            execute!(
                &mut tx,
                "INSERT INTO projection_checkpoints (projection, commit_position, \
                 prepare_position, events_seen) VALUES ($1, 0, 0, 0) \
                 ON CONFLICT (projection) DO NOTHING",
                projection.name(),
            )?;
        }
        tx.commit().await?;
        for projection in Projection::ALL {
            self.refresh_status(projection).await?;
        }
        Ok(())
    }

    /// The stored checkpoint of a projection: its position and events seen.
    pub async fn checkpoint(
        &self,
        projection: Projection,
    ) -> Result<(Position, u64), ProjectionError> {
        let rows = crate::fetch_all!(
            &self.db,
            CheckpointRow,
            SELECT_CHECKPOINT,
            projection.name()
        )?;
        Ok(rows
            .first()
            .map_or((Position::START, 0), CheckpointRow::position_and_seen))
    }

    async fn refresh_status(&self, projection: Projection) -> Result<(), ProjectionError> {
        let (position, events_seen) = self.checkpoint(projection).await?;
        self.statuses.send_modify(|statuses| {
            if let Some(status) = statuses.get_mut(&projection) {
                status.position = position;
                status.events_seen = events_seen;
            }
        });
        Ok(())
    }

    fn record_error(&self, projection: Projection, error: Option<String>) {
        self.statuses
            .send_if_modified(|statuses| match statuses.get_mut(&projection) {
                Some(status) if status.error != error => {
                    status.error = error;
                    true
                }
                _ => false,
            });
    }

    /// Reads and folds one batch of a projection, in one transaction.
    pub async fn run_batch(&self, projection: Projection) -> Result<BatchOutcome, ProjectionError> {
        self.run_batch_until(projection, None, self.options.batch_size)
            .await
    }

    /// Events per batch when following the log live.
    fn follow_batch_size(&self, projection: Projection) -> usize {
        if projection.is_read_model() {
            self.options.batch_size
        } else {
            self.options.background_batch_size.max(1)
        }
    }

    /// One batch that folds no event past `target` (when given).
    async fn run_batch_until(
        &self,
        projection: Projection,
        target: Option<Position>,
        batch_size: usize,
    ) -> Result<BatchOutcome, ProjectionError> {
        let (from, _) = self.checkpoint(projection).await?;
        let mut events = self.store.read_all(from, batch_size).await?;
        if let Some(target) = target {
            // The log comes in position order: keep the events up to the target.
            let keep = events.partition_point(|event| event.position <= target);
            events.truncate(keep);
        }
        let Some(last) = events.last() else {
            return Ok(BatchOutcome::CaughtUp);
        };
        let to = last.position;
        let mut tx = self.db.begin().await?;
        let claimed = execute!(
            &mut tx,
            "UPDATE projection_checkpoints SET commit_position = $2, prepare_position = $3, \
             events_seen = events_seen + $4 \
             WHERE projection = $1 AND commit_position = $5 AND prepare_position = $6",
            projection.name(),
            to_i64(to.commit),
            to_i64(to.prepare),
            i64::try_from(events.len()).unwrap_or(i64::MAX),
            to_i64(from.commit),
            to_i64(from.prepare),
        )?;
        if claimed != 1 {
            tx.rollback().await?;
            return Ok(BatchOutcome::Raced);
        }
        let decoded = events
            .iter()
            .map(|event| {
                let envelope = &event.envelope;
                LedgerEvent::decode(
                    &envelope.event_type,
                    envelope.schema_version,
                    &envelope.payload,
                )
                .map(|decoded| (EventContext::of(event), decoded))
                .map_err(|source| ProjectionError::Decode {
                    position: event.position,
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        projection.apply_batch(&mut tx, &decoded).await?;
        tx.commit().await?;
        self.statuses.send_modify(|statuses| {
            if let Some(status) = statuses.get_mut(&projection) {
                status.position = to;
                status.events_seen += events.len() as u64;
                status.error = None;
            }
        });
        Ok(BatchOutcome::Applied(events.len()))
    }

    /// Folds everything in the log now; returns the number of events read.
    pub async fn catch_up(&self, projection: Projection) -> Result<u64, ProjectionError> {
        self.catch_up_until(projection, None).await
    }

    /// Folds the log up to and including the event at `target`, never past it; returns the
    /// number of events read. Stops earlier only if the log ends before `target` (then
    /// [`checkpoint`](Self::checkpoint) tells where it stopped). A projection already past
    /// `target` is left as it is.
    pub async fn catch_up_to(
        &self,
        projection: Projection,
        target: Position,
    ) -> Result<u64, ProjectionError> {
        self.catch_up_until(projection, Some(target)).await
    }

    async fn catch_up_until(
        &self,
        projection: Projection,
        target: Option<Position>,
    ) -> Result<u64, ProjectionError> {
        let mut seen = 0_u64;
        loop {
            match self
                .run_batch_until(projection, target, self.options.batch_size)
                .await
            {
                Ok(BatchOutcome::CaughtUp) => return Ok(seen),
                Ok(BatchOutcome::Applied(count)) => seen += count as u64,
                Ok(BatchOutcome::Raced) => {}
                Err(error) => {
                    self.record_error(projection, Some(error.to_string()));
                    return Err(error);
                }
            }
        }
    }

    /// Catches every projection up.
    pub async fn catch_up_all(&self) -> Result<(), ProjectionError> {
        for projection in Projection::ALL {
            self.catch_up(projection).await?;
        }
        Ok(())
    }

    /// Follows the log until stopped: one task per projection.
    ///
    /// Stop with [`RunningProjections::stop`], which lets each task finish its batch. Do not
    /// abort the tasks: a database call cancelled half-way can leave the connection inside a
    /// transaction.
    pub fn spawn(&self) -> RunningProjections {
        self.spawn_only(&Projection::ALL)
    }

    /// Follows the log with only these projections, as [`ProjectionRunner::spawn`] does.
    pub fn spawn_only(&self, projections: &[Projection]) -> RunningProjections {
        let (stop, stopped) = watch::channel(false);
        let tasks = projections
            .iter()
            .copied()
            .map(|projection| {
                let runner = self.clone();
                let stopped = stopped.clone();
                tokio::spawn(async move { runner.follow(projection, stopped).await })
            })
            .collect();
        RunningProjections { stop, tasks }
    }

    async fn follow(&self, projection: Projection, mut stopped: watch::Receiver<bool>) {
        let mut wakeups = self.store.wakeups();
        let batch_size = self.follow_batch_size(projection);
        while !*stopped.borrow_and_update() {
            wakeups.borrow_and_update();
            let pause = match self.run_batch_until(projection, None, batch_size).await {
                Ok(BatchOutcome::Applied(folded))
                    if !projection.is_read_model() && folded < batch_size =>
                {
                    // Not woken by appends: the point is to let them accumulate.
                    tokio::select! {
                        _ = stopped.changed() => {}
                        () = tokio::time::sleep(self.options.background_pause) => {}
                    }
                    continue;
                }
                Ok(BatchOutcome::Applied(_) | BatchOutcome::Raced) => continue,
                Ok(BatchOutcome::CaughtUp) => self.options.poll_interval,
                Err(error) => {
                    tracing::error!(projection = projection.name(), %error, "projection stopped at an event it cannot fold; retrying");
                    self.record_error(projection, Some(error.to_string()));
                    self.options.retry_delay
                }
            };
            tokio::select! {
                _ = wakeups.changed() => {}
                _ = stopped.changed() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Where every projection stands, as last recorded by this runner.
    pub fn status(&self) -> Vec<ProjectionStatus> {
        self.statuses.borrow().values().cloned().collect()
    }

    /// How many events of the log a projection has not folded yet.
    pub async fn lag(&self, projection: Projection) -> Result<u64, ProjectionError> {
        let (position, _) = self.checkpoint(projection).await?;
        Ok(self.store.count_after(position).await?)
    }

    /// Waits until every read model ([`Projection::is_read_model`]) has folded the event at
    /// `target` (read-your-writes),
    /// for at most `timeout`.
    pub async fn wait_for(
        &self,
        target: Position,
        timeout: Duration,
    ) -> Result<(), ProjectionError> {
        let started = Instant::now();
        let mut statuses = self.statuses.subscribe();
        let reached = |statuses: &BTreeMap<Projection, ProjectionStatus>| {
            statuses
                .values()
                .filter(|status| status.projection.is_read_model())
                .all(|status| status.position >= target)
        };
        let waited = tokio::time::timeout(timeout, statuses.wait_for(reached)).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ProjectionError::WaitTimedOut {
                target,
                waited_ms: started.elapsed().as_millis(),
            }),
        }
    }

    /// Empties a projection's tables and moves its checkpoint back to the start, in one
    /// transaction; the runner then refolds it from the log.
    pub async fn reset(&self, projection: Projection) -> Result<(), ProjectionError> {
        let mut tx = self.db.begin().await?;
        // The checkpoint first: on PostgreSQL this waits for a batch another runner is
        // committing (it holds the row) and then locks out the next one, so the DELETEs
        // below, each seeing what committed before it, remove that batch's rows too. The
        // other order would let the batch's rows survive a checkpoint moved back to 0.
        execute!(
            &mut tx,
            "UPDATE projection_checkpoints SET commit_position = 0, prepare_position = 0, \
             events_seen = 0 WHERE projection = $1",
            projection.name(),
        )?;
        for table in projection.tables() {
            // Table names are constants of this crate, never input.
            let delete = format!("DELETE FROM {}", table.name);
            execute!(&mut tx, &delete)?;
        }
        tx.commit().await?;
        self.refresh_status(projection).await?;
        self.record_error(projection, None);
        Ok(())
    }

    /// Drops a projection's rows and folds the whole log again; returns the events read.
    /// Safe to interrupt: a re-run resets and starts over.
    pub async fn rebuild(&self, projection: Projection) -> Result<u64, ProjectionError> {
        self.reset(projection).await?;
        self.catch_up(projection).await
    }

    /// A SHA-256 over every row of the projection's tables, in key order: equal digests
    /// mean equal read models. The tables are read in one snapshot, so the digest is that
    /// of one moment even while batches commit.
    pub async fn digest(&self, projection: Projection) -> Result<String, ProjectionError> {
        let mut snapshot = self.snapshot().await?;
        let digest = snapshot.digest(projection).await?;
        snapshot.end().await?;
        Ok(digest.digest)
    }

    /// A consistent read-only view of this runner's read models: checkpoints, digests and
    /// rows as of one moment (see [`ReadSnapshot`]).
    pub async fn snapshot(&self) -> Result<ReadSnapshot, ProjectionError> {
        ReadSnapshot::begin(&self.db).await
    }
}
