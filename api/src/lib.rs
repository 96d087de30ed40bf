//! The serial-ledger service. The command service, GraphQL and REST APIs arrive with the API
//! issue; today the crate holds the `serial-ledger` binary (`src/main.rs`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
