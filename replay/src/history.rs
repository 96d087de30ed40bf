//! A serialised unit's full history, read from the events themselves.
//!
//! A unit is a (product, serial): the same serial text on two products is two units, each
//! with its own history. The history lists every event that touched the unit (assignment,
//! removal, fulfilment, return, cancellation, removal of its line, re-issue of its returned
//! line) with the sale, invoice, line, outlet and customer it happened on and the actor and
//! channel of the command, and ends with where the unit stands: the same [`SerialRecord`]
//! the traceability read model shows, but folded here from the events.
//!
//! Finding the events: every event about a serial lives in a sale stream, so the history is
//! the fold of the sale streams that mention the serial. Which sales those are comes from
//! the traceability index (`rm_serial_history`) up to the serials projection's checkpoint,
//! plus a scan of the log after that checkpoint for sales the index has not folded yet
//! ([`HistorySource::Index`]); or, when the auditor trusts no read model, from a scan of
//! the whole log ([`HistorySource::Scan`]). Either way the streams themselves are then read
//! and folded with the domain's own `evolve`, so the history never depends on what a
//! projection recorded, only on where to look.

use domain::Decider;
use domain::sale::{Sale, SaleDecider};
use domain::serial::{SerialError, SerialNumber};
use event_schemas::{
    Actor, Channel, Customer, DecodeError, EventEnvelope, LedgerEvent, LineNumber, Money, OutletId,
    ProductId, ReturnedLineRef, SaleId, TenantId, streams,
};
use projections::queries::QueryError;
use projections::queries::trace::{SerialRecord, SerialStatus, sales_touching_serial};
use projections::{Projection, ProjectionError, ProjectionRunner, ReadDb, RunnerOptions};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use store::{AnyStore, EventStore, Position, RecordedEvent, StoreError};
use time::OffsetDateTime;

/// Events read per page when scanning the log or reading a stream.
const PAGE: usize = 1_000;

/// Where the list of sales to read comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HistorySource {
    /// The traceability index up to its checkpoint, and a scan of the log after it: fast,
    /// and complete up to the end of the log.
    Index,
    /// The traceability index alone, as of its checkpoint: what the API shows, consistent
    /// with every other read model.
    IndexOnly,
    /// A scan of the whole log: slow, independent of every read model.
    Scan,
}

/// A moment in the past: a log position (inclusive) or a time (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cutoff {
    /// Events at or before this position.
    Position(Position),
    /// Events recorded at or before this time.
    Time(OffsetDateTime),
}

impl Cutoff {
    /// Whether `event` happened at or before the cutoff.
    pub fn includes(&self, event: &RecordedEvent) -> bool {
        Limits::of(Some(*self)).includes(event)
    }
}

/// The cutoffs in force: the query's, and for [`HistorySource::IndexOnly`] the index's
/// checkpoint.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits {
    pub(crate) position: Option<Position>,
    pub(crate) time: Option<OffsetDateTime>,
}

impl Limits {
    pub(crate) fn of(cutoff: Option<Cutoff>) -> Self {
        match cutoff {
            None => Self::default(),
            Some(Cutoff::Position(position)) => Self {
                position: Some(position),
                time: None,
            },
            Some(Cutoff::Time(time)) => Self {
                position: None,
                time: Some(time),
            },
        }
    }

    pub(crate) fn includes(&self, event: &RecordedEvent) -> bool {
        self.position
            .is_none_or(|position| event.position <= position)
            && self
                .time
                .is_none_or(|time| event.envelope.recorded_at <= time)
    }
}

/// What to look up.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    /// The retailer.
    pub tenant_id: TenantId,
    /// The serial as typed or scanned; normalised like every stored serial.
    pub serial: String,
    /// Only the unit of this product.
    pub product_id: Option<ProductId>,
    /// Only units whose last line had this SKU (trimmed, exact).
    pub sku: Option<String>,
    /// Only what had happened by then.
    pub cutoff: Option<Cutoff>,
    /// How to find the sales.
    pub source: HistorySource,
}

impl HistoryQuery {
    /// Every unit with this serial, now, through the index and the log after it.
    pub fn new(tenant_id: TenantId, serial: impl Into<String>) -> Self {
        Self {
            tenant_id,
            serial: serial.into(),
            product_id: None,
            sku: None,
            cutoff: None,
            source: HistorySource::Index,
        }
    }
}

