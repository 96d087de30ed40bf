//! Hash-chain verification: recompute every event's hash and check the links and the heads.
//!
//! Each event stores the hash of its predecessor in the stream and its own hash over its
//! canonical bytes (`event_schemas::envelope_hash`). Changing any stored field breaks that
//! event's hash; removing an event breaks the revision sequence or the link of its successor
//! or, for a stream's last event, the agreement with the stream's head.

use crate::EventStore;
use crate::error::StoreError;
use crate::types::StreamHead;
use event_schemas::{GENESIS_HASH, TenantId, envelope_hash};
use std::fmt;

/// Which streams to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyScope {
    /// Only this retailer's streams.
    pub tenant_id: Option<TenantId>,
    /// Only this stream (needs `tenant_id` to be unambiguous; otherwise every tenant's
    /// stream of that name).
    pub stream_id: Option<String>,
}

/// Something found wrong with a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyProblem {
    /// The stored hash is not the hash of the stored event: the event was altered.
    HashMismatch {
        /// The retailer.
        tenant_id: TenantId,
        /// The stream.
        stream_id: String,
        /// The altered event's revision.
        stream_revision: u64,
        /// Its global position.
        global_position: u64,
    },
    /// An event's `previous_hash` is not its predecessor's hash: an event before it was
    /// altered or removed.
    BrokenLink {
        /// The retailer.
        tenant_id: TenantId,
        /// The stream.
        stream_id: String,
        /// The event whose link is broken.
        stream_revision: u64,
        /// Its global position.
        global_position: u64,
    },
    /// A revision is missing: an event was removed.
    MissingRevision {
        /// The retailer.
        tenant_id: TenantId,
        /// The stream.
        stream_id: String,
        /// The revision that should have come next.
        expected_revision: u64,
        /// The revision found instead (None: the stream ended early).
        found_revision: Option<u64>,
    },
    /// The stream's head disagrees with its last event: its last events were removed or the
    /// head was altered.
    HeadMismatch {
        /// The retailer.
        tenant_id: TenantId,
        /// The stream.
        stream_id: String,
        /// The head's revision.
        head_revision: u64,
        /// The revision of the last stored event.
        last_event_revision: Option<u64>,
    },
}

impl fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyProblem::HashMismatch {
                tenant_id,
                stream_id,
                stream_revision,
                global_position,
            } => write!(
                f,
                "tenant {tenant_id} stream {stream_id} revision {stream_revision} (position {global_position}): stored hash does not match the event: it was altered"
            ),
            VerifyProblem::BrokenLink {
                tenant_id,
                stream_id,
                stream_revision,
                global_position,
            } => write!(
                f,
                "tenant {tenant_id} stream {stream_id} revision {stream_revision} (position {global_position}): previous_hash does not match the event before it"
            ),
            VerifyProblem::MissingRevision {
                tenant_id,
                stream_id,
                expected_revision,
                found_revision,
            } => write!(
                f,
                "tenant {tenant_id} stream {stream_id}: revision {expected_revision} is missing (found {})",
                found_revision.map_or("the end of the stream".to_owned(), |r| format!(
                    "revision {r}"
                ))
            ),
            VerifyProblem::HeadMismatch {
                tenant_id,
                stream_id,
                head_revision,
                last_event_revision,
            } => write!(
                f,
                "tenant {tenant_id} stream {stream_id}: head says revision {head_revision} but the last stored event is {}",
                last_event_revision.map_or("none".to_owned(), |r| format!("revision {r}"))
            ),
        }
    }
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Streams checked.
    pub streams: u64,
    /// Events checked.
    pub events: u64,
    /// Problems, in the order found (stream by stream, forwards).
    pub problems: Vec<VerifyProblem>,
}

impl VerifyReport {
    /// True when nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

const PAGE: usize = 1_000;

/// Verifies the hash chain of every stream in scope.
///
/// Safe beside a live writer: a stream that grows while it is read is compared with its
/// head as it is after the growth, so appends are never reported as damage.
pub async fn verify<S: EventStore>(
    store: &S,
    scope: &VerifyScope,
) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let heads = store.list_streams(scope.tenant_id).await?;
    for head in heads.iter().filter(|head| {
        scope
            .stream_id
            .as_deref()
            .is_none_or(|id| id == head.stream_id)
    }) {
        report.streams += 1;
        verify_stream(store, head, &mut report).await?;
    }
    Ok(report)
}

async fn verify_stream<S: EventStore>(
    store: &S,
    listed: &StreamHead,
    report: &mut VerifyReport,
) -> Result<(), StoreError> {
    let mut head = listed.clone();
    let mut expected_revision = 0_u64;
    let mut previous_hash = GENESIS_HASH.to_owned();
    let mut last_revision = None;
    let mut last_hash = None;
    loop {
        loop {
            let page = store
                .read_stream(head.tenant_id, &head.stream_id, expected_revision, PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            let next_from = last.envelope.stream_revision + 1;
            for recorded in &page {
                let event = &recorded.envelope;
                report.events += 1;
                if event.stream_revision != expected_revision {
                    report.problems.push(VerifyProblem::MissingRevision {
                        tenant_id: head.tenant_id,
                        stream_id: head.stream_id.clone(),
                        expected_revision,
                        found_revision: Some(event.stream_revision),
                    });
                }
                let computed = envelope_hash(event);
                if computed != event.hash {
                    report.problems.push(VerifyProblem::HashMismatch {
                        tenant_id: head.tenant_id,
                        stream_id: head.stream_id.clone(),
                        stream_revision: event.stream_revision,
                        global_position: event.global_position,
                    });
                }
                if event.previous_hash != previous_hash {
                    report.problems.push(VerifyProblem::BrokenLink {
                        tenant_id: head.tenant_id,
                        stream_id: head.stream_id.clone(),
                        stream_revision: event.stream_revision,
                        global_position: event.global_position,
                    });
                }
                previous_hash = event.hash.clone();
                expected_revision = event.stream_revision + 1;
                last_revision = Some(event.stream_revision);
                last_hash = Some(event.hash.clone());
            }
            if page.len() < PAGE {
                break;
            }
            expected_revision = next_from;
        }
        let agrees = |head: &StreamHead| {
            last_revision == Some(head.revision)
                && last_hash.as_deref() == Some(head.last_hash.as_str())
        };
        if agrees(&head) {
            return Ok(());
        }
        // Events beyond the head read earlier: a live server may have appended since. Compare
        // with the head as it is now, after reading the events it covers (committed with it,
        // so they are visible); repeat while the stream keeps growing. A head that has not
        // moved while events lie beyond it is damage: events inserted behind the store's back.
        if last_revision.is_none_or(|last| last <= head.revision) {
            break;
        }
        match store.stream_head(head.tenant_id, &head.stream_id).await? {
            Some(current) if current.revision != head.revision => head = current,
            _ => break,
        }
    }
    report.problems.push(VerifyProblem::HeadMismatch {
        tenant_id: head.tenant_id,
        stream_id: head.stream_id.clone(),
        head_revision: head.revision,
        last_event_revision: last_revision,
    });
    Ok(())
}
