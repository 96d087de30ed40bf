//! The projections this crate maintains, what tables each owns, and their errors.

use crate::db::ReadTx;
use crate::{products, proofs, sales, serials};
use event_schemas::{DecodeError, LedgerEvent};
use store::{Position, RecordedEvent, StoreError};

/// A table owned by a projection: emptied on rebuild, covered by its digest.
///
/// The read models' INSERTs, upserts and SELECTs are built from it, so its columns are the
/// one list of them in Rust (declared with the row struct, see `rows::read_model_table!`).
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// The table.
    pub name: &'static str,
    /// Every column, in the order of `CREATE TABLE`, of a row's values, and of the digest.
    pub columns: &'static [&'static str],
    /// The primary key, which orders rows for the digest.
    pub key: &'static [&'static str],
}

impl TableSpec {
    /// `SELECT <every column> FROM <table>`, to be followed by a `WHERE`.
    pub(crate) fn select(&self) -> String {
        format!("SELECT {} FROM {}", self.columns.join(", "), self.name)
    }

    /// Every column as `alias.column`, comma-separated, leaving out those in `except` (the
    /// columns a join already selects from another table, which would be ambiguous).
    pub(crate) fn qualified_columns(&self, alias: &str, except: &[&str]) -> String {
        self.columns
            .iter()
            .filter(|column| !except.contains(column))
            .map(|column| format!("{alias}.{column}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A read model folded from the log, with its own checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Projection {
    /// The product catalogue with serial modes and packages (`rm_products`).
    Products,
    /// Sales and their lines (`rm_sales`, `rm_sale_lines`): the POS order view, the
    /// fulfilment report and pick lists, the sales report and the sales detail export.
    Sales,
    /// The per-serial traceability index (`rm_serials`, `rm_serial_history`).
    Serials,
    /// The verifiable ledger's Merkle tree per retailer, each serial's history chain and
    /// the map of them (`proof_*`): what checkpoints sign and proofs are made from.
    Proofs,
}

impl Projection {
    /// Every projection, in the order they are run and reported.
    pub const ALL: [Projection; 4] = [
        Projection::Products,
        Projection::Sales,
        Projection::Serials,
        Projection::Proofs,
    ];

    /// Whether a query reads it: a command answers once every read model has folded it
    /// (read-your-writes); the proofs follow the log without holding commands back.
    pub fn is_read_model(self) -> bool {
        self != Projection::Proofs
    }

    /// Its stable name (checkpoint key, CLI and health output).
    pub fn name(self) -> &'static str {
        match self {
            Projection::Products => "products",
            Projection::Sales => "sales",
            Projection::Serials => "serials",
            Projection::Proofs => "proofs",
        }
    }

    /// Finds a projection by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|projection| projection.name() == name)
    }

    /// The tables it owns.
    pub fn tables(self) -> &'static [TableSpec] {
        match self {
            Projection::Products => products::TABLES,
            Projection::Sales => sales::TABLES,
            Projection::Serials => serials::TABLES,
            Projection::Proofs => proofs::TABLES,
        }
    }

    /// The tables its digest covers (and check-projections compares): all but those whose
    /// rows depend on where batches ended rather than on the log alone.
    pub fn digested_tables(self) -> impl Iterator<Item = &'static TableSpec> {
        self.tables()
            .iter()
            .filter(|table| !proofs::UNDIGESTED.contains(&table.name))
    }

    /// Folds a batch of events into the projection's tables, inside the batch's
    /// transaction. Stops at the first event it cannot fold (the caller rolls back).
    pub(crate) async fn apply_batch(
        self,
        tx: &mut ReadTx,
        events: &[(EventContext<'_>, LedgerEvent)],
    ) -> Result<(), ProjectionError> {
        match self {
            Projection::Products => {
                for (context, event) in events {
                    products::apply(tx, context, event).await?;
                }
                Ok(())
            }
            Projection::Sales => sales::apply_batch(tx, events).await,
            Projection::Serials => serials::apply_batch(tx, events).await,
            Projection::Proofs => proofs::apply_batch(tx, events).await,
        }
    }
}

/// What every projection needs of an event's envelope, in column form.
pub(crate) struct EventContext<'a> {
    pub tenant_id: String,
    pub event_id: uuid::Uuid,
    pub hash: &'a str,
    pub stream_id: &'a str,
    pub event_type: &'a str,
    pub recorded_at: i64,
    pub position: Position,
}

impl<'a> EventContext<'a> {
    /// The context of a recorded event.
    pub(crate) fn of(event: &'a RecordedEvent) -> Self {
        Self {
            tenant_id: event.envelope.tenant_id.to_string(),
            event_id: event.envelope.event_id,
            hash: &event.envelope.hash,
            stream_id: &event.envelope.stream_id,
            event_type: &event.envelope.event_type,
            recorded_at: crate::stored::micros(event.envelope.recorded_at).unwrap_or(i64::MAX),
            position: event.position,
        }
    }

