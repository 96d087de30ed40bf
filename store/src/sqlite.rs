//! The embedded SQLite backend: one file, WAL, `synchronous=FULL`, one writer.
//!
//! SQLite allows one writer at a time, so appends go through a pool of exactly one
//! connection and start with `BEGIN IMMEDIATE` (taking the write lock up front instead of
//! failing with SQLITE_BUSY half-way). Because commits are serialised, global positions are
//! assigned in commit order and a reader can never see a later position before an earlier
//! one: `read_all` simply follows `global_position`.
//!
//! **Group commit.** Appends are handed to one committer task, which writes the appends
//! waiting for it (up to [`MAX_GROUP`]) in one transaction, each inside its own savepoint,
//! and commits them with one fsync. An append that fails (a wrong expected revision, a claim
//! held) is rolled back to its savepoint alone; the others commit. Each caller is answered
//! after the commit, so an acknowledged append is on disk as before. The appends of a group
//! run one after the other, exactly as if they had been committed one by one in that order
//! (a later one sees the streams, claims and commands of the earlier ones).

use crate::EventStore;
use crate::chain::{self, ChainContext, StreamHeadState};
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::queries::SharedQueries;
use crate::rows::{self, StoredEvent, to_i64, to_u64};
use crate::types::{
    AppendRequest, AppendResult, Position, RecordedEvent, StreamAppended, StreamHead,
};
use event_schemas::TenantId;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, SqliteConnection};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

/// The event columns under [`StoredEvent`]'s names, as a literal so queries are `concat!`ed
/// at compile time. SQLite has no transaction ids: a position is the global position alone.
macro_rules! event_columns {
    () => {
        "global_position, NULL AS transaction_id_text, event_id, tenant_id, stream_id, \
         stream_revision, recorded_at_micros AS recorded_at, event_type, schema_version, \
         payload, command_id, correlation_id, causation_id, actor_kind, actor_id, actor_name, \
         channel, outlet_id, previous_hash, hash"
    };
}

/// SQLite's column types: ids as hyphenated text (readable in any SQLite tool), the
/// recording time as microseconds since the epoch, positions as the global position alone
/// (commits are serialised, so position order is commit order).
impl Dialect for Sqlite {
    const EVENT_COLUMNS: &'static str = event_columns!();
    type Id = String;
    type Time = i64;

    fn id(id: Uuid) -> String {
        id.to_string()
    }

    fn uuid(column: &str, stored: String) -> Result<Uuid, String> {
        Uuid::parse_str(&stored).map_err(|_| format!("{column} is not a UUID: {stored:?}"))
    }

    fn time(micros: i64) -> Result<time::OffsetDateTime, String> {
        chain::micros_to_time(micros)
    }

    fn position(global_position: i64, _: Option<&str>) -> Result<Position, StoreError> {
        let position = to_u64(global_position);
        Ok(Position {
            commit: position,
            prepare: position,
        })
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// Most appends committed in one transaction.
pub const MAX_GROUP: usize = 64;

/// Appends waiting for the committer before callers wait to hand theirs over.
const QUEUE_DEPTH: usize = 1_024;

/// The SQLite event store. Cheap to clone: clones share the pools and the committer.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
    wake: Arc<watch::Sender<u64>>,
    appends: mpsc::Sender<PendingAppend>,
}

/// An append handed to the committer, and where its outcome goes.
struct PendingAppend {
    request: AppendRequest,
    reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// The committer ended (the runtime is shutting down): the append was not made.
fn committer_gone() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

/// A group's transaction failed as a whole (BEGIN or COMMIT): every append of it fails.
fn group_failed(error: &sqlx::Error) -> StoreError {
    StoreError::Database(sqlx::Error::Io(std::io::Error::other(format!(
        "the transaction committing this append failed: {error}"
    ))))
}

/// Takes the appends handed over, as many as are waiting (up to [`MAX_GROUP`]) per
/// transaction, until every store handle is dropped.
async fn commit_appends(
    writer: SqlitePool,
    wake: Arc<watch::Sender<u64>>,
    mut queue: mpsc::Receiver<PendingAppend>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let requests: Vec<&AppendRequest> = group.iter().map(|append| &append.request).collect();
        let outcomes = commit_group(&writer, &requests).await;
        let written = outcomes
            .iter()
            .any(|outcome| matches!(outcome, Ok(result) if !result.deduplicated));
        if written {
            wake.send_modify(|tick| *tick = tick.wrapping_add(1));
        }
        for (append, outcome) in group.drain(..).zip(outcomes) {
            // A caller that stopped waiting does not need its answer.
            let _ = append.reply.send(outcome);
        }
    }
}

/// Writes `requests` in one transaction, each in a savepoint when there are several;
/// their outcomes, in order, as they stand after the commit.
async fn commit_group(
    writer: &SqlitePool,
    requests: &[&AppendRequest],
) -> Vec<Result<AppendResult, StoreError>> {
    let failed_all =
        |error: sqlx::Error| requests.iter().map(|_| Err(group_failed(&error))).collect();
    let mut tx = match writer.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(error) => return failed_all(error),
    };
    let mut outcomes = Vec::with_capacity(requests.len());
    if let [request] = requests {
        // Alone: no savepoint needed, a failure rolls the whole transaction back.
        let outcome = append_one(&mut tx, request).await;
        if outcome.is_err() {
            let _ = tx.rollback().await;
            return vec![outcome];
        }
        outcomes.push(outcome);
    } else {
        for request in requests {
            let outcome = match tx.begin().await {
                Ok(mut savepoint) => {
                    let outcome = append_one(&mut savepoint, request).await;
                    let ended = if outcome.is_ok() {
                        savepoint.commit().await
                    } else {
                        savepoint.rollback().await
                    };
                    match ended {
                        Ok(()) => outcome,
                        Err(error) => return failed_all(error),
                    }
                }
                Err(error) => return failed_all(error),
            };
            outcomes.push(outcome);
        }
    }
    match tx.commit().await {
        Ok(()) => outcomes,
        Err(error) => failed_all(error),
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://PATH`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before the append is acknowledged (guarantee 2).
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        let (wake, _) = watch::channel(0);
        let wake = Arc::new(wake);
        let (appends, queue) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(commit_appends(writer.clone(), wake.clone(), queue));
        Ok(Self {
            writer,
            readers,
            wake,
            appends,
        })
    }

