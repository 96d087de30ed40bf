//! The REST API for integrations, end to end over HTTP on both backends: the warehouse
//! flow (pending lines, assign, fulfil with serials, trace), every error as JSON with its
//! code and status, idempotency keys, tenant isolation, and the served OpenAPI document.

use application::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};
use store::EventStore;
use tests::app::TestApp;

on_both_servers!(
    the_warehouse_records_serials_and_fulfils_through_the_rest_api,
    a_fulfilment_with_serials_is_all_or_nothing,
    a_serial_live_on_another_line_is_refused_with_409_naming_the_holder,
    every_malformed_request_is_answered_400_with_json_naming_the_field,
    auth_errors_are_json_and_other_retailers_sales_do_not_exist,
    a_write_retried_with_its_idempotency_key_is_applied_once,
    an_idempotency_key_reused_for_another_request_is_refused,
    concurrent_duplicates_of_a_keyed_write_are_applied_once,
    a_product_serial_mode_is_set_through_the_retail_express_api,
    the_openapi_document_is_served_as_committed,
);

const OUTLET: &str = "0190a000-0000-7000-8000-0000000000aa";

/// One REST call: status and JSON body (`Value::Null` when the body is not JSON).
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    idempotency_key: Option<&str>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn gql(app: &TestApp, role: Role, query: &str, variables: Value) -> Value {
    let response = app.graphql(Some(&app.token(role)), query, variables).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    response["data"].clone()
}

