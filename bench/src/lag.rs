//! Scenario 5, subscription lag: the time from a command's acknowledgement (its events
//! committed) to the WebSocket frame carrying its last event at a `ledgerEvents`
//! subscriber, while the command mix writes at a fixed rate (1,000 and 5,000 events/s).
//!
//! The server runs in this process over the same state the writers use, as one server
//! process that takes writes and serves subscriptions does; the subscriber is a real
//! WebSocket client (`graphql-transport-ws`). Writers are 16 paced clients; when the store
//! cannot take the asked rate, the achieved rate is what is reported beside the lag.

use crate::env::{Backend, Database, Shop};
use crate::mix::SaleFlow;
use crate::report::{Figure, number};
use crate::stats::Latencies;
use futures::future::try_join_all;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::Position;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// Paced writers.
const WRITERS: usize = 16;

type Arrivals = Arc<Mutex<HashMap<Position, Instant>>>;

/// Runs the scenario once per rate on a fresh database.
pub async fn run(
    backend: Backend,
    postgres_url: &str,
    rates: &[f64],
    seconds: f64,
    run: u32,
) -> anyhow::Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for (index, &rate) in rates.iter().enumerate() {
        let database = Database::create(backend, postgres_url).await?;
        let shop = Shop::open(&database).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(api::server::serve(listener, shop.state.clone(), async {
            let _ = stopped.await;
        }));

        let arrivals: Arrivals = Arc::default();
        let subscriber = tokio::spawn(subscribe(address, shop.token.clone(), arrivals.clone()));
        // Let the subscription start before the clock does.
        tokio::time::sleep(Duration::from_millis(500)).await;

        let writing = Instant::now();
        let acks = write_paced(
            &shop,
            rate,
            Duration::from_secs_f64(seconds),
            run * 100 + index as u32,
        )
        .await?;
        let events: u64 = acks.iter().map(|(_, _, events)| events).sum();
        let achieved = events as f64 / writing.elapsed().as_secs_f64();

        // Wait (bounded) for the frames of every acknowledged command.
        let deadline = Instant::now() + Duration::from_secs(30);
        let lags = loop {
            let seen = arrivals
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .clone();
            let missing = acks
                .iter()
                .filter(|(p, _, _)| !seen.contains_key(p))
                .count();
            if missing == 0 || Instant::now() > deadline {
                let mut lags = Latencies::default();
                for (position, acked, _) in &acks {
                    if let Some(arrived) = seen.get(position) {
                        lags.push(arrived.saturating_duration_since(*acked));
                    }
                }
                anyhow::ensure!(
                    missing == 0,
                    "{missing} of {} commands' events never reached the subscriber",
                    acks.len()
                );
                break lags;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        subscriber.abort();
        let _ = stop.send(());
        let _ = server.await;
        shop.state.store.close().await;
        database.drop_database().await?;

        let case = format!("asked {} events/s", number(rate));
        let backend = backend.to_string();
        figures.push(Figure::plain(
            "subscription",
            &backend,
            &case,
            "achieved events/s",
            achieved,
        ));
        for p in [50.0, 99.0] {
            figures.push(Figure::plain(
                "subscription",
                &backend,
                &case,
                &format!("lag p{p} ms"),
                lags.percentile_ms(p),
            ));
        }
    }
    Ok(figures)
}

/// 16 clients run the mix, together at `rate` events/s, for `duration`; each command's last
/// position, when it was acknowledged, and its events.
async fn write_paced(
    shop: &Shop,
    rate: f64,
    duration: Duration,
    run: u32,
) -> anyhow::Result<Vec<(Position, Instant, u64)>> {
    // Each client paces its events: after a command of k events, the next is due k
    // intervals later.
    let interval = Duration::from_secs_f64(WRITERS as f64 / rate.max(1.0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks = (0..WRITERS).map(|client| {
        let shop = shop.clone();
        tokio::spawn(async move {
            let mut flow = SaleFlow::new(shop, run, client);
            let mut acks = Vec::new();
            // Stagger the clients over one interval.
            let mut due = started + interval.mul_f64(client as f64 / WRITERS as f64);
            // A client that falls behind catches up back to back, but never past the end.
            while due < deadline && Instant::now() < deadline {
                tokio::time::sleep_until(due.into()).await;
                let (outcome, _) = flow.next().await?;
                let events = outcome.events.len() as u64;
                if let Some(position) = outcome.position() {
                    acks.push((position, Instant::now(), events));
                }
                due += interval * events.max(1) as u32;
            }
            anyhow::Ok(acks)
        })
    });
    let mut acks = Vec::new();
    for joined in try_join_all(tasks).await? {
        acks.extend(joined?);
    }
    Ok(acks)
}

/// A WebSocket subscriber of `ledgerEvents` recording when each cursor arrived.
async fn subscribe(
    address: std::net::SocketAddr,
    token: String,
    arrivals: Arrivals,
) -> anyhow::Result<()> {
    let mut request = format!("ws://{address}/graphql/ws").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let send = |value: Value| Message::Text(value.to_string().into());
    socket
        .send(send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })))
        .await?;
    socket
        .send(send(json!({
            "id": "1",
            "type": "subscribe",
            "payload": { "query": "subscription { ledgerEvents { cursor } }" },
        })))
        .await?;
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let arrived = Instant::now();
        let value: Value = serde_json::from_str(text.as_str())?;
        match value["type"].as_str() {
            Some("next") => {
                let cursor = value["payload"]["data"]["ledgerEvents"]["cursor"]
                    .as_str()
                    .unwrap_or_default();
                if let Ok(position) = Position::from_str(cursor)
                    && let Ok(mut arrivals) = arrivals.lock()
                {
                    arrivals.insert(position, arrived);
                }
            }
            Some("ping") => socket.send(send(json!({ "type": "pong" }))).await?,
            Some("error") => anyhow::bail!("subscription refused: {value}"),
            _ => {}
        }
    }
    Ok(())
}
