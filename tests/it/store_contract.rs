//! The event store's contract, run unchanged against every backend.
//!
//! Each case is an async function taking a fresh [`TestStore`]; `on_both_backends!` turns the
//! list of cases into `store_contract::sqlite::<case>` and `store_contract::postgres::<case>`
//! tests, so the output names the backend each ran on.

use event_schemas::*;
use futures::StreamExt;
use pretty_assertions::assert_eq;
use std::collections::HashSet;
use std::time::Duration;
use store::*;
use tests::{Backend, TestStore};
use uuid::Uuid;

on_both_backends!(
    a_new_stream_starts_at_revision_zero_and_reads_back_in_order,
    every_event_reads_back_with_its_whole_envelope,
    an_append_at_a_stale_revision_is_a_conflict_naming_the_stream_and_revisions,
    each_expected_revision_kind_is_enforced,
    of_concurrent_appends_at_the_same_revision_exactly_one_wins,
    an_append_to_several_streams_is_all_or_nothing,
    a_claim_held_by_another_owner_refuses_the_whole_append,
    a_released_claim_can_be_taken_by_another_owner,
    of_concurrent_claims_on_one_key_exactly_one_wins,
    a_catch_up_reader_sees_every_event_once_in_order_under_concurrent_writers,
    a_subscription_catches_up_then_follows_live_appends,
    read_all_continues_after_the_position_it_is_given,
    the_head_of_an_empty_log_is_the_start,
    the_head_is_the_position_of_the_last_event_after_appends_to_several_streams,
    a_reader_starting_after_the_head_gets_exactly_the_events_appended_since,
    the_database_refuses_update_and_delete_of_events,
    verify_passes_on_an_untouched_log,
    verify_finds_an_altered_event,
    verify_finds_a_removed_event_in_the_middle_and_at_the_end,
    a_command_already_applied_returns_its_original_result_and_writes_nothing,
    concurrent_retries_of_one_command_write_it_once,
    tenants_share_neither_streams_nor_claims,
    malformed_append_requests_are_refused_before_writing,
    an_append_refused_among_concurrent_ones_leaves_the_others_written,
);

// ---- helpers --------------------------------------------------------------------------------

fn tenant() -> TenantId {
    TenantId::new_v7()
}

use tests::metadata;

fn test_event(n: u64) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "TestEvent".into(),
        schema_version: 1,
        payload: serde_json::json!({ "n": n, "note": "x" }),
    }
}

fn write(
    stream_id: &str,
    expected_revision: ExpectedRevision,
    events: Vec<NewEvent>,
) -> StreamWrite {
    StreamWrite {
        stream_id: stream_id.into(),
        expected_revision,
        events,
    }
}

fn request(tenant_id: TenantId, writes: Vec<StreamWrite>) -> AppendRequest {
    AppendRequest {
        tenant_id,
        metadata: metadata(),
        writes,
        claims: vec![],
    }
}

fn claim(action: ClaimAction, key: &str, owner: &str) -> ClaimChange {
    ClaimChange {
        action,
        scope: "serial".into(),
        key: key.into(),
        owner: owner.into(),
    }
}

async fn append_events(
    db: &TestStore,
    tenant_id: TenantId,
    stream_id: &str,
    expected: ExpectedRevision,
    count: u64,
) -> AppendResult {
    let events = (0..count).map(test_event).collect();
    db.store
        .append(request(tenant_id, vec![write(stream_id, expected, events)]))
        .await
        .expect("append")
}

const MARKER_STREAM: &str = "$marker";

