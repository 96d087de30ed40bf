//! Secrets never reach the logs: the real `serial-ledger` binary, logging everything at
//! debug level (its own code, sqlx, hyper, tower-http), is given tokens (valid, forged,
//! revoked) over GraphQL, REST and files, and a webhook secret; its stderr must contain
//! neither a token, nor a token's secret part, nor the webhook's secret. On SQLite and
//! PostgreSQL.

// Helpers here are not #[test]s, so clippy does not see them as test code; a failed unwrap
// is the test failure we want.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use sqlx::Connection;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WEBHOOK_SECRET: &str = "whsec-do-not-log-3f9a1c7e5b";

fn serial_ledger(url: &str, log: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_serial-ledger"));
    command
        .env("DATABASE_URL", url)
        .env("SERIAL_LEDGER_LOG", "debug")
        .env_remove("SERIAL_LEDGER_LOG_FORMAT")
        .stdin(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        );
    command
}

/// Runs a command-line step; returns its stdout.
fn run(url: &str, log: &std::path::Path, args: &[&str]) -> String {
    let output = serial_ledger(url, log).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The server, until dropped.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(url: &str, log: &std::path::Path) -> Self {
        let mut child = serial_ledger(url, log)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let address = loop {
            assert!(Instant::now() < deadline, "the server did not start");
            let line = lines.next().unwrap().unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split('/').next().unwrap().to_owned();
            }
        };
        Self { child, address }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Stops it gracefully (SIGTERM), so every log line is written.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn exercise(url: &str) {
    let directory = tempfile::tempdir().unwrap();
    let log = directory.path().join("serial-ledger.log");
    run(url, &log, &["tenant", "create", "shop", "--name", "Shop"]);
    let token = |role: &str| {
        run(
            url,
            &log,
            &["token", "create", "--tenant", "shop", "--role", role],
        )
        .trim()
        .to_owned()
    };
    let manager = token("manager");
    let revoked = token("integrator");
    assert!(manager.starts_with("sl_") && revoked.starts_with("sl_"));
    // `sl_<token id>_<secret>`: the id may be logged (it is the actor on events), the
    // secret never.
    let secret_of = |token: &str| token.rsplit('_').next().unwrap().to_owned();
    let id_of = |token: &str| token.split('_').nth(1).unwrap().to_owned();
    let forged = format!("sl_{}_{}", id_of(&manager), "f".repeat(64));

    let server = Server::start(url, &log);
    let client = reqwest::Client::new();
    let graphql = |token: &str, query: &str, variables: Value| {
        client
            .post(server.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
    };
    let registered: Value = graphql(
        &manager,
        "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { id } }",
        json!({ "input": { "url": "http://127.0.0.1:9/hook", "secret": WEBHOOK_SECRET } }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(registered.get("errors").is_none(), "{registered:#}");
    // A refused registration echoes nothing of the secret either.
    graphql(
        &manager,
        "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { id } }",
        json!({ "input": { "url": "not a url", "secret": WEBHOOK_SECRET } }),
    )
    .await
    .unwrap();
    for token in [&manager, &revoked, &forged] {
        graphql(token, "{ settings { autoPromptSerialNumber } }", json!({}))
            .await
            .unwrap();
        for path in ["/api/v1/lines/pending-serial", "/exports/products.csv"] {
            client
                .get(server.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
        }
    }
    run(url, &log, &["token", "revoke", &id_of(&revoked)]);
    graphql(
        &revoked,
        "{ settings { autoPromptSerialNumber } }",
        json!({}),
    )
    .await
    .unwrap();
    server.stop();

    let logged = std::fs::read_to_string(&log).unwrap();
    // The capture is real: debug lines of the server's requests and of sqlx are there.
    for expected in ["DEBUG", "sqlx::query", "uri=/graphql", "uri=/api/v1/"] {
        assert!(
            logged.contains(expected),
            "no {expected} in the log:\n{logged}"
        );
    }
    assert!(logged.contains("unusable credential"), "{logged}");
    for (what, secret) in [
        ("the manager token", manager.clone()),
        ("the manager token's secret", secret_of(&manager)),
        ("the revoked token's secret", secret_of(&revoked)),
        ("the forged token's secret", secret_of(&forged)),
        ("the webhook secret", WEBHOOK_SECRET.to_owned()),
    ] {
        assert!(
            !logged.contains(&secret),
            "{what} was logged ({} bytes of log)",
            logged.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tokens_and_webhook_secrets_never_reach_the_debug_log() {
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", directory.path().join("ledger.db").display());
    exercise(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tokens_and_webhook_secrets_never_reach_the_debug_log() {
    let admin_url = std::env::var("SERIAL_LEDGER_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|error| panic!("PostgreSQL is not reachable at {admin_url}: {error}"));
    let name = format!("serial_ledger_secrets_{}", uuid::Uuid::now_v7().simple());
    // The name is generated from a UUID above, never from input: safe to splice.
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    let url = format!("{base}/{name}");
    let outcome = tokio::spawn(async move { exercise(&url).await }).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}
