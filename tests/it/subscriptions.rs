//! `ledgerEvents`: resumable from any cursor, with a bounded buffer per subscription.
//!
//! In process (the schema's stream, driven directly, with small limits so a stalled client
//! is cut off quickly) and over the real WebSocket, on each backend
//! (`subscriptions::sqlite::...`, `subscriptions::postgres::...`). Events are produced
//! through the real command service: one `ProductCreated` per product.

use api::graphql::build_schema;
use api::state::AppState;
use application::auth::{Principal, Role};
use application::commands::{CommandContext, NewProduct};
use async_graphql::{Request, Response, Variables};
use event_schemas::{ProductId, SerialMode, SerialModeSource, TenantId};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use store::{EventStore, Position};
use tests::app::TestApp;
use tests::{Backend, TestDatabase};

mod in_process {
    use super::*;

    on_each_backend!(
        a_client_that_stops_reading_gets_its_buffer_then_slow_consumer_and_resumes_from_it_losing_nothing,
        resuming_from_any_cursor_yields_exactly_the_retailers_events_after_it_then_live_ones,
        a_cursor_this_api_did_not_give_out_is_refused_as_validation_naming_after,
        the_reader_ends_as_soon_as_a_caught_up_client_goes_away,
        the_reader_ends_as_soon_as_a_stalled_client_goes_away_without_waiting_for_the_timeout,
    );

