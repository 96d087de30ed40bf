//! The [`Application`]: the store, the read models and every service over them, opened
//! once and shared by every adapter; and read-your-writes ([`Application::wait_for`]).

use crate::auth::{self, Auth};
use crate::commands::{CommandOutcome, CommandService};
use crate::{ledger, webhooks};
use projections::{ProjectionRunner, ReadDb, RunnerOptions};
use std::time::Duration;
use store::{AnyStore, EventStore, Position};

/// The application: the store, the read models and every service over them, opened once
/// at start-up and shared by every adapter. Cheap to clone (every part shares its pools).
#[derive(Clone)]
pub struct Application {
    /// The event store.
    pub store: AnyStore,
    /// The read models' database (the same database).
    pub db: ReadDb,
    /// Load, decide, append.
    pub commands: CommandService<AnyStore>,
    /// The projections (the server spawns them; writes wait on them).
    pub projections: ProjectionRunner,
    /// Tenants and tokens, with the server's token cache (default TTL
    /// [`auth::DEFAULT_TOKEN_CACHE_MS`]; replace it with [`Auth::with_token_cache`] before
    /// sharing the application).
    pub auth: Auth,
    /// How long a write waits for the read models to show its effect (read-your-writes)
    /// before answering anyway.
    pub read_your_writes_timeout: Duration,
    /// How webhooks are delivered.
    pub webhook_options: webhooks::WebhookOptions,
    /// The signing key and how often checkpoints are issued.
    pub ledger: ledger::LedgerOptions,
}

impl Application {
    /// Connects to the database, creates or upgrades every schema, and builds the
    /// application. Projections are not started: call `app.projections.spawn()`. Tokens are
    /// cached for the default TTL.
    pub async fn open(database_url: &str) -> Result<Self, OpenError> {
        let store = AnyStore::connect(database_url).await?;
        store.migrate().await?;
        let projections = ProjectionRunner::new(store.clone(), RunnerOptions::default());
        projections.migrate().await?;
        let db = ReadDb::of(&store);
        let auth = Auth::new(db.clone())
            .with_token_cache(Duration::from_millis(auth::DEFAULT_TOKEN_CACHE_MS));
        auth.migrate().await?;
        Ok(Self {
            commands: CommandService::new(store.clone()),
            store,
            db,
            projections,
            auth,
            read_your_writes_timeout: Duration::from_secs(5),
            webhook_options: Default::default(),
            ledger: Default::default(),
        })
    }

    /// Read-your-writes: waits until every read model has folded `position`, so the
    /// caller's next query sees the write. On timeout the write still succeeded: log and go
    /// on.
    pub async fn wait_for(&self, position: Option<Position>) {
        let Some(position) = position else {
            return;
        };
        if let Err(error) = self
            .projections
            .wait_for(position, self.read_your_writes_timeout)
            .await
        {
            tracing::warn!(%position, %error, "read models did not reach a write's position in time");
        }
    }

    /// Waits for the read models after a command.
    pub async fn after(&self, outcome: &CommandOutcome) {
        self.wait_for(outcome.position()).await;
    }
}

/// Why the application could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The event store could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The read models' schema could not be created.
    #[error(transparent)]
    Projections(#[from] projections::ProjectionError),
    /// The auth schema could not be created.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
}
