//! The fixed keys of the ledger-proof targets, made once with
//! `ledger_proof::checkpoint::generate_signing_key` and `generate_witness_key`
//! (`cargo run --example ledger_proof_seeds -- keys`). The committed seeds are signed with
//! them, so they verify in the targets. Test keys: they sign nothing but fuzz inputs.
#![allow(dead_code)]

/// The key name (conventionally the origin) of the log key.
pub const LOG_KEY_NAME: &str = "serial-ledger.example/fuzz";
/// The log's private signing key (used by the seed generator only).
pub const LOG_PRIVATE_KEY: &str =
    "PRIVATE+KEY+serial-ledger.example/fuzz+4fb3bca8+Afv1zKQmij+sI6d94N/sYLIPisPYSj14llIBBbzTFTTd";
/// The log's verifier key.
pub const LOG_VERIFIER_KEY: &str =
    "serial-ledger.example/fuzz+4fb3bca8+AUtm7Jvm4BUlHiNU0KVAPdksGQgODJjc6gRwFVeMwzTt";
/// The key name of the witness.
pub const WITNESS_KEY_NAME: &str = "witness.example/fuzz";
/// The witness's private cosigning key (used by the seed generator only).
pub const WITNESS_PRIVATE_KEY: &str =
    "PRIVATE+KEY+witness.example/fuzz+698aa8dc+BBk+Y2xt0Jw3HibtlE+M+Bp7R2frhBAK2WpLwjUE1vPK";
/// The witness's verifier key.
pub const WITNESS_VERIFIER_KEY: &str =
    "witness.example/fuzz+698aa8dc+BBkJOYEGFmRpEWE6IbhQTm6DbRaEP0XIVMXhPFLRbQam";
