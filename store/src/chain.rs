//! Backend-neutral parts of an append: request validation, the expected-revision rule, and
//! chaining new events onto a stream's head with their hashes.

use crate::error::StoreError;
use crate::types::{
    AppendRequest, AppendResult, ClaimAction, ClaimChange, ExpectedRevision, NewEvent,
};
use event_schemas::{
    CommandMetadata, EventHashInput, GENESIS_HASH, TenantId, canonical_json, event_hash,
};
use std::collections::HashSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// Refuses requests no correct caller sends: nothing to write, a stream written twice.
pub(crate) fn validate(request: &AppendRequest) -> Result<(), StoreError> {
    if request.writes.is_empty() {
        return Err(StoreError::InvalidRequest("no stream to write".into()));
    }
    let mut seen = HashSet::new();
    for write in &request.writes {
        if write.stream_id.trim().is_empty() {
            return Err(StoreError::InvalidRequest("empty stream id".into()));
        }
        if write.events.is_empty() {
            return Err(StoreError::InvalidRequest(format!(
                "no events for stream {}",
                write.stream_id
            )));
        }
        if !seen.insert(write.stream_id.as_str()) {
            return Err(StoreError::InvalidRequest(format!(
                "stream {} written twice in one append",
                write.stream_id
            )));
        }
    }
    Ok(())
}

/// Checks the writer's expectation against the stream's current revision.
pub(crate) fn check_expected(
    stream_id: &str,
    expected: ExpectedRevision,
    actual: Option<u64>,
) -> Result<(), StoreError> {
    let holds = match expected {
        ExpectedRevision::Any => true,
        ExpectedRevision::NoStream => actual.is_none(),
        ExpectedRevision::StreamExists => actual.is_some(),
        ExpectedRevision::Exact(revision) => actual == Some(revision),
    };
    if holds {
        Ok(())
    } else {
        Err(StoreError::WrongExpectedRevision {
            stream_id: stream_id.to_owned(),
            expected,
            actual,
        })
    }
}

/// An event ready for its row: revision, canonical payload text and hashes fixed.
pub(crate) struct PreparedEvent {
    pub event_id: Uuid,
    pub stream_revision: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub payload_text: String,
    pub previous_hash: String,
    pub hash: String,
}

/// Where a stream stands before an append.
pub(crate) struct StreamHeadState {
    /// Revision of the last event; None for a new stream.
    pub revision: Option<u64>,
    /// Hash of the last event; [`GENESIS_HASH`] for a new stream.
    pub last_hash: String,
}

impl StreamHeadState {
    pub(crate) fn new_stream() -> Self {
        Self {
            revision: None,
            last_hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// Everything shared by the events of one stream within an append.
pub(crate) struct ChainContext<'a> {
    pub tenant_id: TenantId,
    pub stream_id: &'a str,
    pub metadata: &'a CommandMetadata,
    pub recorded_at_micros: i64,
}

/// Links `events` onto the stream head, computing each event's hash.
pub(crate) fn prepare(
    context: &ChainContext<'_>,
    head: &StreamHeadState,
    events: &[NewEvent],
) -> Vec<PreparedEvent> {
    let mut previous_hash = head.last_hash.clone();
    let first_revision = head.revision.map_or(0, |revision| revision + 1);
    let mut prepared = Vec::with_capacity(events.len());
    for (revision, event) in (first_revision..).zip(events) {
        let hash = event_hash(&EventHashInput {
            event_id: event.event_id,
            tenant_id: context.tenant_id,
            stream_id: context.stream_id,
            stream_revision: revision,
            recorded_at_micros: context.recorded_at_micros,
            metadata: context.metadata,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            payload: &event.payload,
            previous_hash: &previous_hash,
        });
        prepared.push(PreparedEvent {
            event_id: event.event_id,
            stream_revision: revision,
            event_type: event.event_type.clone(),
            schema_version: event.schema_version,
            payload_text: canonical_json(&event.payload),
            previous_hash: std::mem::replace(&mut previous_hash, hash.clone()),
            hash,
        });
    }
    prepared
}

/// The store's clock, truncated to what both backends keep (microseconds), so the time
/// that was hashed is the time read back.
pub(crate) fn now_micros() -> i64 {
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000).unwrap_or(i64::MAX)
}

/// Microseconds since the epoch back to a UTC time.
pub(crate) fn micros_to_time(micros: i64) -> Result<OffsetDateTime, String> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|error| format!("recorded time {micros} out of range: {error}"))
}

/// A command's stored result, read back for a retry of the same command id.
pub(crate) fn stored_result(text: &str) -> Result<AppendResult, StoreError> {
    serde_json::from_str::<AppendResult>(text)
        .map(|result| AppendResult {
            deduplicated: true,
            ..result
        })
        .map_err(|error| {
            StoreError::InvalidRequest(format!("stored command result unreadable: {error}"))
        })
}

/// The order claims are applied in: releases first (so a command may release and re-take
/// a key), then claims sorted by key (so two appends taking the same keys lock them in the
/// same order and cannot deadlock).
pub(crate) fn claim_order(claims: &[ClaimChange]) -> (Vec<&ClaimChange>, Vec<&ClaimChange>) {
    let releases = claims
        .iter()
        .filter(|c| c.action == ClaimAction::Release)
        .collect();
    let mut takes: Vec<&ClaimChange> = claims
        .iter()
        .filter(|c| c.action == ClaimAction::Claim)
        .collect();
    takes.sort_by(|a, b| (&a.scope, &a.key).cmp(&(&b.scope, &b.key)));
    (releases, takes)
}
