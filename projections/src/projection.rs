//! The projections this crate maintains, what tables each owns, and their errors.

use crate::db::ReadTx;
use crate::{products, proofs, sales, serials};
use event_schemas::{DecodeError, LedgerEvent};
use store::{Position, RecordedEvent, StoreError};

/// A table owned by a projection: emptied on rebuild, covered by its digest.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// The table.
    pub name: &'static str,
    /// Every column, in digest order.
    pub columns: &'static [&'static str],
    /// The primary key, which orders rows for the digest.
    pub key: &'static [&'static str],
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
            recorded_at: i64::try_from(event.envelope.recorded_at.unix_timestamp_nanos() / 1_000)
                .unwrap_or(i64::MAX),
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

/// The code an enum of the contract is stored under: its serde name ("REQUIRED",
/// "SPECIAL_ORDER", ...), so tables use exactly the integrators' vocabulary.
pub fn enum_code<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(code)) => code,
        _ => String::new(),
    }
}

/// Reads a stored enum code back.
pub fn parse_enum_code<T: serde::de::DeserializeOwned>(code: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
}
