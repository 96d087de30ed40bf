//! Webhooks, end to end: a retailer registers an endpoint through GraphQL, and a receiver
//! on 127.0.0.1 gets every event of that retailer (and no other), signed, in log order
//! (hence in order per stream), at least once: through failures and retries, a server
//! restart with events recorded while it was down, a dead letter and its resume, and two
//! server processes on one database. Every case runs on both backends
//! (`webhooks::sqlite::...`, `webhooks::postgres::...`).
//!
//! The servers here are built by the tests (not `TestApp`) so each can use short backoffs
//! (`AppState::webhook_options`) and be stopped and started again on the same database.

use api::graphql::{RequestMeta, build_schema};
use api::state::AppState;
use application::auth::{Principal, Role};
use application::webhooks::{DEFAULT_TOLERANCE, WebhookOptions, verify_signature};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{EventStore, Position};
use tests::app::{TestServer, error_code};
use tests::{Backend, TestDatabase};
use uuid::Uuid;

on_each_backend!(
    every_event_of_the_retailer_arrives_signed_in_log_order_through_failures_and_retries,
    a_server_restart_in_the_middle_loses_nothing,
    an_endpoint_failing_every_attempt_is_dead_lettered_and_resumes_where_it_stopped,
    registration_is_refused_naming_the_field_and_the_rule,
    only_managers_manage_webhooks_and_only_their_own_retailers,
    two_server_processes_on_one_database_deliver_each_event_once,
);

const SECRET: &str = "whsec_test_0123456789abcdef";
const OUTLET: &str = "0190a000-0000-7000-8000-0000000000aa";
/// Events one `Shop::sell` records at a retailer.
const EVENTS_PER_SALE: usize = 8;
/// How long any wait for deliveries may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// Short backoffs so retries take milliseconds.
fn fast_options() -> WebhookOptions {
    WebhookOptions {
        initial_backoff: Duration::from_millis(10),
        backoff_factor: 2,
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(5),
        max_attempts: 10,
        poll_interval: Duration::from_millis(50),
        ..WebhookOptions::default()
    }
}

// ---- the receiver ---------------------------------------------------------------------------

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    event_id_header: String,
    attempt: u32,
    signature: String,
    content_type: String,
    body: Vec<u8>,
    json: Value,
    answered: u16,
}

#[derive(Default)]
struct ReceiverState {
    requests: Mutex<Vec<Received>>,
    /// Answer 500 to this many requests more, then 200.
    failures_left: AtomicUsize,
    /// Answer 503 to everything while set.
    down: AtomicBool,
    /// Wait this long before answering (milliseconds).
    delay_ms: AtomicUsize,
}

