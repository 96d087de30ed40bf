//! Serial traceability: where a unit is now, who bought it and when, and every event that
//! touched it. Permission `Read`.

use super::context::{parse_uuid, require, state};
use super::errors::{ApiError, ApiResult};
use super::types::{Customer, SerialStatus};
use crate::auth::Permission;
use async_graphql::{Context, ID, Object, SimpleObject};
use event_schemas::ProductId;
use projections::queries::trace::{ProductScope, SerialTrace as Trace, trace_serial};
use time::OffsetDateTime;

/// One event that touched a unit.
#[derive(SimpleObject)]
pub struct SerialHistoryEvent {
    /// The event's cursor in the log (read it in full with `events(after: ...)`).
    pub cursor: String,
    /// `SerialAssigned`, `SerialRemoved`, `LineFulfilled`, `LineReturned`, ...
    pub event_type: String,
    /// The sale it happened on.
    pub sale_id: ID,
    /// That sale's invoice number.
    pub invoice_number: String,
    /// The line.
    pub line_number: u32,
    /// When it was recorded.
    pub recorded_at: OffsetDateTime,
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

impl From<Trace> for SerialTrace {
    fn from(trace: Trace) -> Self {
        let record = trace.record;
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
            history: trace
                .history
                .into_iter()
                .map(|event| SerialHistoryEvent {
                    cursor: event.position.to_string(),
                    event_type: event.event_type,
                    sale_id: ID(event.sale_id.to_string()),
                    invoice_number: event.invoice_number,
                    line_number: event.line_number.0,
                    recorded_at: event.recorded_at,
                })
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
    /// was never recorded.
    async fn serial_trace(
        &self,
        ctx: &Context<'_>,
        serial_number: String,
        product_id: Option<ID>,
        sku: Option<String>,
    ) -> ApiResult<Vec<SerialTrace>> {
        let principal = require(ctx, Permission::Read, "trace serial numbers")?;
        let state = state(ctx)?;
        let scope = ProductScope {
            product_id: product_id
                .as_ref()
                .map(|id| parse_uuid("productId", id).map(ProductId))
                .transpose()?,
            sku,
        };
        let traces = trace_serial(&state.db, principal.tenant_id, &serial_number, &scope)
            .await
            .map_err(ApiError::from)?;
        Ok(traces.into_iter().map(SerialTrace::from).collect())
    }
}
