//! Scenario 1, append: the command mix ([`crate::mix`]) through the command service with 1
//! and with 32 concurrent clients (commands/s, p50/p99 latency), and in the same run the
//! database's raw rate for the same rows: plain INSERT transactions of equally sized event
//! rows (the log's columns, the same number of rows per transaction as the commands wrote),
//! with the store's durability and connection pool, from the same number of clients.

use crate::env::{Backend, Database, Shop};
use crate::mix::{MixStats, SaleFlow};
use crate::report::Figure;
use crate::stats::Latencies;
use futures::future::try_join_all;
use sqlx::Executor as _;
use std::str::FromStr as _;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Runs the scenario once on a fresh database.
pub async fn run(
    backend: Backend,
    postgres_url: &str,
    seconds: f64,
    clients_cases: &[usize],
    run: u32,
) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for &clients in clients_cases {
        let database = Database::create(backend, postgres_url).await?;
        let shop = Shop::open(&database).await?;
        let duration = Duration::from_secs_f64(seconds);
        let ours = drive(&shop, clients, duration, run).await?;
        shop.state.store.close().await;
        let pattern = RowPattern {
            bytes_per_event: ours.stats.bytes_per_event(),
            rows_per_tx: ours.rows_per_command.clone(),
        };
        let raw = raw_inserts(&database, clients, duration, &pattern).await?;
        database.drop_database().await?;

        let case = format!("{clients} client{}", if clients == 1 { "" } else { "s" });
        let backend = backend.to_string();
        let ours_rate = ours.stats.commands as f64 / ours.elapsed.as_secs_f64();
        let raw_rate = raw.transactions as f64 / raw.elapsed.as_secs_f64();
        figures.push(
            Figure::plain("append", &backend, &case, "commands/s", ours_rate)
                .against("raw INSERT tx/s", raw_rate),
        );
        figures.push(
            Figure::plain(
                "append",
                &backend,
                &case,
                "events/s",
                ours.stats.events as f64 / ours.elapsed.as_secs_f64(),
            )
            .against(
                "raw INSERT rows/s",
                raw.rows as f64 / raw.elapsed.as_secs_f64(),
            ),
        );
        for p in [50.0, 99.0] {
            figures.push(
                Figure::plain(
                    "append",
                    &backend,
                    &case,
                    &format!("p{p} ms"),
                    ours.stats.latencies.percentile_ms(p),
                )
                .against("raw INSERT tx ms", raw.latencies.percentile_ms(p)),
            );
        }
    }
    Ok(figures)
}

/// What the clients did.
pub struct Driven {
    /// Counts and latencies of all clients.
    pub stats: MixStats,
    /// Wall time from start to the last client's end.
    pub elapsed: Duration,
    /// Events per command, as they came (the raw inserts repeat this pattern).
    pub rows_per_command: Vec<usize>,
}

/// `clients` clients run the mix for `duration`.
pub async fn drive(
    shop: &Shop,
    clients: usize,
    duration: Duration,
    run: u32,
) -> anyhow::Result<Driven> {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks = (0..clients).map(|client| {
        let shop = shop.clone();
        tokio::spawn(async move {
            let mut flow = SaleFlow::new(shop, run, client);
            let mut rows = Vec::new();
            let stats = flow
                .run_until(
                    deadline,
                    || false,
                    |outcome| {
                        if rows.len() < 1_000 {
                            rows.push(outcome.events.len());
                        }
                    },
                )
                .await?;
            anyhow::Ok((stats, rows))
        })
    });
    let mut stats = MixStats::default();
    let mut rows_per_command = Vec::new();
    for joined in try_join_all(tasks).await? {
        let (client_stats, rows) = joined?;
        stats.merge(client_stats);
        rows_per_command.extend(rows);
    }
    Ok(Driven {
        stats,
        elapsed: started.elapsed(),
        rows_per_command,
    })
}

/// The shape of the raw transactions.
struct RowPattern {
    bytes_per_event: usize,
    rows_per_tx: Vec<usize>,
}

struct RawOutcome {
    transactions: u64,
    rows: u64,
    latencies: Latencies,
    elapsed: Duration,
}

const RAW_TABLE_POSTGRES: &str = "CREATE TABLE bench_raw_events (
    global_position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id UUID NOT NULL UNIQUE, tenant_id UUID NOT NULL, stream_id TEXT NOT NULL,
    stream_revision BIGINT NOT NULL, recorded_at TIMESTAMPTZ NOT NULL, event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL, payload TEXT NOT NULL, command_id UUID NOT NULL,
    correlation_id UUID NOT NULL, actor_kind TEXT NOT NULL, actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL, channel TEXT NOT NULL, previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL, UNIQUE (tenant_id, stream_id, stream_revision))";

