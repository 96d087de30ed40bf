//! `replay verify` as a library: chains, position holes, the digest and what tampering does
//! to each, over generated retail activity.
//!
//! Every case runs on both backends (`replay_verify::sqlite::...`,
//! `replay_verify::postgres::...`). The ignored `measure_verify_rate_*` tests print the
//! verification rate over a larger log (`cargo test -p tests --test it replay_verify --
//! --ignored --nocapture`).

use event_schemas::{TenantId, canonical_json, envelope_hash};
use pretty_assertions::assert_eq;
use replay::verify::{
    EventRef, PositionNumbering, Problem, VerifyOptions, VerifyReport, verify_log,
};
use store::{AnyStore, EventStore, Position, RecordedEvent};
use tests::{Backend, TestStore};

on_both_backends!(
    a_clean_generated_log_verifies_with_the_right_counts,
    an_altered_payload_fails_naming_that_event,
    a_removed_event_in_the_middle_and_at_the_end_of_a_stream_fails_naming_it,
    the_digest_up_to_a_position_ignores_later_events_and_changes_when_an_earlier_event_is_rewritten,
    a_copy_of_the_database_gives_the_same_digest,
    verifying_while_retail_activity_is_being_written_finds_nothing_wrong,
    events_of_a_stream_whose_head_was_removed_are_reported,
);

// ---- helpers --------------------------------------------------------------------------------

/// Generates retail activity through the real command service; returns the events written.
async fn generate(db: &TestStore, seed: u64, events: u64) -> u64 {
    let service = application::commands::CommandService::new(db.store.clone());
    let report = tests::workload::Workload::new(seed)
        .tenants(2)
        .run(&service, events)
        .await
        .unwrap();
    report.events_written
}