/// Everything in the log once it has settled, without the markers this function writes.
///
/// On PostgreSQL a reader holds back commits while an older transaction is still running
/// anywhere on the server (other tests' too), so one read may come back short. Appending a
/// marker and reading until it appears waits exactly until everything before it is visible.
async fn read_everything(db: &TestStore) -> Vec<RecordedEvent> {
    let marker_tenant = tenant();
    db.store
        .append(request(
            marker_tenant,
            vec![write(
                MARKER_STREAM,
                ExpectedRevision::NoStream,
                vec![test_event(0)],
            )],
        ))
        .await
        .expect("append marker");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut all = Vec::new();
    let mut after = Position::START;
    loop {
        let batch = db.store.read_all(after, 1000).await.expect("read all");
        let marker_seen = batch.iter().any(|e| e.envelope.tenant_id == marker_tenant);
        if let Some(last) = batch.last() {
            after = last.position;
        } else {
            assert!(
                std::time::Instant::now() < deadline,
                "the log did not settle"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        all.extend(
            batch
                .into_iter()
                .filter(|e| e.envelope.stream_id != MARKER_STREAM),
        );
        if marker_seen {
            return all;
        }
    }
}

/// The head once the event at `last_appended` is readable: on PostgreSQL another test's
/// running transaction can hold the newest commits back for a moment, from the head as from
/// `read_all`.
async fn head_once_readable(db: &TestStore, last_appended: Position) -> Position {
    tests::wait_until_readable(&db.store, last_appended).await;
    db.store.head_position().await.expect("head position")
}

// ---- cases ----------------------------------------------------------------------------------

async fn a_new_stream_starts_at_revision_zero_and_reads_back_in_order(db: &TestStore) {
    let tenant_id = tenant();
    let first = append_events(db, tenant_id, "sale-1", ExpectedRevision::NoStream, 3).await;
    assert_eq!(first.streams[0].first_revision, 0);
    assert_eq!(first.streams[0].last_revision, 2);
    let second = append_events(db, tenant_id, "sale-1", ExpectedRevision::Exact(2), 2).await;
    assert_eq!(second.streams[0].first_revision, 3);
    assert!(second.position > first.position);

    let events = db
        .store
        .read_stream(tenant_id, "sale-1", 0, 100)
        .await
        .unwrap();
    let revisions: Vec<u64> = events.iter().map(|e| e.envelope.stream_revision).collect();
    assert_eq!(revisions, vec![0, 1, 2, 3, 4]);
    let from_three = db
        .store
        .read_stream(tenant_id, "sale-1", 3, 1)
        .await
        .unwrap();
    assert_eq!(from_three.len(), 1);
    assert_eq!(from_three[0].envelope.stream_revision, 3);
    assert!(
        db.store
            .read_stream(tenant_id, "nothing", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let head = db
        .store
        .stream_head(tenant_id, "sale-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.revision, 4);
    assert_eq!(head.last_hash, events[4].envelope.hash);
}

async fn every_event_reads_back_with_its_whole_envelope(db: &TestStore) {
    let tenant_id = tenant();
    let event: LedgerEvent = SerialAssigned {
        line_number: LineNumber(2),
        product_id: ProductId::new_v7(),
        serial: "SN-1".into(),
        scanned: None,
    }
    .into();
    let new_event = NewEvent::from_event(&event);
    let metadata = CommandMetadata {
        command_id: CommandId::new_v7(),
        correlation_id: Uuid::now_v7(),
        causation_id: Some(Uuid::now_v7()),
        actor: Actor {
            kind: ActorKind::Integration,
            id: "token-9".into(),
            display_name: "WMS connector".into(),
        },
        channel: Channel::Wms,
        outlet_id: Some(OutletId::new_v7()),
    };
    let before = time::OffsetDateTime::now_utc();
    db.store
        .append(AppendRequest {
            tenant_id,
            metadata: metadata.clone(),
            writes: vec![write(
                "sale-9",
                ExpectedRevision::NoStream,
                vec![new_event.clone()],
            )],
            claims: vec![],
        })
        .await
        .unwrap();
    let stored = db
        .store
        .read_stream(tenant_id, "sale-9", 0, 1)
        .await
        .unwrap()
        .remove(0);
    let envelope = stored.envelope;
    assert_eq!(envelope.event_id, new_event.event_id);
    assert_eq!(envelope.tenant_id, tenant_id);
    assert_eq!(envelope.metadata, metadata);
    assert_eq!(envelope.previous_hash, GENESIS_HASH);
    assert_eq!(envelope.hash.len(), 64);
    assert!(envelope.recorded_at >= before - Duration::from_secs(1));
    assert_eq!(
        LedgerEvent::decode(
            &envelope.event_type,
            envelope.schema_version,
            &envelope.payload
        )
        .unwrap(),
        event
    );
    assert_eq!(envelope.global_position, stored.position.prepare);
}

async fn an_append_at_a_stale_revision_is_a_conflict_naming_the_stream_and_revisions(
    db: &TestStore,
) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "sale-2", ExpectedRevision::NoStream, 2).await;
    let error = db
        .store
        .append(request(
            tenant_id,
            vec![write(
                "sale-2",
                ExpectedRevision::Exact(0),
                vec![test_event(9)],
            )],
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            StoreError::WrongExpectedRevision { stream_id, expected: ExpectedRevision::Exact(0), actual: Some(1) }
                if stream_id == "sale-2"
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "stream sale-2 was expected at revision 0, but it is at revision 1"
    );
    assert_eq!(
        db.store
            .read_stream(tenant_id, "sale-2", 0, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn each_expected_revision_kind_is_enforced(db: &TestStore) {
    let tenant_id = tenant();
    let refused = |expected, stream: &str| {
        let stream = stream.to_owned();
        async move {
            db.store
                .append(request(
                    tenant_id,
                    vec![write(&stream, expected, vec![test_event(0)])],
                ))
                .await
                .is_err()
        }
    };
    assert!(
        refused(ExpectedRevision::StreamExists, "s").await,
        "exists on a missing stream"
    );
    assert!(
        refused(ExpectedRevision::Exact(0), "s").await,
        "exact on a missing stream"
    );
    assert!(
        !refused(ExpectedRevision::NoStream, "s").await,
        "no-stream on a missing stream"
    );
    assert!(
        refused(ExpectedRevision::NoStream, "s").await,
        "no-stream on an existing stream"
    );
    assert!(
        !refused(ExpectedRevision::StreamExists, "s").await,
        "exists on an existing stream"
    );
    assert!(
        !refused(ExpectedRevision::Any, "s").await,
        "any on an existing stream"
    );
    assert!(
        !refused(ExpectedRevision::Any, "t").await,
        "any on a missing stream"
    );
    assert!(
        !refused(ExpectedRevision::Exact(2), "s").await,
        "exact at the head"
    );
}

async fn of_concurrent_appends_at_the_same_revision_exactly_one_wins(db: &TestStore) {
    let tenant_id = tenant();
    for round in 0..10 {
        let stream = format!("race-{round}");
        append_events(db, tenant_id, &stream, ExpectedRevision::NoStream, 1).await;
        let contenders = (0..8).map(|n| {
            let store = db.store.clone();
            let stream = stream.clone();
            tokio::spawn(async move {
                store
                    .append(request(
                        tenant_id,
                        vec![write(
                            &stream,
                            ExpectedRevision::Exact(0),
                            vec![test_event(n)],
                        )],
                    ))
                    .await
            })
        });
        let outcomes = futures::future::join_all(contenders).await;
        let wins = outcomes.iter().filter(|o| matches!(o, Ok(Ok(_)))).count();
        let conflicts = outcomes
            .iter()
            .filter(|o| {
                matches!(
                    o,
                    Ok(Err(StoreError::WrongExpectedRevision {
                        actual: Some(1),
                        ..
                    }))
                )
            })
            .count();
        assert_eq!((wins, conflicts), (1, 7), "round {round}: {outcomes:?}");
        assert_eq!(
            db.store
                .read_stream(tenant_id, &stream, 0, 10)
                .await
                .unwrap()
                .len(),
            2
        );
    }
}

async fn an_append_to_several_streams_is_all_or_nothing(db: &TestStore) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "b", ExpectedRevision::NoStream, 1).await;
    let error = db
        .store
        .append(request(
            tenant_id,
            vec![
                write(
                    "a",
                    ExpectedRevision::NoStream,
                    vec![test_event(1), test_event(2)],
                ),
                write("b", ExpectedRevision::Exact(5), vec![test_event(3)]),
            ],
        ))
        .await
        .unwrap_err();
    assert!(error.is_conflict());
    assert!(
        db.store
            .read_stream(tenant_id, "a", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        db.store
            .stream_head(tenant_id, "a")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(read_everything(db).await.len(), 1);

    let both = db
        .store
        .append(request(
            tenant_id,
            vec![
                write("a", ExpectedRevision::NoStream, vec![test_event(1)]),
                write("b", ExpectedRevision::Exact(0), vec![test_event(2)]),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(both.streams.len(), 2);
    assert_eq!(read_everything(db).await.len(), 3);
}

async fn a_claim_held_by_another_owner_refuses_the_whole_append(db: &TestStore) {
    let tenant_id = tenant();
    let mut first = request(
        tenant_id,
        vec![write(
            "sale-a",
            ExpectedRevision::NoStream,
            vec![test_event(1)],
        )],
    );
    first.claims = vec![claim(ClaimAction::Claim, "p1/SN-1", "sale-a#1")];
    db.store.append(first).await.unwrap();

    let mut second = request(
        tenant_id,
        vec![write(
            "sale-b",
            ExpectedRevision::NoStream,
            vec![test_event(2)],
        )],
    );
    second.claims = vec![
        claim(ClaimAction::Claim, "p1/SN-2", "sale-b#1"),
        claim(ClaimAction::Claim, "p1/SN-1", "sale-b#2"),
    ];
    let error = db.store.append(second).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::ClaimConflict { scope, key, held_by }
            if scope == "serial" && key == "p1/SN-1" && held_by == "sale-a#1"),
        "{error:?}"
    );
    assert!(
        db.store
            .read_stream(tenant_id, "sale-b", 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        db.store
            .claim_holder(tenant_id, "serial", "p1/SN-2")
            .await
            .unwrap(),
        None
    );

    // The holder itself may claim again (a retried or repeated claim is not a conflict).
    let mut again = request(
        tenant_id,
        vec![write(
            "sale-a",
            ExpectedRevision::Exact(0),
            vec![test_event(3)],
        )],
    );
    again.claims = vec![claim(ClaimAction::Claim, "p1/SN-1", "sale-a#1")];
    db.store.append(again).await.unwrap();
}

async fn a_released_claim_can_be_taken_by_another_owner(db: &TestStore) {
    let tenant_id = tenant();
    let mut take = request(
        tenant_id,
        vec![write(
            "sale-a",
            ExpectedRevision::NoStream,
            vec![test_event(1)],
        )],
    );
    take.claims = vec![claim(ClaimAction::Claim, "p1/SN-1", "sale-a#1")];
    db.store.append(take).await.unwrap();

    // A release by someone who does not hold the key changes nothing.
    let mut stranger = request(
        tenant_id,
        vec![write(
            "sale-c",
            ExpectedRevision::NoStream,
            vec![test_event(2)],
        )],
    );
    stranger.claims = vec![claim(ClaimAction::Release, "p1/SN-1", "sale-c#1")];
    db.store.append(stranger).await.unwrap();
    assert_eq!(
        db.store
            .claim_holder(tenant_id, "serial", "p1/SN-1")
            .await
            .unwrap()
            .as_deref(),
        Some("sale-a#1")
    );

    let mut release = request(
        tenant_id,
        vec![write(
            "sale-a",
            ExpectedRevision::Exact(0),
            vec![test_event(3)],
        )],
    );
    release.claims = vec![claim(ClaimAction::Release, "p1/SN-1", "sale-a#1")];
    db.store.append(release).await.unwrap();
    let mut retake = request(
        tenant_id,
        vec![write(
            "sale-b",
            ExpectedRevision::NoStream,
            vec![test_event(4)],
        )],
    );
    retake.claims = vec![claim(ClaimAction::Claim, "p1/SN-1", "sale-b#1")];
    db.store.append(retake).await.unwrap();
    assert_eq!(
        db.store
            .claim_holder(tenant_id, "serial", "p1/SN-1")
            .await
            .unwrap()
            .as_deref(),
        Some("sale-b#1")
    );
}

async fn of_concurrent_claims_on_one_key_exactly_one_wins(db: &TestStore) {
    let tenant_id = tenant();
    for round in 0..5 {
        let key = format!("p1/SN-{round}");
        let contenders = (0..8).map(|n| {
            let store = db.store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let stream = format!("sale-{round}-{n}");
                let mut append = request(
                    tenant_id,
                    vec![write(
                        &stream,
                        ExpectedRevision::NoStream,
                        vec![test_event(n)],
                    )],
                );
                append.claims = vec![claim(ClaimAction::Claim, &key, &stream)];
                store.append(append).await
            })
        });
        let outcomes = futures::future::join_all(contenders).await;
        let wins = outcomes.iter().filter(|o| matches!(o, Ok(Ok(_)))).count();
        let conflicts = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Err(StoreError::ClaimConflict { .. }))))
            .count();
        assert_eq!((wins, conflicts), (1, 7), "round {round}: {outcomes:?}");
    }
    assert_eq!(read_everything(db).await.len(), 5);
}

async fn a_catch_up_reader_sees_every_event_once_in_order_under_concurrent_writers(db: &TestStore) {
    const WRITERS: u64 = 8;
    const APPENDS_PER_WRITER: u64 = 250;
    const EVENTS_PER_APPEND: u64 = 2;
    let total = (WRITERS * APPENDS_PER_WRITER * EVENTS_PER_APPEND) as usize;
    let tenant_id = tenant();

    let reader = {
        let subscription = subscribe_all(
            db.store.clone(),
            Position::START,
            SubscriptionOptions {
                batch_size: 100,
                poll_interval: Duration::from_millis(20),
            },
        );
        tokio::spawn(async move {
            subscription
                .take(total)
                .map(|event| event.expect("subscription read"))
                .collect::<Vec<_>>()
                .await
        })
    };

    let writers = (0..WRITERS).map(|writer| {
        let store = db.store.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for append in 0..APPENDS_PER_WRITER {
                let events: Vec<NewEvent> = (0..EVENTS_PER_APPEND)
                    .map(|n| test_event(append * 10 + n))
                    .collect();
                ids.extend(events.iter().map(|e| e.event_id));
                // Several writers share streams, so some appends also exercise the head lock.
                let stream = format!("stream-{}", (writer + append) % 12);
                store
                    .append(request(
                        tenant_id,
                        vec![write(&stream, ExpectedRevision::Any, events)],
                    ))
                    .await
                    .expect("append");
            }
            ids
        })
    });
    let mut written = HashSet::new();
    for writer in futures::future::join_all(writers).await {
        written.extend(writer.expect("writer task"));
    }

    let seen = tokio::time::timeout(Duration::from_secs(120), reader)
        .await
        .expect("reader caught up in time")
        .expect("reader task");
    let seen_ids: Vec<Uuid> = seen.iter().map(|e| e.envelope.event_id).collect();
    let unique: HashSet<Uuid> = seen_ids.iter().copied().collect();
    if unique.len() != seen_ids.len() {
        let mut counted = std::collections::HashMap::new();
        for event in &seen {
            counted
                .entry(event.envelope.event_id)
                .or_insert_with(Vec::new)
                .push(event.position);
        }
        let twice: Vec<_> = counted.into_iter().filter(|(_, p)| p.len() > 1).collect();
        panic!("events delivered more than once: {twice:?}");
    }
    assert_eq!(unique, written, "the reader missed events");
    assert!(
        seen.windows(2)
            .all(|pair| pair[0].position < pair[1].position),
        "positions are not strictly increasing"
    );
    // Per stream, revisions arrive in order with no hole.
    let mut next_revision = std::collections::HashMap::new();
    for event in &seen {
        let next = next_revision
            .entry(event.envelope.stream_id.clone())
            .or_insert(0_u64);
        assert_eq!(event.envelope.stream_revision, *next);
        *next += 1;
    }
}

async fn a_subscription_catches_up_then_follows_live_appends(db: &TestStore) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "s", ExpectedRevision::NoStream, 3).await;
    let mut subscription = Box::pin(subscribe_all(
        db.store.clone(),
        Position::START,
        SubscriptionOptions::default(),
    ));
    for expected in 0..3 {
        let event = subscription.next().await.unwrap().unwrap();
        assert_eq!(event.envelope.stream_revision, expected);
    }
    let nothing_yet = tokio::time::timeout(Duration::from_millis(300), subscription.next()).await;
    assert!(nothing_yet.is_err(), "a caught-up subscription waits");
    append_events(db, tenant_id, "s", ExpectedRevision::Exact(2), 1).await;
    let live = tokio::time::timeout(Duration::from_secs(5), subscription.next())
        .await
        .expect("live event arrives")
        .unwrap()
        .unwrap();
    assert_eq!(live.envelope.stream_revision, 3);
}

