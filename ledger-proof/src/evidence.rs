//! The offline check of a serial-history evidence file: what an auditor runs, with nothing
//! but the file and the ledger's published verifier key.
//!
//! A version 2 file carries a signed checkpoint, every event about the serial as stored
//! (with its leaf index and inclusion proof), and the serial map's entry for the serial
//! with its proof. The check establishes, and reports every failure of, not just the first:
//!
//! 1. the checkpoint is signed by a given key and is of the file's tenant's log;
//! 2. every event is unaltered (its hash recomputes), of the tenant, about the serial, and
//!    in the log at its leaf index (inclusion proof against the checkpoint root);
//! 3. the file's order is the log's: no event or leaf twice, leaf indexes increase within a
//!    unit, and within a stream revisions link (`previous_hash`) and follow leaf order;
//! 4. completeness: the events, by leaf index, chain to the head the serial map commits to
//!    under the checkpoint's map root, so none is left out and none added.
//!
//! Unknown fields are ignored (the file also carries presentational fields). Nothing in the
//! file is trusted for the verdict except through these checks, and no input panics: sizes
//! are bounded ([`MAX_DOCUMENT_BYTES`], [`MAX_EVENTS`]) and every field is read fallibly.

use crate::checkpoint::{
    Checkpoint, VerifierKey, open_checkpoint, origin, read_checkpoint_unverified,
};
use crate::error::ProofError;
use crate::merkle::{Hash, parse_hash_hex, verify_inclusion};
use crate::serial_chain::{fold_chain, serial_key, serial_value};
use event_schemas::{EventEnvelope, LedgerEvent, envelope_hash};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// The `format` of an evidence file.
pub const EVIDENCE_FORMAT: &str = "serial-ledger/serial-history";
/// The `format_version` this module checks.
pub const EVIDENCE_FORMAT_VERSION: u64 = 2;
/// The largest evidence file accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;
/// The most history entries accepted in one file.
pub const MAX_EVENTS: usize = 100_000;

/// Where in the file a problem is: the unit (its product id), the history entry index and,
/// when readable, the event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The unit's product id, or `unit #n` when the file lacks it.
    pub unit: String,
    /// The 0-based index of the entry in the unit's history.
    pub entry: usize,
    /// The event's id, when readable.
    pub event_id: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unit {}, history entry {}", self.unit, self.entry)?;
        if let Some(id) = &self.event_id {
            write!(f, ", event {id}")?;
        }
        Ok(())
    }
}

