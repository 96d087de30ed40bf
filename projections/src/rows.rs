//! Folding a batch in memory: the rows a batch touches are loaded with a few keyed SELECTs,
//! changed in a [`RowBuffer`], and written back with multi-row statements.
//!
//! Why: folding event by event costs one to four statements per event, each a round trip
//! (on SQLite a hand-off to the driver's connection thread, on PostgreSQL a network round
//! trip), which made a rebuild 20 to 270 times slower than reading the log. A batch now
//! costs a handful of statements whatever its size.

use crate::db::ReadTx;
use crate::projection::TableSpec;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

/// Most bind parameters put in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_BINDS: usize = 30_000;

/// Most keys put in one `IN (...)` list of a load.
const MAX_KEYS_PER_LOAD: usize = 1_000;

/// A value bound into a multi-row statement: every read-model column is TEXT or BIGINT.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::Int(Some(value))
    }
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        Value::Int(value)
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::Text(Some(value))
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(Some(value.to_owned()))
    }
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        Value::Text(value)
    }
}

/// A row of a read-model table: its values in the order of its [`TableSpec`]'s columns.
pub(crate) trait TableRow {
    /// The table.
    const TABLE: &'static TableSpec;
    /// Its values with the column each goes in, in the table's column order. The names
    /// are not written (statements bind by position); they are there so a test can prove
    /// the order (see [`values_in_column_order`]).
    fn into_named_values(self) -> Vec<(&'static str, Value)>;
}

/// Declares a read-model table once: the row struct, one field per column in the table's
/// column order (the order of `CREATE TABLE` and of the digest), and from the same list the
/// [`TableSpec`] and the [`TableRow`] impl. The INSERTs, upserts and SELECTs are built from
/// the spec, so a column is named in exactly one place in Rust (and in the migrations,
/// which a test compares with every spec).
///
/// ```ignore
/// read_model_table! {
///     /// A row of `t`.
///     pub(crate) struct Row as TABLE ("t", key: [tenant_id, id]) {
///         tenant_id: String,
///         id: String,
///         note: Option<String>,
///     }
/// }
/// ```
macro_rules! read_model_table {
    (
        $(#[$meta:meta])*
        $vis:vis struct $row:ident as $spec:ident ($name:literal, key: [$($key:ident),+ $(,)?]) {
            $($(#[$column_meta:meta])* $column:ident: $ty:ty),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
        $vis struct $row {
            $($(#[$column_meta])* pub(crate) $column: $ty,)+
        }

        #[doc = concat!("The table `", $name, "`: its columns are the fields of [`", stringify!($row), "`], in order.")]
        $vis const $spec: $crate::projection::TableSpec = $crate::projection::TableSpec {
            name: $name,
            columns: &[$(stringify!($column)),+],
            key: &[$(stringify!($key)),+],
        };

        impl $crate::rows::TableRow for $row {
            const TABLE: &'static $crate::projection::TableSpec = &$spec;

            fn into_named_values(self) -> Vec<(&'static str, $crate::rows::Value)> {
                vec![$((stringify!($column), self.$column.into())),+]
            }
        }
    };
}
pub(crate) use read_model_table;

/// A row's values, without their names, once checked to follow the table's columns.
fn values_in_column_order<R: TableRow>(row: R) -> Vec<Value> {
    row.into_named_values()
        .into_iter()
        .map(|(_, value)| value)
        .collect()
}

/// The column names a row's values go in, in order: what a test compares with
/// `R::TABLE.columns`.
#[cfg(test)]
pub(crate) fn value_columns<R: TableRow>(row: R) -> Vec<&'static str> {
    row.into_named_values()
        .into_iter()
        .map(|(column, _)| column)
        .collect()
}

/// What a row of the buffer is, relative to the database.
#[derive(Debug)]
enum Slot<R> {
    /// Looked for and not in the database.
    Missing,
    /// As stored; not changed by the batch.
    Stored(R),
    /// Stored before, or not known to be absent, and changed: written back by an upsert.
    Changed(R),
    /// Created by the batch: written by a plain INSERT, so a row stored meanwhile under the
    /// same key is an error rather than overwritten.
    Inserted(R),
}

/// The rows of one table a batch has loaded or written, by key.
#[derive(Debug)]
pub(crate) struct RowBuffer<K, R> {
    slots: BTreeMap<K, Slot<R>>,
}

impl<K: Ord + Clone, R: TableRow> RowBuffer<K, R> {
    pub(crate) fn new() -> Self {
        Self {
            slots: BTreeMap::new(),
        }
    }

    /// Whether the buffer knows nothing of `key` yet (it must be loaded to be read).
    pub(crate) fn is_unknown(&self, key: &K) -> bool {
        !self.slots.contains_key(key)
    }

    /// Records what a load found: rows as stored, and the keys asked for and not found.
    /// A key the batch already holds keeps its batch state, which is newer.
    pub(crate) fn loaded(
        &mut self,
        rows: impl IntoIterator<Item = (K, R)>,
        asked: impl IntoIterator<Item = K>,
    ) {
        for (key, row) in rows {
            self.slots.entry(key).or_insert(Slot::Stored(row));
        }
        for key in asked {
            self.slots.entry(key).or_insert(Slot::Missing);
        }
    }

    /// The row under `key`, if the buffer holds one.
    pub(crate) fn get(&self, key: &K) -> Option<&R> {
        match self.slots.get(key)? {
            Slot::Missing => None,
            Slot::Stored(row) | Slot::Changed(row) | Slot::Inserted(row) => Some(row),
        }
    }

    /// The row under `key` for changing (it is written back at the end of the batch).
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut R> {
        let slot = self.slots.get_mut(key)?;
        *slot = match std::mem::replace(slot, Slot::Missing) {
            Slot::Stored(row) => Slot::Changed(row),
            other => other,
        };
        match slot {
            Slot::Changed(row) | Slot::Inserted(row) => Some(row),
            Slot::Missing | Slot::Stored(_) => None,
        }
    }

    /// Creates a row; `Err` hands it back when the buffer already holds one under `key`.
    pub(crate) fn insert(&mut self, key: K, row: R) -> Result<(), R> {
        match self.slots.entry(key) {
            Entry::Vacant(vacant) => {
                vacant.insert(Slot::Inserted(row));
                Ok(())
            }
            Entry::Occupied(mut occupied) => match occupied.get() {
                Slot::Missing => {
                    occupied.insert(Slot::Inserted(row));
                    Ok(())
                }
                Slot::Stored(_) | Slot::Changed(_) | Slot::Inserted(_) => Err(row),
            },
        }
    }

    /// Sets the row under `key` whatever was there (an upsert).
    pub(crate) fn put(&mut self, key: K, row: R) {
        let slot = match self.slots.get(&key) {
            Some(Slot::Inserted(_)) => Slot::Inserted(row),
            _ => Slot::Changed(row),
        };
        self.slots.insert(key, slot);
    }

    /// Loads the stored rows of `keys`, every column of the table, by `column` (see
    /// [`fetch_in`]): `lookup` gives a key's tenant and the value compared in the `IN` list,
    /// `key_of` a found row's key. Rows found beyond the keys asked for are kept too.
    pub(crate) async fn load(
        &mut self,
        tx: &mut ReadTx,
        column: &str,
        keys: BTreeSet<K>,
        lookup: impl Fn(&K) -> (String, Value),
        key_of: impl Fn(&R) -> K,
    ) -> Result<(), sqlx::Error>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        if keys.is_empty() {
            return Ok(());
        }
        let mut by_tenant: BTreeMap<String, BTreeSet<Value>> = BTreeMap::new();
        for key in &keys {
            let (tenant, value) = lookup(key);
            by_tenant.entry(tenant).or_default().insert(value);
        }
        let by_tenant = by_tenant
            .into_iter()
            .map(|(tenant, values)| (tenant, values.into_iter().collect()))
            .collect();
        let rows: Vec<R> = fetch_in(tx, &R::TABLE.select(), column, by_tenant).await?;
        self.loaded(rows.into_iter().map(|row| (key_of(&row), row)), keys);
        Ok(())
    }

    /// Writes the batch's rows: created ones by INSERT, changed ones by upsert.
    pub(crate) async fn write(self, tx: &mut ReadTx) -> Result<(), sqlx::Error> {
        let mut inserted = Vec::new();
        let mut changed = Vec::new();
        for slot in self.slots.into_values() {
            match slot {
                Slot::Inserted(row) => inserted.push(row),
                Slot::Changed(row) => changed.push(row),
                Slot::Missing | Slot::Stored(_) => {}
            }
        }
        insert_rows(tx, inserted, OnConflict::Fail).await?;
        insert_rows(tx, changed, OnConflict::Replace).await
    }
}

/// What a multi-row INSERT does with a row whose key is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnConflict {
    /// Fail (a unique violation): the batch rolls back.
    Fail,
    /// Replace every other column.
    Replace,
}

/// Inserts rows of a read-model table with as few statements as the bind limit allows.
pub(crate) async fn insert_rows<R: TableRow>(
    tx: &mut ReadTx,
    rows: Vec<R>,
    on_conflict: OnConflict,
) -> Result<(), sqlx::Error> {
    let values = rows.into_iter().map(values_in_column_order).collect();
    insert_values(tx, R::TABLE, values, on_conflict).await
}

/// Inserts `rows` (values in `table`'s column order) with as few statements as the bind
/// limit allows.
pub(crate) async fn insert_values(
    tx: &mut ReadTx,
    table: &TableSpec,
    rows: Vec<Vec<Value>>,
    on_conflict: OnConflict,
) -> Result<(), sqlx::Error> {
    let width = table.columns.len();
    let rows_per_statement = (MAX_BINDS / width).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(rows_per_statement).collect();
        let sql = insert_sql(table, chunk.len(), on_conflict, Placeholders::of(tx));
        execute_values(tx, &sql, chunk.into_iter().flatten()).await?;
    }
    Ok(())
}

/// How a backend spells the bind parameter at 1-based `index`. SQLite gets anonymous `?`:
/// it takes `$N` for a *named* parameter, and looking names up is a linear scan per
/// parameter (measured: 60% of a rebuild's time in `strncmp` and
/// `sqlite3_bind_parameter_name` with 11,500-parameter INSERTs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `?`, numbered by position.
    Anonymous,
    /// `$1`, `$2`, ...
    Numbered,
}

impl Placeholders {
    fn of(tx: &ReadTx) -> Self {
        match tx {
            ReadTx::Sqlite(_) => Placeholders::Anonymous,
            ReadTx::Postgres(_) => Placeholders::Numbered,
        }
    }

    /// Appends `count` parameters, from 1-based `first`, separated by commas.
    fn push(self, sql: &mut String, first: usize, count: usize) {
        for index in first..first + count {
            if index > first {
                sql.push_str(", ");
            }
            match self {
                Placeholders::Anonymous => sql.push('?'),
                Placeholders::Numbered => {
                    sql.push('$');
                    sql.push_str(&index.to_string());
                }
            }
        }
    }
}

/// `INSERT INTO t (..) VALUES ($1, ..), (..) [ON CONFLICT (key) DO UPDATE SET ..]`.
fn insert_sql(
    table: &TableSpec,
    row_count: usize,
    on_conflict: OnConflict,
    placeholders: Placeholders,
) -> String {
    let width = table.columns.len();
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        table.name,
        table.columns.join(", ")
    );
    for row in 0..row_count {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        placeholders.push(&mut sql, row * width + 1, width);
        sql.push(')');
    }
    if on_conflict == OnConflict::Replace {
        let updates: Vec<String> = table
            .columns
            .iter()
            .filter(|column| !table.key.contains(column))
            .map(|column| format!("{column} = excluded.{column}"))
            .collect();
        sql.push_str(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            table.key.join(", "),
            updates.join(", ")
        ));
    }
    sql
}

