//! Webhooks (`ManageIntegrations`, managers only): register, list, remove and resume the
//! retailer's endpoints, and read their delivery attempts. Everything is confined to the
//! caller's retailer: another retailer's webhook id is `NOT_FOUND`.
//!
//! A new endpoint receives the events recorded after its registration (the head of the log
//! at that moment), or every event after `after` when that cursor is given. The secret is
//! accepted once and never returned. Delivery itself is [`application::webhooks`].

use super::context::{page_size, parse_position, parse_uuid, require, state};
use super::errors::ApiResult;
use application::AppError;
use application::auth::{Permission, Principal};
use application::webhooks::{
    DeliveryAttempt, Endpoint, EndpointStatus, Outcome, Registration, Registry,
};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use time::OffsetDateTime;

/// Whether a webhook is being delivered to.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Events are delivered as they are recorded.
    Active,
    /// Delivery stopped at an event that failed every attempt (see `deadLetter`);
    /// `resumeWebhook` restarts at that event.
    DeadLettered,
}

/// How a delivery attempt ended.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Answered 2xx: the webhook's cursor moved past the event.
    Delivered,
    /// Not answered 2xx (or not at all): the event will be tried again after a backoff.
    Failed,
    /// Failed, and it was the last attempt: the webhook is dead-lettered.
    DeadLettered,
}

/// Where and why delivery stopped.
#[derive(SimpleObject)]
pub struct WebhookDeadLetter {
    /// The event that could not be delivered (the next one to deliver on resume).
    pub event_id: ID,
    /// Its cursor in the log.
    pub cursor: String,
    /// How many attempts were made at it.
    pub attempts: u32,
    /// The last attempt's error.
    pub last_error: String,
    /// When delivery stopped.
    pub at: OffsetDateTime,
}

/// A registered webhook endpoint (its secret is never shown).
#[derive(SimpleObject)]
pub struct Webhook {
    /// The webhook's id.
    pub id: ID,
    /// Where events are POSTed.
    pub url: String,
    /// The event types delivered; empty for every type.
    pub event_types: Vec<String>,
    /// Active or dead-lettered.
    pub status: WebhookStatus,
    /// How far delivery has come: every wanted event up to this cursor has been delivered
    /// (answered 2xx). Compare with an event's `cursor`.
    pub cursor: String,
    /// Why delivery stopped, when dead-lettered.
    pub dead_letter: Option<WebhookDeadLetter>,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

impl From<Endpoint> for Webhook {
    fn from(endpoint: Endpoint) -> Self {
        Self {
            id: ID(endpoint.id.to_string()),
            url: endpoint.url,
            event_types: endpoint.event_types,
            status: match endpoint.status {
                EndpointStatus::Active => WebhookStatus::Active,
                EndpointStatus::DeadLettered => WebhookStatus::DeadLettered,
            },
            cursor: endpoint.checkpoint.to_string(),
            dead_letter: endpoint.dead_letter.map(|dead| WebhookDeadLetter {
                event_id: ID(dead.event_id.to_string()),
                cursor: dead.cursor.to_string(),
                attempts: dead.attempts,
                last_error: dead.last_error,
                at: dead.at,
            }),
            created_at: endpoint.created_at,
        }
    }
}

/// One attempt to deliver an event.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    /// The event.
    pub event_id: ID,
    /// The event's cursor in the log.
    pub cursor: String,
    /// 1 for the first attempt at this event, 2 for the first retry, ...
    pub attempt: u32,
    /// When the attempt started.
    pub at: OffsetDateTime,
    /// The HTTP status answered, or null when there was no answer (timeout, refused).
    pub http_status: Option<i32>,
    /// Why it failed; null when delivered.
    pub error: Option<String>,
    /// How long the request took, in milliseconds.
    pub duration_ms: u64,
    /// How it ended.
    pub outcome: DeliveryOutcome,
}

impl From<DeliveryAttempt> for WebhookDelivery {
    fn from(attempt: DeliveryAttempt) -> Self {
        Self {
            event_id: ID(attempt.event_id.to_string()),
            cursor: attempt.cursor.to_string(),
            attempt: attempt.attempt,
            at: attempt.at,
            http_status: attempt.http_status.map(i32::from),
            error: attempt.error,
            duration_ms: attempt.duration_ms,
            outcome: match attempt.outcome {
                Outcome::Delivered => DeliveryOutcome::Delivered,
                Outcome::Failed => DeliveryOutcome::Failed,
                Outcome::DeadLettered => DeliveryOutcome::DeadLettered,
            },
        }
    }
}

