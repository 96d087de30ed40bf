//! Concurrency soak: 64 API clients race over HTTP on the same few sales and the same few
//! serials for a bounded time (assign, remove, re-assign, fulfil, refund, re-issue, cancel,
//! add lines, and retries of commands already answered), on each backend. Afterwards:
//!
//! - no serial is live on two lines (the sale streams folded by the domain, and the store's
//!   claims table equals the claims rebuilt from them);
//! - every command a client saw acknowledged with a cursor is in the log exactly once (one
//!   contiguous run of events carrying its command id, ending at that cursor), and one
//!   acknowledged with no cursor recorded nothing;
//! - every refused command changed nothing (no event carries its command id);
//! - the read models equal a fold of the log (`check_projections`) and `verify_log` passes.
//!
//! Quick mode (the normal `cargo test`): 8 s of load per backend. Long mode:
//! `SERIAL_LEDGER_LONG=1 cargo test -p tests --test it soak -- --nocapture` (5 minutes per
//! backend; `SERIAL_LEDGER_SOAK_SECS` sets another duration). Figures go to stderr.

use application::auth::Role;
use domain::Decider;
use domain::claims::live_claims;
use domain::sale::SaleDecider;
use event_schemas::LedgerEvent;
use projections::Projection;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{AnyStore, EventStore, Position, RecordedEvent};
use tests::Backend;
use tests::app::TestApp;
use uuid::Uuid;

