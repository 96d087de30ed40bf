//! The HTTP load generator: a closed loop (N connections, each sending its next request
//! when the last is answered: the saturating throughput) and an open loop (requests started
//! on a fixed schedule whatever the answers: latency at a given load, measured from when
//! each request was due, so a stall is not hidden by requests that were never sent).

use crate::stats::Latencies;
use futures::future::try_join_all;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One kind of request.
#[derive(Clone)]
pub enum Request {
    /// `GET url`.
    Get(String),
    /// `POST url` with a JSON body and a bearer token.
    PostJson {
        /// Where.
        url: String,
        /// The body, serialised once.
        body: Arc<Vec<u8>>,
        /// `Authorization: Bearer ...` (none when empty).
        token: String,
    },
}

impl Request {
    /// A GraphQL request.
    pub fn graphql(url: String, token: &str, query: &str, variables: serde_json::Value) -> Self {
        let body = serde_json::json!({ "query": query, "variables": variables });
        Self::PostJson {
            url,
            body: Arc::new(serde_json::to_vec(&body).unwrap_or_default()),
            token: token.to_owned(),
        }
    }

    async fn send(&self, client: &reqwest::Client) -> anyhow::Result<()> {
        let response = match self {
            Request::Get(url) => client.get(url).send().await?,
            Request::PostJson { url, body, token } => {
                let mut request = client.post(url);
                if !token.is_empty() {
                    request = request.bearer_auth(token);
                }
                request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.as_ref().clone())
                    .send()
                    .await?
            }
        };
        let status = response.status();
        let body = response.bytes().await?;
        anyhow::ensure!(status.is_success(), "HTTP {status}");
        // A GraphQL error is answered 200: count it as a failure, not as throughput.
        if matches!(self, Request::PostJson { .. }) && body.starts_with(b"{\"errors\"") {
            anyhow::bail!("GraphQL error: {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }
}

/// What a load run measured.
#[derive(Debug, Default)]
pub struct LoadOutcome {
    /// Requests answered successfully.
    pub ok: u64,
    /// Their latencies.
    pub latencies: Latencies,
    /// Wall time.
    pub elapsed: Duration,
}

impl LoadOutcome {
    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

fn client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?)
}

/// `connections` loops, each sending `requests(i)` one after another for `duration`.
pub async fn closed_loop(
    requests: impl Fn(u64) -> Request,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<LoadOutcome> {
    let client = client(connections)?;
    let started = Instant::now();
    let deadline = started + duration;
    let loops = (0..connections).map(|connection| {
        let client = client.clone();
        let requests: Vec<Request> = (0..64)
            .map(|i| requests(connection as u64 * 64 + i))
            .collect();
        async move {
            let mut latencies = Latencies::default();
            let mut ok = 0;
            let mut turn = 0;
            while Instant::now() < deadline {
                let begun = Instant::now();
                requests[turn % requests.len()].send(&client).await?;
                latencies.push(begun.elapsed());
                ok += 1;
                turn += 1;
            }
            anyhow::Ok((ok, latencies))
        }
    });
    let mut outcome = LoadOutcome::default();
    for (ok, latencies) in try_join_all(loops).await? {
        outcome.ok += ok;
        outcome.latencies.extend(latencies);
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Requests started at `rate` per second for `duration`, latency from each one's due time.
pub async fn open_loop(
    requests: impl Fn(u64) -> Request,
    rate: f64,
    duration: Duration,
) -> anyhow::Result<LoadOutcome> {
    let client = client(256)?;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let started = Instant::now();
    let total = (duration.as_secs_f64() * rate).max(1.0) as u64;
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = started + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let request = requests(i);
        tasks.push(tokio::spawn(async move {
            request.send(&client).await?;
            anyhow::Ok(due.elapsed())
        }));
    }
    let mut outcome = LoadOutcome::default();
    for task in tasks {
        outcome.latencies.push(task.await??);
        outcome.ok += 1;
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}
