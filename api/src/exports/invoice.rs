//! `GET /exports/invoices/{saleId}.pdf`: a sale's customer invoice as a PDF, downloaded as
//! `invoice-INV-1005.pdf`. Permission `Read`.
//!
//! Each line item's serial number is printed under it only when the retailer's setting
//! "Display Serial Number on Invoice" is on; the setting is read from the settings stream
//! at the time of the request, so a change shows on the next download. A sale of another
//! retailer is `NOT_FOUND`, exactly like a sale that does not exist, so ids never leak.

use super::{FileError, PDF, authorize, file_response};
use crate::state::AppState;
use application::ErrorCode;
use application::auth::Permission;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use event_schemas::SaleId;
use files::invoice::{InvoiceOptions, file_name, invoice_pdf};
use projections::queries::pos::pos_order;
use uuid::Uuid;

pub(super) fn routes() -> Router<AppState> {
    // The router matches whole path segments, so `{saleId}.pdf` is one segment whose
    // suffix is checked by the handler.
    Router::new().route("/exports/invoices/{file}", get(invoice))
}

async fn invoice(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, FileError> {
    let principal = authorize(&state, &headers, Permission::Read, "export invoices").await?;
    let Some(id) = file.strip_suffix(".pdf") else {
        return Err(FileError::new(
            ErrorCode::NotFound,
            "invoices are served as PDF: /exports/invoices/{saleId}.pdf",
        ));
    };
    let sale_id = Uuid::parse_str(id)
        .map(SaleId)
        .map_err(|_| FileError::invalid("saleId", "must be a UUID"))?;
    let order = pos_order(&state.db, principal.tenant_id, sale_id)
        .await?
        .ok_or_else(|| FileError::new(ErrorCode::NotFound, format!("no sale {sale_id}")))?;
    let settings = state
        .commands
        .load_settings(principal.tenant_id)
        .await
        .map_err(|error| FileError::internal(&error))?;
    let options = InvoiceOptions {
        display_serial_numbers: settings.display_serial_number_on_invoice,
    };
    let bytes = invoice_pdf(&order, options);
    Ok(file_response(
        PDF,
        &file_name(&order.sale.invoice_number),
        bytes,
    ))
}