const CLIENTS: usize = 64;
const SALES: usize = 4;
const LINES_PER_SALE: u32 = 4;
const SERIALS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_64_clients_racing_on_the_same_sales_and_serials_leave_a_consistent_ledger() {
    soak(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_64_clients_racing_on_the_same_sales_and_serials_leave_a_consistent_ledger() {
    soak(Backend::Postgres).await;
}

/// How long the clients race: quick by default, minutes in the long mode.
fn soak_duration() -> Duration {
    if let Some(seconds) = std::env::var("SERIAL_LEDGER_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return Duration::from_secs(seconds);
    }
    if std::env::var("SERIAL_LEDGER_LONG").is_ok_and(|v| v == "1") {
        Duration::from_secs(300)
    } else {
        Duration::from_secs(8)
    }
}

/// What a client saw of one command it sent.
#[derive(Debug, Clone)]
enum Outcome {
    /// Answered with data: `cursor` is the last event recorded, or None when nothing was.
    Acknowledged { cursor: Option<String> },
    /// Refused with this `extensions.code`.
    Refused(String),
    /// No answer (transport error): it may or may not have been applied.
    Unknown,
}

#[derive(Debug, Clone)]
struct Sent {
    command_id: Uuid,
    mutation: &'static str,
    outcome: Outcome,
}

/// The shared fixture: sales, their highest line number, the product, the serial pool.
struct Shop {
    sales: Vec<Uuid>,
    last_line: Mutex<Vec<u32>>,
    product_id: String,
}

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    /// Sends a mutation; returns its outcome and, when acknowledged, the data.
    async fn send(&self, query: &str, variables: Value) -> (Outcome, Value) {
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await;
        let Ok(response) = response else {
            return (Outcome::Unknown, Value::Null);
        };
        let Ok(body) = response.json::<Value>().await else {
            return (Outcome::Unknown, Value::Null);
        };
        if let Some(code) = body["errors"][0]["extensions"]["code"].as_str() {
            return (Outcome::Refused(code.to_owned()), body);
        }
        if body["errors"].is_array() {
            return (Outcome::Refused("UNCODED".to_owned()), body);
        }
        let data = body["data"]
            .as_object()
            .and_then(|data| data.values().next())
            .cloned()
            .unwrap_or(Value::Null);
        let cursor = data["cursor"].as_str().map(str::to_owned);
        (Outcome::Acknowledged { cursor }, data)
    }
}

const PAYLOAD: &str = "cursor deduplicated lines { lineNumber }";

async fn soak(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let client_with = |token: String| Client {
        http: http.clone(),
        url: app.url("/graphql"),
        token,
    };
    let shop = Arc::new(open_shop(&client_with(app.token(Role::Manager))).await);

    let duration = soak_duration();
    let started = Instant::now();
    let deadline = started + duration;
    let mut clients = Vec::new();
    for seed in 0..CLIENTS as u64 {
        // Each client is a till with a token of its own (each token is rate limited).
        let token = app
            .state
            .auth
            .create_token("shop", Role::Manager, &format!("till {seed}"))
            .await
            .unwrap()
            .token;
        let (client, shop) = (client_with(token), shop.clone());
        clients.push(tokio::spawn(async move {
            race(&client, &shop, seed, deadline).await
        }));
    }
    let mut sent = Vec::new();
    for client in clients {
        sent.extend(client.await.unwrap());
    }
    let elapsed = started.elapsed();

    // Acknowledged mutations wait for the read models, so their events are readable; let
    // the projections fold the rest (commands whose answer was cut off) before checking.
    let log = read_whole_log(&app.state.store).await;
    wait_for_projections(&app, log.len() as u64).await;

    let summary = assert_every_acknowledged_command_is_in_the_log_once(&sent, &log);
    assert_no_serial_is_live_on_two_lines(&app.state.store, &log).await;
    let report = replay::check::check_projections(&app.state.store, &Projection::ALL)
        .await
        .unwrap();
    assert!(
        report.all_identical(),
        "projections equal a fold of the log: {report:?}"
    );
    let verified = replay::verify::verify_log(&app.state.store, &Default::default())
        .await
        .unwrap();
    assert!(verified.is_intact(), "{:?}", verified.first_broken());

    eprintln!(
        "soak {backend:?}: {CLIENTS} clients for {elapsed:.1?}: {} commands ({:.0}/s), {summary}, {} events",
        sent.len(),
        sent.len() as f64 / elapsed.as_secs_f64(),
        log.len()
    );
    // The race was real: the clients fought over serials and still got work done.
    let acknowledged = |name: &str| {
        sent.iter()
            .filter(|s| s.mutation == name && matches!(s.outcome, Outcome::Acknowledged { .. }))
            .count()
    };
    for mutation in ["assignSerial", "fulfilLines"] {
        assert!(acknowledged(mutation) > 0, "some {mutation} succeeded");
    }
    assert!(
        sent.iter().any(
            |s| matches!(&s.outcome, Outcome::Refused(code) if code == "SERIAL_ALREADY_ASSIGNED")
        ),
        "clients collided on a serial"
    );
    app.stop().await;
}

/// A REQUIRED product and `SALES` sales of `LINES_PER_SALE` lines each.
async fn open_shop(client: &Client) -> Shop {
    let (_, product) = client
        .send(
            "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } } }",
            json!({ "input": { "sku": "PHONE", "name": "Phone", "serialMode": "REQUIRED" } }),
        )
        .await;
    let product_id = product["product"]["id"].as_str().unwrap().to_owned();
    let mut sales = Vec::new();
    for n in 0..SALES {
        let sale_id = Uuid::new_v4();
        let (opened, body) = client
            .send(
                &format!(
                    "mutation($input: OpenSaleInput!) {{ openSale(input: $input) {{ {PAYLOAD} }} }}"
                ),
                json!({ "input": {
                    "id": sale_id, "invoiceNumber": format!("INV-{n}"),
                    "outletId": Uuid::from_u128(1),
                } }),
            )
            .await;
        assert!(matches!(opened, Outcome::Acknowledged { .. }), "{body}");
        let (added, body) = client
            .send(
                &format!("mutation($sale: ID!, $product: ID!, $qty: Int!) {{ addItem(saleId: $sale, productId: $product, quantity: $qty) {{ {PAYLOAD} }} }}"),
                json!({ "sale": sale_id, "product": product_id, "qty": LINES_PER_SALE }),
            )
            .await;
        assert!(matches!(added, Outcome::Acknowledged { .. }), "{body}");
        sales.push(sale_id);
    }
    Shop {
        last_line: Mutex::new(vec![LINES_PER_SALE; SALES]),
        sales,
        product_id,
    }
}

/// One client: random mutations on random lines of the shared sales until `deadline`.
async fn race(client: &Client, shop: &Shop, seed: u64, deadline: Instant) -> Vec<Sent> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut sent = Vec::new();
    let mut last_recorded: Option<(&'static str, String, Value, Uuid)> = None;
    while Instant::now() < deadline {
        // Now and then, retry the last command that recorded something, with its id.
        if rng.random_ratio(1, 20)
            && let Some((mutation, query, variables, command_id)) = last_recorded.clone()
        {
            let (outcome, _) = client.send(&query, variables).await;
            sent.push(Sent {
                command_id,
                mutation,
                outcome,
            });
            continue;
        }
        let sale_index = rng.random_range(0..SALES);
        let sale = shop.sales[sale_index];
        let last_line = shop.last_line.lock().unwrap()[sale_index];
        let line = rng.random_range(1..=last_line);
        let serial = format!("SN-{}", rng.random_range(1..=SERIALS));
        let command_id = Uuid::new_v4();
        let (mutation, arguments, variables) = match rng.random_range(0..100) {
            0..35 => (
                "assignSerial",
                "(saleId: $sale, lineId: $line, serialNumber: $serial, commandId: $id)",
                json!({ "sale": sale, "line": line, "serial": serial, "id": command_id }),
            ),
            35..50 => (
                "removeSerial",
                "(saleId: $sale, lineId: $line, commandId: $id)",
                json!({ "sale": sale, "line": line, "id": command_id }),
            ),
            50..65 => (
                "fulfilLines",
                "(saleId: $sale, lineIds: [$line], commandId: $id)",
                json!({ "sale": sale, "line": line, "id": command_id }),
            ),
            65..77 => (
                "refundLines",
                "(saleId: $sale, lineIds: [$line], commandId: $id)",
                json!({ "sale": sale, "line": line, "id": command_id }),
            ),
            77..87 => (
                "reissueLine",
                "(saleId: $other, returnedSaleId: $sale, returnedLineId: $line, serialNumber: $serial, commandId: $id)",
                json!({
                    "other": shop.sales[(sale_index + rng.random_range(1..SALES)) % SALES],
                    "sale": sale, "line": line, "serial": serial, "id": command_id,
                }),
            ),
            87..92 => (
                "cancelLines",
                "(saleId: $sale, lineIds: [$line], commandId: $id)",
                json!({ "sale": sale, "line": line, "id": command_id }),
            ),
            _ => (
                "addItem",
                "(saleId: $sale, productId: $product, commandId: $id)",
                json!({ "sale": sale, "product": shop.product_id, "id": command_id }),
            ),
        };
        let declared = variable_declarations(&variables);
        let query = format!("mutation({declared}) {{ {mutation}{arguments} {{ {PAYLOAD} }} }}");
        let (outcome, data) = client.send(&query, variables.clone()).await;
        // `cancelLines` issues one command per line, under an id derived from the
        // mutation's: the log carries that one.
        let command_id = if mutation == "cancelLines" {
            derived_command_id(command_id, &format!("cancel-{line}"))
        } else {
            command_id
        };
        if let Outcome::Acknowledged { cursor: Some(_) } = &outcome {
            // New lines (addItem, a re-issue) become targets for everyone.
            let target = if mutation == "reissueLine" {
                variables["other"]
                    .as_str()
                    .and_then(|other| shop.sales.iter().position(|s| s.to_string() == other))
            } else {
                Some(sale_index)
            };
            if let (Some(target), Some(lines)) = (target, data["lines"].as_array()) {
                let highest = lines
                    .iter()
                    .filter_map(|l| l["lineNumber"].as_u64())
                    .max()
                    .unwrap_or(0) as u32;
                let mut last = shop.last_line.lock().unwrap();
                last[target] = last[target].max(highest);
            }
            last_recorded = Some((mutation, query, variables, command_id));
        }
        sent.push(Sent {
            command_id,
            mutation,
            outcome,
        });
    }
    sent
}

/// The id of the command a mutation issuing several runs for `part` (as the API derives
/// it: the first 16 bytes of SHA-256 over `"{base}/{part}"`, as a custom UUID).
fn derived_command_id(base: Uuid, part: &str) -> Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{base}/{part}").as_bytes());
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// `$sale: ID!, $line: Int!, ...` for the variables a mutation uses.
fn variable_declarations(variables: &Value) -> String {
    let mut declared = Vec::new();
    for name in variables.as_object().unwrap().keys() {
        let ty = match name.as_str() {
            "line" => "Int!",
            "serial" => "String!",
            _ => "ID!",
        };
        declared.push(format!("${name}: {ty}"));
    }
    declared.join(", ")
}

async fn read_whole_log(store: &AnyStore) -> Vec<RecordedEvent> {
    let mut log = Vec::new();
    let mut after = Position::START;
    loop {
        let page = store.read_all(after, 1_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        log.extend(page);
    }
    log
}

async fn wait_for_projections(app: &TestApp, total: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut caught_up = true;
        for projection in Projection::ALL {
            let (_, seen) = app.state.projections.checkpoint(projection).await.unwrap();
            caught_up &= seen >= total;
        }
        if caught_up {
            return;
        }
        assert!(Instant::now() < deadline, "projections caught up in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The exactly-once checks; returns a summary of the outcomes for the report.
fn assert_every_acknowledged_command_is_in_the_log_once(
    sent: &[Sent],
    log: &[RecordedEvent],
) -> String {
    // Each command id's events: one contiguous run of the log (one append).
    let mut runs: HashMap<Uuid, (usize, usize)> = HashMap::new();
    for (index, event) in log.iter().enumerate() {
        let id = event.envelope.metadata.command_id.0;
        let run = runs.entry(id).or_insert((index, index));
        assert_eq!(
            run.1 + usize::from(run.1 != index),
            index,
            "command {id} was appended more than once (events at {} and {})",
            log[run.1].position,
            event.position
        );
        run.1 = index;
    }
    let ids: HashSet<Uuid> = log.iter().map(|e| e.envelope.event_id).collect();
    assert_eq!(ids.len(), log.len(), "every event id is unique");

    // A retry reuses the id of a command that recorded something.
    let recorded: HashSet<Uuid> = sent
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Acknowledged { cursor: Some(_) }))
        .map(|s| s.command_id)
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for command in sent {
        let run = runs.get(&command.command_id);
        match &command.outcome {
            Outcome::Refused(code) if recorded.contains(&command.command_id) => {
                assert_eq!(
                    code, "RATE_LIMITED",
                    "{command:?}: a retry of an applied command is answered, not refused"
                );
                *counts.entry(format!("refused {code}")).or_default() += 1;
            }
            Outcome::Acknowledged {
                cursor: Some(cursor),
            } => {
                let (_, last) =
                    run.unwrap_or_else(|| panic!("acknowledged {command:?} is in the log"));
                assert_eq!(
                    &log[*last].position.to_string(),
                    cursor,
                    "{command:?}: the run of its events ends at the cursor it was given"
                );
                *counts.entry("recorded".into()).or_default() += 1;
            }
            Outcome::Acknowledged { cursor: None } => {
                assert!(run.is_none(), "{command:?} recorded nothing");
                *counts.entry("no-op".into()).or_default() += 1;
            }
            Outcome::Refused(code) => {
                assert!(run.is_none(), "refused {command:?} changed nothing");
                *counts.entry(format!("refused {code}")).or_default() += 1;
            }
            Outcome::Unknown => *counts.entry("unanswered".into()).or_default() += 1,
        }
    }
    counts
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Folds every sale stream with the domain: no serial key is live on two lines, and the
/// store's claims table holds exactly the claims rebuilt from the sales.
async fn assert_no_serial_is_live_on_two_lines(store: &AnyStore, log: &[RecordedEvent]) {
    let mut streams: BTreeMap<&str, Vec<LedgerEvent>> = BTreeMap::new();
    for event in log {
        let envelope = &event.envelope;
        if envelope.stream_id.starts_with("sale-") {
            let decoded = LedgerEvent::decode(
                &envelope.event_type,
                envelope.schema_version,
                &envelope.payload,
            )
            .unwrap();
            streams
                .entry(&envelope.stream_id)
                .or_default()
                .push(decoded);
        }
    }
    let mut rebuilt: BTreeMap<(String, String), String> = BTreeMap::new();
    for events in streams.values() {
        let sale = SaleDecider::fold(events).expect("a sale stream folds to a sale");
        for claim in live_claims(&sale) {
            let owner = claim.owner.to_owner_string();
            let key = (claim.scope.as_str().to_owned(), claim.key.clone());
            if let Some(other) = rebuilt.insert(key, owner.clone()) {
                panic!(
                    "{} {} is live on two lines: {other} and {owner}",
                    claim.scope.as_str(),
                    claim.key
                );
            }
        }
    }
    let sql = "SELECT scope, claim_key, owner FROM claims \
               WHERE scope IN ('serial', 'invoice-number', 'reissue')";
    let rows: Vec<(String, String, String)> = match store {
        AnyStore::Sqlite(s) => sqlx::query_as(sql).fetch_all(s.write_pool()).await,
        AnyStore::Postgres(s) => sqlx::query_as(sql).fetch_all(s.pool()).await,
    }
    .unwrap();
    let table: BTreeMap<(String, String), String> = rows
        .into_iter()
        .map(|(scope, key, owner)| ((scope, key), owner))
        .collect();
    pretty_assertions::assert_eq!(table, rebuilt, "the claims table equals the sales' claims");
    assert!(
        rebuilt.keys().any(|(scope, _)| scope == "serial"),
        "some serials are live at the end"
    );
}
