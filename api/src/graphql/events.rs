//! The raw event log, as auditors read it (`ReadLog`): every event of the caller's retailer
//! in log order, each with its full envelope and its `cursor` (the log position, `COMMIT:
//! PREPARE`), which `events(after:)` and `ledgerEvents(after:)` resume from.
//!
//! The store's `read_all` reads every tenant's events; this module keeps only the caller's
//! (and the optional stream and type filters). One request scans at most
//! [`MAX_SCANNED_EVENTS`] events of the log: when that is reached before the page is full,
//! the page ends early with `hasNextPage` true and `scannedUpTo` tells where to resume when
//! the page has no edge to take a cursor from.

use super::context::{page_size, parse_position, require, state};
use super::errors::ApiResult;
use super::types::{ActorKind, Channel};
use application::auth::Permission;
use application::{AppError, ErrorCode};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Json, Object, SimpleObject};
use domain::serial::SerialNumber;
use event_schemas::{EventEnvelope, TenantId};
use store::{EventStore, RecordedEvent};
use time::OffsetDateTime;

/// Events read from the log per `read_all`.
const BATCH: usize = 500;
/// The most events one `events` request scans.
pub const MAX_SCANNED_EVENTS: usize = 20_000;

/// Who recorded an event.
#[derive(SimpleObject)]
pub struct EventActor {
    /// Staff member, integration or system.
    pub kind: ActorKind,
    /// The actor's id (the API token's id).
    pub id: String,
    /// The actor's name (the token's label).
    pub display_name: String,
}

/// A recorded event in its envelope.
pub struct LedgerEvent(pub RecordedEvent);

/// A recorded event: payload, who, where, when, why, and its place in the hash chain.
#[Object]
impl LedgerEvent {
    /// Where the event is in the log: pass it as `after` to read on from here.
    async fn cursor(&self) -> String {
        self.0.position.to_string()
    }
    /// The event's id.
    async fn event_id(&self) -> ID {
        ID(self.envelope().event_id.to_string())
    }
    /// The stream (aggregate), e.g. `sale-0190...`.
    async fn stream_id(&self) -> &str {
        &self.envelope().stream_id
    }
    /// The event's place in its stream, from 0.
    async fn stream_revision(&self) -> u64 {
        self.envelope().stream_revision
    }
    /// The event's place in the whole log.
    async fn global_position(&self) -> u64 {
        self.envelope().global_position
    }
    /// When the store recorded it.
    async fn recorded_at(&self) -> OffsetDateTime {
        self.envelope().recorded_at
    }
    /// The payload's type, e.g. `SerialAssigned`.
    async fn event_type(&self) -> &str {
        &self.envelope().event_type
    }
    /// The payload's schema version.
    async fn schema_version(&self) -> u32 {
        self.envelope().schema_version
    }
    /// The payload, as stored (see the event schemas).
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.envelope().payload.clone())
    }
    /// Who did it.
    async fn actor(&self) -> EventActor {
        let actor = &self.envelope().metadata.actor;
        EventActor {
            kind: actor.kind.into(),
            id: actor.id.clone(),
            display_name: actor.display_name.clone(),
        }
    }
    /// Through which channel.
    async fn channel(&self) -> Channel {
        self.envelope().metadata.channel.into()
    }
    /// At which outlet, when known.
    async fn outlet_id(&self) -> Option<ID> {
        self.envelope()
            .metadata
            .outlet_id
            .map(|id| ID(id.to_string()))
    }
    /// The command that recorded it (the client's idempotency key).
    async fn command_id(&self) -> ID {
        ID(self.envelope().metadata.command_id.to_string())
    }
    /// Ties together everything done for one business operation.
    async fn correlation_id(&self) -> ID {
        ID(self.envelope().metadata.correlation_id.to_string())
    }
    /// The event or command that caused this one.
    async fn causation_id(&self) -> Option<ID> {
        self.envelope()
            .metadata
            .causation_id
            .map(|id| ID(id.to_string()))
    }
    /// Hex SHA-256 of the previous event of the stream.
    async fn previous_hash(&self) -> &str {
        &self.envelope().previous_hash
    }
    /// Hex SHA-256 of this event.
    async fn hash(&self) -> &str {
        &self.envelope().hash
    }
}

