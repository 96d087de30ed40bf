//! Hashing a projection's tables row by row, and comparing two copies of them row by row.
//! Both stream the rows, so memory stays flat whatever the tables' size.

use crate::db::ReadTx;
use crate::projection::{Projection, TableSpec};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::fmt;

/// The digest of a projection's tables as one snapshot saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionDigest {
    /// SHA-256 (hex) over every row of every table, in key order: equal digests mean equal
    /// read models.
    pub digest: String,
    /// Each table with its number of rows, in the projection's order.
    pub tables: Vec<TableRows>,
}

/// How many rows a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRows {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: u64,
}

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

/// Hashes one table into `hasher`; returns its number of rows.
async fn hash_table(
    tx: &mut ReadTx,
    table: &TableSpec,
    hasher: &mut Sha256,
) -> Result<u64, sqlx::Error> {
    let sql = select_all(table);
    hasher.update(table.name.as_bytes());
    let mut rows = tx.text_rows(&sql, table.columns.len());
    let mut count = 0_u64;
    while let Some(row) = rows.try_next().await? {
        for value in &row {
            feed(hasher, value.as_deref());
        }
        count += 1;
    }
    Ok(count)
}

/// Digests every table of a projection, all read in `tx` (so, within a snapshot, all as of
/// one moment).
pub(crate) async fn digest_projection(
    tx: &mut ReadTx,
    projection: Projection,
) -> Result<ProjectionDigest, sqlx::Error> {
    let mut hasher = Sha256::new();
    let mut tables = Vec::new();
    for table in projection.digested_tables() {
        let rows = hash_table(tx, table, &mut hasher).await?;
        tables.push(TableRows {
            table: table.name,
            rows,
        });
    }
    Ok(ProjectionDigest {
        digest: hex::encode(hasher.finalize()),
        tables,
    })
}

// ---- row by row comparison -------------------------------------------------------------------

/// The primary key of a row: each key column with its value as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKey(pub Vec<(&'static str, Option<String>)>);

impl RowKey {
    /// The value of one key column, if the key has it.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| *name == column)
            .and_then(|(_, value)| value.as_deref())
    }
}

impl fmt::Display for RowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (column, value)) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            match value {
                // Ids, serials and numbers read best bare; anything that could be mistaken
                // for the separators is quoted.
                Some(text)
                    if !text.is_empty()
                        && text.chars().all(|character| {
                            character.is_ascii_alphanumeric() || "-_.:/".contains(character)
                        }) =>
                {
                    write!(f, "{column}={text}")?;
                }
                other => write!(f, "{column}={}", Shown(other.as_deref()))?,
            }
        }
        Ok(())
    }
}

/// A value as the report shows it: quoted text, or NULL.
struct Shown<'a>(Option<&'a str>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(text) => write!(f, "{text:?}"),
            None => f.write_str("NULL"),
        }
    }
}

/// A column whose value differs between the two copies of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDifference {
    /// The column.
    pub column: &'static str,
    /// Its value in the live read model, as text (`None`: NULL).
    pub live: Option<String>,
    /// Its value in the rebuild from the log.
    pub rebuilt: Option<String>,
}

impl fmt::Display for ColumnDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {} live but {} rebuilt",
            self.column,
            Shown(self.live.as_deref()),
            Shown(self.rebuilt.as_deref())
        )
    }
}

/// One row that is not the same in the live read model and in its rebuild from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowDifference {
    /// The log gives this row, but the live read model lacks it.
    MissingFromLive {
        /// The row's key.
        key: RowKey,
    },
    /// The live read model has a row the log does not give.
    ExtraInLive {
        /// The row's key.
        key: RowKey,
    },
    /// Both have the row, with different values.
    Changed {
        /// The row's key.
        key: RowKey,
        /// Each column that differs.
        columns: Vec<ColumnDifference>,
    },
}

impl RowDifference {
    /// The key of the row concerned.
    pub fn key(&self) -> &RowKey {
        match self {
            RowDifference::MissingFromLive { key }
            | RowDifference::ExtraInLive { key }
            | RowDifference::Changed { key, .. } => key,
        }
    }
}

impl fmt::Display for RowDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowDifference::MissingFromLive { key } => write!(f, "missing from live: {key}"),
            RowDifference::ExtraInLive { key } => write!(f, "extra in live: {key}"),
            RowDifference::Changed { key, columns } => {
                write!(f, "changed: {key}: ")?;
                for (index, column) in columns.iter().enumerate() {
                    if index > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{column}")?;
                }
                Ok(())
            }
        }
    }
}