    async fn a_client_that_stops_reading_gets_its_buffer_then_slow_consumer_and_resumes_from_it_losing_nothing(
        backend: Backend,
    ) {
        let shop = Shop::open(backend, 10, Duration::from_millis(300)).await;
        shop.create_products("FIRST", 1).await;
        let mut stream = shop.subscribe(None);
        let mut received = vec![event_of(&next(&mut stream).await)];

        // The client stops reading while 200 more events are written.
        shop.create_products("STALLED", 200).await;
        shop.wait_until(|limits| limits.live_readers() == 0, "the reader stops")
            .await;
        let limits = &shop.state.subscription_limits;
        assert_eq!(
            limits.events_held(),
            10,
            "a stopped subscription holds its buffer and nothing more"
        );
        assert!(
            limits.events_held_peak() <= 10 + 1,
            "never more than the buffer and the event waiting to enter it"
        );

        // It reads again: the buffered events, in order, then the error, then the end.
        let mut buffered = Vec::new();
        let error = loop {
            let response = next(&mut stream).await;
            if response["errors"].is_array() {
                break response["errors"][0].clone();
            }
            buffered.push(event_of(&response));
        };
        assert_eq!(
            buffered.len(),
            10,
            "exactly the buffer after the first event"
        );
        received.extend(buffered);
        let last_cursor = received.last().unwrap().cursor.clone();
        assert_eq!(error["extensions"]["code"], "SLOW_CONSUMER", "{error:#}");
        assert_eq!(error["extensions"]["resumeAfter"], json!(last_cursor));
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("after: \"{last_cursor}\"")),
            "the message says how to resume: {message}"
        );
        assert!(
            within(stream.next()).await.is_none(),
            "then the subscription completes"
        );

        // Resubscribing after resumeAfter delivers the rest.
        let mut resumed = shop.subscribe(Some(&last_cursor));
        for _ in received.len()..201 {
            received.push(event_of(&next(&mut resumed).await));
        }
        assert_eq!(
            received,
            shop.log(201).await,
            "every event exactly once, in log order"
        );
    }

    async fn resuming_from_any_cursor_yields_exactly_the_retailers_events_after_it_then_live_ones(
        backend: Backend,
    ) {
        // Batches of 10 events, so resuming crosses batch boundaries.
        let shop = Shop::open(backend, 10, Duration::from_secs(30)).await;
        let rival = shop.other_retailer("rival").await;
        for round in 0..5 {
            shop.create_products(&format!("R{round}-"), 5).await;
            create_products(&shop.state, rival, &format!("X{round}-"), 2).await;
        }
        let log = shop.log(25).await;

        for cut in [0, 7, 13, 24] {
            let mut stream = shop.subscribe(Some(&log[cut].cursor));
            let mut after_cut = Vec::new();
            for _ in cut + 1..log.len() {
                after_cut.push(event_of(&next(&mut stream).await));
            }
            assert_eq!(
                after_cut,
                log[cut + 1..],
                "exactly the events after cursor {cut}"
            );
            let nothing = tokio::time::timeout(Duration::from_millis(300), stream.next()).await;
            assert!(
                nothing.is_err(),
                "caught up, it waits (the rival's events are not sent)"
            );
            if cut == 24 {
                create_products(&shop.state, rival, "LATE-X", 1).await;
                shop.create_products("LATE", 1).await;
                let live = event_of(&next(&mut stream).await);
                assert_eq!(live, shop.log(26).await[25], "then live ones");
            }
        }
    }

    async fn a_cursor_this_api_did_not_give_out_is_refused_as_validation_naming_after(
        backend: Backend,
    ) {
        let shop = Shop::open(backend, 10, Duration::from_secs(30)).await;
        shop.create_products("A", 1).await;
        for cursor in ["", "abc", "12", "1:2:3", "-1:0", "1:x", "eyJwb3MiOjF9"] {
            let mut stream = shop.subscribe(Some(cursor));
            let response = next(&mut stream).await;
            let error = &response["errors"][0];
            assert_eq!(
                error["extensions"]["code"], "VALIDATION",
                "{cursor:?}: {error:#}"
            );
            assert!(
                error["message"].as_str().unwrap().starts_with("after "),
                "the error names the argument: {error:#}"
            );
            assert!(within(stream.next()).await.is_none(), "and nothing streams");
        }
        assert_eq!(
            shop.state.subscription_limits.live_readers(),
            0,
            "no reader was started"
        );
    }

    async fn the_reader_ends_as_soon_as_a_caught_up_client_goes_away(backend: Backend) {
        let shop = Shop::open(backend, 10, Duration::from_secs(30)).await;
        shop.create_products("A", 3).await;
        let mut stream = shop.subscribe(None);
        for _ in 0..3 {
            next(&mut stream).await;
        }
        assert_eq!(shop.state.subscription_limits.live_readers(), 1);

        let dropped = Instant::now();
        drop(stream);
        shop.wait_until(|limits| limits.live_readers() == 0, "the reader ends")
            .await;
        assert!(
            dropped.elapsed() < Duration::from_secs(1),
            "promptly: {:?}",
            dropped.elapsed()
        );
    }

    async fn the_reader_ends_as_soon_as_a_stalled_client_goes_away_without_waiting_for_the_timeout(
        backend: Backend,
    ) {
        let shop = Shop::open(backend, 5, Duration::from_secs(60)).await;
        shop.create_products("A", 1).await;
        let mut stream = shop.subscribe(None);
        next(&mut stream).await;
        shop.create_products("B", 20).await;
        shop.wait_until(
            |limits| limits.events_held() == 5 + 1,
            "the buffer fills and one event waits to enter it",
        )
        .await;

        let dropped = Instant::now();
        drop(stream);
        shop.wait_until(|limits| limits.live_readers() == 0, "the reader ends")
            .await;
        assert!(
            dropped.elapsed() < Duration::from_secs(1),
            "promptly, not after the 60 s timeout: {:?}",
            dropped.elapsed()
        );
        assert_eq!(
            shop.state.subscription_limits.events_held(),
            0,
            "and what it held is released"
        );
    }
}

mod over_websocket {
    use super::*;

    on_both_servers!(
        a_client_that_reconnects_with_its_last_cursor_continues_exactly_after_it,
        a_malformed_cursor_is_refused_as_validation_naming_after,
    );

    async fn a_client_that_reconnects_with_its_last_cursor_continues_exactly_after_it(
        app: &TestApp,
    ) {
        let tenant = app.tenant.tenant_id;
        let token = app.token(Role::Integrator);
        create_products(&app.state, tenant, "A", 5).await;

        let mut first = Socket::subscribe(app, Protocol::TransportWs, &token, None).await;
        let mut received = Vec::new();
        for _ in 0..3 {
            received.push(first.next_event().await);
        }
        first.close().await;

        // Written while the client is away; it comes back on the older protocol.
        create_products(&app.state, tenant, "B", 3).await;
        let cursor = received[2].cursor.clone();
        let mut second = Socket::subscribe(app, Protocol::LegacyWs, &token, Some(&cursor)).await;
        for _ in 0..5 {
            received.push(second.next_event().await);
        }
        second.close().await;

        let log = tenant_log(&app.state, tenant, 8).await;
        assert_eq!(received, log, "every event once, in log order");
    }

