//! Proofs: what verifies, what must not, and that no input can make
//! verification or decoding panic.

mod common;

use std::collections::BTreeMap;

use common::{Table, flip};
use merkle_map::{EMPTY, Hash, MapError, MapProof, MemoryMap, Node, NodeId, Terminal, leaf_hash};
use proptest::prelude::*;

fn key(i: u8) -> Hash {
    leaf_hash(&[i; 32], &[0xee; 32])
}

fn value(i: u8) -> Hash {
    [i; 32]
}

/// A map of 40 keys kept both ways.
fn sample() -> Result<(Table, MemoryMap), MapError> {
    let mut table = Table::default();
    let mut map = MemoryMap::new();
    let batch: BTreeMap<Hash, Hash> = (0..40).map(|i| (key(i), value(i))).collect();
    table.update(&batch)?;
    for (k, v) in batch {
        map.insert(k, v);
    }
    Ok((table, map))
}

fn code<T>(result: Result<T, MapError>) -> Result<T, &'static str> {
    result.map_err(|e| e.code())
}

#[test]
fn a_proof_of_a_present_key_verifies_its_value_against_the_root() -> Result<(), MapError> {
    let (mut table, map) = sample()?;
    let proof = table.prove(&key(5))?;
    proof.verify_value(&map.root(), &key(5), &value(5))?;
    assert_eq!(proof.verify(&map.root(), &key(5)), Ok(Some(value(5))));
    assert_eq!(
        code(proof.verify_absent(&map.root(), &key(5))),
        Err("KEY_PRESENT")
    );
    Ok(())
}

#[test]
fn a_proof_of_an_absent_key_verifies_its_absence() -> Result<(), MapError> {
    let (mut table, map) = sample()?;
    let mut ends_at_leaf = false;
    let mut ends_empty = false;
    for i in 100..140 {
        let proof = table.prove(&key(i))?;
        proof.verify_absent(&map.root(), &key(i))?;
        assert_eq!(proof.verify(&map.root(), &key(i)), Ok(None));
        assert!(proof.verify_value(&map.root(), &key(i), &value(i)).is_err());
        match proof.terminal {
            Terminal::Empty => ends_empty = true,
            Terminal::Leaf { .. } => ends_at_leaf = true,
        }
    }
    // Both kinds of non-membership were exercised.
    assert!(ends_at_leaf && ends_empty);
    Ok(())
}

#[test]
fn the_empty_map_proves_every_key_absent_with_no_siblings() -> Result<(), MapError> {
    let proof = MemoryMap::new().prove(&key(1));
    assert_eq!(
        proof,
        MapProof {
            siblings: vec![],
            terminal: Terminal::Empty
        }
    );
    proof.verify_absent(&EMPTY, &key(1))?;
    assert_eq!(Table::default().prove(&key(1))?, proof);
    Ok(())
}

#[test]
fn a_changed_value_does_not_verify() -> Result<(), MapError> {
    let (mut table, map) = sample()?;
    let proof = table.prove(&key(5))?;
    assert_eq!(
        code(proof.verify_value(&map.root(), &key(5), &value(6))),
        Err("VALUE_MISMATCH")
    );
    // Nor does a proof whose leaf was edited to carry another value.
    let mut edited = proof.clone();
    edited.terminal = Terminal::Leaf {
        key: key(5),
        value: value(6),
    };
    assert_eq!(
        code(edited.verify_value(&map.root(), &key(5), &value(6))),
        Err("ROOT_MISMATCH")
    );
    Ok(())
}

#[test]
fn a_proof_for_one_key_does_not_verify_another() -> Result<(), MapError> {
    let (mut table, map) = sample()?;
    let proof = table.prove(&key(5))?;
    assert_eq!(
        code(proof.verify_value(&map.root(), &key(6), &value(5))),
        Err("KEY_MISMATCH")
    );
    Ok(())
}

