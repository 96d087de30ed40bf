//! Auditor tooling. Today the hash-chain verification lives in `store::verify`; the replay
//! issue builds the serial history, point-in-time state and rebuilds here on top of it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
