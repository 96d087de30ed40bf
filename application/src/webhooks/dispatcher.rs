//! The dispatcher: a supervisor that keeps one delivery task per active endpoint, and the
//! task that delivers to one endpoint.
//!
//! A task loops: load the endpoint (stop when removed or dead-lettered), hold its lease, read
//! a batch of the log after its checkpoint, and deliver each event the endpoint wants, one at
//! a time, in log order. Log order is commit order and keeps each stream's revision order,
//! so delivering strictly one event after another is what makes "in order per stream" hold;
//! it also means an event is never delivered before an earlier one has been answered 2xx.
//!
//! A failed attempt (not 2xx, timeout, connection refused) is recorded and the same event is
//! tried again after [`WebhookOptions::backoff`]; the failure count is stored, so a restart
//! continues the schedule. After `max_attempts` failures the endpoint is dead-lettered and
//! its task ends; nothing after that event is delivered until `resumeWebhook`.
//!
//! Several server processes on one database each run a dispatcher. An endpoint's lease
//! (`lease_owner`, `lease_until`, taken by a conditional UPDATE on either backend) lets one
//! process at a time deliver to it; the others skip it until the lease expires (its holder
//! died) or is released (its holder stopped). Every dispatcher write is also conditional on
//! the checkpoint it read and on holding the lease, so even a holder that stalled past its
//! lease cannot move a checkpoint another process moved.
//!
//! The task wakes on this process's appends (the store's wakeups) and otherwise polls every
//! `poll_interval`; the supervisor looks for new or resumed endpoints at the same interval.

use super::registry::{DispatchTarget, NewAttempt, Outcome, Registry};
use super::{ATTEMPT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, WebhookError, WebhookOptions};
use std::collections::HashMap;
use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{AnyStore, EventStore, RecordedEvent};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The longest error text recorded for an attempt.
const MAX_ERROR_CHARS: usize = 500;

/// The running dispatcher.
pub struct DispatcherHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl DispatcherHandle {
    /// Stops the dispatcher after its current delivery (a request in flight is answered or
    /// times out, and its attempt recorded), releasing the endpoints' leases.
    pub async fn stop(self) {
        // Receivers live in the tasks; a send error means they have all ended already.
        let _ = self.stop.send(true);
        if let Some(task) = self.task
            && let Err(error) = task.await
        {
            tracing::error!(%error, "webhook dispatcher ended abnormally");
        }
    }
}

struct Shared {
    registry: Registry,
    store: AnyStore,
    options: WebhookOptions,
    client: reqwest::Client,
    /// This dispatcher's id: the lease owner it writes.
    instance: Uuid,
}

/// Starts delivering to every registered endpoint.
pub fn spawn(store: AnyStore, options: WebhookOptions) -> DispatcherHandle {
    let (stop, stopped) = watch::channel(false);
    // Redirects are not followed: a 3xx is a failure, as with the payment platforms, so a
    // signed body never goes to a URL the retailer did not register.
    let client = reqwest::Client::builder()
        .timeout(options.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "serial-ledger-webhooks/",
            env!("CARGO_PKG_VERSION")
        ))
        .build();
    let client = match client {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "webhooks disabled: the HTTP client cannot be built");
            return DispatcherHandle { stop, task: None };
        }
    };
    let shared = Arc::new(Shared {
        registry: Registry::new(store.clone()),
        store,
        options,
        client,
        instance: Uuid::now_v7(),
    });
    DispatcherHandle {
        stop,
        task: Some(tokio::spawn(supervise(shared, stopped))),
    }
}

/// Waits `duration`; false when the dispatcher is stopping (then at once).
async fn pause(stop: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    if *stop.borrow_and_update() {
        return false;
    }
    tokio::select! {
        changed = stop.changed() => changed.is_ok() && !*stop.borrow(),
        () = tokio::time::sleep(duration) => true,
    }
}