const RAW_TABLE_SQLITE: &str = "CREATE TABLE bench_raw_events (
    global_position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE, tenant_id TEXT NOT NULL, stream_id TEXT NOT NULL,
    stream_revision INTEGER NOT NULL, recorded_at INTEGER NOT NULL, event_type TEXT NOT NULL,
    schema_version INTEGER NOT NULL, payload TEXT NOT NULL, command_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL, actor_kind TEXT NOT NULL, actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL, channel TEXT NOT NULL, previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL, UNIQUE (tenant_id, stream_id, stream_revision))";

/// The load itself, written once for both pools: `$uuid` binds a UUID as the backend's
/// log stores it and `$recorded_at` is the SQL for the recorded time from microseconds.
macro_rules! raw_load {
    ($pool:expr, $clients:expr, $duration:expr, $pattern:expr, $uuid:expr, $recorded_at:expr) => {{
        let pool = $pool;
        let pattern: &RowPattern = $pattern;
        let payload = "x".repeat(pattern.bytes_per_event.max(1));
        let hash = "0".repeat(64);
        let tenant = Uuid::now_v7();
        let started = Instant::now();
        let deadline = started + $duration;
        let insert = format!(
            "INSERT INTO bench_raw_events (event_id, tenant_id, stream_id, stream_revision, \
             recorded_at, event_type, schema_version, payload, command_id, correlation_id, \
             actor_kind, actor_id, actor_name, channel, previous_hash, hash) \
             VALUES ($1, $2, $3, $4, {}, 'LineAdded', 1, $6, $7, $8, 'system', 'bench', \
             'Benchmark', 'POS', $9, $10)",
            $recorded_at
        );
        let rows_per_tx = if pattern.rows_per_tx.is_empty() {
            vec![1]
        } else {
            pattern.rows_per_tx.clone()
        };
        let tasks = (0..$clients).map(|client| {
            let pool = pool.clone();
            let payload = payload.clone();
            let hash = hash.clone();
            let insert = insert.clone();
            let rows_per_tx = rows_per_tx.clone();
            async move {
                let mut latencies = Latencies::default();
                let (mut transactions, mut rows) = (0_u64, 0_u64);
                let mut turn = client;
                while Instant::now() < deadline {
                    let count = rows_per_tx[turn % rows_per_tx.len()].max(1);
                    turn += 1;
                    let stream = format!("sale-{}", Uuid::now_v7());
                    let command = Uuid::now_v7();
                    let begun = Instant::now();
                    let mut tx = pool.begin().await?;
                    for revision in 0..count {
                        let micros =
                            (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64;
                        sqlx::query(&insert)
                            .bind($uuid(Uuid::now_v7()))
                            .bind($uuid(tenant))
                            .bind(&stream)
                            .bind(revision as i64)
                            .bind(micros)
                            .bind(&payload)
                            .bind($uuid(command))
                            .bind($uuid(command))
                            .bind(&hash)
                            .bind(&hash)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    latencies.push(begun.elapsed());
                    transactions += 1;
                    rows += count as u64;
                }
                anyhow::Ok((transactions, rows, latencies))
            }
        });
        let mut outcome = RawOutcome {
            transactions: 0,
            rows: 0,
            latencies: Latencies::default(),
            elapsed: Duration::ZERO,
        };
        for (transactions, rows, latencies) in try_join_all(tasks).await? {
            outcome.transactions += transactions;
            outcome.rows += rows;
            outcome.latencies.extend(latencies);
        }
        outcome.elapsed = started.elapsed();
        anyhow::Ok(outcome)
    }};
}

/// Plain INSERT transactions from `clients` tasks for `duration`, through a pool like the
/// store's (SQLite: one writer connection, WAL, `synchronous = FULL`; PostgreSQL: 16
/// connections, the server's `synchronous_commit`).
async fn raw_inserts(
    database: &Database,
    clients: usize,
    duration: Duration,
    pattern: &RowPattern,
) -> anyhow::Result<RawOutcome> {
    match database.backend {
        Backend::Sqlite => {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&database.url)?
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await?;
            pool.execute(RAW_TABLE_SQLITE).await?;
            let outcome = raw_load!(
                &pool,
                clients,
                duration,
                pattern,
                |id: Uuid| id.to_string(),
                "$5"
            );
            pool.close().await;
            outcome
        }
        Backend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(16)
                .connect(&database.url)
                .await?;
            pool.execute(RAW_TABLE_POSTGRES).await?;
            let outcome = raw_load!(
                &pool,
                clients,
                duration,
                pattern,
                |id: Uuid| id,
                "to_timestamp($5::bigint / 1e6)"
            );
            pool.close().await;
            outcome
        }
    }
}
