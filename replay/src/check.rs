//! check-projections: the proof that the read models come from the log.
//!
//! For each projection: open a snapshot of the live read models and read, in it, the
//! projection's checkpoint and the digest of its tables (a checkpoint commits with its rows,
//! so that digest is exactly the read model's at that position, even while a server keeps
//! folding); fold the log from the start up to exactly that position into a scratch
//! database of the same backend ([`ScratchDb`]: a temporary SQLite file, or a
//! `replay_check_<uuid>` schema on PostgreSQL); digest the scratch tables with the same
//! code; and when the digests differ, walk both copies in key order (still in the live
//! snapshot) to name the first differing rows of each table.
//!
//! The check writes nothing to the live database (on PostgreSQL it creates and drops its
//! scratch schema there). The scratch copy is removed at the end, on errors too.

use projections::{
    Projection, ProjectionDigest, ProjectionError, ProjectionRunner, ReadDb, ReadSnapshot,
    RunnerOptions, ScratchDb, TableDifferences,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use store::{AnyStore, Position};

/// How to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// At most this many differing rows are described per table (all are counted).
    pub max_differences: usize,
    /// Events folded per scratch transaction.
    pub batch_size: usize,
    /// SQLite: where to create the scratch database's temporary directory. By default next
    /// to the live database file (a file system known to hold read models that large), else
    /// the system's temporary directory.
    pub scratch_dir: Option<PathBuf>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            max_differences: 10,
            batch_size: 1_000,
            scratch_dir: None,
        }
    }
}

/// The outcome of a check: one entry per projection checked.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The backend checked (`sqlite` or `postgres`).
    pub backend: &'static str,
    /// Each projection, in [`Projection::ALL`] order.
    pub projections: Vec<ProjectionCheck>,
}

impl CheckReport {
    /// Whether every projection checked equals its rebuild from the log.
    pub fn all_identical(&self) -> bool {
        self.projections.iter().all(ProjectionCheck::is_identical)
    }

    /// The check of one projection, if it was checked.
    pub fn get(&self, projection: Projection) -> Option<&ProjectionCheck> {
        self.projections
            .iter()
            .find(|check| check.projection == projection)
    }
}

/// One projection: its live read model against the log folded up to the same position.
#[derive(Debug, Clone)]
pub struct ProjectionCheck {
    /// Which projection.
    pub projection: Projection,
    /// The live checkpoint the comparison was made at.
    pub position: Position,
    /// Events the live projection has seen since its last reset, by its checkpoint.
    pub live_events_seen: u64,
    /// Events folded into the scratch copy.
    pub events_folded: u64,
    /// Where the scratch copy stopped: `position`, unless the log ends before it.
    pub rebuilt_position: Position,
    /// The live read model's digest and row counts, in the snapshot.
    pub live: ProjectionDigest,
    /// The scratch copy's digest and row counts.
    pub rebuilt: ProjectionDigest,
    /// When the digests differ: each table with differing rows, the first of them named.
    pub differences: Vec<TableDifferences>,
    /// How long folding the scratch copy took.
    pub rebuild_time: Duration,
}

impl ProjectionCheck {
    /// Whether the live read model is exactly what the log gives at its checkpoint.
    pub fn is_identical(&self) -> bool {
        self.live.digest == self.rebuilt.digest && self.rebuilt_position == self.position
    }

    /// Events folded per second into the scratch copy.
    pub fn events_per_second(&self) -> f64 {
        crate::per_second(self.events_folded, self.rebuild_time)
    }

    /// The differences found in one table, if any.
    pub fn table(&self, table: &str) -> Option<&TableDifferences> {
        self.differences
            .iter()
            .find(|differences| differences.table == table)
    }
}

