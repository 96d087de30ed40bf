//! The serial-ledger service: the command service ([`commands`]: load, decide, append, retry
//! on conflict), retailers and API tokens ([`auth`]), and the `serial-ledger` binary
//! (`src/main.rs`). The GraphQL and REST APIs arrive with the API issues.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod commands;
pub mod demo;
pub mod graphql;
pub mod server;
pub mod state;
