//! The PostgreSQL backend: many API instances, one log.
//!
//! Concurrency: an append takes all its locks before it writes an event, each kind in one
//! fixed order so that two appends cannot deadlock:
//!
//! 1. the claim keys it takes or releases, as transaction-scoped advisory locks
//!    (`pg_advisory_xact_lock`), all in one statement, in key order. Advisory locks give the
//!    transaction no id, so an append taking a key that another is releasing gets its id (its
//!    place in the log) only after the releaser has committed;
//! 2. the head row of each stream it writes, in stream-id order, one statement per stream: a
//!    no-op upsert (`INSERT .. ON CONFLICT DO UPDATE`) that locks the row, waiting for a
//!    concurrent writer of the stream to finish, and returns the committed head and whether
//!    this transaction is newer than its last writer. For a new stream it inserts a
//!    placeholder head (revision -1, replaced before the append commits) to lock instead.
//!
//! It then checks each expected revision against the locked head and writes. A second writer
//! at the same revision waits for the head's row lock, then sees the new revision and fails
//! with a conflict.
//!
//! Gap-free reading (guarantee 4): global positions come from an identity column, so a
//! transaction that took position 10 may commit after one that took 11. Each row also stores
//! the id of the transaction that wrote it (`xid8`); readers order by (transaction id,
//! position) and only read rows whose transaction id is below the oldest transaction still
//! running (`pg_snapshot_xmin`), so every row they could still miss is in the future of their
//! cursor, never behind it. This is the technique Emmett uses.
//!
//! Ordering by transaction id must also keep each stream's revisions in order. A transaction
//! gets its id when it first writes or locks, which can be before it wins a stream's lock:
//! an older transaction could then write revisions after a newer one's. So each head records
//! the id of its last writer, and an append whose id is older retries in a new transaction
//! (whose id is then newer than every committed writer's).

use crate::EventStore;
use crate::chain::{self, ChainContext, StreamHeadState};
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::queries::SharedQueries;
use crate::rows::{self, StoredEvent, to_i64, to_u64};
use crate::types::{
    AppendRequest, AppendResult, Position, RecordedEvent, StreamAppended, StreamHead,
};
use event_schemas::{GENESIS_HASH, TenantId};
use sqlx::Postgres;
use sqlx::postgres::{PgPool, PgPoolOptions, PgQueryResult};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

/// The event columns under [`StoredEvent`]'s names, as a literal so queries are `concat!`ed
/// at compile time.
///
/// The transaction id is read as text under another name: PostgreSQL resolves a bare name in
/// ORDER BY to an output column first, so `AS transaction_id` would sort by the text (where
/// "100000" < "99999") and break the log order whenever xids cross a power of ten. The schema
/// version (`integer`) is widened to the `bigint` both backends read.
macro_rules! event_columns {
    () => {
        "global_position, transaction_id::text AS transaction_id_text, event_id, tenant_id, \
         stream_id, stream_revision, recorded_at, event_type, \
         schema_version::bigint AS schema_version, payload, command_id, correlation_id, \
         causation_id, actor_kind, actor_id, actor_name, channel, outlet_id, previous_hash, hash"
    };
}

/// PostgreSQL's column types: `uuid` ids, `timestamptz` recording times, and positions that
/// carry the writing transaction's id (the log is ordered by it; see the module doc).
impl Dialect for Postgres {
    const EVENT_COLUMNS: &'static str = event_columns!();
    type Id = Uuid;
    type Time = OffsetDateTime;

    fn id(id: Uuid) -> Uuid {
        id
    }

    fn uuid(_: &str, stored: Uuid) -> Result<Uuid, String> {
        Ok(stored)
    }

    fn time(stored: OffsetDateTime) -> Result<OffsetDateTime, String> {
        Ok(stored)
    }