    async fn a_malformed_cursor_is_refused_as_validation_naming_after(app: &TestApp) {
        let token = app.token(Role::Integrator);
        for protocol in [Protocol::TransportWs, Protocol::LegacyWs] {
            let mut socket = Socket::subscribe(app, protocol, &token, Some("12:ab")).await;
            let message = socket.receive().await;
            assert_eq!(message["type"], protocol.next_type(), "{message:#}");
            let error = &message["payload"]["errors"][0];
            assert_eq!(error["extensions"]["code"], "VALIDATION", "{message:#}");
            assert!(
                error["message"].as_str().unwrap().starts_with("after "),
                "{message:#}"
            );
            let complete = socket.receive().await;
            assert_eq!(complete["type"], "complete", "{complete:#}");
            socket.close().await;
        }
    }

    /// The two WebSocket protocols the server speaks.
    #[derive(Debug, Clone, Copy)]
    enum Protocol {
        /// `graphql-transport-ws` (graphql-ws, the current one).
        TransportWs,
        /// `graphql-ws` (Apollo's subscriptions-transport-ws).
        LegacyWs,
    }

    impl Protocol {
        fn header(self) -> &'static str {
            match self {
                Protocol::TransportWs => "graphql-transport-ws",
                Protocol::LegacyWs => "graphql-ws",
            }
        }
        fn subscribe_type(self) -> &'static str {
            match self {
                Protocol::TransportWs => "subscribe",
                Protocol::LegacyWs => "start",
            }
        }
        fn next_type(self) -> &'static str {
            match self {
                Protocol::TransportWs => "next",
                Protocol::LegacyWs => "data",
            }
        }
    }

    type WebSocket = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    /// One subscription over its own WebSocket, with the raw messages visible (errors too).
    struct Socket {
        socket: WebSocket,
        protocol: Protocol,
    }

    impl Socket {
        async fn subscribe(
            app: &TestApp,
            protocol: Protocol,
            token: &str,
            after: Option<&str>,
        ) -> Self {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            use tokio_tungstenite::tungstenite::http::HeaderValue;
            let mut request = app.ws_url().into_client_request().unwrap();
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_static(protocol.header()),
            );
            let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
            let mut socket = Self { socket, protocol };
            socket
                .send(json!({
                    "type": "connection_init",
                    "payload": { "authorization": format!("Bearer {token}") },
                }))
                .await;
            let ack = socket.receive().await;
            assert_eq!(ack["type"], "connection_ack", "{ack}");
            socket
                .send(json!({
                    "id": "1",
                    "type": protocol.subscribe_type(),
                    "payload": { "query": LEDGER_EVENTS, "variables": { "after": after } },
                }))
                .await;
            socket
        }

        async fn send(&mut self, message: Value) {
            use futures::SinkExt;
            self.socket
                .send(tokio_tungstenite::tungstenite::Message::Text(
                    message.to_string().into(),
                ))
                .await
                .unwrap();
        }

        /// The next protocol message, keep-alives answered or skipped.
        async fn receive(&mut self) -> Value {
            loop {
                let message = within(self.socket.next()).await.unwrap().unwrap();
                let tokio_tungstenite::tungstenite::Message::Text(text) = message else {
                    continue;
                };
                let value: Value = serde_json::from_str(text.as_str()).unwrap();
                match value["type"].as_str() {
                    Some("ping") => self.send(json!({ "type": "pong" })).await,
                    Some("ka") => {}
                    _ => return value,
                }
            }
        }

        /// The next event (fails on anything else).
        async fn next_event(&mut self) -> Seen {
            let message = self.receive().await;
            assert_eq!(message["type"], self.protocol.next_type(), "{message:#}");
            event_of(&message["payload"])
        }

        async fn close(mut self) {
            let _ = self.socket.close(None).await;
        }
    }
}

// ---- a retailer to subscribe as ---------------------------------------------------------------

const LEDGER_EVENTS: &str =
    "subscription($after: String) { ledgerEvents(after: $after) { cursor eventId } }";

/// What a client keeps of an event: its cursor and id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    cursor: String,
    event_id: String,
}

