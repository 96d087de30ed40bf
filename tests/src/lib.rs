//! Test support shared by the integration tests: a fresh database per test, on SQLite or
//! PostgreSQL, and raw access to it for the tests that must go behind the store's back.
//!
//! PostgreSQL tests create a database of their own on the server named by
//! `SERIAL_LEDGER_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and drop it afterwards, even when the test fails. A server that cannot be reached fails
//! the test with instructions; it is never skipped.

#![forbid(unsafe_code)]

pub mod app;
pub mod schema_check;
pub mod shop;
pub mod workload;

use sqlx::Connection;
use std::time::{Duration, Instant};
use store::{AnyStore, EventStore, Position};
use uuid::Uuid;

/// The server PostgreSQL tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("SERIAL_LEDGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Which backend a test database is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the PostgreSQL server.
    Postgres,
}

/// A database that exists for one test and is removed after it.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    /// Its backend.
    pub backend: Backend,
    _directory: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

impl TestDatabase {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> Self {
        let directory = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
        Self {
            url,
            backend: Backend::Sqlite,
            _directory: Some(directory),
            postgres_name: None,
        }
    }

    /// A new, empty PostgreSQL database.
    pub async fn postgres() -> Self {
        let admin_url = postgres_admin_url();
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL is not reachable at {admin_url} ({error}). Start it with \
                 `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
                 or set SERIAL_LEDGER_TEST_POSTGRES_URL."
                )
            });
        let name = format!("serial_ledger_test_{}", Uuid::now_v7().simple());
        // The name is generated above from a UUID, never from input: safe to splice.
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        Self {
            url: format!("{base}/{name}"),
            backend: Backend::Postgres,
            _directory: None,
            postgres_name: Some(name),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop may run inside a runtime or during a panic: use a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        });
        let _ = dropped.join();
    }
}

/// A migrated store on a fresh database, with raw SQL access for tampering tests.
pub struct TestStore {
    /// The store under test.
    pub store: AnyStore,
    /// The database behind it.
    pub database: TestDatabase,
}

impl TestStore {
    /// A store on a fresh SQLite file.
    pub async fn sqlite() -> Self {
        Self::open(TestDatabase::sqlite()).await
    }

    /// A store on a fresh PostgreSQL database.
    pub async fn postgres() -> Self {
        Self::open(TestDatabase::postgres().await).await
    }

    async fn open(database: TestDatabase) -> Self {
        let store = AnyStore::connect(&database.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        Self { store, database }
    }

    /// The backend under test.
    pub fn backend(&self) -> Backend {
        self.database.backend
    }

    /// Runs SQL directly against the database, bypassing the store.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match &self.store {
            AnyStore::Sqlite(store) => sqlx::raw_sql(sql)
                .execute(store.write_pool())
                .await
                .map(|done| done.rows_affected()),
            AnyStore::Postgres(store) => sqlx::raw_sql(sql)
                .execute(store.pool())
                .await
                .map(|done| done.rows_affected()),
        }
    }

    /// Switches off the immutability triggers, as an attacker with database access could.
    pub async fn disable_immutability(&self) {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "DROP TRIGGER events_refuse_update; DROP TRIGGER events_refuse_delete;"
            }
            Backend::Postgres => "ALTER TABLE events DISABLE TRIGGER events_refuse_change;",
        };
        self.execute_raw(sql).await.expect("disable triggers");
    }
}

/// Metadata of a command by a POS user, with fresh ids: for tests that append directly.
pub fn metadata() -> event_schemas::CommandMetadata {
    use event_schemas::{Actor, ActorKind, Channel, CommandId, CommandMetadata};
    CommandMetadata {
        command_id: CommandId::new_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        actor: Actor {
            kind: ActorKind::User,
            id: "staff-1".into(),
            display_name: "Sam".into(),
        },
        channel: Channel::Pos,
        outlet_id: None,
    }
}

/// Waits until `total` events are visible to `read_all`. On PostgreSQL, other sessions'
/// open transactions (other tests on the same server) can hold the newest commits back
/// from readers for a moment.
pub async fn wait_until_visible(store: &AnyStore, total: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.count_after(Position::START).await.expect("count") < total {
        assert!(Instant::now() < deadline, "the log settled in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `read_all` can return the event at `position` (see [`wait_until_visible`]).
pub async fn wait_until_readable(store: &AnyStore, position: Position) {
    let just_before = Position {
        commit: position.commit,
        prepare: position.prepare.saturating_sub(1),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.count_after(just_before).await.expect("count") == 0 {
        assert!(
            Instant::now() < deadline,
            "the event became readable in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