/// The differences found in one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDifferences {
    /// The table.
    pub table: &'static str,
    /// How many rows differ in all.
    pub count: u64,
    /// The first of them, in key order (at most the limit asked for).
    pub first: Vec<RowDifference>,
}

/// How a key column is ordered: integers by value, anything else by the bytes of its text.
/// The comparison query orders by exactly this, so the merge walk and SQL agree whatever
/// the database's collation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Integer,
    Text,
}

/// A key value in the order both backends sort it with the ORDER BY built below: NULLs
/// first, then numbers, then text by bytes (SQLite's order of storage classes).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyValue<'a> {
    Null,
    Integer(i64),
    Text(&'a [u8]),
}

impl<'a> KeyValue<'a> {
    fn of(kind: KeyKind, value: Option<&'a str>) -> Self {
        match (kind, value) {
            (_, None) => KeyValue::Null,
            (KeyKind::Integer, Some(text)) => text
                .parse()
                .map_or(KeyValue::Text(text.as_bytes()), KeyValue::Integer),
            (KeyKind::Text, Some(text)) => KeyValue::Text(text.as_bytes()),
        }
    }
}

/// The declared type of each key column, from the catalogue (the `TableSpec`s name columns
/// but not their types). The table name resolves as the projection's own SQL does: through
/// the connection's `search_path` on PostgreSQL.
async fn key_kinds(tx: &mut ReadTx, table: &TableSpec) -> Result<Vec<KeyKind>, sqlx::Error> {
    let declared: Vec<(String, String)> = match tx {
        ReadTx::Sqlite(tx) => {
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1)")
                .bind(table.name)
                .fetch_all(&mut **tx)
                .await?
        }
        ReadTx::Postgres(tx) => {
            sqlx::query_as(
                "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute \
                 WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
            )
            .bind(table.name)
            .fetch_all(&mut **tx)
            .await?
        }
    };
    Ok(table
        .key
        .iter()
        .map(|column| {
            // SQLite's rule for integer affinity, which also covers PostgreSQL's
            // smallint/integer/bigint.
            let integer = declared.iter().any(|(name, declared_type)| {
                name == column && declared_type.to_ascii_lowercase().contains("int")
            });
            if integer {
                KeyKind::Integer
            } else {
                KeyKind::Text
            }
        })
        .collect())
}

/// The columns a comparison selects: every column, then any key column not among them.
fn compared_columns(table: &TableSpec) -> Vec<&'static str> {
    let mut columns = table.columns.to_vec();
    for key in table.key {
        if !columns.contains(key) {
            columns.push(key);
        }
    }
    columns
}

fn select_in_key_order(tx: &ReadTx, table: &TableSpec, kinds: &[KeyKind]) -> String {
    let binary = match tx {
        ReadTx::Sqlite(_) => "BINARY",
        ReadTx::Postgres(_) => "\"C\"",
    };
    let columns: Vec<String> = compared_columns(table)
        .iter()
        .map(|column| format!("CAST({column} AS TEXT)"))
        .collect();
    let order: Vec<String> = table
        .key
        .iter()
        .zip(kinds)
        .map(|(column, kind)| match kind {
            KeyKind::Integer => format!("{column} NULLS FIRST"),
            KeyKind::Text => format!("CAST({column} AS TEXT) COLLATE {binary} NULLS FIRST"),
        })
        .collect();
    // Identifiers are constants of this crate, never input.
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        columns.join(", "),
        table.name,
        order.join(", ")
    )
}

/// Where each key column is in a compared row, with how it orders.
struct KeyLayout {
    columns: Vec<(&'static str, usize, KeyKind)>,
}

impl KeyLayout {
    fn new(table: &TableSpec, kinds: &[KeyKind]) -> Self {
        let compared = compared_columns(table);
        let columns = table
            .key
            .iter()
            .zip(kinds)
            .filter_map(|(column, kind)| {
                let index = compared.iter().position(|name| name == column)?;
                Some((*column, index, *kind))
            })
            .collect();
        Self { columns }
    }

