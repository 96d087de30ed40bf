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

/// A witness's cosignature of a checkpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CosignatureResult {
    /// The witness (its key's name).
    pub witness: String,
    /// When the witness cosigned, from its signature (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub signed_at: OffsetDateTime,
    /// The cosignature line of the note, ending with a newline.
    pub line: String,
}

/// A checkpoint: the retailer's tree size and root (and serial map root) at one moment, as
/// a C2SP signed note.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointResult {
    /// The log's origin line (names the retailer).
    pub origin: String,
    /// Events (leaves) in the tree.
    #[schema(minimum = 0)]
    pub tree_size: u64,
    /// The Merkle tree's root (RFC 9162), lower-case hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub root_hash: String,
    /// The serial map's root, lower-case hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub serial_map_root: String,
    /// When it was issued (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// Whether the ledger signed it (it has no key configured otherwise).
    pub signed: bool,
    /// The signing key's name; null when unsigned.
    pub key_name: Option<String>,
    /// The verifier (public) key that checks the signature; null when unsigned.
    pub verifier_key: Option<String>,
    /// The signed note as issued (the body alone when unsigned), without cosignatures:
    /// what a witness cosigns.
    pub note: String,
    /// The note followed by every witness's cosignature line: what an auditor keeps (also
    /// `GET .../checkpoints/{treeSize}/note`).
    pub note_with_cosignatures: String,
    /// Witnesses' cosignatures, by witness name.
    pub cosignatures: Vec<CosignatureResult>,
}

/// `GET /api/v1/ledger/checkpoints`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointList {
    /// The checkpoints, newest first.
    pub checkpoints: Vec<CheckpointResult>,
}

/// `GET /api/v1/ledger/checkpoints` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CheckpointListParams {
    /// How many checkpoints, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Only checkpoints of fewer leaves than this (the last `treeSize` of the previous
    /// page, for the next).
    #[param(minimum = 0, maximum = 9007199254740991_u64)]
    pub before: Option<u64>,
}

/// The query of an endpoint that takes no parameters: any given is refused (400), as every
/// other endpoint refuses one it does not know.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// `POST /api/v1/ledger/checkpoints/{treeSize}/cosignatures`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CosignRequest {
    /// The witness's verifier key, `name+id+base64` of a `cosignature/v1` (0x04) key.
    pub witness_key: String,
    /// The witness's cosignature line of the checkpoint's note, `— name base64` (the
    /// newline after it optional).
    pub line: String,
}

/// `GET /api/v1/ledger/proofs/inclusion` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InclusionParams {
    /// The event (its `eventId`).
    #[param(value_type = uuid::Uuid)]
    pub event_id: String,
    /// The tree the proof is for (a checkpoint's tree size); the newest checkpoint's when
    /// not given.
    #[param(minimum = 0, maximum = 9007199254740991_u64)]
    pub tree_size: Option<u64>,
}

/// The proof that an event is a leaf of the retailer's tree.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InclusionResult {
    /// The event.
    pub event_id: String,
    /// Its leaf index (from 0).
    pub leaf_index: u64,
    /// The tree the proof is for.
    pub tree_size: u64,
    /// The RFC 9162 audit path, lower-case hex, leaf to root. The leaf is the SHA-256 of
    /// `0x00 ‖` the event's 32-byte hash.
    pub proof: Vec<String>,
}

/// `GET /api/v1/ledger/proofs/consistency` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The older tree size.
    #[param(minimum = 0, maximum = 9007199254740991_u64)]
    pub from: u64,
    /// The newer tree size; the newest checkpoint's when not given.
    #[param(minimum = 0, maximum = 9007199254740991_u64)]
    pub to: Option<u64>,
}

/// The proof that the retailer's tree of `to` leaves extends its tree of `from` leaves.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsistencyResult {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size.
    pub to: u64,
    /// The RFC 9162 consistency proof, lower-case hex (empty from 0 or between equal
    /// sizes).
    pub proof: Vec<String>,
}

/// A key the ledger signs with.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerKeyResult {
    /// The key's name.
    pub name: String,
    /// The verifier (public) key text, `name+id+base64`.
    pub verifier_key: String,
}

/// A key that signed some of the retailer's checkpoints.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsedKeyResult {
    /// The key's name.
    pub name: String,
    /// The verifier (public) key text that checks those checkpoints.
    pub verifier_key: String,
    /// The smallest tree size it signed.
    pub first_tree_size: u64,
    /// The largest tree size it signed.
    pub last_tree_size: u64,
}

/// The ledger's signing keys, now and over the retailer's checkpoints (after a key
/// rotation, older checkpoints still verify with the key that signed them).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerKeysResult {
    /// The key new checkpoints are signed with; null when the server has none.
    pub current: Option<LedgerKeyResult>,
    /// Whether new checkpoints are signed.
    pub signing: bool,
    /// Every key that signed one of the retailer's checkpoints, first used first.
    pub used: Vec<UsedKeyResult>,
}
