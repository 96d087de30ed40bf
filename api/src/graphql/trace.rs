//! Serial traceability: where a unit is now, who bought it and when, and every event that
//! touched it, with who did it, where, through which channel and why. Permission `Read`.

use super::context::{parse_uuid, require, state};
use super::errors::ApiResult;
use super::types::{ActorKind, Channel, Customer, Money, ReissueRef, SerialStatus};
use application::AppError;
use application::auth::Permission;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use event_schemas::ProductId;
use projections::queries::ReissueOf;
use projections::queries::trace::{MAX_PREFIX_MATCHES, serials_with_prefix};
use replay::history::{
    Cutoff, HistoryEntry, HistoryQuery, HistorySource, UnitHistory, serial_history,
};
use time::OffsetDateTime;

/// What an event did to a serialised unit.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "replay::history::UnitAction")]
pub enum SerialAction {
    /// The serial was recorded against a line.
    Assigned,
    /// The serial was taken off its line before fulfilment.
    Removed,
    /// The line was fulfilled: the unit left with the customer.
    Fulfilled,
    /// The unit came back and was refunded.
    Returned,
    /// The line was cancelled before fulfilment.
    Cancelled,
    /// The line was taken off the sale before fulfilment.
    LineRemoved,
    /// The unit's returned line was re-issued on this sale.
    Reissued,
}

/// Who did something.
#[derive(SimpleObject)]
pub struct ActorView {
    /// Staff member, integration or the system.
    pub kind: ActorKind,
    /// A stable id of the actor (user id, token id).
    pub id: String,
    /// A name for people.
    pub display_name: String,
}

/// One event that touched a unit, read from the log itself.
#[derive(SimpleObject)]
pub struct SerialHistoryEvent {
    /// The event's cursor in the log (read it in full with `events(after: ...)`).
    pub cursor: String,
    /// What happened to the unit.
    pub action: SerialAction,
    /// Where the unit stood after it.
    pub status_after: SerialStatus,
    /// `SerialAssigned`, `SerialRemoved`, `LineFulfilled`, `LineReturned`, ...
    pub event_type: String,
    /// The event's id.
    pub event_id: ID,
    /// The event's hash (SHA-256, hex): the same as in the log and in evidence files.
    pub hash: String,
    /// The sale it happened on.
    pub sale_id: ID,
    /// That sale's invoice number.
    pub invoice_number: String,
    /// The line (for a re-issue, the new line).
    pub line_number: u32,
    /// Where it happened: the outlet of the command, else of the sale.
    pub outlet_id: ID,
    /// The sale's customer, when known.
    pub customer: Option<Customer>,
    /// Who did it.
    pub actor: ActorView,
    /// Through which channel.
    pub channel: Channel,
    /// The reason given (removal, cancellation, return).
    pub reason: Option<String>,
    /// The amount refunded (return).
    pub refund: Option<Money>,
    /// For a re-issue, the returned line it re-issues; for an assignment on a re-issue
    /// line, the returned unit this serial replaces.
    pub reissue_of: Option<ReissueRef>,
    /// The serial of the unit `reissueOf` names, when one was recorded.
    pub reissue_of_serial: Option<String>,
    /// For a re-issue: the line that replaces the returned unit, and the replacement's
    /// serial once one is recorded (`replacedBySerial`).
    pub replaced_by: Option<ReissueRef>,
    /// The replacement unit's serial, once recorded on the re-issue line.
    pub replaced_by_serial: Option<String>,
    /// When it was recorded.
    pub recorded_at: OffsetDateTime,
}

impl From<HistoryEntry> for SerialHistoryEvent {
    fn from(entry: HistoryEntry) -> Self {
        let outlet_id = entry.outlet_id();
        Self {
            cursor: entry.position.to_string(),
            action: entry.action.into(),
            status_after: entry.status_after.into(),
            event_type: entry.event.event_type.clone(),
            event_id: ID(entry.event.event_id.to_string()),
            hash: entry.event.hash.clone(),
            sale_id: ID(entry.sale_id.to_string()),
            invoice_number: entry.invoice_number,
            line_number: entry.line_number.0,
            outlet_id: ID(outlet_id.to_string()),
            customer: entry.customer.map(Customer::from),
            actor: ActorView {
                kind: entry.actor.kind.into(),
                id: entry.actor.id,
                display_name: entry.actor.display_name,
            },
            channel: entry.channel.into(),
            reason: entry.reason,
            refund: entry.refund.map(Money::from),
            reissue_of_serial: entry.reissue_of.as_ref().and_then(|of| of.serial.clone()),
            reissue_of: entry.reissue_of.map(|of| {
                ReissueRef::from(ReissueOf {
                    sale_id: of.sale_id,
                    invoice_number: of.invoice_number,
                    line_number: of.line_number,
                })
            }),
            replaced_by_serial: entry.replaced_by.as_ref().and_then(|by| by.serial.clone()),
            replaced_by: entry.replaced_by.map(|by| {
                ReissueRef::from(ReissueOf {
                    sale_id: by.sale_id,
                    invoice_number: by.invoice_number,
                    line_number: by.line_number,
                })
            }),
            recorded_at: entry.event.recorded_at,
        }
    }
}

