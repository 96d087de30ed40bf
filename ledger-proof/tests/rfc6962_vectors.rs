//! The RFC 6962 / RFC 9162 reference vectors (as published in transparency-dev/merkle's
//! proof/verify_test.go): the 8 leaves, the roots of sizes 0..=8, the inclusion and
//! consistency proofs. These leaves are arbitrary data, so they go through the general
//! leaf hash; the ledger's own leaves (event hashes) are the 32-byte special case.

use ledger_proof::merkle::{
    EMPTY_ROOT, Hash, MemoryTree, leaf_hash_of_bytes, parse_hash_hex, verify_consistency,
    verify_leaf_inclusion,
};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, proof); the Go file numbers leaves from 1, these from 0.
const INCLUSION: [(u64, u64, &[&str]); 4] = [
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(text: &str) -> Hash {
    parse_hash_hex(text).expect("vector hash")
}

fn proof(texts: &[&str]) -> Vec<Hash> {
    texts.iter().map(|text| h(text)).collect()
}

fn reference_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in LEAVES {
        let data = hex::decode(leaf).expect("leaf");
        tree.push_leaf_hash(leaf_hash_of_bytes(&data))
            .expect("push");
    }
    tree
}

fn root(size: u64) -> Hash {
    h(ROOTS[size as usize - 1])
}

#[test]
fn the_roots_of_sizes_0_to_8_are_the_published_ones() {
    let tree = reference_tree();
    assert_eq!(
        tree.root_at(0).expect("empty"),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(EMPTY_ROOT, tree.root_at(0).expect("empty"));
    for size in 1..=8 {
        assert_eq!(tree.root_at(size).expect("root"), root(size), "size {size}");
    }
}

#[test]
fn the_published_inclusion_proofs_are_ours_and_verify() {
    let tree = reference_tree();
    for (index, size, expected) in INCLUSION {
        let expected = proof(expected);
        assert_eq!(tree.inclusion_proof(size, index).expect("prove"), expected);
        let data = hex::decode(LEAVES[index as usize]).expect("leaf");
        let leaf = leaf_hash_of_bytes(&data);
        verify_leaf_inclusion(size, &root(size), index, &leaf, &expected).expect("verifies");
        // Every one-bit change, and every off-by-one index, is refused.
        for position in 0..expected.len() {
            let mut corrupt = expected.clone();
            corrupt[position][0] ^= 8;
            assert!(verify_leaf_inclusion(size, &root(size), index, &leaf, &corrupt).is_err());
        }
        assert!(verify_leaf_inclusion(size, &root(size), index ^ 1, &leaf, &expected).is_err());
        assert!(verify_leaf_inclusion(size * 2, &root(size), index, &leaf, &expected).is_err());
        let mut longer = expected.clone();
        longer.push(root(size));
        assert!(verify_leaf_inclusion(size, &root(size), index, &leaf, &longer).is_err());
        if !expected.is_empty() {
            let shorter = &expected[..expected.len() - 1];
            assert!(verify_leaf_inclusion(size, &root(size), index, &leaf, shorter).is_err());
        }
    }
}

#[test]
fn the_published_consistency_proofs_are_ours_and_verify() {
    let tree = reference_tree();
    for (old, new, expected) in CONSISTENCY {
        let expected = proof(expected);
        assert_eq!(tree.consistency_proof(old, new).expect("prove"), expected);
        verify_consistency(old, &root(old), new, &root(new), &expected).expect("verifies");
        for position in 0..expected.len() {
            let mut corrupt = expected.clone();
            corrupt[position][0] ^= 16;
            assert!(verify_consistency(old, &root(old), new, &root(new), &corrupt).is_err());
        }
        if !expected.is_empty() {
            assert!(verify_consistency(old, &root(new), new, &root(old), &expected).is_err());
            assert!(verify_consistency(old, &root(old), new, &root(new), &[]).is_err());
        }
    }
}

#[test]
fn consistency_from_the_empty_tree_is_the_empty_proof_from_the_empty_root() {
    verify_consistency(0, &EMPTY_ROOT, 8, &root(8), &[]).expect("every tree extends the empty one");
    assert!(verify_consistency(0, &root(1), 8, &root(8), &[]).is_err());
    assert!(verify_consistency(0, &EMPTY_ROOT, 8, &root(8), &[root(1)]).is_err());
    assert!(
        verify_consistency(2, &root(2), 1, &root(1), &[]).is_err(),
        "old > new"
    );
}
