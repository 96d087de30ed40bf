//! Security, end to end over HTTP and WebSocket on both backends:
//!
//! - the tenant isolation matrix: every GraphQL operation, REST endpoint and file route ×
//!   every role of the retailer and every role of another retailer, each with its expected
//!   outcome; another retailer's answers (refusals included) contain none of the retailer's
//!   ids, invoice numbers, SKUs or serials, and its writes change nothing of the retailer's.
//!   A completeness check fails when the schema or the OpenAPI document has an operation the
//!   matrix lacks;
//! - revocation: a token revoked through the server is refused at once on GraphQL, REST,
//!   files and WebSocket, though the server had cached it; one revoked by another process is
//!   refused once the server's token cache TTL has passed (at once without the cache);
//! - per-token rate limits: 429 with `Retry-After` on GraphQL, REST, files and the WebSocket
//!   upgrade; other tokens unaffected; accepted again after the wait; requests without a
//!   token limited by client address; probes never limited.
//!
//! That secrets never reach the logs is tested on the real binary's stderr:
//! `api/tests/secrets_not_logged.rs`.

use api::rate_limit::RateLimit;
use api::state::AppState;
use application::auth::{Permission, Role};
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use store::EventStore;
use tests::app::{TestApp, TestServer};
use tests::{Backend, TestDatabase};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use uuid::Uuid;

on_both_servers!(
    every_operation_answers_every_role_and_another_retailer_as_the_matrix_says,
    the_matrix_lists_every_operation_of_the_schema_and_the_openapi_document,
    a_revoked_token_is_refused_at_once_on_graphql_rest_files_and_websocket,
);