/// One thing wrong with an evidence file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvidenceProblem {
    /// The file is larger than [`MAX_DOCUMENT_BYTES`].
    TooLarge {
        /// Its size in bytes.
        size: usize,
    },
    /// The file is not JSON.
    NotJson {
        /// The parser's message.
        reason: String,
    },
    /// A field the format requires is missing or of the wrong type.
    Shape {
        /// The field's path, e.g. `serial_map.events`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Not a serial-history evidence file.
    UnknownFormat {
        /// The `format` found.
        found: String,
    },
    /// A version 1 file: it has no proofs to check.
    VersionWithoutProofs,
    /// A version this build does not know.
    UnsupportedVersion {
        /// The `format_version` found.
        found: String,
    },
    /// More history entries than [`MAX_EVENTS`].
    TooManyEvents {
        /// How many.
        count: usize,
    },
    /// The checkpoint note does not open, or is of another log.
    Checkpoint {
        /// Why.
        error: ProofError,
    },
    /// A unit names another serial than the file.
    UnitOfOtherSerial {
        /// The unit.
        unit: String,
        /// Its serial.
        found: String,
    },
    /// A history entry is malformed (missing leaf index, proof or event fields).
    EntryMalformed {
        /// Where.
        at: Location,
        /// What.
        reason: String,
    },
    /// The event's content does not hash to its `hash`: it was altered.
    EventAltered {
        /// Where.
        at: Location,
        /// The hash it carries.
        stored: String,
        /// The hash of its content.
        recomputed: String,
    },
    /// The event is of another tenant.
    EventOfOtherTenant {
        /// Where.
        at: Location,
        /// Its tenant.
        found: String,
    },
    /// The payload does not decode as its type and version.
    EventUndecodable {
        /// Where.
        at: Location,
        /// Why.
        reason: String,
    },
    /// The event is not about the file's serial (an event of another unit swapped in).
    EventOfOtherSerial {
        /// Where.
        at: Location,
        /// The serial it names, if any.
        found: Option<String>,
    },
    /// The leaf index is beyond the checkpoint's tree.
    LeafNotInTree {
        /// Where.
        at: Location,
        /// The leaf index claimed.
        leaf_index: u64,
        /// The checkpoint's tree size.
        tree_size: u64,
    },
    /// The inclusion proof does not prove the event's hash at its leaf index under the
    /// checkpoint root (an edited event with a recomputed hash, or a proof of another tree).
    InclusionFails {
        /// Where.
        at: Location,
        /// The leaf index claimed.
        leaf_index: u64,
        /// Why.
        reason: String,
    },
    /// The same event appears twice.
    DuplicateEvent {
        /// Where (the second occurrence).
        at: Location,
    },
    /// Two entries claim the same leaf.
    DuplicateLeaf {
        /// Where (the second occurrence).
        at: Location,
        /// The leaf index.
        leaf_index: u64,
    },
    /// Within a unit, leaf indexes do not increase: the history was reordered.
    OutOfOrder {
        /// Where.
        at: Location,
        /// Its leaf index.
        leaf_index: u64,
        /// The previous entry's leaf index.
        previous: u64,
    },
    /// Within a stream, consecutive revisions do not link, or revision order and leaf order
    /// disagree.
    StreamBroken {
        /// Where.
        at: Location,
        /// The stream.
        stream: String,
        /// What.
        reason: String,
    },
    /// The serial map entry is for another key than the file's serial.
    MapKeyMismatch {
        /// The key in the file.
        found: String,
        /// `serial_key(serial)`.
        expected: String,
    },
    /// The file has more or fewer events about the serial than the log committed.
    Incomplete {
        /// Events in the file.
        in_file: u64,
        /// Events committed.
        committed: u64,
    },
    /// The file has as many events as committed, but not the committed ones (or not in
    /// the committed order).
    HistoryDiffers {
        /// The event count.
        events: u64,
    },
    /// The serial map proof does not show the entry under the checkpoint's map root.
    MapProofFails {
        /// Why.
        reason: String,
    },
}

impl EvidenceProblem {
    /// The stable machine-readable code. Checkpoint problems carry the code of their
    /// [`ProofError`] (`CHECKPOINT_NOT_SIGNED_BY_KEY`, `SIGNATURE_INVALID`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            EvidenceProblem::TooLarge { .. } => "EVIDENCE_TOO_LARGE",
            EvidenceProblem::NotJson { .. } => "EVIDENCE_NOT_JSON",
            EvidenceProblem::Shape { .. } => "EVIDENCE_MALFORMED",
            EvidenceProblem::UnknownFormat { .. } => "EVIDENCE_FORMAT_UNKNOWN",
            EvidenceProblem::VersionWithoutProofs => "EVIDENCE_VERSION_WITHOUT_PROOFS",
            EvidenceProblem::UnsupportedVersion { .. } => "EVIDENCE_VERSION_UNSUPPORTED",
            EvidenceProblem::TooManyEvents { .. } => "EVIDENCE_TOO_MANY_EVENTS",
            EvidenceProblem::Checkpoint { error } => error.code(),
            EvidenceProblem::UnitOfOtherSerial { .. } => "UNIT_OTHER_SERIAL",
            EvidenceProblem::EntryMalformed { .. } => "ENTRY_MALFORMED",
            EvidenceProblem::EventAltered { .. } => "EVENT_ALTERED",
            EvidenceProblem::EventOfOtherTenant { .. } => "EVENT_OTHER_TENANT",
            EvidenceProblem::EventUndecodable { .. } => "EVENT_UNDECODABLE",
            EvidenceProblem::EventOfOtherSerial { .. } => "EVENT_OTHER_SERIAL",
            EvidenceProblem::LeafNotInTree { .. } => "LEAF_NOT_IN_TREE",
            EvidenceProblem::InclusionFails { .. } => "INCLUSION_PROOF_INVALID",
            EvidenceProblem::DuplicateEvent { .. } => "EVENT_DUPLICATED",
            EvidenceProblem::DuplicateLeaf { .. } => "LEAF_DUPLICATED",
            EvidenceProblem::OutOfOrder { .. } => "EVENTS_OUT_OF_ORDER",
            EvidenceProblem::StreamBroken { .. } => "STREAM_CHAIN_BROKEN",
            EvidenceProblem::MapKeyMismatch { .. } => "MAP_KEY_MISMATCH",
            EvidenceProblem::Incomplete { .. } => "HISTORY_INCOMPLETE",
            EvidenceProblem::HistoryDiffers { .. } => "HISTORY_DIFFERS",
            EvidenceProblem::MapProofFails { .. } => "MAP_PROOF_INVALID",
        }
    }
}

