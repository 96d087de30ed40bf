//! The one integration-test binary: a module per area.

// Contract cases are plain async functions called by generated #[test]s, so clippy does not
// see them as tests; in test code a failed unwrap is the failure we want.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod backends;

mod api;
mod bad_input;
mod commands;
mod console;
mod event_schemas;
mod files_exports;
mod files_products;
mod flows;
mod graphql;
mod ledger_api;
mod ledger_proofs;
mod no_skip;
mod projections;
mod queries;
mod replay_check;
mod replay_history;
mod replay_rebuild;
mod replay_verify;
mod rest;
mod security;
mod soak;
mod store_contract;
mod subscriptions;
mod webhooks;
