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
    let Filled {
        database,
        shop,
        serials,
        ..
    } = Filled::prepare(
        "lookup",
        backend,
        postgres_url,
        size.serials,
        size.real_sales,
        Fill::IndexOnly,
        run,
    )
    .await?;

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

/// A fresh database with scenario 3's data: real sales written by the mix and folded by the
/// projections, then the traceability index filled up to N recorded serials.
pub struct Filled {
    /// The database (drop it with [`Database::drop_database`] when done).
    pub database: Database,
    /// The retailer, with its opened state (close its store before a server process takes
    /// the database).
    pub shop: Shop,
    /// The real serials (each has its sale's events in the log).
    pub serials: Vec<String>,
    /// Seconds the filler took (rows written directly, bypassing events).
    pub fill_seconds: f64,
}

impl Filled {
    /// Creates the database and fills it: `real_sales` serials through the command path,
    /// the rest of `serials` straight into `rm_serials` and `rm_serial_history` (and, with
    /// [`Fill::IndexAndReports`], their sales into the report tables: see [`fill_index`]).
    pub async fn prepare(
        scenario: &str,
        backend: Backend,
        postgres_url: &str,
        serials: u64,
        real_sales: u64,
        fill: Fill,
        run: u32,
    ) -> anyhow::Result<Self> {
        let database = Database::create(backend, postgres_url).await?;
        let shop = Shop::open(&database).await?;
        let real = write_real_sales(&shop, real_sales, run).await?;
        shop.state.projections.catch_up_all().await?;
        let filled = Instant::now();
        let filler = serials.saturating_sub(real.len() as u64);
        fill_index(&database, &shop, filler, fill).await?;
        let fill_seconds = filled.elapsed().as_secs_f64();
        eprintln!(
            "{scenario}/{backend}: {} real serials, {} filler rows ({fill:?}) in {fill_seconds:.0} s",
            real.len(),
            filler,
        );
        anyhow::ensure!(!real.is_empty(), "the mix recorded no serial");
        Ok(Self {
            database,
            shop,
            serials: real,
            fill_seconds,
        })
    }
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

/// Sold lines filled per pending line (open, REQUIRED, no serial yet): 1%.
const PENDING_EVERY: u64 = 100;
/// Outlets the filled sales are spread over (the shop's and 7 others).
const OUTLETS: u64 = 8;
/// Customers the filled sales are spread over (a third of the sales have none).
const CUSTOMERS: u64 = 5_000;
/// The filled sales are opened over the year before the fill.
const YEAR_MICROS: i64 = 365 * 24 * 3600 * 1_000_000;

/// The SQL fragments that shape a filled sale `i` (same on both backends, given how each
/// backend formats a number).
struct SaleShape {
    sale_type: &'static str,
    delivery_mode: &'static str,
}

const SHAPE: SaleShape = SaleShape {
    // 70% sales, 20% special orders, 10% lay-bys.
    sale_type: "CASE i % 10 WHEN 7 THEN 'SPECIAL_ORDER' WHEN 8 THEN 'SPECIAL_ORDER' \
                WHEN 9 THEN 'LAY_BY' ELSE 'SALE' END",
    delivery_mode: "CASE i % 4 WHEN 0 THEN 'CASH_AND_CARRY' WHEN 1 THEN 'PICKUP' \
                    WHEN 2 THEN 'DELIVERY' ELSE 'DROP_SHIP' END",
};

/// What the filler writes besides the traceability index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// `rm_serials` and `rm_serial_history` only (scenario 3).
    IndexOnly,
    /// Also the sales read model the reports read (`rm_sales`, `rm_sale_lines`): a sale of
    /// one FULFILLED line per filled serial, plus 1% open sales whose REQUIRED line has no
    /// serial yet (scenario 8).
    IndexAndReports,
}