impl fmt::Display for EvidenceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvidenceProblem::TooLarge { size } => write!(
                f,
                "the file is {size} bytes, larger than the {MAX_DOCUMENT_BYTES} bytes accepted"
            ),
            EvidenceProblem::NotJson { reason } => write!(f, "the file is not JSON: {reason}"),
            EvidenceProblem::Shape { field, reason } => write!(f, "field {field}: {reason}"),
            EvidenceProblem::UnknownFormat { found } => write!(
                f,
                "not a serial history evidence file (format {found}, expected {EVIDENCE_FORMAT})"
            ),
            EvidenceProblem::VersionWithoutProofs => write!(
                f,
                "this is a version 1 evidence file: it carries no proofs, so nothing in it can be \
                 verified; regenerate it (version {EVIDENCE_FORMAT_VERSION}) from the ledger"
            ),
            EvidenceProblem::UnsupportedVersion { found } => write!(
                f,
                "format version {found} is not known to this verifier (expected {EVIDENCE_FORMAT_VERSION})"
            ),
            EvidenceProblem::TooManyEvents { count } => write!(
                f,
                "the file has {count} history entries, more than the {MAX_EVENTS} accepted"
            ),
            EvidenceProblem::Checkpoint { error } => write!(f, "checkpoint: {error}"),
            EvidenceProblem::UnitOfOtherSerial { unit, found } => {
                write!(f, "unit {unit} is of serial {found}, not the file's serial")
            }
            EvidenceProblem::EntryMalformed { at, reason } => write!(f, "{at}: {reason}"),
            EvidenceProblem::EventAltered {
                at,
                stored,
                recomputed,
            } => write!(
                f,
                "{at}: the event was altered: its content hashes to {recomputed}, not to its hash {stored}"
            ),
            EvidenceProblem::EventOfOtherTenant { at, found } => {
                write!(
                    f,
                    "{at}: the event is of tenant {found}, not the file's tenant"
                )
            }
            EvidenceProblem::EventUndecodable { at, reason } => {
                write!(f, "{at}: the payload does not decode: {reason}")
            }
            EvidenceProblem::EventOfOtherSerial { at, found } => match found {
                Some(serial) => write!(
                    f,
                    "{at}: the event is about serial {serial}, not the file's serial"
                ),
                None => write!(f, "{at}: the event names no serial"),
            },
            EvidenceProblem::LeafNotInTree {
                at,
                leaf_index,
                tree_size,
            } => write!(
                f,
                "{at}: leaf index {leaf_index} is not in the checkpoint's tree of {tree_size} events"
            ),
            EvidenceProblem::InclusionFails {
                at,
                leaf_index,
                reason,
            } => write!(
                f,
                "{at}: not proven to be leaf {leaf_index} of the checkpoint's log (an edited event, or a proof for another checkpoint): {reason}"
            ),
            EvidenceProblem::DuplicateEvent { at } => {
                write!(f, "{at}: the event appears more than once")
            }
            EvidenceProblem::DuplicateLeaf { at, leaf_index } => {
                write!(f, "{at}: leaf index {leaf_index} appears more than once")
            }
            EvidenceProblem::OutOfOrder {
                at,
                leaf_index,
                previous,
            } => write!(
                f,
                "{at}: leaf index {leaf_index} comes after {previous}: the history is out of log order"
            ),
            EvidenceProblem::StreamBroken { at, stream, reason } => {
                write!(f, "{at}: stream {stream}: {reason}")
            }
            EvidenceProblem::MapKeyMismatch { found, expected } => write!(
                f,
                "the serial map entry is for key {found}, but the serial's key is {expected}"
            ),
            EvidenceProblem::Incomplete { in_file, committed } => write!(
                f,
                "the file leaves out or adds events about the serial: {in_file} in the file, {committed} committed"
            ),
            EvidenceProblem::HistoryDiffers { events } => write!(
                f,
                "the file's {events} events about the serial are not the {events} committed (another event in place of one, or another order)"
            ),
            EvidenceProblem::MapProofFails { reason } => write!(
                f,
                "the serial map proof does not show this history under the checkpoint's map root: {reason}"
            ),
        }
    }
}