/// Runs one statement with positional values. Not kept in the statement cache: its text
/// varies with the number of rows.
async fn execute_values(
    tx: &mut ReadTx,
    sql: &str,
    values: impl Iterator<Item = Value>,
) -> Result<u64, sqlx::Error> {
    macro_rules! bound {
        ($tx:expr) => {{
            let mut query = sqlx::query(sql).persistent(false);
            for value in values {
                query = match value {
                    Value::Int(value) => query.bind(value),
                    Value::Text(value) => query.bind(value),
                };
            }
            query
                .execute(&mut **$tx)
                .await
                .map(|done| done.rows_affected())
        }};
    }
    match tx {
        ReadTx::Sqlite(tx) => bound!(tx),
        ReadTx::Postgres(tx) => bound!(tx),
    }
}

/// Fetches the rows `<select> WHERE tenant_id = $1 AND <column> IN (..)` for each tenant
/// and its keys, `MAX_KEYS_PER_LOAD` keys per statement. `select` is the query up to its
/// WHERE, e.g. `SELECT a, b FROM t`.
pub(crate) async fn fetch_in<R>(
    tx: &mut ReadTx,
    select: &str,
    column: &str,
    keys_by_tenant: BTreeMap<String, Vec<Value>>,
) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let mut found = Vec::new();
    for (tenant, keys) in keys_by_tenant {
        for chunk in keys.chunks(MAX_KEYS_PER_LOAD) {
            let placeholders = Placeholders::of(tx);
            let mut sql = format!("{select} WHERE tenant_id = ");
            placeholders.push(&mut sql, 1, 1);
            sql.push_str(&format!(" AND {column} IN ("));
            placeholders.push(&mut sql, 2, chunk.len());
            sql.push(')');
            macro_rules! fetched {
                ($tx:expr) => {{
                    let mut query = sqlx::query_as::<_, R>(&sql)
                        .persistent(false)
                        .bind(tenant.as_str());
                    for value in chunk {
                        query = match value {
                            Value::Int(value) => query.bind(*value),
                            Value::Text(value) => query.bind(value.as_deref()),
                        };
                    }
                    query.fetch_all(&mut **$tx).await?
                }};
            }
            let rows = match tx {
                ReadTx::Sqlite(tx) => fetched!(tx),
                ReadTx::Postgres(tx) => fetched!(tx),
            };
            found.extend(rows);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: TableSpec = TableSpec {
        name: "t",
        columns: &["tenant_id", "id", "a", "b"],
        key: &["tenant_id", "id"],
    };

    #[test]
    fn a_multi_row_insert_numbers_its_placeholders_row_after_row() {
        assert_eq!(
            insert_sql(&TABLE, 2, OnConflict::Fail, Placeholders::Numbered),
            "INSERT INTO t (tenant_id, id, a, b) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)"
        );
        assert_eq!(
            insert_sql(&TABLE, 2, OnConflict::Fail, Placeholders::Anonymous),
            "INSERT INTO t (tenant_id, id, a, b) VALUES (?, ?, ?, ?), (?, ?, ?, ?)"
        );
    }

    #[test]
    fn an_upsert_replaces_every_column_but_the_key() {
        assert_eq!(
            insert_sql(&TABLE, 1, OnConflict::Replace, Placeholders::Numbered),
            "INSERT INTO t (tenant_id, id, a, b) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, id) DO UPDATE SET a = excluded.a, b = excluded.b"
        );
    }

    struct Row(i64);

    impl TableRow for Row {
        const TABLE: &'static TableSpec = &TABLE;
        fn into_named_values(self) -> Vec<(&'static str, Value)> {
            vec![("a", self.0.into())]
        }
    }

    read_model_table! {
        /// A row of a table declared for this test.
        struct Declared as DECLARED ("declared", key: [tenant_id, id]) {
            tenant_id: String,
            id: i64,
            /// A column with its own doc.
            note: Option<String>,
        }
    }

    #[test]
    fn a_declared_table_takes_its_columns_and_key_from_the_row_s_fields() {
        assert_eq!(DECLARED.name, "declared");
        assert_eq!(DECLARED.columns, ["tenant_id", "id", "note"]);
        assert_eq!(DECLARED.key, ["tenant_id", "id"]);
    }

    #[test]
    fn a_declared_row_gives_its_values_in_the_declared_column_order() {
        let row = Declared {
            tenant_id: "t".to_owned(),
            id: 7,
            note: None,
        };
        assert_eq!(value_columns(row.clone()), DECLARED.columns);
        assert_eq!(
            values_in_column_order(row),
            [Value::from("t"), Value::from(7), Value::Text(None)]
        );
    }

    #[test]
    fn a_row_created_twice_in_a_batch_is_refused() {
        let mut buffer = RowBuffer::new();
        assert!(buffer.insert(1, Row(1)).is_ok());
        assert!(buffer.insert(1, Row(2)).is_err());
    }

    #[test]
    fn a_key_found_missing_can_be_created_and_a_stored_one_cannot() {
        let mut buffer = RowBuffer::new();
        buffer.loaded([(2, Row(2))], [1, 2]);
        assert!(buffer.get(&1).is_none());
        assert!(buffer.insert(1, Row(1)).is_ok());
        assert!(buffer.insert(2, Row(3)).is_err());
        assert_eq!(buffer.get(&2).map(|row| row.0), Some(2));
    }

    #[test]
    fn a_load_never_overwrites_what_the_batch_wrote() {
        let mut buffer = RowBuffer::new();
        buffer.put(1, Row(10));
        buffer.loaded([(1, Row(1))], [1]);
        assert_eq!(buffer.get(&1).map(|row| row.0), Some(10));
    }

    #[test]
    fn changing_a_stored_row_marks_it_for_writing() {
        let mut buffer = RowBuffer::new();
        buffer.loaded([(1, Row(1))], []);
        if let Some(row) = buffer.get_mut(&1) {
            row.0 = 5;
        }
        assert!(matches!(buffer.slots.get(&1), Some(Slot::Changed(Row(5)))));
        assert!(buffer.get_mut(&9).is_none());
    }
}
