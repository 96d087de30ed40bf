//! The serial-ledger service: the command service ([`commands`]: load, decide, append, retry
//! on conflict), retailers and API tokens ([`auth`]), and the `serial-ledger` binary
//! (`src/main.rs`): the GraphQL API ([`graphql`], built by [`graphql::build_schema`]) served
//! over HTTP and WebSocket by [`server`], on the shared [`state::AppState`]; and the
//! `--demo` retailer ([`demo`]); retail files over HTTP ([`exports`]). REST arrives with the
//! integrator issue.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod commands;
pub mod demo;
pub mod exports;
pub mod graphql;
pub mod ledger;
pub mod rate_limit;
pub mod rest;
pub mod schemas;
pub mod server;
pub mod state;
pub mod webhooks;