#[test]
fn a_tampered_sibling_does_not_verify() -> Result<(), MapError> {
    let (mut table, map) = sample()?;
    let proof = table.prove(&key(5))?;
    for i in 0..proof.siblings.len() {
        let mut tampered = proof.clone();
        tampered.siblings[i][7] ^= 1;
        assert_eq!(
            code(tampered.verify_value(&map.root(), &key(5), &value(5))),
            Err("ROOT_MISMATCH")
        );
    }
    Ok(())
}

#[test]
fn a_truncated_or_extended_proof_does_not_verify() -> Result<(), MapError> {
    let (mut table, map) = sample()?;
    let proof = table.prove(&key(5))?;
    assert!(proof.siblings.len() >= 2);
    let mut truncated = proof.clone();
    truncated.siblings.pop();
    assert_eq!(
        code(truncated.verify_value(&map.root(), &key(5), &value(5))),
        Err("ROOT_MISMATCH")
    );
    for extra in [EMPTY, [1; 32]] {
        let mut extended = proof.clone();
        extended.siblings.push(extra);
        assert_eq!(
            code(extended.verify_value(&map.root(), &key(5), &value(5))),
            Err("ROOT_MISMATCH")
        );
        let mut prefixed = proof.clone();
        prefixed.siblings.insert(0, extra);
        assert_eq!(
            code(prefixed.verify_value(&map.root(), &key(5), &value(5))),
            Err("ROOT_MISMATCH")
        );
    }
    Ok(())
}

#[test]
fn a_key_cannot_be_claimed_at_a_shallower_depth_than_its_leaf() -> Result<(), MapError> {
    // a and b share 10 bits, so their leaves sit at depth 11; c splits off at
    // the root. A proof claiming a's leaf one level up must fail.
    let a = [0x00; 32];
    let b = flip(a, 10);
    let c = [0xff; 32];
    let mut map = MemoryMap::new();
    for k in [a, b, c] {
        map.insert(k, value(1));
    }
    let proof = map.prove(&a);
    assert_eq!(proof.siblings.len(), 11);
    for depth in 0..11 {
        let shallow = MapProof {
            siblings: proof.siblings[..depth].to_vec(),
            terminal: proof.terminal.clone(),
        };
        assert!(
            shallow.verify_value(&map.root(), &a, &value(1)).is_err(),
            "claimed at depth {depth}"
        );
    }
    Ok(())
}

#[test]
fn an_internal_nodes_children_cannot_pass_for_a_leaf() {
    // Without the 0x00/0x01 domain tags, "key = left child, value = right
    // child" with no siblings would hash to the root.
    let mut map = MemoryMap::new();
    map.insert([0x00; 32], value(1));
    map.insert([0xff; 32], value(2));
    let left = leaf_hash(&[0x00; 32], &value(1));
    let right = leaf_hash(&[0xff; 32], &value(2));
    let forged = MapProof {
        siblings: vec![],
        terminal: Terminal::Leaf {
            key: left,
            value: right,
        },
    };
    assert_eq!(
        code(forged.verify_value(&map.root(), &left, &right)),
        Err("ROOT_MISMATCH")
    );
}

#[test]
fn a_swapped_terminal_does_not_verify() -> Result<(), MapError> {
    let (mut table, map) = sample()?;
    let proof = table.prove(&key(5))?;
    // Claiming absence by replacing the key's leaf with nothing.
    let emptied = MapProof {
        siblings: proof.siblings.clone(),
        terminal: Terminal::Empty,
    };
    assert_eq!(
        code(emptied.verify_absent(&map.root(), &key(5))),
        Err("ROOT_MISMATCH")
    );
    // Claiming absence by showing another key's leaf at the key's place.
    let other = MapProof {
        siblings: proof.siblings.clone(),
        terminal: Terminal::Leaf {
            key: flip(key(5), 255),
            value: value(5),
        },
    };
    assert_eq!(
        code(other.verify_absent(&map.root(), &key(5))),
        Err("ROOT_MISMATCH")
    );
    // Another key's genuine leaf, shown off the key's path.
    let off_path = MapProof {
        siblings: proof.siblings.clone(),
        terminal: Terminal::Leaf {
            key: flip(key(5), 0),
            value: value(5),
        },
    };
    assert_eq!(
        code(off_path.verify_absent(&map.root(), &key(5))),
        Err("LEAF_OFF_PATH")
    );
    Ok(())
}

