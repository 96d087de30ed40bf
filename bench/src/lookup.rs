//! Scenarios 3 and 6, serial lookup at scale and the server's memory after it.
//!
//! The log gets real sales from the command mix (a few thousand serials, each with its
//! sale's events), folded by the projections; then the traceability index is filled up to
//! N recorded serials (10M by default) with rows written straight into `rm_serials` and
//! `rm_serial_history` (same retailer, same product, serials `F0000000001`...). Writing 10M
//! serials through the command path would take hours here; what a lookup costs depends on
//! the index's size (B-tree depth, cache), which the filler gives it, and on reading the
//! looked-up serial's sales from the log, which the real sales give it. Every lookup is of a
//! real serial.
//!
//! Measured: `serialTrace`'s resolver work in process (`replay::history::serial_history`,
//! index then the sales' events) p50/p99; the same over GraphQL HTTP against the server in
//! its own process, first saturated (32 connections, closed loop) and then at half that rate
//! (open loop) p50/p99; side by side, the bare index lookup (`SELECT` by tenant and serial).
//! Then the server process's resident memory (scenario 6).

use crate::env::{Backend, Database, Shop};
use crate::load::{Request, closed_loop, open_loop};
use crate::mix::SaleFlow;
use crate::report::{Figure, number};
use crate::server::ChildServer;
use crate::stats::Latencies;
use event_schemas::LedgerEvent;
use futures::future::try_join_all;
use rand::seq::IndexedRandom as _;
use rand::{SeedableRng as _, rngs::SmallRng};
use replay::history::{HistoryQuery, HistorySource, serial_history};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Filler rows per transaction.
const FILL_CHUNK: u64 = 500_000;
/// Writers of the real sales.
const WRITERS: usize = 8;

/// The serialTrace query, as a reporting consumer sends it.
const TRACE_QUERY: &str = "query($serial: String!) { serialTrace(serialNumber: $serial) { \
    productId serial status invoiceNumber history { eventType invoiceNumber recordedAt } } }";

/// Sizes of a run.
pub struct LookupSize {
    /// Recorded serials in the index (real + filler).
    pub serials: u64,
    /// Real sales written through the command path.
    pub real_sales: u64,
    /// Lookups in process.
    pub lookups: usize,
    /// Seconds of each HTTP phase.
    pub seconds: f64,
}