async fn product(app: &TestApp, sku: &str, mode: &str) -> String {
    let data = gql(
        app,
        Role::Manager,
        "mutation($sku: String!, $mode: SerialMode) { createProduct(input: { sku: $sku, name: $sku, serialMode: $mode }) { product { id } } }",
        json!({ "sku": sku, "mode": mode }),
    )
    .await;
    data["createProduct"]["product"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A sale with `quantity` units of each product: returns the sale id.
async fn sale_with(app: &TestApp, invoice: &str, items: &[(&str, u32)]) -> String {
    let data = gql(
        app,
        Role::Pos,
        "mutation($invoice: String!, $outlet: ID!) { openSale(input: { invoiceNumber: $invoice, outletId: $outlet }) { sale { id } } }",
        json!({ "invoice": invoice, "outlet": OUTLET }),
    )
    .await;
    let sale = data["openSale"]["sale"]["id"].as_str().unwrap().to_owned();
    for (product, quantity) in items {
        gql(
            app,
            Role::Pos,
            "mutation($sale: ID!, $product: ID!, $quantity: Int!) { addItem(saleId: $sale, productId: $product, quantity: $quantity) { lines { lineNumber } } }",
            json!({ "sale": sale, "product": product, "quantity": quantity }),
        )
        .await;
    }
    sale
}

fn code(body: &Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or("(no JSON error code)")
}

async fn log_size(app: &TestApp) -> usize {
    app.state
        .store
        .read_all(store::Position::START, 100_000)
        .await
        .unwrap()
        .len()
}

async fn the_warehouse_records_serials_and_fulfils_through_the_rest_api(app: &TestApp) {
    let phone = product(app, "PHONE", "REQUIRED").await;
    let cable = product(app, "CABLE", "DISABLED").await;
    let sale = sale_with(app, "INV-100", &[(&phone, 2), (&cable, 1)]).await;
    let wms = app.token(Role::Warehouse);

    let (status, pending) = call(
        app,
        Method::GET,
        "/api/v1/lines/pending-serial",
        Some(&wms),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{pending:#}");
    let lines: Vec<(String, u64)> = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["invoiceNumber"].as_str().unwrap().to_owned(),
                line["lineNumber"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![("INV-100".to_owned(), 1), ("INV-100".to_owned(), 2)],
        "the two phones wait for serials, the cable does not"
    );
    assert_eq!(pending["nextCursor"], Value::Null);

    let path = format!("/api/v1/sales/{sale}/lines/1/serial");
    let (status, assigned) = call(
        app,
        Method::PUT,
        &path,
        Some(&wms),
        Some(json!({ "serialNumber": " sn-1 " })),
        None,
    )
    .await;
    assert_eq!(status, 200, "{assigned:#}");
    assert_eq!(assigned["lines"][0]["serialNumber"], "SN-1");
    assert_eq!(assigned["lines"][0]["indicator"], "BLUE");
    assert_eq!(assigned["deduplicated"], false);
    assert!(assigned["cursor"].as_str().unwrap().contains(':'));

    let (_, page) = call(
        app,
        Method::GET,
        "/api/v1/lines/pending-serial?first=1",
        Some(&wms),
        None,
        None,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["items"][0]["lineNumber"], 2,
        "read-your-writes: line 1 no longer pending"
    );

    let (status, fulfilled) = call(
        app,
        Method::POST,
        &format!("/api/v1/sales/{sale}/fulfilments"),
        Some(&wms),
        Some(json!({ "lines": [
            { "lineNumber": 1 },
            { "lineNumber": 2, "serialNumber": "SN-2" },
            { "lineNumber": 3.0 }
        ] })),
        None,
    )
    .await;
    assert_eq!(status, 200, "{fulfilled:#}");
    let statuses: Vec<(&str, Value)> = fulfilled["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            (
                line["status"].as_str().unwrap(),
                line["serialNumber"].clone(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("FULFILLED", json!("SN-1")),
            ("FULFILLED", json!("SN-2")),
            ("FULFILLED", Value::Null)
        ]
    );

    let (status, trace) = call(
        app,
        Method::GET,
        "/api/v1/serials/trace?serialNumber=sn-2",
        Some(&app.token(Role::Auditor)),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200, "{trace:#}");
    let unit = &trace["units"][0];
    assert_eq!(unit["status"], "FULFILLED");
    assert_eq!(unit["invoiceNumber"], "INV-100");
    let history: Vec<(&str, &str)> = unit["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap(),
                entry["channel"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![("ASSIGNED", "WMS"), ("FULFILLED", "WMS")],
        "warehouse tokens write through the WMS channel"
    );

    let (status, missing) = call(
        app,
        Method::GET,
        "/api/v1/serials/trace?serialNumber=NEVER-SOLD",
        Some(&wms),
        None,
        None,
    )
    .await;
    assert_eq!((status, code(&missing)), (404, "NOT_FOUND"));

    let (status, removed) = call(
        app,
        Method::DELETE,
        &format!("/api/v1/sales/{sale}/lines/1/serial?reason=wrong"),
        Some(&wms),
        None,
        None,
    )
    .await;
    assert_eq!(
        (status, code(&removed)),
        (422, "LINE_FULFILLED"),
        "{removed:#}"
    );
}

async fn a_fulfilment_with_serials_is_all_or_nothing(app: &TestApp) {
    let phone = product(app, "PHONE", "REQUIRED").await;
    let sale = sale_with(app, "INV-200", &[(&phone, 2)]).await;
    let before = log_size(app).await;
    let (status, refused) = call(
        app,
        Method::POST,
        &format!("/api/v1/sales/{sale}/fulfilments"),
        Some(&app.token(Role::Integrator)),
        Some(
            json!({ "lines": [{ "lineNumber": 1, "serialNumber": "SN-1" }, { "lineNumber": 2 }] }),
        ),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&refused)),
        (422, "SERIAL_REQUIRED"),
        "{refused:#}"
    );
    assert_eq!(refused["error"]["details"]["lineNumbers"], json!([2]));
    assert_eq!(
        log_size(app).await,
        before,
        "line 1's serial was not recorded either"
    );

    let (status, _) = call(
        app,
        Method::POST,
        &format!("/api/v1/sales/{sale}/fulfilments"),
        Some(&app.token(Role::Integrator)),
        Some(json!({ "lines": [{ "lineNumber": 1, "serialNumber": "SN-1" }, { "lineNumber": 2, "serialNumber": "SN-2" }] })),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

async fn a_serial_live_on_another_line_is_refused_with_409_naming_the_holder(app: &TestApp) {
    let phone = product(app, "PHONE", "REQUIRED").await;
    let first = sale_with(app, "INV-1", &[(&phone, 1)]).await;
    let second = sale_with(app, "INV-2", &[(&phone, 1)]).await;
    let token = app.token(Role::Integrator);
    let (status, _) = call(
        app,
        Method::PUT,
        &format!("/api/v1/sales/{first}/lines/1/serial"),
        Some(&token),
        Some(json!({ "serialNumber": "SN-1" })),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, taken) = call(
        app,
        Method::PUT,
        &format!("/api/v1/sales/{second}/lines/1/serial"),
        Some(&token),
        Some(json!({ "serialNumber": "sn-1" })),
        None,
    )
    .await;
    assert_eq!(
        (status, code(&taken)),
        (409, "SERIAL_ALREADY_ASSIGNED"),
        "{taken:#}"
    );
    assert_eq!(taken["error"]["details"]["invoiceNumber"], "INV-1");
    assert_eq!(taken["error"]["details"]["lineNumber"], 1);
}

/// Method, path, body, then the status, code and word the message must answer with.
type BadRequest = (
    Method,
    String,
    Option<Value>,
    u16,
    &'static str,
    &'static str,
);

async fn every_malformed_request_is_answered_400_with_json_naming_the_field(app: &TestApp) {
    let phone = product(app, "PHONE", "REQUIRED").await;
    let sale = sale_with(app, "INV-1", &[(&phone, 1)]).await;
    let token = app.token(Role::Manager);
    let before = log_size(app).await;
    let serial = |sale: &str, line: &str| format!("/api/v1/sales/{sale}/lines/{line}/serial");
    let cases: Vec<BadRequest> = vec![
        (
            Method::PUT,
            serial("not-a-uuid", "1"),
            Some(json!({ "serialNumber": "A" })),
            400,
            "VALIDATION",
            "saleId",
        ),
        (
            Method::PUT,
            serial(&sale, "0"),
            Some(json!({ "serialNumber": "A" })),
            400,
            "VALIDATION",
            "lineNumber",
        ),
        (
            Method::PUT,
            serial(&sale, "-1"),
            Some(json!({ "serialNumber": "A" })),
            400,
            "VALIDATION",
            "lineNumber",
        ),
        (
            Method::PUT,
            serial(&sale, "1"),
            Some(json!({})),
            400,
            "VALIDATION",
            "serialNumber",
        ),
        (
            Method::PUT,
            serial(&sale, "1"),
            Some(json!({ "serialNumber": 7 })),
            400,
            "VALIDATION",
            "body.serialNumber",
        ),
        (
            Method::PUT,
            serial(&sale, "1"),
            Some(json!({ "serialNumber": "A", "extra": 1 })),
            400,
            "VALIDATION",
            "extra",
        ),
        (
            Method::PUT,
            serial(&sale, "1"),
            Some(json!({ "serialNumber": "" })),
            400,
            "INVALID_SERIAL",
            "serial",
        ),
        (
            Method::PUT,
            serial(&sale, "1"),
            Some(json!({ "serialNumber": "A\u{0007}B" })),
            400,
            "INVALID_SERIAL",
            "serial",
        ),
        (
            Method::PUT,
            serial(&sale, "9"),
            Some(json!({ "serialNumber": "A" })),
            404,
            "NOT_FOUND",
            "9",
        ),
        (
            Method::POST,
            format!("/api/v1/sales/{sale}/fulfilments"),
            Some(json!({ "lines": [] })),
            400,
            "VALIDATION",
            "lines",
        ),
        (
            Method::POST,
            format!("/api/v1/sales/{sale}/fulfilments"),
            Some(json!({ "lines": [{ "lineNumber": 0 }] })),
            400,
            "VALIDATION",
            "lines[0].lineNumber",
        ),
        (
            Method::POST,
            format!("/api/v1/sales/{sale}/fulfilments"),
            Some(json!({ "lines": [{ "lineNumber": 1 }, { "lineNumber": 1 }] })),
            400,
            "VALIDATION",
            "1",
        ),
        (
            Method::GET,
            "/api/v1/lines/pending-serial?first=0".to_owned(),
            None,
            400,
            "VALIDATION",
            "first",
        ),
        (
            Method::GET,
            "/api/v1/lines/pending-serial?first=abc".to_owned(),
            None,
            400,
            "VALIDATION",
            "first",
        ),
        (
            Method::GET,
            "/api/v1/lines/pending-serial?after=garbage".to_owned(),
            None,
            400,
            "VALIDATION",
            "cursor",
        ),
        (
            Method::GET,
            "/api/v1/lines/pending-serial?outletId=x".to_owned(),
            None,
            400,
            "VALIDATION",
            "outletId",
        ),
        (
            Method::GET,
            "/api/v1/serials/trace?serialNumber=%20".to_owned(),
            None,
            400,
            "INVALID_SERIAL",
            "serial",
        ),
        (
            Method::GET,
            "/api/v1/serials/trace?serialNumber=A&productId=x".to_owned(),
            None,
            400,
            "VALIDATION",
            "productId",
        ),
    ];
    for (method, path, body, status, expected_code, named) in cases {
        let (actual, answer) =
            call(app, method.clone(), &path, Some(&token), body.clone(), None).await;
        assert_eq!(
            (actual, code(&answer)),
            (status, expected_code),
            "{method} {path} {body:?}: {answer:#}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(named),
            "{method} {path}: {message:?} should name {named:?}"
        );
    }
    // A body that is not JSON at all, and one without the JSON content type.
    let response = reqwest::Client::new()
        .put(app.url(&serial(&sale, "1")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(code(&answer), "VALIDATION");
    let response = reqwest::Client::new()
        .put(app.url(&serial(&sale, "1")))
        .bearer_auth(&token)
        .body("serialNumber=A")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    let huge = json!({ "serialNumber": "x".repeat(api::rest::MAX_BODY_BYTES + 1) });
    let (status, answer) = call(
        app,
        Method::PUT,
        &serial(&sale, "1"),
        Some(&token),
        Some(huge),
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (413, "PAYLOAD_TOO_LARGE"));
    assert_eq!(
        log_size(app).await,
        before,
        "no malformed request recorded anything"
    );
}

async fn auth_errors_are_json_and_other_retailers_sales_do_not_exist(app: &TestApp) {
    let phone = product(app, "PHONE", "REQUIRED").await;
    let sale = sale_with(app, "INV-1", &[(&phone, 1)]).await;
    let path = format!("/api/v1/sales/{sale}/lines/1/serial");
    let body = Some(json!({ "serialNumber": "SN-1" }));

    let response = reqwest::Client::new()
        .put(app.url(&path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(code(&answer), "UNAUTHENTICATED");
    let (status, answer) = call(
        app,
        Method::PUT,
        &path,
        Some("sl_bogus"),
        body.clone(),
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (401, "UNAUTHENTICATED"));

    let (status, answer) = call(
        app,
        Method::PUT,
        &path,
        Some(&app.token(Role::Auditor)),
        body.clone(),
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (403, "FORBIDDEN"));
    let (status, answer) = call(
        app,
        Method::PUT,
        &format!("/api/v1/products/{phone}/serial-mode"),
        Some(&app.token(Role::Warehouse)),
        Some(json!({ "serialMode": "OPTIONAL" })),
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (403, "FORBIDDEN"));

    let foreign = app.foreign_token(Role::Manager).await;
    let (status, answer) = call(app, Method::PUT, &path, Some(&foreign), body, None).await;
    assert_eq!((status, code(&answer)), (404, "NOT_FOUND"), "{answer:#}");
    let (_, pending) = call(
        app,
        Method::GET,
        "/api/v1/lines/pending-serial",
        Some(&foreign),
        None,
        None,
    )
    .await;
    assert_eq!(
        pending["items"],
        json!([]),
        "another retailer sees none of this retailer's lines"
    );
    let (status, _) = call(
        app,
        Method::GET,
        "/api/v1/serials/trace?serialNumber=SN-1",
        Some(&foreign),
        None,
        None,
    )
    .await;
    assert_eq!(status, 404);
}

async fn a_write_retried_with_its_idempotency_key_is_applied_once(app: &TestApp) {
    let phone = product(app, "PHONE", "REQUIRED").await;
    let sale = sale_with(app, "INV-1", &[(&phone, 1)]).await;
    let token = app.token(Role::Integrator);
    let path = format!("/api/v1/sales/{sale}/fulfilments");
    let body = json!({ "lines": [{ "lineNumber": 1, "serialNumber": "SN-1" }] });
    let (status, first) = call(
        app,
        Method::POST,
        &path,
        Some(&token),
        Some(body.clone()),
        Some("wms-pick-42"),
    )
    .await;
    assert_eq!(status, 200, "{first:#}");
    assert_eq!(first["deduplicated"], false);
    let after_first = log_size(app).await;
    let (status, again) = call(
        app,
        Method::POST,
        &path,
        Some(&token),
        Some(body.clone()),
        Some("wms-pick-42"),
    )
    .await;
    assert_eq!(
        status, 200,
        "a retry is answered as a success, not LINE_FULFILLED: {again:#}"
    );
    assert_eq!(again["deduplicated"], true);
    assert_eq!(again["cursor"], first["cursor"]);
    assert_eq!(again["lines"], first["lines"]);
    assert_eq!(log_size(app).await, after_first, "nothing recorded twice");

    // Without a key the same request is a new command, refused by the ledger's rules.
    let (status, answer) = call(app, Method::POST, &path, Some(&token), Some(body), None).await;
    assert_eq!(
        (status, code(&answer)),
        (422, "LINE_FULFILLED"),
        "{answer:#}"
    );
}

async fn concurrent_duplicates_of_a_keyed_write_are_applied_once(app: &TestApp) {
    let phone = product(app, "PHONE", "REQUIRED").await;
    let sale = sale_with(app, "INV-1", &[(&phone, 1)]).await;
    let token = app.token(Role::Integrator);
    let path = format!("/api/v1/sales/{sale}/fulfilments");
    let body = json!({ "lines": [{ "lineNumber": 1, "serialNumber": "SN-1" }] });
    let before = log_size(app).await;
    // A client that timed out and retried eight times at once.
    let answers = futures::future::join_all((0..8).map(|_| {
        call(
            app,
            Method::POST,
            &path,
            Some(&token),
            Some(body.clone()),
            Some("retry-storm"),
        )
    }))
    .await;
    let mut applied = 0;
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "every duplicate answers success: {answer:#}");
        if answer["deduplicated"] == false {
            applied += 1;
        }
        assert_eq!(
            answer["cursor"], answers[0].1["cursor"],
            "all name the same events"
        );
    }
    assert_eq!(applied, 1, "exactly one request applied the command");
    assert_eq!(
        log_size(app).await,
        before + 2,
        "one SerialAssigned and one LineFulfilled"
    );
}

async fn an_idempotency_key_reused_for_another_request_is_refused(app: &TestApp) {
    let phone = product(app, "PHONE", "REQUIRED").await;
    let sale = sale_with(app, "INV-1", &[(&phone, 2)]).await;
    let token = app.token(Role::Integrator);
    let path = |line: u32| format!("/api/v1/sales/{sale}/lines/{line}/serial");
    let (status, _) = call(
        app,
        Method::PUT,
        &path(1),
        Some(&token),
        Some(json!({ "serialNumber": "SN-1" })),
        Some("key-1"),
    )
    .await;
    assert_eq!(status, 200);
    let before = log_size(app).await;
    let (status, answer) = call(
        app,
        Method::PUT,
        &path(2),
        Some(&token),
        Some(json!({ "serialNumber": "SN-2" })),
        Some("key-1"),
    )
    .await;
    assert_eq!(
        (status, code(&answer)),
        (409, "IDEMPOTENCY_KEY_REUSED"),
        "{answer:#}"
    );
    assert_eq!(log_size(app).await, before);
    for bad in ["", "a key with spaces", &"k".repeat(256)] {
        let (status, answer) = call(
            app,
            Method::PUT,
            &path(2),
            Some(&token),
            Some(json!({ "serialNumber": "SN-2" })),
            Some(bad),
        )
        .await;
        assert_eq!(
            (status, code(&answer)),
            (400, "VALIDATION"),
            "{bad:?}: {answer:#}"
        );
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key")
        );
    }
    // Keys are per retailer: another retailer's identical key is its own.
    let foreign = app.foreign_token(Role::Integrator).await;
    let (status, answer) = call(
        app,
        Method::PUT,
        &path(2),
        Some(&foreign),
        Some(json!({ "serialNumber": "SN-2" })),
        Some("key-1"),
    )
    .await;
    assert_eq!((status, code(&answer)), (404, "NOT_FOUND"), "{answer:#}");
}

async fn a_product_serial_mode_is_set_through_the_retail_express_api(app: &TestApp) {
    let laptop = product(app, "LAPTOP", "DISABLED").await;
    let path = format!("/api/v1/products/{laptop}/serial-mode");
    let token = app.token(Role::Manager);
    let (status, changed) = call(
        app,
        Method::PUT,
        &path,
        Some(&token),
        Some(json!({ "serialMode": "OPTIONAL" })),
        None,
    )
    .await;
    assert_eq!(status, 200, "{changed:#}");
    assert_eq!(changed["serialMode"], "OPTIONAL");
    assert_eq!(changed["sku"], "LAPTOP");
    let (status, unchanged) = call(
        app,
        Method::PUT,
        &path,
        Some(&token),
        Some(json!({ "serialMode": "OPTIONAL" })),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        unchanged["cursor"],
        Value::Null,
        "setting the same mode records nothing"
    );
    let (status, answer) = call(
        app,
        Method::PUT,
        &path,
        Some(&token),
        Some(json!({ "serialMode": "SOMETIMES" })),
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (400, "VALIDATION"));
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("serialMode")
    );
    let unknown = "0190a000-0000-7000-8000-00000000ffff";
    let (status, answer) = call(
        app,
        Method::PUT,
        &format!("/api/v1/products/{unknown}/serial-mode"),
        Some(&token),
        Some(json!({ "serialMode": "OPTIONAL" })),
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (404, "NOT_FOUND"), "{answer:#}");
    let data = gql(
        app,
        Role::Auditor,
        "query($id: ID!) { product(id: $id) { serialMode } }",
        json!({ "id": laptop }),
    )
    .await;
    assert_eq!(data["product"]["serialMode"], "OPTIONAL");
}

async fn the_openapi_document_is_served_as_committed(app: &TestApp) {
    let (status, served) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../api/openapi.json"))
            .unwrap();
    assert_eq!(served, committed);
}
