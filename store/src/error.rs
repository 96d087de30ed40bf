//! The store's errors. Each variant's doc says how the API maps it.

use crate::types::ExpectedRevision;

/// Why an operation on the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Optimistic concurrency: someone else wrote the stream first. The API retries the
    /// command against the new state, or answers `CONFLICT` (HTTP 409).
    #[error(
        "stream {stream_id} was expected at {expected}, but it is at {}",
        describe_actual(.actual)
    )]
    WrongExpectedRevision {
        /// The stream.
        stream_id: String,
        /// What the writer expected.
        expected: ExpectedRevision,
        /// The stream's revision (None: the stream does not exist).
        actual: Option<u64>,
    },
    /// A uniqueness key is held by someone else. The API turns `held_by` back into a domain
    /// error (e.g. `SERIAL_ALREADY_ASSIGNED`, HTTP 409).
    #[error("{scope} {key} is already held by {held_by}")]
    ClaimConflict {
        /// The key's namespace.
        scope: String,
        /// The key.
        key: String,
        /// The holder, as the domain wrote it.
        held_by: String,
    },
    /// The request itself is malformed (no events, a stream written twice, ...): a bug in the
    /// caller. The API answers `INTERNAL` (HTTP 500) since users cannot cause it.
    #[error("invalid append request: {0}")]
    InvalidRequest(String),
    /// A stored row cannot be read back as an event: the database was changed behind the
    /// store's back. `INTERNAL` (500); `verify` tells more.
    #[error("stored event at global position {global_position} is unreadable: {reason}")]
    CorruptEvent {
        /// Where.
        global_position: u64,
        /// What is wrong.
        reason: String,
    },
    /// The append kept losing races it cannot win by waiting: `UNAVAILABLE` (HTTP 503 with
    /// Retry-After); the client retries later.
    #[error("the store is too contended to append now: {0}")]
    Contention(String),
    /// The URL names no supported database.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database failed or is unreachable: `UNAVAILABLE` (HTTP 503, retry later).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be created or upgraded.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

fn describe_actual(actual: &Option<u64>) -> String {
    match actual {
        Some(revision) => format!("revision {revision}"),
        None => "no stream".to_owned(),
    }
}

impl StoreError {
    /// Whether retrying the same command against fresh state may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::WrongExpectedRevision { .. })
    }
}
