//! The `serial-ledger` binary: operator commands today, the API server as it arrives.
//!
//! Every flag can also come from the environment variable named in `--help`.

mod cli_common;
mod files_cli;
mod ledger_cli;
mod replay_cli;

use anyhow::Context;
use api::rate_limit::RateLimit;
use api::state::AppState;
use application::auth::{Auth, Role};
use clap::{Args, Parser, Subcommand};
use projections::{ProjectionRunner, ReadDb, RunnerOptions};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;
use store::{AnyStore, EventStore};
use uuid::Uuid;

/// An event-sourced ledger of the serial numbers of every serialised unit a retailer sells.
#[derive(Debug, Parser)]
#[command(name = "serial-ledger", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Log filter, in `tracing` env-filter syntax (e.g. `info`, `store=debug`).
    #[arg(
        long,
        global = true,
        env = "SERIAL_LEDGER_LOG",
        default_value = "info,sqlx=warn"
    )]
    log: String,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(
        long,
        global = true,
        env = "SERIAL_LEDGER_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API: GraphQL at /graphql (GraphiQL in a browser), subscriptions at
    /// /graphql/ws, health at /healthz. Creates or upgrades the schema first.
    Serve(ServeArgs),
    /// Create the database schema, or upgrade it to this version. Safe to run repeatedly.
    Migrate(DatabaseArgs),
    /// Auditor tools over the event log.
    #[command(subcommand)]
    Replay(replay_cli::ReplayCommand),
    /// Products: the mass upload/download CSV.
    #[command(subcommand)]
    Products(files_cli::ProductsCommand),
    /// Retail files: sales detail, fulfilment report, pick lists, invoices.
    #[command(subcommand)]
    Export(files_cli::ExportCommand),
    /// Retailers (tenants).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// API tokens: each belongs to one retailer and has one role.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Signing keys for checkpoints (Ed25519, C2SP signed-note format).
    #[command(subcommand)]
    Keys(ledger_cli::KeysCommand),
    /// The verifiable ledger: checkpoints and proofs.
    #[command(subcommand)]
    Checkpoint(ledger_cli::CheckpointCommand),
    /// A witness: check that the ledger's newest checkpoint extends the last one this
    /// witness saw, and cosign it.
    #[command(subcommand)]
    Witness(ledger_cli::WitnessCommand),
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a retailer; prints its id.
    Create {
        /// Short name used on the command line: lower-case letters, digits, dashes.
        slug: String,
        /// The retailer's display name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token; prints it once (only its hash is stored).
    Create {
        /// The retailer's slug.
        #[arg(long)]
        tenant: String,
        /// manager, pos, warehouse, auditor (read-only, raw log) or integrator (read,
        /// subscribe, write serials and fulfilment).
        #[arg(long)]
        role: Role,
        /// A name for the token, shown as the actor of what it does.
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a token by its id. A running server refuses it within its `--token-cache-ms`
    /// (1 s by default; at once with 0).
    Revoke {
        /// The token id printed by `token create`.
        token_id: Uuid,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "SERIAL_LEDGER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seed a demo retailer (outlets, products of every serial mode, packages, sales in
    /// every state) and print a token per role.
    #[arg(long)]
    demo: bool,
    /// Requests per second each API token may sustain (each client address, for requests
    /// without a valid token); over it: HTTP 429 with Retry-After. 0 turns limiting off.
    #[arg(long, env = "SERIAL_LEDGER_RATE_LIMIT_PER_SECOND", default_value_t = RateLimit::default().per_second)]
    rate_limit_per_second: u32,
    /// Requests each token may send at once after being idle.
    #[arg(long, env = "SERIAL_LEDGER_RATE_LIMIT_BURST", default_value_t = RateLimit::default().burst)]
    rate_limit_burst: u32,
    /// How long, in milliseconds, a resolved API token is used before the database is asked
    /// again: a token revoked by another process (`serial-ledger token revoke`) still works
    /// here for up to this long. Revocations through this server apply at once. 0: no cache.
    #[arg(long, env = "SERIAL_LEDGER_TOKEN_CACHE_MS", default_value_t = application::auth::DEFAULT_TOKEN_CACHE_MS)]
    token_cache_ms: u64,
    /// The file holding the key checkpoints are signed with (`serial-ledger keys
    /// generate`). Without one, checkpoints are issued unsigned (and `--demo` makes one
    /// beside the database).
    #[arg(long, env = "SERIAL_LEDGER_SIGNING_KEY_FILE")]
    signing_key_file: Option<std::path::PathBuf>,
    /// Issue a checkpoint once a retailer's log has grown by this many events...
    #[arg(long, env = "SERIAL_LEDGER_CHECKPOINT_EVERY_EVENTS", default_value_t = application::ledger::DEFAULT_CHECKPOINT_EVERY_EVENTS)]
    checkpoint_every_events: u64,
    /// ...or has grown at all and its newest checkpoint is this many seconds old.
    #[arg(long, env = "SERIAL_LEDGER_CHECKPOINT_EVERY_SECONDS", default_value_t = application::ledger::DEFAULT_CHECKPOINT_EVERY_SECONDS)]
    checkpoint_every_seconds: u64,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DatabaseArgs {
    /// Where the ledger is stored: `sqlite://PATH` (embedded, created if missing) or
    /// `postgres://USER@HOST:PORT/DATABASE`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://serial-ledger.db"
    )]
    pub(crate) database_url: String,
}

impl DatabaseArgs {
    pub(crate) async fn connect(&self) -> anyhow::Result<AnyStore> {
        AnyStore::connect(&self.database_url)
            .await
            .with_context(|| format!("cannot open the database at {}", self.database_url))
    }

    /// Tenants and tokens, with their tables created if this is a fresh database.
    pub(crate) async fn auth(&self) -> anyhow::Result<(AnyStore, Auth)> {
        let store = self.connect().await?;
        store
            .migrate()
            .await
            .context("migration of the event store failed")?;
        let auth = Auth::new(ReadDb::of(&store));
        auth.migrate()
            .await
            .context("migration of the auth tables failed")?;
        Ok((store, auth))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        // Colours only for people: a file or a log collector gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match run(cli.command).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The SIGTERM handler is installed when this is called, not
/// when the future is first polled: a SIGTERM sent as soon as the server says it listens
/// must stop it gracefully, not kill it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = async {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {}
            () = terminate => {}
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut state = AppState::open(&args.database.database_url)
        .await
        .with_context(|| format!("cannot open the database at {}", args.database.database_url))?;
    state.rate_limit = RateLimit {
        per_second: args.rate_limit_per_second,
        burst: args.rate_limit_burst,
    };
    // Before anything clones the state: every clone must share this one cache.
    state.auth = state
        .auth
        .clone()
        .with_token_cache(Duration::from_millis(args.token_cache_ms));
    let key_file = match (&args.signing_key_file, args.demo) {
        (Some(path), _) => Some(path.clone()),
        (None, true) => Some(ledger_cli::demo_key(&args.database.database_url)?),
        (None, false) => None,
    };
    state.ledger = application::ledger::LedgerOptions {
        signing_key: match &key_file {
            Some(path) => Some(std::sync::Arc::new(application::ledger::read_signing_key(
                path,
            )?)),
            None => None,
        },
        every_events: args.checkpoint_every_events,
        every_seconds: args.checkpoint_every_seconds,
        ..Default::default()
    };
    match (&state.ledger.signing_key, &key_file) {
        (Some(key), Some(path)) => println!(
            "checkpoints signed with key {} from {}; public key: {}",
            key.name(),
            path.display(),
            key.verifier_key()
        ),
        _ => println!(
            "checkpoints are UNSIGNED: no --signing-key-file given (make one with \
             `serial-ledger keys generate --out FILE`)"
        ),
    }
    let shutdown = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    if args.demo {
        let demo = api::demo::seed(&state)
            .await
            .context("seeding the demo failed")?;
        println!(
            "demo retailer {} ({}):",
            api::demo::DEMO_SLUG,
            if demo.seeded {
                "seeded now"
            } else {
                "already seeded"
            }
        );
        for (name, outlet) in &demo.outlets {
            println!("  outlet {name}: {outlet}");
        }
        for (role, token) in &demo.tokens {
            println!("  {role:<10} token: {token}");
        }
        // The token rides in the fragment, which the browser never sends to the server.
        println!("sign in to the console as one of the roles:");
        for (role, token) in &demo.tokens {
            println!("  {role:<10} http://{address}/sign-in#token={token}");
        }
        // A checkpoint of the seeded log at once, so the demo's evidence files can be
        // proven without waiting for the checkpoint task.
        state
            .projections
            .catch_up(projections::Projection::Proofs)
            .await
            .context("folding the demo's proofs failed")?;
        let checkpoint = projections::proofs::checkpoints::issue(
            &state.db,
            demo.tenant_id,
            state.ledger.signing_key.as_deref(),
        )
        .await
        .context("issuing the demo's checkpoint failed")?;
        println!(
            "  checkpoint: tree size {}, {}",
            checkpoint.checkpoint.tree_size,
            checkpoint
                .key_name
                .as_deref()
                .map_or("unsigned".to_owned(), |name| format!("signed by {name}"))
        );
        println!(
            "or open http://{address}/graphql (GraphiQL) and paste a token into its token field"
        );
    }
    println!(
        "serial-ledger listening on http://{address}/graphql ({}); the console is at http://{address}/",
        state.store.backend_name()
    );
    let store = state.store.clone();
    api::server::serve(listener, state, shutdown).await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(database) => {
            let store = database.connect().await?;
            store
                .migrate()
                .await
                .context("migration of the event store failed")?;
            ProjectionRunner::new(store.clone(), RunnerOptions::default())
                .migrate()
                .await
                .context("migration of the read models failed")?;
            Auth::new(ReadDb::of(&store))
                .migrate()
                .await
                .context("migration of the auth tables failed")?;
            println!(
                "schema of {} is up to date ({})",
                database.database_url,
                store.backend_name()
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant(TenantCommand::Create {
            slug,
            name,
            database,
        }) => {
            let (store, auth) = database.auth().await?;
            let tenant = auth.create_tenant(&slug, &name).await?;
            println!(
                "created retailer {} ({}) with id {}",
                tenant.slug, tenant.name, tenant.tenant_id
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create {
            tenant,
            role,
            label,
            database,
        }) => {
            let (store, auth) = database.auth().await?;
            let issued = auth.create_token(&tenant, role, &label).await?;
            eprintln!(
                "token {} for {tenant} as {role} (shown once; store it now):",
                issued.token_id
            );
            println!("{}", issued.token);
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Revoke { token_id, database }) => {
            let (store, auth) = database.auth().await?;
            auth.revoke_token(token_id).await?;
            println!("revoked token {token_id}");
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay(command) => replay_cli::run(command).await,
        Command::Keys(command) => ledger_cli::run_keys(command),
        Command::Checkpoint(command) => ledger_cli::run_checkpoint(command).await,
        Command::Witness(command) => ledger_cli::run_witness(command).await,
        Command::Products(command) => files_cli::run_products(command).await,
        Command::Export(command) => files_cli::run_export(command).await,
    }
}
