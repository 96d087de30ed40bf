//! The domain's specifications: one integration test binary, a module per area.
//!
//! Each test is named after the rule it pins down, as a sentence, and reads
//! given (events) / when (command) / then (events, or a typed error).

#![allow(clippy::unwrap_used)]

mod support;

mod claims;
mod error_codes;
mod indicators;
mod products;
mod properties;
mod sale_fulfilment;
mod sale_lines;
mod sale_opening;
mod sale_packages;
mod sale_reissue;
mod sale_returns;
mod sale_serials;
mod serial_numbers;
mod settings;