/// An HTTP receiver on 127.0.0.1, as an integrator would run.
struct Receiver {
    state: Arc<ReceiverState>,
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    axum::extract::State(state): axum::extract::State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    let status = if state.down.load(Ordering::SeqCst) {
        StatusCode::SERVICE_UNAVAILABLE
    } else if state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok()
    {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let received = Received {
        event_id_header: header("serial-ledger-event-id"),
        attempt: header("serial-ledger-delivery-attempt")
            .parse()
            .unwrap_or(0),
        signature: header("serial-ledger-signature"),
        content_type: header("content-type"),
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body: body.to_vec(),
        answered: status.as_u16(),
    };
    state.requests.lock().unwrap().push(received);
    status
}

impl Receiver {
    async fn start() -> Self {
        let state = Arc::new(ReceiverState::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { state, url, task }
    }

    fn fail_next(&self, count: usize) {
        self.state.failures_left.store(count, Ordering::SeqCst);
    }

    fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    fn requests(&self) -> Vec<Received> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The events answered 200, each once (first arrival), in arrival order.
    fn delivered(&self) -> Vec<Value> {
        let mut seen = HashSet::new();
        self.requests()
            .into_iter()
            .filter(|request| request.answered == 200)
            .filter(|request| seen.insert(request.json["id"].as_str().unwrap().to_owned()))
            .map(|request| request.json)
            .collect()
    }

    fn delivered_ids(&self) -> Vec<String> {
        self.delivered()
            .iter()
            .map(|event| event["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Waits until every id in `expected` has been delivered.
    async fn wait_for(&self, expected: &[String]) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let delivered: HashSet<String> = self.delivered_ids().into_iter().collect();
            let missing = expected
                .iter()
                .filter(|id| !delivered.contains(*id))
                .count();
            if missing == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{missing} of {} events not delivered in time",
                expected.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

// ---- a shop whose server can be stopped and started again -----------------------------------

struct Shop {
    state: AppState,
    server: Option<TestServer>,
    options: WebhookOptions,
    tenant: event_schemas::TenantId,
    tokens: HashMap<Role, String>,
    foreign_manager: String,
    foreign_pos: String,
    // Dropped last: the database outlives the servers.
    database: TestDatabase,
}

impl Shop {
    async fn open(backend: Backend, options: WebhookOptions) -> Self {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let mut state = AppState::open(&database.url).await.unwrap();
        state.webhook_options = options.clone();
        let tenant = state.auth.create_tenant("shop", "Test Shop").await.unwrap();
        let mut tokens = HashMap::new();
        for role in Role::ALL {
            let issued = state.auth.create_token("shop", role, "test").await.unwrap();
            tokens.insert(role, issued.token);
        }
        state
            .auth
            .create_tenant("elsewhere", "Another Shop")
            .await
            .unwrap();
        let foreign_manager = state
            .auth
            .create_token("elsewhere", Role::Manager, "foreign")
            .await
            .unwrap()
            .token;
        let foreign_pos = state
            .auth
            .create_token("elsewhere", Role::Pos, "foreign")
            .await
            .unwrap()
            .token;
        let server = Some(TestServer::serve(state.clone()).await);
        Self {
            state,
            server,
            options,
            tenant: tenant.tenant_id,
            tokens,
            foreign_manager,
            foreign_pos,
            database,
        }
    }

    fn token(&self, role: Role) -> String {
        self.tokens[&role].clone()
    }

    async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }

    /// A new process on the same database: state opened afresh, then served.
    async fn start(&mut self) {
        let mut state = AppState::open(&self.database.url).await.unwrap();
        state.webhook_options = self.options.clone();
        self.server = Some(TestServer::serve(state.clone()).await);
        self.state = state;
    }

    /// A GraphQL request: over HTTP while the server runs, else in process (the schema
    /// with its projections running, but no server and so no webhook dispatcher).
    async fn graphql(&self, token: &str, query: &str, variables: Value) -> Value {
        if let Some(server) = &self.server {
            return server.graphql(Some(token), query, variables).await;
        }
        let principal: Principal = self.state.auth.authenticate(token).await.unwrap();
        let projections = self.state.projections.spawn();
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables))
            .data(principal)
            .data(RequestMeta {
                correlation_id: Uuid::now_v7(),
            });
        let response = build_schema(self.state.clone()).execute(request).await;
        projections.stop().await;
        serde_json::to_value(response).unwrap()
    }

    async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self.graphql(token, query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    async fn register(&self, url: &str, event_types: Option<&[&str]>) -> String {
        let data = self
            .ok(
                &self.token(Role::Manager),
                "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { id status } }",
                json!({ "input": { "url": url, "secret": SECRET, "eventTypes": event_types } }),
            )
            .await;
        assert_eq!(data["registerWebhook"]["status"], "ACTIVE");
        data["registerWebhook"]["id"].as_str().unwrap().to_owned()
    }

    async fn webhook(&self, id: &str) -> Value {
        let data = self
            .ok(
                &self.token(Role::Manager),
                "{ webhooks { id url eventTypes status cursor createdAt deadLetter { eventId cursor attempts lastError at } } }",
                json!({}),
            )
            .await;
        data["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|webhook| webhook["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    }

    async fn deliveries(&self, id: &str) -> Vec<Value> {
        let data = self
            .ok(
                &self.token(Role::Manager),
                "query($id: ID!) { webhookDeliveries(webhookId: $id, first: 500) { edges { node { eventId cursor attempt at httpStatus error durationMs outcome } } } }",
                json!({ "id": id }),
            )
            .await;
        data["webhookDeliveries"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"].clone())
            .collect()
    }

    /// A product, then a sale of two of it with their serials, fulfilled: events on a
    /// product stream and a sale stream. `foreign` does it at the other retailer.
    async fn sell(&self, name: &str, foreign: bool) {
        let (manager, pos) = if foreign {
            (self.foreign_manager.clone(), self.foreign_pos.clone())
        } else {
            (self.token(Role::Manager), self.token(Role::Pos))
        };
        let product = self
            .ok(
                &manager,
                "mutation($sku: String!) { createProduct(input: { sku: $sku, name: $sku, serialMode: REQUIRED }) { product { id } } }",
                json!({ "sku": format!("SKU-{name}") }),
            )
            .await["createProduct"]["product"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let sale = self
            .ok(
                &pos,
                "mutation($invoice: String!, $outlet: ID!) { openSale(input: { invoiceNumber: $invoice, outletId: $outlet }) { sale { id } } }",
                json!({ "invoice": format!("INV-{name}"), "outlet": OUTLET }),
            )
            .await["openSale"]["sale"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.ok(
            &pos,
            "mutation($sale: ID!, $product: ID!) { addItem(saleId: $sale, productId: $product, quantity: 2, unitPriceMinor: 1000, currency: \"AUD\") { lines { lineNumber } } }",
            json!({ "sale": sale, "product": product }),
        )
        .await;
        for line in [1, 2] {
            self.ok(
                &pos,
                "mutation($sale: ID!, $line: Int!, $serial: String!) { assignSerial(saleId: $sale, lineId: $line, serialNumber: $serial) { lines { lineNumber } } }",
                json!({ "sale": sale, "line": line, "serial": format!("SN-{name}-{line}") }),
            )
            .await;
        }
        self.ok(
            &pos,
            "mutation($sale: ID!) { fulfilLines(saleId: $sale) { sale { canFulfilNow } } }",
            json!({ "sale": sale }),
        )
        .await;
    }

    /// Several sales at once, at both retailers, so streams interleave in the log.
    async fn sell_many(&self, names: &[&str]) {
        let sales = names.iter().flat_map(|name| {
            [
                self.sell(name, false),
                // The other retailer's events must never reach this retailer's endpoint.
                self.sell(name, true),
            ]
        });
        futures::future::join_all(sales).await;
    }

    /// This retailer's events in the log, in log order (with their positions), once there
    /// are `count` of them: on PostgreSQL, other tests' open transactions may hold the
    /// newest commits back from readers for a moment.
    async fn log(&self, count: usize) -> Vec<(Position, String, String, String)> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let events = self.read_log().await;
            if events.len() >= count {
                return events;
            }
            assert!(Instant::now() < deadline, "{count} events visible in time");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn read_log(&self) -> Vec<(Position, String, String, String)> {
        let mut events = Vec::new();
        let mut after = Position::START;
        loop {
            let batch = self.state.store.read_all(after, 500).await.unwrap();
            let Some(last) = batch.last() else { break };
            after = last.position;
            events.extend(
                batch
                    .into_iter()
                    .filter(|event| event.envelope.tenant_id == self.tenant)
                    .map(|event| {
                        (
                            event.position,
                            event.envelope.event_id.to_string(),
                            event.envelope.stream_id.clone(),
                            event.envelope.event_type.clone(),
                        )
                    }),
            );
        }
        events
    }

    async fn log_ids(&self, count: usize) -> Vec<String> {
        self.log(count)
            .await
            .into_iter()
            .map(|(_, id, _, _)| id)
            .collect()
    }
}

/// Every request the receiver got verifies with the secret, carries its event id and
/// attempt number in headers, and is JSON.
fn assert_signed_and_well_formed(receiver: &Receiver) {
    for request in receiver.requests() {
        assert_eq!(
            verify_signature(SECRET, &request.signature, &request.body, DEFAULT_TOLERANCE),
            Ok(()),
            "signature of {:?}",
            request.signature
        );
        assert_eq!(request.content_type, "application/json");
        assert_eq!(
            request.event_id_header,
            request.json["id"].as_str().unwrap()
        );
        assert!(request.attempt >= 1);
    }
}

/// The receiver got exactly the log's events of the retailer, first arrivals in log order,
/// and each stream's revisions in increasing order.
fn assert_in_log_order(receiver: &Receiver, expected: &[String]) {
    assert_eq!(
        receiver.delivered_ids(),
        expected,
        "every event of the retailer, none of another, in log order"
    );
    let mut revisions: BTreeMap<String, u64> = BTreeMap::new();
    for event in receiver.delivered() {
        let stream = event["streamId"].as_str().unwrap().to_owned();
        let revision = event["streamRevision"].as_u64().unwrap();
        if let Some(previous) = revisions.insert(stream.clone(), revision) {
            assert!(
                revision > previous,
                "{stream}: revision {revision} after {previous}"
            );
        }
    }
}

// ---- the cases ------------------------------------------------------------------------------

async fn every_event_of_the_retailer_arrives_signed_in_log_order_through_failures_and_retries(
    backend: Backend,
) {
    let shop = Shop::open(backend, fast_options()).await;
    let flaky = Receiver::start().await;
    flaky.fail_next(3);
    let serials_only = Receiver::start().await;
    let all = shop.register(&flaky.url, None).await;
    let filtered = shop
        .register(&serials_only.url, Some(&["SerialAssigned"]))
        .await;

    shop.sell_many(&["a", "b", "c"]).await;
    // Per sale: ProductCreated, SaleOpened, two lines, two serials, two fulfilments.
    let log = shop.log(3 * EVENTS_PER_SALE).await;
    let expected: Vec<String> = log.iter().map(|(_, id, _, _)| id.clone()).collect();
    assert_eq!(expected.len(), 3 * EVENTS_PER_SALE);
    flaky.wait_for(&expected).await;
    let serial_events: Vec<String> = log
        .iter()
        .filter(|(_, _, _, event_type)| event_type == "SerialAssigned")
        .map(|(_, id, _, _)| id.clone())
        .collect();
    serials_only.wait_for(&serial_events).await;

    assert_signed_and_well_formed(&flaky);
    assert_signed_and_well_formed(&serials_only);
    assert_in_log_order(&flaky, &expected);
    assert_in_log_order(&serials_only, &serial_events);

    // The first event was refused three times, then accepted at the fourth attempt.
    let first = &flaky.requests()[..4];
    assert!(
        first
            .iter()
            .all(|request| request.json["id"] == expected[0].as_str())
    );
    assert_eq!(
        first
            .iter()
            .map(|r| (r.attempt, r.answered))
            .collect::<Vec<_>>(),
        vec![(1, 500), (2, 500), (3, 500), (4, 200)]
    );

    // The body is the event in its envelope, with the cursor to resume from.
    let (position, id, stream, event_type) = &log[0];
    let body = &flaky.delivered()[0];
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["type"], event_type.as_str());
    assert_eq!(body["streamId"], stream.as_str());
    assert_eq!(body["cursor"], position.to_string());
    assert!(body["version"].as_u64().is_some_and(|version| version >= 1));
    assert_eq!(body["metadata"]["channel"], "BACK_OFFICE");
    assert!(body["payload"].is_object() && body["recordedAt"].is_string());

    // Every attempt is recorded, the failed ones with their status. The receiver has the
    // last event a moment before the dispatcher commits its attempt: wait for the record.
    let deadline = Instant::now() + Duration::from_secs(10);
    let deliveries = loop {
        let deliveries = shop.deliveries(&all).await;
        let delivered = deliveries
            .iter()
            .filter(|attempt| attempt["outcome"] == "DELIVERED")
            .count();
        if delivered >= expected.len() || Instant::now() > deadline {
            break deliveries;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let failed: Vec<&Value> = deliveries
        .iter()
        .filter(|attempt| attempt["outcome"] == "FAILED")
        .collect();
    assert_eq!(failed.len(), 3, "{deliveries:#?}");
    for attempt in &failed {
        assert_eq!(attempt["eventId"], expected[0].as_str());
        assert_eq!(attempt["httpStatus"], 500);
        assert_eq!(attempt["error"], "HTTP 500 Internal Server Error");
    }
    let delivered = deliveries
        .iter()
        .filter(|attempt| attempt["outcome"] == "DELIVERED")
        .count();
    assert_eq!(delivered, expected.len());
    assert_eq!(shop.deliveries(&filtered).await.len(), serial_events.len());

    // Each endpoint's cursor has reached its last event.
    let webhook = shop.webhook(&all).await;
    assert_eq!(webhook["status"], "ACTIVE");
    assert_eq!(webhook["deadLetter"], Value::Null);
    let cursor: Position = webhook["cursor"].as_str().unwrap().parse().unwrap();
    assert!(cursor >= log.last().unwrap().0);
}

async fn a_server_restart_in_the_middle_loses_nothing(backend: Backend) {
    let mut shop = Shop::open(backend, fast_options()).await;
    let receiver = Receiver::start().await;
    // A slow receiver, failing now and then, so the stop lands in the middle of delivering.
    receiver.state.delay_ms.store(100, Ordering::SeqCst);
    receiver.fail_next(2);
    shop.register(&receiver.url, None).await;

    shop.sell_many(&["before-1", "before-2"]).await;
    // Stop once a few events are through: the rest are still to be delivered.
    let deadline = Instant::now() + PATIENCE;
    while receiver.delivered_ids().len() < 3 {
        assert!(Instant::now() < deadline, "first deliveries in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shop.stop().await;
    let delivered_before_stop = receiver.delivered_ids().len();
    assert!(
        delivered_before_stop < 2 * EVENTS_PER_SALE,
        "the stop came in the middle: {delivered_before_stop} delivered"
    );

    // Recorded while no server runs.
    shop.sell_many(&["while-down"]).await;
    let requests_while_down = receiver.requests().len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        receiver.requests().len(),
        requests_while_down,
        "nothing is delivered while no server runs"
    );

    shop.start().await;
    shop.sell_many(&["after"]).await;
    let expected = shop.log_ids(4 * EVENTS_PER_SALE).await;
    assert_eq!(expected.len(), 4 * EVENTS_PER_SALE);
    receiver.wait_for(&expected).await;
    assert_signed_and_well_formed(&receiver);
    assert_in_log_order(&receiver, &expected);
}

async fn an_endpoint_failing_every_attempt_is_dead_lettered_and_resumes_where_it_stopped(
    backend: Backend,
) {
    let options = WebhookOptions {
        max_attempts: 3,
        ..fast_options()
    };
    let shop = Shop::open(backend, options).await;
    let receiver = Receiver::start().await;
    receiver.set_down(true);
    let id = shop.register(&receiver.url, None).await;
    shop.sell("first", false).await;
    let log = shop.log(EVENTS_PER_SALE).await;

    let deadline = Instant::now() + PATIENCE;
    let webhook = loop {
        let webhook = shop.webhook(&id).await;
        if webhook["status"] == "DEAD_LETTERED" {
            break webhook;
        }
        assert!(
            Instant::now() < deadline,
            "dead-lettered in time: {webhook:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let dead = &webhook["deadLetter"];
    assert_eq!(
        dead["eventId"],
        log[0].1.as_str(),
        "stopped at the first event"
    );
    assert_eq!(dead["cursor"], log[0].0.to_string());
    assert_eq!(dead["attempts"], 3);
    assert_eq!(dead["lastError"], "HTTP 503 Service Unavailable");
    assert!(dead["at"].is_string());
    assert_eq!(
        webhook["cursor"],
        Position::START.to_string(),
        "the cursor stays before the event that failed"
    );
    let attempts: Vec<(u64, &str)> = shop
        .deliveries(&id)
        .await
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["outcome"].as_str().unwrap(),
            )
        })
        .map(|(n, outcome)| {
            (
                n,
                if outcome == "FAILED" {
                    "FAILED"
                } else {
                    "DEAD_LETTERED"
                },
            )
        })
        .collect();
    assert_eq!(
        attempts,
        vec![(3, "DEAD_LETTERED"), (2, "FAILED"), (1, "FAILED")],
        "newest first"
    );

    // Nothing more is sent while dead-lettered, however many events are recorded.
    shop.sell("second", false).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests().len(), 3);

    receiver.set_down(false);
    let resumed = shop
        .ok(
            &shop.token(Role::Manager),
            "mutation($id: ID!) { resumeWebhook(id: $id) { status deadLetter { eventId } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(resumed["resumeWebhook"]["status"], "ACTIVE");
    assert_eq!(resumed["resumeWebhook"]["deadLetter"], Value::Null);
    let expected = shop.log_ids(2 * EVENTS_PER_SALE).await;
    receiver.wait_for(&expected).await;
    assert_signed_and_well_formed(&receiver);
    assert_in_log_order(&receiver, &expected);
    // The retry count started again at the resume.
    let first_success = receiver
        .requests()
        .into_iter()
        .find(|request| request.answered == 200)
        .unwrap();
    assert_eq!(first_success.attempt, 1);
}

const REGISTER: &str = "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { id url eventTypes status cursor } }";

async fn registration_is_refused_naming_the_field_and_the_rule(backend: Backend) {
    let shop = Shop::open(backend, fast_options()).await;
    let manager = shop.token(Role::Manager);
    let cases = [
        (
            json!({ "url": "ftp://example.com/hooks", "secret": SECRET }),
            "url must be an http or https URL",
        ),
        (
            json!({ "url": "example.com/hooks", "secret": SECRET }),
            "url must be an absolute http or https URL",
        ),
        (
            json!({ "url": "https://example.com/hooks", "secret": "too-short" }),
            "secret must be at least 16 characters",
        ),
        (
            json!({ "url": "https://example.com/hooks", "secret": SECRET, "eventTypes": ["SerialAssigned", "SerialTeleported"] }),
            "eventTypes contains \"SerialTeleported\"",
        ),
        (
            json!({ "url": "https://example.com/hooks", "secret": SECRET, "after": "yesterday" }),
            "after is not a cursor",
        ),
    ];
    for (input, message) in cases {
        let response = shop
            .graphql(&manager, REGISTER, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&response), Some("VALIDATION"), "{response:#}");
        let text = response["errors"][0]["message"].as_str().unwrap();
        assert!(
            text.starts_with(message),
            "{text:?} should start with {message:?}"
        );
    }
    assert_eq!(
        shop.ok(&manager, "{ webhooks { id } }", json!({})).await["webhooks"],
        json!([])
    );

    // Accepted: the secret is never given back, and a new endpoint starts at the head of
    // the log (it is sent what is recorded from now on).
    shop.sell("x", false).await;
    let head = shop.log(EVENTS_PER_SALE).await.last().unwrap().0;
    let response = shop
        .graphql(
            &manager,
            REGISTER,
            json!({ "input": { "url": "https://example.com/hooks", "secret": SECRET, "eventTypes": ["LineFulfilled"] } }),
        )
        .await;
    assert!(!response.to_string().contains(SECRET));
    let webhook = &response["data"]["registerWebhook"];
    assert_eq!(webhook["eventTypes"], json!(["LineFulfilled"]));
    assert_eq!(webhook["status"], "ACTIVE");
    let cursor: Position = webhook["cursor"].as_str().unwrap().parse().unwrap();
    assert!(cursor >= head, "{cursor} starts at the head {head}");
}

async fn only_managers_manage_webhooks_and_only_their_own_retailers(backend: Backend) {
    let shop = Shop::open(backend, fast_options()).await;
    let input = json!({ "input": { "url": "https://example.com/hooks", "secret": SECRET } });
    for role in [Role::Pos, Role::Warehouse, Role::Auditor, Role::Integrator] {
        let token = shop.token(role);
        let refused = shop.graphql(&token, REGISTER, input.clone()).await;
        assert_eq!(
            error_code(&refused),
            Some("FORBIDDEN"),
            "{role}: {refused:#}"
        );
        let refused = shop.graphql(&token, "{ webhooks { id } }", json!({})).await;
        assert_eq!(
            error_code(&refused),
            Some("FORBIDDEN"),
            "{role}: {refused:#}"
        );
    }

    let id = shop.register("https://example.com/hooks", None).await;
    let foreign = shop.foreign_manager.clone();
    assert_eq!(
        shop.ok(&foreign, "{ webhooks { id } }", json!({})).await["webhooks"],
        json!([]),
        "another retailer sees none of this retailer's webhooks"
    );
    for query in [
        "query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { cursor } } }",
        "mutation($id: ID!) { resumeWebhook(id: $id) { id } }",
        "mutation($id: ID!) { removeWebhook(id: $id) }",
    ] {
        let refused = shop.graphql(&foreign, query, json!({ "id": id })).await;
        assert_eq!(
            error_code(&refused),
            Some("NOT_FOUND"),
            "{query}: {refused:#}"
        );
    }

    let manager = shop.token(Role::Manager);
    let removed = shop
        .ok(
            &manager,
            "mutation($id: ID!) { removeWebhook(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(removed["removeWebhook"], id.as_str());
    assert_eq!(
        shop.ok(&manager, "{ webhooks { id } }", json!({})).await["webhooks"],
        json!([])
    );
}

async fn two_server_processes_on_one_database_deliver_each_event_once(backend: Backend) {
    let mut shop = Shop::open(backend, fast_options()).await;
    // A second process on the same database, with its own dispatcher.
    let mut second_state = AppState::open(&shop.database.url).await.unwrap();
    second_state.webhook_options = fast_options();
    let second = TestServer::serve(second_state).await;

    let receiver = Receiver::start().await;
    shop.register(&receiver.url, None).await;
    shop.sell_many(&["a", "b"]).await;
    let expected = shop.log_ids(2 * EVENTS_PER_SALE).await;
    receiver.wait_for(&expected).await;

    // The first process stops: the second carries on alone (taking the lease over if the
    // first held it), with events recorded by yet another writer.
    shop.stop().await;
    shop.sell_many(&["c"]).await;
    let expected = shop.log_ids(3 * EVENTS_PER_SALE).await;
    receiver.wait_for(&expected).await;
    // Give a second dispatcher every chance to send something again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.requests().len(),
        expected.len(),
        "one request per event: the endpoint's lease lets one process at a time deliver"
    );
    assert_in_log_order(&receiver, &expected);
    second.stop().await;
}
