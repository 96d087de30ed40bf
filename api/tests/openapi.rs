//! The committed OpenAPI document (`api/openapi.json`) is the one the code generates: a
//! change to the REST contract shows up in review as a change to that file.
//! `UPDATE_OPENAPI=1 cargo test -p api --test openapi` rewrites it.

#![allow(clippy::unwrap_used)]

use api::rest::openapi_json;

#[test]
fn the_committed_openapi_document_is_current() {
    let generated = openapi_json();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "api/openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test -p api --test openapi` and commit it"
    );
}

#[test]
fn every_operation_is_documented_with_its_errors_and_the_bearer_scheme() {
    let document: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = document["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            for status in ["200", "400", "401", "403", "429", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not document {status}"
                );
            }
            assert!(
                operation["security"].is_array(),
                "{method} {path} names no security"
            );
        }
    }
    assert_eq!(
        operations, 15,
        "fifteen operations: serial mode, pending lines, assign, remove, fulfil, trace; and the \
         ledger's list, latest, by size, note, issue, cosign, inclusion, consistency, keys"
    );
}
