//! An auditor's evidence file: a serial's history exported as JSON (every event in full as
//! stored, with its leaf in the retailer's Merkle tree, its inclusion proof, the serial's
//! map proof and the signed checkpoint all of them are proven against) or CSV (one row per
//! event, for spreadsheets).
//!
//! The JSON is checked offline by `ledger_proof::evidence::check_evidence` (the
//! `serial-ledger replay check-evidence` command, or the standalone `serial-ledger-verify`):
//! each event's hash from its content, the links between consecutive events of a stream,
//! every inclusion proof against the checkpoint's root, the checkpoint's signature, and
//! completeness: the events in the file, chained in log order, must give the chain head the
//! checkpoint's serial map commits to, so a file that leaves out any event about the serial
//! up to the checkpoint fails.

use crate::history::{HistoryEntry, SerialHistory, UnitHistory};
use ledger_proof::merkle::Hash;
use projections::ReadDb;
use projections::proofs::checkpoints::{self, StoredCheckpoint};
use projections::proofs::queries::{self, ProofQueryError, SerialChain};
use projections::queries::trace::SerialRecord;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

pub use ledger_proof::evidence::{EVIDENCE_FORMAT, EVIDENCE_FORMAT_VERSION};

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

/// What proves a history: the checkpoint, the serial's committed chain and map proof, and
/// each committed event's inclusion proof.
#[derive(Debug, Clone)]
pub struct EvidenceProofs {
    /// The checkpoint everything is proven against: the retailer's newest.
    pub checkpoint: StoredCheckpoint,
    /// The serial's chain as of the checkpoint.
    pub chain: SerialChain,
    /// The serial's map proof at the checkpoint.
    pub map_proof: merkle_map::MapProof,
    /// Per committed event: its leaf index and inclusion proof.
    pub inclusion: HashMap<Uuid, (u64, Vec<Hash>)>,
    /// Events of the history recorded after the checkpoint: not in the file (a newer
    /// checkpoint covers them).
    pub after_checkpoint: usize,
}

/// Why a history cannot be proven.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The retailer has no checkpoint yet.
    #[error(
        "no checkpoint has been issued for this retailer yet: a running server issues them, \
         or `serial-ledger checkpoint issue`"
    )]
    NoCheckpoint,
    /// The checkpoint commits to an event the history does not show.
    #[error(
        "the checkpoint commits event {event_id} (leaf {leaf_index}) to this serial, but its \
         history does not show it: read the history with --scan, and run `replay verify`"
    )]
    MissingFromHistory {
        /// The event.
        event_id: Uuid,
        /// Its leaf.
        leaf_index: u64,
    },
    /// Reading the proofs failed.
    #[error(transparent)]
    Query(#[from] ProofQueryError),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Proves `history` (every unit of the serial) against the retailer's newest checkpoint,
/// from the `proofs` projection (which the caller has caught up with the log).
pub async fn prove(db: &ReadDb, history: &SerialHistory) -> Result<EvidenceProofs, EvidenceError> {
    let mut tx = db.snapshot().await?;
    let result = prove_in(&mut tx, history).await;
    tx.rollback().await?;
    result
}

async fn prove_in(
    tx: &mut projections::ReadTx,
    history: &SerialHistory,
) -> Result<EvidenceProofs, EvidenceError> {
    let tenant_id = history.tenant_id;
    let checkpoint = checkpoints::latest(tx, tenant_id)
        .await?
        .ok_or(EvidenceError::NoCheckpoint)?;
    let size = checkpoint.checkpoint.tree_size;
    let chain = queries::serial_chain(tx, tenant_id, &history.serial, size).await?;
    let map_proof = queries::map_proof_at(tx, tenant_id, size, &chain.key).await?;
    let shown: HashMap<Uuid, ()> = history
        .units
        .iter()
        .flat_map(|unit| unit.entries.iter().map(|entry| (entry.event.event_id, ())))
        .collect();
    let mut inclusion = HashMap::with_capacity(chain.events.len());
    for event in &chain.events {
        if !shown.contains_key(&event.event_id) {
            return Err(EvidenceError::MissingFromHistory {
                event_id: event.event_id,
                leaf_index: event.leaf_index,
            });
        }
        let proof = queries::inclusion_proof(tx, tenant_id, size, event.leaf_index).await?;
        inclusion.insert(event.event_id, (event.leaf_index, proof));
    }
    let after_checkpoint = shown.len().saturating_sub(inclusion.len());
    Ok(EvidenceProofs {
        checkpoint,
        chain,
        map_proof,
        inclusion,
        after_checkpoint,
    })
}

fn entry_json(entry: &HistoryEntry, proof: &(u64, Vec<Hash>)) -> Value {
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
        "replaced_by": entry.replaced_by,
        "leaf_index": proof.0,
        "inclusion_proof": proof.1.iter().map(hex::encode).collect::<Vec<_>>(),
        "event": entry.event,
    })
}

