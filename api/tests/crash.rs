//! Crash recovery: the real `serial-ledger serve` runs as a child process under load from
//! several API clients and is killed with SIGKILL at random moments (a seeded rng), then
//! restarted, again and again. After every kill, with the server restarted:
//!
//! - the read models catch up (`/healthz` shows no lag) and equal a fold of the log
//!   (`serial-ledger replay check-projections` exits 0);
//! - the hash chains verify (`serial-ledger replay verify` exits 0);
//! - every command a client saw acknowledged is in the log exactly once (one contiguous run
//!   of events carrying its command id, ending at the cursor it was given); one refused, or
//!   acknowledged as recording nothing, wrote nothing;
//! - no command is half written: each command id's events are one run of consecutive
//!   revisions of one stream, and the commands table records exactly the command ids that
//!   have events.
//!
//! A command whose answer was lost in the kill may or may not be in the log; its client
//! sends it again with the same id after the restart, and that answer must then hold.
//!
//! Quick mode (the normal `cargo test`): 3 kills on SQLite and 3 on PostgreSQL. Long mode:
//! `SERIAL_LEDGER_LONG=1 cargo test -p api --test crash -- --nocapture` (20 kills each;
//! `SERIAL_LEDGER_CRASH_KILLS` sets another count). With `SERIAL_LEDGER_RESTART_POSTGRES=1`
//! as well, the PostgreSQL run also restarts the database server once under load
//! (`pg_ctlcluster ... restart`: never in the normal suite, where other tests use it).

#![allow(clippy::unwrap_used)]

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{AnyStore, EventStore, Position, RecordedEvent};
use uuid::Uuid;

