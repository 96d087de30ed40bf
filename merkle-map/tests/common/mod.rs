//! Shared test support: a stand-in for the caller's node table, and key
//! shapes that stress the tree (long shared prefixes, last-bit twins).

#![allow(dead_code)]

use std::collections::BTreeMap;

use merkle_map::{Hash, MapError, MapProof, MapUpdate, Node, NodeId, PathLoader, apply, prove};
use proptest::prelude::*;

/// The caller's table, as a database layer would keep it (latest version only).
#[derive(Debug, Default, Clone)]
pub struct Table {
    pub nodes: BTreeMap<NodeId, Node>,
    /// How many lookup rounds the last load took.
    pub rounds: usize,
}

impl Table {
    /// Loads what a PathLoader asks for, one batched lookup per round.
    pub fn load(
        &mut self,
        keys: impl IntoIterator<Item = Hash>,
    ) -> Result<BTreeMap<NodeId, Node>, MapError> {
        let mut loader = PathLoader::new(keys);
        self.rounds = 0;
        loop {
            let ids = loader.next_ids();
            if ids.is_empty() {
                break;
            }
            self.rounds += 1;
            let found = ids
                .iter()
                .filter_map(|id| self.nodes.get(id).map(|node| (*id, node.clone())))
                .collect();
            loader.supply(found)?;
        }
        Ok(loader.into_nodes())
    }

    /// Loads, applies and stores one batch, as the database layer would.
    pub fn update(&mut self, batch: &BTreeMap<Hash, Hash>) -> Result<MapUpdate, MapError> {
        let mut nodes = self.load(batch.keys().copied())?;
        let update = apply(&mut nodes, batch)?;
        for (id, node) in &update.written {
            self.nodes.insert(*id, node.clone());
        }
        Ok(update)
    }

    /// Loads the path of `key` and proves it.
    pub fn prove(&mut self, key: &Hash) -> Result<MapProof, MapError> {
        let nodes = self.load([*key])?;
        prove(&nodes, key)
    }

    pub fn root(&self) -> Hash {
        self.nodes
            .get(&NodeId::ROOT)
            .map_or(merkle_map::EMPTY, Node::hash)
    }
}

/// `key` with bit `index` (0 = most significant) flipped.
pub fn flip(mut key: Hash, index: u16) -> Hash {
    let i = usize::from(index);
    key[i / 8] ^= 1 << (7 - i % 8);
    key
}

pub fn base(i: usize) -> Hash {
    const BASES: [Hash; 4] = [[0x00; 32], [0xff; 32], [0xa5; 32], [0x3c; 32]];
    BASES[i % 4]
}

/// Keys that collide on long prefixes often: random keys, a few fixed
/// bases, bases with one bit flipped (often deep), and last-bit twins that
/// push leaves down to depth 256.
pub fn key_strategy() -> impl Strategy<Value = Hash> {
    prop_oneof![
        any::<Hash>(),
        (0..4usize).prop_map(base),
        (0..4usize, 0u16..256).prop_map(|(b, i)| flip(base(b), i)),
        (0..4usize, 240u16..256).prop_map(|(b, i)| flip(base(b), i)),
        (0..4usize).prop_map(|b| flip(base(b), 255)),
    ]
}

pub fn value_strategy() -> impl Strategy<Value = Hash> {
    prop_oneof![any::<Hash>(), (0u8..3).prop_map(|b| [b; 32])]
}

pub fn fail(error: MapError) -> TestCaseError {
    TestCaseError::fail(error.to_string())
}
