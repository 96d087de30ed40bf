//! The server under load, in its own process so its memory is its own: the bench binary
//! re-runs itself as `serial-ledger-bench serve-child`, which serves the real router
//! ([`api::server::app`]: GraphQL, WebSocket subscriptions, REST) with the projections
//! running, plus one trivial axum endpoint (`GET /bench/static`, a fixed 2-byte body) that
//! the GraphQL overhead scenario compares against. The rate limit is off (the load
//! generator is the only client) and the webhook dispatcher is not started (no endpoints).

use anyhow::Context as _;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// The trivial endpoint's path.
pub const STATIC_PATH: &str = "/bench/static";

/// Runs the server on 127.0.0.1 (a free port) over `database_url` until killed; prints
/// `listening on ADDRESS` once it accepts connections.
pub async fn serve_child(database_url: &str) -> anyhow::Result<()> {
    let mut state = api::state::AppState::open(database_url).await?;
    state.rate_limit = api::rate_limit::RateLimit::OFF;
    let _projections = state.projections.spawn();
    let schema = api::graphql::build_schema(state.clone());
    let app = api::server::app(state, schema)
        .route(STATIC_PATH, axum::routing::get(|| async { "ok" }))
        .into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// A `serve-child` process, killed when dropped.
pub struct ChildServer {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
}

impl ChildServer {
    /// Starts the server over `database_url` and waits until it listens.
    pub fn start(database_url: &str) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the bench binary")?;
        let mut child = Command::new(exe)
            .args(["serve-child", "--database-url", database_url])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the server process")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .with_context(|| format!("the server said {line:?} instead of its address"))?
            .parse()?;
        Ok(Self { child, address })
    }

    /// `http://address{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The process's resident memory now, in MiB.
    pub fn rss_mib(&self) -> Option<f64> {
        crate::stats::proc_status_mib(Some(self.child.id()), "VmRSS:")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
