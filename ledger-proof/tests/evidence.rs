//! The offline evidence check, as a specification: a genuine file passes, and each way of
//! forging one fails with the problem that names the forgery.

mod common;

use common::{SERIAL, keys, story};
use event_schemas::envelope_hash;
use ledger_proof::evidence::{
    EvidenceCheck, EvidenceProblem, check_evidence, check_evidence_bytes,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Checks with no key: everything but the signature.
fn check_unsigned(document: &Value) -> EvidenceCheck {
    check_evidence(document, None)
}

fn codes(check: &EvidenceCheck) -> Vec<&'static str> {
    check.problems.iter().map(EvidenceProblem::code).collect()
}

fn history_event(document: &mut Value, unit: usize, entry: usize) -> &mut Value {
    &mut document["units"][unit]["history"][entry]["event"]
}

#[test]
fn a_genuine_file_is_verified_against_the_ledger_key() {
    let story = story();
    let document = story.genuine();
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    assert_eq!(result.problems, vec![], "genuine file has no problems");
    assert!(result.is_verified());
    assert!(result.signature_checked);
    assert_eq!(result.serial, SERIAL);
    assert_eq!(result.units, 2);
    assert_eq!(result.events, 4);
    assert_eq!(result.checkpoint.as_ref().map(|c| c.tree_size), Some(12));
    assert_eq!(
        result.signed_by,
        vec!["serial-ledger.example/log".to_owned()]
    );
}

#[test]
fn without_keys_the_file_may_be_intact_but_is_never_reported_as_signed() {
    let story = story();
    let result = check_unsigned(&story.genuine());
    assert!(result.is_intact());
    assert!(!result.signature_checked);
    assert!(!result.is_verified());
}

#[test]
fn a_field_changed_with_its_hash_recomputed_is_not_in_the_log() {
    let story = story();
    let mut document = story.genuine();
    let event = history_event(&mut document, 0, 1);
    event["metadata"]["actor"]["display_name"] = json!("Someone else");
    let mut envelope: event_schemas::EventEnvelope =
        serde_json::from_value(event.clone()).expect("envelope");
    envelope.hash = envelope_hash(&envelope);
    *event = serde_json::to_value(&envelope).expect("json");
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    let codes = codes(&result);
    assert!(codes.contains(&"INCLUSION_PROOF_INVALID"), "{codes:?}");
    assert!(codes.contains(&"STREAM_CHAIN_BROKEN"), "{codes:?}");
    assert!(
        !codes.contains(&"EVENT_ALTERED"),
        "the hash itself is consistent"
    );
}

#[test]
fn a_middle_event_changed_with_its_successor_untouched_is_altered() {
    let story = story();
    let mut document = story.genuine();
    history_event(&mut document, 0, 1)["payload"]["line_number"] = json!(2);
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    assert_eq!(codes(&result), vec!["EVENT_ALTERED"]);
    let message = result.problems[0].to_string();
    assert!(
        message.contains(&common::product_one().to_string()),
        "{message}"
    );
    assert!(message.contains("history entry 1"), "{message}");
    let event_id = story.ledger.events[4].event_id.to_string();
    assert!(message.contains(&event_id), "{message}");
}

#[test]
fn an_event_left_out_makes_the_history_incomplete() {
    let story = story();
    let mut document = story.genuine();
    document["units"][0]["history"]
        .as_array_mut()
        .expect("history")
        .remove(1);
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    assert_eq!(codes(&result), vec!["HISTORY_INCOMPLETE"]);
    assert_eq!(
        result.problems[0].to_string(),
        "the file leaves out or adds events about the serial: 3 in the file, 4 committed"
    );
}

#[test]
fn reordered_events_are_out_of_order() {
    let story = story();
    let mut document = story.genuine();
    document["units"][0]["history"]
        .as_array_mut()
        .expect("history")
        .swap(0, 2);
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    let codes = codes(&result);
    assert!(codes.contains(&"EVENTS_OUT_OF_ORDER"), "{codes:?}");
    assert!(
        !codes.contains(&"HISTORY_INCOMPLETE"),
        "the same events, only reordered"
    );
}

#[test]
fn an_event_of_another_serial_swapped_in_is_named() {
    let story = story();
    let mut document = story.genuine();
    let other = story.other_serial_leaf;
    let proof: Vec<String> = story
        .ledger
        .tree
        .inclusion_proof(12, other)
        .expect("proof")
        .iter()
        .map(hex::encode)
        .collect();
    document["units"][0]["history"][0] = json!({
        "leaf_index": other,
        "inclusion_proof": proof,
        "event": serde_json::to_value(&story.ledger.events[other as usize]).expect("json"),
    });
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    let codes = codes(&result);
    assert!(codes.contains(&"EVENT_OTHER_SERIAL"), "{codes:?}");
    assert!(codes.contains(&"HISTORY_DIFFERS"), "{codes:?}");
    assert!(
        result
            .problems
            .iter()
            .any(|p| p.to_string().contains("OTHER999"))
    );
}

#[test]
fn a_checkpoint_signed_by_another_key_is_refused() {
    let story = story();
    let (other_key, _) = keys();
    let mut document = story.genuine();
    document["checkpoint"] = json!(other_key.sign(&story.ledger.checkpoint(12)).expect("sign"));
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    assert_eq!(codes(&result), vec!["CHECKPOINT_NOT_SIGNED_BY_KEY"]);
    assert!(!result.signature_checked);
}

