//! Makes the seed corpora of the ledger-proof targets, `fuzz/corpus/evidence_file` and
//! `fuzz/corpus/checkpoint_note`: a small genuine ledger (real event envelopes hashed with
//! `event_schemas::envelope_hash`, i.e. `event_hash`, their stream chains, a `MemoryTree`
//! log and the `MemoryMap` serial map) as in `ledger-proof/tests/common/mod.rs`, signed
//! with the fixed keys of `fuzz_targets/common/keys.rs`, then mutations of it.
//!
//! ```text
//! cargo run --example ledger_proof_seeds            # (re)writes the seed files
//! cargo run --example ledger_proof_seeds -- keys    # prints new keys for common/keys.rs
//! ```
//!
//! The output is deterministic (fixed keys, ids and times; Ed25519 signs deterministically).

#[path = "../fuzz_targets/common/keys.rs"]
mod keys;

use event_schemas::{
    Actor, ActorKind, Channel, CommandId, CommandMetadata, EventEnvelope, GENESIS_HASH,
    LedgerEvent, LineFulfilled, LineNumber, ProductId, RetailerSettingsChanged, SerialAssigned,
    TenantId, envelope_hash,
};
use ledger_proof::checkpoint::{
    Checkpoint, SigningKey, VerifierKey, generate_signing_key, open_checkpoint, origin,
};
use ledger_proof::cosignature::{WitnessKey, add_signature_line, generate_witness_key};
use ledger_proof::evidence::check_evidence_bytes;
use ledger_proof::merkle::{MemoryTree, parse_hash_hex};
use ledger_proof::serial_chain::{fold_chain, serial_key, serial_value};
use merkle_map::MemoryMap;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use uuid::Uuid;

const SERIAL: &str = "F2LFUZZ001";
const OTHER_SERIAL: &str = "OTHER999";

fn tenant() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)
}

fn product() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1)
}

fn metadata() -> CommandMetadata {
    CommandMetadata {
        command_id: CommandId(Uuid::from_u128(7)),
        correlation_id: Uuid::from_u128(8),
        causation_id: None,
        actor: Actor {
            kind: ActorKind::User,
            id: "user-1".into(),
            display_name: "Pat".into(),
        },
        channel: Channel::Pos,
        outlet_id: None,
    }
}

#[derive(Default)]
struct Ledger {
    /// Every event, in log order (index = leaf index).
    events: Vec<EventEnvelope>,
    tree: MemoryTree,
    /// Each stream's next revision and head hash.
    heads: HashMap<String, (u64, String)>,
}

impl Ledger {
    fn append(&mut self, stream: &str, event: LedgerEvent) -> u64 {
        let (revision, previous_hash) = self
            .heads
            .get(stream)
            .cloned()
            .unwrap_or((0, GENESIS_HASH.to_owned()));
        let leaf = self.events.len() as u64;
        let mut envelope = EventEnvelope {
            event_id: Uuid::from_u128(0x0190_0000_0000_7000_9000_0000_0000_0000 + u128::from(leaf)),
            tenant_id: TenantId(tenant()),
            stream_id: stream.to_owned(),
            stream_revision: revision,
            global_position: leaf + 100,
            recorded_at: time::OffsetDateTime::from_unix_timestamp(1_760_000_000 + leaf as i64)
                .expect("time"),
            metadata: metadata(),
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.to_payload(),
            previous_hash,
            hash: String::new(),
        };
        envelope.hash = envelope_hash(&envelope);
        self.heads
            .insert(stream.to_owned(), (revision + 1, envelope.hash.clone()));
        self.tree
            .push(&parse_hash_hex(&envelope.hash).expect("hash"))
            .expect("push");
        self.events.push(envelope);
        leaf
    }

