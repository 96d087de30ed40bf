//! A small genuine ledger for the evidence tests: real event envelopes with real hashes and
//! stream chains, a Merkle log over them, the serial map, and signed checkpoints.

#![allow(dead_code)]

use event_schemas::{
    Actor, ActorKind, Channel, CommandId, CommandMetadata, EventEnvelope, GENESIS_HASH,
    LedgerEvent, LineFulfilled, LineNumber, LineReturned, Money, ProductId,
    RetailerSettingsChanged, SerialAssigned, TenantId, envelope_hash,
};
use ledger_proof::checkpoint::{Checkpoint, SigningKey, VerifierKey, generate_signing_key, origin};
use ledger_proof::merkle::{MemoryTree, parse_hash_hex};
use ledger_proof::serial_chain::{fold_chain, serial_key, serial_value};
use merkle_map::MemoryMap;
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;

pub const SERIAL: &str = "F2LFAULTY001";
pub const OTHER_SERIAL: &str = "OTHER999";

pub fn tenant() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001)
}
pub fn product_one() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1)
}
pub fn product_two() -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a2)
}

pub struct Ledger {
    /// Every event, in log order (index = leaf index).
    pub events: Vec<EventEnvelope>,
    pub tree: MemoryTree,
    heads: HashMap<String, (u64, String)>,
    pub key: SigningKey,
    pub verifier: VerifierKey,
}

fn metadata() -> CommandMetadata {
    CommandMetadata {
        command_id: CommandId(Uuid::from_u128(7)),
        correlation_id: Uuid::from_u128(8),
        causation_id: None,
        actor: Actor {
            kind: ActorKind::User,
            id: "user-1".into(),
            display_name: "Pat at the counter".into(),
        },
        channel: Channel::Pos,
        outlet_id: None,
    }
}

pub fn keys() -> (SigningKey, VerifierKey) {
    let (private, public) = generate_signing_key("serial-ledger.example/log").expect("keys");
    (
        SigningKey::from_text(&private).expect("private"),
        VerifierKey::from_text(&public).expect("public"),
    )
}

impl Ledger {
    pub fn new() -> Self {
        let (key, verifier) = keys();
        Self {
            events: Vec::new(),
            tree: MemoryTree::new(),
            heads: HashMap::new(),
            key,
            verifier,
        }
    }

    pub fn append(&mut self, stream: &str, event: LedgerEvent) -> u64 {
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

    /// The serial map as of `size` events.
    pub fn map(&self, size: u64) -> MemoryMap {
        let mut chains: HashMap<String, Vec<(u64, [u8; 32])>> = HashMap::new();
        for (leaf, envelope) in self.events.iter().enumerate().take(size as usize) {
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

    pub fn checkpoint(&self, size: u64) -> Checkpoint {
        Checkpoint {
            origin: origin(&tenant()),
            tree_size: size,
            root: self.tree.root_at(size).expect("root"),
            map_root: self.map(size).root(),
            issued_at: 1_760_000_000 + size as i64,
        }
    }

    pub fn signed_checkpoint(&self, size: u64) -> String {
        self.key.sign(&self.checkpoint(size)).expect("sign")
    }

    /// The evidence document for `SERIAL` as of `size`, with the given units' leaves.
    pub fn document(&self, size: u64, note: &str, units: &[(Uuid, Vec<u64>)]) -> Value {
        let map = self.map(size);
        let key = serial_key(SERIAL);
        let chain: Vec<(u64, [u8; 32])> = units
            .iter()
            .flat_map(|(_, leaves)| leaves.iter().copied())
            .map(|leaf| {
                (
                    leaf,
                    parse_hash_hex(&self.events[leaf as usize].hash).expect("hash"),
                )
            })
            .collect();
        let mut chain = chain;
        chain.sort_by_key(|(leaf, _)| *leaf);
        let (count, head) = fold_chain(chain.iter().map(|(leaf, hash)| (*leaf, hash)));
        let units: Vec<Value> = units
            .iter()
            .map(|(product, leaves)| {
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
                            "position": format!("{leaf}:{leaf}"),
                            "action": "SOMETHING",
                            "leaf_index": leaf,
                            "inclusion_proof": proof,
                            "event": serde_json::to_value(&self.events[*leaf as usize]).expect("json"),
                        })
                    })
                    .collect();
                json!({ "product_id": product.to_string(), "serial": SERIAL, "current": {"state": "x"}, "history": history })
            })
            .collect();
        json!({
            "format": "serial-ledger/serial-history",
            "format_version": 2,
            "generated_at": "2025-10-09T10:00:00Z",
            "tenant_id": tenant().to_string(),
            "serial": SERIAL,
            "checkpoint": note,
            "serial_map": {
                "key": hex::encode(key),
                "events": count,
                "chain_head": hex::encode(head),
                "proof": map.prove(&key).to_hex(),
            },
            "units": units,
            "extra_field_ignored": true,
        })
    }
}