async fn read_all_continues_after_the_position_it_is_given(db: &TestStore) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "x", ExpectedRevision::NoStream, 5).await;
    let all = read_everything(db).await;
    assert_eq!(all.len(), 5);
    let rest: Vec<RecordedEvent> = db
        .store
        .read_all(all[1].position, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.envelope.stream_id != MARKER_STREAM)
        .collect();
    assert_eq!(rest, all[2..].to_vec());
    let page = db.store.read_all(all[1].position, 2).await.unwrap();
    assert_eq!(page, all[2..4].to_vec());
    assert_eq!(
        db.store.count_after(all[1].position).await.unwrap(),
        4,
        "3 events and the marker"
    );
    let cursor: Position = all[3].position.to_string().parse().unwrap();
    assert_eq!(cursor, all[3].position);
    assert!("nonsense".parse::<Position>().is_err());
}

async fn the_head_of_an_empty_log_is_the_start(db: &TestStore) {
    assert_eq!(db.store.head_position().await.unwrap(), Position::START);
}

async fn the_head_is_the_position_of_the_last_event_after_appends_to_several_streams(
    db: &TestStore,
) {
    let (one, other) = (tenant(), tenant());
    append_events(db, one, "sale-1", ExpectedRevision::NoStream, 3).await;
    append_events(db, other, "sale-1", ExpectedRevision::NoStream, 1).await;
    let last = db
        .store
        .append(request(
            one,
            vec![
                write(
                    "sale-2",
                    ExpectedRevision::NoStream,
                    vec![test_event(0), test_event(1)],
                ),
                write("serial-1", ExpectedRevision::NoStream, vec![test_event(2)]),
            ],
        ))
        .await
        .unwrap();

    let head = head_once_readable(db, last.position).await;
    assert_eq!(head, last.position, "the last append's last event");
    let log = db.store.read_all(Position::START, 100).await.unwrap();
    assert_eq!(log.len(), 7);
    assert_eq!(log.last().map(|e| e.position), Some(head));
    assert!(
        db.store.read_all(head, 100).await.unwrap().is_empty(),
        "nothing comes after the head"
    );
}

