//! The verifiable ledger, tried as an auditor and as an attacker would: evidence files
//! checked offline with nothing but the ledger's public key, each forgery of such a file
//! refused naming the event and the reason, and rewrites of the database behind the
//! store's back (hashes recomputed, a stream deleted, the log cut and re-appended) caught
//! against checkpoints signed before them.
//!
//! Every case runs on both backends (`ledger_proofs::sqlite::...`, `...::postgres::...`).

use domain::sale::{
    FulfilLines, LineSelection, RemoveSerial, ReturnUnit, ReturnUnits, UnitSelector,
};
use event_schemas::*;
use ledger_proof::checkpoint::{Checkpoint, SigningKey, VerifierKey, generate_signing_key};
use ledger_proof::evidence::{EvidenceCheck, check_evidence};
use ledger_proof::merkle;
use pretty_assertions::assert_eq;
use projections::proofs::{checkpoints, queries};
use projections::{Projection, ProjectionRunner, RunnerOptions};
use replay::history::{HistorySource, UnitAction};
use replay::signed::{CheckpointProblem, Consistency, check_consistency, verify_checkpoints};
use serde_json::Value;
use store::{EventStore, RecordedEvent};
use tests::TestStore;
use tests::shop::{Shop, WAREHOUSE, aud};

on_both_backends!(
    a_genuine_evidence_file_verifies_offline_and_proves_the_history_complete,
    each_forgery_of_an_evidence_file_is_refused_naming_the_event_and_the_reason,
    a_stream_rewritten_with_every_later_hash_recomputed_passes_the_chains_but_not_the_checkpoint,
    a_whole_stream_deleted_with_its_head_is_caught_against_the_checkpoints_signed_before,
    a_log_cut_and_re_appended_is_caught_through_consistency_with_an_earlier_checkpoint,
    the_proofs_rebuilt_from_the_log_give_the_same_tree_and_prove_every_old_checkpoint,
    without_a_signing_key_checkpoints_are_unsigned_and_evidence_says_so,
    a_new_key_signs_from_a_tree_size_on_and_old_checkpoints_stay_verifiable_with_the_old_key,
    the_reissue_trail_reads_both_ways,
    every_serial_of_a_generated_workload_of_two_retailers_is_proven_complete,
    the_server_issues_a_checkpoint_every_n_events_and_after_t_seconds,
);

// ---- helpers --------------------------------------------------------------------------------

fn key(name: &str) -> (SigningKey, VerifierKey) {
    let (private, public) = generate_signing_key(name).unwrap();
    (
        SigningKey::from_text(&private).unwrap(),
        VerifierKey::from_text(&public).unwrap(),
    )
}

fn check(document: &Value, key: &VerifierKey) -> EvidenceCheck {
    check_evidence(document, Some(std::slice::from_ref(key)))
}

fn codes(check: &EvidenceCheck) -> Vec<&'static str> {
    check
        .problems
        .iter()
        .map(|problem| problem.code())
        .collect()
}

/// SN-1 sold, corrected, fulfilled, returned and re-issued as SN-9; SN-2 sold beside it.
struct Story {
    shop: Shop,
    first: SaleId,
    second: SaleId,
}

async fn tell(db: &TestStore) -> Story {
    let shop = Shop::new(db).await;
    let phone = shop.product("PHONE", SerialMode::Required).await;
    let (first, _) = shop.open("INV-A", "Alice").await;
    shop.add(first, phone).await;
    shop.add(first, phone).await;
    shop.assign(first, 1, "SN-1").await;
    shop.service
        .remove_serial(
            &shop.pos(),
            first,
            RemoveSerial {
                line_number: LineNumber(1),
                reason: Some("wrong box".into()),
            },
        )
        .await
        .unwrap();
    shop.assign(first, 1, "SN-1").await;
    shop.assign(first, 2, "SN-2").await;
    shop.service
        .fulfil_lines(
            &shop.context(Channel::FulfilmentReport, WAREHOUSE, "Wendy"),
            first,
            FulfilLines {
                lines: LineSelection::All,
            },
        )
        .await
        .unwrap();
    shop.service
        .return_units(
            &shop.pos(),
            first,
            ReturnUnits {
                units: vec![ReturnUnit {
                    unit: UnitSelector::Serial {
                        product_id: phone,
                        serial: "SN-1".into(),
                    },
                    refund: aud(99_900),
                }],
                reason: Some("screen faulty".into()),
            },
        )
        .await
        .unwrap();
    let (second, _) = shop.open("INV-B", "Bob").await;
    shop.service
        .reissue_line(&shop.pos(), second, first, LineNumber(1), None)
        .await
        .unwrap();
    shop.assign(second, 1, "SN-9").await;
    Story {
        shop,
        first,
        second,
    }
}

