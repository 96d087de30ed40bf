//! Webhooks: endpoints a retailer registers, and the dispatcher that delivers each ledger
//! event to them, signed, in order per stream, at least once.
//!
//! - [`registry`]: the tables (endpoints with their checkpoint and dead-letter facts, and
//!   every delivery attempt), registration rules, and the conditional writes the dispatcher
//!   makes. Managed through GraphQL (`api/src/graphql/webhooks.rs`), managers only.
//! - [`dispatcher`]: one task per active endpoint reads the log after the endpoint's
//!   checkpoint and delivers the events it wants strictly one at a time in log order, so a
//!   failing endpoint never delays another and never sees an event before an earlier one.
//!   A failed delivery is retried with exponential backoff ([`WebhookOptions`]); after
//!   `max_attempts` the endpoint is dead-lettered and waits for `resumeWebhook`.
//! - [`signing`]: the `Serial-Ledger-Signature` header and [`verify_signature`], for
//!   integrators; [`body`]: the JSON body.
//!
//! At least once: the checkpoint moves only in the transaction that records a 2xx answer,
//! so an event being delivered when the process stops is delivered again after a restart.
//! Receivers deduplicate on the event id (the body's `id`, the `Serial-Ledger-Event-Id`
//! header).

pub mod body;
pub mod dispatcher;
pub mod registry;
pub mod signing;

pub use body::delivery_body;
pub use dispatcher::{DispatcherHandle, spawn};
pub use registry::{
    DeadLetter, DeliveryAttempt, Endpoint, EndpointStatus, Outcome, Registration, Registry,
};
pub use signing::{
    DEFAULT_TOLERANCE, SIGNATURE_HEADER, SignatureError, signature_header, verify_signature,
    verify_signature_at,
};

use std::time::Duration;
use uuid::Uuid;

/// The header carrying the event's id (deduplicate on it).
pub const EVENT_ID_HEADER: &str = "Serial-Ledger-Event-Id";
/// The header carrying the attempt's number at this event: 1, then 2 for the first retry...
pub const ATTEMPT_HEADER: &str = "Serial-Ledger-Delivery-Attempt";

/// How the dispatcher delivers.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// The wait after the first failed attempt at an event (default 1 s).
    pub initial_backoff: Duration,
    /// Each further failure multiplies the wait by this (default 2).
    pub backoff_factor: u32,
    /// The longest wait between attempts (default 5 min).
    pub max_backoff: Duration,
    /// How long a request may take before it counts as failed (default 10 s).
    pub request_timeout: Duration,
    /// Attempts at one event before the endpoint is dead-lettered (default 10).
    pub max_attempts: u32,
    /// How often, besides this process's appends, the log and the endpoint list are read
    /// again (appends by other processes, endpoints registered or resumed) (default 1 s).
    pub poll_interval: Duration,
    /// Events read from the log per query (default 200).
    pub batch_size: usize,
    /// How long an endpoint's delivery lease outlives its holder's last renewal: the time
    /// another server process waits before taking over from one that died (default 30 s).
    pub lease_ttl: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            backoff_factor: 2,
            max_backoff: Duration::from_secs(300),
            request_timeout: Duration::from_secs(10),
            max_attempts: 10,
            poll_interval: Duration::from_secs(1),
            batch_size: 200,
            lease_ttl: Duration::from_secs(30),
        }
    }
}

impl WebhookOptions {
    /// The wait before the next attempt after `failed_attempts` (from 1) failures at one
    /// event: `initial_backoff × factor^(failed_attempts − 1)`, at most `max_backoff`.
    /// With the defaults: 1 s, 2 s, 4 s, ... 256 s, then 300 s.
    pub fn backoff(&self, failed_attempts: u32) -> Duration {
        let mut wait = self.initial_backoff;
        for _ in 1..failed_attempts {
            if wait >= self.max_backoff {
                break;
            }
            wait = wait.saturating_mul(self.backoff_factor.max(1));
        }
        wait.min(self.max_backoff)
    }
}

/// Why a webhook operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A registration breaks a rule: `VALIDATION`, naming the field.
    #[error("{field} {rule}")]
    Invalid {
        /// Which input (`url`, `secret`, `eventTypes`).
        field: &'static str,
        /// Which rule it breaks.
        rule: String,
    },
    /// The retailer has as many endpoints as allowed: `VALIDATION`.
    #[error(
        "a retailer may register at most {} webhooks: remove one first",
        registry::MAX_ENDPOINTS_PER_RETAILER
    )]
    TooMany,
    /// No such endpoint at the caller's retailer: `NOT_FOUND`.
    #[error("webhook {0} does not exist")]
    NotFound(Uuid),
    /// The database failed: `UNAVAILABLE`.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Reading the log failed: as the store's error maps.
    #[error("event store error: {0}")]
    Store(#[from] store::StoreError),
    /// A stored value cannot be read back: `INTERNAL`.
    #[error("stored webhook value {column} is unreadable: {value:?}")]
    StoredValue {
        /// The column.
        column: &'static str,
        /// What it holds.
        value: String,
    },
}

impl From<projections::stored::StoredValueError> for WebhookError {
    fn from(error: projections::stored::StoredValueError) -> Self {
        WebhookError::StoredValue {
            column: error.column,
            value: error.value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_backoff_doubles_from_one_second_up_to_five_minutes() {
        let options = WebhookOptions::default();
        let waits: Vec<u64> = (1..=11).map(|n| options.backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(options.backoff(u32::MAX), Duration::from_secs(300));
    }
}