/// Cases that need a server with a limit small enough to reach.
macro_rules! on_both_limited_servers {
    ($($case:ident),* $(,)?) => {
        mod limited_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(tests::Backend::Sqlite).await;
                }
            )*
        }
        mod limited_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(tests::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_limited_servers!(
    a_token_over_its_limit_gets_429_with_retry_after_and_works_again_after_the_wait,
    another_token_is_unaffected_by_one_over_its_limit,
    files_and_the_websocket_upgrade_are_limited_too,
    requests_without_a_token_are_limited_by_client_address_and_probes_never,
);

const OUTLET: &str = "0190a000-0000-7000-8000-0000000000aa";
const SKU: &str = "SECRET-SKU-7Q";
const INVOICE: &str = "INV-SECRET-42";
const SERIAL: &str = "SN-SECRET-99";
const HOOK_SECRET: &str = "a-webhook-secret-of-the-shop";

/// The retailer's data that another retailer must never see.
struct Shop {
    tenant_id: String,
    product_id: String,
    sale_id: String,
    webhook_id: String,
}

impl Shop {
    /// A product, a sale with a serial on line 1, and a webhook.
    async fn open(app: &TestApp) -> Self {
        let manager = app.token(Role::Manager);
        let data = ok(
            app,
            &manager,
            "mutation($sku: String!) { createProduct(input: { sku: $sku, name: $sku, serialMode: REQUIRED }) { product { id } } }",
            json!({ "sku": SKU }),
        )
        .await;
        let product_id = text(&data["createProduct"]["product"]["id"]);
        let data = ok(
            app,
            &manager,
            "mutation($invoice: String!, $outlet: ID!) { openSale(input: { invoiceNumber: $invoice, outletId: $outlet }) { sale { id } } }",
            json!({ "invoice": INVOICE, "outlet": OUTLET }),
        )
        .await;
        let sale_id = text(&data["openSale"]["sale"]["id"]);
        ok(
            app,
            &manager,
            "mutation($sale: ID!, $product: ID!) { addItem(saleId: $sale, productId: $product) { cursor } }",
            json!({ "sale": sale_id, "product": product_id }),
        )
        .await;
        ok(
            app,
            &manager,
            "mutation($sale: ID!, $serial: String!) { assignSerial(saleId: $sale, lineId: 1, serialNumber: $serial) { cursor } }",
            json!({ "sale": sale_id, "serial": SERIAL }),
        )
        .await;
        let data = ok(
            app,
            &manager,
            "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { id } }",
            json!({ "input": { "url": "http://127.0.0.1:9/shop-hook", "secret": HOOK_SECRET } }),
        )
        .await;
        let webhook_id = text(&data["registerWebhook"]["id"]);
        Self {
            tenant_id: app.tenant.tenant_id.to_string(),
            product_id,
            sale_id,
            webhook_id,
        }
    }

    /// Everything that identifies the retailer's data.
    fn markers(&self) -> Vec<String> {
        vec![
            self.tenant_id.clone(),
            self.product_id.clone(),
            self.sale_id.clone(),
            self.webhook_id.clone(),
            SKU.to_owned(),
            INVOICE.to_owned(),
            SERIAL.to_owned(),
            HOOK_SECRET.to_owned(),
            "shop-hook".to_owned(),
        ]
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let response = app.graphql(Some(token), query, variables).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    response["data"].clone()
}

/// How one operation is called.
enum Call {
    /// A GraphQL query or mutation over HTTP.
    Graphql(String),
    /// `importProducts`: a GraphQL multipart upload.
    Upload,
    /// The `ledgerEvents` subscription over WebSocket.
    Subscribe(String),
    /// REST or a file route. `api` is how the OpenAPI document names it (`GET /path`), when
    /// it is there.
    Http {
        method: Method,
        path: String,
        body: Option<Value>,
        /// A binary file (XLSX, PDF): its bytes are compressed, so only its status counts;
        /// the CSV twin of the same data is checked for leaks.
        binary: bool,
    },
}

/// One row of the matrix: the operation, how it is called, and the permission it needs
/// (so the roles allowed are exactly those `Role::allows` says).
struct Operation {
    name: String,
    call: Call,
    needs: Permission,
}

fn gql(name: &str, needs: Permission, query: String) -> Operation {
    Operation {
        name: name.to_owned(),
        call: Call::Graphql(query),
        needs,
    }
}

fn http(method: Method, template: &str, path: String, needs: Permission) -> Operation {
    http_with(method, template, path, None, needs)
}

fn http_with(
    method: Method,
    template: &str,
    path: String,
    body: Option<Value>,
    needs: Permission,
) -> Operation {
    let binary = path.contains(".xlsx") || path.contains(".pdf");
    Operation {
        name: format!("{method} {template}"),
        call: Call::Http {
            method,
            path,
            body,
            binary,
        },
        needs,
    }
}

/// Replaced by a new value at each call, where a value must be unique (SKUs, invoices).
const UNIQUE: &str = "UNIQUE-VALUE";

/// Every operation, aimed at the retailer's own data: an allowed caller of the retailer
/// gets past the permission check (to success, or to a refusal of another kind: line 99
/// does not exist), another retailer's caller must find nothing.
fn matrix(shop: &Shop) -> Vec<Operation> {
    use Permission::*;
    let (product, sale, hook) = (&shop.product_id, &shop.sale_id, &shop.webhook_id);
    vec![
        // Queries.
        gql("product", Read, format!(r#"{{ product(id: "{product}") {{ sku name }} }}"#)),
        gql("products", Read, "{ products { edges { node { id sku } } } }".into()),
        gql("settings", Read, "{ settings { autoPromptSerialNumber } }".into()),
        gql("sale", Read, format!(r#"{{ sale(id: "{sale}") {{ invoiceNumber lines {{ serialNumber sku }} }} }}"#)),
        gql("saleByInvoice", Read, format!(r#"{{ saleByInvoice(invoiceNumber: "{INVOICE}") {{ id lines {{ serialNumber }} }} }}"#)),
        gql("fulfilmentReport", Read, "{ fulfilmentReport { edges { node { sale { id invoiceNumber } line { serialNumber sku } } } } }".into()),
        gql("salesReport", Read, "{ salesReport { edges { node { sale { id invoiceNumber } line { serialNumber sku } } } } }".into()),
        gql("serialTrace", Read, format!(r#"{{ serialTrace(serialNumber: "{SERIAL}") {{ saleId invoiceNumber sku productId }} }}"#)),
        gql("serialNumbers", Read, format!(r#"{{ serialNumbers(prefix: "{SERIAL}") }}"#)),
        gql("events", ReadLog, "{ events { edges { node { streamId payload } } } }".into()),
        gql("webhooks", ManageIntegrations, "{ webhooks { id url } }".into()),
        gql("webhookDeliveries", ManageIntegrations, format!(r#"{{ webhookDeliveries(webhookId: "{hook}") {{ edges {{ node {{ eventId }} }} }} }}"#)),
        // Mutations.
        gql("createProduct", CreateProducts, format!(r#"mutation {{ createProduct(input: {{ sku: "NEW-{UNIQUE}", name: "New" }}) {{ cursor }} }}"#)),
        gql("updateProduct", ManageCatalogue, format!(r#"mutation {{ updateProduct(id: "{product}", name: "Renamed") {{ product {{ sku }} }} }}"#)),
        gql("applyProductEditSetting", ManageCatalogue, format!(r#"mutation {{ applyProductEditSetting(productIds: ["{product}"], serialMode: OPTIONAL) {{ cursor }} }}"#)),
        Operation { name: "importProducts".into(), call: Call::Upload, needs: ManageCatalogue },
        gql("updateSettings", ManageCatalogue, "mutation { updateSettings(displaySerialNumberOnInvoice: true) { cursor } }".into()),
        gql("openSale", Sell, format!(r#"mutation {{ openSale(input: {{ invoiceNumber: "INV-{UNIQUE}", outletId: "{OUTLET}" }}) {{ cursor }} }}"#)),
        gql("addItem", Sell, format!(r#"mutation {{ addItem(saleId: "{sale}", productId: "{product}") {{ cursor }} }}"#)),
        gql("setLineQuantity", Sell, format!(r#"mutation {{ setLineQuantity(saleId: "{sale}", lineId: 99, quantity: 1) {{ cursor }} }}"#)),
        gql("removeLine", Sell, format!(r#"mutation {{ removeLine(saleId: "{sale}", lineId: 99) {{ cursor }} }}"#)),
        gql("assignSerial", RecordSerials, format!(r#"mutation {{ assignSerial(saleId: "{sale}", lineId: 99, serialNumber: "SN-OTHER") {{ cursor }} }}"#)),
        gql("removeSerial", RecordSerials, format!(r#"mutation {{ removeSerial(saleId: "{sale}", lineId: 99) {{ cursor }} }}"#)),
        gql("fulfilLines", Fulfil, format!(r#"mutation {{ fulfilLines(saleId: "{sale}", lineIds: [99]) {{ cursor }} }}"#)),
        gql("refundLines", Refund, format!(r#"mutation {{ refundLines(saleId: "{sale}", lineIds: [99]) {{ cursor }} }}"#)),
        gql("cancelLines", Refund, format!(r#"mutation {{ cancelLines(saleId: "{sale}", lineIds: [99]) {{ cursor }} }}"#)),
        gql("reissueLine", Refund, format!(r#"mutation {{ reissueLine(saleId: "{sale}", returnedSaleId: "{sale}", returnedLineId: 99) {{ cursor }} }}"#)),
        gql("registerWebhook", ManageIntegrations, r#"mutation { registerWebhook(input: { url: "http://127.0.0.1:9/other", secret: "another-long-secret-1" }) { id } }"#.into()),
        gql("resumeWebhook", ManageIntegrations, format!(r#"mutation {{ resumeWebhook(id: "{hook}") {{ url }} }}"#)),
        // Last: the retailer's own manager removes the webhook for good.
        gql("removeWebhook", ManageIntegrations, format!(r#"mutation {{ removeWebhook(id: "{hook}") }}"#)),
        // The verifiable ledger (an event id the ledger does not hold, a cosignature that
        // does not verify: past the permission check, refused for another reason).
        gql("ledgerCheckpoints", ReadLog, "{ ledgerCheckpoints { treeSize note } }".into()),
        gql("ledgerCheckpoint", ReadLog, "{ ledgerCheckpoint { treeSize note } }".into()),
        gql("inclusionProof", ReadLog, format!(r#"{{ inclusionProof(eventId: "{sale}") {{ leafIndex proof }} }}"#)),
        gql("consistencyProof", ReadLog, "{ consistencyProof(fromSize: 0) { proof } }".into()),
        gql("ledgerKeys", ReadLog, "{ ledgerKeys { signing } }".into()),
        gql("issueCheckpoint", ReadLog, "mutation { issueCheckpoint { treeSize } }".into()),
        gql("addCosignature", ReadLog, r#"mutation { addCosignature(treeSize: 0, witnessKey: "w", line: "x") { treeSize } }"#.into()),
        // The subscription.
        Operation {
            name: "ledgerEvents".into(),
            call: Call::Subscribe("subscription { ledgerEvents { streamId payload } }".into()),
            needs: Subscribe,
        },
        // REST (/api/v1).
        http(Method::GET, "/api/v1/lines/pending-serial", "/api/v1/lines/pending-serial".into(), Read),
        http(Method::GET, "/api/v1/serials/trace", format!("/api/v1/serials/trace?serialNumber={SERIAL}"), Read),
        http_with(Method::PUT, "/api/v1/products/{productId}/serial-mode", format!("/api/v1/products/{product}/serial-mode"), Some(json!({ "serialMode": "OPTIONAL" })), ManageCatalogue),
        http_with(Method::PUT, "/api/v1/sales/{saleId}/lines/{lineNumber}/serial", format!("/api/v1/sales/{sale}/lines/99/serial"), Some(json!({ "serialNumber": "SN-OTHER" })), RecordSerials),
        http(Method::DELETE, "/api/v1/sales/{saleId}/lines/{lineNumber}/serial", format!("/api/v1/sales/{sale}/lines/99/serial"), RecordSerials),
        http_with(Method::POST, "/api/v1/sales/{saleId}/fulfilments", format!("/api/v1/sales/{sale}/fulfilments"), Some(json!({ "lines": [{ "lineNumber": 99 }] })), Fulfil),
        http(Method::GET, "/api/v1/ledger/checkpoints", "/api/v1/ledger/checkpoints".into(), ReadLog),
        http(Method::POST, "/api/v1/ledger/checkpoints", "/api/v1/ledger/checkpoints".into(), ReadLog),
        http(Method::GET, "/api/v1/ledger/checkpoints/latest", "/api/v1/ledger/checkpoints/latest".into(), ReadLog),
        http(Method::GET, "/api/v1/ledger/checkpoints/{treeSize}", "/api/v1/ledger/checkpoints/0".into(), ReadLog),
        http(Method::GET, "/api/v1/ledger/checkpoints/{treeSize}/note", "/api/v1/ledger/checkpoints/0/note".into(), ReadLog),
        http_with(Method::POST, "/api/v1/ledger/checkpoints/{treeSize}/cosignatures", "/api/v1/ledger/checkpoints/0/cosignatures".into(), Some(json!({ "witnessKey": "w", "line": "x" })), ReadLog),
        http(Method::GET, "/api/v1/ledger/keys", "/api/v1/ledger/keys".into(), ReadLog),
        http(Method::GET, "/api/v1/ledger/proofs/consistency", "/api/v1/ledger/proofs/consistency?from=0".into(), ReadLog),
        http(Method::GET, "/api/v1/ledger/proofs/inclusion", format!("/api/v1/ledger/proofs/inclusion?eventId={sale}"), ReadLog),
        // Files.
        http(Method::GET, "/exports/products.csv", "/exports/products.csv".into(), Read),
        http(Method::GET, "/exports/sales-detail.csv", "/exports/sales-detail.csv".into(), Read),
        http(Method::GET, "/exports/sales-detail.xlsx", "/exports/sales-detail.xlsx".into(), Read),
        http(Method::GET, "/exports/fulfilment-report.csv", "/exports/fulfilment-report.csv".into(), Read),
        http(Method::GET, "/exports/fulfilment-report.xlsx", "/exports/fulfilment-report.xlsx".into(), Read),
        http(Method::GET, "/exports/pick-list.csv", "/exports/pick-list.csv".into(), Read),
        http(Method::GET, "/exports/pick-list.xlsx", "/exports/pick-list.xlsx".into(), Read),
        http(Method::GET, "/exports/pick-list.pdf", "/exports/pick-list.pdf".into(), Read),
        http(Method::GET, "/exports/invoices/{file}", format!("/exports/invoices/{sale}.pdf"), Read),
        http(Method::POST, "/imports/products", "/imports/products".into(), ManageCatalogue),
    ]
}

/// What a call came back with: `Ok`, or the error code; and everything the caller saw.
struct Answer {
    code: Option<String>,
    status: u16,
    seen: String,
}

/// `importProducts` with a one-row CSV (a new SKU), as the GraphQL multipart spec sends it.
fn upload_body() -> (Vec<u8>, String) {
    const BOUNDARY: &str = "security-matrix-boundary";
    let operations = json!({
        "query": "mutation($file: Upload!) { importProducts(file: $file) { written rows } }",
        "variables": { "file": null },
    });
    let mut body = Vec::new();
    for (name, value) in [
        ("operations", operations.to_string()),
        ("map", json!({ "0": ["variables.file"] }).to_string()),
    ] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\nsku,name\r\nUPLOADED-1,Uploaded\r\n--{BOUNDARY}--\r\n")
            .as_bytes(),
    );
    (body, format!("multipart/form-data; boundary={BOUNDARY}"))
}

async fn call(app: &TestApp, token: &str, operation: &Operation) -> Answer {
    let client = reqwest::Client::new();
    let request = match &operation.call {
        Call::Graphql(query) => {
            let query = query.replace(UNIQUE, &Uuid::now_v7().simple().to_string());
            client
                .post(app.url("/graphql"))
                .json(&json!({ "query": query }))
        }
        Call::Upload => {
            let (body, content_type) = upload_body();
            client
                .post(app.url("/graphql"))
                .header("content-type", content_type)
                .body(body)
        }
        Call::Http {
            method, path, body, ..
        } => {
            let mut request = client.request(method.clone(), app.url(path));
            if path == "/imports/products" {
                request = request
                    .header("content-type", "text/csv")
                    .body("sku,name\r\nUPLOADED-2,Uploaded\r\n");
            } else if let Some(body) = body {
                request = request.json(body);
            }
            request
        }
        Call::Subscribe(query) => return subscribe(app, token, query).await,
    };
    let response = request.bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let seen = String::from_utf8_lossy(&bytes).into_owned();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let code = match &operation.call {
        Call::Graphql(_) | Call::Upload => body["errors"][0]["extensions"]["code"]
            .as_str()
            .map(str::to_owned),
        _ if status < 300 => None,
        _ => Some(
            body["error"]["code"]
                .as_str()
                .or(body["code"].as_str())
                .unwrap_or("(no code)")
                .to_owned(),
        ),
    };
    Answer { code, status, seen }
}

/// Opens `ledgerEvents` and returns its first message (or none within a short wait: a
/// caller with no events of its own sees nothing).
async fn subscribe(app: &TestApp, token: &str, query: &str) -> Answer {
    let mut socket = websocket(app, None).await;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let ack = next_message(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    let first = next_message(&mut socket, Duration::from_millis(700)).await;
    let _ = socket.close(None).await;
    let code = match first["type"].as_str() {
        Some("error") => Some(
            first["payload"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("(no code)")
                .to_owned(),
        ),
        Some("next") => first["payload"]["errors"][0]["extensions"]["code"]
            .as_str()
            .map(str::to_owned),
        _ => None,
    };
    Answer {
        code,
        status: 101,
        seen: first.to_string(),
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` connection, with `header_token` as `Authorization` if given.
async fn websocket(app: &TestApp, header_token: Option<&str>) -> Socket {
    connect(&app.ws_url(), header_token).await.unwrap()
}

async fn connect(
    url: &str,
    header_token: Option<&str>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    if let Some(token) = header_token {
        request.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// The next text message as JSON (answering pings), or `Value::Null` after `wait`.
async fn next_message(socket: &mut Socket, wait: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, socket.next()).await else {
            return Value::Null;
        };
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["type"] == "ping" {
                let pong = json!({ "type": "pong" }).to_string();
                let _ = socket.send(Message::Text(pong.into())).await;
                continue;
            }
            return value;
        }
    }
}

/// The retailer's events, by count: another retailer's writes must not add any.
async fn events_of(app: &TestApp) -> usize {
    let tenant = app.tenant.tenant_id;
    app.state
        .store
        .read_all(store::Position::START, 1_000_000)
        .await
        .unwrap()
        .iter()
        .filter(|event| event.envelope.tenant_id == tenant)
        .count()
}

const REFUSED_BEFORE_RUNNING: [&str; 4] =
    ["FORBIDDEN", "UNAUTHENTICATED", "INTERNAL", "UNAVAILABLE"];

async fn every_operation_answers_every_role_and_another_retailer_as_the_matrix_says(app: &TestApp) {
    let shop = Shop::open(app).await;
    let markers = shop.markers();
    let operations = matrix(&shop);
    let mut failures = Vec::new();

    // Another retailer first, while the retailer's data is all there to be found.
    let before = events_of(app).await;
    for role in Role::ALL {
        let foreign = app.foreign_token(role).await;
        for operation in &operations {
            let answer = call(app, &foreign, operation).await;
            let what = format!("{} by another retailer's {role}", operation.name);
            let expected = if role.allows(operation.needs) {
                // Allowed to the role: the retailer's data does not exist for it.
                matches!(answer.code.as_deref(), None | Some("NOT_FOUND"))
            } else {
                answer.code.as_deref() == Some("FORBIDDEN")
            };
            if !expected {
                failures.push(format!("{what}: {} {}", answer.status, answer.seen));
            }
            // Nothing of the retailer's in the answer, refusals included, beyond what the
            // caller itself sent (an id it named may be echoed back).
            let sent = match &operation.call {
                Call::Graphql(query) | Call::Subscribe(query) => query.clone(),
                Call::Http { path, body, .. } => format!("{path} {body:?}"),
                Call::Upload => String::new(),
            };
            let binary_file =
                matches!(operation.call, Call::Http { binary: true, .. }) && answer.status < 300;
            for marker in &markers {
                if !binary_file
                    && !sent.contains(marker.as_str())
                    && answer.seen.contains(marker.as_str())
                {
                    failures.push(format!("{what} leaks {marker}: {}", answer.seen));
                }
            }
        }
    }
    assert_eq!(
        events_of(app).await,
        before,
        "another retailer's writes recorded nothing for this retailer"
    );

    for role in Role::ALL {
        let token = app.token(role);
        for operation in &operations {
            let answer = call(app, &token, operation).await;
            let what = format!("{} by the retailer's {role}", operation.name);
            if role.allows(operation.needs) {
                if REFUSED_BEFORE_RUNNING.contains(&answer.code.as_deref().unwrap_or_default())
                    || answer.status >= 500
                {
                    failures.push(format!(
                        "{what} should be allowed: {} {}",
                        answer.status, answer.seen
                    ));
                }
            } else if answer.code.as_deref() != Some("FORBIDDEN") {
                failures.push(format!(
                    "{what} should be FORBIDDEN: {} {}",
                    answer.status, answer.seen
                ));
            } else if !matches!(
                operation.call,
                Call::Graphql(_) | Call::Upload | Call::Subscribe(_)
            ) && answer.status != 403
            {
                failures.push(format!(
                    "{what}: FORBIDDEN is HTTP 403, got {}",
                    answer.status
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn the_matrix_lists_every_operation_of_the_schema_and_the_openapi_document(app: &TestApp) {
    let shop = Shop {
        tenant_id: String::new(),
        product_id: Uuid::nil().to_string(),
        sale_id: Uuid::nil().to_string(),
        webhook_id: Uuid::nil().to_string(),
    };
    let listed: BTreeSet<String> = matrix(&shop).into_iter().map(|op| op.name).collect();
    let data = ok(
        app,
        &app.token(Role::Auditor),
        "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
        json!({}),
    )
    .await;
    let mut served = BTreeSet::new();
    for root in ["queryType", "mutationType", "subscriptionType"] {
        for field in data["__schema"][root]["fields"].as_array().unwrap() {
            served.insert(text(&field["name"]));
        }
    }
    let (status, document) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    let document: Value = serde_json::from_str(&document).unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            served.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let missing: Vec<&String> = served.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "operations missing from the security matrix (add a row to `matrix`): {missing:?}"
    );
}

async fn a_revoked_token_is_refused_at_once_on_graphql_rest_files_and_websocket(app: &TestApp) {
    let issued = app
        .state
        .auth
        .create_token("shop", Role::Manager, "to be revoked")
        .await
        .unwrap();
    let token = issued.token.as_str();
    let settings = "{ settings { autoPromptSerialNumber } }";
    let client = reqwest::Client::new();
    let rest = || {
        client
            .get(app.url("/api/v1/lines/pending-serial"))
            .bearer_auth(token)
            .send()
    };
    let file = || {
        client
            .get(app.url("/exports/products.csv"))
            .bearer_auth(token)
            .send()
    };
    // It works everywhere...
    assert!(
        app.graphql(Some(token), settings, json!({}))
            .await
            .get("errors")
            .is_none()
    );
    assert_eq!(rest().await.unwrap().status().as_u16(), 200);
    assert_eq!(file().await.unwrap().status().as_u16(), 200);
    let events = "subscription { ledgerEvents { eventType } }";
    let answer = subscribe(app, token, events).await;
    assert_eq!(answer.code, None, "{}", answer.seen);

    // ...until revoked: the very next request is refused, on every API, though the server
    // resolved (and cached) the token moments before.
    assert!(
        app.graphql(Some(token), settings, json!({}))
            .await
            .get("errors")
            .is_none()
    );
    app.state.auth.revoke_token(issued.token_id).await.unwrap();
    let response = app.graphql(Some(token), settings, json!({})).await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{response:#}"
    );
    let refused = rest().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    let refused = file().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let answer = subscribe(app, token, events).await;
    assert_eq!(
        answer.code.as_deref(),
        Some("UNAUTHENTICATED"),
        "{}",
        answer.seen
    );
    // The other tokens go on working.
    let other = app.token(Role::Manager);
    assert!(
        app.graphql(Some(&other), settings, json!({}))
            .await
            .get("errors")
            .is_none()
    );
}

// ---- the token cache

/// The server keeps each token it resolved for a while (`--token-cache-ms`). Revocations
/// through the server evict at once; one made by another process (`serial-ledger token
/// revoke` while the server runs) is seen within the TTL.
mod token_cache {
    use super::*;
    use ::projections::ReadDb;
    use application::auth::{Auth, IssuedToken};
    use std::time::Instant;
    use store::AnyStore;
    use tests::app::error_code;

    on_each_backend!(
        a_cached_token_revoked_through_the_server_is_refused_on_the_next_request,
        a_token_revoked_by_another_process_keeps_working_no_longer_than_the_cache_ttl,
        without_the_token_cache_a_token_revoked_by_another_process_is_refused_at_once,
    );

    /// The default `--token-cache-ms`: long enough that a request made right after a
    /// revocation is answered within it even on a loaded machine.
    const TTL: Duration = Duration::from_secs(1);

    /// A server whose token cache keeps resolutions for a given TTL, and another process's
    /// tokens on the same database (what `serial-ledger token revoke` uses).
    struct Cached {
        server: TestServer,
        state: AppState,
        elsewhere: Auth,
        _database: TestDatabase,
    }

    impl Cached {
        async fn start(backend: Backend, ttl: Duration) -> Self {
            let database = match backend {
                Backend::Sqlite => TestDatabase::sqlite(),
                Backend::Postgres => TestDatabase::postgres().await,
            };
            let mut state = AppState::open(&database.url).await.unwrap();
            state.auth = state.auth.clone().with_token_cache(ttl);
            state.auth.create_tenant("shop", "Test Shop").await.unwrap();
            let server = TestServer::serve(state.clone()).await;
            let other_process = AnyStore::connect(&database.url).await.unwrap();
            Self {
                server,
                state,
                elsewhere: Auth::new(ReadDb::of(&other_process)),
                _database: database,
            }
        }

        async fn token(&self) -> IssuedToken {
            self.state
                .auth
                .create_token("shop", Role::Pos, "till")
                .await
                .unwrap()
        }

        /// Whether the server accepts the token: `true` for an answer, `false` for
        /// `UNAUTHENTICATED`.
        async fn accepts(&self, token: &str) -> bool {
            let response = self
                .server
                .graphql(
                    Some(token),
                    "{ settings { autoPromptSerialNumber } }",
                    json!({}),
                )
                .await;
            match error_code(&response) {
                None => true,
                Some("UNAUTHENTICATED") => false,
                Some(_) => panic!("neither answered nor refused: {response:#}"),
            }
        }
    }

    async fn a_cached_token_revoked_through_the_server_is_refused_on_the_next_request(
        backend: Backend,
    ) {
        // A TTL no test outlives: whatever the server resolved stays cached.
        let app = Cached::start(backend, Duration::from_secs(3_600)).await;
        let (till, witness) = (app.token().await, app.token().await);
        assert!(app.accepts(&till.token).await);
        assert!(app.accepts(&witness.token).await);
        // The cache is in use: a revocation the server does not make goes unseen for now...
        app.elsewhere.revoke_token(witness.token_id).await.unwrap();
        assert!(app.accepts(&witness.token).await);
        // ...but its own revocation is refused at once.
        app.state.auth.revoke_token(till.token_id).await.unwrap();
        assert!(!app.accepts(&till.token).await);
    }

    async fn a_token_revoked_by_another_process_keeps_working_no_longer_than_the_cache_ttl(
        backend: Backend,
    ) {
        let app = Cached::start(backend, TTL).await;
        let till = app.token().await;
        let asked = Instant::now();
        assert!(app.accepts(&till.token).await);
        // The server resolved the token between these two moments: it forgets it TTL later.
        let answered = Instant::now();
        app.elsewhere.revoke_token(till.token_id).await.unwrap();
        // In constant use, and still refused once the TTL has passed: use does not renew it.
        let mut accepted_after_revocation = false;
        loop {
            let sent = Instant::now();
            let accepted = app.accepts(&till.token).await;
            if Instant::now() < asked + TTL {
                assert!(accepted, "refused before the TTL: the cache was not used");
                accepted_after_revocation = true;
            }
            if sent >= answered + TTL {
                assert!(!accepted, "still accepted after the TTL");
                break;
            }
            tokio::time::sleep(TTL / 10).await;
        }
        assert!(
            accepted_after_revocation,
            "no request was answered within the TTL after the revocation: the machine is too \
             slow for this test's TTL of {TTL:?}"
        );
    }

    async fn without_the_token_cache_a_token_revoked_by_another_process_is_refused_at_once(
        backend: Backend,
    ) {
        let app = Cached::start(backend, Duration::ZERO).await;
        let till = app.token().await;
        assert!(app.accepts(&till.token).await);
        app.elsewhere.revoke_token(till.token_id).await.unwrap();
        assert!(!app.accepts(&till.token).await);
    }
}

// ---- rate limits

/// A server whose limit a test can reach: 1 request a second, 3 at once.
struct Limited {
    server: TestServer,
    state: AppState,
    _database: TestDatabase,
}

const TIGHT: RateLimit = RateLimit {
    per_second: 1,
    burst: 3,
};

impl Limited {
    async fn start(backend: Backend) -> Self {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let mut state = AppState::open(&database.url).await.unwrap();
        state.rate_limit = TIGHT;
        state.auth.create_tenant("shop", "Test Shop").await.unwrap();
        let server = TestServer::serve(state.clone()).await;
        Self {
            server,
            state,
            _database: database,
        }
    }

    async fn token(&self) -> String {
        self.state
            .auth
            .create_token("shop", Role::Integrator, "limited")
            .await
            .unwrap()
            .token
    }

    /// Status, `Retry-After` and JSON body of one request.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
    ) -> (u16, Option<String>, Value) {
        let mut request = reqwest::Client::new().request(method.clone(), self.server.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if method == Method::POST {
            request = request.json(&json!({ "query": "{ settings { autoPromptSerialNumber } }" }));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        (
            status,
            retry_after,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    async fn graphql(&self, token: Option<&str>) -> (u16, Option<String>, Value) {
        self.send(Method::POST, "/graphql", token).await
    }

    async fn rest(&self, token: &str) -> (u16, Option<String>, Value) {
        self.send(Method::GET, "/api/v1/lines/pending-serial", Some(token))
            .await
    }

    /// Spends the token's burst.
    async fn exhaust(&self, token: &str) {
        for _ in 0..TIGHT.burst {
            let (status, _, body) = self.graphql(Some(token)).await;
            assert_eq!(status, 200, "{body:#}");
        }
    }
}

fn assert_graphql_limited((status, retry, body): &(u16, Option<String>, Value)) {
    assert_eq!((*status, retry.as_deref()), (429, Some("1")), "{body:#}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{body:#}"
    );
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 1, "{body:#}");
}

fn assert_rest_limited((status, retry, body): &(u16, Option<String>, Value)) {
    assert_eq!((*status, retry.as_deref()), (429, Some("1")), "{body:#}");
    assert_eq!(body["error"]["code"], "RATE_LIMITED", "{body:#}");
    assert_eq!(body["error"]["details"]["retryAfterSeconds"], 1, "{body:#}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retry in 1 s")
    );
}

async fn a_token_over_its_limit_gets_429_with_retry_after_and_works_again_after_the_wait(
    backend: Backend,
) {
    let app = Limited::start(backend).await;
    let token = app.token().await;
    app.exhaust(&token).await;
    assert_graphql_limited(&app.graphql(Some(&token)).await);
    assert_rest_limited(&app.rest(&token).await);
    // Retry-After said one second: after it, one more request is accepted, on either API.
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    let (status, _, body) = app.rest(&token).await;
    assert_eq!(status, 200, "{body:#}");
    assert_graphql_limited(&app.graphql(Some(&token)).await);
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    let (status, _, body) = app.graphql(Some(&token)).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body.get("errors").is_none(), "{body:#}");
}

async fn another_token_is_unaffected_by_one_over_its_limit(backend: Backend) {
    let app = Limited::start(backend).await;
    let (greedy, other) = (app.token().await, app.token().await);
    app.exhaust(&greedy).await;
    assert_graphql_limited(&app.graphql(Some(&greedy)).await);
    let (status, _, body) = app.graphql(Some(&other)).await;
    assert_eq!(status, 200, "{body:#}");
    let (status, _, body) = app.rest(&other).await;
    assert_eq!(status, 200, "{body:#}");
    // Requests without a token have buckets of their own too.
    let (status, _, body) = app.graphql(None).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

async fn files_and_the_websocket_upgrade_are_limited_too(backend: Backend) {
    let app = Limited::start(backend).await;
    let token = app.token().await;
    app.exhaust(&token).await;
    assert_rest_limited(
        &app.send(Method::GET, "/exports/products.csv", Some(&token))
            .await,
    );
    let url = format!("ws://{}/graphql/ws", app.server.address);
    match connect(&url, Some(&token)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 429);
            assert_eq!(
                response.headers().get("retry-after").map(|v| v.as_bytes()),
                Some(&b"1"[..])
            );
        }
        other => panic!(
            "the upgrade should be refused with 429: {:?}",
            other.map(|_| ())
        ),
    }
}

async fn requests_without_a_token_are_limited_by_client_address_and_probes_never(backend: Backend) {
    let app = Limited::start(backend).await;
    for _ in 0..TIGHT.burst {
        let (status, _, _) = app.graphql(None).await;
        assert_eq!(status, 200);
    }
    assert_graphql_limited(&app.graphql(None).await);
    // A made-up token is no token: it shares the address's bucket.
    assert_graphql_limited(
        &app.graphql(Some("sl_0190a0000000700080000000000000aa_00"))
            .await,
    );
    // A valid token from the same address has a bucket of its own.
    let token = app.token().await;
    let (status, _, body) = app.graphql(Some(&token)).await;
    assert_eq!(status, 200, "{body:#}");
    for path in ["/healthz", "/openapi.json", "/schemas/events"] {
        for _ in 0..(TIGHT.burst * 3) {
            let (status, _, body) = app.send(Method::GET, path, None).await;
            assert_eq!(status, 200, "{path}: {body:#}");
        }
    }
}

/// While the tokens cannot be read (here: the database's pools are closed), a request with
/// a good token is answered `UNAVAILABLE` (503), never `UNAUTHENTICATED`: a client told it
/// is unauthenticated would drop good credentials instead of retrying.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_good_token_is_answered_unavailable_not_unauthenticated_while_the_database_is_down() {
    let app = TestApp::spawn(tests::Backend::Sqlite).await;
    let token = app.token(Role::Manager);
    let client = reqwest::Client::new();
    if let ::projections::ReadDb::Sqlite { readers, writer } = &app.state.db {
        readers.close().await;
        writer.close().await;
    }
    let graphql = client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ settings { autoPromptSerialNumber } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(graphql.status().as_u16(), 503);
    let body: Value = graphql.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAVAILABLE",
        "{body:#}"
    );

    let rest = client
        .get(app.url("/api/v1/lines/pending-serial"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status().as_u16(), 503);
    let body: Value = rest.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAVAILABLE", "{body:#}");

    let file = client
        .get(app.url("/exports/products.csv"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(file.status().as_u16(), 503);
    app.stop().await;
}
