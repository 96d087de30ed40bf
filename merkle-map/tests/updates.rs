//! Updates through the sans-IO path (PathLoader + apply over a stand-in
//! table) agree with the independent in-memory map, and write only what
//! they must.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Table, fail, flip, key_strategy, value_strategy};
use merkle_map::{Hash, MapError, MemoryMap, Node, NodeId, PathLoader, apply};
use proptest::prelude::*;

fn random_keys(count: u8) -> Vec<Hash> {
    // Cheap, deterministic, well-spread keys.
    (0..count)
        .map(|i| merkle_map::leaf_hash(&[i; 32], &[0; 32]))
        .collect()
}

fn filled(keys: &[Hash]) -> (Table, MemoryMap) {
    let mut map = MemoryMap::new();
    for key in keys {
        map.insert(*key, *key);
    }
    let table = Table {
        nodes: map.nodes(),
        rounds: 0,
    };
    (table, map)
}

proptest! {
    #[test]
    fn batches_applied_through_the_path_loader_give_the_same_roots_as_the_memory_map(
        batches in prop::collection::vec(
            prop::collection::vec((key_strategy(), value_strategy()), 0..8),
            1..6,
        ),
        probe in key_strategy(),
    ) {
        let mut table = Table::default();
        let mut map = MemoryMap::new();
        for batch in batches {
            let batch: BTreeMap<Hash, Hash> = batch.into_iter().collect();
            let update = table.update(&batch).map_err(fail)?;
            for (key, value) in &batch {
                map.insert(*key, *value);
            }
            prop_assert_eq!(update.root, map.root());
            prop_assert_eq!(table.root(), map.root());
            // Proofs from loaded nodes are the memory map's proofs, and verify.
            for key in batch.keys().chain([&probe]) {
                let proof = table.prove(key).map_err(fail)?;
                prop_assert_eq!(&proof, &map.prove(key));
                prop_assert_eq!(proof.verify(&map.root(), key), Ok(map.get(key)));
            }
        }
        // Nothing stale is left behind: the table is exactly the tree.
        prop_assert_eq!(table.nodes, map.nodes());
    }

    #[test]
    fn hostile_tables_make_loading_and_applying_fail_or_succeed_but_never_panic(
        stored in prop::collection::vec(
            (any::<Hash>(), 0u16..=256, any::<bool>(), any::<Hash>(), any::<Hash>()),
            0..12,
        ),
        keys in prop::collection::vec(key_strategy(), 1..4),
    ) {
        let mut table = Table::default();
        for (place, depth, leaf, a, b) in stored {
            let node = if leaf { Node::Leaf { key: a, value: b } } else { Node::Internal { hash: a } };
            table.nodes.insert(NodeId::of(&place, depth), node);
        }
        let batch: BTreeMap<Hash, Hash> = keys.iter().map(|k| (*k, *k)).collect();
        let _ = table.update(&batch);
        let mut everything = table.nodes.clone();
        let _ = apply(&mut everything, &batch);
        let _ = merkle_map::prove(&table.nodes, &keys[0]);
    }
}

#[test]
fn several_applies_in_a_row_on_the_same_loaded_nodes_agree_with_the_memory_map()
-> Result<(), MapError> {
    let keys = random_keys(20);
    let (mut table, mut map) = filled(&keys[..10]);
    let mut nodes = table.load(keys.iter().copied())?;
    for chunk in keys.chunks(4) {
        let batch: BTreeMap<Hash, Hash> = chunk.iter().map(|k| (*k, [9; 32])).collect();
        let update = apply(&mut nodes, &batch)?;
        for key in chunk {
            map.insert(*key, [9; 32]);
        }
        assert_eq!(update.root, map.root());
    }
    Ok(())
}

#[test]
fn changing_values_writes_only_the_nodes_on_the_changed_keys_paths() -> Result<(), MapError> {
    let keys = random_keys(64);
    let (mut table, mut map) = filled(&keys);
    let changed: BTreeMap<Hash, Hash> = keys[..3].iter().map(|k| (*k, [7; 32])).collect();
    let update = table.update(&changed)?;
    for (key, value) in &changed {
        map.insert(*key, *value);
    }
    assert_eq!(update.root, map.root());
    let mut on_paths = BTreeSet::new();
    for key in changed.keys() {
        let depth = u16::try_from(map.prove(key).siblings.len()).unwrap_or(u16::MAX);
        on_paths.extend((0..=depth).map(|d| NodeId::of(key, d)));
    }
    let written: BTreeSet<NodeId> = update.written.iter().map(|(id, _)| *id).collect();
    assert_eq!(written, on_paths);
    Ok(())
}

