//! Read models folded from the event log, each with its checkpoint; the runner; rebuild;
//! and the queries the APIs answer from them.
//!
//! Four projections ([`Projection`]) fold the log into tables in the same database as the
//! events: `products` (the catalogue), `sales` (sales and lines: the POS order view, the
//! fulfilment report and pick lists, the sales report and the sales detail export are
//! queries over it), `serials` (the per-serial traceability index) and `proofs` (the
//! verifiable ledger's Merkle tree, serial chains and map). The
//! [`ProjectionRunner`] folds them exactly once (rows and checkpoint in one transaction),
//! rebuilds them from the log, digests them, and lets a caller wait until they have reached
//! a position (read-your-writes).
//!
//! To prove the read models come from the log, a runner can fold into a [`ScratchDb`]
//! instead ([`ProjectionRunner::with_db`], up to an exact position with
//! [`ProjectionRunner::catch_up_to`]), and a [`ReadSnapshot`] reads a checkpoint and the
//! rows it covers as of one moment, digests them and compares them row by row.
//!
//! Each table's columns are declared once, with its row struct (`rows::read_model_table!`):
//! its [`TableSpec`], INSERTs, upserts and SELECTs are built from that list, and a test
//! compares every spec with the migrations. Stored values (UUID text, microsecond times,
//! enum codes) are written and read back by [`stored`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod db;
mod digest;
mod products;
mod projection;
pub mod proofs;
pub mod queries;
mod rows;
mod runner;
mod sales;
mod scratch;
mod serials;
mod snapshot;
pub mod stored;

pub use db::{ReadDb, ReadTx};
pub use digest::{
    ColumnDifference, ProjectionDigest, RowDifference, RowKey, TableDifferences, TableRows,
};
pub use projection::{Projection, ProjectionError, TableSpec};
pub use runner::{
    BatchOutcome, ProjectionRunner, ProjectionStatus, RunnerOptions, RunningProjections,
};
pub use sales::status as line_status;
pub use scratch::{SCRATCH_SCHEMA_PREFIX, ScratchDb};
pub use serials::status as serial_status;
pub use snapshot::ReadSnapshot;
pub use stored::{StoredValueError, enum_code, parse_enum_code};