/// Runs scenarios 3 and 6 once on a fresh database.
pub async fn run(
    backend: Backend,
    postgres_url: &str,
    size: &LookupSize,
    run: u32,
) -> anyhow::Result<Vec<Figure>> {
    let database = Database::create(backend, postgres_url).await?;
    let shop = Shop::open(&database).await?;
    let serials = write_real_sales(&shop, size.real_sales, run).await?;
    shop.state.projections.catch_up_all().await?;
    let filled = Instant::now();
    let filler = size.serials.saturating_sub(serials.len() as u64);
    fill_index(&database, &shop, filler).await?;
    eprintln!(
        "lookup/{backend}: {} real serials, {} filler rows in {:.0} s",
        serials.len(),
        filler,
        filled.elapsed().as_secs_f64()
    );
    anyhow::ensure!(!serials.is_empty(), "the mix recorded no serial");

    let mut rng = SmallRng::seed_from_u64(u64::from(run));
    let picks: Vec<String> = (0..size.lookups)
        .filter_map(|_| serials.choose(&mut rng).cloned())
        .collect();

    // In process: the resolver's work, and the bare index lookup beside it.
    let mut ours = Latencies::default();
    let mut index = Latencies::default();
    let pool = IndexPool::connect(&database).await?;
    for serial in &picks {
        let begun = Instant::now();
        pool.lookup(&shop, serial).await?;
        index.push(begun.elapsed());
        let query = HistoryQuery {
            source: HistorySource::IndexOnly,
            ..HistoryQuery::new(shop.tenant_id, serial.clone())
        };
        let begun = Instant::now();
        let history = serial_history(&shop.state.store, &query).await?;
        ours.push(begun.elapsed());
        anyhow::ensure!(!history.units.is_empty(), "serial {serial} not found");
    }
    pool.close().await;
    shop.state.store.close().await;

    // Over GraphQL HTTP, the server in its own process.
    let server = ChildServer::start(&database.url)?;
    let url = server.url("/graphql");
    let token = shop.token.clone();
    let request = |i: u64| {
        let serial = &picks[(i as usize) % picks.len()];
        Request::graphql(
            url.clone(),
            &token,
            TRACE_QUERY,
            json!({ "serial": serial }),
        )
    };
    let phase = Duration::from_secs_f64(size.seconds);
    let saturated = closed_loop(request, 32, phase).await?;
    let half = saturated.rate() / 2.0;
    let at_half = open_loop(request, half, phase).await?;
    let rss = server.rss_mib();
    drop(server);
    database.drop_database().await?;

    let backend = backend.to_string();
    let scale = format!("{} serials", number(size.serials as f64));
    let mut figures = Vec::new();
    for p in [50.0, 99.0] {
        figures.push(
            Figure::plain(
                "lookup",
                &backend,
                &format!("{scale}, in process"),
                &format!("p{p} ms"),
                ours.percentile_ms(p),
            )
            .against("index SELECT ms", index.percentile_ms(p)),
        );
    }
    figures.push(Figure::plain(
        "lookup",
        &backend,
        &format!("{scale}, GraphQL HTTP, 32 connections"),
        "saturating requests/s",
        saturated.rate(),
    ));
    let half_case = format!("{scale}, GraphQL HTTP at half the saturating load");
    figures.push(Figure::plain(
        "lookup",
        &backend,
        &half_case,
        "offered requests/s",
        half,
    ));
    for p in [50.0, 99.0] {
        figures.push(Figure::plain(
            "lookup",
            &backend,
            &half_case,
            &format!("p{p} ms"),
            at_half.latencies.percentile_ms(p),
        ));
    }
    if let Some(rss) = rss {
        figures.push(Figure::plain(
            "memory",
            &backend,
            &format!("{scale}, server after the lookup load"),
            "RSS MiB",
            rss,
        ));
    }
    Ok(figures)
}

/// Runs the mix from 8 clients until it has assigned `sales` serials; those serials.
pub async fn write_real_sales(shop: &Shop, sales: u64, run: u32) -> anyhow::Result<Vec<String>> {
    let serials = Arc::new(Mutex::new(Vec::new()));
    let far = Instant::now() + Duration::from_secs(24 * 3600);
    let tasks = (0..WRITERS).map(|client| {
        let shop = shop.clone();
        let serials = serials.clone();
        tokio::spawn(async move {
            let mut flow = SaleFlow::new(shop, run, client);
            let done = || serials.lock().map_or(true, |s| s.len() as u64 >= sales);
            flow.run_until(far, done, |outcome| {
                for event in &outcome.events {
                    if let LedgerEvent::SerialAssigned(assigned) = event
                        && let Ok(mut serials) = serials.lock()
                    {
                        serials.push(assigned.serial.clone());
                    }
                }
            })
            .await
        })
    });
    for joined in try_join_all(tasks).await? {
        joined?;
    }
    let serials = serials
        .lock()
        .map_err(|_| anyhow::anyhow!("a writer panicked"))?
        .clone();
    Ok(serials)
}