/// What an event did to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnitAction {
    /// The serial was recorded against a line (`SerialAssigned`).
    Assigned,
    /// The serial was taken off its line before fulfilment (`SerialRemoved`).
    Removed,
    /// The line was fulfilled: the unit left with the customer (`LineFulfilled`).
    Fulfilled,
    /// The unit came back and was refunded (`LineReturned`).
    Returned,
    /// The line was cancelled before fulfilment (`LineCancelled`).
    Cancelled,
    /// The line was taken off the sale before fulfilment (`LineRemoved`).
    LineRemoved,
    /// The unit's returned line was re-issued on this sale (`LineReissued`).
    Reissued,
}

impl UnitAction {
    /// The stable code (`ASSIGNED`, `REMOVED`, ...), as in JSON and CSV.
    pub fn code(self) -> &'static str {
        match self {
            UnitAction::Assigned => "ASSIGNED",
            UnitAction::Removed => "REMOVED",
            UnitAction::Fulfilled => "FULFILLED",
            UnitAction::Returned => "RETURNED",
            UnitAction::Cancelled => "CANCELLED",
            UnitAction::LineRemoved => "LINE_REMOVED",
            UnitAction::Reissued => "REISSUED",
        }
    }
}

/// One event in a unit's history, with its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// What happened.
    pub action: UnitAction,
    /// Where the unit stood after it.
    pub status_after: SerialStatus,
    /// The event's position in the log.
    pub position: Position,
    /// The sale it happened on.
    pub sale_id: SaleId,
    /// That sale's invoice number.
    pub invoice_number: String,
    /// The line (for a re-issue, the new line).
    pub line_number: LineNumber,
    /// The line's SKU.
    pub sku: String,
    /// The line's product name.
    pub product_name: String,
    /// The sale's outlet.
    pub sale_outlet_id: OutletId,
    /// The sale's customer, when known.
    pub customer: Option<Customer>,
    /// Who did it.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The outlet the command came from, when it came from one (a warehouse fulfilling a
    /// sale of another outlet, for example).
    pub command_outlet_id: Option<OutletId>,
    /// The reason given, for a removal, cancellation or return.
    pub reason: Option<String>,
    /// The amount refunded, for a return.
    pub refund: Option<Money>,
    /// For a re-issue: the returned line it re-issues. For an assignment on a re-issue
    /// line: the returned unit (line, invoice and serial) this serial replaces.
    pub reissue_of: Option<ReturnedLineRef>,
    /// For a re-issue: the line that replaces the returned unit, with the serial recorded
    /// on it so far (as of the history's cutoff), so the trail reads both ways.
    pub replaced_by: Option<Replacement>,
    /// The event itself, with its hashes, as stored.
    pub event: EventEnvelope,
}

/// The line of a later sale that re-issues a returned unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacement {
    /// The sale.
    pub sale_id: SaleId,
    /// Its invoice number.
    pub invoice_number: String,
    /// The re-issue line.
    pub line_number: LineNumber,
    /// The replacement unit's serial, once one is recorded on the line.
    pub serial: Option<String>,
}

impl HistoryEntry {
    /// When it was recorded.
    pub fn recorded_at(&self) -> OffsetDateTime {
        self.event.recorded_at
    }

    /// Where it happened: the command's outlet, else the sale's.
    pub fn outlet_id(&self) -> OutletId {
        self.command_outlet_id.unwrap_or(self.sale_outlet_id)
    }
}

/// One unit and everything that happened to it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitHistory {
    /// The unit as it stands at the end of the history: which sale holds (or last held) it.
    pub current: SerialRecord,
    /// Every event that touched it, in log order.
    pub entries: Vec<HistoryEntry>,
}

