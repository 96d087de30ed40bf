//! The queries both backends run with the same SQL text, and the logic around them, written
//! once: a command's stored result, a stream's head, a key's holder, a stream's events, and
//! applying an append's claims.
//!
//! The text can be shared because SQLite and PostgreSQL parse these statements alike: `$N`
//! placeholders (sqlx's SQLite driver binds `$N` by its number, as PostgreSQL does), no
//! casts, no backend functions. The types bound and read back differ, and each backend's
//! [`Dialect`] says how.
//!
//! What decides concurrency stays in each backend's module and is not here: SQLite's group
//! commit, PostgreSQL's advisory locks, head locks and transaction-id ordering, and each
//! backend's `read_all` visibility rule. The functions here run inside whatever transaction
//! (or on whatever pool) the backend hands them.

use crate::chain;
use crate::dialect::Dialect;
use crate::error::StoreError;
use crate::rows::{self, StoredEvent, to_i64, to_u64};
use crate::types::{AppendResult, ClaimChange, RecordedEvent, StreamHead};
use event_schemas::TenantId;
use futures::future::BoxFuture;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Postgres, Sqlite, Type};
use uuid::Uuid;

/// The queries shared by the backends. Implemented for both below; the `where` clause is
/// what sqlx needs to run the same text on either (it holds for both, and sqlx cannot state
/// it once for every database).
///
/// The methods return boxed futures rather than being `async fn`: with sqlx's higher-ranked
/// executor bounds, rustc cannot yet prove an `async fn`'s future `Send` where the backends
/// call it (rust-lang/rust#100013). sqlx boxes each query's future anyway.
pub(crate) trait SharedQueries: Dialect
where
    for<'c> &'c mut Self::Connection: Executor<'c, Database = Self>,
    for<'q> Self::Arguments<'q>: IntoArguments<'q, Self>,
    for<'q> &'q str: Encode<'q, Self> + Type<Self>,
    for<'q> String: Encode<'q, Self> + Decode<'q, Self> + Type<Self>,
    for<'q> i64: Encode<'q, Self> + Decode<'q, Self> + Type<Self>,
    for<'r> StoredEvent<Self>: sqlx::FromRow<'r, Self::Row>,
    usize: ColumnIndex<Self::Row>,
{
    /// The result of `command_id` if it was applied before, marked as deduplicated.
    fn stored_result<'e>(
        executor: impl Executor<'e, Database = Self> + 'e,
        tenant_id: Uuid,
        command_id: Uuid,
    ) -> BoxFuture<'e, Result<Option<AppendResult>, StoreError>> {
        Box::pin(async move {
            let stored: Option<String> = sqlx::query_scalar(
                "SELECT result FROM commands WHERE tenant_id = $1 AND command_id = $2",
            )
            .bind(Self::id(tenant_id))
            .bind(Self::id(command_id))
            .fetch_optional(executor)
            .await?;
            stored.as_deref().map(chain::stored_result).transpose()
        })
    }

    /// A stream's head, or None when the stream does not exist. A negative revision is
    /// PostgreSQL's placeholder head, which an append creates to lock a new stream and
    /// replaces before it commits; no SQLite head has one.
    fn stream_head<'e>(
        executor: impl Executor<'e, Database = Self> + 'e,
        tenant_id: TenantId,
        stream_id: &'e str,
    ) -> BoxFuture<'e, Result<Option<StreamHead>, StoreError>> {
        Box::pin(async move {
            let head: Option<(i64, String)> = sqlx::query_as(
                "SELECT revision, last_hash FROM streams \
                 WHERE tenant_id = $1 AND stream_id = $2 AND revision >= 0",
            )
            .bind(Self::id(tenant_id.0))
            .bind(stream_id)
            .fetch_optional(executor)
            .await?;
            Ok(head.map(|(revision, last_hash)| StreamHead {
                tenant_id,
                stream_id: stream_id.to_owned(),
                revision: to_u64(revision),
                last_hash,
            }))
        })
    }

    /// Who holds a key, if anyone.
    fn claim_holder<'e>(
        executor: impl Executor<'e, Database = Self> + 'e,
        tenant_id: Uuid,
        scope: &'e str,
        key: &'e str,
    ) -> BoxFuture<'e, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar(
                "SELECT owner FROM claims WHERE tenant_id = $1 AND scope = $2 AND claim_key = $3",
            )
            .bind(Self::id(tenant_id))
            .bind(scope)
            .bind(key)
            .fetch_optional(executor)
            .await?)
        })
    }

    /// Up to `max_count` events of a stream from `from_revision` on, in revision order.
    fn read_stream<'e>(
        executor: impl Executor<'e, Database = Self> + 'e,
        tenant_id: TenantId,
        stream_id: &'e str,
        from_revision: u64,
        max_count: usize,
    ) -> BoxFuture<'e, Result<Vec<RecordedEvent>, StoreError>> {
        Box::pin(async move {
            // Built per call because the column list is the backend's; sqlx caches the prepared
            // statement by its text, so it is still prepared once per connection.
            let sql = format!(
                "SELECT {} FROM events WHERE tenant_id = $1 AND stream_id = $2 \
                 AND stream_revision >= $3 ORDER BY stream_revision LIMIT $4",
                Self::EVENT_COLUMNS
            );
            let rows: Vec<StoredEvent<Self>> = sqlx::query_as(&sql)
                .bind(Self::id(tenant_id.0))
                .bind(stream_id)
                .bind(to_i64(from_revision))
                .bind(i64::try_from(max_count).unwrap_or(i64::MAX))
                .fetch_all(executor)
                .await?;
            rows::into_recorded(rows)
        })
    }

    /// Applies an append's claims in its open transaction `conn`: releases first, then takes
    /// in key order (see [`chain::claim_order`]). A key held by another owner fails the
    /// append with [`StoreError::ClaimConflict`]; taking a key one already holds is a no-op.
    fn apply_claims<'a>(
        conn: &'a mut Self::Connection,
        tenant_id: Uuid,
        claims: &'a [ClaimChange],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let (releases, takes) = chain::claim_order(claims);
            for release in releases {
                sqlx::query(
                    "DELETE FROM claims \
                     WHERE tenant_id = $1 AND scope = $2 AND claim_key = $3 AND owner = $4",
                )
                .bind(Self::id(tenant_id))
                .bind(release.scope.as_str())
                .bind(release.key.as_str())
                .bind(release.owner.as_str())
                .execute(&mut *conn)
                .await?;
            }
            for claim in takes {
                let inserted = sqlx::query(
                    "INSERT INTO claims (tenant_id, scope, claim_key, owner) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant_id, scope, claim_key) DO NOTHING",
                )
                .bind(Self::id(tenant_id))
                .bind(claim.scope.as_str())
                .bind(claim.key.as_str())
                .bind(claim.owner.as_str())
                .execute(&mut *conn)
                .await?;
                if Self::rows_affected(&inserted) == 0 {
                    // The key is held: by this owner already (fine), or by another. No other
                    // append can release it meanwhile (SQLite has one writer, PostgreSQL appends
                    // lock their keys first); were it gone, that is a database fault.
                    let holder =
                        Self::claim_holder(&mut *conn, tenant_id, &claim.scope, &claim.key)
                            .await?
                            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                    if holder != claim.owner {
                        return Err(StoreError::ClaimConflict {
                            scope: claim.scope.clone(),
                            key: claim.key.clone(),
                            held_by: holder,
                        });
                    }
                }
            }
            Ok(())
        })
    }
}

impl SharedQueries for Sqlite {}

impl SharedQueries for Postgres {}
