//! Live ledger events (`Subscribe`): catch up from the log after a cursor, then follow new
//! events as they commit. Only the caller's retailer's events are sent, narrowed by the
//! optional filters; each carries its `cursor`, so a client that reconnects passes the last
//! cursor it saw as `after` and resumes exactly there.
//!
//! Filters: `types` (event type names), `serialNumber` (events whose `serial`,
//! `released_serial` or re-issued serial is that serial, normalised) and `productId`
//! (events whose `product_id` or line's `product_id` is that product; `LineRemoved` and
//! `LineQuantityChanged` name no product and are not matched by it).
//!
//! **Bounded memory.** Each subscription has a reader task that follows the log through
//! [`store::subscribe_all`] (always from the log, after the last position it read, so it
//! never loses or repeats an event) and puts the matching events into a channel of
//! [`SubscriptionLimits::buffer`] events; the GraphQL stream takes from that channel. A client
//! that does not take its events fills the channel. When it stays full for longer than
//! [`SubscriptionLimits::slow_client_timeout`], the reader stops: the client still gets the
//! events already buffered, then one error with `extensions.code = "SLOW_CONSUMER"` and
//! `extensions.resumeAfter` (the cursor of the last event it received; the `after` it
//! subscribed with when it received none), and the subscription completes. Resubscribing
//! with `after: resumeAfter` continues exactly there. So a subscription holds at most
//! `buffer` events, plus the one waiting to enter the channel, plus one read batch (never
//! larger than the buffer).
//!
//! When the client goes away (the stream is dropped), the channel closes and the reader ends
//! at once, whether it was waiting for new events or for room in the channel.
//! [`SubscriptionLimits::live_readers`] and [`SubscriptionLimits::events_held`] show it.

use super::context::{parse_position, parse_uuid, require, state};
use super::errors::{ApiResult, GraphqlError};
use super::events::{EventFilter, LedgerEvent};
pub use crate::subscription_limits::SubscriptionLimits;
use crate::subscription_limits::{Held, ReaderAlive};
use application::auth::Permission;
use application::{AppError, ErrorCode};
use async_graphql::{Context, ID, Subscription};
use event_schemas::TenantId;
use futures::{Stream, StreamExt};
use store::{AnyStore, Position, SubscriptionOptions, subscribe_all};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The largest log read a subscription makes (the store's default batch).
const MAX_READ_BATCH: usize = 500;

/// Subscriptions.
#[derive(Default)]
pub struct LedgerSubscription;

#[Subscription]
impl LedgerSubscription {
    /// The retailer's ledger events after `after` (an event cursor; from the start of the
    /// log when not given), then live. A client that leaves its buffer of unsent events full
    /// for too long gets them, then an error with code `SLOW_CONSUMER` and `resumeAfter`
    /// (the cursor to subscribe again with), and the subscription completes.
    async fn ledger_events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        types: Option<Vec<String>>,
        serial_number: Option<String>,
        product_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<LedgerEvent>> + use<>> {
        Ok(subscribe(ctx, after, types, serial_number, product_id).await?)
    }
}

/// The subscription `ledgerEvents` asks for, or why it is refused.
async fn subscribe(
    ctx: &Context<'_>,
    after: Option<String>,
    types: Option<Vec<String>>,
    serial_number: Option<String>,
    product_id: Option<ID>,
) -> ApiResult<impl Stream<Item = async_graphql::Result<LedgerEvent>> + use<>> {
    let principal = require(ctx, Permission::Subscribe, "subscribe to ledger events")?;
    let state = state(ctx)?;
    let after = parse_position("after", after.as_deref())?;
    let filter = EventFilter {
        stream_id: None,
        types,
        serial: EventFilter::serial("serialNumber", serial_number.as_deref())?,
        product_id: product_id
            .as_ref()
            .map(|id| parse_uuid("productId", id).map(|id| id.to_string()))
            .transpose()?,
    };
    let limits = state.subscription_limits.clone();
    let (sender, receiver) = mpsc::channel(limits.capacity());
    let reader = tokio::spawn(read_log(
        state.store.clone(),
        after,
        principal.tenant_id,
        filter,
        limits.clone(),
        sender,
    ));
    let delivery = Delivery {
        receiver,
        reader: Some(reader),
        last: after,
        limits,
    };
    Ok(futures::stream::unfold(delivery, Delivery::next))
}

/// Why a reader task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// The client left its buffer full for longer than the timeout.
    SlowConsumer,
    /// The client went away.
    ClientGone,
}