#[test]
fn inserting_a_key_beside_a_leaf_pushes_that_leaf_down_and_turns_its_old_place_internal()
-> Result<(), MapError> {
    let a = [0x10; 32];
    let b = flip(a, 20); // shares 20 bits with a: they split at depth 20
    let mut table = Table::default();
    table.update(&BTreeMap::from([(a, [1; 32])]))?;
    let update = table.update(&BTreeMap::from([(b, [2; 32])]))?;
    let written: BTreeMap<NodeId, Node> = update.written.into_iter().collect();
    // b's path (root to depth 21), plus a's leaf at its new place, nothing else.
    let mut expected: BTreeSet<NodeId> = (0..=21).map(|d| NodeId::of(&b, d)).collect();
    expected.insert(NodeId::of(&a, 21));
    assert_eq!(written.keys().copied().collect::<BTreeSet<_>>(), expected);
    assert!(matches!(
        written.get(&NodeId::ROOT),
        Some(Node::Internal { .. })
    ));
    assert_eq!(
        written.get(&NodeId::of(&a, 21)),
        Some(&Node::Leaf {
            key: a,
            value: [1; 32]
        })
    );
    Ok(())
}

#[test]
fn setting_a_key_to_the_value_it_has_writes_nothing() -> Result<(), MapError> {
    let keys = random_keys(16);
    let (mut table, map) = filled(&keys);
    let update = table.update(&BTreeMap::from([(keys[3], keys[3])]))?;
    assert_eq!(update.root, map.root());
    assert!(update.written.is_empty());
    Ok(())
}

#[test]
fn loading_takes_one_round_per_level_of_the_deepest_path() -> Result<(), MapError> {
    let keys = random_keys(200);
    let (mut table, map) = filled(&keys);
    table.load([keys[0], keys[1]])?;
    let deepest = map
        .prove(&keys[0])
        .siblings
        .len()
        .max(map.prove(&keys[1]).siblings.len());
    assert_eq!(table.rounds, deepest + 1);
    // About log2(200) ≈ 8 levels, far from 256.
    assert!(table.rounds < 20, "{} rounds", table.rounds);
    Ok(())
}

#[test]
fn the_loader_refuses_a_node_it_did_not_ask_for() {
    let key = [1; 32];
    let mut loader = PathLoader::new([key]);
    assert_eq!(loader.next_ids(), vec![NodeId::ROOT]);
    let stray = NodeId::of(&key, 3);
    let result = loader.supply(vec![(stray, Node::Internal { hash: [5; 32] })]);
    assert_eq!(result, Err(MapError::UnrequestedNode { id: stray }));
}

#[test]
fn the_loader_refuses_a_leaf_stored_off_its_keys_path() {
    let mut loader = PathLoader::new([[1; 32]]);
    let loaded = loader.supply(vec![(NodeId::ROOT, Node::Internal { hash: [5; 32] })]);
    assert_eq!(loaded, Ok(()));
    let ids = loader.next_ids();
    assert_eq!(ids.len(), 2);
    // A leaf for a key that starts with bit 1 stored in the left child.
    let result = loader.supply(vec![(
        NodeId::of(&[0; 32], 1),
        Node::Leaf {
            key: [0xff; 32],
            value: [0; 32],
        },
    )]);
    assert_eq!(result.map_err(|e| e.code()), Err("INCONSISTENT_NODES"));
}

#[test]
fn a_table_missing_a_sibling_is_reported_instead_of_giving_a_wrong_root() -> Result<(), MapError> {
    let keys = random_keys(32);
    let (mut table, _) = filled(&keys);
    let proof_depth = table.prove(&keys[0])?.siblings.len();
    let lost = NodeId::of(&keys[0], 1).sibling();
    assert!(proof_depth > 1);
    if let Some(lost) = lost {
        table.nodes.remove(&lost);
    }
    let result = table.update(&BTreeMap::from([(keys[0], [3; 32])]));
    assert_eq!(
        result.map(|u| u.root).map_err(|e| e.code()),
        Err("INCONSISTENT_NODES")
    );
    Ok(())
}

#[test]
fn apply_on_nodes_not_loaded_for_the_key_is_refused() -> Result<(), MapError> {
    let keys = random_keys(32);
    let (mut table, _) = filled(&keys);
    // Loaded for keys[0] only, then asked to update keys[1]: somewhere the
    // walk meets an unloaded node that reads as empty and breaks a hash.
    let mut nodes = table.load([keys[0]])?;
    let other = keys
        .iter()
        .find(|k| {
            merkle_map::bit(k, 0) != merkle_map::bit(&keys[0], 0)
                && !nodes.contains_key(&NodeId::of(k, 2))
        })
        .copied();
    if let Some(other) = other {
        let result = apply(&mut nodes, &BTreeMap::from([(other, [3; 32])]));
        assert_eq!(
            result.map(|u| u.root).map_err(|e| e.code()),
            Err("INCONSISTENT_NODES")
        );
    }
    Ok(())
}