async fn a_reader_starting_after_the_head_gets_exactly_the_events_appended_since(db: &TestStore) {
    let tenant_id = tenant();
    let before = append_events(db, tenant_id, "sale-1", ExpectedRevision::NoStream, 2).await;
    let head = head_once_readable(db, before.position).await;

    append_events(db, tenant_id, "sale-1", ExpectedRevision::Exact(1), 1).await;
    let since = append_events(db, tenant_id, "sale-2", ExpectedRevision::NoStream, 2).await;
    tests::wait_until_readable(&db.store, since.position).await;
    let read: Vec<(String, u64)> = db
        .store
        .read_all(head, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.envelope.stream_id, e.envelope.stream_revision))
        .collect();
    assert_eq!(
        read,
        vec![
            ("sale-1".to_owned(), 2),
            ("sale-2".to_owned(), 0),
            ("sale-2".to_owned(), 1)
        ]
    );
}

async fn the_database_refuses_update_and_delete_of_events(db: &TestStore) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "s", ExpectedRevision::NoStream, 2).await;
    let update = db.execute_raw("UPDATE events SET payload = '{}'").await;
    let delete = db.execute_raw("DELETE FROM events").await;
    for (what, outcome) in [("UPDATE", update), ("DELETE", delete)] {
        let error = outcome.expect_err(what).to_string();
        assert!(error.contains("events are immutable"), "{what}: {error}");
    }
    if db.backend() == Backend::Postgres {
        let truncate = db
            .execute_raw("TRUNCATE events")
            .await
            .expect_err("TRUNCATE");
        assert!(
            truncate.to_string().contains("events are immutable"),
            "{truncate}"
        );
    }
    assert_eq!(read_everything(db).await.len(), 2);
    assert!(
        verify(&db.store, &VerifyScope::default())
            .await
            .unwrap()
            .is_intact()
    );
}

