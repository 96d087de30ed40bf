//! The verifiable ledger over the APIs, end to end over HTTP on each backend: checkpoints
//! issued (signed), listed and read back, their notes as text, inclusion proofs of the
//! retailer's events and consistency proofs between checkpoints that verify with
//! `ledger_proof`, witnesses' cosignatures verified before they are stored, the keys, the
//! role matrix and tenant confinement; REST (`/api/v1/ledger/...`) and GraphQL.

use api::state::AppState;
use application::auth::Role;
use ledger_proof::checkpoint::{VerifierKey, generate_signing_key, open_checkpoint};
use ledger_proof::cosignature::{WitnessKey, generate_witness_key};
use ledger_proof::merkle::{self, Hash};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use store::EventStore;
use tests::app::TestServer;
use tests::{Backend, TestDatabase};

on_each_backend!(
    a_signed_checkpoint_is_issued_listed_and_read_back,
    inclusion_proofs_of_the_retailers_events_verify_against_the_checkpoint_root,
    a_consistency_proof_between_two_checkpoints_verifies,
    a_witness_cosignature_is_verified_before_it_is_stored,
    other_roles_are_forbidden_and_other_retailers_data_does_not_exist,
    graphql_issues_lists_proves_and_cosigns,
);

const OUTLET: &str = "0190a000-0000-7000-8000-0000000000aa";

/// The real server on a fresh database with a signing key, retailer `shop` with a token
/// per role, and retailer `elsewhere` with a manager and an auditor token. Checkpoints are
/// issued only on request (the background task's thresholds are out of reach).
struct Ledger {
    server: TestServer,
    state: AppState,
    tenant: event_schemas::TenantId,
    other_tenant: event_schemas::TenantId,
    tokens: HashMap<&'static str, String>,
    foreign_manager: String,
    foreign_auditor: String,
    log_key: VerifierKey,
    _database: TestDatabase,
}

impl Ledger {
    async fn start(backend: Backend) -> Self {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let mut state = AppState::open(&database.url).await.unwrap();
        let (private, public) = generate_signing_key("ledger.test/shop").unwrap();
        state.ledger.signing_key = Some(Arc::new(
            ledger_proof::checkpoint::SigningKey::from_text(&private).unwrap(),
        ));
        state.ledger.every_events = u64::MAX;
        state.ledger.every_seconds = u64::MAX;
        let tenant = state.auth.create_tenant("shop", "Test Shop").await.unwrap();
        let other = state
            .auth
            .create_tenant("elsewhere", "Another Shop")
            .await
            .unwrap();
        let mut tokens = HashMap::new();
        for role in Role::ALL {
            let issued = state
                .auth
                .create_token("shop", role, &format!("test {role}"))
                .await
                .unwrap();
            tokens.insert(role.name(), issued.token);
        }
        let foreign = |role| {
            let auth = state.auth.clone();
            async move {
                auth.create_token("elsewhere", role, "foreign")
                    .await
                    .unwrap()
                    .token
            }
        };
        let foreign_manager = foreign(Role::Manager).await;
        let foreign_auditor = foreign(Role::Auditor).await;
        let server = TestServer::serve(state.clone()).await;
        Self {
            server,
            state,
            tenant: tenant.tenant_id,
            other_tenant: other.tenant_id,
            tokens,
            foreign_manager,
            foreign_auditor,
            log_key: VerifierKey::from_text(&public).unwrap(),
            _database: database,
        }
    }

    fn token(&self, role: Role) -> String {
        self.tokens[role.name()].clone()
    }