/// The outcome of [`check_evidence`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceCheck {
    /// The file's serial (empty if unreadable).
    pub serial: String,
    /// Units in the file.
    pub units: usize,
    /// History entries in the file.
    pub events: usize,
    /// The checkpoint the file was checked against, when it parsed.
    pub checkpoint: Option<Checkpoint>,
    /// Whether a signature by a given key verified. `false` when no keys were given: the
    /// contents may be consistent, but nothing says the ledger issued them.
    pub signature_checked: bool,
    /// Names of the given keys whose signatures on the checkpoint verified.
    pub signed_by: Vec<String>,
    /// Everything wrong, in file order.
    pub problems: Vec<EvidenceProblem>,
}

impl EvidenceCheck {
    /// No problem found. Says nothing about the signature: see
    /// [`EvidenceCheck::is_verified`].
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// Intact and signed by one of the given keys.
    pub fn is_verified(&self) -> bool {
        self.is_intact() && self.signature_checked
    }

    fn problem(&mut self, problem: EvidenceProblem) {
        self.problems.push(problem);
    }

    fn shape(&mut self, field: &str, reason: &str) {
        self.problem(EvidenceProblem::Shape {
            field: field.to_owned(),
            reason: reason.to_owned(),
        });
    }

    fn empty() -> Self {
        Self {
            serial: String::new(),
            units: 0,
            events: 0,
            checkpoint: None,
            signature_checked: false,
            signed_by: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// Checks an evidence file given as bytes: refuses it unread above [`MAX_DOCUMENT_BYTES`].
pub fn check_evidence_bytes(bytes: &[u8], keys: Option<&[VerifierKey]>) -> EvidenceCheck {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        let mut check = EvidenceCheck::empty();
        check.problem(EvidenceProblem::TooLarge { size: bytes.len() });
        return check;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(document) => check_evidence(&document, keys),
        Err(error) => {
            let mut check = EvidenceCheck::empty();
            check.problem(EvidenceProblem::NotJson {
                reason: error.to_string(),
            });
            check
        }
    }
}

/// The serial map entry as the file states it.
struct MapEntry {
    key: String,
    events: u64,
    chain_head: Hash,
    proof: Vec<String>,
}

/// What the stream and chain checks need of each readable entry.
struct Entry {
    at: Location,
    leaf_index: u64,
    event_hash: Hash,
    stream: String,
    revision: u64,
    hash_hex: String,
    previous_hash: String,
}

fn read_map_entry(check: &mut EvidenceCheck, value: Option<&Value>) -> Option<MapEntry> {
    let Some(map) = value.and_then(Value::as_object) else {
        check.shape("serial_map", "missing or not an object");
        return None;
    };
    let key = map.get("key").and_then(Value::as_str);
    let events = map.get("events").and_then(Value::as_u64);
    let head = map
        .get("chain_head")
        .and_then(Value::as_str)
        .map(parse_hash_hex);
    let proof: Option<Vec<String>> = map
        .get("proof")
        .and_then(Value::as_array)
        .and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect()
        });
    if key.is_none() {
        check.shape("serial_map.key", "missing or not a string");
    }
    if events.is_none() {
        check.shape("serial_map.events", "missing or not a non-negative integer");
    }
    let chain_head = match head {
        Some(Ok(head)) => Some(head),
        Some(Err(error)) => {
            check.shape("serial_map.chain_head", &error.to_string());
            None
        }
        None => {
            check.shape("serial_map.chain_head", "missing or not a string");
            None
        }
    };
    if proof.is_none() {
        check.shape("serial_map.proof", "missing or not a list of strings");
    }
    Some(MapEntry {
        key: key?.to_owned(),
        events: events?,
        chain_head: chain_head?,
        proof: proof?,
    })
}