/// The event in a response (`{ data: { ledgerEvents } }`), which must not be an error.
fn event_of(response: &Value) -> Seen {
    let event = &response["data"]["ledgerEvents"];
    assert!(event.is_object(), "an event: {response:#}");
    Seen {
        cursor: event["cursor"].as_str().unwrap().to_owned(),
        event_id: event["eventId"].as_str().unwrap().to_owned(),
    }
}

/// A fresh database, the state with the given limits, and the in-process schema.
struct Shop {
    state: AppState,
    schema: api::graphql::ApiSchema,
    principal: Principal,
    _database: TestDatabase,
}

impl Shop {
    async fn open(backend: Backend, buffer: usize, slow_client_timeout: Duration) -> Self {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let mut state = AppState::open(&database.url).await.unwrap();
        state.subscription_limits.buffer = buffer;
        state.subscription_limits.slow_client_timeout = slow_client_timeout;
        state.auth.create_tenant("shop", "Test Shop").await.unwrap();
        let token = state
            .auth
            .create_token("shop", Role::Integrator, "subscriber")
            .await
            .unwrap();
        let principal = state.auth.authenticate(&token.token).await.unwrap();
        Self {
            schema: build_schema(state.clone()),
            state,
            principal,
            _database: database,
        }
    }

    /// Another retailer on the same database.
    async fn other_retailer(&self, slug: &str) -> TenantId {
        self.state
            .auth
            .create_tenant(slug, slug)
            .await
            .unwrap()
            .tenant_id
    }

    async fn create_products(&self, prefix: &str, count: usize) {
        create_products(&self.state, self.principal.tenant_id, prefix, count).await;
    }

