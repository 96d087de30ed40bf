//! The envelope of a stored event: who, where, when, why, and the stream's hash chain.
//!
//! The envelope derives `JsonSchema` for its published schema (`/schemas/events/envelope.json`,
//! see [`crate::json_schema`]), which describes what serde writes: every field present,
//! `Option` fields as `null` when empty.

use crate::ids::{CommandId, OutletId, TenantId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// What kind of party acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActorKind {
    /// A member of staff.
    User,
    /// A third-party system or custom integration (API token).
    Integration,
    /// The ledger itself (migrations, demo seeding).
    System,
}

impl ActorKind {
    /// The stable upper-case code stored with each event ("USER", ...).
    pub fn code(self) -> &'static str {
        match self {
            ActorKind::User => "USER",
            ActorKind::Integration => "INTEGRATION",
            ActorKind::System => "SYSTEM",
        }
    }

    /// Parses a stored code back.
    pub fn from_code(code: &str) -> Option<Self> {
        [ActorKind::User, ActorKind::Integration, ActorKind::System]
            .into_iter()
            .find(|kind| kind.code() == code)
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Actor {
    /// Staff member, integration or system.
    pub kind: ActorKind,
    /// A stable id of the actor (user id, token id).
    pub id: String,
    /// A name for people reading the history.
    pub display_name: String,
}

/// Through which part of the retail system a command arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    /// Point of sale.
    Pos,
    /// The back-office fulfilment report.
    FulfilmentReport,
    /// The back office (product and settings management).
    BackOffice,
    /// The REST API and integrations.
    Api,
    /// The Warehouse Management Service API.
    Wms,
    /// A file import (CSV mass upload).
    Import,
    /// "Apply Product Edit Setting" on product search results (one command per product).
    BulkEdit,
    /// The ledger itself.
    System,
}

impl Channel {
    /// The stable upper-case code stored with each event ("POS", "WMS", ...).
    pub fn code(self) -> &'static str {
        match self {
            Channel::Pos => "POS",
            Channel::FulfilmentReport => "FULFILMENT_REPORT",
            Channel::BackOffice => "BACK_OFFICE",
            Channel::Api => "API",
            Channel::Wms => "WMS",
            Channel::Import => "IMPORT",
            Channel::BulkEdit => "BULK_EDIT",
            Channel::System => "SYSTEM",
        }
    }

    /// Parses a stored code back.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            Channel::Pos,
            Channel::FulfilmentReport,
            Channel::BackOffice,
            Channel::Api,
            Channel::Wms,
            Channel::Import,
            Channel::BulkEdit,
            Channel::System,
        ]
        .into_iter()
        .find(|channel| channel.code() == code)
    }
}

/// What every event written by one command shares: who, where, and the ids that tie a
/// business operation together.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct CommandMetadata {
    /// The client's id for the command; a retry with the same id is applied once.
    pub command_id: CommandId,
    /// Ties together everything done for one business operation (a request, a checkout).
    pub correlation_id: Uuid,
    /// The event or command that caused this one, when there is one.
    pub causation_id: Option<Uuid>,
    /// Who did it.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// At which outlet, when the command happened at one.
    pub outlet_id: Option<OutletId>,
}

/// A stored event as every reader receives it: the payload inside its envelope.
///
/// `hash` is SHA-256 over the canonical bytes of everything here except `global_position`
/// and `hash` itself (see [`crate::event_hash`]); `previous_hash` is the `hash` of the event
/// before it in the same stream, or [`crate::GENESIS_HASH`] for a stream's first event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EventEnvelope {
    /// Unique id of this event (UUID v7).
    pub event_id: Uuid,
    /// The retailer the event belongs to.
    pub tenant_id: TenantId,
    /// The stream (aggregate) the event belongs to, e.g. `sale-0190...`.
    pub stream_id: String,
    /// The event's place in its stream, from 0.
    pub stream_revision: u64,
    /// The event's place in the whole log; increases with every event, may have gaps.
    pub global_position: u64,
    /// When the store recorded the event (UTC, microsecond precision).
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub recorded_at: OffsetDateTime,
    /// Who, where, and the command it came from.
    pub metadata: CommandMetadata,
    /// The payload's type name, e.g. `SerialAssigned`.
    pub event_type: String,
    /// The payload's schema version, from 1.
    pub schema_version: u32,
    /// The payload as stored: an object valid against the schema of its type and version,
    /// `/schemas/events/{event_type}/{schema_version}.json`.
    // Described as an object here (every payload is one); its fields depend on the type.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub payload: serde_json::Value,
    /// Hex SHA-256 of the previous event in the stream.
    #[schemars(pattern("^[0-9a-f]{64}$"))]
    pub previous_hash: String,
    /// Hex SHA-256 of this event.
    #[schemars(pattern("^[0-9a-f]{64}$"))]
    pub hash: String,
}