/// Fills the index with `rows` serials (and, with [`Fill::IndexAndReports`], the report
/// tables with their sales), in chunks, then refreshes the planner's statistics.
///
/// Filled serial `i` is `F{i:010}`, sold on line 1 of sale `00000000-0000-7000-8000-{i:012}`
/// (invoice `F{i}`), of the shop's product. With the report rows, that sale is opened at
/// `start + i * step` (the year before the fill, in serial order, so before the real sales),
/// at one of 8 outlets (`i % 8`; 0 is the shop's, the others `...-9000-00000000000k`), of
/// type and delivery mode as [`SHAPE`], a third without customer; and every 100th position
/// has, besides, an open sale `...-b000-{j:012}` (invoice `FP{j}`) whose line waits for its
/// serial.
async fn fill_index(database: &Database, shop: &Shop, rows: u64, fill: Fill) -> anyhow::Result<()> {
    let tenant = shop.tenant_id.to_string();
    let product = shop.product_id.to_string();
    let outlet = shop.outlet_id.to_string();
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64;
    let start = now - YEAR_MICROS;
    let step = (YEAR_MICROS / rows.max(1) as i64).max(1);
    let pending = if fill == Fill::IndexAndReports {
        rows / PENDING_EVERY
    } else {
        0
    };
    let SaleShape {
        sale_type,
        delivery_mode,
    } = SHAPE;
    match database.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&database.url).await?;
            const RANGE: &str =
                "WITH RECURSIVE c(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM c WHERE i < $2) ";
            let outlet_of = format!(
                "CASE i % {OUTLETS} WHEN 0 THEN $4 \
                 ELSE printf('00000000-0000-7000-9000-%012d', i % {OUTLETS}) END"
            );
            let customer = format!(
                "CASE WHEN i % 3 = 0 THEN NULL \
                 ELSE printf('00000000-0000-7000-a000-%012d', i % {CUSTOMERS}) END, \
                 CASE WHEN i % 3 = 0 THEN NULL ELSE printf('Customer %d', i % {CUSTOMERS}) END"
            );
            let serials = format!(
                "{RANGE}INSERT INTO rm_serials (tenant_id, product_id, serial, sku, \
                 product_name, status, sale_id, invoice_number, line_number, outlet_id, \
                 allocated_at, fulfilled_at) \
                 SELECT $3, $5, printf('F%010d', i), 'PHONE-1', 'Phone', 'FULFILLED', \
                 printf('00000000-0000-7000-8000-%012d', i), printf('F%d', i), 1, {outlet_of}, \
                 0, 0 FROM c WHERE $6 IS NOT NULL AND $7 IS NOT NULL"
            );
            let history = format!(
                "{RANGE}INSERT INTO rm_serial_history (tenant_id, product_id, serial, \
                 commit_position, global_position, event_type, sale_id, invoice_number, \
                 line_number, recorded_at) \
                 SELECT $3, $5, printf('F%010d', i), i, i, 'SerialAssigned', \
                 printf('00000000-0000-7000-8000-%012d', i), printf('F%d', i), 1, 0 FROM c \
                 WHERE $4 IS NOT NULL AND $6 IS NOT NULL AND $7 IS NOT NULL"
            );
            let sales = format!(
                "{RANGE}INSERT INTO rm_sales (tenant_id, sale_id, invoice_number, sale_type, \
                 delivery_mode, outlet_id, customer_id, customer_name, opened_at) \
                 SELECT $3, printf('00000000-0000-7000-8000-%012d', i), printf('F%d', i), \
                 {sale_type}, {delivery_mode}, {outlet_of}, {customer}, $6 + i * $7 FROM c \
                 WHERE $5 IS NOT NULL"
            );
            let lines = format!(
                "{RANGE}INSERT INTO rm_sale_lines (tenant_id, sale_id, line_number, product_id, \
                 sku, product_name, quantity, unit_price_minor, currency, serial_mode, serial, \
                 status, added_at, fulfilled_at) \
                 SELECT $3, printf('00000000-0000-7000-8000-%012d', i), 1, $5, 'PHONE-1', \
                 'Phone', 1, 99900, 'AUD', 'REQUIRED', printf('F%010d', i), 'FULFILLED', \
                 $6 + i * $7, $6 + i * $7 + 3600000000 FROM c WHERE $4 IS NOT NULL"
            );
            // Pending sale j sits at position j * 100 + 50 (between two filled sales).
            let pending_sales = format!(
                "{RANGE}INSERT INTO rm_sales (tenant_id, sale_id, invoice_number, sale_type, \
                 delivery_mode, outlet_id, customer_id, customer_name, opened_at) \
                 SELECT $3, printf('00000000-0000-7000-b000-%012d', i), printf('FP%d', i), \
                 {sale_type}, {delivery_mode}, {outlet_of}, {customer}, \
                 $6 + (i * {PENDING_EVERY} + {half}) * $7 FROM c WHERE $5 IS NOT NULL",
                half = PENDING_EVERY / 2
            );
            let pending_lines = format!(
                "{RANGE}INSERT INTO rm_sale_lines (tenant_id, sale_id, line_number, product_id, \
                 sku, product_name, quantity, unit_price_minor, currency, serial_mode, serial, \
                 status, added_at) \
                 SELECT $3, printf('00000000-0000-7000-b000-%012d', i), 1, $5, 'PHONE-1', \
                 'Phone', 1, 99900, 'AUD', 'REQUIRED', NULL, 'OPEN', \
                 $6 + (i * {PENDING_EVERY} + {half}) * $7 FROM c WHERE $4 IS NOT NULL",
                half = PENDING_EVERY / 2
            );
            let mut statements = vec![serials, history];
            if fill == Fill::IndexAndReports {
                statements.push(sales);
                statements.push(lines);
            }
            for (count, statements) in [
                (rows, statements),
                (pending, vec![pending_sales, pending_lines]),
            ] {
                let mut first = 1;
                while first <= count {
                    let last = (first + FILL_CHUNK - 1).min(count);
                    let mut tx = pool.begin().await?;
                    for sql in &statements {
                        sqlx::query(sql)
                            .bind(first as i64)
                            .bind(last as i64)
                            .bind(&tenant)
                            .bind(&outlet)
                            .bind(&product)
                            .bind(start)
                            .bind(step)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    first = last + 1;
                }
            }
            sqlx::query("ANALYZE").execute(&pool).await?;
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&database.url).await?;
            const RANGE: &str = "FROM generate_series($1::bigint, $2::bigint) i";
            let id =
                |group: &str| format!("'00000000-0000-7000-{group}-' || lpad(i::text, 12, '0')");
            let outlet_of = format!(
                "CASE i % {OUTLETS} WHEN 0 THEN $4::text \
                 ELSE '00000000-0000-7000-9000-' || lpad((i % {OUTLETS})::text, 12, '0') END"
            );
            let customer = format!(
                "CASE WHEN i % 3 = 0 THEN NULL \
                 ELSE '00000000-0000-7000-a000-' || lpad((i % {CUSTOMERS})::text, 12, '0') END, \
                 CASE WHEN i % 3 = 0 THEN NULL ELSE 'Customer ' || (i % {CUSTOMERS}) END"
            );
            let opened = "$6::bigint + i * $7::bigint";
            let pending_opened = format!(
                "$6::bigint + (i * {PENDING_EVERY} + {}) * $7::bigint",
                PENDING_EVERY / 2
            );
            let filled_sale = id("8000");
            let pending_sale = id("b000");
            let serials = format!(
                "INSERT INTO rm_serials (tenant_id, product_id, serial, sku, product_name, \
                 status, sale_id, invoice_number, line_number, outlet_id, allocated_at, \
                 fulfilled_at) \
                 SELECT $3, $5, 'F' || lpad(i::text, 10, '0'), 'PHONE-1', 'Phone', \
                 'FULFILLED', {filled_sale}, 'F' || i, 1, {outlet_of}, 0, 0 {RANGE} \
                 WHERE $6::bigint IS NOT NULL AND $7::bigint IS NOT NULL"
            );
            let history = format!(
                "INSERT INTO rm_serial_history (tenant_id, product_id, serial, \
                 commit_position, global_position, event_type, sale_id, invoice_number, \
                 line_number, recorded_at) \
                 SELECT $3, $5, 'F' || lpad(i::text, 10, '0'), i, i, 'SerialAssigned', \
                 {filled_sale}, 'F' || i, 1, 0 {RANGE} \
                 WHERE $4::text IS NOT NULL AND $6::bigint IS NOT NULL AND $7::bigint IS NOT NULL"
            );
            let sales = format!(
                "INSERT INTO rm_sales (tenant_id, sale_id, invoice_number, sale_type, \
                 delivery_mode, outlet_id, customer_id, customer_name, opened_at) \
                 SELECT $3, {filled_sale}, 'F' || i, {sale_type}, {delivery_mode}, \
                 {outlet_of}, {customer}, {opened} {RANGE} WHERE $5::text IS NOT NULL"
            );
            let lines = format!(
                "INSERT INTO rm_sale_lines (tenant_id, sale_id, line_number, product_id, sku, \
                 product_name, quantity, unit_price_minor, currency, serial_mode, serial, \
                 status, added_at, fulfilled_at) \
                 SELECT $3, {filled_sale}, 1, $5, 'PHONE-1', 'Phone', 1, 99900, 'AUD', \
                 'REQUIRED', 'F' || lpad(i::text, 10, '0'), 'FULFILLED', {opened}, \
                 {opened} + 3600000000 {RANGE} WHERE $4::text IS NOT NULL"
            );
            let pending_sales = format!(
                "INSERT INTO rm_sales (tenant_id, sale_id, invoice_number, sale_type, \
                 delivery_mode, outlet_id, customer_id, customer_name, opened_at) \
                 SELECT $3, {pending_sale}, 'FP' || i, {sale_type}, {delivery_mode}, \
                 {outlet_of}, {customer}, {pending_opened} {RANGE} WHERE $5::text IS NOT NULL"
            );
            let pending_lines = format!(
                "INSERT INTO rm_sale_lines (tenant_id, sale_id, line_number, product_id, sku, \
                 product_name, quantity, unit_price_minor, currency, serial_mode, serial, \
                 status, added_at) \
                 SELECT $3, {pending_sale}, 1, $5, 'PHONE-1', 'Phone', 1, 99900, 'AUD', \
                 'REQUIRED', NULL, 'OPEN', {pending_opened} {RANGE} WHERE $4::text IS NOT NULL"
            );
            let mut statements = vec![serials, history];
            if fill == Fill::IndexAndReports {
                statements.push(sales);
                statements.push(lines);
            }
            for (count, statements) in [
                (rows, statements),
                (pending, vec![pending_sales, pending_lines]),
            ] {
                let mut first = 1;
                while first <= count {
                    let last = (first + FILL_CHUNK - 1).min(count);
                    let mut tx = pool.begin().await?;
                    for sql in &statements {
                        sqlx::query(sql)
                            .bind(first as i64)
                            .bind(last as i64)
                            .bind(&tenant)
                            .bind(&outlet)
                            .bind(&product)
                            .bind(start)
                            .bind(step)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    first = last + 1;
                }
            }
            sqlx::query("ANALYZE").execute(&pool).await?;
            pool.close().await;
        }
    }
    Ok(())
}