/// Why a check could not be completed (a difference is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The temporary directory for a SQLite scratch database could not be created.
    #[error("cannot create a scratch directory in {}: {source}", directory.display())]
    ScratchDirectory {
        /// Where it was tried.
        directory: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The scratch database could not be created, migrated or read.
    #[error("the scratch read models failed: {0}")]
    Scratch(#[source] ProjectionError),
    /// The live read models could not be read (not migrated yet, database down, ...).
    #[error("reading the live {projection} read model failed: {source}")]
    Live {
        /// The projection's name.
        projection: &'static str,
        /// Why.
        source: ProjectionError,
    },
    /// Folding the log into the scratch copy failed: reading the log failed, or an event
    /// cannot be folded (the live projection is then stopped at it too).
    #[error("folding the log into a scratch {projection} read model failed: {source}")]
    Rebuild {
        /// The projection's name.
        projection: &'static str,
        /// Why.
        source: ProjectionError,
    },
}

/// Checks `projections` (each once, whatever the order given) with the default options.
pub async fn check_projections(
    store: &AnyStore,
    projections: &[Projection],
) -> Result<CheckReport, CheckError> {
    check_projections_with(store, projections, &CheckOptions::default()).await
}

/// Checks `projections` (each once, whatever the order given); see the module documentation.
pub async fn check_projections_with(
    store: &AnyStore,
    projections: &[Projection],
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    // `directory` is declared before `scratch`, so it is dropped (its files removed) after
    // the scratch database, on every path.
    let (directory, scratch) = match store {
        AnyStore::Sqlite(live) => {
            let directory = scratch_directory(
                options.scratch_dir.as_deref(),
                live.read_pool().connect_options().get_filename(),
            )?;
            let scratch = ScratchDb::sqlite(&directory.path().join("read-models.db")).await;
            (Some(directory), scratch)
        }
        AnyStore::Postgres(live) => (None, ScratchDb::postgres(live.pool()).await),
    };
    let scratch = scratch.map_err(|error| CheckError::Scratch(error.into()))?;
    let outcome = check_in(store, &scratch, projections, options).await;
    if let Err(error) = scratch.remove().await {
        tracing::warn!(%error, "the scratch read models could not be removed");
    }
    drop(directory);
    outcome
}

/// A fresh temporary directory for a SQLite scratch database: in `chosen`, else next to the
/// live file, else in the system's temporary directory.
fn scratch_directory(
    chosen: Option<&Path>,
    live_file: &Path,
) -> Result<tempfile::TempDir, CheckError> {
    let make = |directory: &Path| {
        tempfile::Builder::new()
            .prefix(".serial-ledger-check-")
            .tempdir_in(directory)
            .map_err(|source| CheckError::ScratchDirectory {
                directory: directory.to_owned(),
                source,
            })
    };
    if let Some(directory) = chosen {
        return make(directory);
    }
    let beside_live = match live_file.parent() {
        Some(parent) if parent.as_os_str().is_empty() => Path::new("."),
        Some(parent) => parent,
        None => Path::new("."),
    };
    make(beside_live).or_else(|error| {
        tracing::debug!(%error, "using the system's temporary directory instead");
        make(&std::env::temp_dir())
    })
}

async fn check_in(
    store: &AnyStore,
    scratch: &ScratchDb,
    projections: &[Projection],
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let runner = ProjectionRunner::with_db(
        store.clone(),
        scratch.db().clone(),
        RunnerOptions {
            batch_size: options.batch_size.max(1),
            ..RunnerOptions::default()
        },
    );
    runner.migrate().await.map_err(CheckError::Scratch)?;
    let live = ReadDb::of(store);
    let mut checks = Vec::new();
    for projection in Projection::ALL {
        if projections.contains(&projection) {
            checks.push(check_one(&live, &runner, scratch.db(), projection, options).await?);
        }
    }
    Ok(CheckReport {
        backend: store.backend_name(),
        projections: checks,
    })
}

async fn check_one(
    live_db: &ReadDb,
    runner: &ProjectionRunner,
    scratch_db: &ReadDb,
    projection: Projection,
    options: &CheckOptions,
) -> Result<ProjectionCheck, CheckError> {
    let name = projection.name();
    let live_error = |source| CheckError::Live {
        projection: name,
        source,
    };
    // Checkpoint and rows in one snapshot, which stays open until the rows have been
    // compared: the live side is then the read model at exactly `position`.
    let mut live = ReadSnapshot::begin(live_db).await.map_err(live_error)?;
    let (position, live_events_seen) = live.checkpoint(projection).await.map_err(live_error)?;
    let live_digest = live.digest(projection).await.map_err(live_error)?;
    tracing::info!(projection = name, %position, "folding the log into a scratch copy");

    let started = Instant::now();
    let events_folded = runner
        .catch_up_to(projection, position)
        .await
        .map_err(|source| CheckError::Rebuild {
            projection: name,
            source,
        })?;
    let rebuild_time = started.elapsed();
    let (rebuilt_position, _) = runner
        .checkpoint(projection)
        .await
        .map_err(CheckError::Scratch)?;

    let mut rebuilt = ReadSnapshot::begin(scratch_db)
        .await
        .map_err(CheckError::Scratch)?;
    let rebuilt_digest = rebuilt
        .digest(projection)
        .await
        .map_err(CheckError::Scratch)?;
    let differences = if rebuilt_digest.digest == live_digest.digest {
        Vec::new()
    } else {
        live.compare(&mut rebuilt, projection, options.max_differences)
            .await
            .map_err(live_error)?
    };
    rebuilt.end().await.map_err(CheckError::Scratch)?;
    live.end().await.map_err(live_error)?;
    Ok(ProjectionCheck {
        projection,
        position,
        live_events_seen,
        events_folded,
        rebuilt_position,
        live: live_digest,
        rebuilt: rebuilt_digest,
        differences,
        rebuild_time,
    })
}