async fn read_everything(store: &AnyStore) -> Vec<RecordedEvent> {
    let mut all = Vec::new();
    loop {
        let after = all
            .last()
            .map_or(Position::START, |e: &RecordedEvent| e.position);
        let page = store.read_all(after, 1_000).await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

fn event_ref(event: &RecordedEvent) -> EventRef {
    EventRef {
        tenant_id: event.envelope.tenant_id,
        stream_id: event.envelope.stream_id.clone(),
        stream_revision: event.envelope.stream_revision,
        global_position: event.envelope.global_position,
    }
}

async fn verify(db: &TestStore, options: VerifyOptions) -> VerifyReport {
    verify_log(&db.store, &options).await.unwrap()
}

async fn verify_all(db: &TestStore) -> VerifyReport {
    verify(db, VerifyOptions::default()).await
}

async fn digest_up_to(db: &TestStore, tenant_id: Option<TenantId>, up_to: Position) -> String {
    let report = verify(
        db,
        VerifyOptions {
            tenant_id,
            up_to: Some(up_to),
            ..VerifyOptions::default()
        },
    )
    .await;
    assert_eq!(report.digest.through, Some(up_to));
    report.digest.sha256
}

/// Tampering behind the store's back needs the triggers that refuse it switched off.
async fn raw(db: &TestStore, sql: &str) {
    let changed = db.execute_raw(sql).await.unwrap();
    assert_eq!(changed, 1, "{sql}");
}

/// A stream's key as SQL literals (ids are text on SQLite, UUIDs on PostgreSQL; a quoted
/// UUID reads as either).
fn stream_condition(event: &RecordedEvent) -> String {
    format!(
        "tenant_id = '{}' AND stream_id = '{}'",
        event.envelope.tenant_id, event.envelope.stream_id
    )
}

// ---- cases ----------------------------------------------------------------------------------

async fn a_clean_generated_log_verifies_with_the_right_counts(db: &TestStore) {
    let total = generate(db, 7, 1_500).await;
    tests::wait_until_visible(&db.store, total).await;
    let all = read_everything(&db.store).await;
    let streams = db.store.list_streams(None).await.unwrap();

    let report = verify_all(db).await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.numbering, PositionNumbering::of(&db.store));
    let expected_numbering = match db.backend() {
        Backend::Sqlite => PositionNumbering::GapFree,
        Backend::Postgres => PositionNumbering::MayHaveGaps,
    };
    assert_eq!(report.numbering, expected_numbering);
    assert_eq!(
        (report.streams, report.events, report.log_events),
        (streams.len() as u64, total, total)
    );
    assert_eq!(report.digest.events, total);
    assert_eq!(
        report.digest.through,
        all.last().map(|event| event.position)
    );
    assert!(report.events_per_second() > 0.0);

    // One retailer: its streams and events only, while positions still cover the log.
    let tenant_id = all[0].envelope.tenant_id;
    let mine = all
        .iter()
        .filter(|event| event.envelope.tenant_id == tenant_id)
        .count() as u64;
    assert!(mine < total, "the workload wrote for two retailers");
    let one = verify(
        db,
        VerifyOptions {
            tenant_id: Some(tenant_id),
            ..VerifyOptions::default()
        },
    )
    .await;
    assert!(one.is_intact(), "{:?}", one.problems);
    assert_eq!(
        (one.streams, one.events, one.log_events, one.digest.events),
        (
            streams.iter().filter(|s| s.tenant_id == tenant_id).count() as u64,
            mine,
            total,
            mine
        )
    );
    assert_ne!(one.digest.sha256, report.digest.sha256);

    // One stream.
    let stream = &all[0].envelope.stream_id;
    let single = verify(
        db,
        VerifyOptions {
            tenant_id: Some(tenant_id),
            stream_id: Some(stream.clone()),
            ..VerifyOptions::default()
        },
    )
    .await;
    let in_stream = all
        .iter()
        .filter(|e| e.envelope.tenant_id == tenant_id && &e.envelope.stream_id == stream)
        .count() as u64;
    assert!(single.is_intact(), "{:?}", single.problems);
    assert_eq!(
        (single.streams, single.events, single.digest.events),
        (1, in_stream, in_stream)
    );
}

async fn an_altered_payload_fails_naming_that_event(db: &TestStore) {
    let total = generate(db, 11, 800).await;
    tests::wait_until_visible(&db.store, total).await;
    let all = read_everything(&db.store).await;
    let target = &all[all.len() / 2];
    db.disable_immutability().await;
    raw(
        db,
        &format!(
            "UPDATE events SET payload = '{{\"tampered\":true}}' WHERE global_position = {}",
            target.envelope.global_position
        ),
    )
    .await;

    let report = verify_all(db).await;
    assert!(!report.is_intact());
    assert_eq!(
        report.problems,
        vec![Problem::Altered {
            event: event_ref(target)
        }]
    );
    let first = report.first_broken().unwrap().to_string();
    for part in [
        target.envelope.tenant_id.to_string(),
        target.envelope.stream_id.clone(),
        format!("revision {}", target.envelope.stream_revision),
        format!("position {}", target.envelope.global_position),
        "altered".to_owned(),
    ] {
        assert!(first.contains(&part), "{first:?} names {part:?}");
    }
}

async fn a_removed_event_in_the_middle_and_at_the_end_of_a_stream_fails_naming_it(db: &TestStore) {
    let total = generate(db, 13, 800).await;
    tests::wait_until_visible(&db.store, total).await;
    let all = read_everything(&db.store).await;
    let revisions = |event: &RecordedEvent| {
        all.iter()
            .filter(|e| {
                e.envelope.tenant_id == event.envelope.tenant_id
                    && e.envelope.stream_id == event.envelope.stream_id
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    // The end of a stream: the log's last event is the last of its stream; removing it
    // leaves no later position behind it, which SQLite still notices by its counter.
    let end = all.last().unwrap();
    let end_stream = revisions(end);
    assert!(
        end_stream.len() >= 2,
        "the last stream has a surviving event"
    );
    let before_end = &end_stream[end_stream.len() - 2];
    // The middle of a stream: revision 1 of another stream with at least three events,
    // which starts before `before_end` so that it is the first broken event.
    let stream = all
        .iter()
        .filter(|e| e.envelope.stream_revision == 0 && e.position < before_end.position)
        .map(revisions)
        .find(|stream| {
            stream.len() >= 3
                && (stream[0].envelope.tenant_id, &stream[0].envelope.stream_id)
                    != (end.envelope.tenant_id, &end.envelope.stream_id)
        })
        .unwrap();
    let (previous, middle, next) = (&stream[0], &stream[1], &stream[2]);

    db.disable_immutability().await;
    for event in [middle, end] {
        raw(
            db,
            &format!(
                "DELETE FROM events WHERE global_position = {}",
                event.envelope.global_position
            ),
        )
        .await;
    }

    let report = verify_all(db).await;
    let missing = Problem::MissingRevision {
        tenant_id: middle.envelope.tenant_id,
        stream_id: middle.envelope.stream_id.clone(),
        revision: 1,
        previous: Some(event_ref(previous)),
        next: Some(event_ref(next)),
    };
    let head = Problem::HeadMismatch {
        tenant_id: end.envelope.tenant_id,
        stream_id: end.envelope.stream_id.clone(),
        head_revision: end.envelope.stream_revision,
        last: Some(event_ref(before_end)),
    };
    assert!(report.problems.contains(&missing), "{:#?}", report.problems);
    assert!(report.problems.contains(&head), "{:#?}", report.problems);
    assert!(
        report.problems.contains(&Problem::BrokenLink {
            event: event_ref(next)
        }),
        "{:#?}",
        report.problems
    );
    assert_eq!(report.first_broken(), Some(&missing));
    let first = report.first_broken().unwrap().to_string();
    assert!(
        first.contains(&middle.envelope.stream_id) && first.contains("revision 1: missing"),
        "{first}"
    );
    let end_text = head.to_string();
    assert!(
        end_text.contains(&format!(
            "revision {}: missing",
            end.envelope.stream_revision
        )),
        "{end_text}"
    );

    let holes: Vec<&Problem> = report
        .problems
        .iter()
        .filter(|p| matches!(p, Problem::PositionHole { .. }))
        .collect();
    match db.backend() {
        // Gap-free numbering: each removed event also leaves a hole, named with the events
        // around it; the one at the end is found through SQLite's AUTOINCREMENT counter.
        Backend::Sqlite => {
            let at = |position: u64| {
                all.iter()
                    .find(|e| e.envelope.global_position == position)
                    .map(event_ref)
            };
            let gone = middle.envelope.global_position;
            let last = end.envelope.global_position;
            assert_eq!(
                holes,
                vec![
                    &Problem::PositionHole {
                        first_missing: gone,
                        last_missing: gone,
                        before: at(gone - 1),
                        after: at(gone + 1),
                    },
                    &Problem::PositionHole {
                        first_missing: last,
                        last_missing: last,
                        before: at(last - 1),
                        after: None,
                    },
                ]
            );
        }
        // A sequence skips numbers legitimately: only the per-stream checks apply.
        Backend::Postgres => assert!(holes.is_empty(), "{holes:?}"),
    }
}

async fn events_of_a_stream_whose_head_was_removed_are_reported(db: &TestStore) {
    let total = generate(db, 53, 300).await;
    tests::wait_until_visible(&db.store, total).await;
    let all = read_everything(&db.store).await;
    // The chain check walks the heads, so a stream without one is invisible to it; the
    // pass over the whole log still finds its events.
    let first = &all[all.len() / 2];
    let first = all
        .iter()
        .find(|e| {
            e.envelope.tenant_id == first.envelope.tenant_id
                && e.envelope.stream_id == first.envelope.stream_id
        })
        .unwrap();
    raw(
        db,
        &format!("DELETE FROM streams WHERE {}", stream_condition(first)),
    )
    .await;
    let report = verify_all(db).await;
    assert_eq!(
        report.problems,
        vec![Problem::NoHead {
            event: event_ref(first)
        }]
    );
}

async fn the_digest_up_to_a_position_ignores_later_events_and_changes_when_an_earlier_event_is_rewritten(
    db: &TestStore,
) {
    let total = generate(db, 17, 600).await;
    tests::wait_until_visible(&db.store, total).await;
    let first = verify_all(db).await;
    let through = first.digest.through.unwrap();
    let tenant_id = read_everything(&db.store).await[0].envelope.tenant_id;
    let tenant_first = verify(
        db,
        VerifyOptions {
            tenant_id: Some(tenant_id),
            ..VerifyOptions::default()
        },
    )
    .await;
    let tenant_through = tenant_first.digest.through.unwrap();

    // More activity after the position: the digest up to it does not move.
    let more = generate(db, 18, 300).await;
    tests::wait_until_visible(&db.store, total + more).await;
    let later = verify_all(db).await;
    assert!(later.is_intact(), "{:?}", later.problems);
    assert_ne!(later.digest.sha256, first.digest.sha256);
    assert_eq!(digest_up_to(db, None, through).await, first.digest.sha256);
    assert_eq!(
        digest_up_to(db, Some(tenant_id), tenant_through).await,
        tenant_first.digest.sha256
    );

    // An attacker rewrites an event before the position and re-chains it (new payload,
    // recomputed hash, the stream's head updated): the chains verify, the digest does not
    // match the other auditor's.
    let all = read_everything(&db.store).await;
    let victim = all
        .iter()
        .filter(|e| e.position < through)
        .rev()
        .find(|e| {
            !all.iter().any(|other| {
                other.envelope.tenant_id == e.envelope.tenant_id
                    && other.envelope.stream_id == e.envelope.stream_id
                    && other.envelope.stream_revision > e.envelope.stream_revision
            })
        })
        .expect("a stream that ends before the position");
    let mut forged = victim.envelope.clone();
    forged
        .payload
        .as_object_mut()
        .unwrap()
        .insert("tampered_by".into(), "attacker".into());
    forged.hash = envelope_hash(&forged);
    db.disable_immutability().await;
    raw(
        db,
        &format!(
            "UPDATE events SET payload = '{}', hash = '{}' WHERE global_position = {}",
            canonical_json(&forged.payload).replace('\'', "''"),
            forged.hash,
            forged.global_position
        ),
    )
    .await;
    raw(
        db,
        &format!(
            "UPDATE streams SET last_hash = '{}' WHERE {}",
            forged.hash,
            stream_condition(victim)
        ),
    )
    .await;
    let rewritten = verify(
        db,
        VerifyOptions {
            up_to: Some(through),
            ..VerifyOptions::default()
        },
    )
    .await;
    assert!(
        rewritten.is_intact(),
        "a re-chained rewrite passes the chain check: {:?}",
        rewritten.problems
    );
    assert_ne!(rewritten.digest.sha256, first.digest.sha256);
    assert_eq!(rewritten.digest.events, first.digest.events);

    // A position that names no event cannot be compared: it is reported.
    let beyond = Position {
        commit: u64::from(u32::MAX),
        prepare: u64::from(u32::MAX),
    };
    let nowhere = verify(
        db,
        VerifyOptions {
            up_to: Some(beyond),
            ..VerifyOptions::default()
        },
    )
    .await;
    assert!(
        matches!(nowhere.problems.as_slice(), [Problem::UpToNotInLog { requested, .. }] if *requested == beyond),
        "{:?}",
        nowhere.problems
    );
}

async fn a_copy_of_the_database_gives_the_same_digest(db: &TestStore) {
    let total = generate(db, 19, 600).await;
    tests::wait_until_visible(&db.store, total).await;
    let original = verify_all(db).await;
    assert!(original.is_intact(), "{:?}", original.problems);
    let through = original.digest.through.unwrap();

    match db.backend() {
        Backend::Sqlite => {
            let directory = tempfile::tempdir().unwrap();
            // A copy taken while the store is open...
            let vacuumed = directory.path().join("vacuumed.db");
            db.execute_raw(&format!("VACUUM INTO '{}'", vacuumed.display()))
                .await
                .unwrap();
            // ...and a byte copy of the file once the store is closed. In WAL mode the
            // file alone holds every commit only after a checkpoint: take one rather than
            // rely on the last connection's close doing it before the copy starts.
            db.execute_raw("PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .unwrap();
            db.store.close().await;
            let path = db.database.url.trim_start_matches("sqlite://");
            let copied = directory.path().join("copied.db");
            std::fs::copy(path, &copied).unwrap();
            for file in [vacuumed, copied] {
                let copy = AnyStore::connect(&format!("sqlite://{}", file.display()))
                    .await
                    .unwrap();
                let report = verify_log(
                    &copy,
                    &VerifyOptions {
                        up_to: Some(through),
                        ..VerifyOptions::default()
                    },
                )
                .await
                .unwrap();
                copy.close().await;
                assert!(report.is_intact(), "{file:?}: {:?}", report.problems);
                assert_eq!(report.digest, original.digest, "{file:?}");
            }
        }
        Backend::Postgres => {
            // PostgreSQL copies a database with CREATE DATABASE ... TEMPLATE, which needs
            // the original to have no other connection.
            db.store.close().await;
            let source = db.database.url.rsplit('/').next().unwrap().to_owned();
            let name = format!("{source}_copy");
            let admin_url = tests::postgres_admin_url();
            let admin = AdminConnection::open(&admin_url).await;
            // Connections of the test's other pools may linger a moment after close: the
            // test owns this database, so end them.
            admin
                .execute(&format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{source}' AND pid <> pg_backend_pid()"
                ))
                .await;
            admin
                .execute(&format!("CREATE DATABASE {name} TEMPLATE {source}"))
                .await;
            let base = admin_url.rsplit_once('/').unwrap().0;
            let copy = AnyStore::connect(&format!("{base}/{name}")).await.unwrap();
            let report = verify_log(
                &copy,
                &VerifyOptions {
                    up_to: Some(through),
                    ..VerifyOptions::default()
                },
            )
            .await;
            copy.close().await;
            admin
                .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            let report = report.unwrap();
            assert!(report.is_intact(), "{:?}", report.problems);
            assert_eq!(report.digest, original.digest);
        }
    }
}

async fn verifying_while_retail_activity_is_being_written_finds_nothing_wrong(db: &TestStore) {
    // A server appending meanwhile: streams grow past the heads listed and new streams
    // appear during each run. None of it may be reported as damage.
    let done = std::sync::atomic::AtomicBool::new(false);
    let writing = async {
        let total = generate(db, 29, 1_500).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        total
    };
    let verifying = async {
        let mut runs = 0;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let report = verify_all(db).await;
            assert!(report.is_intact(), "run {runs}: {:#?}", report.problems);
            runs += 1;
        }
        runs
    };
    let (total, runs) = tokio::join!(writing, verifying);
    assert!(runs > 1, "verified {runs} times while writing");
    tests::wait_until_visible(&db.store, total).await;
    let report = verify_all(db).await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.events, total);
}

/// A connection to the PostgreSQL server's maintenance database, for CREATE/DROP DATABASE.
struct AdminConnection(tokio::sync::Mutex<sqlx::PgConnection>);

impl AdminConnection {
    async fn open(url: &str) -> Self {
        use sqlx::Connection;
        Self(tokio::sync::Mutex::new(
            sqlx::PgConnection::connect(url).await.unwrap(),
        ))
    }

    /// Runs a statement built from generated names only (never input).
    async fn execute(&self, sql: &str) {
        let mut connection = self.0.lock().await;
        sqlx::raw_sql(sql).execute(&mut *connection).await.unwrap();
    }
}

// ---- measurement ----------------------------------------------------------------------------

/// Prints how fast a log of `SERIAL_LEDGER_MEASURE_EVENTS` (default 30,000) generated
/// events verifies. Timing only: it asserts nothing about speed.
async fn measure_verify_rate(db: &TestStore) {
    let target = std::env::var("SERIAL_LEDGER_MEASURE_EVENTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(30_000);
    let started = std::time::Instant::now();
    let total = generate(db, 23, target).await;
    tests::wait_until_visible(&db.store, total).await;
    eprintln!(
        "{:?}: generated {total} events in {:.1?}",
        db.backend(),
        started.elapsed()
    );
    for _ in 0..2 {
        let report = verify_all(db).await;
        assert!(report.is_intact(), "{:?}", report.problems);
        let chains_only = {
            let started = std::time::Instant::now();
            let chains = store::verify(&db.store, &store::VerifyScope::default())
                .await
                .unwrap();
            (chains.events, started.elapsed())
        };
        eprintln!(
            "{:?}: verify of {} streams, {} events: {:.2?}, {:.0} events/s; chain check alone \
             {:.2?}",
            db.backend(),
            report.streams,
            report.events,
            report.elapsed,
            report.events_per_second(),
            chains_only.1,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement: run with --ignored --nocapture"]
async fn measure_verify_rate_sqlite() {
    measure_verify_rate(&TestStore::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement: run with --ignored --nocapture"]
async fn measure_verify_rate_postgres() {
    measure_verify_rate(&TestStore::postgres().await).await;
}
