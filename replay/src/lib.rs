//! Auditor tooling over the event log: a serial's full history read from the events
//! themselves, hash-chain verification and a digest of the log, the state of a sale or a
//! serial at any past moment, projection rebuilds with progress, and the proof that the read
//! models come from the log (check-projections). The `serial-ledger replay ...` commands are
//! thin shells over this crate.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod as_of;
pub mod check;
pub mod evidence;
pub mod history;
pub mod rebuild;
pub mod signed;
pub mod verify;

/// `count` over `elapsed` in seconds; 0 when no time has passed (a rate for people, never a
/// division by zero).
pub fn per_second(count: u64, elapsed: std::time::Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}