/// A plain connection for the bare index lookup.
pub enum IndexPool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl IndexPool {
    /// Connects to `database`.
    pub async fn connect(database: &Database) -> anyhow::Result<Self> {
        Ok(match database.backend {
            Backend::Sqlite => Self::Sqlite(sqlx::SqlitePool::connect(&database.url).await?),
            Backend::Postgres => Self::Postgres(sqlx::PgPool::connect(&database.url).await?),
        })
    }

    /// `SELECT sale_id FROM rm_serials WHERE tenant_id = ? AND serial = ?` (must find it).
    pub async fn lookup(&self, shop: &Shop, serial: &str) -> anyhow::Result<()> {
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

    /// The lines in the report tables (`rm_sale_lines`) of the shop's retailer.
    pub async fn report_lines(&self, shop: &Shop) -> anyhow::Result<i64> {
        const SQL: &str = "SELECT COUNT(*) FROM rm_sale_lines WHERE tenant_id = $1";
        let tenant = shop.tenant_id.to_string();
        Ok(match self {
            Self::Sqlite(pool) => sqlx::query_scalar(SQL).bind(tenant).fetch_one(pool).await?,
            Self::Postgres(pool) => sqlx::query_scalar(SQL).bind(tenant).fetch_one(pool).await?,
        })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}