fn assigned(product: Uuid, serial: &str) -> LedgerEvent {
    SerialAssigned {
        line_number: LineNumber(1),
        product_id: ProductId(product),
        serial: serial.to_owned(),
        scanned: Some(format!("{}\n", serial.to_lowercase())),
    }
    .into()
}

fn fulfilled(product: Uuid, serial: &str) -> LedgerEvent {
    LineFulfilled {
        line_number: LineNumber(1),
        product_id: ProductId(product),
        serial: Some(serial.to_owned()),
    }
    .into()
}

fn returned(product: Uuid, serial: &str) -> LedgerEvent {
    LineReturned {
        line_number: LineNumber(1),
        product_id: ProductId(product),
        serial: Some(serial.to_owned()),
        refund: Money {
            amount_minor: 129_900,
            currency: "AUD".into(),
        },
        reason: Some("faulty".into()),
    }
    .into()
}

fn settings(flag: bool) -> LedgerEvent {
    RetailerSettingsChanged {
        auto_prompt_serial_number: flag,
        display_serial_number_on_invoice: true,
        aggregate_duplicate_order_items: false,
    }
    .into()
}

/// The story: `SERIAL` is assigned, fulfilled and returned on sale A (product one), then
/// re-sold on sale C as product two; `OTHER_SERIAL` lives on sale B; settings changes are
/// interleaved. 12 events; `SERIAL` is at leaves 1, 4, 6, 7.
pub struct Story {
    pub ledger: Ledger,
    pub units: Vec<(Uuid, Vec<u64>)>,
    pub other_serial_leaf: u64,
}

pub fn story() -> Story {
    let mut ledger = Ledger::new();
    let (one, two) = (product_one(), product_two());
    ledger.append("retailer-settings", settings(true)); // 0
    ledger.append("sale-a", assigned(one, SERIAL)); // 1
    let other = ledger.append("sale-b", assigned(one, OTHER_SERIAL)); // 2
    ledger.append("retailer-settings", settings(false)); // 3
    ledger.append("sale-a", fulfilled(one, SERIAL)); // 4
    ledger.append("sale-b", fulfilled(one, OTHER_SERIAL)); // 5
    ledger.append("sale-a", returned(one, SERIAL)); // 6
    ledger.append("sale-c", assigned(two, SERIAL)); // 7
    ledger.append("retailer-settings", settings(true)); // 8
    ledger.append("sale-b", returned(one, OTHER_SERIAL)); // 9
    ledger.append("retailer-settings", settings(false)); // 10
    ledger.append("retailer-settings", settings(true)); // 11
    Story {
        ledger,
        units: vec![(one, vec![1, 4, 6]), (two, vec![7])],
        other_serial_leaf: other,
    }
}

impl Story {
    pub fn genuine(&self) -> Value {
        let size = self.ledger.events.len() as u64;
        let note = self.ledger.signed_checkpoint(size);
        self.ledger.document(size, &note, &self.units)
    }
}
