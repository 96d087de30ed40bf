//! Node places: tree relations and the database-key text form.

use merkle_map::{Hash, MapError, NodeId, bit};
use proptest::prelude::*;

#[test]
fn the_root_is_written_as_four_zero_digits_and_has_no_sibling() -> Result<(), MapError> {
    assert_eq!(NodeId::ROOT.to_hex(), "0000");
    assert_eq!(NodeId::from_hex("0000")?, NodeId::ROOT);
    assert_eq!(NodeId::ROOT.sibling(), None);
    assert_eq!(NodeId::of(&[0xff; 32], 0), NodeId::ROOT);
    Ok(())
}

#[test]
fn a_node_id_is_written_as_its_depth_then_only_the_prefix_bytes_it_uses() {
    let key = [0xff; 32];
    assert_eq!(NodeId::of(&key, 1).to_hex(), "000180");
    assert_eq!(NodeId::of(&key, 8).to_hex(), "0008ff");
    assert_eq!(NodeId::of(&key, 9).to_hex(), "0009ff80");
    assert_eq!(
        NodeId::of(&key, 256).to_hex(),
        format!("0100{}", "ff".repeat(32))
    );
}

#[test]
fn depths_past_256_are_treated_as_256() {
    let key = [0x12; 32];
    assert_eq!(NodeId::of(&key, 300), NodeId::of(&key, 256));
}

#[test]
fn from_hex_refuses_anything_to_hex_would_not_write() {
    let refused = [
        "",         // no depth
        "000",      // short depth
        "00",       // short depth
        "0001",     // depth 1 needs one prefix byte
        "000180ff", // one prefix byte too many
        "000140",   // bit 1 set past depth 1
        "000881",   // fine: depth 8 uses all 8 bits (checked below)
        "0101",     // depth 257
        "ffff",     // depth 65535
        "0008FF",   // uppercase
        "00081",    // odd length
        "zz00",     // not hex
        " 0000",    // whitespace
    ];
    for text in refused {
        let result = NodeId::from_hex(text);
        if text == "000881" {
            assert!(result.is_ok(), "{text}");
            continue;
        }
        match result {
            Err(error) => assert_eq!(error.code(), "MALFORMED_HEX", "{text}"),
            Ok(id) => panic!("{text:?} parsed as {id:?}"),
        }
    }
}

#[test]
fn children_are_each_others_siblings_and_lie_on_the_keys_path() {
    let key = [0xa5; 32];
    for depth in 0..256u16 {
        let id = NodeId::of(&key, depth);
        let (Some(left), Some(right)) = (id.child(false), id.child(true)) else {
            panic!("a node above depth 256 has children");
        };
        assert_eq!(left.sibling(), Some(right));
        assert_eq!(right.sibling(), Some(left));
        assert_eq!(
            id.child(bit(&key, depth)),
            Some(NodeId::of(&key, depth + 1))
        );
        assert!(NodeId::of(&key, depth + 1).depth() == depth + 1);
        assert!(id.contains(&key));
    }
    assert_eq!(NodeId::of(&key, 256).child(false), None);
}

proptest! {
    #[test]
    fn every_node_id_round_trips_through_its_text_form(key in any::<Hash>(), depth in 0u16..=256) {
        let id = NodeId::of(&key, depth);
        let text = id.to_hex();
        prop_assert_eq!(text.len(), 4 + 2 * usize::from(depth.div_ceil(8)));
        prop_assert_eq!(NodeId::from_hex(&text), Ok(id));
    }

    #[test]
    fn from_hex_never_panics_and_accepts_only_canonical_text(text in "[0-9a-fA-F]{0,70}|.{0,70}") {
        if let Ok(id) = NodeId::from_hex(&text) {
            prop_assert_eq!(id.to_hex(), text);
        }
    }
}