async fn verify_passes_on_an_untouched_log(db: &TestStore) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "a", ExpectedRevision::NoStream, 4).await;
    append_events(db, tenant_id, "b", ExpectedRevision::NoStream, 1).await;
    append_events(db, tenant(), "a", ExpectedRevision::NoStream, 2).await;
    let report = verify(&db.store, &VerifyScope::default()).await.unwrap();
    assert_eq!((report.streams, report.events), (3, 7));
    assert!(report.is_intact(), "{:?}", report.problems);
    let one = verify(
        &db.store,
        &VerifyScope {
            tenant_id: Some(tenant_id),
            stream_id: Some("a".into()),
        },
    )
    .await
    .unwrap();
    assert_eq!((one.streams, one.events), (1, 4));
}

async fn verify_finds_an_altered_event(db: &TestStore) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "sale-t", ExpectedRevision::NoStream, 3).await;
    let target = db
        .store
        .read_stream(tenant_id, "sale-t", 1, 1)
        .await
        .unwrap()
        .remove(0);
    db.disable_immutability().await;
    let altered = db
        .execute_raw(&format!(
            "UPDATE events SET payload = '{{\"n\":999,\"note\":\"x\"}}' WHERE global_position = {}",
            target.envelope.global_position
        ))
        .await
        .unwrap();
    assert_eq!(altered, 1);
    let report = verify(&db.store, &VerifyScope::default()).await.unwrap();
    assert_eq!(
        report.problems,
        vec![VerifyProblem::HashMismatch {
            tenant_id,
            stream_id: "sale-t".into(),
            stream_revision: 1,
            global_position: target.envelope.global_position,
        }]
    );
}