/// A page of delivery attempts, newest first.
pub type WebhookDeliveryConnection = Connection<String, WebhookDelivery, EmptyFields, EmptyFields>;

/// What `registerWebhook` takes.
#[derive(InputObject)]
pub struct RegisterWebhookInput {
    /// An http or https URL with a host; https in production.
    pub url: String,
    /// Event type names to deliver (e.g. `SerialAssigned`); null or empty for every type.
    pub event_types: Option<Vec<String>>,
    /// The key deliveries are signed with (HMAC-SHA256), at least 16 characters. Shown
    /// nowhere after registration: keep it.
    pub secret: String,
    /// Deliver the events after this cursor too (replay history); by default only events
    /// recorded from registration on.
    pub after: Option<String>,
}

fn manager<'a>(ctx: &Context<'a>, what: &str) -> Result<(&'a Principal, Registry), AppError> {
    let principal = require(ctx, Permission::ManageIntegrations, what)?;
    let registry = Registry::new(state(ctx)?.store.clone());
    Ok((principal, registry))
}

/// Webhook queries.
#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The retailer's webhooks, oldest first. Managers only.
    async fn webhooks(&self, ctx: &Context<'_>) -> ApiResult<Vec<Webhook>> {
        let (principal, registry) = manager(ctx, "read webhooks")?;
        let endpoints = registry
            .endpoints(principal.tenant_id)
            .await
            .map_err(AppError::from)?;
        Ok(endpoints.into_iter().map(Webhook::from).collect())
    }

    /// A webhook's delivery attempts, newest first (`after`: a cursor of this connection,
    /// for older ones). Managers only.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity + 1")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<WebhookDeliveryConnection> {
        let (principal, registry) = manager(ctx, "read webhook deliveries")?;
        let id = parse_uuid("webhookId", &webhook_id)?;
        let first = page_size(first, 50)?.min(500);
        let before = after
            .map(|cursor| {
                cursor
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::invalid("after", "is not a cursor of this connection"))
            })
            .transpose()?;
        // One more than asked tells whether there is a next page.
        let mut attempts = registry
            .deliveries(principal.tenant_id, id, first.saturating_add(1), before)
            .await
            .map_err(AppError::from)?;
        let has_next_page = attempts.len() > usize::try_from(first).unwrap_or(usize::MAX);
        attempts.truncate(usize::try_from(first).unwrap_or(usize::MAX));
        let mut connection = Connection::new(before.is_some(), has_next_page);
        connection.edges.extend(attempts.into_iter().map(|attempt| {
            Edge::new(attempt.sequence.to_string(), WebhookDelivery::from(attempt))
        }));
        Ok(connection)
    }
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint that receives the retailer's events, signed with `secret`.
    /// Managers only.
    async fn register_webhook(
        &self,
        ctx: &Context<'_>,
        input: RegisterWebhookInput,
    ) -> ApiResult<Webhook> {
        let (principal, registry) = manager(ctx, "register webhooks")?;
        let after = match input.after.as_deref() {
            Some(cursor) => Some(parse_position("after", Some(cursor))?),
            None => None,
        };
        let registration = Registration {
            url: input.url,
            event_types: input.event_types.unwrap_or_default(),
            secret: input.secret,
            after,
        };
        let endpoint = registry
            .register(principal.tenant_id, registration)
            .await
            .map_err(AppError::from)?;
        Ok(endpoint.into())
    }

    /// Removes a webhook and its delivery attempts; nothing more is sent to it. Returns its
    /// id. Managers only.
    async fn remove_webhook(&self, ctx: &Context<'_>, id: ID) -> ApiResult<ID> {
        let (principal, registry) = manager(ctx, "remove webhooks")?;
        let webhook_id = parse_uuid("id", &id)?;
        registry
            .remove(principal.tenant_id, webhook_id)
            .await
            .map_err(AppError::from)?;
        Ok(ID(webhook_id.to_string()))
    }

    /// Restarts a dead-lettered webhook at the event it stopped at, with a fresh count of
    /// attempts (an active webhook is left as it is). Managers only.
    async fn resume_webhook(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Webhook> {
        let (principal, registry) = manager(ctx, "resume webhooks")?;
        let webhook_id = parse_uuid("id", &id)?;
        let endpoint = registry
            .resume(principal.tenant_id, webhook_id)
            .await
            .map_err(AppError::from)?;
        Ok(endpoint.into())
    }
}