/// Checks a parsed evidence file. `keys: None` checks everything but the signature, and
/// reports `signature_checked: false`.
pub fn check_evidence(document: &Value, keys: Option<&[VerifierKey]>) -> EvidenceCheck {
    let mut check = EvidenceCheck::empty();
    let Some(object) = document.as_object() else {
        check.shape("(document)", "not a JSON object");
        return check;
    };
    match object.get("format").and_then(Value::as_str) {
        Some(EVIDENCE_FORMAT) => {}
        other => {
            check.problem(EvidenceProblem::UnknownFormat {
                found: other.unwrap_or("(none)").to_owned(),
            });
            return check;
        }
    }
    match object.get("format_version").and_then(Value::as_u64) {
        Some(EVIDENCE_FORMAT_VERSION) => {}
        Some(1) => {
            check.problem(EvidenceProblem::VersionWithoutProofs);
            return check;
        }
        _ => {
            let found = object
                .get("format_version")
                .map_or_else(|| "(none)".to_owned(), Value::to_string);
            check.problem(EvidenceProblem::UnsupportedVersion { found });
            return check;
        }
    }

    let serial = object
        .get("serial")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if serial.is_empty() {
        check.shape("serial", "missing, empty or not a string");
    }
    check.serial = serial.to_owned();
    let tenant = object
        .get("tenant_id")
        .and_then(Value::as_str)
        .and_then(|text| uuid::Uuid::parse_str(text).ok());
    if tenant.is_none() {
        check.shape("tenant_id", "missing or not a UUID");
    }

    // The checkpoint: signed by a given key, of the tenant's log.
    let checkpoint = match object.get("checkpoint").and_then(Value::as_str) {
        None => {
            check.shape("checkpoint", "missing or not a string");
            None
        }
        Some(note) => {
            let opened = match keys {
                Some(keys) => open_checkpoint(note, keys).map(|opened| {
                    check.signature_checked = true;
                    check.signed_by = opened.signed_by;
                    opened.checkpoint
                }),
                None => read_checkpoint_unverified(note),
            };
            match opened {
                Ok(checkpoint) => Some(checkpoint),
                Err(error) => {
                    let signature_error = matches!(
                        error,
                        ProofError::NotSignedByKnownKey { .. } | ProofError::BadSignature { .. }
                    );
                    check.problem(EvidenceProblem::Checkpoint { error });
                    // Keep checking against the claimed checkpoint so every other problem
                    // is reported too; the signature problem already fails the file.
                    if signature_error {
                        read_checkpoint_unverified(note).ok()
                    } else {
                        None
                    }
                }
            }
        }
    };
    if let (Some(checkpoint), Some(tenant)) = (&checkpoint, tenant)
        && let Err(error) = checkpoint.expect_origin(&origin(&tenant))
    {
        check.problem(EvidenceProblem::Checkpoint { error });
    }
    check.checkpoint = checkpoint.clone();

    let map_entry = read_map_entry(&mut check, object.get("serial_map"));

    let Some(units) = object.get("units").and_then(Value::as_array) else {
        check.shape("units", "missing or not a list");
        return check;
    };
    check.units = units.len();
    let total: usize = units
        .iter()
        .map(|unit| {
            unit.get("history")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        })
        .sum();
    check.events = total;
    if total > MAX_EVENTS {
        check.problem(EvidenceProblem::TooManyEvents { count: total });
        return check;
    }

    let mut entries: Vec<Entry> = Vec::new();
    let mut seen_events: HashSet<String> = HashSet::new();
    let mut seen_leaves: HashSet<u64> = HashSet::new();
    for (unit_number, unit) in units.iter().enumerate() {
        let unit_name = unit
            .get("product_id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{unit_number}"), str::to_owned);
        if let Some(found) = unit.get("serial").and_then(Value::as_str)
            && found != serial
        {
            check.problem(EvidenceProblem::UnitOfOtherSerial {
                unit: unit_name.clone(),
                found: found.to_owned(),
            });
        }
        let Some(history) = unit.get("history").and_then(Value::as_array) else {
            check.shape(
                &format!("units[{unit_number}].history"),
                "missing or not a list",
            );
            continue;
        };
        let mut previous_leaf: Option<u64> = None;
        for (entry_number, item) in history.iter().enumerate() {
            let mut at = Location {
                unit: unit_name.clone(),
                entry: entry_number,
                event_id: item
                    .get("event")
                    .and_then(|event| event.get("event_id"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            };
            let entry = check_entry(
                &mut check,
                item,
                &mut at,
                serial,
                tenant,
                checkpoint.as_ref(),
            );
            let Some(entry) = entry else { continue };
            if let Some(id) = &at.event_id
                && !seen_events.insert(id.clone())
            {
                check.problem(EvidenceProblem::DuplicateEvent { at: at.clone() });
            }
            if !seen_leaves.insert(entry.leaf_index) {
                check.problem(EvidenceProblem::DuplicateLeaf {
                    at: at.clone(),
                    leaf_index: entry.leaf_index,
                });
            }
            if let Some(previous) = previous_leaf
                && entry.leaf_index <= previous
            {
                check.problem(EvidenceProblem::OutOfOrder {
                    at: at.clone(),
                    leaf_index: entry.leaf_index,
                    previous,
                });
            }
            previous_leaf = Some(entry.leaf_index);
            entries.push(entry);
        }
    }

    check_streams(&mut check, &entries);

    // Completeness: the events, in log order, chain to the committed head.
    if let Some(map_entry) = map_entry {
        let expected_key = serial_key(serial);
        if map_entry.key != hex::encode(expected_key) {
            check.problem(EvidenceProblem::MapKeyMismatch {
                found: map_entry.key.clone(),
                expected: hex::encode(expected_key),
            });
        }
        let mut by_leaf: Vec<(u64, &Hash)> = entries
            .iter()
            .map(|entry| (entry.leaf_index, &entry.event_hash))
            .collect();
        by_leaf.sort_by_key(|(leaf, _)| *leaf);
        let (count, head) = fold_chain(by_leaf);
        if count != map_entry.events {
            check.problem(EvidenceProblem::Incomplete {
                in_file: count,
                committed: map_entry.events,
            });
        } else if head != map_entry.chain_head {
            check.problem(EvidenceProblem::HistoryDiffers { events: count });
        }
        if let Some(checkpoint) = &checkpoint {
            let verified = merkle_map::MapProof::from_hex(&map_entry.proof).and_then(|proof| {
                proof.verify_value(
                    &checkpoint.map_root,
                    &expected_key,
                    &serial_value(map_entry.events, &map_entry.chain_head),
                )
            });
            if let Err(error) = verified {
                check.problem(EvidenceProblem::MapProofFails {
                    reason: error.to_string(),
                });
            }
        }
    }
    check
}

/// Checks one history entry on its own; returns what the cross-entry checks need, when the
/// entry is readable enough to take part in them.
fn check_entry(
    check: &mut EvidenceCheck,
    item: &Value,
    at: &mut Location,
    serial: &str,
    tenant: Option<uuid::Uuid>,
    checkpoint: Option<&Checkpoint>,
) -> Option<Entry> {
    let malformed = |check: &mut EvidenceCheck, at: &Location, reason: String| {
        check.problem(EvidenceProblem::EntryMalformed {
            at: at.clone(),
            reason,
        });
    };
    let leaf_index = item.get("leaf_index").and_then(Value::as_u64);
    let proof: Option<Result<Vec<Hash>, ProofError>> = item
        .get("inclusion_proof")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|hash| {
                    hash.as_str()
                        .ok_or(ProofError::MalformedHash {
                            reason: "not a string".into(),
                        })
                        .and_then(parse_hash_hex)
                })
                .collect()
        });
    let Some(event) = item.get("event") else {
        malformed(check, at, "no event".into());
        return None;
    };
    let envelope: EventEnvelope = match serde_json::from_value(event.clone()) {
        Ok(envelope) => envelope,
        Err(error) => {
            malformed(
                check,
                at,
                format!("the event is not an event envelope: {error}"),
            );
            return None;
        }
    };
    at.event_id = Some(envelope.event_id.to_string());

    let recomputed = envelope_hash(&envelope);
    if recomputed != envelope.hash {
        check.problem(EvidenceProblem::EventAltered {
            at: at.clone(),
            stored: envelope.hash.clone(),
            recomputed,
        });
    }
    if let Some(tenant) = tenant
        && envelope.tenant_id.0 != tenant
    {
        check.problem(EvidenceProblem::EventOfOtherTenant {
            at: at.clone(),
            found: envelope.tenant_id.to_string(),
        });
    }
    match LedgerEvent::decode(
        &envelope.event_type,
        envelope.schema_version,
        &envelope.payload,
    ) {
        Ok(decoded) => {
            if decoded.serial_named() != Some(serial) {
                check.problem(EvidenceProblem::EventOfOtherSerial {
                    at: at.clone(),
                    found: decoded.serial_named().map(str::to_owned),
                });
            }
        }
        Err(error) => check.problem(EvidenceProblem::EventUndecodable {
            at: at.clone(),
            reason: error.to_string(),
        }),
    }

    let event_hash = match parse_hash_hex(&envelope.hash) {
        Ok(hash) => hash,
        Err(error) => {
            malformed(check, at, format!("the event hash: {error}"));
            return None;
        }
    };
    let Some(leaf_index) = leaf_index else {
        malformed(
            check,
            at,
            "leaf_index missing or not a non-negative integer".into(),
        );
        return None;
    };
    match proof {
        None => malformed(check, at, "inclusion_proof missing or not a list".into()),
        Some(Err(error)) => malformed(check, at, format!("inclusion_proof: {error}")),
        Some(Ok(proof)) => {
            if let Some(checkpoint) = checkpoint {
                if leaf_index >= checkpoint.tree_size {
                    check.problem(EvidenceProblem::LeafNotInTree {
                        at: at.clone(),
                        leaf_index,
                        tree_size: checkpoint.tree_size,
                    });
                } else if let Err(error) = verify_inclusion(
                    checkpoint.tree_size,
                    &checkpoint.root,
                    leaf_index,
                    &event_hash,
                    &proof,
                ) {
                    check.problem(EvidenceProblem::InclusionFails {
                        at: at.clone(),
                        leaf_index,
                        reason: error.to_string(),
                    });
                }
            }
        }
    }
    Some(Entry {
        at: at.clone(),
        leaf_index,
        event_hash,
        stream: envelope.stream_id,
        revision: envelope.stream_revision,
        hash_hex: envelope.hash,
        previous_hash: envelope.previous_hash,
    })
}

