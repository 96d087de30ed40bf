//! No skipped or repeated events at scale on PostgreSQL, where concurrent transactions
//! commit out of order: 16 writers append through the store at once while three
//! `subscribe_all` readers and the projection runner follow the log live. Afterwards every
//! subscriber has seen every event exactly once, in position order, each stream's events in
//! revision order, and nothing after; every projection has read every event once.
//!
//! Quick mode (the normal `cargo test`): 100,000 events (about 90 s on two busy cores).
//! Long mode, 1,000,000 events:
//! `SERIAL_LEDGER_LONG=1 cargo test -p tests --test it no_skip -- --nocapture`
//! (`SERIAL_LEDGER_NO_SKIP_EVENTS` sets another count). Figures go to stderr.

use event_schemas::*;
use futures::StreamExt;
use projections::{Projection, ProjectionRunner, RunnerOptions};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use store::*;
use tests::TestStore;
use uuid::Uuid;

const WRITERS: usize = 16;
const SUBSCRIBERS: usize = 3;
/// Each product is two appends of 25 events: created and 24 mode changes with no stream
/// yet, then 25 more changes at the revision the first append left.
const EVENTS_PER_PRODUCT: usize = 50;
const FIRST_APPEND: usize = EVENTS_PER_PRODUCT / 2;