#[test]
fn a_fresh_proof_verifies_after_later_updates_to_other_keys_but_the_older_proof_does_not()
-> Result<(), MapError> {
    let (mut table, mut map) = sample()?;
    let old = table.prove(&key(5))?;
    let old_root = map.root();
    let later: BTreeMap<Hash, Hash> = (0..40)
        .filter(|i| *i != 5)
        .map(|i| (key(i), value(i + 1)))
        .chain([(key(200), value(1))])
        .collect();
    let update = table.update(&later)?;
    for (k, v) in &later {
        map.insert(*k, *v);
    }
    assert_eq!(update.root, map.root());
    old.verify_value(&old_root, &key(5), &value(5))?;
    assert_eq!(
        code(old.verify_value(&update.root, &key(5), &value(5))),
        Err("ROOT_MISMATCH")
    );
    table
        .prove(&key(5))?
        .verify_value(&update.root, &key(5), &value(5))?;
    Ok(())
}

#[test]
fn a_proof_longer_than_256_siblings_is_refused_before_hashing() {
    let proof = MapProof {
        siblings: vec![EMPTY; 257],
        terminal: Terminal::Empty,
    };
    assert_eq!(
        proof.verify_absent(&EMPTY, &key(1)),
        Err(MapError::ProofTooLong { len: 257 })
    );
    assert_eq!(
        code(proof.verify_value(&EMPTY, &key(1), &value(1))),
        Err("PROOF_TOO_LONG")
    );
    let text = vec![String::new(); 258];
    assert_eq!(code(MapProof::from_hex(&text)), Err("PROOF_TOO_LONG"));
}

#[test]
fn proofs_round_trip_through_text_with_empty_siblings_written_as_empty_strings()
-> Result<(), MapError> {
    let a = [0x00; 32];
    let mut map = MemoryMap::new();
    map.insert(a, value(3));
    map.insert(flip(a, 200), value(4));
    let proof = map.prove(&a);
    let text = proof.to_hex();
    assert_eq!(text.len(), 1 + proof.siblings.len());
    assert_eq!(
        text[0],
        format!("{}{}", hex::encode(a), hex::encode(value(3)))
    );
    assert!(text[1..200].iter().all(String::is_empty));
    assert_eq!(text[201].len(), 64);
    assert_eq!(MapProof::from_hex(&text)?, proof);
    let absent = MemoryMap::new().prove(&a);
    assert_eq!(absent.to_hex(), vec![String::new()]);
    assert_eq!(MapProof::from_hex(&absent.to_hex())?, absent);
    Ok(())
}

#[test]
fn proof_text_that_to_hex_would_not_write_is_refused() {
    let leaf = "ab".repeat(64);
    let refused: Vec<Vec<String>> = vec![
        vec![],                                // no terminal
        vec!["ab".repeat(32)],                 // terminal of 64 digits
        vec!["AB".repeat(64)],                 // uppercase terminal
        vec![leaf.clone(), "00".repeat(32)],   // EMPTY spelled out
        vec![leaf.clone(), "ab".repeat(31)],   // short sibling
        vec![leaf.clone(), "AB".repeat(32)],   // uppercase sibling
        vec![leaf.clone(), "xyz".to_string()], // not hex
        vec![leaf.clone(), "a".to_string()],   // odd length
    ];
    for parts in refused {
        assert_eq!(
            code(MapProof::from_hex(&parts)),
            Err("MALFORMED_HEX"),
            "{parts:?}"
        );
    }
}

