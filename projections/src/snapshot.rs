//! [`ReadSnapshot`]: the read models as of one moment, even while a runner keeps folding.
//!
//! A projection's checkpoint commits in the same transaction as its rows, so a checkpoint
//! and rows read in one snapshot belong together: the digest taken in a snapshot is exactly
//! the digest of the read model at the checkpoint read in it. That is what lets
//! `replay check-projections` compare a live read model with a rebuild folded up to that
//! same position while the server carries on.

use crate::db::{ReadDb, ReadTx};
use crate::digest::{self, ProjectionDigest, TableDifferences};
use crate::projection::{Projection, ProjectionError};
use crate::runner;
use store::Position;

/// A read-only transaction on a read-model database that sees one consistent state from its
/// first read to its end (see [`ReadDb::snapshot`]).
pub struct ReadSnapshot {
    tx: ReadTx,
}

impl ReadSnapshot {
    /// Opens a snapshot. Its state is fixed by its first read.
    pub async fn begin(db: &ReadDb) -> Result<Self, ProjectionError> {
        Ok(Self {
            tx: db.snapshot().await?,
        })
    }

    /// A projection's checkpoint in this snapshot: the position of the last event folded
    /// into the rows this snapshot sees, and the events seen since its last reset.
    pub async fn checkpoint(
        &mut self,
        projection: Projection,
    ) -> Result<(Position, u64), ProjectionError> {
        Ok(runner::read_checkpoint(&mut self.tx, projection).await?)
    }

    /// The digest of a projection's tables (the same digest as
    /// [`ProjectionRunner::digest`](crate::ProjectionRunner::digest)), with each table's
    /// row count, as this snapshot sees them.
    pub async fn digest(
        &mut self,
        projection: Projection,
    ) -> Result<ProjectionDigest, ProjectionError> {
        Ok(digest::digest_projection(&mut self.tx, projection).await?)
    }

    /// Compares a projection's rows here (the live side) with those in `rebuilt`, row by
    /// row in key order: every table with a difference, with how many rows differ and the
    /// first `limit` of them.
    pub async fn compare(
        &mut self,
        rebuilt: &mut ReadSnapshot,
        projection: Projection,
        limit: usize,
    ) -> Result<Vec<TableDifferences>, ProjectionError> {
        Ok(digest::compare_projection(&mut self.tx, &mut rebuilt.tx, projection, limit).await?)
    }

    /// Ends the snapshot (it wrote nothing: a rollback).
    pub async fn end(self) -> Result<(), ProjectionError> {
        Ok(self.tx.rollback().await?)
    }
}
