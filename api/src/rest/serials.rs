//! `GET /api/v1/serials/trace?serialNumber=`: a serial's history, the same history as
//! GraphQL's `serialTrace` (folded from the sales' events, as of the traceability index's
//! checkpoint).

use super::errors::{ErrorBody, RestError, RestResult};
use super::extract::{Caller, QueryParams};
use super::models::{MoneyResult, TraceEntry, TraceParams, TraceResult, TraceUnit};
use crate::state::AppState;
use application::AppError;
use application::auth::Permission;
use axum::Json;
use axum::extract::State;
use event_schemas::ProductId;
use replay::history::{HistoryEntry, HistoryQuery, HistorySource, UnitHistory, serial_history};

/// Every unit recorded with the serial (one per product), where it stands and everything
/// that happened to it: assignment, removal, fulfilment, return with refund, cancellation,
/// re-issue, with who, where, through which channel and why.
#[utoipa::path(
    get,
    path = "/api/v1/serials/trace",
    tag = "serials",
    params(TraceParams),
    responses(
        (status = 200, description = "The serial's units and their histories.", body = TraceResult),
        (status = 400, description = "A malformed serial or parameter (INVALID_SERIAL, VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not read (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "The serial was never recorded (NOT_FOUND).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn trace(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<TraceParams>,
) -> RestResult<Json<TraceResult>> {
    let principal = caller.require(Permission::Read, "trace serial numbers")?;
    let product_id = params
        .product_id
        .as_deref()
        .map(|id| super::parse_uuid("productId", id).map(ProductId))
        .transpose()?;
    let query = HistoryQuery {
        product_id,
        sku: params.sku.filter(|sku| !sku.trim().is_empty()),
        source: HistorySource::IndexOnly,
        ..HistoryQuery::new(principal.tenant_id, params.serial_number)
    };
    let history = serial_history(&state.store, &query)
        .await
        .map_err(AppError::from)?;
    if history.units.is_empty() {
        return Err(RestError(AppError::not_found(format!(
            "serial {} has never been recorded",
            history.serial
        ))));
    }
    Ok(Json(TraceResult {
        serial_number: history.serial,
        covers_up_to: history.covers_up_to.to_string(),
        units: history.units.into_iter().map(unit).collect(),
    }))
}

fn unit(unit: UnitHistory) -> TraceUnit {
    let current = unit.current;
    TraceUnit {
        product_id: current.product_id.to_string(),
        sku: current.sku,
        product_name: current.product_name,
        status: current.status.code().to_owned(),
        sale_id: current.sale_id.to_string(),
        invoice_number: current.invoice_number,
        line_number: current.line_number.0,
        history: unit.entries.iter().map(entry).collect(),
    }
}

fn entry(entry: &HistoryEntry) -> TraceEntry {
    TraceEntry {
        action: entry.action.code().to_owned(),
        status_after: entry.status_after.code().to_owned(),
        at: entry.recorded_at(),
        cursor: entry.position.to_string(),
        event_id: entry.event.event_id.to_string(),
        sale_id: entry.sale_id.to_string(),
        invoice_number: entry.invoice_number.clone(),
        line_number: entry.line_number.0,
        outlet_id: entry.outlet_id().to_string(),
        actor_kind: entry.actor.kind.code().to_owned(),
        actor_name: entry.actor.display_name.clone(),
        channel: entry.channel.code().to_owned(),
        reason: entry.reason.clone(),
        refund: entry.refund.as_ref().map(MoneyResult::from),
    }
}