fn total_events() -> usize {
    let wanted: usize = std::env::var("SERIAL_LEDGER_NO_SKIP_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(
            if std::env::var("SERIAL_LEDGER_LONG").is_ok_and(|v| v == "1") {
                1_000_000
            } else {
                100_000
            },
        );
    let per_round = WRITERS * EVENTS_PER_PRODUCT;
    wanted.div_ceil(per_round) * per_round
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_16_concurrent_writers_subscribers_and_projections_see_every_event_once() {
    let db = TestStore::postgres().await;
    let total = total_events();
    let runner = ProjectionRunner::new(
        db.store.clone(),
        RunnerOptions {
            batch_size: 1_000,
            poll_interval: Duration::from_millis(20),
            ..RunnerOptions::default()
        },
    );
    runner.migrate().await.unwrap();
    let running = runner.spawn();
    let subscribers: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| tokio::spawn(follow(db.store.clone(), total)))
        .collect();

    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| tokio::spawn(write(db.store.clone(), total / WRITERS)))
        .collect();
    let mut written = HashSet::with_capacity(total);
    for writer in writers {
        written.extend(writer.await.unwrap());
    }
    let writing = started.elapsed();
    assert_eq!(written.len(), total);

    for subscriber in subscribers {
        let seen = subscriber.await.unwrap();
        assert!(
            seen == written,
            "a subscriber saw exactly the events written"
        );
    }
    let following = started.elapsed();

    // Folding is the slow part (a statement or more per event, in the debug build): wait as
    // long as the projections make progress, and fail when they stall for five minutes.
    let stall = Duration::from_secs(300);
    let mut progress = (0_u64, Instant::now());
    loop {
        let statuses = runner.status();
        if statuses
            .iter()
            .all(|status| status.events_seen >= total as u64 || status.error.is_some())
        {
            break;
        }
        let seen: u64 = statuses.iter().map(|status| status.events_seen).sum();
        if seen > progress.0 {
            progress = (seen, Instant::now());
        }
        assert!(
            progress.1.elapsed() < stall,
            "projections stalled at {seen} events seen (of {} to see)",
            total as u64 * statuses.len() as u64
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let folding = started.elapsed();
    running.stop().await;
    for projection in Projection::ALL {
        let (_, seen) = runner.checkpoint(projection).await.unwrap();
        assert_eq!(
            seen,
            total as u64,
            "{} read every event once",
            projection.name()
        );
    }
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM rm_products")
        .fetch_one(match &db.store {
            AnyStore::Postgres(store) => store.pool(),
            AnyStore::Sqlite(_) => unreachable!("a PostgreSQL test"),
        })
        .await
        .unwrap();
    assert_eq!(
        products as usize,
        total / EVENTS_PER_PRODUCT,
        "every product is in the read model"
    );
    eprintln!(
        "no-skip: {total} events by {WRITERS} writers in {writing:.1?} ({:.0} events/s); \
         {SUBSCRIBERS} subscribers done after {following:.1?}, {} projections after {folding:.1?}",
        total as f64 / writing.as_secs_f64(),
        Projection::ALL.len()
    );
}

/// Appends `events` events as products of `EVENTS_PER_PRODUCT` events each; returns their
/// ids.
async fn write(store: AnyStore, events: usize) -> Vec<Uuid> {
    let tenant_id = TenantId(Uuid::from_u128(1));
    let mut ids = Vec::with_capacity(events);
    for _ in 0..events / EVENTS_PER_PRODUCT {
        let product_id = ProductId::new_v7();
        let stream_id = streams::product(product_id);
        let mode = |n: usize| {
            if n.is_multiple_of(2) {
                SerialMode::Required
            } else {
                SerialMode::Optional
            }
        };
        let change = |n: usize| -> LedgerEvent {
            SerialModeChanged {
                product_id,
                serial_mode: mode(n),
                previous_serial_mode: mode(n + 1),
                source: SerialModeSource::Manual,
            }
            .into()
        };
        let mut first: Vec<LedgerEvent> = vec![
            ProductCreated {
                product_id,
                sku: format!("SKU-{}", product_id.0.simple()),
                name: "Phone".into(),
                serial_mode: mode(1),
                serial_mode_source: SerialModeSource::Manual,
                package: None,
            }
            .into(),
        ];
        first.extend((2..=FIRST_APPEND).map(change));
        let second: Vec<LedgerEvent> = (FIRST_APPEND + 1..=EVENTS_PER_PRODUCT)
            .map(change)
            .collect();
        for (events, expected_revision) in [
            (first, ExpectedRevision::NoStream),
            (second, ExpectedRevision::Exact(FIRST_APPEND as u64 - 1)),
        ] {
            let events: Vec<NewEvent> = events.iter().map(NewEvent::from_event).collect();
            ids.extend(events.iter().map(|event| event.event_id));
            store
                .append(AppendRequest {
                    tenant_id,
                    metadata: tests::metadata(),
                    writes: vec![StreamWrite {
                        stream_id: stream_id.clone(),
                        expected_revision,
                        events,
                    }],
                    claims: vec![],
                })
                .await
                .unwrap();
        }
    }
    ids
}

/// Follows the log live from the start until `total` events arrived, checking order as they
/// come; then checks nothing more is there. Returns the ids seen.
async fn follow(store: AnyStore, total: usize) -> HashSet<Uuid> {
    let options = SubscriptionOptions {
        batch_size: 1_000,
        poll_interval: Duration::from_millis(20),
    };
    let mut events = Box::pin(subscribe_all(store.clone(), Position::START, options));
    let mut seen = HashSet::with_capacity(total);
    let mut next_revision: HashMap<String, u64> = HashMap::new();
    let mut last = Position::START;
    while seen.len() < total {
        let event = tokio::time::timeout(Duration::from_secs(120), events.next())
            .await
            .expect("the next event within 120 s")
            .expect("the subscription goes on")
            .unwrap();
        assert!(
            event.position > last,
            "{} after {last}: positions only grow",
            event.position
        );
        last = event.position;
        let envelope = event.envelope;
        assert!(
            seen.insert(envelope.event_id),
            "event {} delivered twice",
            envelope.event_id
        );
        let revision = next_revision.entry(envelope.stream_id.clone()).or_default();
        assert_eq!(
            envelope.stream_revision, *revision,
            "{}: revisions in order",
            envelope.stream_id
        );
        *revision += 1;
    }
    assert_eq!(
        store.count_after(last).await.unwrap(),
        0,
        "nothing after the last event"
    );
    seen
}

/// A uniqueness key handed between streams (a serial released by one sale and assigned on
/// another) is released before it is taken again, in the order every reader of the log
/// sees: otherwise a fold of the log (the `serials` projection) finds the serial live on
/// two lines and stops. On PostgreSQL the log is in transaction-id order, and a taker that
/// got its id before the releaser committed used to be ordered before the release.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_key_handed_between_streams_is_released_before_it_is_taken_in_log_order() {
    let db = TestStore::postgres().await;
    let tenant_id = TenantId(Uuid::from_u128(2));
    let keys = ["SN-1", "SN-2"];
    let deadline = Instant::now() + Duration::from_secs(10);
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let stream_id = format!("holder-{writer}");
                let mut held: Option<&str> = None;
                let mut handovers = 0;
                let mut n = writer;
                while Instant::now() < deadline {
                    n += 1;
                    let (action, key) = match held {
                        Some(key) => (ClaimAction::Release, key),
                        None => (ClaimAction::Claim, keys[n % keys.len()]),
                    };
                    let event = NewEvent {
                        event_id: Uuid::now_v7(),
                        event_type: format!("{action:?}"),
                        schema_version: 1,
                        payload: serde_json::json!({ "key": key }),
                    };
                    let appended = store
                        .append(AppendRequest {
                            tenant_id,
                            metadata: tests::metadata(),
                            writes: vec![StreamWrite {
                                stream_id: stream_id.clone(),
                                expected_revision: ExpectedRevision::Any,
                                events: vec![event],
                            }],
                            claims: vec![ClaimChange {
                                action,
                                scope: "serial".into(),
                                key: key.into(),
                                owner: stream_id.clone(),
                            }],
                        })
                        .await;
                    match appended {
                        Ok(_) if action == ClaimAction::Claim => held = Some(key),
                        Ok(_) => {
                            held = None;
                            handovers += 1;
                        }
                        Err(StoreError::ClaimConflict { .. }) => {}
                        Err(error) => panic!("{error}"),
                    }
                }
                handovers
            })
        })
        .collect();
    let mut handovers = 0;
    for writer in writers {
        handovers += writer.await.unwrap();
    }
    assert!(handovers > 20, "the keys changed hands ({handovers} times)");

    let mut holders: HashMap<String, String> = HashMap::new();
    let mut after = Position::START;
    let mut events = 0;
    loop {
        let page = db.store.read_all(after, 1_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in page {
            events += 1;
            let envelope = event.envelope;
            let key = envelope.payload["key"].as_str().unwrap().to_owned();
            if envelope.event_type == "Claim" {
                if let Some(holder) = holders.insert(key.clone(), envelope.stream_id.clone()) {
                    panic!(
                        "{key} taken by {} at {} while {holder} held it, in log order",
                        envelope.stream_id, event.position
                    );
                }
            } else {
                assert_eq!(holders.remove(&key), Some(envelope.stream_id));
            }
        }
    }
    eprintln!("claim handovers: {handovers} by {WRITERS} writers, {events} events in order");
}