#[test]
fn the_wrong_public_key_does_not_verify_a_genuine_file() {
    let story = story();
    let (_, wrong) = keys();
    let result = check_evidence(&story.genuine(), Some(&[wrong]));
    assert_eq!(codes(&result), vec!["CHECKPOINT_NOT_SIGNED_BY_KEY"]);
    assert!(!result.is_verified());
}

#[test]
fn an_older_checkpoint_does_not_cover_proofs_of_a_newer_tree() {
    let story = story();
    let mut document = story.genuine();
    document["checkpoint"] = json!(story.ledger.signed_checkpoint(9));
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    let codes = codes(&result);
    assert!(codes.contains(&"INCLUSION_PROOF_INVALID"), "{codes:?}");
    assert!(
        result.signature_checked,
        "the older checkpoint is genuinely signed"
    );
}

#[test]
fn a_checkpoint_of_another_tenant_and_events_of_another_tenant_are_named() {
    let story = story();
    let mut document = story.genuine();
    document["tenant_id"] = json!(uuid::Uuid::from_u128(99).to_string());
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    let codes = codes(&result);
    assert!(codes.contains(&"CHECKPOINT_ORIGIN_MISMATCH"), "{codes:?}");
    assert!(codes.contains(&"EVENT_OTHER_TENANT"), "{codes:?}");
}

#[test]
fn a_duplicated_event_is_named() {
    let story = story();
    let mut document = story.genuine();
    let copy = document["units"][0]["history"][2].clone();
    document["units"][1]["history"]
        .as_array_mut()
        .expect("history")
        .insert(0, copy);
    let result = check_evidence(
        &document,
        Some(std::slice::from_ref(&story.ledger.verifier)),
    );
    let codes = codes(&result);
    assert!(codes.contains(&"EVENT_DUPLICATED"), "{codes:?}");
    assert!(codes.contains(&"LEAF_DUPLICATED"), "{codes:?}");
}

#[test]
fn a_version_1_file_is_one_clear_problem() {
    let document =
        json!({"format": "serial-ledger/serial-history", "format_version": 1, "serial": SERIAL});
    let result = check_evidence(&document, None);
    assert_eq!(codes(&result), vec!["EVIDENCE_VERSION_WITHOUT_PROOFS"]);
    assert!(result.problems[0].to_string().contains("regenerate"));
}

#[test]
fn oversized_and_non_json_input_is_refused_unparsed() {
    let result = check_evidence_bytes(b"{not json", None);
    assert_eq!(codes(&result), vec!["EVIDENCE_NOT_JSON"]);
    let huge = vec![b' '; ledger_proof::evidence::MAX_DOCUMENT_BYTES + 1];
    assert_eq!(
        codes(&check_evidence_bytes(&huge, None)),
        vec!["EVIDENCE_TOO_LARGE"]
    );
}

#[test]
fn too_many_events_is_refused_before_checking_them() {
    let entries = vec![json!({}); ledger_proof::evidence::MAX_EVENTS + 1];
    let story = story();
    let mut document = story.genuine();
    document["units"][0]["history"] = Value::Array(entries);
    let result = check_evidence(&document, None);
    assert!(codes(&result).contains(&"EVIDENCE_TOO_MANY_EVENTS"));
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        "[a-f0-9]{0,70}".prop_map(Value::String),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("format".to_owned()),
                    Just("format_version".to_owned()),
                    Just("units".to_owned()),
                    Just("history".to_owned()),
                    Just("event".to_owned()),
                    Just("leaf_index".to_owned()),
                    Just("inclusion_proof".to_owned()),
                    Just("serial_map".to_owned()),
                    Just("checkpoint".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Replaces the value at a pseudo-random path of `document` with `replacement`.
fn mutate(document: &mut Value, mut choice: u64, replacement: Value) {
    let mut node = document;
    loop {
        let children = match node {
            Value::Object(map) => map.len(),
            Value::Array(items) => items.len(),
            _ => 0,
        };
        if children == 0 || choice.is_multiple_of(4) {
            *node = replacement;
            return;
        }
        let index = (choice / 4) as usize % children;
        choice /= 7;
        node = match node {
            Value::Object(map) => match map.values_mut().nth(index) {
                Some(child) => child,
                None => return,
            },
            Value::Array(items) => &mut items[index],
            _ => return,
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn random_documents_never_panic(document in arbitrary_json()) {
        let result = check_evidence(&document, None);
        prop_assert!(!result.problems.is_empty() || document.is_object());
    }

    #[test]
    fn mutated_genuine_documents_never_panic(
        choices in prop::collection::vec(any::<u64>(), 1..4),
        replacement in arbitrary_json(),
    ) {
        let story = story();
        let mut document = story.genuine();
        for choice in &choices {
            mutate(&mut document, *choice, replacement.clone());
        }
        let result = check_evidence(&document, Some(std::slice::from_ref(&story.ledger.verifier)));
        // Presentational and unknown fields may change freely, so no verdict is asserted:
        // only that every mutation gets one.
        prop_assert!(result.is_verified() || !result.problems.is_empty() || !result.signature_checked);
    }
}