async fn all_events(db: &TestStore) -> Vec<RecordedEvent> {
    let mut all = Vec::new();
    loop {
        let after = all
            .last()
            .map_or(store::Position::START, |e: &RecordedEvent| e.position);
        let page = db.store.read_all(after, 1_000).await.unwrap();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// Rewrites one event's actor behind the store's back and recomputes the hash of it and of
/// every later event of its stream, and the stream's head: what someone who can write the
/// database could do, since the chains are unkeyed.
async fn rewrite_stream_from(db: &TestStore, target: &RecordedEvent) {
    db.disable_immutability().await;
    let stream = db
        .store
        .read_stream(
            target.envelope.tenant_id,
            &target.envelope.stream_id,
            0,
            10_000,
        )
        .await
        .unwrap();
    let mut previous: Option<String> = None;
    let mut last = String::new();
    for event in stream {
        let mut envelope = event.envelope.clone();
        if envelope.stream_revision < target.envelope.stream_revision {
            previous = Some(envelope.hash.clone());
            continue;
        }
        if envelope.event_id == target.envelope.event_id {
            envelope.metadata.actor.display_name = "Somebody Else".into();
        }
        if let Some(previous) = &previous {
            envelope.previous_hash = previous.clone();
        }
        envelope.hash = envelope_hash(&envelope);
        let sql = format!(
            "UPDATE events SET actor_name = '{}', previous_hash = '{}', hash = '{}' \
             WHERE event_id = '{}'",
            envelope.metadata.actor.display_name,
            envelope.previous_hash,
            envelope.hash,
            envelope.event_id
        );
        assert_eq!(db.execute_raw(&sql).await.unwrap(), 1, "{sql}");
        previous = Some(envelope.hash.clone());
        last = envelope.hash;
    }
    let sql = format!(
        "UPDATE streams SET last_hash = '{last}' WHERE tenant_id = '{}' AND stream_id = '{}'",
        target.envelope.tenant_id, target.envelope.stream_id
    );
    assert_eq!(db.execute_raw(&sql).await.unwrap(), 1, "{sql}");
}

/// Deletes a stream's events and its head behind the store's back.
async fn delete_stream(db: &TestStore, tenant_id: TenantId, stream_id: &str) {
    db.disable_immutability().await;
    let condition = format!("tenant_id = '{tenant_id}' AND stream_id = '{stream_id}'");
    assert!(
        db.execute_raw(&format!("DELETE FROM events WHERE {condition}"))
            .await
            .unwrap()
            > 0
    );
    assert_eq!(
        db.execute_raw(&format!("DELETE FROM streams WHERE {condition}"))
            .await
            .unwrap(),
        1
    );
}

// ---- cases ----------------------------------------------------------------------------------

async fn a_genuine_evidence_file_verifies_offline_and_proves_the_history_complete(db: &TestStore) {
    let story = tell(db).await;
    let (signing, public) = key("test-ledger");
    let issued = story.shop.checkpoint(Some(&signing)).await;
    assert_eq!(issued.key_name.as_deref(), Some("test-ledger"));

    let document = story.shop.evidence("SN-1").await;
    let checked = check(&document, &public);
    assert!(checked.is_intact(), "{:?}", checked.problems);
    assert!(checked.signature_checked);
    // assigned, removed, assigned, fulfilled, returned, re-issued
    assert_eq!((checked.units, checked.events), (1, 6));
    assert_eq!(
        checked.checkpoint.as_ref().map(|c| c.tree_size),
        Some(issued.checkpoint.tree_size)
    );
    assert_eq!(document["serial_map"]["events"], 6);
    // Serials are typed in any case and recorded normalised: the file is of the serial.
    assert_eq!(document["serial"], "SN-1");

    // Without the key the file still checks, and says the signature was not checked.
    let unchecked = check_evidence(&document, None);
    assert!(unchecked.is_intact());
    assert!(!unchecked.signature_checked);
}

async fn each_forgery_of_an_evidence_file_is_refused_naming_the_event_and_the_reason(
    db: &TestStore,
) {
    let story = tell(db).await;
    let (signing, public) = key("test-ledger");
    let older = story.shop.checkpoint(Some(&signing)).await;
    // One more event about SN-1's replacement, then the newest checkpoint.
    story
        .shop
        .service
        .fulfil_lines(
            &story.shop.pos(),
            story.second,
            FulfilLines {
                lines: LineSelection::All,
            },
        )
        .await
        .unwrap();
    story.shop.checkpoint(Some(&signing)).await;
    let genuine = story.shop.evidence("SN-1").await;
    assert!(check(&genuine, &public).is_intact());
    let other_serial = story.shop.evidence("SN-2").await;
    let other_shop = Shop::new(db).await;
    let gadget = other_shop.product("PHONE", SerialMode::Required).await;
    let (sale, _) = other_shop.open("INV-A", "Alice").await;
    other_shop.add(sale, gadget).await;
    other_shop.assign(sale, 1, "SN-1").await;
    other_shop.checkpoint(Some(&signing)).await;
    let other_retailer = other_shop.evidence("SN-1").await;

    let history = |document: &Value| document["units"][0]["history"].as_array().unwrap().clone();
    let event_id = |document: &Value, entry: usize| {
        document["units"][0]["history"][entry]["event"]["event_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let rehash = |entry: &mut Value| {
        let envelope: EventEnvelope = serde_json::from_value(entry["event"].clone()).unwrap();
        entry["event"]["hash"] = envelope_hash(&envelope).into();
    };

    type Forgery = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Forgery, &[&str], Option<String>)> = vec![
        (
            "an actor's name changed and the hash recomputed by the file's own rule",
            Box::new(move |doc: &mut Value| {
                let entry = &mut doc["units"][0]["history"][1];
                entry["event"]["metadata"]["actor"]["display_name"] = "Somebody Else".into();
                rehash(entry);
            }),
            &["INCLUSION_PROOF_INVALID"],
            Some(event_id(&genuine, 1)),
        ),
        (
            "a middle event changed and rehashed, its successor untouched",
            Box::new(move |doc: &mut Value| {
                let entry = &mut doc["units"][0]["history"][2];
                entry["event"]["metadata"]["channel"] = "API".into();
                rehash(entry);
            }),
            &["INCLUSION_PROOF_INVALID", "STREAM_CHAIN_BROKEN"],
            Some(event_id(&genuine, 2)),
        ),
        (
            "a field changed without rehashing",
            Box::new(|doc: &mut Value| {
                doc["units"][0]["history"][3]["event"]["payload"]["serial"] = "SN-X".into();
            }),
            &["EVENT_ALTERED"],
            Some(event_id(&genuine, 3)),
        ),
        (
            "an event left out (the removal)",
            Box::new(|doc: &mut Value| {
                doc["units"][0]["history"].as_array_mut().unwrap().remove(1);
            }),
            &["HISTORY_INCOMPLETE"],
            None,
        ),
        (
            "events reordered",
            Box::new(|doc: &mut Value| {
                doc["units"][0]["history"]
                    .as_array_mut()
                    .unwrap()
                    .swap(2, 3);
            }),
            &["EVENTS_OUT_OF_ORDER"],
            None,
        ),
        (
            "an event of another serial swapped in",
            Box::new({
                let foreign = history(&other_serial)[0].clone();
                move |doc: &mut Value| doc["units"][0]["history"][0] = foreign.clone()
            }),
            &["EVENT_OTHER_SERIAL"],
            Some(event_id(&other_serial, 0)),
        ),
        (
            "an event of another retailer swapped in",
            Box::new({
                let foreign = history(&other_retailer)[0].clone();
                move |doc: &mut Value| doc["units"][0]["history"][0] = foreign.clone()
            }),
            &["EVENT_OTHER_TENANT"],
            Some(event_id(&other_retailer, 0)),
        ),
        (
            "the checkpoint re-signed by another key",
            Box::new(|doc: &mut Value| {
                let (impostor, _) = key("test-ledger");
                let body = ledger_proof::checkpoint::read_checkpoint_unverified(
                    doc["checkpoint"].as_str().unwrap(),
                )
                .unwrap();
                doc["checkpoint"] = impostor.sign(&body).unwrap().into();
            }),
            &["CHECKPOINT_NOT_SIGNED_BY_KEY", "SIGNATURE_INVALID"],
            None,
        ),
        (
            "an older checkpoint presented as the newest",
            Box::new({
                let note = older.note.clone();
                move |doc: &mut Value| doc["checkpoint"] = note.clone().into()
            }),
            &[
                "INCLUSION_PROOF_INVALID",
                "LEAF_NOT_IN_TREE",
                "MAP_PROOF_INVALID",
            ],
            None,
        ),
    ];
    for (what, forge, expected, names) in cases {
        let mut forged = genuine.clone();
        forge(&mut forged);
        let found = check(&forged, &public);
        assert!(!found.is_intact(), "{what}: accepted");
        let found_codes = codes(&found);
        assert!(
            expected.iter().any(|code| found_codes.contains(code)),
            "{what}: expected one of {expected:?}, got {:?}",
            found
                .problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
        if let Some(event_id) = names {
            assert!(
                found
                    .problems
                    .iter()
                    .any(|problem| problem.to_string().contains(&event_id)),
                "{what}: no problem names event {event_id}: {:?}",
                found
                    .problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            );
        }
    }
    // A corrupt or truncated file is refused with a reason, never a panic.
    let text = serde_json::to_string(&genuine).unwrap();
    for cut in [0, 1, text.len() / 3, text.len() - 1] {
        let found = ledger_proof::evidence::check_evidence_bytes(
            &text.as_bytes()[..cut],
            Some(std::slice::from_ref(&public)),
        );
        assert!(!found.is_intact(), "cut at {cut}");
    }
}

async fn a_stream_rewritten_with_every_later_hash_recomputed_passes_the_chains_but_not_the_checkpoint(
    db: &TestStore,
) {
    let story = tell(db).await;
    let (signing, public) = key("test-ledger");
    let signed = story.shop.checkpoint(Some(&signing)).await;
    let all = all_events(db).await;
    let target = all
        .iter()
        .find(|e| {
            e.envelope.stream_id == streams::sale(story.first) && e.envelope.stream_revision == 3
        })
        .unwrap()
        .clone();
    rewrite_stream_from(db, &target).await;

    // The unkeyed chains cannot tell: every hash was recomputed.
    let chains = replay::verify::verify_log(&db.store, &Default::default())
        .await
        .unwrap();
    assert!(chains.is_intact(), "{:?}", chains.problems);
    // The signed checkpoint can.
    let report = verify_checkpoints(
        &db.store,
        story.shop.runner.db(),
        Some(story.shop.tenant_id),
        std::slice::from_ref(&public),
    )
    .await
    .unwrap();
    assert_eq!(report.signatures_verified, 1);
    assert!(
        matches!(
            report.problems.as_slice(),
            [CheckpointProblem::RootMismatch { tree_size, last_matching: None, .. }]
                if *tree_size == signed.checkpoint.tree_size
        ),
        "{:?}",
        report.problems
    );
    assert!(report.problems[0].to_string().contains("rewritten"));
}

async fn a_whole_stream_deleted_with_its_head_is_caught_against_the_checkpoints_signed_before(
    db: &TestStore,
) {
    let story = tell(db).await;
    let (signing, public) = key("test-ledger");
    let early = story.shop.checkpoint(Some(&signing)).await;
    story.shop.open("INV-C", "Carol").await;
    let late = story.shop.checkpoint(Some(&signing)).await;
    // The second sale (the re-issue) disappears, events and head.
    delete_stream(db, story.shop.tenant_id, &streams::sale(story.second)).await;
    let report = verify_checkpoints(
        &db.store,
        story.shop.runner.db(),
        Some(story.shop.tenant_id),
        std::slice::from_ref(&public),
    )
    .await
    .unwrap();
    assert_eq!(report.checked, 2);
    let sizes: Vec<u64> = report
        .problems
        .iter()
        .map(|problem| match problem {
            CheckpointProblem::RootMismatch { tree_size, .. }
            | CheckpointProblem::LogShorter { tree_size, .. }
            | CheckpointProblem::MapMismatch { tree_size, .. }
            | CheckpointProblem::BadNote { tree_size, .. } => *tree_size,
        })
        .collect();
    assert!(
        sizes.contains(&early.checkpoint.tree_size),
        "{:?}",
        report.problems
    );
    assert!(
        sizes.contains(&late.checkpoint.tree_size),
        "{:?}",
        report.problems
    );
}

async fn a_log_cut_and_re_appended_is_caught_through_consistency_with_an_earlier_checkpoint(
    db: &TestStore,
) {
    let story = tell(db).await;
    let (signing, public) = key("test-ledger");
    // The auditor keeps this checkpoint outside the database.
    let kept = story.shop.checkpoint(Some(&signing)).await;
    let kept_note = kept.note.clone();
    let kept = ledger_proof::checkpoint::open_checkpoint(&kept_note, std::slice::from_ref(&public))
        .unwrap()
        .checkpoint;
    let consistent = check_consistency(
        &db.store,
        story.shop.runner.db(),
        &kept,
        story.shop.tenant_id,
    )
    .await
    .unwrap();
    assert!(
        matches!(consistent, Consistency::Extends { .. }),
        "{consistent:?}"
    );

    // The re-issue sale is cut from the log and other events are appended after it; the
    // attacker also empties the checkpoints the database held.
    let all = all_events(db).await;
    let first_cut = all
        .iter()
        .find(|e| e.envelope.stream_id == streams::sale(story.second))
        .unwrap()
        .envelope
        .event_id;
    delete_stream(db, story.shop.tenant_id, &streams::sale(story.second)).await;
    let mut last = None;
    for invoice in ["INV-D", "INV-E", "INV-F", "INV-G", "INV-H"] {
        last = story.shop.open(invoice, "Dora").await.1.position();
    }
    tests::wait_until_readable(&db.store, last.unwrap()).await;
    db.execute_raw("DELETE FROM ledger_checkpoints")
        .await
        .unwrap();

    let found = check_consistency(
        &db.store,
        story.shop.runner.db(),
        &kept,
        story.shop.tenant_id,
    )
    .await
    .unwrap();
    match found {
        Consistency::Diverges {
            first_difference: Some((_, Some(event))),
            recomputed: Some(root),
            ..
        } => {
            assert_ne!(root, kept.root);
            assert_ne!(event.envelope.event_id, first_cut);
        }
        other => panic!("expected a divergence with its first difference, got {other:?}"),
    }

    // Even with the proof tables rebuilt from the rewritten log, a checkpoint of the new log
    // cannot be proven to extend the auditor's.
    let runner = ProjectionRunner::new(db.store.clone(), RunnerOptions::default());
    runner.rebuild(Projection::Proofs).await.unwrap();
    let newer = story.shop.checkpoint(Some(&signing)).await;
    let mut tx = runner.db().snapshot().await.unwrap();
    let proof = queries::consistency_proof(
        &mut tx,
        story.shop.tenant_id,
        kept.tree_size,
        newer.checkpoint.tree_size,
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert!(
        merkle::verify_consistency(
            kept.tree_size,
            &kept.root,
            newer.checkpoint.tree_size,
            &newer.checkpoint.root,
            &proof
        )
        .is_err()
    );
    let found = check_consistency(&db.store, runner.db(), &kept, story.shop.tenant_id)
        .await
        .unwrap();
    assert!(matches!(found, Consistency::Diverges { .. }), "{found:?}");
}

async fn the_proofs_rebuilt_from_the_log_give_the_same_tree_and_prove_every_old_checkpoint(
    db: &TestStore,
) {
    let story = tell(db).await;
    let (signing, public) = key("test-ledger");
    let mut issued: Vec<Checkpoint> = Vec::new();
    issued.push(story.shop.checkpoint(Some(&signing)).await.checkpoint);
    for invoice in ["INV-C", "INV-D", "INV-E"] {
        let (sale, _) = story.shop.open(invoice, "Carol").await;
        let phone = story
            .shop
            .product(&format!("P-{invoice}"), SerialMode::Required)
            .await;
        story.shop.add(sale, phone).await;
        story.shop.assign(sale, 1, &format!("SN-{invoice}")).await;
        issued.push(story.shop.checkpoint(Some(&signing)).await.checkpoint);
    }
    let before = story.shop.evidence("SN-1").await;

    // Rebuilt in batches of 7 events: none of them ends where a checkpoint was issued.
    let runner = ProjectionRunner::new(
        db.store.clone(),
        RunnerOptions {
            batch_size: 7,
            ..RunnerOptions::default()
        },
    );
    runner.rebuild(Projection::Proofs).await.unwrap();
    let after = story.shop.evidence("SN-1").await;
    assert_eq!(before["serial_map"], after["serial_map"]);
    assert!(check(&after, &public).is_intact());

    let report = verify_checkpoints(
        &db.store,
        runner.db(),
        Some(story.shop.tenant_id),
        std::slice::from_ref(&public),
    )
    .await
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.signatures_verified, issued.len());

    // Every old checkpoint: its root recomputed from the stored tree, an inclusion proof of
    // its last event, a map proof of a serial, and consistency with every later one.
    let all: Vec<RecordedEvent> = all_events(db)
        .await
        .into_iter()
        .filter(|e| e.envelope.tenant_id == story.shop.tenant_id)
        .collect();
    let mut tx = runner.db().snapshot().await.unwrap();
    for (at, checkpoint) in issued.iter().enumerate() {
        let size = checkpoint.tree_size;
        let tenant = story.shop.tenant_id;
        assert_eq!(
            queries::root_at(&mut tx, tenant, size).await.unwrap(),
            checkpoint.root
        );
        let last = &all[usize::try_from(size).unwrap() - 1];
        let proof = queries::inclusion_proof(&mut tx, tenant, size, size - 1)
            .await
            .unwrap();
        let hash = merkle::parse_hash_hex(&last.envelope.hash).unwrap();
        merkle::verify_inclusion(size, &checkpoint.root, size - 1, &hash, &proof).unwrap();
        let chain = queries::serial_chain(&mut tx, tenant, "SN-1", size)
            .await
            .unwrap();
        let map_proof = queries::map_proof_at(&mut tx, tenant, size, &chain.key)
            .await
            .unwrap();
        let value =
            ledger_proof::serial_chain::serial_value(chain.events.len() as u64, &chain.head);
        map_proof
            .verify_value(&checkpoint.map_root, &chain.key, &value)
            .unwrap();
        for later in &issued[at + 1..] {
            let proof = queries::consistency_proof(&mut tx, tenant, size, later.tree_size)
                .await
                .unwrap();
            merkle::verify_consistency(
                size,
                &checkpoint.root,
                later.tree_size,
                &later.root,
                &proof,
            )
            .unwrap();
        }
    }
    tx.rollback().await.unwrap();
}

async fn without_a_signing_key_checkpoints_are_unsigned_and_evidence_says_so(db: &TestStore) {
    let story = tell(db).await;
    let issued = story.shop.checkpoint(None).await;
    assert_eq!(issued.key_name, None);
    assert_eq!(issued.note, issued.checkpoint.body());
    let document = story.shop.evidence("SN-1").await;
    // Complete and included, but nothing proves who issued it.
    let unchecked = check_evidence(&document, None);
    assert!(unchecked.is_intact(), "{:?}", unchecked.problems);
    assert!(!unchecked.signature_checked);
    let (_, public) = key("test-ledger");
    assert!(!check(&document, &public).is_intact());
}

async fn a_new_key_signs_from_a_tree_size_on_and_old_checkpoints_stay_verifiable_with_the_old_key(
    db: &TestStore,
) {
    let story = tell(db).await;
    let (old_key, old_public) = key("ledger-2025");
    let (new_key, new_public) = key("ledger-2026");
    let old = story.shop.checkpoint(Some(&old_key)).await;
    story.shop.open("INV-C", "Carol").await;
    let new = story.shop.checkpoint(Some(&new_key)).await;
    assert_eq!(new.key_name.as_deref(), Some("ledger-2026"));
    // A checkpoint is never re-signed: the same size answers the stored one.
    let again = story.shop.checkpoint(Some(&old_key)).await;
    assert_eq!(again.note, new.note);

    ledger_proof::checkpoint::open_checkpoint(&old.note, std::slice::from_ref(&old_public))
        .unwrap();
    assert!(
        ledger_proof::checkpoint::open_checkpoint(&old.note, std::slice::from_ref(&new_public))
            .is_err()
    );
    let report = verify_checkpoints(
        &db.store,
        story.shop.runner.db(),
        Some(story.shop.tenant_id),
        &[old_public.clone(), new_public.clone()],
    )
    .await
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.signatures_verified, 2);
    let document = story.shop.evidence("SN-1").await;
    assert!(check(&document, &new_public).is_intact());
    assert!(!check(&document, &old_public).is_intact());
}

async fn the_reissue_trail_reads_both_ways(db: &TestStore) {
    let story = tell(db).await;
    let returned = story.shop.history("SN-1", HistorySource::Scan).await;
    let reissue = returned.units[0]
        .entries
        .iter()
        .find(|entry| entry.action == UnitAction::Reissued)
        .expect("the returned unit's history shows its re-issue");
    let replacement = reissue.replaced_by.as_ref().expect("and its replacement");
    assert_eq!(
        (
            replacement.invoice_number.as_str(),
            replacement.line_number,
            replacement.serial.as_deref()
        ),
        ("INV-B", LineNumber(1), Some("SN-9"))
    );
    assert_eq!(replacement.sale_id, story.second);

    let replacing = story.shop.history("SN-9", HistorySource::Scan).await;
    let assigned = &replacing.units[0].entries[0];
    assert_eq!(assigned.action, UnitAction::Assigned);
    let replaced = assigned
        .reissue_of
        .as_ref()
        .expect("the replacement names the unit it replaced");
    assert_eq!(
        (
            replaced.invoice_number.as_str(),
            replaced.line_number,
            replaced.serial.as_deref()
        ),
        ("INV-A", LineNumber(1), Some("SN-1"))
    );
    assert_eq!(replaced.sale_id, story.first);
}

async fn every_serial_of_a_generated_workload_of_two_retailers_is_proven_complete(db: &TestStore) {
    let service = application::commands::CommandService::new(db.store.clone());
    let report = tests::workload::Workload::new(31)
        .tenants(2)
        .run(&service, 1_200)
        .await
        .unwrap();
    tests::wait_until_visible(&db.store, report.events_written).await;
    let runner = ProjectionRunner::new(db.store.clone(), RunnerOptions::default());
    runner.migrate().await.unwrap();
    runner.catch_up(Projection::Proofs).await.unwrap();
    let (signing, public) = key("test-ledger");
    let all = all_events(db).await;
    let mut tenants: Vec<TenantId> = all.iter().map(|e| e.envelope.tenant_id).collect();
    tenants.sort();
    tenants.dedup();
    assert_eq!(tenants.len(), 2);
    let mut proven = 0;
    for tenant in tenants {
        checkpoints::issue(runner.db(), tenant, Some(&signing))
            .await
            .unwrap();
        let mut serials: Vec<String> = Vec::new();
        for event in all.iter().filter(|e| e.envelope.tenant_id == tenant) {
            let decoded = LedgerEvent::decode(
                &event.envelope.event_type,
                event.envelope.schema_version,
                &event.envelope.payload,
            )
            .unwrap();
            if let Some(serial) = decoded.serial_named()
                && !serials.iter().any(|s| s == serial)
            {
                serials.push(serial.to_owned());
            }
        }
        assert!(!serials.is_empty());
        for serial in serials.iter().take(15) {
            let history = replay::history::serial_history(
                &db.store,
                &replay::history::HistoryQuery {
                    source: HistorySource::Scan,
                    ..replay::history::HistoryQuery::new(tenant, serial.as_str())
                },
            )
            .await
            .unwrap();
            let proofs = replay::evidence::prove(runner.db(), &history)
                .await
                .unwrap();
            let document =
                replay::evidence::to_json(&history, &proofs, time::OffsetDateTime::now_utc());
            let checked = check(&document, &public);
            assert!(checked.is_intact(), "{serial}: {:?}", checked.problems);
            proven += 1;
        }
    }
    assert!(proven >= 10);
}

async fn tree_size(shop: &Shop) -> u64 {
    let mut tx = shop.runner.db().snapshot().await.unwrap();
    let state = queries::state(&mut tx, shop.tenant_id).await.unwrap();
    tx.rollback().await.unwrap();
    state.tree_size
}

async fn latest_size(shop: &Shop) -> Option<u64> {
    let mut tx = shop.runner.db().snapshot().await.unwrap();
    let latest = checkpoints::latest(&mut tx, shop.tenant_id).await.unwrap();
    tx.rollback().await.unwrap();
    latest.map(|latest| latest.checkpoint.tree_size)
}

async fn wait_for_checkpoint_of(shop: &Shop, size: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while latest_size(shop).await != Some(size) {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint of {size} leaves was issued (newest: {:?})",
            latest_size(shop).await
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn the_server_issues_a_checkpoint_every_n_events_and_after_t_seconds(db: &TestStore) {
    let shop = Shop::new(db).await;
    let (signing, public) = key("test-ledger");
    let signing = std::sync::Arc::new(signing);
    let options = |every_events, every_seconds| application::ledger::LedgerOptions {
        signing_key: Some(signing.clone()),
        every_events,
        every_seconds,
        poll_interval: std::time::Duration::from_millis(20),
    };
    let phone = shop.product("PHONE", SerialMode::Required).await;
    let (sale, _) = shop.open("INV-A", "Alice").await;
    shop.add(sale, phone).await;
    shop.assign(sale, 1, "SN-1").await;
    shop.add(sale, phone).await;
    shop.fold_proofs().await;
    let size = tree_size(&shop).await;
    assert!(size >= 5);
    // Every 5 events, never by age: the log has grown by at least 5 since no checkpoint.
    let task = application::ledger::spawn(shop.runner.db().clone(), options(5, 86_400));
    wait_for_checkpoint_of(&shop, size).await;
    // Two more events: not yet due.
    shop.assign(sale, 2, "SN-2").await;
    shop.open("INV-B", "Bob").await;
    shop.fold_proofs().await;
    let grown = tree_size(&shop).await;
    assert_eq!(grown, size + 2);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(latest_size(&shop).await, Some(size));
    task.stop().await;

    // By age: once the newest checkpoint is a second old, the two events are checkpointed.
    let task = application::ledger::spawn(shop.runner.db().clone(), options(1_000, 1));
    wait_for_checkpoint_of(&shop, grown).await;
    task.stop().await;
    let mut tx = shop.runner.db().snapshot().await.unwrap();
    let latest = checkpoints::latest(&mut tx, shop.tenant_id)
        .await
        .unwrap()
        .unwrap();
    tx.rollback().await.unwrap();
    ledger_proof::checkpoint::open_checkpoint(&latest.note, std::slice::from_ref(&public)).unwrap();
}
