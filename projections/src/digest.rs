//! Hashing a read-model table row by row, streamed so memory stays flat whatever its size.

use crate::db::ReadDb;
use crate::projection::TableSpec;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::Row;

fn select_all(table: &TableSpec) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|column| format!("CAST({column} AS TEXT)"))
        .collect();
    // Identifiers are constants of this crate, never input.
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        table.name,
        table.key.join(", ")
    )
}

/// Feeds each value with its length (or a NULL marker), so no two tables hash alike by
/// accident of concatenation.
fn feed(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        Some(text) => {
            hasher.update((text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
        None => hasher.update(u64::MAX.to_le_bytes()),
    }
}

pub(crate) async fn hash_table(
    db: &ReadDb,
    table: &TableSpec,
    hasher: &mut Sha256,
) -> Result<(), sqlx::Error> {
    let sql = select_all(table);
    hasher.update(table.name.as_bytes());
    let width = table.columns.len();
    match db {
        ReadDb::Sqlite { readers, .. } => {
            let mut rows = sqlx::query(&sql).fetch(readers);
            while let Some(row) = rows.try_next().await? {
                for index in 0..width {
                    feed(hasher, row.try_get::<Option<String>, _>(index)?.as_deref());
                }
            }
        }
        ReadDb::Postgres(pool) => {
            let mut rows = sqlx::query(&sql).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                for index in 0..width {
                    feed(hasher, row.try_get::<Option<String>, _>(index)?.as_deref());
                }
            }
        }
    }
    Ok(())
}
