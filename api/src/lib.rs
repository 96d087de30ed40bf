//! The serial-ledger service.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
