//! The event store: the ledger's only source of truth.
//!
//! The model mirrors KurrentDB's: events live in streams (one per aggregate), each appended
//! with an [`ExpectedRevision`]; every event also has a [`Position`] in the whole log, which
//! [`EventStore::read_all`] and [`subscribe_all`] follow without ever skipping an event.
//!
//! Two backends pass one contract suite (`tests/it/store_contract.rs`):
//! [`SqliteStore`] (embedded default: WAL, `synchronous=FULL`, one writer connection) and
//! [`PostgresStore`] (production: transaction-id ordering for gap-free reading).
//! [`AnyStore`] picks one from a database URL.
//!
//! Guarantees kept here, whatever the backend: an append is atomic (events of several
//! streams, their uniqueness claims and the command's idempotency record commit together);
//! events cannot be updated or deleted (database triggers); each stream is hash-chained
//! ([`verify`] checks it); a command id already applied returns its original result.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod any;
mod chain;
mod dialect;
mod error;
mod postgres;
mod queries;
mod rows;
mod sqlite;
mod subscription;
mod types;
mod verify;

pub use any::AnyStore;
pub use error::StoreError;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use subscription::{SubscriptionOptions, subscribe_all};
pub use types::{
    AppendRequest, AppendResult, ClaimAction, ClaimChange, ExpectedRevision, MalformedPosition,
    NewEvent, Position, RecordedEvent, StreamAppended, StreamHead, StreamWrite,
};
pub use verify::{VerifyProblem, VerifyReport, VerifyScope, verify};

use event_schemas::TenantId;
use std::future::Future;
use tokio::sync::watch;

/// The contract every backend keeps. `tests/it/store_contract.rs` is its specification.
pub trait EventStore: Clone + Send + Sync + 'static {
    /// Creates or upgrades the schema.
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Appends atomically: all events and claims of the request, or nothing.
    ///
    /// Fails with [`StoreError::WrongExpectedRevision`] when a stream is not where the
    /// writer expected, and [`StoreError::ClaimConflict`] when a key is held by another
    /// owner. A request whose command id was already applied returns the original result
    /// with `deduplicated: true` and writes nothing.
    fn append(
        &self,
        request: AppendRequest,
    ) -> impl Future<Output = Result<AppendResult, StoreError>> + Send;

    /// Reads up to `max_count` events of a stream, forwards from `from_revision`.
    /// A stream that does not exist reads as empty.
    fn read_stream(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
        from_revision: u64,
        max_count: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// The head of a stream, or None when it does not exist.
    fn stream_head(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
    ) -> impl Future<Output = Result<Option<StreamHead>, StoreError>> + Send;

    /// Reads up to `max_count` events of the whole log (all tenants) after `after`, in
    /// position order. Never returns an event before one that a later call could still
    /// return: committed events that an in-flight transaction may precede are held back.
    fn read_all(
        &self,
        after: Position,
        max_count: usize,
    ) -> impl Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send;

    /// How many events `read_all(after, ..)` could return now: a reader's lag.
    fn count_after(&self, after: Position) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The head of the log: the position of the last event `read_all` could return now, or
    /// [`Position::START`] when it could return none. A reader that wants only the events
    /// appended from now on reads after it, and misses none.
    ///
    /// On PostgreSQL it stays behind events committed while an older transaction was still
    /// running, as `read_all` holds them back: such events come after the head, so a reader
    /// starting there may get a few committed just before the call, but never skips one.
    fn head_position(&self) -> impl Future<Output = Result<Position, StoreError>> + Send;

    /// Every stream's head, optionally of one tenant, ordered by tenant and stream id.
    fn list_streams(
        &self,
        tenant_id: Option<TenantId>,
    ) -> impl Future<Output = Result<Vec<StreamHead>, StoreError>> + Send;

    /// Who holds a uniqueness key, if anyone.
    fn claim_holder(
        &self,
        tenant_id: TenantId,
        scope: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Ticks after every append this process commits, so readers wake without polling.
    /// Appends by other processes are found by polling (see [`SubscriptionOptions`]).
    fn wakeups(&self) -> watch::Receiver<u64>;
}
