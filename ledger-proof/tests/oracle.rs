//! Properties of the Merkle log, against ct-merkle as an independent implementation of RFC
//! 9162 (its own tree layout and proof code; only SHA-256 is shared), plus hostile input.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use ledger_proof::merkle::{
    Hash, MemoryTree, TreeAppender, root_indexes, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use sha2::Digest as _;
use std::collections::HashMap;

/// sha2 0.10's SHA-256 behind digest 0.11's traits, which ct-merkle 0.3 needs (sha2 0.11 is
/// not available offline).
#[derive(Clone, Default)]
struct Sha256Oracle(sha2::Sha256);

impl digest_011::HashMarker for Sha256Oracle {}

impl digest_011::OutputSizeUser for Sha256Oracle {
    type OutputSize = digest_011::consts::U32;
}

impl digest_011::Update for Sha256Oracle {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

impl digest_011::FixedOutput for Sha256Oracle {
    fn finalize_into(self, out: &mut digest_011::Output<Self>) {
        out.as_mut_slice().copy_from_slice(&self.0.finalize());
    }
}

type Oracle = MemoryBackedTree<Sha256Oracle, Hash>;

fn event(seed: u64, i: u64) -> Hash {
    sha2::Sha256::digest([seed.to_be_bytes(), i.to_be_bytes()].concat()).into()
}

fn trees(seed: u64, n: u64) -> (MemoryTree, Oracle) {
    let mut ours = MemoryTree::new();
    let mut theirs = Oracle::new();
    for i in 0..n {
        ours.push(&event(seed, i)).expect("push");
        theirs.push(event(seed, i));
    }
    (ours, theirs)
}

fn root_hash(bytes: &Hash, size: u64) -> RootHash<Sha256Oracle> {
    let digest = digest_011::Output::<Sha256Oracle>::try_from(&bytes[..]).expect("32 bytes");
    RootHash::new(digest, size)
}

fn flatten(proof: &[Hash]) -> Vec<u8> {
    proof.concat()
}

fn split(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks(32)
        .map(|chunk| chunk.try_into().expect("32-byte chunks"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn roots_agree_with_ct_merkle(seed in any::<u64>(), n in 0u64..80) {
        let (ours, theirs) = trees(seed, n);
        let their_root = theirs.root();
        prop_assert_eq!(&ours.root()[..], their_root.as_bytes().as_slice());
    }

    #[test]
    fn inclusion_proofs_verify_across_implementations(seed in any::<u64>(), n in 1u64..80, pick in any::<u64>()) {
        let (ours, theirs) = trees(seed, n);
        let index = pick % n;
        let our_proof = ours.inclusion_proof(n, index).expect("prove");
        let their_proof = theirs.prove_inclusion(usize::try_from(index).expect("usize"));
        prop_assert_eq!(flatten(&our_proof), their_proof.as_bytes().to_vec());
        let root = root_hash(&ours.root(), n);
        let leaf = event(seed, index);
        prop_assert!(root.verify_inclusion(&leaf, index, &InclusionProof::from_bytes(flatten(&our_proof))).is_ok());
        prop_assert!(verify_inclusion(n, &ours.root(), index, &leaf, &split(their_proof.as_bytes())).is_ok());
    }

    #[test]
    fn consistency_proofs_verify_across_implementations(seed in any::<u64>(), n in 1u64..80, pick in any::<u64>()) {
        let (ours, theirs) = trees(seed, n);
        let old = 1 + pick % n;
        let our_proof = ours.consistency_proof(old, n).expect("prove");
        let their_proof = theirs.prove_consistency(usize::try_from(n - old).expect("usize"));
        let old_root = ours.root_at(old).expect("old root");
        prop_assert!(verify_consistency(old, &old_root, n, &ours.root(), &split(their_proof.as_bytes())).is_ok());
        let ours_for_them = ConsistencyProof::<Sha256Oracle>::try_from_bytes(flatten(&our_proof)).expect("bytes");
        prop_assert!(root_hash(&ours.root(), n).verify_consistency(&root_hash(&old_root, old), &ours_for_them).is_ok());
    }

    #[test]
    fn appending_in_batches_equals_the_memory_tree(seed in any::<u64>(), batches in prop::collection::vec(0u64..9, 1..8)) {
        let mut store: HashMap<u64, Hash> = HashMap::new();
        let mut reference = MemoryTree::new();
        let mut size = 0u64;
        for batch in batches {
            let edge: HashMap<u64, Hash> = root_indexes(size).into_iter().map(|i| (i, store[&i])).collect();
            let mut appender = TreeAppender::new(size, edge).expect("appender");
            for _ in 0..batch {
                let hash = event(seed, size);
                prop_assert_eq!(appender.push(&hash).expect("push"), size);
                reference.push(&hash).expect("push");
                size += 1;
            }
            prop_assert_eq!(appender.root().expect("root"), reference.root());
            store.extend(appender.take_written());
        }
        prop_assert_eq!(store, reference.stored_hashes());
    }

    #[test]
    fn hostile_inclusion_input_is_an_error_never_a_panic(
        size in any::<u64>(), index in any::<u64>(), root in any::<[u8; 32]>(), leaf in any::<[u8; 32]>(),
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..140),
    ) {
        prop_assert!(verify_inclusion(size, &root, index, &leaf, &proof).is_err());
        if index >= size {
            prop_assert!(verify_inclusion(size, &root, index, &leaf, &[]).is_err());
        }
    }

    #[test]
    fn hostile_consistency_input_is_an_error_never_a_panic(
        old in any::<u64>(), new in any::<u64>(), a in any::<[u8; 32]>(), b in any::<[u8; 32]>(),
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..140),
    ) {
        prop_assume!(a != b);
        prop_assert!(verify_consistency(old, &a, new, &b, &proof).is_err());
        prop_assert!(verify_consistency(old.max(1), &a, old.max(1).saturating_sub(1), &a, &[]).is_err());
    }

    #[test]
    fn a_genuine_proof_with_wrong_length_or_index_fails(seed in any::<u64>(), n in 2u64..60, pick in any::<u64>(), extra in any::<[u8; 32]>()) {
        let (ours, _) = trees(seed, n);
        let index = pick % n;
        let proof = ours.inclusion_proof(n, index).expect("prove");
        let leaf = event(seed, index);
        let mut longer = proof.clone();
        longer.push(extra);
        prop_assert!(verify_inclusion(n, &ours.root(), index, &leaf, &longer).is_err());
        prop_assert!(verify_inclusion(n, &ours.root(), index, &leaf, &proof[..proof.len() - 1]).is_err());
        prop_assert!(verify_inclusion(n, &ours.root(), n, &leaf, &proof).is_err());
        prop_assert!(verify_inclusion(n, &ours.root(), (index + 1) % n, &leaf, &proof).is_err());
    }
}
