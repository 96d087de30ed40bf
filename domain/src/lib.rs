//! The serial ledger's rules as pure deciders (filled in by the domain issue).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