    /// An error for an event that contradicts what the projection has recorded.
    pub fn inconsistent(&self, reason: impl Into<String>) -> ProjectionError {
        ProjectionError::Inconsistent {
            position: self.position,
            event_type: self.event_type.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Why a projection stopped. A projection never skips an event: it stops at the one it
/// cannot fold, reports it, and retries.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The read-model database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Reading the log failed.
    #[error("reading the log failed: {0}")]
    Store(#[from] StoreError),
    /// An event's payload cannot be decoded by this build.
    #[error("event at position {position} cannot be decoded: {source}")]
    Decode {
        /// Where.
        position: Position,
        /// Why.
        source: DecodeError,
    },
    /// An event contradicts what the projection recorded (e.g. a line of an unknown sale).
    #[error("{event_type} at position {position}: {reason}")]
    Inconsistent {
        /// Where.
        position: Position,
        /// The event's type.
        event_type: String,
        /// What does not fit.
        reason: String,
    },
    /// Stored data a projection wrote cannot be read back (a proof table edited by hand).
    #[error("stored data unreadable: {0}")]
    Stored(String),
    /// The read-model schema could not be created or upgraded.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Waiting for read-your-writes took longer than allowed.
    #[error("projections did not reach position {target} within {waited_ms} ms")]
    WaitTimedOut {
        /// The position waited for.
        target: Position,
        /// How long.
        waited_ms: u128,
    },
}

/// A position as the two signed integers the tables store.
pub(crate) fn position_columns(position: Position) -> (i64, i64) {
    (
        i64::try_from(position.commit).unwrap_or(i64::MAX),
        i64::try_from(position.prepare).unwrap_or(i64::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The migrations that create the tables, each backend's.
    const MIGRATIONS: [(&str, &str); 4] = [
        (
            "sqlite/1001_read_models.sql",
            include_str!("../migrations/sqlite/1001_read_models.sql"),
        ),
        (
            "sqlite/1002_proofs.sql",
            include_str!("../migrations/sqlite/1002_proofs.sql"),
        ),
        (
            "postgres/1001_read_models.sql",
            include_str!("../migrations/postgres/1001_read_models.sql"),
        ),
        (
            "postgres/1002_proofs.sql",
            include_str!("../migrations/postgres/1002_proofs.sql"),
        ),
    ];

    /// The columns and the primary key of `table` as a migration's `CREATE TABLE` declares
    /// them, in order; `None` when the migration does not create it.
    fn created(sql: &str, table: &str) -> Option<(Vec<String>, Vec<String>)> {
        let start = sql.find(&format!("CREATE TABLE {table} ("))?;
        let body = &sql[start..];
        // Up to the `)` that closes the column list (`);` or `) WITHOUT ROWID;`).
        let body = &body[body.find('(')? + 1..body.find("\n)")?];
        let mut columns = Vec::new();
        let mut key = Vec::new();
        for line in body.lines().map(str::trim) {
            let line = line.trim_end_matches(',');
            if line.is_empty() || line.starts_with("--") {
                continue;
            }
            if let Some(list) = line.strip_prefix("PRIMARY KEY (") {
                key = list
                    .trim_end_matches(')')
                    .split(',')
                    .map(|column| column.trim().to_owned())
                    .collect();
                continue;
            }
            let name = line.split_whitespace().next()?.to_owned();
            if line.contains("PRIMARY KEY") {
                key = vec![name.clone()];
            }
            columns.push(name);
        }
        Some((columns, key))
    }

    #[test]
    fn every_table_spec_lists_the_columns_and_key_its_migrations_create_in_their_order() {
        for projection in Projection::ALL {
            for table in projection.tables() {
                let mut found = 0;
                for (file, sql) in MIGRATIONS {
                    let Some((columns, key)) = created(sql, table.name) else {
                        continue;
                    };
                    found += 1;
                    assert_eq!(columns, table.columns, "{} in {file}", table.name);
                    assert_eq!(key, table.key, "key of {} in {file}", table.name);
                }
                assert_eq!(found, 2, "{} is created once per backend", table.name);
            }
        }
    }

    #[test]
    fn a_select_reads_every_column_of_its_table_in_order() {
        const TABLE: TableSpec = TableSpec {
            name: "t",
            columns: &["tenant_id", "id", "note"],
            key: &["tenant_id", "id"],
        };
        assert_eq!(TABLE.select(), "SELECT tenant_id, id, note FROM t");
        assert_eq!(TABLE.qualified_columns("x", &["tenant_id"]), "x.id, x.note");
    }
}