    /// The connection pool used for reads, for read models kept in the same file.
    pub fn read_pool(&self) -> &SqlitePool {
        &self.readers
    }

    /// The single writer connection's pool, for read models that must commit with it.
    pub fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// Closes both pools.
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }

    /// The highest global position ever assigned to an event (SQLite's `AUTOINCREMENT`
    /// counter), or None when nothing was ever appended.
    ///
    /// Unlike [`EventStore::head_position`] it does not move back when the log's last events
    /// are deleted behind the store's back: a rolled-back transaction gives its numbers back
    /// but a deleted row does not, so every position up to it belongs to an event unless one
    /// was removed. That is what `replay verify` checks the end of the log against.
    pub async fn highest_assigned_position(&self) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
                .fetch_optional(&self.readers)
                .await?;
        Ok(seq.and_then(|seq| u64::try_from(seq).ok()))
    }
}

/// Writes one append in the open transaction `conn`: its events, stream heads, claims and
/// command row, or (a command seen before) nothing, answering its stored result.
async fn append_one(
    conn: &mut SqliteConnection,
    request: &AppendRequest,
) -> Result<AppendResult, StoreError> {
    let tenant = request.tenant_id.0.to_string();
    let command_id = request.metadata.command_id.0.to_string();
    let metadata = &request.metadata;
    let stored = Sqlite::stored_result(&mut *conn, request.tenant_id.0, metadata.command_id.0);
    if let Some(result) = stored.await? {
        return Ok(result);
    }
    let recorded_at_micros = chain::now_micros();
    let mut streams = Vec::with_capacity(request.writes.len());
    let mut last_position = 0_i64;
    for write in &request.writes {
        let head = Sqlite::stream_head(&mut *conn, request.tenant_id, &write.stream_id).await?;
        let head = head.map_or_else(StreamHeadState::new_stream, |head| StreamHeadState {
            revision: Some(head.revision),
            last_hash: head.last_hash,
        });
        chain::check_expected(&write.stream_id, write.expected_revision, head.revision)?;
        let context = ChainContext {
            tenant_id: request.tenant_id,
            stream_id: &write.stream_id,
            metadata,
            recorded_at_micros,
        };
        let prepared = chain::prepare(&context, &head, &write.events);
        for event in &prepared {
            last_position = sqlx::query_scalar(
                "INSERT INTO events (event_id, tenant_id, stream_id, stream_revision, \
                     recorded_at_micros, event_type, schema_version, payload, command_id, \
                     correlation_id, causation_id, actor_kind, actor_id, actor_name, channel, \
                     outlet_id, previous_hash, hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                     ?16, ?17, ?18) RETURNING global_position",
            )
            .bind(event.event_id.to_string())
            .bind(&tenant)
            .bind(&write.stream_id)
            .bind(to_i64(event.stream_revision))
            .bind(recorded_at_micros)
            .bind(&event.event_type)
            .bind(i64::from(event.schema_version))
            .bind(&event.payload_text)
            .bind(&command_id)
            .bind(metadata.correlation_id.to_string())
            .bind(metadata.causation_id.map(|id| id.to_string()))
            .bind(metadata.actor.kind.code())
            .bind(&metadata.actor.id)
            .bind(&metadata.actor.display_name)
            .bind(metadata.channel.code())
            .bind(metadata.outlet_id.map(|id| id.0.to_string()))
            .bind(&event.previous_hash)
            .bind(&event.hash)
            .fetch_one(&mut *conn)
            .await?;
        }
        let (first, last) = match (prepared.first(), prepared.last()) {
            (Some(first), Some(last)) => (first, last),
            _ => return Err(StoreError::InvalidRequest("no events".into())),
        };
        sqlx::query(
            "INSERT INTO streams (tenant_id, stream_id, revision, last_hash) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, stream_id) \
                 DO UPDATE SET revision = excluded.revision, last_hash = excluded.last_hash",
        )
        .bind(&tenant)
        .bind(&write.stream_id)
        .bind(to_i64(last.stream_revision))
        .bind(&last.hash)
        .execute(&mut *conn)
        .await?;
        streams.push(StreamAppended {
            stream_id: write.stream_id.clone(),
            first_revision: first.stream_revision,
            last_revision: last.stream_revision,
        });
    }
    Sqlite::apply_claims(conn, request.tenant_id.0, &request.claims).await?;
    let position = to_u64(last_position);
    let result = AppendResult {
        streams,
        position: Position {
            commit: position,
            prepare: position,
        },
        deduplicated: false,
    };
    let result_text = serde_json::to_string(&result)
        .map_err(|error| StoreError::InvalidRequest(error.to_string()))?;
    sqlx::query(
        "INSERT INTO commands (tenant_id, command_id, result, recorded_at_micros) \
             VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(&tenant)
    .bind(&command_id)
    .bind(result_text)
    .bind(recorded_at_micros)
    .execute(&mut *conn)
    .await?;
    Ok(result)
}

impl EventStore for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("./migrations/sqlite");
        // The read models' migrations (projections crate) share this database's table.
        migrator.set_ignore_missing(true);
        migrator.run(&self.writer).await?;
        Ok(())
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        chain::validate(&request)?;
        let (reply, outcome) = oneshot::channel();
        self.appends
            .send(PendingAppend { request, reply })
            .await
            .map_err(|_| committer_gone())?;
        outcome.await.map_err(|_| committer_gone())?
    }

    async fn read_stream(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        Sqlite::read_stream(
            &self.readers,
            tenant_id,
            stream_id,
            from_revision,
            max_count,
        )
        .await
    }

    async fn stream_head(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
    ) -> Result<Option<StreamHead>, StoreError> {
        Sqlite::stream_head(&self.readers, tenant_id, stream_id).await
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows: Vec<StoredEvent<Sqlite>> = sqlx::query_as(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE global_position > ?1 ORDER BY global_position LIMIT ?2"
        ))
        .bind(to_i64(after.prepare))
        .bind(i64::try_from(max_count).unwrap_or(i64::MAX))
        .fetch_all(&self.readers)
        .await?;
        rows::into_recorded(rows)
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        // Commits are serialised and positions only grow: the largest is read_all's last.
        let last: Option<i64> = sqlx::query_scalar("SELECT max(global_position) FROM events")
            .fetch_one(&self.readers)
            .await?;
        last.map_or(Ok(Position::START), |last| Sqlite::position(last, None))
    }

    async fn count_after(&self, after: Position) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM events WHERE global_position > ?1")
                .bind(to_i64(after.prepare))
                .fetch_one(&self.readers)
                .await?;
        Ok(to_u64(count))
    }

    async fn list_streams(
        &self,
        tenant_id: Option<TenantId>,
    ) -> Result<Vec<StreamHead>, StoreError> {
        let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT tenant_id, stream_id, revision, last_hash FROM streams \
             WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY tenant_id, stream_id",
        )
        .bind(tenant_id.map(|id| id.0.to_string()))
        .fetch_all(&self.readers)
        .await?;
        rows.into_iter()
            .map(|(tenant, stream_id, revision, last_hash)| {
                let tenant = Uuid::parse_str(&tenant).map_err(|_| StoreError::CorruptEvent {
                    global_position: 0,
                    reason: format!("stream {stream_id} has a malformed tenant id {tenant:?}"),
                })?;
                Ok(StreamHead {
                    tenant_id: TenantId(tenant),
                    stream_id,
                    revision: to_u64(revision),
                    last_hash,
                })
            })
            .collect()
    }

    async fn claim_holder(
        &self,
        tenant_id: TenantId,
        scope: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        Sqlite::claim_holder(&self.readers, tenant_id.0, scope, key).await
    }

    fn wakeups(&self) -> watch::Receiver<u64> {
        self.wake.subscribe()
    }
}
