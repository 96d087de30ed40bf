//! The serial ledger's events: the one definition of every fact the ledger records.
//!
//! This crate is the integrators' contract. Each event payload is a plain struct named after
//! the fact (`SerialAssigned`) with an explicit schema version; [`LedgerEvent`] ties every
//! payload to its stored `event_type` and `schema_version` and decodes stored payloads back.
//! Every stored event travels inside an [`EventEnvelope`] that says who did it, where, when,
//! and why (correlation, causation, command), and carries the stream's hash chain.
//!
//! Wire-format stability is guarded by golden JSON fixtures under `tests/fixtures/`: a change
//! that would alter what integrators receive fails a test. The JSON Schema of every published
//! type and version, and of the envelope, is generated from the same types by [`json_schema`]
//! and committed under `schemas/` (`tests/schemas.rs` keeps the files current).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod canonical;
mod envelope;
mod events;
mod ids;
pub mod json_schema;
pub mod streams;
mod values;

pub use canonical::{EventHashInput, GENESIS_HASH, canonical_json, envelope_hash, event_hash};
pub use envelope::{Actor, ActorKind, Channel, CommandMetadata, EventEnvelope};
pub use events::*;
pub use ids::{CommandId, CustomerId, LineNumber, OutletId, ProductId, SaleId, TenantId};
pub use values::{
    Customer, DeliveryMode, LinePackage, Money, PackageComponent, PackageComposition, PackageMode,
    SaleType, SerialMode, SerialModeSource,
};