/// A serialised unit (a product and a serial) with its history.
#[derive(SimpleObject)]
pub struct SerialTrace {
    /// The product.
    pub product_id: ID,
    /// The serial (normalised).
    pub serial_number: String,
    /// The SKU on the line that last held it.
    pub sku: String,
    /// The product name on that line.
    pub product_name: String,
    /// Allocated, fulfilled, returned or released.
    pub status: SerialStatus,
    /// The sale that holds (or last held) it.
    pub sale_id: ID,
    /// That sale's invoice number.
    pub invoice_number: String,
    /// The line.
    pub line_number: u32,
    /// That sale's outlet.
    pub outlet_id: ID,
    /// Who holds or bought it, when known.
    pub customer: Option<Customer>,
    /// When the serial was recorded on that line.
    pub allocated_at: OffsetDateTime,
    /// When that line was fulfilled (sold and handed over).
    pub fulfilled_at: Option<OffsetDateTime>,
    /// When the unit came back.
    pub returned_at: Option<OffsetDateTime>,
    /// Every event that touched the unit, oldest first.
    pub history: Vec<SerialHistoryEvent>,
}

impl From<UnitHistory> for SerialTrace {
    fn from(unit: UnitHistory) -> Self {
        let record = unit.current;
        Self {
            product_id: ID(record.product_id.to_string()),
            serial_number: record.serial,
            sku: record.sku,
            product_name: record.product_name,
            status: record.status.into(),
            sale_id: ID(record.sale_id.to_string()),
            invoice_number: record.invoice_number,
            line_number: record.line_number.0,
            outlet_id: ID(record.outlet_id.to_string()),
            customer: record.customer.map(Customer::from),
            allocated_at: record.allocated_at,
            fulfilled_at: record.fulfilled_at,
            returned_at: record.returned_at,
            history: unit
                .entries
                .into_iter()
                .map(SerialHistoryEvent::from)
                .collect(),
        }
    }
}

/// Traceability queries.
#[derive(Default)]
pub struct TraceQuery;

#[Object]
impl TraceQuery {
    /// Every unit with this serial (as typed or scanned), optionally of one product or
    /// SKU: its status, who bought it and when, and its full history. Empty when the serial
    /// was never recorded. With `asOf`, each unit as it stood then, with its history up to
    /// then (empty when the serial had not been recorded by then).
    async fn serial_trace(
        &self,
        ctx: &Context<'_>,
        serial_number: String,
        product_id: Option<ID>,
        sku: Option<String>,
        as_of: Option<OffsetDateTime>,
    ) -> ApiResult<Vec<SerialTrace>> {
        let principal = require(ctx, Permission::Read, "trace serial numbers")?;
        let state = state(ctx)?;
        // The traceability index says which sales to read; the history itself is folded
        // from their events, as of the index's checkpoint (like every read model).
        let query = HistoryQuery {
            product_id: product_id
                .as_ref()
                .map(|id| parse_uuid("productId", id).map(ProductId))
                .transpose()?,
            sku,
            source: HistorySource::IndexOnly,
            cutoff: as_of.map(Cutoff::Time),
            ..HistoryQuery::new(principal.tenant_id, serial_number)
        };
        let history = serial_history(&state.store, &query)
            .await
            .map_err(AppError::from)?;
        Ok(history.units.into_iter().map(SerialTrace::from).collect())
    }

    /// The recorded serials that start with `prefix` (as typed or scanned), in order: at
    /// most `first` (1 to 100, default 20). The serial lookup's search as the user types.
    async fn serial_numbers(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        first: Option<i32>,
    ) -> ApiResult<Vec<String>> {
        let principal = require(ctx, Permission::Read, "search serial numbers")?;
        let state = state(ctx)?;
        let limit = u32::try_from(first.unwrap_or(20))
            .ok()
            .filter(|first| (1..=MAX_PREFIX_MATCHES).contains(first))
            .ok_or_else(|| {
                AppError::invalid("first", &format!("must be 1 to {MAX_PREFIX_MATCHES}"))
            })?;
        Ok(
            serials_with_prefix(&state.db, principal.tenant_id, &prefix, limit)
                .await
                .map_err(AppError::from)?,
        )
    }
}
