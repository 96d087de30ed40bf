//! [`ScratchDb`]: a throw-away read-model database of the same backend as the live one, for
//! folding the log into without touching the live read models.
//!
//! - **SQLite**: a new database file at a path the caller chooses (a file, not memory: the
//!   read models can be as large as the live ones). Its durability is switched off: nothing
//!   in it outlives the check.
//! - **PostgreSQL**: a schema `replay_check_<uuid>` in the live database, reached through a
//!   small pool of its own whose connections put that schema alone on their `search_path`,
//!   so the projections' unqualified SQL (and their migrations) land there. Keeping it in
//!   the same database needs no right to create databases, and the read models are then
//!   compared under the same collations.
//!
//! [`ScratchDb::remove`] closes it and (PostgreSQL) drops the schema. If it is dropped
//! without that (an error path that returned early, a cancelled future, a panic), `Drop`
//! removes the schema on a thread of its own, so no `replay_check_%` schema is left behind
//! by anything short of a killed process.

use crate::db::ReadDb;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool};
use std::path::Path;
use std::time::Duration;
use uuid::Uuid;

/// The prefix of every scratch schema's name on PostgreSQL.
pub const SCRATCH_SCHEMA_PREFIX: &str = "replay_check_";

/// A scratch read-model database (see the module documentation).
pub struct ScratchDb {
    db: ReadDb,
    /// PostgreSQL only: the schema to drop, and how to reach the live database to drop it.
    schema: Option<ScratchSchema>,
}

struct ScratchSchema {
    name: String,
    live: PgPool,
    live_options: PgConnectOptions,
}

impl ScratchDb {
    /// A new SQLite database at `file`, which must not exist yet; the caller removes the
    /// file (and its `-wal`, `-shm` companions) afterwards, typically by creating it in a
    /// temporary directory.
    pub async fn sqlite(file: &Path) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A scratch copy is thrown away after the check, even after a crash: no fsyncs.
            .synchronous(SqliteSynchronous::Off)
            .busy_timeout(Duration::from_secs(10));
        // One writer as for the live database (projection batches use `BEGIN IMMEDIATE`),
        // and a reader for checkpoints and snapshots.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        Ok(Self {
            db: ReadDb::Sqlite { writer, readers },
            schema: None,
        })
    }

    /// A new schema `replay_check_<uuid>` in the database of `live`, with a pool whose
    /// connections write there.
    pub async fn postgres(live: &PgPool) -> Result<Self, sqlx::Error> {
        let name = format!("{SCRATCH_SCHEMA_PREFIX}{}", Uuid::now_v7().simple());
        // The name is generated here from a UUID, never from input: safe to splice.
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(live)
            .await?;
        let live_options = (*live.connect_options()).clone();
        let options = live_options
            .clone()
            .options([("search_path", name.as_str())])
            // Names the connections, so a fallback cleanup can tell them apart.
            .application_name(&name);
        // Lazy: nothing can fail between creating the schema and owning it (its Drop drops
        // it); a connection error shows at first use.
        let pool = PgPoolOptions::new()
            .max_connections(3)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        Ok(Self {
            db: ReadDb::Postgres(pool),
            schema: Some(ScratchSchema {
                name,
                live: live.clone(),
                live_options,
            }),
        })
    }

    /// The scratch read-model database, for
    /// [`ProjectionRunner::with_db`](crate::ProjectionRunner::with_db) and snapshots.
    pub fn db(&self) -> &ReadDb {
        &self.db
    }

    /// PostgreSQL: the scratch schema's name.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_ref().map(|schema| schema.name.as_str())
    }

    /// Closes the scratch database and, on PostgreSQL, drops its schema with everything in
    /// it.
    pub async fn remove(mut self) -> Result<(), sqlx::Error> {
        // Waits for the scratch connections to come back, so none holds a lock the DROP
        // would wait for.
        self.db.close().await;
        let Some(schema) = self.schema.take() else {
            return Ok(());
        };
        // The name was generated by `postgres`, never input.
        let dropped = sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", schema.name))
            .execute(&schema.live)
            .await;
        if dropped.is_err() {
            // Drop tries again, from a connection of its own.
            self.schema = Some(schema);
        }
        dropped.map(|_| ())
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else {
            return;
        };
        // Drop cannot await, and may run inside an async runtime or during a panic: a
        // thread with a runtime of its own does the cleanup, and is waited for.
        let cleanup = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => return Err(error.to_string()),
            };
            runtime
                .block_on(drop_schema_now(&schema))
                .map_err(|error| error.to_string())
        });
        let outcome = cleanup
            .join()
            .unwrap_or_else(|_| Err("the cleanup thread panicked".to_owned()));
        if let Err(error) = outcome {
            tracing::warn!(%error, "the scratch schema could not be dropped; drop it by hand");
        }
    }
}

/// Drops a scratch schema from a fresh connection. The scratch pool's connections may still
/// be inside a transaction (its future was cancelled) holding locks on the schema's tables,
/// and nothing would roll them back while this waits: they are ended first, recognised by
/// the application name they were opened with.
async fn drop_schema_now(schema: &ScratchSchema) -> Result<(), sqlx::Error> {
    let mut connection = sqlx::PgConnection::connect_with(&schema.live_options).await?;
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&schema.name)
    .execute(&mut connection)
    .await?;
    // The name was generated by `ScratchDb::postgres`, never input.
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", schema.name))
        .execute(&mut connection)
        .await?;
    tracing::info!(schema = %schema.name, "dropped the scratch schema");
    connection.close().await
}
