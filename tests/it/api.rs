//! End to end: the real server on a random port, spoken to over HTTP and WebSocket as
//! clients do. Every case runs on both backends.

use application::auth::Role;
use serde_json::{Value, json};
use tests::Backend;
use tests::app::{TestApp, error_code};

on_both_servers!(
    the_health_check_reports_each_projection_with_its_position_and_lag,
    graphiql_is_served_to_browsers,
    an_oversized_request_body_is_refused,
    a_serialised_sale_goes_from_counter_to_fulfilment_over_http,
    a_subscription_resumes_from_its_cursor_after_a_disconnect_without_missing_or_repeating,
);

async fn the_health_check_reports_each_projection_with_its_position_and_lag(app: &TestApp) {
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    let names: Vec<&str> = health["projections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["products", "sales", "serials", "proofs"]);
    for projection in health["projections"].as_array().unwrap() {
        assert_eq!(projection["lag"], json!(0));
        assert!(projection["position"].as_str().unwrap().contains(':'));
    }
}

async fn graphiql_is_served_to_browsers(app: &TestApp) {
    let (status, body) = app.get("/graphql").await;
    assert_eq!(status, 200);
    assert!(body.contains("graphiql"), "{body}");
}

async fn an_oversized_request_body_is_refused(app: &TestApp) {
    let huge = "x".repeat(api::server::MAX_BODY_BYTES + 1);
    let response = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": huge }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[tokio::test]
async fn the_server_stops_gracefully() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), app.stop()).await;
    assert!(stopped.is_ok(), "graceful shutdown finished");
}

const OUTLET: &str = "0190a000-0000-7000-8000-0000000000aa";

async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let response = app.graphql(Some(token), query, variables).await;
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response:#}"
    );
    response["data"].clone()
}