/// Within each stream: consecutive revisions link, and revision order is leaf order.
fn check_streams(check: &mut EvidenceCheck, entries: &[Entry]) {
    let mut streams: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        streams.entry(&entry.stream).or_default().push(entry);
    }
    for (stream, mut events) in streams {
        events.sort_by_key(|entry| (entry.revision, entry.leaf_index));
        for pair in events.windows(2) {
            let [before, after] = pair else { continue };
            let broken = |reason: String| EvidenceProblem::StreamBroken {
                at: after.at.clone(),
                stream: stream.to_owned(),
                reason,
            };
            if before.revision == after.revision {
                if before.hash_hex != after.hash_hex {
                    check.problem(broken(format!(
                        "two different events claim revision {}",
                        after.revision
                    )));
                }
                continue;
            }
            if after.revision == before.revision + 1 && after.previous_hash != before.hash_hex {
                check.problem(broken(format!(
                    "revision {} does not follow revision {}: its previous_hash is not that event's hash",
                    after.revision, before.revision
                )));
            }
            if after.leaf_index <= before.leaf_index {
                check.problem(broken(format!(
                    "revision {} is at leaf {}, before revision {} at leaf {}",
                    after.revision, after.leaf_index, before.revision, before.leaf_index
                )));
            }
        }
    }
}
