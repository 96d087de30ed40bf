//! The verifiable ledger's formats and checks, with no database, async or network.
//!
//! * [`merkle`]: the RFC 9162 Merkle log of events (tlog stored-hash layout, sans-IO).
//! * [`checkpoint`]: C2SP signed checkpoints (Ed25519, Go note key formats).
//! * [`cosignature`]: C2SP tlog-cosignature (cosignature/v1) witness signatures.
//! * [`serial_chain`]: the per-serial history chains committed in the serial map.
//! * [`evidence`]: the offline check of a serial-history evidence file, as auditors run it
//!   (the `serial-ledger-verify` binary is a thin shell around it).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checkpoint;
pub mod cosignature;
mod error;
pub mod evidence;
pub mod merkle;
pub mod serial_chain;

pub use error::ProofError;
pub use merkle::Hash;