fn unit_json(unit: &UnitHistory, proofs: &EvidenceProofs) -> Value {
    json!({
        "product_id": unit.current.product_id,
        "serial": unit.current.serial,
        "current": record_json(&unit.current),
        "history": unit
            .entries
            .iter()
            .filter_map(|entry| {
                let proof = proofs.inclusion.get(&entry.event.event_id)?;
                Some(entry_json(entry, proof))
            })
            .collect::<Vec<_>>(),
    })
}

/// A history as JSON without proofs (a past state, `replay as-of --format json`): every
/// event as stored, checkable one by one with its hash, but not proven complete.
pub fn history_json(history: &SerialHistory, generated_at: OffsetDateTime) -> Value {
    json!({
        "format": "serial-ledger/serial-history-view",
        "format_version": 1,
        "generated_at": rfc3339(generated_at),
        "tenant_id": history.tenant_id,
        "serial": history.serial,
        "source": history.source,
        "covers_up_to": history.covers_up_to.to_string(),
        "units": history.units.iter().map(|unit| json!({
            "product_id": unit.current.product_id,
            "serial": unit.current.serial,
            "current": record_json(&unit.current),
            "history": unit.entries.iter().map(|entry| {
                let mut value = entry_json(entry, &(0, Vec::new()));
                if let Some(object) = value.as_object_mut() {
                    object.remove("leaf_index");
                    object.remove("inclusion_proof");
                }
                value
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The evidence document of a history with its proofs, as generated at `generated_at`.
pub fn to_json(
    history: &SerialHistory,
    proofs: &EvidenceProofs,
    generated_at: OffsetDateTime,
) -> Value {
    let checkpoint = &proofs.checkpoint;
    json!({
        "format": EVIDENCE_FORMAT,
        "format_version": EVIDENCE_FORMAT_VERSION,
        "generated_at": rfc3339(generated_at),
        "tenant_id": history.tenant_id,
        "serial": history.serial,
        "source": history.source,
        "covers_up_to": history.covers_up_to.to_string(),
        "proven_up_to_tree_size": checkpoint.checkpoint.tree_size,
        "events_after_checkpoint": proofs.after_checkpoint,
        "how_to_check": "Check offline with `serial-ledger replay check-evidence FILE \
            --public-key KEY` or `serial-ledger-verify FILE --public-key KEY`. Each event's \
            `hash` is the hex SHA-256 of the canonical JSON (keys sorted, no whitespace) of \
            {event_id, tenant_id, stream_id, stream_revision, recorded_at_micros, metadata, \
            event_type, schema_version, payload, previous_hash}. The event is leaf \
            `leaf_index` of the retailer's RFC 9162 Merkle tree (leaf = SHA-256(0x00 || hash \
            bytes)), proven by `inclusion_proof` against the root in `checkpoint`, a C2SP \
            signed note (tlog-checkpoint; extension lines `serial-map <base64 root>` and \
            `time <unix seconds>`). Completeness: chaining the file's events in leaf order \
            (head = SHA-256(0x02 || head || leaf index u64 BE || hash), from 32 zero bytes) \
            gives `serial_map.chain_head` after `serial_map.events` events, and \
            SHA-256(0x03 || events u64 BE || head) is the value of key `serial_map.key` in the \
            sparse Merkle map whose root is the checkpoint's serial-map line \
            (docs/auditing.md).",
        "checkpoint": checkpoint.note_with_cosignatures(),
        "checkpoint_key": checkpoint.verifier_key,
        "serial_map": {
            "key": hex::encode(proofs.chain.key),
            "events": proofs.chain.events.len(),
            "chain_head": hex::encode(proofs.chain.head),
            "proof": proofs.map_proof.to_hex(),
        },
        "units": history.units.iter().map(|unit| unit_json(unit, proofs)).collect::<Vec<_>>(),
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
