//! `TestApp`: the real server on a random port with a fresh database, a retailer and a
//! token per role, and a small GraphQL-over-HTTP client (zero-to-production's `spawn_app`).

use crate::{Backend, TestDatabase};
use api::state::AppState;
use application::auth::{Role, Tenant};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The real server on a random port, over a given state.
pub struct TestServer {
    /// Where it listens.
    pub address: SocketAddr,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Serves `state` on 127.0.0.1, port 0, until stopped or dropped.
    pub async fn serve(state: AppState) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(api::server::serve(listener, state, async move {
            let _ = stop.await;
        }));
        Self {
            address,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// `http://address{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Posts a GraphQL request with an optional bearer token; returns the JSON response.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        response.json().await.expect("JSON response")
    }

    /// A GET on `path`: status and body text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A running server with a fresh database, a retailer and a token per role.
pub struct TestApp {
    /// The server.
    pub server: TestServer,
    /// Where it listens.
    pub address: SocketAddr,
    /// Its state (for looking behind the API in assertions).
    pub state: AppState,
    /// The test retailer.
    pub tenant: Tenant,
    tokens: HashMap<&'static str, String>,
    // Dropped last: the database outlives the server.
    _database: TestDatabase,
}

impl TestApp {
    /// Starts the server on `backend`, with retailer `shop` and a token per role.
    pub async fn spawn(backend: Backend) -> Self {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let state = AppState::open(&database.url).await.expect("open state");
        let tenant = state
            .auth
            .create_tenant("shop", "Test Shop")
            .await
            .expect("tenant");
        let mut tokens = HashMap::new();
        for role in Role::ALL {
            let issued = state
                .auth
                .create_token("shop", role, &format!("test {role}"))
                .await
                .expect("token");
            tokens.insert(role.name(), issued.token);
        }
        let server = TestServer::serve(state.clone()).await;
        Self {
            address: server.address,
            server,
            state,
            tenant,
            tokens,
            _database: database,
        }
    }

    /// The token of `role` at the test retailer.
    pub fn token(&self, role: Role) -> String {
        self.tokens.get(role.name()).cloned().unwrap_or_default()
    }

    /// Issues a token of another retailer (created on first use), for isolation tests.
    pub async fn foreign_token(&self, role: Role) -> String {
        let _ = self
            .state
            .auth
            .create_tenant("elsewhere", "Another Shop")
            .await;
        self.state
            .auth
            .create_token("elsewhere", role, "foreign")
            .await
            .expect("foreign token")
            .token
    }

    /// `http://address{path}`.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// `ws://address/graphql/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.address)
    }

    /// Posts a GraphQL request with an optional bearer token; returns the JSON response.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.server.graphql(token, query, variables).await
    }

    /// A GET on `path`: status and body text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        self.server.get(path).await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// The first error's `extensions.code` of a GraphQL response, if any.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// A GraphQL subscription over WebSocket (the `graphql-transport-ws` protocol).
pub struct Subscription {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl TestApp {
    /// Connects, authenticates in `connection_init`, and starts one subscription.
    pub async fn subscribe(&self, token: &str, query: &str, variables: Value) -> Subscription {
        use futures::SinkExt;
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::HeaderValue;
        let mut request = self.ws_url().into_client_request().expect("request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        let mut subscription = Subscription { socket };
        let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
        subscription.send(init).await;
        let ack = subscription.receive().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let subscribe = json!({
            "id": "1",
            "type": "subscribe",
            "payload": { "query": query, "variables": variables },
        });
        subscription.send(subscribe).await;
        let _ = subscription.socket.flush().await;
        subscription
    }
}

impl Subscription {
    async fn send(&mut self, message: Value) {
        use futures::SinkExt;
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::Text(
                message.to_string().into(),
            ))
            .await
            .expect("send");
    }

    async fn receive(&mut self) -> Value {
        use futures::StreamExt;
        loop {
            let message =
                tokio::time::timeout(std::time::Duration::from_secs(20), self.socket.next())
                    .await
                    .expect("a message within 20 s")
                    .expect("socket open")
                    .expect("readable message");
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                let value: Value = serde_json::from_str(text.as_str()).expect("JSON message");
                if value["type"] == "ping" {
                    self.send(json!({ "type": "pong" })).await;
                    continue;
                }
                return value;
            }
        }
    }

    /// The next `data` payload of the subscription (panics on an error message).
    pub async fn next_data(&mut self) -> Value {
        let message = self.receive().await;
        assert_eq!(message["type"], "next", "{message}");
        message["payload"]["data"].clone()
    }

    /// Disconnects, as a client that goes away.
    pub async fn disconnect(mut self) {
        let _ = self.socket.close(None).await;
    }
}