async fn supervise(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut workers: HashMap<Uuid, JoinHandle<()>> = HashMap::new();
    loop {
        workers.retain(|_, worker| !worker.is_finished());
        match shared.registry.active_ids().await {
            Ok(ids) => {
                for id in ids {
                    workers.entry(id).or_insert_with(|| {
                        tokio::spawn(run_endpoint(shared.clone(), id, stop.clone()))
                    });
                }
            }
            Err(error) => {
                tracing::warn!(%error, "webhook dispatcher cannot list endpoints; retrying");
            }
        }
        if !pause(&mut stop, shared.options.poll_interval).await {
            break;
        }
    }
    for (id, worker) in workers {
        if let Err(error) = worker.await {
            tracing::error!(webhook = %id, %error, "webhook delivery task ended abnormally");
        }
    }
}

/// What a step of an endpoint's task asks for next.
enum Step {
    /// Go on at once (progress was made, or the endpoint changed and must be reloaded).
    Again,
    /// Caught up: wait for new events.
    Idle,
    /// End the task: removed, dead-lettered, leased by another process, or stopping.
    Done,
}

struct Worker {
    shared: Arc<Shared>,
    id: Uuid,
    /// Until when this process holds the lease, as last written.
    lease_until: Option<Instant>,
    wakeups: watch::Receiver<u64>,
}

async fn run_endpoint(shared: Arc<Shared>, id: Uuid, mut stop: watch::Receiver<bool>) {
    let wakeups = shared.store.wakeups();
    let mut worker = Worker {
        shared,
        id,
        lease_until: None,
        wakeups,
    };
    loop {
        if *stop.borrow() {
            break;
        }
        match worker.step(&mut stop).await {
            Ok(Step::Again) => {}
            Ok(Step::Idle) => {
                if !worker.wait_for_events(&mut stop).await {
                    break;
                }
            }
            Ok(Step::Done) => break,
            Err(error) => {
                tracing::warn!(webhook = %id, %error, "webhook delivery failed to read or record; retrying");
                if !pause(&mut stop, worker.shared.options.poll_interval).await {
                    break;
                }
            }
        }
    }
    if worker.lease_until.is_some() {
        let shared = &worker.shared;
        if let Err(error) = shared.registry.release_lease(id, shared.instance).await {
            tracing::warn!(webhook = %id, %error, "could not release a webhook lease; it expires by itself");
        }
    }
}

impl Worker {
    /// Sleeps until this process appends, the poll interval passes, or the dispatcher stops
    /// (false).
    async fn wait_for_events(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        let poll = self.shared.options.poll_interval;
        tokio::select! {
            changed = stop.changed() => changed.is_ok() && !*stop.borrow(),
            _ = self.wakeups.changed() => true,
            () = tokio::time::sleep(poll) => true,
        }
    }

    /// Makes sure this process holds the endpoint's lease for at least `needed` more; false
    /// when another process holds it.
    async fn hold_lease(&mut self, needed: Duration) -> Result<bool, WebhookError> {
        let now = Instant::now();
        if self.lease_until.is_some_and(|until| until > now + needed) {
            return Ok(true);
        }
        let length = needed + self.shared.options.lease_ttl;
        let wall_now = OffsetDateTime::now_utc();
        let claimed = self
            .shared
            .registry
            .claim_lease(self.id, self.shared.instance, wall_now, wall_now + length)
            .await?;
        // Renew when less than the TTL is left beyond what is needed, so a lease is not
        // rewritten before every delivery.
        self.lease_until = claimed.then(|| now + length - self.shared.options.lease_ttl / 2);
        Ok(claimed)
    }

