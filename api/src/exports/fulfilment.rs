//! `GET /exports/fulfilment-report.csv|.xlsx` and `GET /exports/pick-list.pdf|.csv|.xlsx`:
//! the fulfilment report export and the pick lists, with the fulfilment report's filters
//! as query parameters (`outletId`, `saleType` (`SALE`, `SPECIAL_ORDER`, `LAY_BY`),
//! `deliveryMode` (`CASH_AND_CARRY`, `PICKUP`, `DELIVERY`, `DROP_SHIP`), `from`, `to`,
//! `pendingSerial=true` for "Show Items Pending Serial Number"); pick lists also take
//! `kind=serial` (the pick list with serials, the default) or `kind=invoice` (the invoice
//! pick list, without serials). Permission `Read`.
//!
//! The report holds open lines only, so it is read whole, a page at a time, before the
//! file is written.

use super::sales_detail::{
    bad_query, dated_file_name, export_failed, present, range_params, uuid_param,
};
use super::{CSV, FileError, PDF, XLSX, authorize, file_response};
use crate::state::AppState;
use application::auth::Permission;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use event_schemas::{DeliveryMode, OutletId, SaleType, TenantId};
use files::fulfilment as export;
use projections::ReadDb;
use projections::queries::fulfilment::{
    FulfilmentFilter, PickListKind, PickListLine, fulfilment_report, pick_list,
};
use projections::queries::{QueryError, ReportLine, all_pages};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/exports/fulfilment-report.csv", get(report_csv))
        .route("/exports/fulfilment-report.xlsx", get(report_xlsx))
        .route("/exports/pick-list.pdf", get(pick_list_pdf))
        .route("/exports/pick-list.csv", get(pick_list_csv))
        .route("/exports/pick-list.xlsx", get(pick_list_xlsx))
}

/// The query parameters, as sent; empty values count as absent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfilmentParams {
    outlet_id: Option<String>,
    sale_type: Option<String>,
    delivery_mode: Option<String>,
    from: Option<String>,
    to: Option<String>,
    pending_serial: Option<String>,
    kind: Option<String>,
}

/// An enum parameter by its API name (`SPECIAL_ORDER`; case, `-` and spaces forgiven), or
/// `VALIDATION` naming the parameter and the values it takes.
fn enum_param<T: DeserializeOwned>(
    name: &str,
    value: Option<String>,
    allowed: &str,
) -> Result<Option<T>, FileError> {
    present(value)
        .map(|text| {
            let code = text.trim().to_ascii_uppercase().replace(['-', ' '], "_");
            serde_json::from_value(serde_json::Value::String(code))
                .map_err(|_| FileError::invalid(name, &format!("must be one of {allowed}")))
        })
        .transpose()
}

impl FulfilmentParams {
    fn filter(&mut self) -> Result<FulfilmentFilter, FileError> {
        let pending_serial_only = match present(self.pending_serial.take()).as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => return Err(FileError::invalid("pendingSerial", "must be true or false")),
        };
        Ok(FulfilmentFilter {
            outlet_id: uuid_param("outletId", self.outlet_id.take())?.map(OutletId),
            sale_type: enum_param::<SaleType>(
                "saleType",
                self.sale_type.take(),
                "SALE, SPECIAL_ORDER, LAY_BY",
            )?,
            delivery_mode: enum_param::<DeliveryMode>(
                "deliveryMode",
                self.delivery_mode.take(),
                "CASH_AND_CARRY, PICKUP, DELIVERY, DROP_SHIP",
            )?,
            opened: range_params(self.from.take(), self.to.take())?,
            pending_serial_only,
        })
    }

    fn kind(&mut self) -> Result<PickListKind, FileError> {
        match present(self.kind.take())
            .map(|kind| kind.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("serial") | Some("standard") => Ok(PickListKind::Standard),
            Some("invoice") => Ok(PickListKind::Invoice),
            Some(_) => Err(FileError::invalid("kind", "must be serial or invoice")),
        }
    }
}