    /// The serial map over every event.
    fn map(&self) -> MemoryMap {
        let mut chains: HashMap<String, Vec<(u64, [u8; 32])>> = HashMap::new();
        for (leaf, envelope) in self.events.iter().enumerate() {
            let decoded = LedgerEvent::decode(
                &envelope.event_type,
                envelope.schema_version,
                &envelope.payload,
            )
            .expect("decode");
            if let Some(serial) = decoded.serial_named() {
                chains
                    .entry(serial.to_owned())
                    .or_default()
                    .push((leaf as u64, parse_hash_hex(&envelope.hash).expect("hash")));
            }
        }
        let mut map = MemoryMap::new();
        for (serial, chain) in chains {
            let (count, head) = fold_chain(chain.iter().map(|(leaf, hash)| (*leaf, hash)));
            map.insert(serial_key(&serial), serial_value(count, &head));
        }
        map
    }

    fn checkpoint(&self) -> Checkpoint {
        let size = self.events.len() as u64;
        Checkpoint {
            origin: origin(&tenant()),
            tree_size: size,
            root: self.tree.root_at(size).expect("root"),
            map_root: self.map().root(),
            issued_at: 1_760_000_000 + size as i64,
        }
    }

    /// The evidence document for `SERIAL`, whose events are at `leaves`.
    fn document(&self, note: &str, leaves: &[u64]) -> Value {
        let size = self.events.len() as u64;
        let key = serial_key(SERIAL);
        let chain: Vec<(u64, [u8; 32])> = leaves
            .iter()
            .map(|leaf| {
                let hash = &self.events[*leaf as usize].hash;
                (*leaf, parse_hash_hex(hash).expect("hash"))
            })
            .collect();
        let (count, head) = fold_chain(chain.iter().map(|(leaf, hash)| (*leaf, hash)));
        let history: Vec<Value> = leaves
            .iter()
            .map(|leaf| {
                let proof: Vec<String> = self
                    .tree
                    .inclusion_proof(size, *leaf)
                    .expect("proof")
                    .iter()
                    .map(hex::encode)
                    .collect();
                json!({
                    "leaf_index": leaf,
                    "inclusion_proof": proof,
                    "event": serde_json::to_value(&self.events[*leaf as usize]).expect("json"),
                })
            })
            .collect();
        json!({
            "format": "serial-ledger/serial-history",
            "format_version": 2,
            "tenant_id": tenant().to_string(),
            "serial": SERIAL,
            "checkpoint": note,
            "serial_map": {
                "key": hex::encode(key),
                "events": count,
                "chain_head": hex::encode(head),
                "proof": self.map().prove(&key).to_hex(),
            },
            "units": [{ "product_id": product().to_string(), "serial": SERIAL, "history": history }],
        })
    }
}

fn assigned(serial: &str) -> LedgerEvent {
    SerialAssigned {
        line_number: LineNumber(1),
        product_id: ProductId(product()),
        serial: serial.to_owned(),
        scanned: None,
    }
    .into()
}

fn fulfilled(serial: &str) -> LedgerEvent {
    LineFulfilled {
        line_number: LineNumber(1),
        product_id: ProductId(product()),
        serial: Some(serial.to_owned()),
    }
    .into()
}

fn settings() -> LedgerEvent {
    RetailerSettingsChanged {
        auto_prompt_serial_number: true,
        display_serial_number_on_invoice: true,
        aggregate_duplicate_order_items: false,
    }
    .into()
}