async fn verify_finds_a_removed_event_in_the_middle_and_at_the_end(db: &TestStore) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "m", ExpectedRevision::NoStream, 3).await;
    append_events(db, tenant_id, "e", ExpectedRevision::NoStream, 3).await;
    let middle = db
        .store
        .read_stream(tenant_id, "m", 1, 1)
        .await
        .unwrap()
        .remove(0);
    let end = db
        .store
        .read_stream(tenant_id, "e", 2, 1)
        .await
        .unwrap()
        .remove(0);
    db.disable_immutability().await;
    for event in [&middle, &end] {
        db.execute_raw(&format!(
            "DELETE FROM events WHERE global_position = {}",
            event.envelope.global_position
        ))
        .await
        .unwrap();
    }
    let report = verify(&db.store, &VerifyScope::default()).await.unwrap();
    assert!(report.problems.contains(&VerifyProblem::MissingRevision {
        tenant_id,
        stream_id: "m".into(),
        expected_revision: 1,
        found_revision: Some(2),
    }));
    assert!(report.problems.iter().any(|p| matches!(p,
        VerifyProblem::BrokenLink { stream_id, stream_revision: 2, .. } if stream_id == "m")));
    assert!(report.problems.contains(&VerifyProblem::HeadMismatch {
        tenant_id,
        stream_id: "e".into(),
        head_revision: 2,
        last_event_revision: Some(1),
    }));
}

async fn a_command_already_applied_returns_its_original_result_and_writes_nothing(db: &TestStore) {
    let tenant_id = tenant();
    let mut command = request(
        tenant_id,
        vec![write("s", ExpectedRevision::NoStream, vec![test_event(1)])],
    );
    command.claims = vec![claim(ClaimAction::Claim, "p/SN", "s#1")];
    let original = db.store.append(command.clone()).await.unwrap();
    assert!(!original.deduplicated);
    // The retry carries the same command id; its expectation (no stream) is now stale, but
    // the answer is still the original success, not a conflict.
    let retried = db.store.append(command).await.unwrap();
    assert!(retried.deduplicated);
    assert_eq!(
        AppendResult {
            deduplicated: false,
            ..retried
        },
        original
    );
    assert_eq!(read_everything(db).await.len(), 1);
}

async fn concurrent_retries_of_one_command_write_it_once(db: &TestStore) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "s", ExpectedRevision::NoStream, 1).await;
    let command = request(
        tenant_id,
        vec![write("s", ExpectedRevision::Any, vec![test_event(7)])],
    );
    let retries = (0..6).map(|_| {
        let store = db.store.clone();
        let command = command.clone();
        tokio::spawn(async move { store.append(command).await })
    });
    let outcomes: Vec<AppendResult> = futures::future::join_all(retries)
        .await
        .into_iter()
        .map(|o| o.unwrap().unwrap())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| !o.deduplicated).count(), 1);
    assert!(outcomes.iter().all(|o| o.position == outcomes[0].position));
    assert_eq!(read_everything(db).await.len(), 2);
}