/// Every row of the fulfilment report of `tenant` for `filter`.
async fn report_rows(
    db: &ReadDb,
    tenant: TenantId,
    filter: &FulfilmentFilter,
) -> Result<Vec<ReportLine>, QueryError> {
    all_pages(|request| async move { fulfilment_report(db, tenant, filter, &request).await }).await
}

/// Every line of the pick list of `kind` of `tenant` for `filter`.
async fn pick_list_lines(
    db: &ReadDb,
    tenant: TenantId,
    filter: &FulfilmentFilter,
    kind: PickListKind,
) -> Result<Vec<PickListLine>, QueryError> {
    all_pages(|request| async move { pick_list(db, tenant, filter, kind, &request).await }).await
}

async fn report(
    state: &AppState,
    headers: &HeaderMap,
    params: Result<Query<FulfilmentParams>, QueryRejection>,
) -> Result<Vec<ReportLine>, FileError> {
    let principal = authorize(
        state,
        headers,
        Permission::Read,
        "export the fulfilment report",
    )
    .await?;
    let Query(mut params) = params.map_err(bad_query)?;
    let filter = params.filter()?;
    Ok(report_rows(&state.db, principal.tenant_id, &filter).await?)
}

async fn report_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<FulfilmentParams>, QueryRejection>,
) -> Result<Response, FileError> {
    let rows = report(&state, &headers, params).await?;
    let bytes = export::write_report_csv(Vec::new(), &rows).map_err(export_failed)?;
    Ok(file_response(
        CSV,
        &dated_file_name("fulfilment-report", "csv"),
        bytes,
    ))
}

async fn report_xlsx(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<FulfilmentParams>, QueryRejection>,
) -> Result<Response, FileError> {
    let rows = report(&state, &headers, params).await?;
    let bytes = export::report_xlsx(&rows).map_err(export_failed)?;
    Ok(file_response(
        XLSX,
        &dated_file_name("fulfilment-report", "xlsx"),
        bytes,
    ))
}

/// The pick list's kind and lines.
async fn pick_list_of(
    state: &AppState,
    headers: &HeaderMap,
    params: Result<Query<FulfilmentParams>, QueryRejection>,
) -> Result<(PickListKind, Vec<PickListLine>), FileError> {
    let principal = authorize(state, headers, Permission::Read, "export pick lists").await?;
    let Query(mut params) = params.map_err(bad_query)?;
    let kind = params.kind()?;
    let filter = params.filter()?;
    let lines = pick_list_lines(&state.db, principal.tenant_id, &filter, kind).await?;
    Ok((kind, lines))
}

/// `pick-list-2026-11-27.pdf` or `invoice-pick-list-2026-11-27.pdf`.
fn pick_list_file_name(kind: PickListKind, extension: &str) -> String {
    let stem = match kind {
        PickListKind::Standard => "pick-list",
        PickListKind::Invoice => "invoice-pick-list",
    };
    dated_file_name(stem, extension)
}

async fn pick_list_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<FulfilmentParams>, QueryRejection>,
) -> Result<Response, FileError> {
    let (kind, lines) = pick_list_of(&state, &headers, params).await?;
    let bytes = export::pick_list_pdf(kind, &lines, OffsetDateTime::now_utc());
    Ok(file_response(PDF, &pick_list_file_name(kind, "pdf"), bytes))
}

async fn pick_list_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<FulfilmentParams>, QueryRejection>,
) -> Result<Response, FileError> {
    let (kind, lines) = pick_list_of(&state, &headers, params).await?;
    let bytes = export::write_pick_list_csv(Vec::new(), kind, &lines).map_err(export_failed)?;
    Ok(file_response(CSV, &pick_list_file_name(kind, "csv"), bytes))
}

async fn pick_list_xlsx(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<FulfilmentParams>, QueryRejection>,
) -> Result<Response, FileError> {
    let (kind, lines) = pick_list_of(&state, &headers, params).await?;
    let bytes = export::pick_list_xlsx(kind, &lines).map_err(export_failed)?;
    Ok(file_response(
        XLSX,
        &pick_list_file_name(kind, "xlsx"),
        bytes,
    ))
}
