//! The command service: **load, decide, append, retry on conflict**.
//!
//! Every command names one aggregate's stream (named in one place, [`streams`]). The
//! service reads that stream fully, folds it with the aggregate's decider, loads whatever
//! facts the command needs from other aggregates (a product snapshot, the retailer's
//! settings, a returned line of another sale, the package graph), calls the pure `decide`,
//! and appends the events with the stream's revision as the expected revision. Sale
//! commands append the uniqueness claims [`domain::claims::claims_for`] derives from their
//! events in the same transaction.
//!
//! - A command that changes nothing (`decide` returns no events) is a success that appends
//!   nothing.
//! - When another writer moved the stream first ([`store::StoreError::WrongExpectedRevision`])
//!   the command is reloaded, decided again and retried (see [`RetryPolicy`]) with the same
//!   [`CommandMetadata`]; after the last attempt it fails with [`CommandError::Conflict`].
//! - When a claim is held by another sale ([`store::StoreError::ClaimConflict`]) the holder
//!   is parsed back and the command fails with the domain's typed error
//!   (`SERIAL_ALREADY_ASSIGNED`, `INVOICE_NUMBER_TAKEN`, `ALREADY_REISSUED`).
//! - A command id already applied is not applied again: found in the stream being loaded,
//!   or reported by the store, it returns the original events and append result with
//!   `deduplicated: true`.
//!
//! The service never invents who, where or which command: the caller builds a
//! [`CommandContext`] (the API from the auth token and the request).

mod error;
mod execute;
mod products;
mod sales;

pub use error::CommandError;
pub use event_schemas::streams;
pub use products::NewProduct;

use event_schemas::{CommandMetadata, LedgerEvent, LineNumber, TenantId};
use std::future::Future;
use std::time::Duration;
use store::{AppendResult, EventStore, Position};
use tracing::Instrument;

/// Who issues a command, for which retailer, and the command's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandContext {
    /// The retailer; every stream read and written is this tenant's.
    pub tenant_id: TenantId,
    /// Actor, channel, outlet, correlation/causation ids and the command id (the
    /// idempotency key), written on every event the command records.
    pub metadata: CommandMetadata,
}

/// What a successful command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The events recorded, in order; empty when the command changed nothing.
    pub events: Vec<LedgerEvent>,
    /// The append, or `None` when there was nothing to record. Its `position` is what a
    /// reader must pass to see the command's effect; `deduplicated` is true when the command
    /// id had already been applied (then `events` are the ones recorded back then).
    pub append: Option<AppendResult>,
    /// The new lines POS should prompt a serial for (auto-prompt on, REQUIRED lines), after
    /// an add or a re-issue; empty otherwise.
    pub prompt_serial_for: Vec<LineNumber>,
}

impl CommandOutcome {
    fn recorded(events: Vec<LedgerEvent>, append: AppendResult) -> Self {
        Self {
            events,
            append: Some(append),
            prompt_serial_for: Vec::new(),
        }
    }

    fn nothing_to_record() -> Self {
        Self {
            events: Vec::new(),
            append: None,
            prompt_serial_for: Vec::new(),
        }
    }

    /// Where the command's last event is in the log, when something was (or had been)
    /// recorded: wait for a read model to pass it to read your own writes.
    pub fn position(&self) -> Option<Position> {
        self.append.as_ref().map(|append| append.position)
    }

    /// Whether the command id had already been applied and nothing new was written.
    pub fn deduplicated(&self) -> bool {
        self.append
            .as_ref()
            .is_some_and(|append| append.deduplicated)
    }
}

/// How often a command is retried when its stream moved between load and append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub max_attempts: u32,
    /// Before attempt `n + 1`, wait a random time up to `n × backoff`, so that writers
    /// that collided do not collide again in lockstep.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 10,
            backoff: Duration::from_millis(2),
        }
    }
}

/// The command service over an event store. Cheap to clone when the store is.
#[derive(Debug, Clone)]
pub struct CommandService<S> {
    store: S,
    retry: RetryPolicy,
}

impl<S: EventStore> CommandService<S> {
    /// A service writing to `store` with the default [`RetryPolicy`].
    pub fn new(store: S) -> Self {
        Self {
            store,
            retry: RetryPolicy::default(),
        }
    }

    /// The same service with another retry policy.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The store behind the service.
    pub fn store(&self) -> &S {
        &self.store
    }
}

/// Runs `work` inside a span naming the command, its ids and its stream, and logs how it
/// ended: refusals at debug (they are answers, not faults), failures at warn.
async fn traced<T>(
    context: &CommandContext,
    command: &'static str,
    stream_id: &str,
    work: impl Future<Output = Result<T, CommandError>>,
) -> Result<T, CommandError> {
    let span = tracing::info_span!(
        "command",
        command,
        command_id = %context.metadata.command_id,
        correlation_id = %context.metadata.correlation_id,
        tenant_id = %context.tenant_id,
        stream = stream_id,
    );
    async move {
        let result = work.await;
        match &result {
            Ok(_) => tracing::debug!("command applied"),
            Err(error) if error.is_refusal() => {
                tracing::debug!(code = error.code(), %error, "command refused");
            }
            Err(error) => tracing::warn!(code = error.code(), %error, "command failed"),
        }
        result
    }
    .instrument(span)
    .await
}