fn write(directory: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(directory).expect("the corpus directory");
    std::fs::write(directory.join(name), bytes).expect("writing a seed");
    println!("{} ({} bytes)", directory.join(name).display(), bytes.len());
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("keys") {
        let (private, public) = generate_signing_key(keys::LOG_KEY_NAME).expect("log key");
        println!("LOG_PRIVATE_KEY = {private}\nLOG_VERIFIER_KEY = {public}");
        let (private, public) = generate_witness_key(keys::WITNESS_KEY_NAME).expect("witness");
        println!("WITNESS_PRIVATE_KEY = {private}\nWITNESS_VERIFIER_KEY = {public}");
        return;
    }
    let log_key = SigningKey::from_text(keys::LOG_PRIVATE_KEY).expect("the fixed log key");
    let verifier = VerifierKey::from_text(keys::LOG_VERIFIER_KEY).expect("the fixed verifier");
    let witness = WitnessKey::from_text(keys::WITNESS_PRIVATE_KEY).expect("the fixed witness");

    // SERIAL is assigned and fulfilled on sale-a; another serial and a settings change are
    // interleaved.
    let mut ledger = Ledger::default();
    ledger.append("retailer-settings", settings()); // 0
    ledger.append("sale-a", assigned(SERIAL)); // 1
    ledger.append("sale-b", assigned(OTHER_SERIAL)); // 2
    ledger.append("sale-a", fulfilled(SERIAL)); // 3
    let checkpoint = ledger.checkpoint();
    let body = checkpoint.body();
    let note = log_key.sign(&checkpoint).expect("sign");
    open_checkpoint(&note, std::slice::from_ref(&verifier)).expect("the note opens");
    let line = witness.cosign(&note, 1_760_000_100).expect("cosign");
    let cosigned = add_signature_line(&note, &line).expect("cosigned");
    let body_cosigned = add_signature_line(&body, &line).expect("body cosigned");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let notes = root.join("checkpoint_note");
    write(&notes, "signed_note", note.as_bytes());
    write(&notes, "bare_body", body.as_bytes());
    write(&notes, "cosigned_note", cosigned.as_bytes());
    write(&notes, "cosigned_bare_body", body_cosigned.as_bytes());
    write(
        &notes,
        "truncated_signature",
        &note.as_bytes()[..note.len() - 20],
    );
    let three_lines: String = body.split_inclusive('\n').take(3).collect();
    write(&notes, "truncated_body", three_lines.as_bytes());

    let genuine = ledger.document(&note, &[1, 3]);
    let bytes = serde_json::to_vec(&genuine).expect("json");
    let check = check_evidence_bytes(&bytes, Some(std::slice::from_ref(&verifier)));
    assert!(
        check.is_verified(),
        "the genuine file: {:?}",
        check.problems
    );
    let files = root.join("evidence_file");
    write(&files, "genuine", &bytes);
    write(&files, "truncated", &bytes[..bytes.len() / 2]);

    let mut huge = genuine.clone();
    huge["units"][0]["history"][0]["leaf_index"] = json!(u64::MAX);
    huge["units"][0]["history"][1]["leaf_index"] = json!(1e300);
    huge["units"][0]["history"][1]["event"]["stream_revision"] = json!(u64::MAX);
    huge["serial_map"]["events"] = json!(u64::MAX);
    write(
        &files,
        "huge_numbers",
        &serde_json::to_vec(&huge).expect("json"),
    );

    let mut entry_types = genuine.clone();
    entry_types["units"][0]["history"][0]["leaf_index"] = json!("1");
    entry_types["units"][0]["history"][0]["inclusion_proof"] = json!([1, null]);
    entry_types["units"][0]["history"][1]["event"]["stream_revision"] = json!("one");
    entry_types["serial_map"]["proof"] = json!("not a list");
    write(
        &files,
        "wrong_types_entry",
        &serde_json::to_vec(&entry_types).expect("json"),
    );

    let mut top_types = genuine.clone();
    top_types["checkpoint"] = json!(42);
    top_types["serial_map"] = json!([]);
    top_types["units"] = json!({"history": []});
    top_types["tenant_id"] = json!(false);
    write(
        &files,
        "wrong_types_top",
        &serde_json::to_vec(&top_types).expect("json"),
    );

    let mut unsigned = genuine.clone();
    unsigned["checkpoint"] = json!(body);
    write(
        &files,
        "bare_checkpoint",
        &serde_json::to_vec(&unsigned).expect("json"),
    );

    let version_1 =
        json!({"format": "serial-ledger/serial-history", "format_version": 1, "serial": SERIAL});
    write(
        &files,
        "version_1",
        &serde_json::to_vec(&version_1).expect("json"),
    );
}