    /// `ledgerEvents(after)` as the shop's integrator.
    fn subscribe(&self, after: Option<&str>) -> BoxStream<'static, Response> {
        let request = Request::new(LEDGER_EVENTS)
            .variables(Variables::from_json(json!({ "after": after })))
            .data(self.principal.clone());
        self.schema.execute_stream(request)
    }

    /// The shop's events as the log holds them, once `total` are readable.
    async fn log(&self, total: usize) -> Vec<Seen> {
        tenant_log(&self.state, self.principal.tenant_id, total).await
    }

    /// Waits (10 s at most) until the subscription gauges satisfy `condition`.
    async fn wait_until(
        &self,
        condition: impl Fn(&api::graphql::subscriptions::SubscriptionLimits) -> bool,
        what: &str,
    ) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition(&self.state.subscription_limits) {
            assert!(Instant::now() < deadline, "{what} in time");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// `count` products of `tenant`, one `ProductCreated` each, through the command service.
async fn create_products(state: &AppState, tenant_id: TenantId, prefix: &str, count: usize) {
    for n in 0..count {
        let context = CommandContext {
            tenant_id,
            metadata: tests::metadata(),
        };
        let sku = format!("{prefix}{n}");
        state
            .commands
            .create_product(
                &context,
                NewProduct {
                    product_id: ProductId::new_v7(),
                    name: format!("{sku} product"),
                    sku,
                    serial_mode: Some(SerialMode::Optional),
                    source: SerialModeSource::Manual,
                    package: None,
                },
            )
            .await
            .unwrap();
    }
}

/// `tenant`'s events in log order, waiting until it has `total` readable (on PostgreSQL,
/// other tests' open transactions can hold new commits back from readers for a moment).
async fn tenant_log(state: &AppState, tenant: TenantId, total: usize) -> Vec<Seen> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut events = Vec::new();
        let mut after = Position::START;
        loop {
            let batch = state.store.read_all(after, 1_000).await.unwrap();
            let Some(last) = batch.last() else { break };
            after = last.position;
            events.extend(
                batch
                    .iter()
                    .filter(|event| event.envelope.tenant_id == tenant)
                    .map(|event| Seen {
                        cursor: event.position.to_string(),
                        event_id: event.envelope.event_id.to_string(),
                    }),
            );
        }
        if events.len() >= total {
            return events;
        }
        assert!(Instant::now() < deadline, "the log settled in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The next response of an in-process subscription, as JSON (20 s at most).
async fn next(stream: &mut BoxStream<'static, Response>) -> Value {
    let response = within(stream.next()).await.expect("a response");
    serde_json::to_value(response).unwrap()
}

/// `future`, which must finish within 20 s.
async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("within 20 s")
}

// ---- what one stalled subscription holds -------------------------------------------------------

/// Measures, and prints, what one stalled subscription with the default buffer (1,000) holds
/// while 50,000 events are appended, beside one whose buffer (100,000) never fills.
/// Ignored: it writes 50,000 events; run it alone, as RSS is the whole process's:
/// `cargo test -p tests --test it stalled_subscription_memory -- --ignored --nocapture
/// --test-threads=1`.
mod stalled_subscription_memory {
    use super::*;
    use api::graphql::subscriptions::SubscriptionLimits;
    use store::{AppendRequest, ExpectedRevision, NewEvent, StreamWrite};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "writes 50,000 events; a measurement, run alone"]
    async fn sqlite() {
        measure(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    #[ignore = "writes 50,000 events; a measurement, run alone"]
    async fn postgres() {
        measure(Backend::Postgres).await;
    }

    const EVENTS: usize = 50_000;
    const PER_APPEND: usize = 500;

    async fn measure(backend: Backend) {
        let timeout = Duration::from_secs(600);
        let shop = Shop::open(backend, 1_000, timeout).await;
        shop.create_products("FIRST", 1).await;
        let mut stalled = shop.subscribe(None);
        next(&mut stalled).await;
        let before = rss_kib();

        let payload_bytes = append_events(&shop).await;
        let limits = &shop.state.subscription_limits;
        shop.wait_until(|l| l.events_held() == 1_000 + 1, "the buffer fills")
            .await;
        // Give the reader time to (wrongly) read on, if it would.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let bounded = rss_kib();
        let held = limits.events_held();
        let peak = limits.events_held_peak();
        assert!(peak <= 1_000 + 1, "held {peak}");

        // The same stall with a buffer the 50,000 events never fill.
        let mut unbounded_state = shop.state.clone();
        unbounded_state.subscription_limits = SubscriptionLimits::new(100_000, timeout);
        let unbounded_schema = build_schema(unbounded_state.clone());
        let request = Request::new(LEDGER_EVENTS).data(shop.principal.clone());
        let mut unbounded = unbounded_schema.execute_stream(request);
        next(&mut unbounded).await;
        let deadline = Instant::now() + Duration::from_secs(120);
        while unbounded_state.subscription_limits.events_held() < EVENTS {
            assert!(Instant::now() < deadline, "the big buffer fills in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let unbounded_rss = rss_kib();

        println!(
            "{backend:?}: {EVENTS} events of ~{payload_bytes} payload bytes appended while a \
             subscription (buffer 1,000) stalled: it holds {held} events (peak {peak}); RSS \
             {before} KiB -> {bounded} KiB (+{} KiB). The same stall with buffer 100,000 holds \
             {} events: RSS -> {unbounded_rss} KiB (+{} KiB more).",
            bounded.saturating_sub(before),
            unbounded_state.subscription_limits.events_held(),
            unbounded_rss.saturating_sub(bounded),
        );
        drop(stalled);
        drop(unbounded);
    }

    /// Appends the events for the shop, 500 per append; returns one payload's size.
    async fn append_events(shop: &Shop) -> usize {
        let payload = |n: usize| {
            json!({
                "product_id": ProductId::new_v7().to_string(),
                "sku": format!("LOAD-{n:06}"),
                "name": format!("Load test product {n:06}, a name of a usual length"),
                "serial_mode": "OPTIONAL",
                "serial_mode_source": "MANUAL",
                "package": null,
            })
        };
        let payload_bytes = payload(0).to_string().len();
        for chunk in 0..EVENTS / PER_APPEND {
            let events = (0..PER_APPEND)
                .map(|i| NewEvent {
                    event_id: uuid::Uuid::now_v7(),
                    event_type: "ProductCreated".into(),
                    schema_version: 1,
                    payload: payload(chunk * PER_APPEND + i),
                })
                .collect();
            shop.state
                .store
                .append(AppendRequest {
                    tenant_id: shop.principal.tenant_id,
                    metadata: tests::metadata(),
                    writes: vec![StreamWrite {
                        stream_id: format!("load-{chunk}"),
                        expected_revision: ExpectedRevision::NoStream,
                        events,
                    }],
                    claims: vec![],
                })
                .await
                .unwrap();
        }
        payload_bytes
    }

    /// The process's resident set, in KiB (0 where /proc is missing).
    fn rss_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmRSS:"))
                    .and_then(|value| value.trim().trim_end_matches(" kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }
}
