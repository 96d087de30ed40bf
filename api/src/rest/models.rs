//! What the REST API sends and receives: plain JSON objects in camelCase, each with its
//! OpenAPI schema. They are the integrators' view, kept apart from the domain's types so a
//! domain refactoring cannot change the contract unnoticed (the committed `openapi.json`
//! would go stale and its test fail).

use domain::sale::{Line, LineStatus, Sale};
use event_schemas::{Money, SerialMode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

/// A product's serial number option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SerialModeCode {
    /// A serial must be recorded before fulfilment.
    Required,
    /// A serial may be recorded.
    Optional,
    /// No serials.
    Disabled,
}

impl From<SerialModeCode> for SerialMode {
    fn from(code: SerialModeCode) -> Self {
        match code {
            SerialModeCode::Required => SerialMode::Required,
            SerialModeCode::Optional => SerialMode::Optional,
            SerialModeCode::Disabled => SerialMode::Disabled,
        }
    }
}

impl From<SerialMode> for SerialModeCode {
    fn from(mode: SerialMode) -> Self {
        match mode {
            SerialMode::Required => SerialModeCode::Required,
            SerialMode::Optional => SerialModeCode::Optional,
            SerialMode::Disabled => SerialModeCode::Disabled,
        }
    }
}

/// `PUT /api/v1/products/{productId}/serial-mode`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetSerialModeRequest {
    /// The product's new serial number option.
    pub serial_mode: SerialModeCode,
}

/// A product after a change.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductResult {
    /// The product.
    pub product_id: String,
    /// Its SKU.
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Its serial number option now.
    pub serial_mode: SerialModeCode,
    /// The log position of the last event recorded (an event cursor), or null when
    /// nothing changed.
    pub cursor: Option<String>,
    /// Whether this request's `Idempotency-Key` had been applied before (nothing new was
    /// recorded).
    pub deduplicated: bool,
}

/// `PUT /api/v1/sales/{saleId}/lines/{lineNumber}/serial`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignSerialRequest {
    /// The serial as typed or scanned: up to 64 ASCII letters, digits and `- _ . / : # +`
    /// (trimmed and upper-cased when recorded).
    #[schema(
        example = "SN-0001",
        min_length = 1,
        max_length = 200,
        pattern = r"^\s*[A-Za-z0-9_.:#+/-]{1,64}\s*$"
    )]
    pub serial_number: String,
}

/// `DELETE /api/v1/sales/{saleId}/lines/{lineNumber}/serial` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RemoveSerialParams {
    /// Why the serial is taken off (optional, at most 500 characters; empty is none).
    #[param(max_length = 500)]
    pub reason: Option<String>,
}

/// A whole number that JSON may write as `7` or `7.0` (JSON Schema's `integer` is both; a
/// client's JSON library may write either).
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    use serde::de::Error;
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = match (number.as_u64(), number.as_f64()) {
        (Some(value), _) => Some(value),
        (None, Some(value))
            if value.fract() == 0.0 && value >= 0.0 && value <= f64::from(u32::MAX) =>
        {
            // Exact: a whole f64 within u32's range converts without loss.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(value as u64)
        }
        _ => None,
    };
    whole
        .and_then(|value| u32::try_from(value).ok())
        .ok_or_else(|| D::Error::custom(format!("expected a whole number from 1, found {number}")))
}

/// One line of `POST /api/v1/sales/{saleId}/fulfilments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FulfilLineRequest {
    /// The line.
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(deserialize_with = "whole_number")]
    pub line_number: u32,
    /// The serial of the unit leaving with the line, as scanned; recorded first (replacing
    /// any other). Leave out to keep what the line has.
    #[schema(
        example = "SN-0001",
        min_length = 1,
        max_length = 200,
        pattern = r"^\s*[A-Za-z0-9_.:#+/-]{1,64}\s*$"
    )]
    pub serial_number: Option<String>,
}

/// `POST /api/v1/sales/{saleId}/fulfilments`: the lines to fulfil, with their serials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FulfilRequest {
    /// The lines, each once. Every serial is recorded and every line fulfilled, or nothing.
    #[schema(min_items = 1, max_items = 1000)]
    pub lines: Vec<FulfilLineRequest>,
}

/// Where a line stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineStatusCode {
    /// Not fulfilled yet: its serial can change.
    Open,
    /// Handed over or dispatched: its serial is frozen.
    Fulfilled,
    /// Returned and refunded.
    Returned,
    /// Cancelled before fulfilment.
    Cancelled,
    /// Taken off the sale before fulfilment.
    Removed,
}

impl From<LineStatus> for LineStatusCode {
    fn from(status: LineStatus) -> Self {
        match status {
            LineStatus::Open => Self::Open,
            LineStatus::Fulfilled => Self::Fulfilled,
            LineStatus::Returned => Self::Returned,
            LineStatus::Cancelled => Self::Cancelled,
            LineStatus::Removed => Self::Removed,
        }
    }
}

/// A sale line as it stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineResult {
    /// The line's number within the sale.
    pub line_number: u32,
    /// The product.
    pub product_id: String,
    /// The product's SKU when the line was added.
    pub sku: String,
    /// The product's name when the line was added.
    pub product_name: String,
    /// Units on the line.
    pub quantity: u32,
    /// The serial option the line was added with.
    pub serial_mode: SerialModeCode,
    /// The serial recorded, if any.
    pub serial_number: Option<String>,
    /// Where the line stands.
    pub status: LineStatusCode,
    /// POS's barcode colour: `RED` (required, missing), `ORANGE` (optional, missing),
    /// `BLUE` (recorded), `NONE` (no serials).
    pub indicator: String,
}

