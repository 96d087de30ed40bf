//! Where a scenario runs: a fresh database per run (a SQLite file in a temporary directory,
//! or a new PostgreSQL database dropped afterwards), opened with the settings the server
//! ships with, and a retailer with a serial-tracked product and a token per role.

use anyhow::Context as _;
use api::state::AppState;
use application::auth::Role;
use application::commands::{CommandContext, NewProduct};
use event_schemas::{
    Actor, ActorKind, Channel, CommandId, CommandMetadata, OutletId, ProductId, SerialMode,
    SerialModeSource, TenantId,
};
use sqlx::Connection as _;
use std::fmt;
use uuid::Uuid;

/// A database backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A SQLite file, WAL, `synchronous = FULL` (as shipped).
    Sqlite,
    /// PostgreSQL with its server's settings (`synchronous_commit = on` by default).
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// A fresh database, removed when dropped (SQLite) or by [`Database::drop_database`].
pub struct Database {
    /// The backend.
    pub backend: Backend,
    /// What the store connects to.
    pub url: String,
    admin_url: String,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    /// Creates an empty database on `backend`; `postgres_url` is the server (no database).
    pub async fn create(backend: Backend, postgres_url: &str) -> anyhow::Result<Self> {
        let name = format!("bench_{}", Uuid::now_v7().simple());
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().context("temporary directory for SQLite")?;
                let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
                Ok(Self {
                    backend,
                    url,
                    admin_url: String::new(),
                    name,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let admin_url = format!("{}/postgres", postgres_url.trim_end_matches('/'));
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {postgres_url}"))?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                Ok(Self {
                    backend,
                    url: format!("{}/{name}", postgres_url.trim_end_matches('/')),
                    admin_url,
                    name,
                    _dir: None,
                })
            }
        }
    }

    /// Drops a PostgreSQL database (SQLite's directory goes with the value).
    pub async fn drop_database(self) -> anyhow::Result<()> {
        if self.backend == Backend::Postgres {
            let mut admin = sqlx::PgConnection::connect(&self.admin_url).await?;
            sqlx::query(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .await?;
            admin.close().await?;
        }
        Ok(())
    }
}

/// The retailer every scenario writes for.
#[derive(Clone)]
pub struct Shop {
    /// The opened state (store, read models, command service, auth).
    pub state: AppState,
    /// The retailer.
    pub tenant_id: TenantId,
    /// A serial-tracked (REQUIRED) product.
    pub product_id: ProductId,
    /// The outlet sales are made at.
    pub outlet_id: OutletId,
    /// A manager's bearer token.
    pub token: String,
}

/// The retailer's slug.
const SLUG: &str = "bench";

impl Shop {
    /// Opens `database` (creating every schema) and sets up the retailer.
    pub async fn open(database: &Database) -> anyhow::Result<Self> {
        let mut state = AppState::open(&database.url).await?;
        // The load generators are the clients here: a rate limit would measure itself.
        state.rate_limit = api::rate_limit::RateLimit::OFF;
        let tenant = state.auth.create_tenant(SLUG, "Bench Retail").await?;
        let token = state
            .auth
            .create_token(SLUG, Role::Manager, "bench")
            .await?
            .token;
        let shop = Self {
            state,
            tenant_id: tenant.tenant_id,
            product_id: ProductId::new_v7(),
            outlet_id: OutletId(Uuid::now_v7()),
            token,
        };
        shop.state
            .commands
            .create_product(
                &shop.context(Channel::BackOffice),
                NewProduct {
                    product_id: shop.product_id,
                    sku: "PHONE-1".into(),
                    name: "Phone".into(),
                    serial_mode: Some(SerialMode::Required),
                    source: SerialModeSource::Manual,
                    package: None,
                },
            )
            .await?;
        Ok(shop)
    }

    /// A context for one command (a fresh command id).
    pub fn context(&self, channel: Channel) -> CommandContext {
        CommandContext {
            tenant_id: self.tenant_id,
            metadata: CommandMetadata {
                command_id: CommandId::new_v7(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                actor: Actor {
                    kind: ActorKind::System,
                    id: "bench".into(),
                    display_name: "Benchmark".into(),
                },
                channel,
                outlet_id: Some(self.outlet_id),
            },
        }
    }
}