    async fn step(&mut self, stop: &mut watch::Receiver<bool>) -> Result<Step, WebhookError> {
        let options = self.shared.options.clone();
        let busy = options.request_timeout * 2;
        // The lease first, the checkpoint after: a checkpoint read before the lease was taken
        // may be one that the previous holder moved on from (delivered, recorded, released)
        // in between, and delivering from it would send that event again.
        if !self.hold_lease(busy).await? {
            tracing::debug!(webhook = %self.id, "another process delivers to this webhook");
            return Ok(Step::Done);
        }
        let Some(target) = self.shared.registry.target(self.id).await? else {
            return Ok(Step::Done);
        };
        if target.endpoint.status != super::EndpointStatus::Active {
            return Ok(Step::Done);
        }
        // Mark the current tick seen before reading, so an append committed after this read
        // still wakes the wait.
        self.wakeups.borrow_and_update();
        let batch = self
            .shared
            .store
            .read_all(target.endpoint.checkpoint, options.batch_size)
            .await?;
        let Some(last) = batch.last().map(|event| event.position) else {
            return Ok(Step::Idle);
        };
        let mut checkpoint = target.endpoint.checkpoint;
        let mut failures = target.endpoint.failures;
        for event in &batch {
            if !target.wants(event) {
                continue;
            }
            let body = super::delivery_body(event);
            loop {
                if *stop.borrow() || !self.hold_lease(busy).await? {
                    return Ok(Step::Done);
                }
                let attempt = failures + 1;
                let mut record = self.deliver(&target, event, attempt, &body).await;
                if record.outcome == Outcome::Failed && attempt >= options.max_attempts {
                    record.outcome = Outcome::DeadLettered;
                }
                let recorded = self
                    .shared
                    .registry
                    .record_attempt(&target, self.shared.instance, checkpoint, &record)
                    .await?;
                if !recorded {
                    // Removed, resumed or moved by another process: reload and see.
                    return Ok(Step::Again);
                }
                match record.outcome {
                    Outcome::Delivered => {
                        checkpoint = event.position;
                        failures = 0;
                        break;
                    }
                    Outcome::DeadLettered => {
                        tracing::warn!(
                            webhook = %self.id,
                            event = %record.event_id,
                            attempts = attempt,
                            "webhook dead-lettered: delivery stopped until it is resumed"
                        );
                        return Ok(Step::Done);
                    }
                    Outcome::Failed => {
                        failures = attempt;
                        let wait = options.backoff(attempt);
                        if !self.hold_lease(wait + busy).await? {
                            return Ok(Step::Done);
                        }
                        if !pause(stop, wait).await {
                            return Ok(Step::Done);
                        }
                    }
                }
            }
        }
        // Events of other retailers and types after the last delivered one: move over them,
        // so the next read starts after them.
        if last > checkpoint
            && !self
                .shared
                .registry
                .skip_to(self.id, self.shared.instance, checkpoint, last)
                .await?
        {
            return Ok(Step::Again);
        }
        Ok(Step::Again)
    }

    /// POSTs one event; the attempt as it is to be recorded (delivered or failed).
    async fn deliver(
        &self,
        target: &DispatchTarget,
        event: &RecordedEvent,
        attempt: u32,
        body: &[u8],
    ) -> NewAttempt {
        let at = OffsetDateTime::now_utc();
        let signature = super::signature_header(&target.secret, at.unix_timestamp(), body);
        let event_id = event.envelope.event_id;
        let request = self
            .shared
            .client
            .post(&target.endpoint.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_ID_HEADER, event_id.to_string())
            .header(ATTEMPT_HEADER, attempt.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body.to_vec());
        let started = Instant::now();
        let (http_status, error) = match request.send().await {
            Ok(response) if response.status().is_success() => {
                (Some(response.status().as_u16()), None)
            }
            Ok(response) => {
                let status = response.status();
                (Some(status.as_u16()), Some(format!("HTTP {status}")))
            }
            Err(error) => (
                error.status().map(|status| status.as_u16()),
                Some(describe(error, self.shared.options.request_timeout)),
            ),
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let outcome = if error.is_none() {
            Outcome::Delivered
        } else {
            Outcome::Failed
        };
        // The URL and secret are never logged: the webhook id identifies the endpoint.
        match &error {
            None => {
                tracing::debug!(webhook = %target.endpoint.id, event = %event_id, attempt, duration_ms, "webhook delivered")
            }
            Some(error) => {
                tracing::info!(webhook = %target.endpoint.id, event = %event_id, attempt, duration_ms, %error, "webhook delivery failed")
            }
        }
        NewAttempt {
            event_id,
            cursor: event.position,
            attempt,
            at,
            http_status,
            error,
            duration_ms,
            outcome,
        }
    }
}

/// A failed request as recorded: the cause chain without the URL (which may carry tokens in
/// its query), shortened.
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    let error = error.without_url();
    let mut text = if error.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else {
        error.to_string()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.chars().count() > MAX_ERROR_CHARS {
        text = text.chars().take(MAX_ERROR_CHARS).collect();
    }
    text
}
