//! Live ledger events (`Subscribe`): catch up from the log after a cursor, then follow new
//! events as they commit, through [`store::subscribe_all`], which always reads from the log
//! after the last position it delivered, so a slow client falls behind but never loses or
//! repeats an event. Only the caller's retailer's events are sent, narrowed by the optional
//! filters; each carries its `cursor`, so a client that reconnects passes the last cursor it
//! saw as `after` and resumes exactly there.
//!
//! Filters: `types` (event type names), `serialNumber` (events whose `serial`,
//! `released_serial` or re-issued serial is that serial, normalised) and `productId`
//! (events whose `product_id` or line's `product_id` is that product; `LineRemoved` and
//! `LineQuantityChanged` name no product and are not matched by it).

use super::context::{parse_position, parse_uuid, require, state};
use super::events::{EventFilter, LedgerEvent};
use crate::auth::Permission;
use async_graphql::{Context, ID, Subscription};
use futures::{Stream, StreamExt};
use store::{SubscriptionOptions, subscribe_all};

/// How far a subscription may read ahead of a client that does not take its events.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubscriptionLimits {}

/// Subscriptions.
#[derive(Default)]
pub struct LedgerSubscription;

#[Subscription]
impl LedgerSubscription {
    /// The retailer's ledger events after `after` (an event cursor; from the start of the
    /// log when not given), then live.
    async fn ledger_events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        types: Option<Vec<String>>,
        serial_number: Option<String>,
        product_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = LedgerEvent> + use<>> {
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
        let tenant = principal.tenant_id;
        let events = subscribe_all(state.store.clone(), after, SubscriptionOptions::default());
        Ok(events.filter_map(move |event| {
            let passes = match event {
                Ok(event) if filter.matches(tenant, &event) => Some(LedgerEvent(event)),
                Ok(_) => None,
                Err(error) => {
                    // The subscription retries from the same position: nothing is lost.
                    tracing::warn!(%error, "ledger subscription read failed; retrying");
                    None
                }
            };
            async move { passes }
        }))
    }
}
