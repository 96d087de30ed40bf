//! An auditor's evidence file: a serial's history exported as JSON (every event in full,
//! with its hashes, so it can be checked offline) or CSV (one row per event, for
//! spreadsheets), and the offline check of a JSON file.
//!
//! The JSON holds each event's envelope exactly as stored. Its `hash` is SHA-256 over the
//! canonical JSON of the envelope minus `global_position` and `hash` (see
//! `event_schemas::event_hash`), so [`check_evidence`] (or any reimplementation of those
//! few rules) can tell whether an event in the file was altered after it left the ledger,
//! and an auditor with access to a copy of the ledger can look each hash up there. The
//! file cannot prove that no event is missing: `replay verify` on the ledger does that.

use crate::history::{HistoryEntry, SerialHistory, UnitHistory};
use event_schemas::{EventEnvelope, LedgerEvent, envelope_hash};
use projections::queries::trace::SerialRecord;
use serde_json::{Value, json};
use std::io::Write;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The `format` field of an evidence file.
pub const EVIDENCE_FORMAT: &str = "serial-ledger/serial-history";
/// The version of that format this build writes and reads.
pub const EVIDENCE_FORMAT_VERSION: u64 = 1;

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_else(|_| time.to_string())
}

fn record_json(record: &SerialRecord) -> Value {
    json!({
        "status": record.status.code(),
        "sale_id": record.sale_id,
        "invoice_number": record.invoice_number,
        "line_number": record.line_number.0,
        "sku": record.sku,
        "product_name": record.product_name,
        "outlet_id": record.outlet_id,
        "customer": record.customer,
        "allocated_at": rfc3339(record.allocated_at),
        "fulfilled_at": record.fulfilled_at.map(rfc3339),
        "returned_at": record.returned_at.map(rfc3339),
    })
}

fn entry_json(entry: &HistoryEntry) -> Value {
    json!({
        "position": entry.position.to_string(),
        "recorded_at": rfc3339(entry.recorded_at()),
        "action": entry.action.code(),
        "status_after": entry.status_after.code(),
        "sale_id": entry.sale_id,
        "invoice_number": entry.invoice_number,
        "line_number": entry.line_number.0,
        "sku": entry.sku,
        "product_name": entry.product_name,
        "outlet_id": entry.outlet_id(),
        "sale_outlet_id": entry.sale_outlet_id,
        "customer": entry.customer,
        "actor": entry.actor,
        "channel": entry.channel,
        "reason": entry.reason,
        "refund": entry.refund,
        "reissue_of": entry.reissue_of,
        "event": entry.event,
    })
}

fn unit_json(unit: &UnitHistory) -> Value {
    json!({
        "product_id": unit.current.product_id,
        "serial": unit.current.serial,
        "current": record_json(&unit.current),
        "history": unit.entries.iter().map(entry_json).collect::<Vec<_>>(),
    })
}

/// The evidence document of a history, as generated at `generated_at`.
pub fn to_json(history: &SerialHistory, generated_at: OffsetDateTime) -> Value {
    json!({
        "format": EVIDENCE_FORMAT,
        "format_version": EVIDENCE_FORMAT_VERSION,
        "generated_at": rfc3339(generated_at),
        "tenant_id": history.tenant_id,
        "serial": history.serial,
        "source": history.source,
        "covers_up_to": history.covers_up_to.to_string(),
        "how_to_check": "Each history entry's `event` is the event as stored. Its `hash` is \
            the hex SHA-256 of the canonical JSON (keys sorted, no whitespace) of \
            {event_id, tenant_id, stream_id, stream_revision, recorded_at_micros, metadata, \
            event_type, schema_version, payload, previous_hash}; \
            `serial-ledger replay check-evidence FILE` recomputes it.",
        "units": history.units.iter().map(unit_json).collect::<Vec<_>>(),
    })
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 27] = [
    "product_id",
    "serial",
    "position",
    "recorded_at",
    "action",
    "status_after",
    "sale_id",
    "invoice_number",
    "line_number",
    "sku",
    "product_name",
    "outlet_id",
    "customer_id",
    "customer_name",
    "actor_kind",
    "actor_id",
    "actor_name",
    "channel",
    "reason",
    "refund_minor",
    "refund_currency",
    "reissue_of_invoice",
    "reissue_of_line",
    "event_id",
    "event_type",
    "stream_revision",
    "hash",
];

