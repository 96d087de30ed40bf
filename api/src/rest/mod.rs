//! The REST API for integrations: the Retail Express API and the Warehouse Management
//! Service API of the spec, over the same command service, auth and error codes as GraphQL.
//!
//! - `PUT /api/v1/products/{productId}/serial-mode` ([`products`])
//! - `GET /api/v1/lines/pending-serial`, `PUT|DELETE /api/v1/sales/{saleId}/lines/{lineNumber}/serial`,
//!   `POST /api/v1/sales/{saleId}/fulfilments` ([`sales`])
//! - `GET /api/v1/serials/trace?serialNumber=` ([`serials`])
//! - `GET|POST /api/v1/ledger/checkpoints`, `GET /api/v1/ledger/checkpoints/latest`,
//!   `GET /api/v1/ledger/checkpoints/{treeSize}[/note]`,
//!   `POST /api/v1/ledger/checkpoints/{treeSize}/cosignatures`,
//!   `GET /api/v1/ledger/proofs/inclusion|consistency`, `GET /api/v1/ledger/keys`
//!   ([`ledger`]: the verifiable ledger's checkpoints and proofs)
//! - `GET /openapi.json`: the OpenAPI 3.1 document generated from these handlers
//!   ([`ApiDoc`]); the committed copy `api/openapi.json` is checked for staleness by a test.
//!
//! Every answer is JSON (but a checkpoint's note, `text/plain`); every error is `{"error": {"code", "message", "details"}}` with the
//! status [`errors::status_of`] gives its code. Writes take an `Idempotency-Key`
//! ([`idempotency`]).

pub mod errors;
pub mod extract;
pub mod idempotency;
pub mod ledger;
pub mod models;
pub mod products;
pub mod sales;
pub mod serials;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use errors::RestError;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use uuid::Uuid;

/// Largest request body accepted by the REST API.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The OpenAPI document of the REST API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "serial-ledger REST API",
        description = "Serial numbers of serialised units for integrations: the Retail Express \
            API and the Warehouse Management Service API. Authenticate with an API token \
            (`Authorization: Bearer sl_...`). Errors are JSON with a stable code, the same as \
            GraphQL's. Writes take an `Idempotency-Key`. See docs/integrators.md.",
        version = "1.0.0",
    ),
    paths(
        products::set_serial_mode,
        sales::pending_lines,
        sales::assign_serial,
        sales::remove_serial,
        sales::fulfil,
        serials::trace,
        ledger::list_checkpoints,
        ledger::issue_checkpoint,
        ledger::latest_checkpoint,
        ledger::checkpoint_at,
        ledger::checkpoint_note,
        ledger::add_cosignature,
        ledger::inclusion_proof,
        ledger::consistency_proof,
        ledger::keys,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "products", description = "Products' serial number options."),
        (name = "sales", description = "Serials on sale lines, and fulfilment."),
        (name = "serials", description = "Serial traceability."),
        (name = "ledger", description = "The verifiable ledger: signed checkpoints of the retailer's Merkle tree of events, witnesses' cosignatures, inclusion and consistency proofs (auditors and managers)."),
    ),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sl_<token id>_<secret>")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document as pretty JSON with a trailing newline (the committed file's form).
pub fn openapi_json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// The REST routes and `GET /openapi.json`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/products/{productId}/serial-mode",
            put(products::set_serial_mode),
        )
        .route("/api/v1/lines/pending-serial", get(sales::pending_lines))
        .route(
            "/api/v1/sales/{saleId}/lines/{lineNumber}/serial",
            put(sales::assign_serial).delete(sales::remove_serial),
        )
        .route("/api/v1/sales/{saleId}/fulfilments", post(sales::fulfil))
        .route("/api/v1/serials/trace", get(serials::trace))
        .route(
            "/api/v1/ledger/checkpoints",
            get(ledger::list_checkpoints).post(ledger::issue_checkpoint),
        )
        .route(
            "/api/v1/ledger/checkpoints/latest",
            get(ledger::latest_checkpoint),
        )
        .route(
            "/api/v1/ledger/checkpoints/{treeSize}",
            get(ledger::checkpoint_at),
        )
        .route(
            "/api/v1/ledger/checkpoints/{treeSize}/note",
            get(ledger::checkpoint_note),
        )
        .route(
            "/api/v1/ledger/checkpoints/{treeSize}/cosignatures",
            post(ledger::add_cosignature),
        )
        .route(
            "/api/v1/ledger/proofs/inclusion",
            get(ledger::inclusion_proof),
        )
        .route(
            "/api/v1/ledger/proofs/consistency",
            get(ledger::consistency_proof),
        )
        .route("/api/v1/ledger/keys", get(ledger::keys))
        .route("/openapi.json", get(openapi))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .fallback(no_such_endpoint)
}

/// Unknown paths answer JSON like every other error (the router's own 404 has no body).
async fn no_such_endpoint(uri: axum::http::Uri) -> RestError {
    RestError(application::AppError::not_found(format!(
        "no endpoint {}: see /openapi.json",
        uri.path()
    )))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json())
}

/// A UUID parameter, or `VALIDATION` naming it.
fn parse_uuid(field: &str, text: &str) -> Result<Uuid, RestError> {
    Uuid::parse_str(text.trim()).map_err(|_| RestError::invalid(field, "must be a UUID"))
}