    /// One REST call: status, content type and body text.
    async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, String, String) {
        let mut request = reqwest::Client::new().request(method, self.server.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, content_type, response.text().await.unwrap())
    }

    /// One REST call: status and JSON body (`Value::Null` when the body is not JSON).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, text) = self.raw(method, path, token, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A REST GET as `role` that must answer 200; returns the body.
    async fn get(&self, role: Role, path: &str) -> Value {
        let (status, body) = self
            .call(Method::GET, path, Some(&self.token(role)), None)
            .await;
        assert_eq!(status, 200, "GET {path}: {body:#}");
        body
    }

    /// `POST /api/v1/ledger/checkpoints` as an auditor: status and checkpoint.
    async fn issue(&self) -> (u16, Value) {
        self.call(
            Method::POST,
            "/api/v1/ledger/checkpoints",
            Some(&self.token(Role::Auditor)),
            None,
        )
        .await
    }

    async fn graphql(&self, token: &str, query: &str, variables: Value) -> Value {
        self.server.graphql(Some(token), query, variables).await
    }

    /// A GraphQL request that must succeed; returns `data`.
    async fn gql(&self, role: Role, query: &str, variables: Value) -> Value {
        let response = self.graphql(&self.token(role), query, variables).await;
        assert!(response.get("errors").is_none(), "{response:#}");
        response["data"].clone()
    }

    /// Records some sales: a product, a sale with `units` lines, a serial on each.
    async fn sell(&self, invoice: &str, units: u32) {
        let data = self
            .gql(
                Role::Manager,
                "mutation($sku: String!) { createProduct(input: { sku: $sku, name: $sku, serialMode: REQUIRED }) { product { id } } }",
                json!({ "sku": format!("SKU-{invoice}") }),
            )
            .await;
        let product = data["createProduct"]["product"]["id"].clone();
        let data = self
            .gql(
                Role::Pos,
                "mutation($invoice: String!, $outlet: ID!) { openSale(input: { invoiceNumber: $invoice, outletId: $outlet }) { sale { id } } }",
                json!({ "invoice": invoice, "outlet": OUTLET }),
            )
            .await;
        let sale = data["openSale"]["sale"]["id"].clone();
        self.gql(
            Role::Pos,
            "mutation($sale: ID!, $product: ID!, $quantity: Int!) { addItem(saleId: $sale, productId: $product, quantity: $quantity) { lines { lineNumber } } }",
            json!({ "sale": sale, "product": product, "quantity": units }),
        )
        .await;
        for line in 1..=units {
            self.gql(
                Role::Pos,
                "mutation($sale: ID!, $line: Int!, $serial: String!) { assignSerial(saleId: $sale, lineId: $line, serialNumber: $serial) { cursor } }",
                json!({ "sale": sale, "line": line, "serial": format!("{invoice}-SN-{line}") }),
            )
            .await;
        }
    }

    /// The retailer's events in log order: (event id, event hash).
    async fn events_of(&self, tenant: event_schemas::TenantId) -> Vec<(String, Hash)> {
        let all = self
            .state
            .store
            .read_all(store::Position::START, 100_000)
            .await
            .unwrap();
        all.into_iter()
            .filter(|event| event.envelope.tenant_id == tenant)
            .map(|event| {
                (
                    event.envelope.event_id.to_string(),
                    merkle::parse_hash_hex(&event.envelope.hash).unwrap(),
                )
            })
            .collect()
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or("(no JSON error code)")
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

fn gql_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("(no code)")
}

fn hash(value: &Value) -> Hash {
    merkle::parse_hash_hex(value.as_str().unwrap()).unwrap()
}

fn hashes(value: &Value) -> Vec<Hash> {
    value.as_array().unwrap().iter().map(hash).collect()
}

fn size(value: &Value) -> u64 {
    value.as_u64().unwrap()
}