/// The answer: every unit with the serial, by product id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialHistory {
    /// The retailer.
    pub tenant_id: TenantId,
    /// The serial, normalised.
    pub serial: String,
    /// How the sales were found.
    pub source: HistorySource,
    /// For [`HistorySource::IndexOnly`], the index's checkpoint: the history is that of the
    /// log up to it. Otherwise the end of the log when it was read.
    pub covers_up_to: Position,
    /// The units, ordered by product id. Empty when the serial was never recorded.
    pub units: Vec<UnitHistory>,
}

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The serial text breaks a rule of serial numbers (named in the message).
    #[error(transparent)]
    InvalidSerial(#[from] SerialError),
    /// The SKU filter is blank.
    #[error("sku must not be blank")]
    BlankSku,
    /// Reading the log failed.
    #[error("reading the log failed")]
    Store(#[from] StoreError),
    /// Reading the traceability index failed.
    #[error("reading the traceability index failed")]
    Index(#[from] QueryError),
    /// Reading the index's checkpoint failed.
    #[error("reading the traceability index's checkpoint failed")]
    Checkpoint(#[from] ProjectionError),
    /// A stored event cannot be decoded by this build.
    #[error("event {stream_id}@{stream_revision} cannot be decoded")]
    Decode {
        /// Its stream.
        stream_id: String,
        /// Its revision.
        stream_revision: u64,
        /// Why.
        source: DecodeError,
    },
    /// The log contradicts itself (an event about a line that was never added).
    #[error("event {stream_id}@{stream_revision} ({event_type}): {reason}")]
    Inconsistent {
        /// Its stream.
        stream_id: String,
        /// Its revision.
        stream_revision: u64,
        /// Its type.
        event_type: String,
        /// What does not fit.
        reason: String,
    },
}

impl HistoryError {
    /// The stable code the API reports: `INVALID_SERIAL`, `VALIDATION`, `UNAVAILABLE` or
    /// `INTERNAL`.
    pub fn code(&self) -> &'static str {
        match self {
            HistoryError::InvalidSerial(error) => error.code(),
            HistoryError::BlankSku => "VALIDATION",
            HistoryError::Index(error) => error.code(),
            _ => "INTERNAL",
        }
    }
}

fn decode(event: &RecordedEvent) -> Result<LedgerEvent, HistoryError> {
    let envelope = &event.envelope;
    LedgerEvent::decode(
        &envelope.event_type,
        envelope.schema_version,
        &envelope.payload,
    )
    .map_err(|source| HistoryError::Decode {
        stream_id: envelope.stream_id.clone(),
        stream_revision: envelope.stream_revision,
        source,
    })
}

/// The serial an event names, whatever its product (a cheap test for the log scan).
pub(crate) fn names_serial(event: &LedgerEvent) -> Option<&str> {
    event.serial_named()
}

/// What an event of a sale does to the unit `serial`, if anything: its product, line,
/// action, reason and refund. `before` is the sale before the event.
struct Touch {
    product_id: ProductId,
    line_number: LineNumber,
    action: UnitAction,
    reason: Option<String>,
    refund: Option<Money>,
    reissue_of: Option<ReturnedLineRef>,
}

fn touch(event: &LedgerEvent, before: Option<&Sale>, serial: &str) -> Option<Touch> {
    let simple = |product_id, line_number, action| Touch {
        product_id,
        line_number,
        action,
        reason: None,
        refund: None,
        reissue_of: None,
    };
    if names_serial(event) != Some(serial) {
        return None;
    }
    Some(match event {
        LedgerEvent::SerialAssigned(e) => Touch {
            // A serial recorded on a re-issue line names the unit it replaces.
            reissue_of: before
                .and_then(|sale| sale.line(e.line_number))
                .and_then(|line| line.reissue_of.clone()),
            ..simple(e.product_id, e.line_number, UnitAction::Assigned)
        },
        LedgerEvent::SerialRemoved(e) => Touch {
            reason: e.reason.clone(),
            ..simple(e.product_id, e.line_number, UnitAction::Removed)
        },
        LedgerEvent::LineFulfilled(e) => simple(e.product_id, e.line_number, UnitAction::Fulfilled),
        LedgerEvent::LineReturned(e) => Touch {
            reason: e.reason.clone(),
            refund: Some(e.refund.clone()),
            ..simple(e.product_id, e.line_number, UnitAction::Returned)
        },
        LedgerEvent::LineCancelled(e) => Touch {
            reason: e.reason.clone(),
            ..simple(e.product_id, e.line_number, UnitAction::Cancelled)
        },
        LedgerEvent::LineRemoved(e) => {
            // The payload names no product: the line does.
            let product_id = before?.line(e.line_number)?.product_id;
            simple(product_id, e.line_number, UnitAction::LineRemoved)
        }
        LedgerEvent::LineReissued(e) => Touch {
            reissue_of: Some(e.reissue_of.clone()),
            ..simple(e.line.product_id, e.line.line_number, UnitAction::Reissued)
        },
        _ => return None,
    })
}

/// A stream's events within `limits`, decoded, in revision order. Streams are one
/// aggregate each (a sale: tens of events), so they are read whole.
pub(crate) async fn read_decoded<S: EventStore>(
    store: &S,
    tenant_id: TenantId,
    stream_id: &str,
    limits: Limits,
) -> Result<Vec<(RecordedEvent, LedgerEvent)>, HistoryError> {
    let mut events = Vec::new();
    let mut from = 0;
    loop {
        let page = store.read_stream(tenant_id, stream_id, from, PAGE).await?;
        let Some(last) = page.last() else { break };
        from = last.envelope.stream_revision + 1;
        let full = page.len() == PAGE;
        for recorded in page {
            if limits.includes(&recorded) {
                let event = decode(&recorded)?;
                events.push((recorded, event));
            }
        }
        if !full {
            break;
        }
    }
    Ok(events)
}

/// Reads a sale's stream and returns the entries about `serial` it holds, at or before
/// `cutoff`.
async fn sale_entries<S: EventStore>(
    store: &S,
    tenant_id: TenantId,
    sale_id: SaleId,
    serial: &str,
    limits: Limits,
) -> Result<Vec<(ProductId, HistoryEntry)>, HistoryError> {
    let mut state: Option<Sale> = None;
    let mut entries = Vec::new();
    for (recorded, event) in read_decoded(store, tenant_id, &streams::sale(sale_id), limits).await?
    {
        let touched = touch(&event, state.as_ref(), serial);
        let after = SaleDecider::evolve(state, &event);
        if let Some(touched) = touched {
            entries.push(entry_for(&recorded, after.as_ref(), touched, serial)?);
        }
        state = after;
    }
    // The other direction of the re-issue trail: the line that re-issued the returned unit,
    // with whatever serial it holds by the end of the stream read.
    if let Some(sale) = &state {
        for (_, entry) in &mut entries {
            if entry.action == UnitAction::Reissued
                && let Some(line) = sale.line(entry.line_number)
            {
                entry.replaced_by = Some(Replacement {
                    sale_id: sale.sale_id,
                    invoice_number: sale.invoice_number.clone(),
                    line_number: line.line_number,
                    serial: line.serial.clone(),
                });
            }
        }
    }
    Ok(entries)
}

fn entry_for(
    recorded: &RecordedEvent,
    sale: Option<&Sale>,
    touched: Touch,
    serial: &str,
) -> Result<(ProductId, HistoryEntry), HistoryError> {
    let envelope = &recorded.envelope;
    let inconsistent = |reason: String| HistoryError::Inconsistent {
        stream_id: envelope.stream_id.clone(),
        stream_revision: envelope.stream_revision,
        event_type: envelope.event_type.clone(),
        reason,
    };
    let sale = sale.ok_or_else(|| inconsistent("the sale was never opened".into()))?;
    let line = sale.line(touched.line_number).ok_or_else(|| {
        inconsistent(format!(
            "line {} of sale {} holding serial {serial} was never added",
            touched.line_number.0, sale.sale_id
        ))
    })?;
    let entry = HistoryEntry {
        action: touched.action,
        // Filled in when the unit's entries are folded in log order.
        status_after: SerialStatus::Allocated,
        position: recorded.position,
        sale_id: sale.sale_id,
        invoice_number: sale.invoice_number.clone(),
        line_number: touched.line_number,
        sku: line.sku.clone(),
        product_name: line.product_name.clone(),
        sale_outlet_id: sale.outlet_id,
        customer: sale.customer.clone(),
        actor: envelope.metadata.actor.clone(),
        channel: envelope.metadata.channel,
        command_outlet_id: envelope.metadata.outlet_id,
        reason: touched.reason,
        refund: touched.refund,
        reissue_of: touched.reissue_of,
        replaced_by: None,
        event: envelope.clone(),
    };
    Ok((touched.product_id, entry))
}

/// Folds a unit's entries (in log order) into where it stands, setting each entry's
/// `status_after`, exactly as the traceability projection does.
fn fold_unit(
    product_id: ProductId,
    serial: &str,
    mut entries: Vec<HistoryEntry>,
) -> Result<UnitHistory, HistoryError> {
    let mut current: Option<SerialRecord> = None;
    for entry in &mut entries {
        if entry.action == UnitAction::Assigned {
            current = Some(SerialRecord {
                product_id,
                serial: serial.to_owned(),
                sku: entry.sku.clone(),
                product_name: entry.product_name.clone(),
                status: SerialStatus::Allocated,
                sale_id: entry.sale_id,
                invoice_number: entry.invoice_number.clone(),
                line_number: entry.line_number,
                outlet_id: entry.sale_outlet_id,
                customer: entry.customer.clone(),
                allocated_at: entry.recorded_at(),
                fulfilled_at: None,
                returned_at: None,
            });
        }
        let record = current.as_mut().ok_or_else(|| HistoryError::Inconsistent {
            stream_id: entry.event.stream_id.clone(),
            stream_revision: entry.event.stream_revision,
            event_type: entry.event.event_type.clone(),
            reason: format!("serial {serial} was never assigned before this event"),
        })?;
        match entry.action {
            UnitAction::Assigned | UnitAction::Reissued => {}
            UnitAction::Fulfilled => {
                record.status = SerialStatus::Fulfilled;
                record.fulfilled_at = Some(entry.recorded_at());
            }
            UnitAction::Returned => {
                record.status = SerialStatus::Returned;
                record.returned_at = Some(entry.recorded_at());
            }
            UnitAction::Removed | UnitAction::Cancelled | UnitAction::LineRemoved => {
                record.status = SerialStatus::Released;
            }
        }
        entry.status_after = record.status;
    }
    let current = current.ok_or_else(|| HistoryError::Inconsistent {
        stream_id: String::new(),
        stream_revision: 0,
        event_type: String::new(),
        reason: format!("serial {serial} of product {product_id} has no history"),
    })?;
    Ok(UnitHistory { current, entries })
}

/// The sales whose events mention `serial` in the log after `after` (all tenants' events
/// are read; only `tenant_id`'s count), and the last position read.
async fn scan_for_sales<S: EventStore>(
    store: &S,
    tenant_id: TenantId,
    serial: &str,
    after: Position,
    sales: &mut BTreeSet<SaleId>,
) -> Result<Position, HistoryError> {
    let mut position = after;
    loop {
        let page = store.read_all(position, PAGE).await?;
        let Some(last) = page.last() else { break };
        position = last.position;
        for recorded in &page {
            if recorded.envelope.tenant_id != tenant_id {
                continue;
            }
            let Some(sale_id) = streams::parse_sale(&recorded.envelope.stream_id) else {
                continue;
            };
            if names_serial(&decode(recorded)?) == Some(serial) {
                sales.insert(sale_id);
            }
        }
        if page.len() < PAGE {
            break;
        }
    }
    Ok(position)
}

/// The history of every unit with the serial, as `query` asks.
pub async fn serial_history(
    store: &AnyStore,
    query: &HistoryQuery,
) -> Result<SerialHistory, HistoryError> {
    let serial = SerialNumber::parse(&query.serial)?.into_string();
    let sku = match query.sku.as_deref().map(str::trim) {
        Some("") => return Err(HistoryError::BlankSku),
        other => other.map(str::to_owned),
    };
    let mut sales = BTreeSet::new();
    let mut limits = Limits::of(query.cutoff);
    let covers_up_to = match query.source {
        HistorySource::Scan => {
            scan_for_sales(store, query.tenant_id, &serial, Position::START, &mut sales).await?
        }
        HistorySource::Index | HistorySource::IndexOnly => {
            // The checkpoint first: the index then holds at least everything up to it.
            let runner = ProjectionRunner::new(store.clone(), RunnerOptions::default());
            let (checkpoint, _) = runner.checkpoint(Projection::Serials).await?;
            let db = ReadDb::of(store);
            sales.extend(
                sales_touching_serial(&db, query.tenant_id, &serial, query.product_id).await?,
            );
            if query.source == HistorySource::Index {
                scan_for_sales(store, query.tenant_id, &serial, checkpoint, &mut sales).await?
            } else {
                // Events the index has not folded yet are left out, so the answer is the
                // log up to the checkpoint, consistent with every other read model.
                limits.position = Some(limits.position.map_or(checkpoint, |p| p.min(checkpoint)));
                checkpoint
            }
        }
    };
    let mut by_unit: BTreeMap<ProductId, Vec<HistoryEntry>> = BTreeMap::new();
    for sale_id in sales {
        for (product_id, entry) in
            sale_entries(store, query.tenant_id, sale_id, &serial, limits).await?
        {
            if query.product_id.is_some_and(|wanted| wanted != product_id) {
                continue;
            }
            by_unit.entry(product_id).or_default().push(entry);
        }
    }
    let mut units = Vec::with_capacity(by_unit.len());
    for (product_id, mut entries) in by_unit {
        entries.sort_by_key(|entry| entry.position);
        let unit = fold_unit(product_id, &serial, entries)?;
        if sku.as_deref().is_none_or(|sku| unit.current.sku == sku) {
            units.push(unit);
        }
    }
    Ok(SerialHistory {
        tenant_id: query.tenant_id,
        serial,
        source: query.source,
        covers_up_to,
        units,
    })
}