/// Fills the index with `rows` serials, in chunks, then refreshes the planner's statistics.
async fn fill_index(database: &Database, shop: &Shop, rows: u64) -> anyhow::Result<()> {
    let tenant = shop.tenant_id.to_string();
    let product = shop.product_id.to_string();
    let outlet = shop.outlet_id.to_string();
    match database.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&database.url).await?;
            let mut first = 1;
            while first <= rows {
                let last = (first + FILL_CHUNK - 1).min(rows);
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "WITH RECURSIVE c(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM c WHERE i < $2) \
                     INSERT INTO rm_serials (tenant_id, product_id, serial, sku, product_name, \
                     status, sale_id, invoice_number, line_number, outlet_id, allocated_at, \
                     fulfilled_at) \
                     SELECT $3, $4, printf('F%010d', i), 'PHONE-1', 'Phone', 'FULFILLED', \
                     printf('00000000-0000-7000-8000-%012d', i), printf('F%d', i), 1, $5, 0, 0 \
                     FROM c",
                )
                .bind(first as i64)
                .bind(last as i64)
                .bind(&tenant)
                .bind(&product)
                .bind(&outlet)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "WITH RECURSIVE c(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM c WHERE i < $2) \
                     INSERT INTO rm_serial_history (tenant_id, product_id, serial, \
                     commit_position, global_position, event_type, sale_id, invoice_number, \
                     line_number, recorded_at) \
                     SELECT $3, $4, printf('F%010d', i), i, i, 'SerialAssigned', \
                     printf('00000000-0000-7000-8000-%012d', i), printf('F%d', i), 1, 0 FROM c",
                )
                .bind(first as i64)
                .bind(last as i64)
                .bind(&tenant)
                .bind(&product)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                first = last + 1;
            }
            sqlx::query("ANALYZE").execute(&pool).await?;
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&database.url).await?;
            let mut first = 1;
            while first <= rows {
                let last = (first + FILL_CHUNK - 1).min(rows);
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "INSERT INTO rm_serials (tenant_id, product_id, serial, sku, product_name, \
                     status, sale_id, invoice_number, line_number, outlet_id, allocated_at, \
                     fulfilled_at) \
                     SELECT $3, $4, 'F' || lpad(i::text, 10, '0'), 'PHONE-1', 'Phone', \
                     'FULFILLED', '00000000-0000-7000-8000-' || lpad(i::text, 12, '0'), \
                     'F' || i, 1, $5, 0, 0 FROM generate_series($1::bigint, $2::bigint) i",
                )
                .bind(first as i64)
                .bind(last as i64)
                .bind(&tenant)
                .bind(&product)
                .bind(&outlet)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO rm_serial_history (tenant_id, product_id, serial, \
                     commit_position, global_position, event_type, sale_id, invoice_number, \
                     line_number, recorded_at) \
                     SELECT $3, $4, 'F' || lpad(i::text, 10, '0'), i, i, 'SerialAssigned', \
                     '00000000-0000-7000-8000-' || lpad(i::text, 12, '0'), 'F' || i, 1, 0 \
                     FROM generate_series($1::bigint, $2::bigint) i",
                )
                .bind(first as i64)
                .bind(last as i64)
                .bind(&tenant)
                .bind(&product)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                first = last + 1;
            }
            sqlx::query("ANALYZE").execute(&pool).await?;
            pool.close().await;
        }
    }
    Ok(())
}

/// A plain connection for the bare index lookup.
enum IndexPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl IndexPool {
    async fn connect(database: &Database) -> anyhow::Result<Self> {
        Ok(match database.backend {
            Backend::Sqlite => Self::Sqlite(sqlx::SqlitePool::connect(&database.url).await?),
            Backend::Postgres => Self::Postgres(sqlx::PgPool::connect(&database.url).await?),
        })
    }

    async fn lookup(&self, shop: &Shop, serial: &str) -> anyhow::Result<()> {
        const SQL: &str = "SELECT sale_id FROM rm_serials WHERE tenant_id = $1 AND serial = $2";
        let tenant = shop.tenant_id.to_string();
        let found = match self {
            Self::Sqlite(pool) => sqlx::query(SQL)
                .bind(tenant)
                .bind(serial)
                .fetch_all(pool)
                .await?
                .len(),
            Self::Postgres(pool) => sqlx::query(SQL)
                .bind(tenant)
                .bind(serial)
                .fetch_all(pool)
                .await?
                .len(),
        };
        anyhow::ensure!(found > 0, "serial {serial} not in the index");
        Ok(())
    }

    async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}
