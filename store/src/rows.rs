//! An event row as both backends read it, and turning it back into a [`RecordedEvent`].
//!
//! One struct serves both backends: the columns whose types differ (ids, the recording time)
//! are typed by the backend's [`Dialect`], which also says how to read them back, so adding
//! or changing a column is done here once.

use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::types::RecordedEvent;
use event_schemas::{
    Actor, ActorKind, Channel, CommandId, CommandMetadata, EventEnvelope, OutletId, TenantId,
};
use sqlx::FromRow;

/// The columns of an event row, as selected by [`Dialect::EVENT_COLUMNS`].
#[derive(FromRow)]
pub(crate) struct StoredEvent<B: Dialect> {
    global_position: i64,
    /// The writing transaction's id as text; NULL on a backend whose positions do not carry
    /// one (see [`Dialect::position`]).
    transaction_id_text: Option<String>,
    event_id: B::Id,
    tenant_id: B::Id,
    stream_id: String,
    stream_revision: i64,
    recorded_at: B::Time,
    event_type: String,
    schema_version: i64,
    payload: String,
    command_id: B::Id,
    correlation_id: B::Id,
    causation_id: Option<B::Id>,
    actor_kind: String,
    actor_id: String,
    actor_name: String,
    channel: String,
    outlet_id: Option<B::Id>,
    previous_hash: String,
    hash: String,
}

impl<B: Dialect> StoredEvent<B> {
    /// The event as stored, or [`StoreError::CorruptEvent`] naming what cannot be read back.
    pub(crate) fn into_recorded(self) -> Result<RecordedEvent, StoreError> {
        let position = B::position(self.global_position, self.transaction_id_text.as_deref())?;
        let global_position = to_u64(self.global_position);
        let corrupt = |reason: String| StoreError::CorruptEvent {
            global_position,
            reason,
        };
        let uuid = |column: &str, stored: B::Id| B::uuid(column, stored).map_err(corrupt);
        let optional_uuid = |column: &str, stored: Option<B::Id>| {
            stored.map(|stored| uuid(column, stored)).transpose()
        };
        let event_id = uuid("event_id", self.event_id)?;
        let tenant_id = uuid("tenant_id", self.tenant_id)?;
        let recorded_at = B::time(self.recorded_at).map_err(corrupt)?;
        let command_id = uuid("command_id", self.command_id)?;
        let correlation_id = uuid("correlation_id", self.correlation_id)?;
        let causation_id = optional_uuid("causation_id", self.causation_id)?;
        let outlet_id = optional_uuid("outlet_id", self.outlet_id)?;
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
                event_id,
                tenant_id: TenantId(tenant_id),
                stream_id: self.stream_id,
                stream_revision,
                global_position,
                recorded_at,
                metadata: CommandMetadata {
                    command_id: CommandId(command_id),
                    correlation_id,
                    causation_id,
                    actor: Actor {
                        kind: actor_kind,
                        id: self.actor_id,
                        display_name: self.actor_name,
                    },
                    channel,
                    outlet_id: outlet_id.map(OutletId),
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

/// Decodes rows read with [`Dialect::EVENT_COLUMNS`], failing at the first unreadable one.
pub(crate) fn into_recorded<B: Dialect>(
    rows: Vec<StoredEvent<B>>,
) -> Result<Vec<RecordedEvent>, StoreError> {
    rows.into_iter().map(StoredEvent::into_recorded).collect()
}

/// Converts a count or revision read from SQL (signed) to the API's unsigned form.
pub(crate) fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or_default()
}

/// Converts a revision to SQL's signed integers; revisions never approach `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
