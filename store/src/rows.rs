//! Turning a stored row back into an [`EventEnvelope`], shared by both backends once each
//! has decoded its own column types.

use crate::error::StoreError;
use crate::types::{Position, RecordedEvent};
use event_schemas::{
    Actor, ActorKind, Channel, CommandId, CommandMetadata, EventEnvelope, OutletId, TenantId,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// The columns of an event row, in Rust types.
pub(crate) struct EventRow {
    pub global_position: i64,
    pub event_id: Uuid,
    pub tenant_id: Uuid,
    pub stream_id: String,
    pub stream_revision: i64,
    pub recorded_at: OffsetDateTime,
    pub event_type: String,
    pub schema_version: i64,
    pub payload: String,
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub channel: String,
    pub outlet_id: Option<Uuid>,
    pub previous_hash: String,
    pub hash: String,
}

impl EventRow {
    pub(crate) fn into_recorded(self, position: Position) -> Result<RecordedEvent, StoreError> {
        let global_position = u64::try_from(self.global_position).unwrap_or_default();
        let corrupt = |reason: String| StoreError::CorruptEvent {
            global_position,
            reason,
        };
        let payload = serde_json::from_str(&self.payload)
            .map_err(|error| corrupt(format!("payload is not JSON: {error}")))?;
        let channel = Channel::from_code(&self.channel)
            .ok_or_else(|| corrupt(format!("unknown channel {:?}", self.channel)))?;
        let actor_kind = ActorKind::from_code(&self.actor_kind)
            .ok_or_else(|| corrupt(format!("unknown actor kind {:?}", self.actor_kind)))?;
        let stream_revision = u64::try_from(self.stream_revision)
            .map_err(|_| corrupt("negative stream revision".into()))?;
        let schema_version = u32::try_from(self.schema_version)
            .map_err(|_| corrupt("schema version out of range".into()))?;
        Ok(RecordedEvent {
            envelope: EventEnvelope {
                event_id: self.event_id,
                tenant_id: TenantId(self.tenant_id),
                stream_id: self.stream_id,
                stream_revision,
                global_position,
                recorded_at: self.recorded_at,
                metadata: CommandMetadata {
                    command_id: CommandId(self.command_id),
                    correlation_id: self.correlation_id,
                    causation_id: self.causation_id,
                    actor: Actor {
                        kind: actor_kind,
                        id: self.actor_id,
                        display_name: self.actor_name,
                    },
                    channel,
                    outlet_id: self.outlet_id.map(OutletId),
                },
                event_type: self.event_type,
                schema_version,
                payload,
                previous_hash: self.previous_hash,
                hash: self.hash,
            },
            position,
        })
    }
}

/// Converts a count or revision read from SQL (signed) to the API's unsigned form.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// Converts a revision to SQL's signed integers; revisions never approach `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
