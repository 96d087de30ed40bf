//! The read-model database: the same database as the event log, through the store's pools.
//!
//! SQL is written once, with `$N` placeholders, which both sqlx drivers accept; the
//! [`execute!`](crate::execute), [`fetch_optional!`](crate::fetch_optional) and
//! [`fetch_all!`](crate::fetch_all) macros run it on whichever backend
//! this is. On SQLite, projection transactions go through the store's single writer
//! connection (`BEGIN IMMEDIATE`), so projection batches and appends queue instead of
//! fighting over SQLITE_BUSY.

use futures::StreamExt;
use futures::stream::BoxStream;
use sqlx::{Postgres, Row, Sqlite, Transaction};
use store::AnyStore;

/// Connections to the read models.
#[derive(Clone)]
pub enum ReadDb {
    /// SQLite: the store's writer (for projection batches) and reader pools.
    Sqlite {
        /// The one writer connection.
        writer: sqlx::SqlitePool,
        /// Readers.
        readers: sqlx::SqlitePool,
    },
    /// PostgreSQL: the store's pool.
    Postgres(sqlx::PgPool),
}

/// A transaction on the read models (and the checkpoint table).
pub enum ReadTx {
    /// SQLite.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

impl ReadDb {
    /// The read-model database of a store: the same database.
    pub fn of(store: &AnyStore) -> Self {
        match store {
            AnyStore::Sqlite(store) => ReadDb::Sqlite {
                writer: store.write_pool().clone(),
                readers: store.read_pool().clone(),
            },
            AnyStore::Postgres(store) => ReadDb::Postgres(store.pool().clone()),
        }
    }

    /// Runs a crate's migrations here. Several crates keep their tables in this database,
    /// so each migrator ignores the versions applied by the others.
    pub async fn run_migrations(
        &self,
        mut migrator: sqlx::migrate::Migrator,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        migrator.set_ignore_missing(true);
        match self {
            ReadDb::Sqlite { writer, .. } => migrator.run(writer).await,
            ReadDb::Postgres(pool) => migrator.run(pool).await,
        }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<ReadTx, sqlx::Error> {
        Ok(match self {
            ReadDb::Sqlite { writer, .. } => {
                ReadTx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?)
            }
            ReadDb::Postgres(pool) => ReadTx::Postgres(pool.begin().await?),
        })
    }

    /// Starts a read-only transaction that sees one consistent state of the database from
    /// its first statement to its end, whatever commits meanwhile: a checkpoint and the rows
    /// read in it belong together.
    ///
    /// SQLite: a deferred transaction on a reader connection; in WAL mode its first read
    /// fixes the snapshot, and writers carry on beside it. PostgreSQL: `REPEATABLE READ READ
    /// ONLY`, whose snapshot is taken by the first statement; being read-only it takes no
    /// transaction id, so it holds back no other reader of the log.
    ///
    /// End it with [`ReadTx::rollback`]; keeping it open for long keeps old row versions
    /// (PostgreSQL) or the WAL (SQLite) from being recycled meanwhile.
    pub async fn snapshot(&self) -> Result<ReadTx, sqlx::Error> {
        Ok(match self {
            ReadDb::Sqlite { readers, .. } => ReadTx::Sqlite(readers.begin_with("BEGIN").await?),
            ReadDb::Postgres(pool) => ReadTx::Postgres(
                pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        })
    }

    /// Closes the connections (for a database opened for a while, such as a scratch one).
    pub async fn close(&self) {
        match self {
            ReadDb::Sqlite { writer, readers } => {
                writer.close().await;
                readers.close().await;
            }
            ReadDb::Postgres(pool) => pool.close().await,
        }
    }
}

impl ReadTx {
    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            ReadTx::Sqlite(tx) => tx.commit().await,
            ReadTx::Postgres(tx) => tx.commit().await,
        }
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            ReadTx::Sqlite(tx) => tx.rollback().await,
            ReadTx::Postgres(tx) => tx.rollback().await,
        }
    }

    /// Streams the rows of a query whose first `width` columns are text (or NULL), as
    /// vectors of those values: the one shape digests and row comparisons need, whichever
    /// the backend.
    pub(crate) fn text_rows<'a>(
        &'a mut self,
        sql: &'a str,
        width: usize,
    ) -> BoxStream<'a, Result<Vec<Option<String>>, sqlx::Error>> {
        match self {
            ReadTx::Sqlite(tx) => sqlx::query(sql)
                .fetch(&mut **tx)
                .map(move |row| {
                    let row = row?;
                    (0..width).map(|index| row.try_get(index)).collect()
                })
                .boxed(),
            ReadTx::Postgres(tx) => sqlx::query(sql)
                .fetch(&mut **tx)
                .map(move |row| {
                    let row = row?;
                    (0..width).map(|index| row.try_get(index)).collect()
                })
                .boxed(),
        }
    }
}

/// Runs a statement in a [`ReadTx`]; evaluates to `Result<u64 /* rows affected */, sqlx::Error>`.
#[macro_export]
macro_rules! execute {
    ($tx:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $tx {
            $crate::db::ReadTx::Sqlite(tx) => sqlx::query($sql)$(.bind($arg))*
                .execute(&mut **tx).await.map(|done| done.rows_affected()),
            $crate::db::ReadTx::Postgres(tx) => sqlx::query($sql)$(.bind($arg))*
                .execute(&mut **tx).await.map(|done| done.rows_affected()),
        }
    };
}

/// Fetches at most one row as `$row` (a `sqlx::FromRow` type) in a [`ReadTx`].
#[macro_export]
macro_rules! fetch_optional {
    ($tx:expr, $row:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $tx {
            $crate::db::ReadTx::Sqlite(tx) => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*
                .fetch_optional(&mut **tx).await,
            $crate::db::ReadTx::Postgres(tx) => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*
                .fetch_optional(&mut **tx).await,
        }
    };
}

/// Fetches all rows as `$row` from a [`ReadDb`] (outside any transaction).
#[macro_export]
macro_rules! fetch_all {
    ($db:expr, $row:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $db {
            $crate::db::ReadDb::Sqlite { readers, .. } => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*
                .fetch_all(readers).await,
            $crate::db::ReadDb::Postgres(pool) => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*
                .fetch_all(pool).await,
        }
    };
}