async fn tenants_share_neither_streams_nor_claims(db: &TestStore) {
    let (shop_a, shop_b) = (tenant(), tenant());
    let mut a = request(
        shop_a,
        vec![write(
            "sale-1",
            ExpectedRevision::NoStream,
            vec![test_event(1)],
        )],
    );
    a.claims = vec![claim(ClaimAction::Claim, "p/SN-1", "a")];
    db.store.append(a).await.unwrap();
    let mut b = request(
        shop_b,
        vec![write(
            "sale-1",
            ExpectedRevision::NoStream,
            vec![test_event(2)],
        )],
    );
    b.claims = vec![claim(ClaimAction::Claim, "p/SN-1", "b")];
    db.store.append(b).await.unwrap();
    let a_events = db.store.read_stream(shop_a, "sale-1", 0, 10).await.unwrap();
    assert_eq!(a_events.len(), 1);
    assert_eq!(a_events[0].envelope.payload["n"], 1);
    assert_eq!(db.store.list_streams(Some(shop_b)).await.unwrap().len(), 1);
    assert_eq!(
        db.store
            .claim_holder(shop_b, "serial", "p/SN-1")
            .await
            .unwrap()
            .as_deref(),
        Some("b")
    );
}

async fn malformed_append_requests_are_refused_before_writing(db: &TestStore) {
    let tenant_id = tenant();
    let cases = [
        request(tenant_id, vec![]),
        request(tenant_id, vec![write("s", ExpectedRevision::Any, vec![])]),
        request(
            tenant_id,
            vec![write(" ", ExpectedRevision::Any, vec![test_event(1)])],
        ),
        request(
            tenant_id,
            vec![
                write("s", ExpectedRevision::Any, vec![test_event(1)]),
                write("s", ExpectedRevision::Any, vec![test_event(2)]),
            ],
        ),
    ];
    for case in cases {
        let error = db.store.append(case).await.unwrap_err();
        assert!(matches!(error, StoreError::InvalidRequest(_)), "{error:?}");
    }
    assert!(read_everything(db).await.is_empty());
}

// ---- backend-specific -------------------------------------------------------------------------

#[tokio::test]
async fn sqlite_commits_are_durable_wal_with_synchronous_full() {
    let db = TestStore::sqlite().await;
    let AnyStore::Sqlite(store) = &db.store else {
        unreachable!()
    };
    let mut connection = store.write_pool().acquire().await.unwrap();
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *connection)
        .await
        .unwrap();
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *connection)
        .await
        .unwrap();
    assert_eq!(journal, "wal");
    assert_eq!(synchronous, 2, "2 is FULL");
}

/// The heart of gap-free reading on PostgreSQL: an event committed while an older
/// transaction is still running is held back until that transaction ends, so a reader that
/// moves its cursor past the committed event cannot skip what the older one writes.
#[tokio::test]
async fn postgres_readers_hold_back_events_committed_behind_a_running_transaction() {
    use sqlx::Connection;
    let db = TestStore::postgres().await;
    let tenant_id = tenant();
    append_events(&db, tenant_id, "before", ExpectedRevision::NoStream, 1).await;

    let mut older = sqlx::PgConnection::connect(&db.database.url).await.unwrap();
    let mut transaction = older.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *transaction)
        .await
        .unwrap();

    append_events(&db, tenant_id, "after", ExpectedRevision::NoStream, 1).await;
    let visible = db.store.read_all(Position::START, 100).await.unwrap();
    assert!(
        visible.iter().all(|e| e.envelope.stream_id != "after"),
        "the later commit must wait for the older transaction"
    );

    transaction.commit().await.unwrap();
    let streams: Vec<String> = read_everything(&db)
        .await
        .into_iter()
        .map(|e| e.envelope.stream_id)
        .collect();
    assert_eq!(streams, vec!["before".to_owned(), "after".to_owned()]);
}

/// A reader that starts after the head must not skip what a transaction still running will
/// commit: while one runs, the head stays before the events committed after it began, as
/// `read_all` holds them back, however long ago they committed.
#[tokio::test]
async fn postgres_the_head_stays_before_events_committed_behind_a_running_transaction() {
    use sqlx::Connection;
    let db = TestStore::postgres().await;
    let tenant_id = tenant();
    let before = append_events(&db, tenant_id, "before", ExpectedRevision::NoStream, 1).await;
    tests::wait_until_readable(&db.store, before.position).await;

    let mut older = sqlx::PgConnection::connect(&db.database.url).await.unwrap();
    let mut transaction = older.begin().await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *transaction)
        .await
        .unwrap();
    let after = append_events(&db, tenant_id, "after", ExpectedRevision::NoStream, 1).await;
    let head = db.store.head_position().await.unwrap();
    assert_eq!(
        head, before.position,
        "not the committed {}",
        after.position
    );

    // The older transaction writes an event of its own, then commits: it comes before
    // "after" in the log, and after the head.
    sqlx::query(
        "INSERT INTO events (event_id, tenant_id, stream_id, stream_revision, recorded_at, \
         event_type, schema_version, payload, command_id, correlation_id, causation_id, \
         actor_kind, actor_id, actor_name, channel, outlet_id, previous_hash, hash) \
         SELECT gen_random_uuid(), tenant_id, 'older', 0, recorded_at, event_type, \
         schema_version, payload, command_id, correlation_id, causation_id, actor_kind, \
         actor_id, actor_name, channel, outlet_id, previous_hash, hash \
         FROM events WHERE stream_id = 'before'",
    )
    .execute(&mut *transaction)
    .await
    .unwrap();
    transaction.commit().await.unwrap();
    tests::wait_until_readable(&db.store, after.position).await;
    let since: Vec<String> = db
        .store
        .read_all(head, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.envelope.stream_id)
        .collect();
    assert_eq!(
        since,
        vec!["older", "after"],
        "a reader from the head misses neither"
    );
}

