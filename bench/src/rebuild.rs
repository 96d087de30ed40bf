//! Scenario 2, rebuild: a log of N events written by the command mix (32 clients), then all
//! three projections rebuilt from it as `serial-ledger replay rebuild` does (events/s, and the
//! peak resident memory of the rebuild), and in the same run the limit: a scan of the whole
//! log through the store's reader with every payload decoded (and upcast) to its event, and
//! nothing folded.

use crate::env::{Backend, Database, Shop};
use crate::mix::SaleFlow;
use crate::report::Figure;
use crate::stats::{proc_status_mib, reset_peak_memory};
use event_schemas::LedgerEvent;
use futures::future::try_join_all;
use projections::Projection;
use replay::rebuild::{Control, Progress, RebuildObserver, RebuildOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use store::{EventStore, Position};

/// Clients writing the log.
const WRITERS: usize = 32;

struct Quiet;

impl RebuildObserver for Quiet {
    fn progress(&mut self, _: &Progress) -> Control {
        Control::Continue
    }
}

/// Runs the scenario once on a fresh database with a log of at least `events` events.
pub async fn run(
    backend: Backend,
    postgres_url: &str,
    events: u64,
    batch_size: usize,
    run: u32,
) -> anyhow::Result<Vec<Figure>> {
    let database = Database::create(backend, postgres_url).await?;
    let shop = Shop::open(&database).await?;
    let generated = Instant::now();
    let written = generate(&shop, events, run).await?;
    let store = shop.state.store.clone();
    // On PostgreSQL readers see the log up to the oldest transaction still open on the
    // server: wait until every event written is visible.
    let visible_by = Instant::now() + Duration::from_secs(600);
    let in_log = loop {
        let visible = store.count_after(Position::START).await?;
        if visible >= written || Instant::now() > visible_by {
            break visible;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "rebuild/{backend}: {in_log} events in the log ({written} written by the mix in {:.0} s)",
        generated.elapsed().as_secs_f64()
    );

    // The limit first, so both read a log the database has had the same chance to cache.
    let scanned = Instant::now();
    let decoded = scan_and_decode(&store, batch_size).await?;
    let scan_rate = decoded as f64 / scanned.elapsed().as_secs_f64();

    let peak_reset = reset_peak_memory();
    let before = proc_status_mib(None, "VmRSS:").unwrap_or(0.0);
    let rebuilt = Instant::now();
    let report = replay::rebuild::rebuild(
        &store,
        &Projection::ALL,
        RebuildOptions { batch_size },
        &mut Quiet,
    )
    .await?;
    let elapsed = rebuilt.elapsed().as_secs_f64();
    let peak = proc_status_mib(None, "VmHWM:").unwrap_or(0.0);
    let folded: u64 = report.projections.iter().map(|p| p.events).sum();
    store.close().await;
    database.drop_database().await?;

    let backend = backend.to_string();
    // Named by the size asked for: the mix overshoots by a few events, differently per run.
    let mut case = format!("{} events", crate::report::number(events as f64));
    if batch_size != replay::rebuild::REBUILD_BATCH_SIZE {
        case.push_str(&format!(
            ", batches of {}",
            crate::report::number(batch_size as f64)
        ));
    }
    let mut figures = vec![
        // Each projection reads the whole log: the log's events over the whole rebuild is
        // what an operator waits for; per projection, three times that.
        Figure::plain(
            "rebuild",
            &backend,
            &case,
            "events/s (all 3 projections)",
            in_log as f64 / elapsed,
        )
        .against("scan+decode events/s", scan_rate),
        Figure::plain(
            "rebuild",
            &backend,
            &case,
            "events/s per projection",
            folded as f64 / elapsed,
        )
        .against("scan+decode events/s", scan_rate),
    ];
    if peak_reset {
        figures.push(Figure::plain(
            "rebuild",
            &backend,
            &case,
            "peak RSS MiB during rebuild",
            peak,
        ));
        figures.push(Figure::plain(
            "rebuild",
            &backend,
            &case,
            "RSS MiB before rebuild",
            before,
        ));
    }
    Ok(figures)
}

/// Runs the mix from [`WRITERS`] clients until `events` events are written.
async fn generate(shop: &Shop, events: u64, run: u32) -> anyhow::Result<u64> {
    let written = Arc::new(AtomicU64::new(0));
    let far = Instant::now() + Duration::from_secs(24 * 3600);
    let tasks = (0..WRITERS).map(|client| {
        let shop = shop.clone();
        let written = written.clone();
        tokio::spawn(async move {
            let mut flow = SaleFlow::new(shop, run, client);
            let done = || written.load(Ordering::Relaxed) >= events;
            flow.run_until(far, done, |outcome| {
                written.fetch_add(outcome.events.len() as u64, Ordering::Relaxed);
            })
            .await
        })
    });
    for joined in try_join_all(tasks).await? {
        joined?;
    }
    Ok(written.load(Ordering::Relaxed))
}

/// Reads the whole log in batches of the rebuild's size and decodes every payload; the
/// events decoded.
async fn scan_and_decode(store: &store::AnyStore, batch_size: usize) -> anyhow::Result<u64> {
    let mut after = Position::START;
    let mut decoded = 0;
    loop {
        let batch = store.read_all(after, batch_size).await?;
        let Some(last) = batch.last() else {
            return Ok(decoded);
        };
        after = last.position;
        for event in &batch {
            let envelope = &event.envelope;
            let event = LedgerEvent::decode(
                &envelope.event_type,
                envelope.schema_version,
                &envelope.payload,
            )?;
            std::hint::black_box(event);
            decoded += 1;
        }
    }
}
