//! Scenario 4, GraphQL overhead: the saturating throughput (32 connections, closed loop) of
//! the trivial axum endpoint in the same server, of a trivial GraphQL query (`{ __typename }`
//! with a token, so authentication is included as for every client), and of `serialTrace`,
//! one after another under the same load generator; and `{ __typename }` without a token,
//! which shows what resolving the token costs. The ratios are GraphQL over the static
//! endpoint.

use crate::env::{Backend, Database, Shop};
use crate::load::{Request, closed_loop};
use crate::report::Figure;
use crate::server::{ChildServer, STATIC_PATH};
use serde_json::json;
use std::time::Duration;

/// Connections of the load generator.
const CONNECTIONS: usize = 32;

/// Runs the scenario once on a fresh database.
pub async fn run(
    backend: Backend,
    postgres_url: &str,
    seconds: f64,
    run: u32,
) -> anyhow::Result<Vec<Figure>> {
    let database = Database::create(backend, postgres_url).await?;
    let shop = Shop::open(&database).await?;
    let serials = crate::lookup::write_real_sales(&shop, 200, run).await?;
    shop.state.projections.catch_up_all().await?;
    shop.state.store.close().await;
    anyhow::ensure!(!serials.is_empty(), "the mix recorded no serial");

    let server = ChildServer::start(&database.url)?;
    let phase = Duration::from_secs_f64(seconds);
    let static_url = server.url(STATIC_PATH);
    let graphql_url = server.url("/graphql");
    let token = shop.token.clone();

    let trivial = closed_loop(|_| Request::Get(static_url.clone()), CONNECTIONS, phase).await?;
    let typename = closed_loop(
        |_| Request::graphql(graphql_url.clone(), &token, "{ __typename }", json!({})),
        CONNECTIONS,
        phase,
    )
    .await?;
    // The same query without a token: what resolving the token (a read of `api_tokens` per
    // request) costs, side by side.
    let anonymous = closed_loop(
        |_| Request::graphql(graphql_url.clone(), "", "{ __typename }", json!({})),
        CONNECTIONS,
        phase,
    )
    .await?;
    let trace = closed_loop(
        |i| {
            let serial = &serials[(i as usize) % serials.len()];
            Request::graphql(
                graphql_url.clone(),
                &token,
                "query($serial: String!) { serialTrace(serialNumber: $serial) { serial status \
                 history { eventType } } }",
                json!({ "serial": serial }),
            )
        },
        CONNECTIONS,
        phase,
    )
    .await?;
    drop(server);
    database.drop_database().await?;

    let backend = backend.to_string();
    let case = format!("HTTP, {CONNECTIONS} connections");
    let static_rate = trivial.rate();
    Ok(vec![
        Figure::plain(
            "graphql",
            &backend,
            &case,
            "static axum requests/s",
            static_rate,
        ),
        Figure::plain(
            "graphql",
            &backend,
            &case,
            "{ __typename } requests/s",
            typename.rate(),
        )
        .against("static axum requests/s", static_rate),
        Figure::plain(
            "graphql",
            &backend,
            &case,
            "{ __typename } without a token requests/s",
            anonymous.rate(),
        )
        .against("static axum requests/s", static_rate),
        Figure::plain(
            "graphql",
            &backend,
            &case,
            "serialTrace requests/s",
            trace.rate(),
        )
        .against("static axum requests/s", static_rate),
        Figure::plain(
            "graphql",
            &backend,
            &case,
            "{ __typename } p99 ms",
            typename.latencies.percentile_ms(99.0),
        )
        .against("static axum p99 ms", trivial.latencies.percentile_ms(99.0)),
    ])
}
