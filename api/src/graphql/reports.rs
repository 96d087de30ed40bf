//! The back-office reports: the fulfilment report (open lines, "Show Items Pending Serial
//! Number") and the sales report (by product serial number, product, SKU, outlet, dates).
//! Both are Relay connections over the read models' keyset pages. Permission `Read`.

use super::context::{page_size, parse_uuid, require, state};
use super::errors::ApiResult;
use super::types::{DeliveryMode, ReportRow, SaleType};
use application::AppError;
use application::auth::Permission;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, Object};
use event_schemas::{OutletId, ProductId};
use projections::queries::fulfilment::{FulfilmentFilter, fulfilment_report};
use projections::queries::sales::{SalesFilter, sales_report};
use projections::queries::{Page, PageRequest, ReportLine, TimeRange};
use time::OffsetDateTime;

/// A page of report rows.
pub type ReportConnection = Connection<String, ReportRow>;

/// What the fulfilment report shows; every field narrows it.
#[derive(InputObject, Default)]
pub struct FulfilmentReportFilter {
    /// "Show Items Pending Serial Number": only REQUIRED lines without a serial.
    #[graphql(default)]
    pub pending_serial_only: bool,
    /// Only sales of this outlet.
    pub outlet: Option<ID>,
    /// Only sales of this type.
    pub sale_type: Option<SaleType>,
    /// Only sales with this delivery mode.
    pub delivery_mode: Option<DeliveryMode>,
    /// Only sales opened at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only sales opened before this time (exclusive).
    pub to: Option<OffsetDateTime>,
}

/// What the sales report shows; every field narrows it.
#[derive(InputObject, Default)]
pub struct SalesReportFilter {
    /// "Product Serial Number", as typed or scanned (normalised before matching).
    pub serial_number: Option<String>,
    /// Only lines of this product.
    pub product_id: Option<ID>,
    /// Only lines of this SKU.
    pub sku: Option<String>,
    /// Only sales of this outlet.
    pub outlet: Option<ID>,
    /// Only sales opened at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only sales opened before this time (exclusive).
    pub to: Option<OffsetDateTime>,
}

fn connection(page: Page<ReportLine>) -> ReportConnection {
    let mut connection = Connection::new(false, page.has_next_page);
    connection.edges.extend(
        page.edges
            .into_iter()
            .map(|edge| Edge::new(edge.cursor, ReportRow(edge.node))),
    );
    connection
}

fn outlet(field: &str, id: Option<&ID>) -> Result<Option<OutletId>, AppError> {
    id.map(|id| parse_uuid(field, id).map(OutletId)).transpose()
}

/// Report queries.
#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// The fulfilment report: every open line, with its serial (or the lack of one), in
    /// (sale date, sale, line) order.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity + 1")]
    async fn fulfilment_report(
        &self,
        ctx: &Context<'_>,
        filter: Option<FulfilmentReportFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ReportConnection> {
        let principal = require(ctx, Permission::Read, "read the fulfilment report")?;
        let state = state(ctx)?;
        let filter = filter.unwrap_or_default();
        let query = FulfilmentFilter {
            outlet_id: outlet("filter.outlet", filter.outlet.as_ref())?,
            sale_type: filter.sale_type.map(Into::into),
            delivery_mode: filter.delivery_mode.map(Into::into),
            opened: TimeRange {
                from: filter.from,
                before: filter.to,
            },
            pending_serial_only: filter.pending_serial_only,
        };
        let page = PageRequest {
            first: page_size(first, 50)?,
            after,
        };
        let page = fulfilment_report(&state.db, principal.tenant_id, &query, &page)
            .await
            .map_err(AppError::from)?;
        Ok(connection(page))
    }

    /// The sales report: sold lines (open, fulfilled or returned), with who bought each
    /// serial and when, in (sale date, sale, line) order.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity + 1")]
    async fn sales_report(
        &self,
        ctx: &Context<'_>,
        filter: Option<SalesReportFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ReportConnection> {
        let principal = require(ctx, Permission::Read, "read the sales report")?;
        let state = state(ctx)?;
        let filter = filter.unwrap_or_default();
        let query = SalesFilter {
            serial: filter.serial_number,
            product_id: filter
                .product_id
                .as_ref()
                .map(|id| parse_uuid("filter.productId", id).map(ProductId))
                .transpose()?,
            sku: filter.sku,
            outlet_id: outlet("filter.outlet", filter.outlet.as_ref())?,
            opened: TimeRange {
                from: filter.from,
                before: filter.to,
            },
        };
        let page = PageRequest {
            first: page_size(first, 50)?,
            after,
        };
        let page = sales_report(&state.db, principal.tenant_id, &query, &page)
            .await
            .map_err(AppError::from)?;
        Ok(connection(page))
    }
}