async fn a_signed_checkpoint_is_issued_listed_and_read_back(backend: Backend) {
    let ledger = Ledger::start(backend).await;
    let (status, body) = ledger
        .call(
            Method::GET,
            "/api/v1/ledger/checkpoints/latest",
            Some(&ledger.token(Role::Auditor)),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"), "{body:#}");
    assert!(message(&body).contains("no checkpoint"), "{body:#}");

    ledger.sell("INV-1", 2).await;
    let (status, first) = ledger.issue().await;
    assert_eq!(status, 201, "{first:#}");
    let events = ledger.events_of(ledger.tenant).await;
    assert_eq!(size(&first["treeSize"]), events.len() as u64);
    assert_eq!(first["signed"], true);
    assert_eq!(first["keyName"], "ledger.test/shop");
    assert_eq!(first["verifierKey"], ledger.log_key.text());
    assert_eq!(first["cosignatures"], json!([]));
    time::OffsetDateTime::parse(
        first["issuedAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    // The note verifies with the published key and says what the JSON says.
    let opened = open_checkpoint(
        first["note"].as_str().unwrap(),
        std::slice::from_ref(&ledger.log_key),
    )
    .unwrap();
    assert_eq!(opened.checkpoint.tree_size, size(&first["treeSize"]));
    assert_eq!(opened.checkpoint.root, hash(&first["rootHash"]));
    assert_eq!(opened.checkpoint.map_root, hash(&first["serialMapRoot"]));
    assert_eq!(opened.checkpoint.origin, first["origin"].as_str().unwrap());
    // The root is the tree of the retailer's events.
    let mut tree = merkle::MemoryTree::new();
    for (_, event_hash) in &events {
        tree.push(event_hash).unwrap();
    }
    assert_eq!(hex::encode(tree.root()), first["rootHash"]);

    // Nothing new: the same checkpoint, 200.
    let (status, again) = ledger.issue().await;
    assert_eq!(status, 200, "{again:#}");
    assert_eq!(again, first);

    ledger.sell("INV-2", 1).await;
    let (status, second) = ledger.issue().await;
    assert_eq!(status, 201, "{second:#}");
    assert!(size(&second["treeSize"]) > size(&first["treeSize"]));

    let latest = ledger
        .get(Role::Manager, "/api/v1/ledger/checkpoints/latest")
        .await;
    assert_eq!(latest, second);
    let at = ledger
        .get(
            Role::Auditor,
            &format!("/api/v1/ledger/checkpoints/{}", first["treeSize"]),
        )
        .await;
    assert_eq!(at, first);
    let list = ledger
        .get(Role::Auditor, "/api/v1/ledger/checkpoints")
        .await;
    assert_eq!(list["checkpoints"], json!([second, first]), "newest first");
    let page = ledger
        .get(Role::Auditor, "/api/v1/ledger/checkpoints?limit=1")
        .await;
    assert_eq!(page["checkpoints"], json!([second]));
    let next = ledger
        .get(
            Role::Auditor,
            &format!(
                "/api/v1/ledger/checkpoints?limit=1&before={}",
                second["treeSize"]
            ),
        )
        .await;
    assert_eq!(next["checkpoints"], json!([first]));
    for bad in ["limit=0", "limit=501", "limit=x", "colour=red"] {
        let (status, body) = ledger
            .call(
                Method::GET,
                &format!("/api/v1/ledger/checkpoints?{bad}"),
                Some(&ledger.token(Role::Auditor)),
                None,
            )
            .await;
        assert_eq!(
            (status, code(&body)),
            (400, "VALIDATION"),
            "{bad}: {body:#}"
        );
    }
    let (status, body) = ledger
        .call(
            Method::GET,
            "/api/v1/ledger/checkpoints/999999",
            Some(&ledger.token(Role::Auditor)),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"), "{body:#}");
    let (status, body) = ledger
        .call(
            Method::GET,
            "/api/v1/ledger/checkpoints/minus-one",
            Some(&ledger.token(Role::Auditor)),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (400, "VALIDATION"), "{body:#}");
    assert!(message(&body).starts_with("treeSize"), "{body:#}");

    // The note as a file.
    let (status, content_type, note) = ledger
        .raw(
            Method::GET,
            &format!("/api/v1/ledger/checkpoints/{}/note", first["treeSize"]),
            Some(&ledger.token(Role::Auditor)),
            None,
        )
        .await;
    assert_eq!(status, 200, "{note}");
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert_eq!(note, first["noteWithCosignatures"].as_str().unwrap());
    assert_eq!(note, first["note"].as_str().unwrap(), "no cosignatures yet");

    let keys = ledger.get(Role::Auditor, "/api/v1/ledger/keys").await;
    assert_eq!(
        keys,
        json!({
            "current": { "name": "ledger.test/shop", "verifierKey": ledger.log_key.text() },
            "signing": true,
            "used": [{
                "name": "ledger.test/shop",
                "verifierKey": ledger.log_key.text(),
                "firstTreeSize": first["treeSize"],
                "lastTreeSize": second["treeSize"],
            }],
        })
    );
}

async fn inclusion_proofs_of_the_retailers_events_verify_against_the_checkpoint_root(
    backend: Backend,
) {
    let ledger = Ledger::start(backend).await;
    ledger.sell("INV-1", 3).await;
    let (status, checkpoint) = ledger.issue().await;
    assert_eq!(status, 201, "{checkpoint:#}");
    let root = hash(&checkpoint["rootHash"]);
    let tree_size = size(&checkpoint["treeSize"]);
    let events = ledger.events_of(ledger.tenant).await;
    assert_eq!(events.len() as u64, tree_size);
    for (index, (event_id, event_hash)) in events.iter().enumerate() {
        let proof = ledger
            .get(
                Role::Auditor,
                &format!("/api/v1/ledger/proofs/inclusion?eventId={event_id}"),
            )
            .await;
        assert_eq!(proof["eventId"], event_id.as_str());
        assert_eq!(
            size(&proof["leafIndex"]),
            index as u64,
            "leaves in log order"
        );
        assert_eq!(
            size(&proof["treeSize"]),
            tree_size,
            "the newest checkpoint's"
        );
        merkle::verify_inclusion(
            tree_size,
            &root,
            size(&proof["leafIndex"]),
            event_hash,
            &hashes(&proof["proof"]),
        )
        .unwrap();
    }
    // At an explicit, smaller tree size.
    let (first_id, first_hash) = &events[0];
    let proof = ledger
        .get(
            Role::Manager,
            &format!("/api/v1/ledger/proofs/inclusion?eventId={first_id}&treeSize=2"),
        )
        .await;
    let tree = {
        let mut tree = merkle::MemoryTree::new();
        for (_, event_hash) in &events {
            tree.push(event_hash).unwrap();
        }
        tree
    };
    merkle::verify_inclusion(
        2,
        &tree.root_at(2).unwrap(),
        0,
        first_hash,
        &hashes(&proof["proof"]),
    )
    .unwrap();
    // A proof does not verify for another event.
    let (_, other_hash) = &events[1];
    assert!(
        merkle::verify_inclusion(tree_size, &root, 0, other_hash, &{
            let proof = ledger
                .get(
                    Role::Auditor,
                    &format!("/api/v1/ledger/proofs/inclusion?eventId={first_id}"),
                )
                .await;
            hashes(&proof["proof"])
        })
        .is_err()
    );

    // Recorded after the checkpoint: not in its tree yet.
    ledger.sell("INV-2", 1).await;
    let events = ledger.events_of(ledger.tenant).await;
    let (late, _) = events.last().unwrap();
    let (status, body) = ledger
        .call(
            Method::GET,
            &format!("/api/v1/ledger/proofs/inclusion?eventId={late}"),
            Some(&ledger.token(Role::Auditor)),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"), "{body:#}");
    assert!(message(&body).contains("not yet in the tree"), "{body:#}");

    // Another retailer's event is like none at all.
    let data = ledger
        .graphql(
            &ledger.foreign_manager,
            "mutation { createProduct(input: { sku: \"THEIRS\", name: \"Theirs\" }) { product { id } } }",
            json!({}),
        )
        .await;
    assert!(data.get("errors").is_none(), "{data:#}");
    let theirs = ledger.events_of(ledger.other_tenant).await;
    let (foreign_event, _) = theirs.first().unwrap();
    for event_id in [foreign_event.clone(), uuid::Uuid::now_v7().to_string()] {
        let (status, body) = ledger
            .call(
                Method::GET,
                &format!("/api/v1/ledger/proofs/inclusion?eventId={event_id}"),
                Some(&ledger.token(Role::Auditor)),
                None,
            )
            .await;
        assert_eq!((status, code(&body)), (404, "NOT_FOUND"), "{body:#}");
        assert_eq!(
            message(&body),
            format!("no event {event_id} in this retailer's log")
        );
    }
    let (status, body) = ledger
        .call(
            Method::GET,
            "/api/v1/ledger/proofs/inclusion?eventId=not-a-uuid",
            Some(&ledger.token(Role::Auditor)),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (400, "VALIDATION"), "{body:#}");
    assert!(message(&body).starts_with("eventId"), "{body:#}");
}

async fn a_consistency_proof_between_two_checkpoints_verifies(backend: Backend) {
    let ledger = Ledger::start(backend).await;
    ledger.sell("INV-1", 2).await;
    let (_, old) = ledger.issue().await;
    ledger.sell("INV-2", 3).await;
    let (_, new) = ledger.issue().await;
    let (from, to) = (size(&old["treeSize"]), size(&new["treeSize"]));
    assert!(from < to);

    let proof = ledger
        .get(
            Role::Auditor,
            &format!("/api/v1/ledger/proofs/consistency?from={from}&to={to}"),
        )
        .await;
    assert_eq!((size(&proof["from"]), size(&proof["to"])), (from, to));
    merkle::verify_consistency(
        from,
        &hash(&old["rootHash"]),
        to,
        &hash(&new["rootHash"]),
        &hashes(&proof["proof"]),
    )
    .unwrap();
    // `to` defaults to the newest checkpoint's.
    let default = ledger
        .get(
            Role::Manager,
            &format!("/api/v1/ledger/proofs/consistency?from={from}"),
        )
        .await;
    assert_eq!(default, proof);
    // Against another root it fails.
    assert!(
        merkle::verify_consistency(
            from,
            &hash(&new["rootHash"]),
            to,
            &hash(&new["rootHash"]),
            &hashes(&proof["proof"]),
        )
        .is_err()
    );

    let (status, body) = ledger
        .call(
            Method::GET,
            &format!("/api/v1/ledger/proofs/consistency?from={to}&to={from}"),
            Some(&ledger.token(Role::Auditor)),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (422, "VALIDATION"), "{body:#}");
    assert!(message(&body).starts_with("from "), "{body:#}");
    let (status, body) = ledger
        .call(
            Method::GET,
            &format!("/api/v1/ledger/proofs/consistency?from=1&to={}", to + 100),
            Some(&ledger.token(Role::Auditor)),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"), "{body:#}");
    let (status, body) = ledger
        .call(
            Method::GET,
            "/api/v1/ledger/proofs/consistency",
            Some(&ledger.token(Role::Auditor)),
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (400, "VALIDATION"), "{body:#}");
}

async fn a_witness_cosignature_is_verified_before_it_is_stored(backend: Backend) {
    let ledger = Ledger::start(backend).await;
    ledger.sell("INV-1", 1).await;
    let (_, checkpoint) = ledger.issue().await;
    let tree_size = size(&checkpoint["treeSize"]);
    let note = checkpoint["note"].as_str().unwrap();
    let (private, public) = generate_witness_key("witness.test/one").unwrap();
    let witness = WitnessKey::from_text(&private).unwrap();
    let line = witness.cosign(note, 1_800_000_000).unwrap();
    let path = format!("/api/v1/ledger/checkpoints/{tree_size}/cosignatures");
    let auditor = ledger.token(Role::Auditor);
    let post = |body: Value| ledger.call(Method::POST, &path, Some(&auditor), Some(body));

    // Refused: a tampered line, another witness's key, a key that is no key.
    let mut tampered = line.clone().into_bytes();
    let at = tampered.len() - 6;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let (_, other_public) = generate_witness_key("witness.test/two").unwrap();
    let (_, log_public) = generate_signing_key("not-a-witness").unwrap();
    for (body, field) in [
        (json!({ "witnessKey": public, "line": tampered }), "line"),
        (json!({ "witnessKey": other_public, "line": line }), "line"),
        (
            json!({ "witnessKey": public, "line": "not a signature line" }),
            "line",
        ),
        (
            json!({ "witnessKey": "garbage", "line": line }),
            "witnessKey",
        ),
        (
            json!({ "witnessKey": log_public, "line": line }),
            "witnessKey",
        ),
    ] {
        let (status, refused) = post(body.clone()).await;
        assert_eq!(
            (status, code(&refused)),
            (422, "VALIDATION"),
            "{body:#}: {refused:#}"
        );
        assert!(
            message(&refused).starts_with(&format!("{field} ")),
            "{body:#}: {refused:#}"
        );
    }
    let unchanged = ledger
        .get(Role::Auditor, "/api/v1/ledger/checkpoints/latest")
        .await;
    assert_eq!(
        unchanged["cosignatures"],
        json!([]),
        "nothing refused was kept"
    );
    let (status, body) = post(json!({ "witnessKey": public })).await;
    assert_eq!((status, code(&body)), (400, "VALIDATION"), "{body:#}");
    let (status, body) = ledger
        .call(
            Method::POST,
            "/api/v1/ledger/checkpoints/999999/cosignatures",
            Some(&auditor),
            Some(json!({ "witnessKey": public, "line": line })),
        )
        .await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"), "{body:#}");

    // Accepted, stored and shown.
    let (status, cosigned) = post(json!({ "witnessKey": public, "line": line })).await;
    assert_eq!(status, 201, "{cosigned:#}");
    assert_eq!(
        cosigned["cosignatures"],
        json!([{
            "witness": "witness.test/one",
            "signedAt": "2027-01-15T08:00:00Z",
            "line": line,
        }])
    );
    assert_eq!(
        cosigned["noteWithCosignatures"].as_str().unwrap(),
        format!("{note}{line}")
    );
    let (status, again) = post(json!({ "witnessKey": public, "line": line })).await;
    assert_eq!(status, 200, "recorded once: {again:#}");
    assert_eq!(again, cosigned);
    let (_, _, text) = ledger
        .raw(
            Method::GET,
            &format!("/api/v1/ledger/checkpoints/{tree_size}/note"),
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(text, format!("{note}{line}"));
    // The saved file verifies with the log's key and the witness's.
    let witness_key = ledger_proof::cosignature::WitnessVerifierKey::from_text(&public).unwrap();
    let opened = ledger_proof::checkpoint::open_checkpoint_with_witnesses(
        &text,
        std::slice::from_ref(&ledger.log_key),
        std::slice::from_ref(&witness_key),
    )
    .unwrap();
    assert_eq!(opened.cosignatures.len(), 1);
    let latest = ledger
        .get(Role::Manager, "/api/v1/ledger/checkpoints/latest")
        .await;
    assert_eq!(latest, cosigned);
}

async fn other_roles_are_forbidden_and_other_retailers_data_does_not_exist(backend: Backend) {
    let ledger = Ledger::start(backend).await;
    ledger.sell("INV-1", 1).await;
    let (_, checkpoint) = ledger.issue().await;
    let tree_size = size(&checkpoint["treeSize"]);
    let (event_id, _) = ledger.events_of(ledger.tenant).await[0].clone();
    let reads = [
        "/api/v1/ledger/checkpoints".to_owned(),
        "/api/v1/ledger/checkpoints/latest".to_owned(),
        format!("/api/v1/ledger/checkpoints/{tree_size}"),
        format!("/api/v1/ledger/checkpoints/{tree_size}/note"),
        format!("/api/v1/ledger/proofs/inclusion?eventId={event_id}"),
        "/api/v1/ledger/proofs/consistency?from=0".to_owned(),
        "/api/v1/ledger/keys".to_owned(),
    ];
    let cosign = format!("/api/v1/ledger/checkpoints/{tree_size}/cosignatures");
    let body = json!({ "witnessKey": "x", "line": "y" });
    for role in [Role::Pos, Role::Warehouse, Role::Integrator] {
        let token = ledger.token(role);
        for path in &reads {
            let (status, refused) = ledger.call(Method::GET, path, Some(&token), None).await;
            assert_eq!(
                (status, code(&refused)),
                (403, "FORBIDDEN"),
                "{role} {path}"
            );
        }
        let (status, refused) = ledger
            .call(
                Method::POST,
                "/api/v1/ledger/checkpoints",
                Some(&token),
                None,
            )
            .await;
        assert_eq!((status, code(&refused)), (403, "FORBIDDEN"), "{role} issue");
        let (status, refused) = ledger
            .call(Method::POST, &cosign, Some(&token), Some(body.clone()))
            .await;
        assert_eq!(
            (status, code(&refused)),
            (403, "FORBIDDEN"),
            "{role} cosign"
        );
    }
    for path in &reads {
        let (status, refused) = ledger.call(Method::GET, path, None, None).await;
        assert_eq!((status, code(&refused)), (401, "UNAUTHENTICATED"), "{path}");
        ledger.get(Role::Auditor, path).await;
        ledger.get(Role::Manager, path).await;
    }

    // The other retailer's auditor sees its own ledger: none of this one's.
    let foreign = Some(ledger.foreign_auditor.as_str());
    for path in [
        "/api/v1/ledger/checkpoints/latest".to_owned(),
        format!("/api/v1/ledger/checkpoints/{tree_size}"),
        format!("/api/v1/ledger/checkpoints/{tree_size}/note"),
        format!("/api/v1/ledger/proofs/inclusion?eventId={event_id}&treeSize={tree_size}"),
    ] {
        let (status, refused) = ledger.call(Method::GET, &path, foreign, None).await;
        assert_eq!(
            (status, code(&refused)),
            (404, "NOT_FOUND"),
            "{path}: {refused:#}"
        );
    }
    let (status, list) = ledger
        .call(Method::GET, "/api/v1/ledger/checkpoints", foreign, None)
        .await;
    assert_eq!((status, list), (200, json!({ "checkpoints": [] })));
    let (status, refused) = ledger
        .call(Method::POST, &cosign, foreign, Some(body.clone()))
        .await;
    assert_eq!((status, code(&refused)), (404, "NOT_FOUND"), "{refused:#}");
    let (status, keys) = ledger
        .call(Method::GET, "/api/v1/ledger/keys", foreign, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        keys["used"],
        json!([]),
        "no checkpoint of theirs was signed"
    );
}

const CHECKPOINT_FIELDS: &str = "origin treeSize rootHash serialMapRoot issuedAt signed keyName verifierKey note noteWithCosignatures cosignatures { witness signedAt line }";

async fn graphql_issues_lists_proves_and_cosigns(backend: Backend) {
    let ledger = Ledger::start(backend).await;
    let none = ledger
        .gql(
            Role::Auditor,
            &format!("{{ ledgerCheckpoint {{ {CHECKPOINT_FIELDS} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(none["ledgerCheckpoint"], Value::Null);
    ledger.sell("INV-1", 2).await;
    let issue = format!("mutation {{ issueCheckpoint {{ {CHECKPOINT_FIELDS} }} }}");
    let old = ledger.gql(Role::Auditor, &issue, json!({})).await["issueCheckpoint"].clone();
    ledger.sell("INV-2", 1).await;
    let new = ledger.gql(Role::Manager, &issue, json!({})).await["issueCheckpoint"].clone();
    assert_eq!(new["signed"], true);
    open_checkpoint(
        new["note"].as_str().unwrap(),
        std::slice::from_ref(&ledger.log_key),
    )
    .unwrap();
    // The same as REST's.
    let rest = ledger
        .get(Role::Auditor, "/api/v1/ledger/checkpoints/latest")
        .await;
    assert_eq!(rest, new);

    let data = ledger
        .gql(
            Role::Auditor,
            &format!(
                "query($before: Int) {{ all: ledgerCheckpoints {{ treeSize }} one: ledgerCheckpoints(first: 1) {{ treeSize }} older: ledgerCheckpoints(before: $before) {{ {CHECKPOINT_FIELDS} }} newest: ledgerCheckpoint {{ treeSize }} at: ledgerCheckpoint(treeSize: $before) {{ treeSize }} }}"
            ),
            json!({ "before": new["treeSize"] }),
        )
        .await;
    assert_eq!(
        data["all"],
        json!([{ "treeSize": new["treeSize"] }, { "treeSize": old["treeSize"] }])
    );
    assert_eq!(data["one"], json!([{ "treeSize": new["treeSize"] }]));
    assert_eq!(data["older"], json!([old]));
    assert_eq!(data["newest"]["treeSize"], new["treeSize"]);
    assert_eq!(data["at"]["treeSize"], new["treeSize"]);

    // An inclusion proof verifies against the checkpoint's root.
    let events = ledger.events_of(ledger.tenant).await;
    let (event_id, event_hash) = &events[1];
    let proof = ledger
        .gql(
            Role::Auditor,
            "query($event: ID!) { inclusionProof(eventId: $event) { eventId leafIndex treeSize proof } }",
            json!({ "event": event_id }),
        )
        .await["inclusionProof"]
        .clone();
    assert_eq!(proof["eventId"], event_id.as_str());
    assert_eq!(proof["treeSize"], new["treeSize"]);
    merkle::verify_inclusion(
        size(&new["treeSize"]),
        &hash(&new["rootHash"]),
        size(&proof["leafIndex"]),
        event_hash,
        &hashes(&proof["proof"]),
    )
    .unwrap();

    let consistency = ledger
        .gql(
            Role::Auditor,
            "query($from: Int!) { consistencyProof(fromSize: $from) { from to proof } }",
            json!({ "from": old["treeSize"] }),
        )
        .await["consistencyProof"]
        .clone();
    assert_eq!(consistency["to"], new["treeSize"]);
    merkle::verify_consistency(
        size(&old["treeSize"]),
        &hash(&old["rootHash"]),
        size(&new["treeSize"]),
        &hash(&new["rootHash"]),
        &hashes(&consistency["proof"]),
    )
    .unwrap();
    let refused = ledger
        .graphql(
            &ledger.token(Role::Auditor),
            "query($from: Int!, $to: Int) { consistencyProof(fromSize: $from, toSize: $to) { proof } }",
            json!({ "from": new["treeSize"], "to": old["treeSize"] }),
        )
        .await;
    assert_eq!(gql_code(&refused), "VALIDATION", "{refused:#}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("fromSize "),
        "{refused:#}"
    );
    let refused = ledger
        .graphql(
            &ledger.token(Role::Auditor),
            "{ inclusionProof(eventId: \"nope\") { proof } }",
            json!({}),
        )
        .await;
    assert_eq!(gql_code(&refused), "VALIDATION", "{refused:#}");
    let refused = ledger
        .graphql(
            &ledger.token(Role::Auditor),
            "{ ledgerCheckpoints(first: 0) { treeSize } }",
            json!({}),
        )
        .await;
    assert_eq!(gql_code(&refused), "VALIDATION", "{refused:#}");

    // A witness cosigns through GraphQL.
    let (private, public) = generate_witness_key("witness.test/gql").unwrap();
    let witness = WitnessKey::from_text(&private).unwrap();
    let line = witness
        .cosign(new["note"].as_str().unwrap(), 1_800_000_000)
        .unwrap();
    let cosign = format!(
        "mutation($size: Int!, $key: String!, $line: String!) {{ addCosignature(treeSize: $size, witnessKey: $key, line: $line) {{ {CHECKPOINT_FIELDS} }} }}"
    );
    let refused = ledger
        .graphql(
            &ledger.token(Role::Auditor),
            &cosign,
            json!({ "size": old["treeSize"], "key": public, "line": line }),
        )
        .await;
    assert_eq!(
        gql_code(&refused),
        "VALIDATION",
        "another checkpoint's line"
    );
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("line "),
        "{refused:#}"
    );
    let cosigned = ledger
        .gql(
            Role::Auditor,
            &cosign,
            json!({ "size": new["treeSize"], "key": public, "line": line }),
        )
        .await["addCosignature"]
        .clone();
    assert_eq!(cosigned["cosignatures"][0]["witness"], "witness.test/gql");
    assert_eq!(cosigned["cosignatures"][0]["line"], line.as_str());

    let keys = ledger
        .gql(
            Role::Manager,
            "{ ledgerKeys { current { name verifierKey } signing used { name verifierKey firstTreeSize lastTreeSize } } }",
            json!({}),
        )
        .await["ledgerKeys"]
        .clone();
    assert_eq!(keys["signing"], true);
    assert_eq!(keys["current"]["verifierKey"], ledger.log_key.text());
    assert_eq!(keys["used"][0]["firstTreeSize"], old["treeSize"]);
    assert_eq!(keys["used"][0]["lastTreeSize"], new["treeSize"]);

    // Roles without the ledger, and another retailer.
    for role in [Role::Pos, Role::Warehouse, Role::Integrator] {
        let token = ledger.token(role);
        for query in [
            "{ ledgerCheckpoints { treeSize } }",
            "{ ledgerKeys { signing } }",
            "mutation { issueCheckpoint { treeSize } }",
        ] {
            let refused = ledger.graphql(&token, query, json!({})).await;
            assert_eq!(
                gql_code(&refused),
                "FORBIDDEN",
                "{role} {query}: {refused:#}"
            );
        }
    }
    let refused = ledger
        .graphql(
            &ledger.foreign_auditor,
            "query($event: ID!) { inclusionProof(eventId: $event) { proof } }",
            json!({ "event": event_id }),
        )
        .await;
    assert_eq!(gql_code(&refused), "NOT_FOUND", "{refused:#}");
    let theirs = ledger
        .graphql(
            &ledger.foreign_auditor,
            "query($size: Int) { ledgerCheckpoint(treeSize: $size) { treeSize } }",
            json!({ "size": new["treeSize"] }),
        )
        .await;
    assert_eq!(
        theirs["data"]["ledgerCheckpoint"],
        Value::Null,
        "{theirs:#}"
    );
}