impl LedgerEvent {
    fn envelope(&self) -> &EventEnvelope {
        &self.0.envelope
    }
}

/// Which events a reader wants, besides the tenant.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventFilter {
    pub stream_id: Option<String>,
    pub types: Option<Vec<String>>,
    /// Normalised.
    pub serial: Option<String>,
    pub product_id: Option<String>,
}

impl EventFilter {
    /// Whether `event` of the log is for `tenant` and passes the filter.
    pub(crate) fn matches(&self, tenant: TenantId, event: &RecordedEvent) -> bool {
        let envelope = &event.envelope;
        if envelope.tenant_id != tenant {
            return false;
        }
        if self
            .stream_id
            .as_ref()
            .is_some_and(|stream| *stream != envelope.stream_id)
        {
            return false;
        }
        if self
            .types
            .as_ref()
            .is_some_and(|types| !types.contains(&envelope.event_type))
        {
            return false;
        }
        let payload = &envelope.payload;
        if let Some(serial) = &self.serial {
            let serial_fields = [
                payload.get("serial"),
                payload.get("released_serial"),
                payload.pointer("/reissue_of/serial"),
            ];
            if !serial_fields
                .into_iter()
                .flatten()
                .any(|value| value.as_str() == Some(serial.as_str()))
            {
                return false;
            }
        }
        if let Some(product) = &self.product_id {
            let product_fields = [
                payload.get("product_id"),
                payload.pointer("/line/product_id"),
            ];
            if !product_fields
                .into_iter()
                .flatten()
                .any(|value| value.as_str() == Some(product.as_str()))
            {
                return false;
            }
        }
        true
    }

    /// The filter's serial argument, normalised like every stored serial.
    pub(crate) fn serial(field: &str, raw: Option<&str>) -> Result<Option<String>, AppError> {
        raw.map(|raw| {
            SerialNumber::parse(raw)
                .map(SerialNumber::into_string)
                .map_err(|error| {
                    AppError::new(ErrorCode::InvalidSerial, format!("{field}: {error}"))
                })
        })
        .transpose()
    }
}

/// What the `events` connection adds to Relay's.
#[derive(SimpleObject)]
pub struct EventsScan {
    /// How far the log was read for this page: pass it as `after` to go on when the page
    /// ended early (`hasNextPage` true) without an edge.
    pub scanned_up_to: String,
}

/// A page of events.
pub type EventConnection = Connection<String, LedgerEvent, EventsScan, EmptyFields>;

/// Event-log queries.
#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// The raw event log of the caller's retailer, in log order, after `after` (an event's
    /// cursor; from the start when not given), optionally of one stream and some event
    /// types. Auditors only.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity + 1")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        first: Option<i32>,
        stream_id: Option<String>,
        types: Option<Vec<String>>,
    ) -> ApiResult<EventConnection> {
        let principal = require(ctx, Permission::ReadLog, "read the event log")?;
        let state = state(ctx)?;
        let mut position = parse_position("after", after.as_deref())?;
        let wanted = usize::try_from(page_size(first, 50)?.min(500)).unwrap_or(500);
        let filter = EventFilter {
            stream_id,
            types,
            ..EventFilter::default()
        };
        let mut matched: Vec<RecordedEvent> = Vec::new();
        let mut scanned = 0_usize;
        let mut has_next_page = false;
        'scan: loop {
            let batch = state
                .store
                .read_all(position, BATCH)
                .await
                .map_err(AppError::from)?;
            let at_end = batch.len() < BATCH;
            for event in batch {
                if filter.matches(principal.tenant_id, &event) {
                    if matched.len() == wanted {
                        has_next_page = true;
                        break 'scan;
                    }
                    matched.push(event.clone());
                }
                position = event.position;
                scanned += 1;
            }
            if at_end {
                break;
            }
            if scanned >= MAX_SCANNED_EVENTS {
                has_next_page = true;
                break;
            }
        }
        let mut connection = Connection::with_additional_fields(
            false,
            has_next_page,
            EventsScan {
                scanned_up_to: position.to_string(),
            },
        );
        connection.edges.extend(
            matched
                .into_iter()
                .map(|event| Edge::new(event.position.to_string(), LedgerEvent(event))),
        );
        Ok(connection)
    }
}
