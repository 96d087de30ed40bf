//! The Warehouse Management Service API's sale endpoints: lines pending serial numbers,
//! assigning and removing a line's serial, and fulfilling lines with their serials in one
//! call.

use super::errors::{ErrorBody, RestError, RestResult};
use super::extract::{Caller, IdempotencyKey, JsonBody, PathParams, QueryParams};
use super::idempotency;
use super::models::{
    AssignSerialRequest, FulfilRequest, PendingLine, PendingLinesPage, PendingLinesParams,
    RemoveSerialParams, SaleResult,
};
use crate::state::AppState;
use application::auth::Permission;
use application::commands::{CommandError, CommandOutcome};
use axum::Json;
use axum::extract::State;
use domain::sale::{AssignSerial, FulfilWithSerials, LineToFulfil, RemoveSerial};
use event_schemas::{LineNumber, OutletId, SaleId, TenantId};
use projections::queries::PageRequest;
use projections::queries::fulfilment::{FulfilmentFilter, fulfilment_report};

/// The largest page of pending lines.
const MAX_PAGE: u32 = 500;

/// Lines waiting for their serial number: open lines of REQUIRED products with none
/// recorded (the fulfilment report's "Show Items Pending Serial Number"), oldest sale first.
#[utoipa::path(
    get,
    path = "/api/v1/lines/pending-serial",
    tag = "sales",
    params(PendingLinesParams),
    responses(
        (status = 200, description = "A page of lines.", body = PendingLinesPage),
        (status = 400, description = "A malformed parameter or cursor (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not read sales (FORBIDDEN).", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn pending_lines(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PendingLinesParams>,
) -> RestResult<Json<PendingLinesPage>> {
    let principal = caller.require(Permission::Read, "read sales")?;
    let first = match params.first {
        None => 50,
        Some(first @ 1..=MAX_PAGE) => first,
        Some(_) => return Err(RestError::invalid("first", "must be from 1 to 500")),
    };
    let outlet_id = params
        .outlet_id
        .as_deref()
        .map(|id| super::parse_uuid("outletId", id).map(OutletId))
        .transpose()?;
    let filter = FulfilmentFilter {
        outlet_id,
        pending_serial_only: true,
        ..FulfilmentFilter::default()
    };
    let page = PageRequest {
        first,
        after: params.after.filter(|after| !after.is_empty()),
    };
    let page = fulfilment_report(&state.db, principal.tenant_id, &filter, &page).await?;
    let next_cursor = page
        .has_next_page
        .then(|| page.end_cursor().map(str::to_owned))
        .flatten();
    let items = page
        .edges
        .into_iter()
        .map(|edge| {
            let row = edge.node;
            PendingLine {
                sale_id: row.sale.sale_id.to_string(),
                invoice_number: row.sale.invoice_number,
                outlet_id: row.sale.outlet_id.to_string(),
                customer_name: row.sale.customer.map(|customer| customer.name),
                opened_at: row.sale.opened_at,
                line_number: row.line.line_number.0,
                product_id: row.line.product_id.to_string(),
                sku: row.line.sku,
                product_name: row.line.product_name,
            }
        })
        .collect();
    Ok(Json(PendingLinesPage { items, next_cursor }))
}

/// Records the serial of the unit on a line (replacing the one it has), as typed or
/// scanned. Refused with `SERIAL_ALREADY_ASSIGNED` (409, naming the invoice and line) when
/// the serial of this product is live on another line of the retailer.
#[utoipa::path(
    put,
    path = "/api/v1/sales/{saleId}/lines/{lineNumber}/serial",
    tag = "sales",
    params(
        ("saleId" = uuid::Uuid, Path, description = "The sale."),
        ("lineNumber" = u32, Path, minimum = 1, maximum = 1000, description = "The line's number (from 1)."),
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$",
            description = "Applies the request once however often it is sent (1-255 visible ASCII characters)."),
    ),
    request_body = AssignSerialRequest,
    responses(
        (status = 200, description = "The line as it stands now.", body = SaleResult),
        (status = 400, description = "A malformed request or serial (VALIDATION, INVALID_SERIAL).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not record serials (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "No such sale or line (NOT_FOUND).", body = ErrorBody),
        (status = 409, description = "The serial is live on another line (SERIAL_ALREADY_ASSIGNED), a concurrent change, or the Idempotency-Key reused.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "Refused by a rule: the line is fulfilled, or takes no serial.", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn assign_serial(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((sale_id, line_number)): PathParams<(String, String)>,
    key: IdempotencyKey,
    body: JsonBody<AssignSerialRequest>,
) -> RestResult<Json<SaleResult>> {
    let principal = caller.require(Permission::RecordSerials, "record serial numbers")?;
    let sale_id = super::parse_uuid("saleId", &sale_id).map(SaleId)?;
    let line_number = parse_line_number("lineNumber", &line_number)?;
    let command_id = idempotency::command_id(&state, principal.tenant_id, &key, &body.raw).await?;
    let context = caller.command_context(command_id);
    let assign = AssignSerial {
        line_number,
        serial: body.value.serial_number,
    };
    let outcome = state
        .commands
        .assign_serial(&context, sale_id, assign)
        .await?;
    answer(
        &state,
        principal.tenant_id,
        sale_id,
        &[line_number],
        &outcome,
    )
    .await
}

/// Takes the serial off an unfulfilled line, recording the reason given.
#[utoipa::path(
    delete,
    path = "/api/v1/sales/{saleId}/lines/{lineNumber}/serial",
    tag = "sales",
    params(
        ("saleId" = uuid::Uuid, Path, description = "The sale."),
        ("lineNumber" = u32, Path, minimum = 1, maximum = 1000, description = "The line's number (from 1)."),
        RemoveSerialParams,
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$",
            description = "Applies the request once however often it is sent (1-255 visible ASCII characters)."),
    ),
    responses(
        (status = 200, description = "The line as it stands now.", body = SaleResult),
        (status = 400, description = "A malformed request (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not record serials (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "No such sale or line (NOT_FOUND).", body = ErrorBody),
        (status = 409, description = "A concurrent change, or the Idempotency-Key reused.", body = ErrorBody),
        (status = 422, description = "Refused by a rule: no serial to remove, or the line is fulfilled.", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn remove_serial(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((sale_id, line_number)): PathParams<(String, String)>,
    QueryParams(params): QueryParams<RemoveSerialParams>,
    key: IdempotencyKey,
) -> RestResult<Json<SaleResult>> {
    let principal = caller.require(Permission::RecordSerials, "record serial numbers")?;
    let sale_id = super::parse_uuid("saleId", &sale_id).map(SaleId)?;
    let line_number = parse_line_number("lineNumber", &line_number)?;
    // The reason travels in the query string: it is part of what the key stands for.
    let fingerprint = params.reason.clone().unwrap_or_default();
    let command_id =
        idempotency::command_id(&state, principal.tenant_id, &key, fingerprint.as_bytes()).await?;
    let context = caller.command_context(command_id);
    let remove = RemoveSerial {
        line_number,
        reason: params.reason.filter(|reason| !reason.trim().is_empty()),
    };
    let outcome = state
        .commands
        .remove_serial(&context, sale_id, remove)
        .await?;
    answer(
        &state,
        principal.tenant_id,
        sale_id,
        &[line_number],
        &outcome,
    )
    .await
}

/// Fulfils lines with the serials of the units picked, in one step: every serial is
/// recorded and every line fulfilled, or nothing is (a REQUIRED line left without a serial
/// is refused with `SERIAL_REQUIRED`, listing the lines).
#[utoipa::path(
    post,
    path = "/api/v1/sales/{saleId}/fulfilments",
    tag = "sales",
    params(
        ("saleId" = uuid::Uuid, Path, description = "The sale."),
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$",
            description = "Applies the request once however often it is sent (1-255 visible ASCII characters)."),
    ),
    request_body = FulfilRequest,
    responses(
        (status = 200, description = "The lines as they stand now.", body = SaleResult),
        (status = 400, description = "A malformed request or serial (VALIDATION, INVALID_SERIAL).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not fulfil (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "No such sale or line (NOT_FOUND).", body = ErrorBody),
        (status = 409, description = "A serial is live on another line (SERIAL_ALREADY_ASSIGNED), a concurrent change, or the Idempotency-Key reused.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "Refused by a rule: SERIAL_REQUIRED, LINE_FULFILLED, ...", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn fulfil(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(sale_id): PathParams<String>,
    key: IdempotencyKey,
    body: JsonBody<FulfilRequest>,
) -> RestResult<Json<SaleResult>> {
    let principal = caller.require(Permission::Fulfil, "fulfil lines")?;
    let sale_id = super::parse_uuid("saleId", &sale_id).map(SaleId)?;
    let mut lines = Vec::with_capacity(body.value.lines.len());
    for (index, line) in body.value.lines.iter().enumerate() {
        if line.line_number == 0 {
            return Err(RestError::invalid(
                &format!("lines[{index}].lineNumber"),
                "must be a line number, from 1",
            ));
        }
        lines.push(LineToFulfil {
            line_number: LineNumber(line.line_number),
            serial: line.serial_number.clone(),
        });
    }
    let numbers: Vec<LineNumber> = lines.iter().map(|line| line.line_number).collect();
    let command_id = idempotency::command_id(&state, principal.tenant_id, &key, &body.raw).await?;
    let context = caller.command_context(command_id);
    let outcome = state
        .commands
        .fulfil_with_serials(&context, sale_id, FulfilWithSerials { lines })
        .await?;
    answer(&state, principal.tenant_id, sale_id, &numbers, &outcome).await
}

/// The answer to a sale write: the named lines as the sale stands now. Waits for the read
/// models first, so the client's next read (pending lines, trace) sees the write.
async fn answer(
    state: &AppState,
    tenant_id: TenantId,
    sale_id: SaleId,
    lines: &[LineNumber],
    outcome: &CommandOutcome,
) -> RestResult<Json<SaleResult>> {
    state.after(outcome).await;
    let sale = state
        .commands
        .load_sale(tenant_id, sale_id)
        .await?
        .ok_or_else(|| {
            RestError::from(CommandError::NotFound {
                what: "sale",
                id: sale_id.to_string(),
            })
        })?;
    Ok(Json(SaleResult::of(
        &sale,
        lines,
        outcome.position().map(|position| position.to_string()),
        outcome.deduplicated(),
    )))
}

/// A line number path parameter: a whole number from 1.
fn parse_line_number(field: &str, text: &str) -> Result<LineNumber, RestError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|line| *line >= 1)
        .map(LineNumber)
        .ok_or_else(|| RestError::invalid(field, "must be a line number, from 1"))
}