impl LineResult {
    /// The line as the domain holds it.
    pub fn of(line: &Line) -> Self {
        Self {
            line_number: line.line_number.0,
            product_id: line.product_id.to_string(),
            sku: line.sku.clone(),
            product_name: line.product_name.clone(),
            quantity: line.quantity,
            serial_mode: line.serial_mode.into(),
            serial_number: line.serial.clone(),
            status: line.status.into(),
            indicator: line.indicator().as_str().to_owned(),
        }
    }
}

/// What a sale write did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaleResult {
    /// The sale.
    pub sale_id: String,
    /// Its invoice number.
    pub invoice_number: String,
    /// The lines the request named, as they stand now.
    pub lines: Vec<LineResult>,
    /// The log position of the last event recorded (an event cursor), or null when
    /// nothing changed.
    pub cursor: Option<String>,
    /// Whether this request's `Idempotency-Key` had been applied before (nothing new was
    /// recorded).
    pub deduplicated: bool,
}

impl SaleResult {
    /// The named lines of `sale`.
    pub fn of(
        sale: &Sale,
        lines: &[event_schemas::LineNumber],
        cursor: Option<String>,
        deduplicated: bool,
    ) -> Self {
        Self {
            sale_id: sale.sale_id.to_string(),
            invoice_number: sale.invoice_number.clone(),
            lines: lines
                .iter()
                .filter_map(|number| sale.line(*number))
                .map(LineResult::of)
                .collect(),
            cursor,
            deduplicated,
        }
    }
}

/// `GET /api/v1/lines/pending-serial` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PendingLinesParams {
    /// Only sales of this outlet.
    #[param(value_type = Option<uuid::Uuid>)]
    pub outlet_id: Option<String>,
    /// How many lines per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub first: Option<u32>,
    /// The `nextCursor` of the previous page (empty is none).
    pub after: Option<String>,
}

/// A line waiting for its serial number: REQUIRED, open, none recorded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingLine {
    /// The sale.
    pub sale_id: String,
    /// Its invoice number.
    pub invoice_number: String,
    /// The sale's outlet.
    pub outlet_id: String,
    /// The customer's name, when known.
    pub customer_name: Option<String>,
    /// When the sale was opened (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// The line.
    pub line_number: u32,
    /// The product.
    pub product_id: String,
    /// Its SKU.
    pub sku: String,
    /// Its name.
    pub product_name: String,
}

/// A page of lines pending serial numbers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingLinesPage {
    /// The lines, oldest sale first.
    pub items: Vec<PendingLine>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/serials/trace` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TraceParams {
    /// The serial as typed or scanned (in the query string, not the path: serials may
    /// hold `/` and `#`).
    #[param(
        min_length = 1,
        max_length = 200,
        pattern = r"^\s*[A-Za-z0-9_.:#+/-]{1,64}\s*$"
    )]
    pub serial_number: String,
    /// Only the unit of this product.
    #[param(value_type = Option<uuid::Uuid>)]
    pub product_id: Option<String>,
    /// Only units of products with this SKU (empty is none).
    pub sku: Option<String>,
}

/// An amount of money.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MoneyResult {
    /// Minor units (cents).
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<&Money> for MoneyResult {
    fn from(money: &Money) -> Self {
        Self {
            amount_minor: money.amount_minor,
            currency: money.currency.clone(),
        }
    }
}

/// One thing that happened to a unit.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceEntry {
    /// `ASSIGNED`, `REMOVED`, `FULFILLED`, `RETURNED`, `CANCELLED`, `LINE_REMOVED`,
    /// `REISSUED`.
    pub action: String,
    /// Where the unit stood after it: `ALLOCATED`, `FULFILLED`, `RETURNED`, `RELEASED`.
    pub status_after: String,
    /// When it was recorded (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The event's cursor (log position).
    pub cursor: String,
    /// The event's id.
    pub event_id: String,
    /// The sale it happened on.
    pub sale_id: String,
    /// That sale's invoice number.
    pub invoice_number: String,
    /// The line.
    pub line_number: u32,
    /// Where it happened (the command's outlet, else the sale's).
    pub outlet_id: String,
    /// Who did it: `USER`, `INTEGRATION` or `SYSTEM`.
    pub actor_kind: String,
    /// Their name.
    pub actor_name: String,
    /// Through which channel: `POS`, `FULFILMENT_REPORT`, `BACK_OFFICE`, `API`, `WMS`, ...
    pub channel: String,
    /// The reason given, for a removal, cancellation or return.
    pub reason: Option<String>,
    /// The amount refunded, for a return.
    pub refund: Option<MoneyResult>,
}

/// One unit with the serial and its history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceUnit {
    /// The product.
    pub product_id: String,
    /// Its SKU.
    pub sku: String,
    /// Its name.
    pub product_name: String,
    /// Where the unit stands: `ALLOCATED`, `FULFILLED`, `RETURNED`, `RELEASED`.
    pub status: String,
    /// The sale that holds (or last held) it.
    pub sale_id: String,
    /// That sale's invoice number.
    pub invoice_number: String,
    /// The line.
    pub line_number: u32,
    /// Everything that happened to it, oldest first.
    pub history: Vec<TraceEntry>,
}

/// A serial's trace.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceResult {
    /// The serial, normalised.
    pub serial_number: String,
    /// The trace covers the log up to this cursor.
    pub covers_up_to: String,
    /// One unit per product recorded with the serial.
    pub units: Vec<TraceUnit>,
}