async fn create_product(app: &TestApp, sku: &str, mode: &str) -> String {
    let data = ok(
        app,
        &app.token(Role::Manager),
        "mutation($sku: String!, $mode: SerialMode) { createProduct(input: { sku: $sku, name: $sku, serialMode: $mode }) { product { id } } }",
        json!({ "sku": sku, "mode": mode }),
    )
    .await;
    data["createProduct"]["product"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open_sale(app: &TestApp, invoice: &str) -> String {
    let data = ok(
        app,
        &app.token(Role::Pos),
        "mutation($invoice: String!, $outlet: ID!) { openSale(input: { invoiceNumber: $invoice, outletId: $outlet }) { sale { id } } }",
        json!({ "invoice": invoice, "outlet": OUTLET }),
    )
    .await;
    data["openSale"]["sale"]["id"].as_str().unwrap().to_owned()
}

const ASSIGN: &str = "mutation($sale: ID!, $line: Int!, $serial: String!) { assignSerial(saleId: $sale, lineId: $line, serialNumber: $serial) { lines { lineNumber serialNumber serialIndicator } } }";

async fn a_serialised_sale_goes_from_counter_to_fulfilment_over_http(app: &TestApp) {
    let phone = create_product(app, "IPH-15", "REQUIRED").await;
    let sale = open_sale(app, "INV-1").await;
    let pos = app.token(Role::Pos);

    let added = ok(
        app,
        &pos,
        "mutation($sale: ID!, $product: ID!) { addItem(saleId: $sale, productId: $product, quantity: 2, unitPriceMinor: 129900, currency: \"AUD\") { lines { lineNumber quantity serialIndicator } } }",
        json!({ "sale": sale, "product": phone }),
    )
    .await;
    assert_eq!(
        added["addItem"]["lines"],
        json!([
            { "lineNumber": 1, "quantity": 1, "serialIndicator": "RED" },
            { "lineNumber": 2, "quantity": 1, "serialIndicator": "RED" }
        ]),
        "two phones are two lines of one, each waiting for its serial"
    );

    let fulfil = "mutation($sale: ID!) { fulfilLines(saleId: $sale) { sale { canFulfilNow } } }";
    let refused = app
        .graphql(Some(&pos), fulfil, json!({ "sale": sale }))
        .await;
    assert_eq!(error_code(&refused), Some("SERIAL_REQUIRED"), "{refused:#}");

    let warehouse = app.token(Role::Warehouse);
    ok(
        app,
        &warehouse,
        ASSIGN,
        json!({ "sale": sale, "line": 1, "serial": " sn-001 " }),
    )
    .await;
    ok(
        app,
        &warehouse,
        ASSIGN,
        json!({ "sale": sale, "line": 2, "serial": "SN-002" }),
    )
    .await;

    let other_sale = open_sale(app, "INV-2").await;
    ok(
        app,
        &pos,
        "mutation($sale: ID!, $product: ID!) { addItem(saleId: $sale, productId: $product, quantity: 1, unitPriceMinor: 129900, currency: \"AUD\") { lines { lineNumber } } }",
        json!({ "sale": other_sale, "product": phone }),
    )
    .await;
    let taken = app
        .graphql(
            Some(&pos),
            ASSIGN,
            json!({ "sale": other_sale, "line": 1, "serial": "SN-001" }),
        )
        .await;
    assert_eq!(
        error_code(&taken),
        Some("SERIAL_ALREADY_ASSIGNED"),
        "{taken:#}"
    );
    let message = taken["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("INV-1") && message.contains("line 1"),
        "{message}"
    );

    ok(app, &warehouse, fulfil, json!({ "sale": sale })).await;
    // Read-your-writes: the next query sees the mutation's effect.
    let read = ok(
        app,
        &app.token(Role::Auditor),
        "query($sale: ID!) { sale(id: $sale) { lines { serialNumber status } } serialTrace(serialNumber: \"sn-001\") { status invoiceNumber history { eventType } } }",
        json!({ "sale": sale }),
    )
    .await;
    assert_eq!(
        read["sale"]["lines"][0],
        json!({ "serialNumber": "SN-001", "status": "FULFILLED" })
    );
    assert_eq!(read["serialTrace"][0]["status"], "FULFILLED");
    assert_eq!(read["serialTrace"][0]["invoiceNumber"], "INV-1");

    let anonymous = app
        .graphql(
            None,
            "query($sale: ID!) { sale(id: $sale) { id } }",
            json!({ "sale": sale }),
        )
        .await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
    let foreign = app.foreign_token(Role::Manager).await;
    let elsewhere = ok(
        app,
        &foreign,
        "query($sale: ID!) { sale(id: $sale) { id } }",
        json!({ "sale": sale }),
    )
    .await;
    assert_eq!(
        elsewhere["sale"],
        Value::Null,
        "another retailer sees nothing"
    );
    // Every event the scenario wrote is valid against its published schema.
    tests::schema_check::assert_log_matches_schemas(&app.state.store).await;
}

const LEDGER_EVENTS: &str =
    "subscription($after: String) { ledgerEvents(after: $after) { cursor eventId eventType } }";

async fn a_subscription_resumes_from_its_cursor_after_a_disconnect_without_missing_or_repeating(
    app: &TestApp,
) {
    let auditor = app.token(Role::Auditor);
    for sku in ["A-1", "A-2", "A-3"] {
        create_product(app, sku, "OPTIONAL").await;
    }
    let mut first = app
        .subscribe(&auditor, LEDGER_EVENTS, json!({ "after": null }))
        .await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(first.next_data().await["ledgerEvents"].clone());
    }
    let cursor = seen[2]["cursor"].as_str().unwrap().to_owned();
    first.disconnect().await;

    // Written while the client is away.
    for sku in ["B-1", "B-2"] {
        create_product(app, sku, "REQUIRED").await;
    }
    let mut resumed = app
        .subscribe(&auditor, LEDGER_EVENTS, json!({ "after": cursor }))
        .await;
    for _ in 0..2 {
        seen.push(resumed.next_data().await["ledgerEvents"].clone());
    }
    // And live, after catching up.
    create_product(app, "C-1", "DISABLED").await;
    seen.push(resumed.next_data().await["ledgerEvents"].clone());
    resumed.disconnect().await;

    let ids: Vec<&str> = seen
        .iter()
        .map(|e| e["eventId"].as_str().unwrap())
        .collect();
    let unique: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), 6, "no event repeated: {seen:#?}");
    assert!(seen.iter().all(|e| e["eventType"] == "ProductCreated"));
    let log = ok(
        app,
        &auditor,
        "{ events(first: 100) { edges { node { eventId } } } }",
        json!({}),
    )
    .await;
    let logged: Vec<&str> = log["events"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, logged, "exactly the log's events, in its order");
}
