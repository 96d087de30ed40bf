//! Known-answer tests of the published hashing format, computed by hand
//! with SHA-256 rather than through the crate's own helpers.

mod common;

use std::collections::BTreeMap;

use common::{Table, flip};
use merkle_map::{EMPTY, Hash, MapError, MemoryMap, Node, NodeId, internal_hash, leaf_hash};
use sha2::{Digest, Sha256};

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[test]
fn the_root_of_the_empty_map_is_all_zeros() {
    assert_eq!(EMPTY, [0u8; 32]);
    assert_eq!(MemoryMap::new().root(), EMPTY);
    assert_eq!(Table::default().root(), EMPTY);
}

#[test]
fn a_leaf_hashes_a_zero_byte_then_key_then_value() {
    let (key, value) = ([1u8; 32], [2u8; 32]);
    assert_eq!(leaf_hash(&key, &value), sha256(&[&[0x00], &key, &value]));
}

#[test]
fn an_internal_node_hashes_a_one_byte_then_left_then_right() {
    let (left, right) = ([3u8; 32], [4u8; 32]);
    assert_eq!(
        internal_hash(&left, &right),
        sha256(&[&[0x01], &left, &right])
    );
}

#[test]
fn the_root_of_a_one_key_map_is_that_keys_leaf_hash() -> Result<(), MapError> {
    let (key, value) = ([0x5a; 32], [0x77; 32]);
    let expected = sha256(&[&[0x00], &key, &value]);
    let mut map = MemoryMap::new();
    map.insert(key, value);
    assert_eq!(map.root(), expected);
    let mut table = Table::default();
    let update = table.update(&BTreeMap::from([(key, value)]))?;
    assert_eq!(update.root, expected);
    // The lone key's leaf sits at the root, not at depth 256.
    assert_eq!(
        update.written,
        vec![(NodeId::ROOT, Node::Leaf { key, value })]
    );
    Ok(())
}

#[test]
fn two_keys_differing_at_bit_0_hash_as_an_internal_root_over_their_two_leaves()
-> Result<(), MapError> {
    // Bit 0 is the most significant bit of byte 0: 0x00.. goes left, 0x80.. right.
    let left_key = [0x00; 32];
    let mut right_key = [0x00; 32];
    right_key[0] = 0x80;
    let (left_value, right_value) = ([0x11; 32], [0x22; 32]);
    let left_leaf = sha256(&[&[0x00], &left_key, &left_value]);
    let right_leaf = sha256(&[&[0x00], &right_key, &right_value]);
    let expected = sha256(&[&[0x01], &left_leaf, &right_leaf]);

    let mut map = MemoryMap::new();
    // Inserted right first: the order of insertion does not matter.
    map.insert(right_key, right_value);
    map.insert(left_key, left_value);
    assert_eq!(map.root(), expected);

    let mut table = Table::default();
    table.update(&BTreeMap::from([(right_key, right_value)]))?;
    let update = table.update(&BTreeMap::from([(left_key, left_value)]))?;
    assert_eq!(update.root, expected);
    Ok(())
}

#[test]
fn two_keys_differing_only_in_the_last_bit_get_leaves_at_depth_256() -> Result<(), MapError> {
    let a = [0x42; 32];
    let b = flip(a, 255);
    let (va, vb) = ([1u8; 32], [2u8; 32]);
    // By hand: the two leaves meet at depth 255; above that every level has
    // an empty sibling on the side away from the keys' shared path.
    let (low, high) = if a < b {
        ((a, va), (b, vb))
    } else {
        ((b, vb), (a, va))
    };
    let mut expected = sha256(&[
        &[0x01],
        &sha256(&[&[0x00], &low.0, &low.1]),
        &sha256(&[&[0x00], &high.0, &high.1]),
    ]);
    for depth in (0..255u16).rev() {
        expected = if merkle_map::bit(&a, depth) {
            sha256(&[&[0x01], &EMPTY, &expected])
        } else {
            sha256(&[&[0x01], &expected, &EMPTY])
        };
    }
    let mut map = MemoryMap::new();
    map.insert(a, va);
    map.insert(b, vb);
    assert_eq!(map.root(), expected);

    let mut table = Table::default();
    table.update(&BTreeMap::from([(a, va)]))?;
    let update = table.update(&BTreeMap::from([(b, vb)]))?;
    assert_eq!(update.root, expected);
    assert_eq!(
        table.nodes.get(&NodeId::of(&a, 256)),
        Some(&Node::Leaf { key: a, value: va })
    );
    assert_eq!(table.prove(&b)?.siblings.len(), 256);
    Ok(())
}

#[test]
fn bit_0_is_the_most_significant_bit_of_the_first_byte() {
    let mut key = [0u8; 32];
    key[0] = 0x80;
    key[31] = 0x01;
    assert!(merkle_map::bit(&key, 0));
    assert!(!merkle_map::bit(&key, 1));
    assert!(merkle_map::bit(&key, 255));
    assert!(!merkle_map::bit(&key, 254));
    // Past the end reads as 0 instead of panicking.
    assert!(!merkle_map::bit(&key, 256));
}
