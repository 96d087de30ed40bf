//! The serial-ledger server and its adapters over the application layer
//! ([`application`]): the GraphQL API ([`graphql`], built by [`graphql::build_schema`]), the
//! integrators' REST API ([`rest`]), the retail files over HTTP ([`exports`]) and the event
//! schemas ([`schemas`]), each a thin adapter that parses its input, calls one application
//! function and converts the answer; no adapter imports another. [`server`] composes them
//! into one router with rate limiting ([`rate_limit`]) and the request plumbing they share
//! ([`http`]), over the shared [`state::AppState`] (with [`subscription_limits`]). The `serial-ledger` binary
//! (`src/main.rs`) adds the operator commands and the `--demo` retailer ([`demo`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod assets;
pub mod console;
pub mod demo;
pub mod exports;
pub mod graphql;
pub mod http;
pub mod rate_limit;
pub mod rest;
pub mod schemas;
pub mod server;
pub mod state;
pub mod subscription_limits;
