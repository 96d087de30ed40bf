//! What differs between the backends in the SQL they share: the types some columns have, and
//! little else.
//!
//! Both schemas have the same tables and column names (`migrations/*/0001_event_store.sql`).
//! Where they differ is in types: SQLite keeps ids as hyphenated UUID text (so the file reads
//! in any SQLite tool) and the recording time as microseconds, PostgreSQL keeps `uuid` and
//! `timestamptz`; and a PostgreSQL position carries the id of the transaction that wrote the
//! event. Each backend states its differences once, by implementing [`Dialect`] for its
//! sqlx database type (in `sqlite.rs` and `postgres.rs`); [`crate::queries`] and
//! [`crate::rows`] are written once over it.

use crate::error::StoreError;
use crate::types::Position;
use sqlx::{Database, Decode, Encode, Type};
use time::OffsetDateTime;
use uuid::Uuid;

/// A backend's column types and the few facts about its SQL that the shared code needs.
pub(crate) trait Dialect: Database {
    /// The select list that reads an event into [`crate::rows::StoredEvent`], each column
    /// under the field's name.
    const EVENT_COLUMNS: &'static str;

    /// How an id (tenant, event, command, ...) is stored and bound.
    type Id: for<'q> Encode<'q, Self> + for<'r> Decode<'r, Self> + Type<Self> + Send + Sync + Unpin;

    /// How an event's recording time is stored.
    type Time: for<'r> Decode<'r, Self> + Type<Self> + Send + Unpin;

    /// An id as this backend binds it.
    fn id(id: Uuid) -> Self::Id;

    /// A stored id back as a UUID; the error says what is wrong with `column`.
    fn uuid(column: &str, stored: Self::Id) -> Result<Uuid, String>;

    /// A stored recording time back as a UTC time.
    fn time(stored: Self::Time) -> Result<OffsetDateTime, String>;

    /// The log position of the event at `global_position`, written by the transaction
    /// `transaction_id` (as text; backends that order by position alone select none).
    fn position(global_position: i64, transaction_id: Option<&str>)
    -> Result<Position, StoreError>;

    /// How many rows a statement changed (sqlx has no backend-neutral accessor for it).
    fn rows_affected(result: &Self::QueryResult) -> u64;
}