#[test]
fn malformed_hex_errors_name_what_was_being_decoded() {
    let parts = vec!["ab".repeat(64), String::new(), "zz".to_string()];
    match MapProof::from_hex(&parts) {
        Err(MapError::MalformedHex { what, .. }) => assert_eq!(what, "proof sibling 1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn proving_from_inconsistent_nodes_is_refused() {
    let mut nodes = BTreeMap::new();
    nodes.insert(NodeId::ROOT, Node::Internal { hash: [9; 32] });
    nodes.insert(
        NodeId::of(&[0; 32], 1),
        Node::Leaf {
            key: [0; 32],
            value: [0; 32],
        },
    );
    nodes.insert(
        NodeId::of(&[0xff; 32], 1),
        Node::Leaf {
            key: [0xff; 32],
            value: [0; 32],
        },
    );
    assert_eq!(
        code(merkle_map::prove(&nodes, &[0; 32])),
        Err("INCONSISTENT_NODES")
    );
}

#[test]
fn error_codes_are_distinct_and_screaming_snake_case() {
    let id = NodeId::ROOT;
    let errors = [
        MapError::RootMismatch {
            expected: EMPTY,
            computed: EMPTY,
        },
        MapError::KeyMismatch {
            expected: EMPTY,
            found: EMPTY,
        },
        MapError::ValueMismatch {
            key: EMPTY,
            expected: EMPTY,
            found: EMPTY,
        },
        MapError::KeyAbsent { key: EMPTY },
        MapError::KeyPresent { key: EMPTY },
        MapError::LeafOffPath {
            key: EMPTY,
            leaf_key: EMPTY,
            depth: 0,
        },
        MapError::ProofTooLong { len: 0 },
        MapError::MalformedHex {
            what: String::new(),
            reason: "",
        },
        MapError::UnrequestedNode { id },
        MapError::InconsistentNodes { id, reason: "" },
    ];
    let codes: std::collections::BTreeSet<&str> = errors.iter().map(MapError::code).collect();
    assert_eq!(codes.len(), errors.len());
    assert!(
        codes
            .iter()
            .all(|c| c.chars().all(|ch| ch.is_ascii_uppercase() || ch == '_'))
    );
}

fn hash_strategy() -> impl Strategy<Value = Hash> {
    prop_oneof![any::<Hash>(), Just(EMPTY)]
}

fn terminal_strategy() -> impl Strategy<Value = Terminal> {
    prop_oneof![
        Just(Terminal::Empty),
        (any::<Hash>(), any::<Hash>()).prop_map(|(key, value)| Terminal::Leaf { key, value }),
    ]
}

proptest! {
    #[test]
    fn hostile_proofs_are_refused_without_panicking(
        siblings in prop::collection::vec(hash_strategy(), 0..300),
        terminal in terminal_strategy(),
        k in any::<Hash>(),
        v in any::<Hash>(),
        use_real_root in any::<bool>(),
    ) {
        let root = if use_real_root {
            let mut map = MemoryMap::new();
            map.insert([1; 32], [2; 32]);
            map.insert([3; 32], [4; 32]);
            map.root()
        } else {
            leaf_hash(&k, &v)
        };
        let proof = MapProof { siblings, terminal };
        prop_assert!(proof.verify_value(&root, &k, &v).is_err());
        prop_assert!(proof.verify_absent(&root, &k).is_err());
        prop_assert!(proof.verify(&root, &k).is_err());
        let text = proof.to_hex();
        let parsed = MapProof::from_hex(&text);
        if proof.siblings.len() <= 256 {
            prop_assert_eq!(parsed, Ok(proof));
        } else {
            prop_assert!(parsed.is_err());
        }
    }

    #[test]
    fn hostile_proof_text_is_refused_or_parsed_canonically_without_panicking(
        parts in prop::collection::vec("|[0-9a-f]{64}|[0-9a-f]{128}|[0-9a-fA-F]{0,130}|.{0,20}", 0..6),
    ) {
        if let Ok(proof) = MapProof::from_hex(&parts) {
            prop_assert_eq!(proof.to_hex(), parts);
        }
    }
}