/// Regression: the log was once sorted by the transaction id's text ("10" < "9"), which
/// re-delivered and skipped events whenever the server's xids crossed a power of ten.
#[tokio::test]
async fn postgres_log_order_is_numeric_in_transaction_ids_across_digit_boundaries() {
    let db = TestStore::postgres().await;
    append_events(&db, tenant(), "template", ExpectedRevision::NoStream, 1).await;
    for (transaction_id, stream) in [("10", "ten"), ("9", "nine")] {
        db.execute_raw(&format!(
            "INSERT INTO events (transaction_id, event_id, tenant_id, stream_id, \
             stream_revision, recorded_at, event_type, schema_version, payload, command_id, \
             correlation_id, causation_id, actor_kind, actor_id, actor_name, channel, \
             outlet_id, previous_hash, hash) \
             SELECT '{transaction_id}'::xid8, gen_random_uuid(), tenant_id, '{stream}', 0, \
             recorded_at, event_type, schema_version, payload, command_id, correlation_id, \
             causation_id, actor_kind, actor_id, actor_name, channel, outlet_id, \
             previous_hash, hash FROM events WHERE stream_id = 'template'"
        ))
        .await
        .unwrap();
    }
    let order: Vec<String> = read_everything(&db)
        .await
        .into_iter()
        .map(|e| e.envelope.stream_id)
        .collect();
    assert_eq!(order, vec!["nine", "ten", "template"]);
    let after_nine = db
        .store
        .read_all(read_everything(&db).await[0].position, 1)
        .await
        .unwrap();
    assert_eq!(after_nine[0].envelope.stream_id, "ten");
}

/// On SQLite concurrent appends are committed together (group commit): one that is refused
/// must be rolled back alone, whatever else its transaction carried.
async fn an_append_refused_among_concurrent_ones_leaves_the_others_written(db: &TestStore) {
    let tenant_id = tenant();
    append_events(db, tenant_id, "contended", ExpectedRevision::NoStream, 1).await;
    let appends = (0..48_u64).map(|n| {
        let store = db.store.clone();
        tokio::spawn(async move {
            // Every third one is stale or takes a serial already taken; the rest are fine.
            let request = match n % 3 {
                0 => request(
                    tenant_id,
                    vec![write(
                        "contended",
                        ExpectedRevision::NoStream,
                        vec![test_event(n)],
                    )],
                ),
                1 => AppendRequest {
                    claims: vec![claim(
                        ClaimAction::Claim,
                        "SN-shared",
                        &format!("owner-{n}"),
                    )],
                    ..request(
                        tenant_id,
                        vec![write(
                            &format!("claimer-{n}"),
                            ExpectedRevision::NoStream,
                            vec![test_event(n)],
                        )],
                    )
                },
                _ => request(
                    tenant_id,
                    vec![write(
                        &format!("free-{n}"),
                        ExpectedRevision::NoStream,
                        vec![test_event(n), test_event(n + 1)],
                    )],
                ),
            };
            (n, store.append(request).await)
        })
    });
    let outcomes: Vec<(u64, Result<AppendResult, StoreError>)> = futures::future::join_all(appends)
        .await
        .into_iter()
        .map(|joined| joined.expect("task"))
        .collect();
    let mut claim_winners = 0;
    for (n, outcome) in &outcomes {
        match (n % 3, outcome) {
            (0, Err(StoreError::WrongExpectedRevision { .. })) => {}
            (1, Ok(_)) => claim_winners += 1,
            (1, Err(StoreError::ClaimConflict { .. })) => {}
            (2, Ok(_)) => {}
            other => panic!("append {n}: unexpected {other:?}"),
        }
    }
    assert_eq!(claim_winners, 1, "exactly one takes the serial");

    let log = read_everything(db).await;
    let free_events = log
        .iter()
        .filter(|e| e.envelope.stream_id.starts_with("free-"))
        .count();
    let claimer_events = log
        .iter()
        .filter(|e| e.envelope.stream_id.starts_with("claimer-"))
        .count();
    let contended_events = log
        .iter()
        .filter(|e| e.envelope.stream_id == "contended")
        .count();
    assert_eq!(
        (free_events, claimer_events, contended_events),
        (16 * 2, 1, 1),
        "every accepted append is in the log, and nothing of a refused one"
    );
    for (n, outcome) in &outcomes {
        if let Ok(result) = outcome {
            let stream = &result.streams[0].stream_id;
            let written: Vec<_> = log
                .iter()
                .filter(|e| &e.envelope.stream_id == stream)
                .collect();
            assert_eq!(
                written.last().map(|e| e.position),
                Some(result.position),
                "append {n} is acknowledged at the position of its last event"
            );
        }
    }
}