/// Writes the history as CSV: a header, then one row per event of every unit.
pub fn write_csv<W: Write>(history: &SerialHistory, writer: W) -> Result<(), csv::Error> {
    let mut csv = csv::Writer::from_writer(writer);
    csv.write_record(CSV_HEADER)?;
    for unit in &history.units {
        for entry in &unit.entries {
            let customer = entry.customer.as_ref();
            csv.write_record([
                unit.current.product_id.to_string(),
                unit.current.serial.clone(),
                entry.position.to_string(),
                rfc3339(entry.recorded_at()),
                entry.action.code().to_owned(),
                entry.status_after.code().to_owned(),
                entry.sale_id.to_string(),
                entry.invoice_number.clone(),
                entry.line_number.0.to_string(),
                entry.sku.clone(),
                entry.product_name.clone(),
                entry.outlet_id().to_string(),
                customer
                    .map(|c| c.customer_id.to_string())
                    .unwrap_or_default(),
                customer.map(|c| c.name.clone()).unwrap_or_default(),
                entry.actor.kind.code().to_owned(),
                entry.actor.id.clone(),
                entry.actor.display_name.clone(),
                entry.channel.code().to_owned(),
                entry.reason.clone().unwrap_or_default(),
                entry
                    .refund
                    .as_ref()
                    .map(|m| m.amount_minor.to_string())
                    .unwrap_or_default(),
                entry
                    .refund
                    .as_ref()
                    .map(|m| m.currency.clone())
                    .unwrap_or_default(),
                entry
                    .reissue_of
                    .as_ref()
                    .map(|r| r.invoice_number.clone())
                    .unwrap_or_default(),
                entry
                    .reissue_of
                    .as_ref()
                    .map(|r| r.line_number.0.to_string())
                    .unwrap_or_default(),
                entry.event.event_id.to_string(),
                entry.event.event_type.clone(),
                entry.event.stream_revision.to_string(),
                entry.event.hash.clone(),
            ])?;
        }
    }
    csv.flush()?;
    Ok(())
}

/// Something wrong with an evidence file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceProblem {
    /// The file is not an evidence file this build reads (the message says why).
    Unreadable(String),
    /// An event's content does not hash to its stored hash: it was altered.
    HashMismatch {
        /// The unit's product.
        product_id: String,
        /// The entry's index in the unit's history (from 0).
        entry: usize,
        /// The event's id.
        event_id: String,
    },
    /// An event does not concern the file's serial, or its payload cannot be decoded.
    NotAboutSerial {
        /// The unit's product.
        product_id: String,
        /// The entry's index in the unit's history (from 0).
        entry: usize,
        /// The event's id.
        event_id: String,
    },
}

impl std::fmt::Display for EvidenceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvidenceProblem::Unreadable(why) => write!(f, "not a readable evidence file: {why}"),
            EvidenceProblem::HashMismatch {
                product_id,
                entry,
                event_id,
            } => write!(
                f,
                "product {product_id}, history entry {entry}: event {event_id} does not match \
                 its hash: it was altered"
            ),
            EvidenceProblem::NotAboutSerial {
                product_id,
                entry,
                event_id,
            } => write!(
                f,
                "product {product_id}, history entry {entry}: event {event_id} is not about \
                 this serial"
            ),
        }
    }
}

/// What the offline check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvidenceCheck {
    /// The file's serial.
    pub serial: String,
    /// Units in the file.
    pub units: usize,
    /// Events checked.
    pub events: usize,
    /// What is wrong, in file order.
    pub problems: Vec<EvidenceProblem>,
}

impl EvidenceCheck {
    /// True when every event matches its hash and concerns the serial.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks an evidence document offline: each event is re-hashed from its content and must
/// name the file's serial.
pub fn check_evidence(document: &Value) -> EvidenceCheck {
    let mut check = EvidenceCheck::default();
    let unreadable = |why: &str| EvidenceCheck {
        problems: vec![EvidenceProblem::Unreadable(why.to_owned())],
        ..EvidenceCheck::default()
    };
    if document["format"] != EVIDENCE_FORMAT {
        return unreadable(&format!("`format` is not {EVIDENCE_FORMAT:?}"));
    }
    if document["format_version"] != EVIDENCE_FORMAT_VERSION {
        return unreadable(&format!(
            "`format_version` is not {EVIDENCE_FORMAT_VERSION}"
        ));
    }
    let Some(serial) = document["serial"].as_str() else {
        return unreadable("`serial` is missing");
    };
    let Some(units) = document["units"].as_array() else {
        return unreadable("`units` is missing");
    };
    check.serial = serial.to_owned();
    check.units = units.len();
    for unit in units {
        let product_id = unit["product_id"].as_str().unwrap_or_default().to_owned();
        let Some(history) = unit["history"].as_array() else {
            return unreadable("a unit has no `history`");
        };
        for (index, entry) in history.iter().enumerate() {
            let envelope: EventEnvelope = match serde_json::from_value(entry["event"].clone()) {
                Ok(envelope) => envelope,
                Err(error) => {
                    check.problems.push(EvidenceProblem::Unreadable(format!(
                        "product {product_id}, history entry {index}: {error}"
                    )));
                    continue;
                }
            };
            check.events += 1;
            let event_id = envelope.event_id.to_string();
            if envelope_hash(&envelope) != envelope.hash {
                check.problems.push(EvidenceProblem::HashMismatch {
                    product_id: product_id.clone(),
                    entry: index,
                    event_id: event_id.clone(),
                });
            }
            let about_serial = LedgerEvent::decode(
                &envelope.event_type,
                envelope.schema_version,
                &envelope.payload,
            )
            .is_ok_and(|event| crate::history::names_serial(&event) == Some(serial));
            if !about_serial {
                check.problems.push(EvidenceProblem::NotAboutSerial {
                    product_id: product_id.clone(),
                    entry: index,
                    event_id,
                });
            }
        }
    }
    check
}