    fn position(
        global_position: i64,
        transaction_id: Option<&str>,
    ) -> Result<Position, StoreError> {
        let Some(transaction_id) = transaction_id else {
            return Err(StoreError::CorruptEvent {
                global_position: to_u64(global_position),
                reason: "no transaction id was read with the event".into(),
            });
        };
        Ok(Position {
            commit: parse_xid(transaction_id, global_position)?,
            prepare: to_u64(global_position),
        })
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// The PostgreSQL event store. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    wake: Arc<watch::Sender<u64>>,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://USER@HOST:PORT/DB`).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        let (wake, _) = watch::channel(0);
        Ok(Self {
            pool,
            wake: Arc::new(wake),
        })
    }

    /// The connection pool, for read models kept in the same database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// One attempt; `Ok(None)` means "retry in a new transaction" (see the module doc).
    async fn try_append(
        &self,
        request: &AppendRequest,
    ) -> Result<Option<AppendResult>, StoreError> {
        let tenant = request.tenant_id.0;
        let command_id = request.metadata.command_id.0;
        let metadata = &request.metadata;
        let mut tx = self.pool.begin().await?;
        if let Some(result) = Postgres::stored_result(&mut *tx, tenant, command_id).await? {
            tx.rollback().await?;
            return Ok(Some(result));
        }

        // Claims hand a key from one stream to another (a serial released by one sale and
        // taken by another): the taker must come after the releaser in the log, so it must
        // get its transaction id after the releaser commits. Lock every key this append
        // takes or releases before anything gives this transaction an id (the head locks
        // below do); advisory locks assign none. Regression test: `tests/it/no_skip.rs`,
        // `postgres_a_key_handed_between_streams_is_released_before_it_is_taken_in_log_order`.
        let mut claim_keys: Vec<String> = request
            .claims
            .iter()
            .map(|claim| format!("{tenant}/{}/{}", claim.scope, claim.key))
            .collect();
        claim_keys.sort_unstable();
        claim_keys.dedup();
        if !claim_keys.is_empty() {
            // One round trip for all keys, taken in the array's (sorted) order: volatile
            // functions in a select list are evaluated after its ORDER BY.
            sqlx::query(
                "SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) \
                 FROM unnest($1::text[]) WITH ORDINALITY AS keys(key, n) ORDER BY n",
            )
            .bind(&claim_keys)
            .execute(&mut *tx)
            .await?;
        }

        // Lock every head first, in one fixed order, so that two appends touching the same
        // streams cannot deadlock.
        let mut lock_order: Vec<&str> = request
            .writes
            .iter()
            .map(|w| w.stream_id.as_str())
            .collect();
        lock_order.sort_unstable();
        let mut heads = HashMap::with_capacity(lock_order.len());
        for stream_id in lock_order {
            // A placeholder head (revision -1) makes a new stream lockable; it only survives
            // if this transaction commits, by which time it holds the real head. An existing
            // head is locked by the no-op update (which, like `SELECT .. FOR UPDATE`, waits
            // for a concurrent writer and then answers its committed head): one round trip
            // instead of an insert and a select.
            let (revision, last_hash, newer_than_last_writer): (i64, String, bool) =
                sqlx::query_as(
                    "INSERT INTO streams (tenant_id, stream_id, revision, last_hash) \
                     VALUES ($1, $2, -1, $3) ON CONFLICT (tenant_id, stream_id) \
                     DO UPDATE SET revision = streams.revision \
                     RETURNING revision, last_hash, pg_current_xact_id() > last_transaction_id",
                )
                .bind(tenant)
                .bind(stream_id)
                .bind(GENESIS_HASH)
                .fetch_one(&mut *tx)
                .await?;
            if !newer_than_last_writer {
                tx.rollback().await?;
                return Ok(None);
            }
            let head = if revision < 0 {
                StreamHeadState::new_stream()
            } else {
                StreamHeadState {
                    revision: Some(to_u64(revision)),
                    last_hash,
                }
            };
            heads.insert(stream_id, head);
        }

        let recorded_at_micros = chain::now_micros();
        let recorded_at =
            chain::micros_to_time(recorded_at_micros).map_err(StoreError::InvalidRequest)?;
        let mut streams = Vec::with_capacity(request.writes.len());
        let mut position = Position::START;
        for write in &request.writes {
            let head = heads
                .remove(write.stream_id.as_str())
                .unwrap_or_else(StreamHeadState::new_stream);
            chain::check_expected(&write.stream_id, write.expected_revision, head.revision)?;
            let context = ChainContext {
                tenant_id: request.tenant_id,
                stream_id: &write.stream_id,
                metadata,
                recorded_at_micros,
            };
            let prepared = chain::prepare(&context, &head, &write.events);
            for event in &prepared {
                let (global_position, transaction_id): (i64, String) = sqlx::query_as(
                    "INSERT INTO events (event_id, tenant_id, stream_id, stream_revision, \
                     recorded_at, event_type, schema_version, payload, command_id, \
                     correlation_id, causation_id, actor_kind, actor_id, actor_name, channel, \
                     outlet_id, previous_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                     $16, $17, $18) RETURNING global_position, transaction_id::text",
                )
                .bind(event.event_id)
                .bind(tenant)
                .bind(&write.stream_id)
                .bind(to_i64(event.stream_revision))
                .bind(recorded_at)
                .bind(&event.event_type)
                .bind(i32::try_from(event.schema_version).unwrap_or(i32::MAX))
                .bind(&event.payload_text)
                .bind(command_id)
                .bind(metadata.correlation_id)
                .bind(metadata.causation_id)
                .bind(metadata.actor.kind.code())
                .bind(&metadata.actor.id)
                .bind(&metadata.actor.display_name)
                .bind(metadata.channel.code())
                .bind(metadata.outlet_id.map(|id| id.0))
                .bind(&event.previous_hash)
                .bind(&event.hash)
                .fetch_one(&mut *tx)
                .await?;
                position = Position {
                    commit: parse_xid(&transaction_id, global_position)?,
                    prepare: to_u64(global_position),
                };
            }
            let (first, last) = match (prepared.first(), prepared.last()) {
                (Some(first), Some(last)) => (first, last),
                _ => return Err(StoreError::InvalidRequest("no events".into())),
            };
            sqlx::query(
                "UPDATE streams SET revision = $3, last_hash = $4, \
                 last_transaction_id = pg_current_xact_id() \
                 WHERE tenant_id = $1 AND stream_id = $2",
            )
            .bind(tenant)
            .bind(&write.stream_id)
            .bind(to_i64(last.stream_revision))
            .bind(&last.hash)
            .execute(&mut *tx)
            .await?;
            streams.push(StreamAppended {
                stream_id: write.stream_id.clone(),
                first_revision: first.stream_revision,
                last_revision: last.stream_revision,
            });
        }
        Postgres::apply_claims(&mut *tx, tenant, &request.claims).await?;
        let result = AppendResult {
            streams,
            position,
            deduplicated: false,
        };
        let result_text = serde_json::to_string(&result)
            .map_err(|error| StoreError::InvalidRequest(error.to_string()))?;
        // A plain insert: if the same command commits concurrently, this fails with a unique
        // violation and `append` answers with the winner's result.
        sqlx::query(
            "INSERT INTO commands (tenant_id, command_id, result, recorded_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(tenant)
        .bind(command_id)
        .bind(result_text)
        .bind(recorded_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(result))
    }
}

/// Attempts before giving up on an append that keeps losing to newer writers (each retry
/// starts a new transaction, whose id is newer than every writer committed so far, so a
/// second attempt practically always succeeds).
const MAX_ATTEMPTS: usize = 20;

fn parse_xid(text: &str, global_position: i64) -> Result<u64, StoreError> {
    text.parse().map_err(|_| StoreError::CorruptEvent {
        global_position: to_u64(global_position),
        reason: format!("transaction id {text:?} is not a number"),
    })
}

/// Whether a failed append may have lost a race against the same command.
fn may_be_duplicate(error: &StoreError) -> bool {
    match error {
        StoreError::WrongExpectedRevision { .. } | StoreError::ClaimConflict { .. } => true,
        StoreError::Database(sqlx::Error::Database(db)) => db.is_unique_violation(),
        _ => false,
    }
}

impl EventStore for PostgresStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("./migrations/postgres");
        // The read models' migrations (projections crate) share this database's table.
        migrator.set_ignore_missing(true);
        migrator.run(&self.pool).await?;
        Ok(())
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        chain::validate(&request)?;
        let mut attempt = self.try_append(&request).await;
        for _ in 1..MAX_ATTEMPTS {
            if !matches!(attempt, Ok(None)) {
                break;
            }
            attempt = self.try_append(&request).await;
        }
        match attempt {
            Ok(None) => Err(StoreError::Contention(format!(
                "gave up after {MAX_ATTEMPTS} attempts to order the append after newer writers"
            ))),
            Ok(Some(result)) => {
                if !result.deduplicated {
                    self.wake.send_modify(|tick| *tick = tick.wrapping_add(1));
                }
                Ok(result)
            }
            Err(error) if may_be_duplicate(&error) => {
                // The same command may have committed while we waited: its result wins.
                let stored = Postgres::stored_result(
                    &self.pool,
                    request.tenant_id.0,
                    request.metadata.command_id.0,
                )
                .await?;
                stored.ok_or(error)
            }
            Err(error) => Err(error),
        }
    }

    async fn read_stream(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        Postgres::read_stream(&self.pool, tenant_id, stream_id, from_revision, max_count).await
    }

    async fn stream_head(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
    ) -> Result<Option<StreamHead>, StoreError> {
        Postgres::stream_head(&self.pool, tenant_id, stream_id).await
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows: Vec<StoredEvent<Postgres>> = sqlx::query_as(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events \
             WHERE (transaction_id, global_position) > ($1::text::xid8, $2) \
               AND transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY events.transaction_id, events.global_position LIMIT $3"
        ))
        .bind(after.commit.to_string())
        .bind(to_i64(after.prepare))
        .bind(i64::try_from(max_count).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows::into_recorded(rows)
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        // The last event read_all can return now: the last in (transaction id, position)
        // order below the oldest running transaction. Events committed above that horizon
        // stay after the head, because a transaction still running below them may yet commit
        // events that come before them; a reader starting at the head gets both. The xid is
        // read under another name and the sort columns are qualified, as in `event_columns!`.
        let last: Option<(i64, String)> = sqlx::query_as(
            "SELECT global_position, transaction_id::text AS transaction_id_text FROM events \
             WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY events.transaction_id DESC, events.global_position DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        last.map_or(Ok(Position::START), |(global_position, transaction_id)| {
            Postgres::position(global_position, Some(&transaction_id))
        })
    }

    async fn count_after(&self, after: Position) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events \
             WHERE (transaction_id, global_position) > ($1::text::xid8, $2) \
               AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
        )
        .bind(after.commit.to_string())
        .bind(to_i64(after.prepare))
        .fetch_one(&self.pool)
        .await?;
        Ok(to_u64(count))
    }

    async fn list_streams(
        &self,
        tenant_id: Option<TenantId>,
    ) -> Result<Vec<StreamHead>, StoreError> {
        let rows: Vec<(Uuid, String, i64, String)> = sqlx::query_as(
            "SELECT tenant_id, stream_id, revision, last_hash FROM streams \
             WHERE ($1::uuid IS NULL OR tenant_id = $1) AND revision >= 0 \
             ORDER BY tenant_id, stream_id",
        )
        .bind(tenant_id.map(|id| id.0))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tenant, stream_id, revision, last_hash)| StreamHead {
                tenant_id: TenantId(tenant),
                stream_id,
                revision: to_u64(revision),
                last_hash,
            })
            .collect())
    }

    async fn claim_holder(
        &self,
        tenant_id: TenantId,
        scope: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        Postgres::claim_holder(&self.pool, tenant_id.0, scope, key).await
    }

    fn wakeups(&self) -> watch::Receiver<u64> {
        self.wake.subscribe()
    }
}
