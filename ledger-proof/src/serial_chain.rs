//! The per-serial history chain, committed in the checkpoint's serial map.
//!
//! Every event that names a serial (`LedgerEvent::serial_named`) is folded, in log order,
//! into that serial's chain: `head' = SHA-256(0x02 ‖ head ‖ leaf index ‖ event hash)`,
//! starting from [`CHAIN_START`]. The serial map (merkle-map) holds, under
//! [`serial_key`]`(serial)`, the value [`serial_value`]`(events, head)` as of the
//! checkpoint's tree size. Inclusion proofs show each event of a history is in the log; the
//! chain head shows the history leaves none out and adds none, because it commits to the
//! exact sequence of (leaf index, event hash) pairs about the serial.
//!
//! The domain bytes 0x02 and 0x03 differ from the log's 0x00/0x01 so no chain or map value
//! can be confused with a Merkle leaf or node.

use crate::merkle::Hash;
use sha2::{Digest, Sha256};

/// The head of a chain with no events.
pub const CHAIN_START: Hash = [0; 32];

/// The map key of a serial: SHA-256("serial-ledger/serial-key/v1\n" ‖ serial, UTF-8).
/// The serial must already be normalised (as events record it).
pub fn serial_key(normalised_serial: &str) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(b"serial-ledger/serial-key/v1\n");
    hasher.update(normalised_serial.as_bytes());
    hasher.finalize().into()
}

/// One step of the chain: SHA-256(0x02 ‖ head ‖ leaf index, u64 big-endian ‖ event hash).
pub fn chain_step(head: &Hash, leaf_index: u64, event_hash: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x02]);
    hasher.update(head);
    hasher.update(leaf_index.to_be_bytes());
    hasher.update(event_hash);
    hasher.finalize().into()
}

/// The map value of a serial: SHA-256(0x03 ‖ event count, u64 big-endian ‖ head).
pub fn serial_value(events: u64, head: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x03]);
    hasher.update(events.to_be_bytes());
    hasher.update(head);
    hasher.finalize().into()
}

/// Folds (leaf index, event hash) pairs, in log order, from [`CHAIN_START`]:
/// (event count, head).
pub fn fold_chain<'a>(events: impl IntoIterator<Item = (u64, &'a Hash)>) -> (u64, Hash) {
    events.into_iter().fold(
        (0, CHAIN_START),
        |(count, head), (leaf_index, event_hash)| {
            (count + 1, chain_step(&head, leaf_index, event_hash))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_domain_prefixed_hash_of_the_serial() {
        let mut expected = Sha256::new();
        expected.update(b"serial-ledger/serial-key/v1\nF2LFAULTY001");
        let expected: Hash = expected.finalize().into();
        assert_eq!(serial_key("F2LFAULTY001"), expected);
        assert_ne!(serial_key("F2LFAULTY001"), serial_key("F2LFAULTY002"));
    }

    #[test]
    fn a_step_hashes_two_head_index_and_event_in_that_layout() {
        let mut preimage = vec![0x02];
        preimage.extend_from_slice(&[1; 32]);
        preimage.extend_from_slice(&30u64.to_be_bytes());
        preimage.extend_from_slice(&[2; 32]);
        let expected: Hash = Sha256::digest(&preimage).into();
        assert_eq!(chain_step(&[1; 32], 30, &[2; 32]), expected);
    }

    #[test]
    fn the_value_commits_to_the_count_and_the_head() {
        let mut preimage = vec![0x03];
        preimage.extend_from_slice(&4u64.to_be_bytes());
        preimage.extend_from_slice(&[5; 32]);
        let expected: Hash = Sha256::digest(&preimage).into();
        assert_eq!(serial_value(4, &[5; 32]), expected);
        assert_ne!(serial_value(3, &[5; 32]), expected);
    }

    #[test]
    fn the_chain_depends_on_order_and_on_every_event() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        let forward = fold_chain([(3, &a), (9, &b)]);
        assert_eq!(forward.0, 2);
        assert_ne!(forward, fold_chain([(9, &b), (3, &a)]));
        assert_ne!(forward, fold_chain([(3, &a)]));
        assert_ne!(forward, fold_chain([(3, &a), (10, &b)]));
        assert_eq!(fold_chain(std::iter::empty()), (0, CHAIN_START));
    }
}