const CLIENTS: usize = 8;
const SALES: usize = 4;
const LINES_PER_SALE: u32 = 4;
const SERIALS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_survives_kill_9_under_load_losing_no_acknowledged_command() {
    let database = Database::sqlite();
    crash_test(&database, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_survives_kill_9_under_load_losing_no_acknowledged_command() {
    let database = Database::postgres().await;
    let restart_postgres =
        long_mode() && std::env::var("SERIAL_LEDGER_RESTART_POSTGRES").is_ok_and(|v| v == "1");
    crash_test(&database, restart_postgres).await;
}

fn long_mode() -> bool {
    std::env::var("SERIAL_LEDGER_LONG").is_ok_and(|v| v == "1")
}

fn kills() -> usize {
    std::env::var("SERIAL_LEDGER_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if long_mode() { 20 } else { 3 })
}

// ---- the harness ----------------------------------------------------------------------------

async fn crash_test(database: &Database, restart_postgres: bool) {
    let url = database.url.as_str();
    cli_ok(&["migrate"], url);
    cli_ok(&["tenant", "create", "shop", "--name", "Shop"], url);
    // A token per client, as each till has its own (tokens are rate limited one by one).
    let tokens: Vec<String> = (0..=CLIENTS)
        .map(|n| {
            let label = format!("till {n}");
            let args = [
                "token", "create", "--tenant", "shop", "--role", "manager", "--label", &label,
            ];
            cli_ok(&args, url).trim().to_owned()
        })
        .collect();
    let kills = kills();
    let mut rng = SmallRng::seed_from_u64(20_261_127);
    let journal = Arc::new(Journal::default());
    let started = Instant::now();

    let mut server = Server::start(url);
    let shop = Arc::new(open_shop(&server.client(&tokens[CLIENTS]), &journal).await);
    let mut unanswered: Vec<Option<Pending>> = vec![None; CLIENTS];
    let mut postgres_restarts = 0;
    for kill in 0..kills {
        // Load, then SIGKILL at a random moment.
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|n| {
                let client = server.client(&tokens[n]);
                let (shop, journal, stop) = (shop.clone(), journal.clone(), stop.clone());
                let retry = unanswered[n].take();
                let seed = (kill * CLIENTS + n) as u64;
                tokio::spawn(async move { load(client, shop, journal, stop, retry, seed).await })
            })
            .collect();
        let mut under_load = Duration::from_millis(rng.random_range(300..2_500));
        if restart_postgres && kill == kills / 2 {
            tokio::time::sleep(under_load).await;
            restart_postgres_server();
            postgres_restarts += 1;
            under_load = Duration::from_millis(rng.random_range(1_000..3_000));
        }
        tokio::time::sleep(under_load).await;
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for (n, client) in clients.into_iter().enumerate() {
            unanswered[n] = client.await.unwrap();
        }

        server = Server::start(url);
        let checked = check_after_restart(&server, url, &journal).await;
        eprintln!(
            "kill {}/{kills} after {under_load:.1?} under load: {checked}",
            kill + 1
        );
    }
    server.stop();
    let (acknowledged, refused, lost) = journal.counts();
    eprintln!(
        "crash {}: {kills} kills, {postgres_restarts} PostgreSQL restarts, {CLIENTS} clients, \
         {} commands ({acknowledged} acknowledged, {refused} refused, {lost} unanswered) in \
         {:.1?}; every acknowledged command present once",
        if url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
        acknowledged + refused + lost,
        started.elapsed()
    );
    assert!(acknowledged > 0, "the clients got work done");
}

/// The checks after a restart; returns a summary line.
async fn check_after_restart(server: &Server, url: &str, journal: &Journal) -> String {
    server.wait_until_projections_caught_up().await;
    let verify = cli(&["replay", "verify"], url);
    assert!(
        verify.status.success(),
        "replay verify: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let check = cli(&["replay", "check-projections"], url);
    assert!(
        check.status.success(),
        "replay check-projections: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let store = AnyStore::connect(url).await.unwrap();
    // Nothing writes now. On PostgreSQL, other sessions' open transactions (other tests on
    // the server) can hold the newest events back from readers of the log for a moment.
    let recorded = recorded_command_ids(&store).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (log, runs) = loop {
        let log = read_whole_log(&store).await;
        let runs = assert_each_command_is_one_whole_append(&log);
        if Instant::now() > deadline || recorded.iter().all(|id| runs.contains_key(id)) {
            break (log, runs);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let in_log: HashSet<Uuid> = runs.keys().copied().collect();
    assert_eq!(
        recorded, in_log,
        "the commands table records exactly the commands that have events"
    );
    let entries = journal.entries.lock().unwrap().clone();
    let mut acknowledged = 0;
    for (command_id, outcome) in &entries {
        let run = runs.get(command_id);
        match outcome {
            Outcome::Acknowledged {
                cursor: Some(cursor),
            } => {
                let (_, last) = run
                    .unwrap_or_else(|| panic!("acknowledged command {command_id} is in the log"));
                assert_eq!(
                    &log[*last].position.to_string(),
                    cursor,
                    "command {command_id} ends at the cursor it was given"
                );
                acknowledged += 1;
            }
            Outcome::Acknowledged { cursor: None } | Outcome::Refused(_) => {
                assert!(
                    run.is_none(),
                    "command {command_id} ({outcome:?}) wrote nothing"
                );
            }
            Outcome::Unknown => {}
        }
    }
    let lost = entries
        .values()
        .filter(|o| matches!(o, Outcome::Unknown))
        .count();
    let lost_but_applied = entries
        .iter()
        .filter(|(id, o)| matches!(o, Outcome::Unknown) && runs.contains_key(id))
        .count();
    store.close().await;
    format!(
        "{} events, {acknowledged} acknowledged commands all present once, {lost} unanswered \
         ({lost_but_applied} of them applied); verify and check-projections pass",
        log.len()
    )
}

/// Each command id's events: one contiguous run of the log, of consecutive revisions of one
/// stream. Returns each run's first and last index.
fn assert_each_command_is_one_whole_append(log: &[RecordedEvent]) -> HashMap<Uuid, (usize, usize)> {
    let mut runs: HashMap<Uuid, (usize, usize)> = HashMap::new();
    for (index, event) in log.iter().enumerate() {
        let id = event.envelope.metadata.command_id.0;
        let run = runs.entry(id).or_insert((index, index));
        if run.1 != index {
            let previous = &log[run.1].envelope;
            assert_eq!(
                run.1 + 1,
                index,
                "command {id} was appended more than once ({} and {})",
                log[run.1].position,
                event.position
            );
            assert_eq!(previous.stream_id, event.envelope.stream_id);
            assert_eq!(previous.stream_revision + 1, event.envelope.stream_revision);
        }
        run.1 = index;
    }
    runs
}

async fn recorded_command_ids(store: &AnyStore) -> HashSet<Uuid> {
    let ids: Vec<String> = match store {
        AnyStore::Sqlite(s) => {
            sqlx::query_scalar("SELECT command_id FROM commands")
                .fetch_all(s.write_pool())
                .await
        }
        AnyStore::Postgres(s) => {
            sqlx::query_scalar("SELECT command_id::text FROM commands")
                .fetch_all(s.pool())
                .await
        }
    }
    .unwrap();
    ids.iter().map(|id| Uuid::parse_str(id).unwrap()).collect()
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

// ---- the clients ----------------------------------------------------------------------------

/// What a client saw of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Answered with data: `cursor` is the last event recorded, or None when nothing was.
    Acknowledged { cursor: Option<String> },
    /// Refused with this code (or the HTTP status when there is none).
    Refused(String),
    /// Sent, no answer yet or none ever (killed in flight).
    Unknown,
}

/// Every command id sent, recorded before sending, with the last answer seen.
#[derive(Default)]
struct Journal {
    entries: Mutex<BTreeMap<Uuid, Outcome>>,
}

impl Journal {
    fn sending(&self, command_id: Uuid) {
        self.entries
            .lock()
            .unwrap()
            .entry(command_id)
            .or_insert(Outcome::Unknown);
    }

    fn answered(&self, command_id: Uuid, outcome: Outcome) {
        let mut entries = self.entries.lock().unwrap();
        let entry = entries.entry(command_id).or_insert(Outcome::Unknown);
        match (&*entry, &outcome) {
            // A retry's refusal (rate limit) says nothing about the first attempt.
            (Outcome::Acknowledged { .. }, _) | (_, Outcome::Unknown) => {}
            _ => *entry = outcome,
        }
    }

    fn counts(&self) -> (usize, usize, usize) {
        let entries = self.entries.lock().unwrap();
        let count = |f: fn(&Outcome) -> bool| entries.values().filter(|o| f(o)).count();
        (
            count(|o| matches!(o, Outcome::Acknowledged { .. })),
            count(|o| matches!(o, Outcome::Refused(_))),
            count(|o| matches!(o, Outcome::Unknown)),
        )
    }
}

/// A command a client sent and got no answer to: sent again after the restart.
#[derive(Debug, Clone)]
struct Pending {
    command_id: Uuid,
    query: String,
    variables: Value,
}

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    async fn send(&self, query: &str, variables: &Value) -> (Outcome, Value) {
        let sent = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await;
        let Ok(response) = sent else {
            return (Outcome::Unknown, Value::Null);
        };
        let status = response.status();
        let Ok(body) = response.json::<Value>().await else {
            return (Outcome::Unknown, Value::Null);
        };
        if let Some(code) = body["errors"][0]["extensions"]["code"].as_str() {
            // A database briefly unreachable is no answer about the command, nor is a rate
            // limit (the command may be a retry of one applied before its answer was lost).
            // While PostgreSQL restarts, the token cannot be looked up and the server answers
            // UNAUTHENTICATED: the harness's tokens are valid, so that says nothing either.
            return if matches!(
                code,
                "UNAVAILABLE" | "INTERNAL" | "RATE_LIMITED" | "UNAUTHENTICATED"
            ) {
                (Outcome::Unknown, body)
            } else {
                (Outcome::Refused(code.to_owned()), body)
            };
        }
        if !status.is_success() || body["errors"].is_array() {
            return (Outcome::Unknown, body);
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

struct Shop {
    sales: Vec<Uuid>,
    product_id: String,
}

const PAYLOAD: &str = "cursor deduplicated lines { lineNumber }";

/// A REQUIRED product and `SALES` sales of `LINES_PER_SALE` lines each.
async fn open_shop(client: &Client, journal: &Journal) -> Shop {
    let product_id = Uuid::now_v7().to_string();
    let product = json!({ "input": {
        "id": product_id, "sku": "PHONE", "name": "Phone", "serialMode": "REQUIRED",
    } });
    must_apply(
        client,
        journal,
        "mutation($input: CreateProductInput!, $id: ID) { createProduct(input: $input, commandId: $id) { cursor } }",
        product,
    )
    .await;
    let mut sales = Vec::new();
    for n in 0..SALES {
        let sale_id = Uuid::now_v7();
        let input = json!({ "input": {
            "id": sale_id, "invoiceNumber": format!("INV-{n}"), "outletId": Uuid::from_u128(1),
        } });
        must_apply(
            client,
            journal,
            &format!("mutation($input: OpenSaleInput!, $id: ID) {{ openSale(input: $input, commandId: $id) {{ {PAYLOAD} }} }}"),
            input,
        )
        .await;
        must_apply(
            client,
            journal,
            &format!("mutation($sale: ID!, $product: ID!, $qty: Int!, $id: ID) {{ addItem(saleId: $sale, productId: $product, quantity: $qty, commandId: $id) {{ {PAYLOAD} }} }}"),
            json!({ "sale": sale_id, "product": product_id, "qty": LINES_PER_SALE }),
        )
        .await;
        sales.push(sale_id);
    }
    Shop { sales, product_id }
}

async fn must_apply(client: &Client, journal: &Journal, query: &str, mut variables: Value) {
    let command_id = Uuid::now_v7();
    variables["id"] = json!(command_id);
    journal.sending(command_id);
    let (outcome, body) = client.send(query, &variables).await;
    assert!(
        matches!(outcome, Outcome::Acknowledged { .. }),
        "{query}: {body}"
    );
    journal.answered(command_id, outcome);
}

/// One client: random mutations on the shared sales until `stop`; returns the command it
/// got no answer to, if any. It starts by sending again the one it had no answer to before.
async fn load(
    client: Client,
    shop: Arc<Shop>,
    journal: Arc<Journal>,
    stop: Arc<AtomicBool>,
    mut retry: Option<Pending>,
    seed: u64,
) -> Option<Pending> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut last_line = vec![LINES_PER_SALE; SALES];
    while !stop.load(Ordering::SeqCst) {
        let pending = match retry.take() {
            Some(pending) => pending,
            None => random_command(&mut rng, &shop, &last_line),
        };
        journal.sending(pending.command_id);
        let (outcome, data) = client.send(&pending.query, &pending.variables).await;
        if outcome == Outcome::Unknown {
            if stop.load(Ordering::SeqCst) {
                return Some(pending);
            }
            // The database is restarting, or the answer was lost: send it again.
            tokio::time::sleep(Duration::from_millis(100)).await;
            retry = Some(pending);
            continue;
        }
        if let (Some(lines), Some(sale)) = (data["lines"].as_array(), data_sale(&pending, &shop)) {
            for line in lines.iter().filter_map(|l| l["lineNumber"].as_u64()) {
                last_line[sale] = last_line[sale].max(line as u32);
            }
        }
        journal.answered(pending.command_id, outcome);
    }
    retry
}

/// Which of the shop's sales a command's answer lists lines of.
fn data_sale(pending: &Pending, shop: &Shop) -> Option<usize> {
    let sale = pending.variables["other"]
        .as_str()
        .or_else(|| pending.variables["sale"].as_str())?;
    shop.sales.iter().position(|s| s.to_string() == sale)
}

fn random_command(rng: &mut SmallRng, shop: &Shop, last_line: &[u32]) -> Pending {
    let sale_index = rng.random_range(0..SALES);
    let sale = shop.sales[sale_index];
    let line = rng.random_range(1..=last_line[sale_index]);
    let serial = format!("SN-{}", rng.random_range(1..=SERIALS));
    let command_id = Uuid::now_v7();
    let other = shop.sales[(sale_index + rng.random_range(1..SALES)) % SALES];
    let (mutation, arguments, variables) = match rng.random_range(0..100) {
        0..40 => (
            "assignSerial",
            "(saleId: $sale, lineId: $line, serialNumber: $serial, commandId: $id)",
            json!({ "sale": sale, "line": line, "serial": serial, "id": command_id }),
        ),
        40..55 => (
            "removeSerial",
            "(saleId: $sale, lineId: $line, commandId: $id)",
            json!({ "sale": sale, "line": line, "id": command_id }),
        ),
        55..72 => (
            "fulfilLines",
            "(saleId: $sale, lineIds: [$line], commandId: $id)",
            json!({ "sale": sale, "line": line, "id": command_id }),
        ),
        72..84 => (
            "refundLines",
            "(saleId: $sale, lineIds: [$line], commandId: $id)",
            json!({ "sale": sale, "line": line, "id": command_id }),
        ),
        84..93 => (
            "reissueLine",
            "(saleId: $other, returnedSaleId: $sale, returnedLineId: $line, serialNumber: $serial, commandId: $id)",
            json!({ "other": other, "sale": sale, "line": line, "serial": serial, "id": command_id }),
        ),
        _ => (
            "addItem",
            "(saleId: $sale, productId: $product, commandId: $id)",
            json!({ "sale": sale, "product": shop.product_id, "id": command_id }),
        ),
    };
    let declared: Vec<String> = variables
        .as_object()
        .unwrap()
        .keys()
        .map(|name| {
            let ty = match name.as_str() {
                "line" => "Int!",
                "serial" => "String!",
                _ => "ID!",
            };
            format!("${name}: {ty}")
        })
        .collect();
    let query = format!(
        "mutation({}) {{ {mutation}{arguments} {{ {PAYLOAD} }} }}",
        declared.join(", ")
    );
    Pending {
        command_id,
        query,
        variables,
    }
}

// ---- processes ------------------------------------------------------------------------------

fn serial_ledger() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_serial-ledger"));
    command.env_remove("DATABASE_URL");
    command
}

fn cli(args: &[&str], url: &str) -> std::process::Output {
    serial_ledger()
        .args(args)
        .env("DATABASE_URL", url)
        .output()
        .unwrap()
}

fn cli_ok(args: &[&str], url: &str) -> String {
    let output = cli(args, url);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `serial-ledger serve` as a child process.
struct Server {
    child: Child,
    address: String,
    http: reqwest::Client,
}

impl Server {
    /// Starts the server on a free port and waits until it listens.
    fn start(url: &str) -> Self {
        let mut child = serial_ledger()
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .env("SERIAL_LEDGER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (found, address) = std::sync::mpsc::channel();
        // Reads the address, then keeps draining stdout until the process ends.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = found.send(rest.split('/').next().unwrap_or_default().to_owned());
                }
            }
        });
        let address = address
            .recv_timeout(Duration::from_secs(60))
            .expect("the server prints its address");
        Self {
            child,
            address,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    fn client(&self, token: &str) -> Client {
        Client {
            http: self.http.clone(),
            url: format!("http://{}/graphql", self.address),
            token: token.to_owned(),
        }
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and a graceful exit.
    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(self.child.wait().unwrap().success(), "graceful shutdown");
    }

    async fn wait_until_projections_caught_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let health = self
                .http
                .get(format!("http://{}/healthz", self.address))
                .send()
                .await;
            let mut last = Value::Null;
            if let Ok(health) = health
                && let Ok(health) = health.json::<Value>().await
            {
                last = health;
            }
            if let Some(projections) = last["projections"].as_array()
                && !projections.is_empty()
                && projections.iter().all(|p| p["lag"] == json!(0))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "projections caught up after the restart: {last}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Restarts the local PostgreSQL cluster and waits until it accepts connections.
fn restart_postgres_server() {
    let version = std::fs::read_dir("/etc/postgresql")
        .ok()
        .and_then(|mut entries| entries.next())
        .and_then(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .expect("a PostgreSQL cluster under /etc/postgresql");
    let restarted = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", "restart"])
        .status()
        .unwrap();
    assert!(restarted.success(), "pg_ctlcluster restart");
    for _ in 0..60 {
        let ready = Command::new("pg_isready")
            .args(["-h", "127.0.0.1", "-p", "5432", "-q"])
            .status();
        if ready.is_ok_and(|s| s.success()) {
            eprintln!("PostgreSQL restarted");
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("PostgreSQL came back after the restart");
}

// ---- databases ------------------------------------------------------------------------------

/// A fresh database for one test, removed afterwards.
struct Database {
    url: String,
    _directory: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

fn postgres_admin_url() -> String {
    std::env::var("SERIAL_LEDGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl Database {
    fn sqlite() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
        Self {
            url,
            _directory: Some(directory),
            postgres_name: None,
        }
    }

    async fn postgres() -> Self {
        use sqlx::Connection;
        let admin_url = postgres_admin_url();
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "PostgreSQL is not reachable at {admin_url} ({error}). Start it with \
                     `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`."
                )
            });
        let name = format!("serial_ledger_crash_{}", Uuid::now_v7().simple());
        // The name is made above from a UUID, never from input: safe to splice.
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.ok();
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        Self {
            url: format!("{base}/{name}"),
            _directory: None,
            postgres_name: Some(name),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop may run inside a runtime or during a panic: a thread with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        });
        let _ = dropped.join();
    }
}
