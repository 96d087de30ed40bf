//! Everything a request needs, opened once at start-up and shared by every handler.

use crate::auth::Auth;
use crate::commands::CommandService;
use projections::{ProjectionRunner, ReadDb, RunnerOptions};
use std::time::Duration;
use store::{AnyStore, EventStore};

/// The service's shared state: cheap to clone (every part shares its pools).
#[derive(Clone)]
pub struct AppState {
    /// The event store.
    pub store: AnyStore,
    /// The read models' database (the same database).
    pub db: ReadDb,
    /// Load, decide, append.
    pub commands: CommandService<AnyStore>,
    /// The projections (the server spawns them; mutations wait on them).
    pub projections: ProjectionRunner,
    /// Tenants and tokens, with the server's token cache (default TTL
    /// [`crate::auth::DEFAULT_TOKEN_CACHE_MS`]; replace it with
    /// [`Auth::with_token_cache`] before sharing the state).
    pub auth: Auth,
    /// How long a mutation waits for the read models to show its effect
    /// (read-your-writes) before answering anyway.
    pub read_your_writes_timeout: Duration,
    /// How far a GraphQL subscription may run ahead of its client.
    pub subscription_limits: crate::graphql::subscriptions::SubscriptionLimits,
    /// How webhooks are delivered.
    pub webhook_options: crate::webhooks::WebhookOptions,
    /// How many requests each token (or client address, without one) may send; read when
    /// the router is built ([`crate::server::app`]).
    pub rate_limit: crate::rate_limit::RateLimit,
    /// The signing key and how often checkpoints are issued.
    pub ledger: crate::ledger::LedgerOptions,
}

impl AppState {
    /// Connects to the database, creates or upgrades every schema, and builds the state.
    /// Projections are not started: call `state.projections.spawn()`. Tokens are cached for
    /// the default TTL.
    pub async fn open(database_url: &str) -> anyhow::Result<Self> {
        let store = AnyStore::connect(database_url).await?;
        store.migrate().await?;
        let projections = ProjectionRunner::new(store.clone(), RunnerOptions::default());
        projections.migrate().await?;
        let db = ReadDb::of(&store);
        let auth = Auth::new(db.clone())
            .with_token_cache(Duration::from_millis(crate::auth::DEFAULT_TOKEN_CACHE_MS));
        auth.migrate().await?;
        Ok(Self {
            commands: CommandService::new(store.clone()),
            store,
            db,
            projections,
            auth,
            read_your_writes_timeout: Duration::from_secs(5),
            subscription_limits: Default::default(),
            webhook_options: Default::default(),
            rate_limit: Default::default(),
            ledger: Default::default(),
        })
    }
}