/// The reader task: follows the log and sends `tenant`'s events that pass `filter`, until
/// the client goes away or stops taking them.
async fn read_log(
    store: AnyStore,
    after: Position,
    tenant: TenantId,
    filter: EventFilter,
    limits: SubscriptionLimits,
    sender: mpsc::Sender<Held>,
) -> Stopped {
    let _alive = ReaderAlive::new(&limits.gauges);
    // A batch no larger than the buffer keeps what one subscription holds within twice it.
    let options = SubscriptionOptions {
        batch_size: limits.capacity().min(MAX_READ_BATCH),
        ..SubscriptionOptions::default()
    };
    let events = subscribe_all(store, after, options);
    futures::pin_mut!(events);
    loop {
        // Caught up, the log reader sleeps until new events commit: watch the client too, so
        // a client that leaves meanwhile does not keep a task and a pool connection busy.
        let next = tokio::select! {
            () = sender.closed() => return Stopped::ClientGone,
            next = events.next() => next,
        };
        let event = match next {
            Some(Ok(event)) if filter.matches(tenant, &event) => event,
            Some(Ok(_)) => continue,
            Some(Err(error)) => {
                // The log reader retries from the same position: nothing is lost.
                tracing::warn!(%error, "ledger subscription read failed; retrying");
                continue;
            }
            // `subscribe_all` never ends; if it did, the client resumes from its cursor.
            None => return Stopped::SlowConsumer,
        };
        let held = Held::new(event, &limits.gauges);
        match sender.send_timeout(held, limits.slow_client_timeout).await {
            Ok(()) => {}
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                tracing::info!(
                    %tenant,
                    buffer = limits.capacity(),
                    timeout = ?limits.slow_client_timeout,
                    "ledger subscription stopped: the client did not take its events"
                );
                return Stopped::SlowConsumer;
            }
            Err(mpsc::error::SendTimeoutError::Closed(_)) => return Stopped::ClientGone,
        }
    }
}

/// The client's side: the buffered events, then, once the reader has stopped and the
/// buffer is empty, one error telling the client where to resume.
struct Delivery {
    receiver: mpsc::Receiver<Held>,
    /// Taken when the closing error is sent, so the stream ends after it.
    reader: Option<JoinHandle<Stopped>>,
    /// The cursor of the last event delivered (the `after` subscribed with, before any).
    last: Position,
    limits: SubscriptionLimits,
}

impl Delivery {
    async fn next(mut self) -> Option<(async_graphql::Result<LedgerEvent>, Self)> {
        let received = self.receiver.recv().await;
        if let Some(event) = received.and_then(|mut held| held.event.take()) {
            self.last = event.position;
            return Some((Ok(LedgerEvent(event)), self));
        }
        // The reader has dropped its sender and every buffered event is delivered.
        let reader = self.reader.take()?;
        let error = match reader.await {
            Ok(Stopped::SlowConsumer) => slow_consumer(self.last, &self.limits),
            // Only a closed channel stops the reader this way, and we hold the receiver.
            Ok(Stopped::ClientGone) => return None,
            Err(error) => {
                let mut error = AppError::internal(&format!("ledger subscription reader: {error}"));
                error
                    .details
                    .push(("resumeAfter", self.last.to_string().into()));
                error
            }
        };
        Some((Err(GraphqlError::from(error).into()), self))
    }
}

/// `SLOW_CONSUMER`, with the cursor to resume after.
fn slow_consumer(last: Position, limits: &SubscriptionLimits) -> AppError {
    let mut error = AppError::new(
        ErrorCode::SlowConsumer,
        format!(
            "the subscription stopped because its buffer of {} events stayed full for {:?}: \
             subscribe again with `after: \"{last}\"` to continue after the last event received",
            limits.capacity(),
            limits.slow_client_timeout,
        ),
    );
    error.details.push(("resumeAfter", last.to_string().into()));
    error
}
