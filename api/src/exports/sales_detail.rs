//! `GET /exports/sales-detail.csv` and `GET /exports/sales-detail.xlsx`: the sales detail
//! export, with the sales report's filters as query parameters (`serialNumber`,
//! `productId`, `sku`, `outletId`, `from`, `to`; RFC 3339 times, `to` exclusive). Permission
//! `Read`.
//!
//! Rows are read a page at a time ([`sales_detail_stream`]). The CSV is streamed to the
//! client as the pages arrive; the workbook is built in rust_xlsxwriter's constant-memory
//! mode and sent when complete (a zip cannot be sent before it is finished). The first page
//! is read before answering, so a bad filter (an invalid serial) is a clean 400 rather than
//! a download that breaks off.
//!
//! This file also holds the query-parameter parsing the fulfilment exports share.

use super::{CSV, FileError, XLSX, authorize, file_response};
use crate::state::AppState;
use application::ErrorCode;
use application::auth::Permission;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use event_schemas::{OutletId, ProductId};
use files::sales_detail::{ExportError, csv_table, xlsx_table};
use futures::{Stream, StreamExt};
use projections::queries::sales::{SalesDetailRow, SalesFilter, sales_detail_stream};
use projections::queries::{MAX_PAGE_SIZE, QueryError, TimeRange};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use uuid::Uuid;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/exports/sales-detail.csv", get(sales_detail_csv))
        .route("/exports/sales-detail.xlsx", get(sales_detail_xlsx))
}

/// The query parameters, as sent. An empty value (`sku=`, as an HTML form sends an empty
/// field) counts as absent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SalesDetailParams {
    serial_number: Option<String>,
    product_id: Option<String>,
    sku: Option<String>,
    outlet_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// A parameter's value, `None` when absent or empty.
pub(super) fn present(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.is_empty())
}

/// A UUID parameter, or `VALIDATION` naming it.
pub(super) fn uuid_param(name: &str, value: Option<String>) -> Result<Option<Uuid>, FileError> {
    present(value)
        .map(|text| {
            Uuid::parse_str(text.trim()).map_err(|_| FileError::invalid(name, "must be a UUID"))
        })
        .transpose()
}

/// The `from`/`to` range (RFC 3339, `to` exclusive), or `VALIDATION` naming the parameter.
pub(super) fn range_params(
    from: Option<String>,
    to: Option<String>,
) -> Result<TimeRange, FileError> {
    let time = |name: &str, value: Option<String>| {
        present(value)
            .map(|text| {
                OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
                    FileError::invalid(name, "must be an RFC 3339 date-time (2026-11-27T00:00:00Z)")
                })
            })
            .transpose()
    };
    let range = TimeRange {
        from: time("from", from)?,
        before: time("to", to)?,
    };
    // Checked here too (the query checks it as well) so the error names the parameter
    // the client sent, not the query's field.
    if matches!((range.from, range.before), (Some(from), Some(to)) if to < from) {
        return Err(FileError::invalid("to", "must not be before from"));
    }
    Ok(range)
}

/// A query string that did not parse: `VALIDATION`.
pub(super) fn bad_query(rejection: QueryRejection) -> FileError {
    FileError::new(ErrorCode::Validation, rejection.body_text())
}

/// `{stem}-{today}.{extension}`: the download's file name, dated in UTC.
pub(super) fn dated_file_name(stem: &str, extension: &str) -> String {
    let today = OffsetDateTime::now_utc()
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default();
    format!("{stem}-{today}.{extension}")
}

/// An export that failed while being written: logged, `INTERNAL`.
pub(super) fn export_failed(error: ExportError) -> FileError {
    FileError::internal(&error)
}

impl SalesDetailParams {
    /// The sales filter, with the same rules and codes as the GraphQL sales report (the
    /// serial and SKU are checked by the query itself: `INVALID_SERIAL`, `VALIDATION`).
    fn filter(self) -> Result<SalesFilter, FileError> {
        Ok(SalesFilter {
            serial: present(self.serial_number),
            product_id: uuid_param("productId", self.product_id)?.map(ProductId),
            sku: present(self.sku),
            outlet_id: uuid_param("outletId", self.outlet_id)?.map(OutletId),
            opened: range_params(self.from, self.to)?,
        })
    }
}

type RowStream = std::pin::Pin<Box<dyn Stream<Item = Result<SalesDetailRow, QueryError>> + Send>>;

/// The rows of the export, the first one already read so a bad filter is refused before
/// any byte of the file is sent.
async fn rows(
    state: &AppState,
    headers: &HeaderMap,
    params: Result<Query<SalesDetailParams>, QueryRejection>,
) -> Result<RowStream, FileError> {
    let principal = authorize(state, headers, Permission::Read, "export sales").await?;
    let Query(params) = params.map_err(bad_query)?;
    let filter = params.filter()?;
    let mut rows = Box::pin(sales_detail_stream(
        state.db.clone(),
        principal.tenant_id,
        filter,
        MAX_PAGE_SIZE,
    ));
    match rows.next().await {
        None => Ok(Box::pin(futures::stream::empty())),
        Some(Err(error)) => Err(error.into()),
        Some(Ok(first)) => Ok(Box::pin(futures::stream::iter([Ok(first)]).chain(rows))),
    }
}

async fn sales_detail_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<SalesDetailParams>, QueryRejection>,
) -> Result<Response, FileError> {
    let rows = rows(&state, &headers, params).await?;
    let mut table = csv_table(Vec::new()).map_err(export_failed)?;
    // The header goes first on its own, so a filter matching nothing is still a file with
    // its header.
    let header = table.take_written().map_err(export_failed)?;
    // Whatever rows are ready (a page at most) become one chunk of the body.
    let chunks = rows.ready_chunks(MAX_PAGE_SIZE as usize).map(move |batch| {
        for row in batch {
            let row = row.map_err(|error| {
                tracing::error!(%error, "the sales detail export broke off");
                std::io::Error::other("the sales detail export broke off")
            })?;
            table
                .write_row(&row.cells())
                .map_err(std::io::Error::other)?;
        }
        table.take_written().map_err(std::io::Error::other)
    });
    let mut response = file_response(CSV, &dated_file_name("sales-detail", "csv"), Vec::new());
    let body = futures::stream::iter([Ok(header)]).chain(chunks);
    *response.body_mut() = Body::from_stream(body);
    Ok(response)
}

async fn sales_detail_xlsx(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<SalesDetailParams>, QueryRejection>,
) -> Result<Response, FileError> {
    let mut rows = rows(&state, &headers, params).await?;
    let mut table = xlsx_table().map_err(export_failed)?;
    while let Some(row) = rows.next().await {
        table.write_row(&row?.cells()).map_err(export_failed)?;
    }
    let bytes = table.finish().map_err(export_failed)?;
    Ok(file_response(
        XLSX,
        &dated_file_name("sales-detail", "xlsx"),
        bytes,
    ))
}
