//! [`AnyStore`]: the backend chosen by a database URL, behind the one [`EventStore`] API.

use crate::EventStore;
use crate::error::StoreError;
use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;
use crate::types::{AppendRequest, AppendResult, Position, RecordedEvent, StreamHead};
use event_schemas::TenantId;
use tokio::sync::watch;

/// Either backend, chosen at run time from the URL scheme.
#[derive(Clone)]
pub enum AnyStore {
    /// `sqlite://PATH`
    Sqlite(SqliteStore),
    /// `postgres://...` or `postgresql://...`
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Connects to the database the URL names.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteStore::connect(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(PostgresStore::connect(url).await?))
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// The backend's name, for logs and health output.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Closes the backend's connections.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }
}

/// Forwards a call to whichever backend this is.
macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($store) => $call,
            AnyStore::Postgres($store) => $call,
        }
    };
}

impl EventStore for AnyStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        delegate!(self, store => store.migrate().await)
    }

    async fn append(&self, request: AppendRequest) -> Result<AppendResult, StoreError> {
        delegate!(self, store => store.append(request).await)
    }

    async fn read_stream(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
        from_revision: u64,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        delegate!(self, store => store.read_stream(tenant_id, stream_id, from_revision, max_count).await)
    }

    async fn stream_head(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
    ) -> Result<Option<StreamHead>, StoreError> {
        delegate!(self, store => store.stream_head(tenant_id, stream_id).await)
    }

    async fn read_all(
        &self,
        after: Position,
        max_count: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        delegate!(self, store => store.read_all(after, max_count).await)
    }

    async fn count_after(&self, after: Position) -> Result<u64, StoreError> {
        delegate!(self, store => store.count_after(after).await)
    }

    async fn head_position(&self) -> Result<Position, StoreError> {
        delegate!(self, store => store.head_position().await)
    }

    async fn list_streams(
        &self,
        tenant_id: Option<TenantId>,
    ) -> Result<Vec<StreamHead>, StoreError> {
        delegate!(self, store => store.list_streams(tenant_id).await)
    }

    async fn claim_holder(
        &self,
        tenant_id: TenantId,
        scope: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        delegate!(self, store => store.claim_holder(tenant_id, scope, key).await)
    }

    fn wakeups(&self) -> watch::Receiver<u64> {
        delegate!(self, store => store.wakeups())
    }
}
