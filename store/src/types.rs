//! What goes into the store and what comes out of it.

use event_schemas::{CommandMetadata, EventEnvelope, LedgerEvent, TenantId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// What the writer believes about a stream before appending (KurrentDB's model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedRevision {
    /// Append whatever the stream's state.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist, at any revision.
    StreamExists,
    /// The stream's last event must be at exactly this revision.
    Exact(u64),
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedRevision::Any => f.write_str("any revision"),
            ExpectedRevision::NoStream => f.write_str("no stream"),
            ExpectedRevision::StreamExists => f.write_str("an existing stream"),
            ExpectedRevision::Exact(revision) => write!(f, "revision {revision}"),
        }
    }
}

/// An event to append: its payload with type and version, and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's id (UUID v7 unless the caller has one already).
    pub event_id: Uuid,
    /// The payload's type name.
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: u32,
    /// The payload.
    pub payload: serde_json::Value,
}

impl NewEvent {
    /// Wraps a ledger event with a fresh UUID v7.
    pub fn from_event(event: &LedgerEvent) -> Self {
        Self {
            event_id: Uuid::now_v7(),
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.to_payload(),
        }
    }
}

/// Events for one stream within an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamWrite {
    /// The stream, e.g. `sale-0190...`.
    pub stream_id: String,
    /// What the writer expects of the stream.
    pub expected_revision: ExpectedRevision,
    /// The events, in order; at least one.
    pub events: Vec<NewEvent>,
}

/// Take or give up a uniqueness claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClaimAction {
    /// Take the key for `owner`; refused if someone else holds it.
    Claim,
    /// Give the key up, if `owner` holds it.
    Release,
}

/// A change to the claims table, applied in the same transaction as the events.
///
/// The store gives claims no meaning: the domain says which events take or release which
/// keys (for example "serial X of product P", owned by "sale S line L").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimChange {
    /// Claim or release.
    pub action: ClaimAction,
    /// The namespace of the key, e.g. `serial`.
    pub scope: String,
    /// The key, unique within the tenant and scope.
    pub key: String,
    /// Who holds (or gives up) the key, as text the domain can parse back.
    pub owner: String,
}

/// One atomic append: events to one or more streams, with their claims, for one command.
///
/// All of it is written, or none of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendRequest {
    /// The retailer; every row written carries it.
    pub tenant_id: TenantId,
    /// Who, where, and the command's id (the idempotency key).
    pub metadata: CommandMetadata,
    /// The streams written, each with its expectation.
    pub writes: Vec<StreamWrite>,
    /// Claims taken and released. Releases are applied before claims.
    pub claims: Vec<ClaimChange>,
}

/// A position in the whole log, totally ordered in the order readers see events.
///
/// Mirrors KurrentDB's commit/prepare pair. On PostgreSQL `commit` is the writing
/// transaction's id and `prepare` the event's global position; on SQLite both are the global
/// position. Clients treat it as opaque (see its `Display`/`FromStr` form).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Position {
    /// The commit order key.
    pub commit: u64,
    /// The order within one commit: the global position.
    pub prepare: u64,
}

impl Position {
    /// Before the first event.
    pub const START: Position = Position {
        commit: 0,
        prepare: 0,
    };
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.commit, self.prepare)
    }
}

/// A cursor that is not a position this store wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed position {0:?}: expected COMMIT:PREPARE, two unsigned integers")]
pub struct MalformedPosition(pub String);

impl FromStr for Position {
    type Err = MalformedPosition;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || MalformedPosition(text.to_owned());
        let (commit, prepare) = text.split_once(':').ok_or_else(malformed)?;
        Ok(Position {
            commit: commit.parse().map_err(|_| malformed())?,
            prepare: prepare.parse().map_err(|_| malformed())?,
        })
    }
}

/// A stored event and its place in the whole log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The event in its envelope.
    pub envelope: EventEnvelope,
    /// Where a reader of the whole log continues after this event.
    pub position: Position,
}

/// The revisions an append wrote to one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamAppended {
    /// The stream.
    pub stream_id: String,
    /// The revision of the first event written.
    pub first_revision: u64,
    /// The revision of the last event written: the stream's revision after the append.
    pub last_revision: u64,
}

/// What an append did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResult {
    /// Per stream, the revisions written.
    pub streams: Vec<StreamAppended>,
    /// The position of the last event written: wait for readers to pass it to read your
    /// own writes.
    pub position: Position,
    /// True when the command had already been applied and this is its original result.
    #[serde(default)]
    pub deduplicated: bool,
}

/// A stream's head, as listed for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHead {
    /// The retailer.
    pub tenant_id: TenantId,
    /// The stream.
    pub stream_id: String,
    /// The revision of its last event.
    pub revision: u64,
    /// The hash of its last event.
    pub last_hash: String,
}
