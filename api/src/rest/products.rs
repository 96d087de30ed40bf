//! `PUT /api/v1/products/{productId}/serial-mode`: the Retail Express API's "update a
//! product's serial number option".

use super::errors::{ErrorBody, RestError, RestResult};
use super::extract::{Caller, IdempotencyKey, JsonBody, PathParams};
use super::idempotency;
use super::models::{ProductResult, SetSerialModeRequest};
use crate::state::AppState;
use application::auth::Permission;
use application::commands::CommandError;
use axum::Json;
use axum::extract::State;
use domain::product::SetSerialMode;
use event_schemas::{ProductId, SerialModeSource};

/// Sets a product's serial number option (recorded with source `API`). Lines already on
/// sales keep the option they were added with.
#[utoipa::path(
    put,
    path = "/api/v1/products/{productId}/serial-mode",
    tag = "products",
    params(
        ("productId" = uuid::Uuid, Path, description = "The product."),
        ("Idempotency-Key" = Option<String>, Header, pattern = r"^[!-~]{1,255}$",
            description = "Applies the request once however often it is sent (1-255 visible ASCII characters)."),
    ),
    request_body = SetSerialModeRequest,
    responses(
        (status = 200, description = "The product as it stands now.", body = ProductResult),
        (status = 400, description = "A malformed request (VALIDATION).", body = ErrorBody),
        (status = 401, description = "No valid token (UNAUTHENTICATED).", body = ErrorBody),
        (status = 403, description = "The token's role may not edit products (FORBIDDEN).", body = ErrorBody),
        (status = 404, description = "No such product (NOT_FOUND).", body = ErrorBody),
        (status = 409, description = "A concurrent change, or the Idempotency-Key reused for another request.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 415, description = "The body is not JSON.", body = ErrorBody),
        (status = 422, description = "Refused by a rule of the ledger.", body = ErrorBody),
        (status = 429, description = "Too many requests for this token: wait `Retry-After` seconds (RATE_LIMITED).", body = ErrorBody),
        (status = 503, description = "The database is unavailable: retry.", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn set_serial_mode(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(product_id): PathParams<String>,
    key: IdempotencyKey,
    body: JsonBody<SetSerialModeRequest>,
) -> RestResult<Json<ProductResult>> {
    let principal = caller.require(Permission::ManageCatalogue, "edit products")?;
    let product_id = super::parse_uuid("productId", &product_id).map(ProductId)?;
    let command_id = idempotency::command_id(&state, principal.tenant_id, &key, &body.raw).await?;
    let context = caller.command_context(command_id);
    let set = SetSerialMode {
        serial_mode: body.value.serial_mode.into(),
        source: SerialModeSource::Api,
    };
    let outcome = state
        .commands
        .set_serial_mode(&context, product_id, set)
        .await?;
    state.after(&outcome).await;
    let product = state
        .commands
        .load_product(principal.tenant_id, product_id)
        .await?
        .ok_or_else(|| {
            RestError::from(CommandError::NotFound {
                what: "product",
                id: product_id.to_string(),
            })
        })?;
    Ok(Json(ProductResult {
        product_id: product.product_id.to_string(),
        sku: product.sku,
        name: product.name,
        serial_mode: product.serial_mode.into(),
        cursor: outcome.position().map(|position| position.to_string()),
        deduplicated: outcome.deduplicated(),
    }))
}