    fn compare(&self, left: &[Option<String>], right: &[Option<String>]) -> Ordering {
        for &(_, index, kind) in &self.columns {
            let left = KeyValue::of(kind, left.get(index).and_then(|value| value.as_deref()));
            let right = KeyValue::of(kind, right.get(index).and_then(|value| value.as_deref()));
            match left.cmp(&right) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        Ordering::Equal
    }

    fn key(&self, row: &[Option<String>]) -> RowKey {
        RowKey(
            self.columns
                .iter()
                .map(|&(column, index, _)| (column, row.get(index).cloned().flatten()))
                .collect(),
        )
    }
}

/// Compares one table in `live` with the same table in `rebuilt`: a merge walk over both in
/// key order. Counts every differing row and keeps the first `limit`.
async fn compare_table(
    live: &mut ReadTx,
    rebuilt: &mut ReadTx,
    table: &TableSpec,
    limit: usize,
) -> Result<TableDifferences, sqlx::Error> {
    let kinds = key_kinds(live, table).await?;
    let layout = KeyLayout::new(table, &kinds);
    let width = compared_columns(table).len();
    let live_sql = select_in_key_order(live, table, &kinds);
    let rebuilt_sql = select_in_key_order(rebuilt, table, &kinds);
    let mut live_rows = live.text_rows(&live_sql, width);
    let mut rebuilt_rows = rebuilt.text_rows(&rebuilt_sql, width);
    let mut found = TableDifferences {
        table: table.name,
        count: 0,
        first: Vec::new(),
    };
    let mut record = |difference: RowDifference| {
        found.count += 1;
        if found.first.len() < limit {
            found.first.push(difference);
        }
    };
    let mut left = live_rows.try_next().await?;
    let mut right = rebuilt_rows.try_next().await?;
    loop {
        let order = match (&left, &right) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(live_row), Some(rebuilt_row)) => layout.compare(live_row, rebuilt_row),
        };
        match (order, &left, &right) {
            (Ordering::Less, Some(live_row), _) => {
                record(RowDifference::ExtraInLive {
                    key: layout.key(live_row),
                });
                left = live_rows.try_next().await?;
            }
            (Ordering::Greater, _, Some(rebuilt_row)) => {
                record(RowDifference::MissingFromLive {
                    key: layout.key(rebuilt_row),
                });
                right = rebuilt_rows.try_next().await?;
            }
            (_, Some(live_row), Some(rebuilt_row)) => {
                let columns: Vec<ColumnDifference> = table
                    .columns
                    .iter()
                    .zip(live_row.iter().zip(rebuilt_row))
                    .filter(|(_, (live_value, rebuilt_value))| live_value != rebuilt_value)
                    .map(|(column, (live_value, rebuilt_value))| ColumnDifference {
                        column,
                        live: live_value.clone(),
                        rebuilt: rebuilt_value.clone(),
                    })
                    .collect();
                if !columns.is_empty() {
                    record(RowDifference::Changed {
                        key: layout.key(live_row),
                        columns,
                    });
                }
                left = live_rows.try_next().await?;
                right = rebuilt_rows.try_next().await?;
            }
            // Unreachable: an order other than Equal always has its row; stop rather than
            // loop if that ever changes.
            _ => break,
        }
    }
    Ok(found)
}

/// Compares every table of a projection in `live` and `rebuilt` (two transactions, usually
/// two snapshots); returns the tables with at least one differing row.
pub(crate) async fn compare_projection(
    live: &mut ReadTx,
    rebuilt: &mut ReadTx,
    projection: Projection,
    limit: usize,
) -> Result<Vec<TableDifferences>, sqlx::Error> {
    let mut tables = Vec::new();
    for table in projection.digested_tables() {
        let found = compare_table(live, rebuilt, table, limit).await?;
        if found.count > 0 {
            tables.push(found);
        }
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_order_nulls_then_numbers_by_value_then_text_by_bytes() {
        let mut values = vec![
            KeyValue::of(KeyKind::Text, Some("b")),
            KeyValue::of(KeyKind::Integer, Some("10")),
            KeyValue::of(KeyKind::Text, Some("B")),
            KeyValue::of(KeyKind::Integer, Some("9")),
            KeyValue::of(KeyKind::Text, None),
        ];
        values.sort();
        assert_eq!(
            values,
            vec![
                KeyValue::Null,
                KeyValue::Integer(9),
                KeyValue::Integer(10),
                KeyValue::Text(b"B"),
                KeyValue::Text(b"b"),
            ]
        );
    }

    #[test]
    fn a_row_difference_names_the_key_and_each_differing_column() {
        let difference = RowDifference::Changed {
            key: RowKey(vec![
                ("tenant_id", Some("t".into())),
                ("line", Some("2".into())),
            ]),
            columns: vec![ColumnDifference {
                column: "status",
                live: Some("RELEASED".into()),
                rebuilt: None,
            }],
        };
        assert_eq!(
            difference.to_string(),
            "changed: tenant_id=t, line=2: status is \"RELEASED\" live but NULL rebuilt"
        );
    }
}
