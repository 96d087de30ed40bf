//! The GraphQL API: the spec's rules, read-your-writes, the role matrix and tenant
//! confinement, sent over HTTP to the real server (on port 0, with a fresh database), on
//! each backend (`graphql::sqlite::...`, `graphql::postgres::...`). The subscription case
//! drives the schema's stream directly; `api.rs` covers subscriptions over WebSocket.

use api::graphql::{ApiSchema, RequestMeta, build_schema};
use api::state::AppState;
use application::auth::{Principal, Role};
use async_graphql::Request;
use futures::StreamExt;
use serde_json::{Value, json};
use tests::{Backend, TestDatabase};
use uuid::Uuid;

on_each_backend!(
    products_are_created_in_each_mode_and_searched,
    a_sale_goes_from_adding_units_through_serials_and_fulfilment_to_refund_and_reissue,
    a_retried_command_id_is_applied_once,
    bad_input_is_refused_naming_the_field,
    each_role_may_do_what_its_permissions_allow_and_nothing_else,
    another_retailer_sees_nothing_and_changes_nothing,
    ledger_events_catch_up_then_follow_only_the_callers_retailer,
    a_returned_unit_is_reissued_on_a_new_invoice_opened_in_the_same_call,
);

struct App {
    schema: ApiSchema,
    state: AppState,
    /// The real server, spoken to over HTTP.
    server: tests::app::TestServer,
    /// Each principal's bearer token, by token id.
    tokens: std::sync::Mutex<std::collections::HashMap<Uuid, String>>,
    _database: TestDatabase,
}

impl App {
    async fn start(backend: Backend) -> Self {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let state = AppState::open(&database.url).await.unwrap();
        // The server runs the projections, as in production.
        let server = tests::app::TestServer::serve(state.clone()).await;
        Self {
            schema: build_schema(state.clone()),
            state,
            server,
            tokens: Default::default(),
            _database: database,
        }
    }

    /// A retailer (created on first use) and a token of `role` for it.
    async fn principal(&self, tenant: &str, role: Role) -> Principal {
        if self.state.auth.tenant_by_slug(tenant).await.is_err() {
            self.state.auth.create_tenant(tenant, tenant).await.unwrap();
        }
        let token = self
            .state
            .auth
            .create_token(tenant, role, &format!("{role} till"))
            .await
            .unwrap();
        let principal = self.state.auth.authenticate(&token.token).await.unwrap();
        self.tokens
            .lock()
            .unwrap()
            .insert(principal.token_id, token.token);
        principal
    }

    async fn run(&self, principal: Option<&Principal>, query: &str, variables: Value) -> Value {
        let token =
            principal.map(|principal| self.tokens.lock().unwrap()[&principal.token_id].clone());
        self.server
            .graphql(token.as_deref(), query, variables)
            .await
    }

    /// Runs and expects success; returns `data`.
    async fn ok(&self, principal: &Principal, query: &str, variables: Value) -> Value {
        let response = self.run(Some(principal), query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    /// Runs and expects one error; returns it.
    async fn err(&self, principal: Option<&Principal>, query: &str, variables: Value) -> Value {
        let response = self.run(principal, query, variables).await;
        let errors = response["errors"].as_array().cloned().unwrap_or_default();
        assert!(!errors.is_empty(), "expected an error: {response:#}");
        errors[0].clone()
    }
}

fn code(error: &Value) -> &str {
    error["extensions"]["code"].as_str().unwrap_or("<none>")
}

const CREATE_PRODUCT: &str = r#"
mutation($sku: String!, $mode: SerialMode) {
  createProduct(input: { sku: $sku, name: $sku, serialMode: $mode }) {
    product { id sku serialMode serialModeSource }
  }
}"#;

const OPEN_SALE: &str = r#"
mutation($invoice: String!, $outlet: ID!, $type: SaleType) {
  openSale(input: { invoiceNumber: $invoice, outletId: $outlet, saleType: $type,
                    customer: { id: "0190a000-0000-7000-8000-00000000c001", name: "Ada" } }) {
    sale { id invoiceNumber lines { lineNumber } }
  }
}"#;

const ADD_ITEM: &str = r#"
mutation($sale: ID!, $product: ID!, $quantity: Int!) {
  addItem(saleId: $sale, productId: $product, quantity: $quantity, unitPriceMinor: 129900, currency: "AUD") {
    promptForSerial
    promptSerialForLines
    lines { lineNumber quantity serialMode serialIndicator }
    sale { canFulfilNow linesPendingSerial }
  }
}"#;

const ASSIGN: &str = r#"
mutation($sale: ID!, $line: Int!, $serial: String!) {
  assignSerial(saleId: $sale, lineId: $line, serialNumber: $serial) {
    lines { lineNumber serialNumber serialIndicator }
    cursor
  }
}"#;

const FULFIL: &str = r#"
mutation($sale: ID!, $lines: [Int!]) {
  fulfilLines(saleId: $sale, lineIds: $lines) {
    sale { canFulfilNow lines { lineNumber status } }
  }
}"#;

const SALE: &str = r#"
query($id: ID!) {
  sale(id: $id) {
    invoiceNumber canFulfilNow linesPendingSerial
    lines { lineNumber quantity serialMode serialNumber serialIndicator status refund { amountMinor } reissueOf { invoiceNumber lineNumber } }
  }
}"#;

const OUTLET: &str = "0190a000-0000-7000-8000-0000000000aa";

async fn product(app: &App, manager: &Principal, sku: &str, mode: &str) -> String {
    let data = app
        .ok(manager, CREATE_PRODUCT, json!({ "sku": sku, "mode": mode }))
        .await;
    data["createProduct"]["product"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open_sale(app: &App, pos: &Principal, invoice: &str) -> String {
    let data = app
        .ok(
            pos,
            OPEN_SALE,
            json!({ "invoice": invoice, "outlet": OUTLET }),
        )
        .await;
    data["openSale"]["sale"]["id"].as_str().unwrap().to_owned()
}

async fn products_are_created_in_each_mode_and_searched(backend: Backend) {
    let app = App::start(backend).await;
    let manager = app.principal("shop", Role::Manager).await;
    let pos = app.principal("shop", Role::Pos).await;
    let data = app
        .ok(
            &manager,
            CREATE_PRODUCT,
            json!({ "sku": "IPH-15", "mode": "REQUIRED" }),
        )
        .await;
    assert_eq!(data["createProduct"]["product"]["serialMode"], "REQUIRED");
    assert_eq!(
        data["createProduct"]["product"]["serialModeSource"],
        "MANUAL"
    );
    product(&app, &manager, "CASE-1", "OPTIONAL").await;
    // Without a mode a product is DISABLED; a pos token's creation is a POS quick create.
    let data = app
        .ok(
            &pos,
            CREATE_PRODUCT,
            json!({ "sku": "CABLE", "mode": null }),
        )
        .await;
    assert_eq!(data["createProduct"]["product"]["serialMode"], "DISABLED");
    assert_eq!(
        data["createProduct"]["product"]["serialModeSource"],
        "POS_QUICK_CREATE"
    );

    let data = app
        .ok(
            &pos,
            "{ products(first: 2) { edges { cursor node { sku } } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    let skus: Vec<_> = data["products"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["sku"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(skus, ["CABLE", "CASE-1"]);
    assert_eq!(data["products"]["pageInfo"]["hasNextPage"], true);
    let after = data["products"]["pageInfo"]["endCursor"].clone();
    let data = app
        .ok(
            &pos,
            "query($after: String) { products(first: 2, after: $after) { edges { node { sku } } pageInfo { hasNextPage } } }",
            json!({ "after": after }),
        )
        .await;
    assert_eq!(data["products"]["edges"][0]["node"]["sku"], "IPH-15");
    assert_eq!(data["products"]["pageInfo"]["hasNextPage"], false);

    let data = app
        .ok(
            &pos,
            r#"{ products(search: "iph", serialMode: REQUIRED) { edges { node { sku } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["products"]["edges"].as_array().unwrap().len(), 1);
    let data = app
        .ok(
            &pos,
            r#"{ product(sku: "CASE-1") { serialMode } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["product"]["serialMode"], "OPTIONAL");

    // Bulk edit: every product to OPTIONAL, recorded as BULK_EDIT.
    let all = app
        .ok(
            &manager,
            "{ products { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let ids: Vec<Value> = all["products"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].clone())
        .collect();
    let data = app
        .ok(
            &manager,
            "mutation($ids: [ID!]!) { applyProductEditSetting(productIds: $ids, serialMode: OPTIONAL) { updated { sku serialMode serialModeSource } failed { code } } }",
            json!({ "ids": ids }),
        )
        .await;
    let updated = data["applyProductEditSetting"]["updated"]
        .as_array()
        .unwrap();
    assert_eq!(updated.len(), 3);
    // CASE-1 was OPTIONAL already: nothing to record, so its source stays MANUAL.
    for product in updated {
        assert_eq!(product["serialMode"], "OPTIONAL");
        let expected = if product["sku"] == "CASE-1" {
            "MANUAL"
        } else {
            "BULK_EDIT"
        };
        assert_eq!(product["serialModeSource"], expected, "{product}");
    }
    assert_eq!(data["applyProductEditSetting"]["failed"], json!([]));
    // An unknown product is listed as failed; the others still change.
    let data = app
        .ok(
            &manager,
            "mutation($ids: [ID!]!) { applyProductEditSetting(productIds: $ids, serialMode: REQUIRED) { updated { sku } failed { productId code } } }",
            json!({ "ids": [ids[0], "0190a000-0000-7000-8000-00000000dead"] }),
        )
        .await;
    assert_eq!(
        data["applyProductEditSetting"]["updated"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        data["applyProductEditSetting"]["failed"][0]["code"],
        "NOT_FOUND"
    );
}

async fn a_sale_goes_from_adding_units_through_serials_and_fulfilment_to_refund_and_reissue(
    backend: Backend,
) {
    let app = App::start(backend).await;
    let manager = app.principal("shop", Role::Manager).await;
    let pos = app.principal("shop", Role::Pos).await;
    let warehouse = app.principal("shop", Role::Warehouse).await;
    let auditor = app.principal("shop", Role::Auditor).await;
    let phone = product(&app, &manager, "IPH-15", "REQUIRED").await;
    let case = product(&app, &manager, "CASE-1", "OPTIONAL").await;
    let cable = product(&app, &manager, "CABLE", "DISABLED").await;
    app.ok(
        &manager,
        "mutation { updateSettings(autoPromptSerialNumber: true) { settings { autoPromptSerialNumber } } }",
        json!({}),
    )
    .await;
    let sale = open_sale(&app, &pos, "INV-1042").await;

    // Three phones: three lines of one unit each, RED, with the auto-prompt.
    let data = app
        .ok(
            &pos,
            ADD_ITEM,
            json!({ "sale": sale, "product": phone, "quantity": 3 }),
        )
        .await;
    let added = &data["addItem"];
    assert_eq!(added["promptForSerial"], true);
    assert_eq!(added["promptSerialForLines"], json!([1, 2, 3]));
    assert_eq!(added["lines"].as_array().unwrap().len(), 3);
    assert!(
        added["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|line| line["quantity"] == 1 && line["serialIndicator"] == "RED")
    );
    assert_eq!(added["sale"]["canFulfilNow"], false);
    // An OPTIONAL product: ORANGE, no prompt. A DISABLED one: one line of two, no barcode.
    let data = app
        .ok(
            &pos,
            ADD_ITEM,
            json!({ "sale": sale, "product": case, "quantity": 1 }),
        )
        .await;
    assert_eq!(data["addItem"]["promptForSerial"], false);
    assert_eq!(data["addItem"]["lines"][0]["serialIndicator"], "ORANGE");
    let data = app
        .ok(
            &pos,
            ADD_ITEM,
            json!({ "sale": sale, "product": cable, "quantity": 2 }),
        )
        .await;
    assert_eq!(data["addItem"]["lines"][0]["quantity"], 2);
    assert_eq!(data["addItem"]["lines"][0]["serialIndicator"], "NONE");
    // A tracked line's quantity cannot be raised.
    let error = app
        .err(
            Some(&pos),
            "mutation($sale: ID!) { setLineQuantity(saleId: $sale, lineId: 1, quantity: 2) { cursor } }",
            json!({ "sale": sale }),
        )
        .await;
    assert_eq!(code(&error), "QUANTITY_SPLIT_REQUIRED");
    // A serial on a DISABLED line is refused.
    let error = app
        .err(
            Some(&pos),
            ASSIGN,
            json!({ "sale": sale, "line": 5, "serial": "X1" }),
        )
        .await;
    assert_eq!(code(&error), "SERIAL_MODE_DISABLED");

    // Fulfilment is refused while REQUIRED lines lack a serial, listing them.
    let error = app.err(Some(&pos), FULFIL, json!({ "sale": sale })).await;
    assert_eq!(code(&error), "SERIAL_REQUIRED");
    assert_eq!(error["extensions"]["lineNumbers"], json!([1, 2, 3]));
    assert!(error["message"].as_str().unwrap().contains("lines 1, 2, 3"));

    // The fulfilment report shows the lines pending a serial.
    let pending = app
        .ok(
            &warehouse,
            "{ fulfilmentReport(filter: { pendingSerialOnly: true }) { edges { node { sale { invoiceNumber } line { lineNumber } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        pending["fulfilmentReport"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Serials: at POS, in the warehouse; typed text is normalised; read-your-writes.
    let data = app
        .ok(
            &pos,
            ASSIGN,
            json!({ "sale": sale, "line": 1, "serial": " sn-001 " }),
        )
        .await;
    assert_eq!(data["assignSerial"]["lines"][0]["serialNumber"], "SN-001");
    assert_eq!(data["assignSerial"]["lines"][0]["serialIndicator"], "BLUE");
    app.ok(
        &warehouse,
        ASSIGN,
        json!({ "sale": sale, "line": 2, "serial": "SN-002" }),
    )
    .await;
    let view = app.ok(&pos, SALE, json!({ "id": sale })).await;
    assert_eq!(view["sale"]["lines"][1]["serialNumber"], "SN-002");
    assert_eq!(view["sale"]["linesPendingSerial"], json!([3]));

    // The same serial of the same product cannot be live twice, across sales either.
    let error = app
        .err(
            Some(&pos),
            ASSIGN,
            json!({ "sale": sale, "line": 3, "serial": "SN-001" }),
        )
        .await;
    assert_eq!(code(&error), "SERIAL_ALREADY_ASSIGNED");
    let other = open_sale(&app, &pos, "INV-1043").await;
    app.ok(
        &pos,
        ADD_ITEM,
        json!({ "sale": other, "product": phone, "quantity": 1 }),
    )
    .await;
    let error = app
        .err(
            Some(&pos),
            ASSIGN,
            json!({ "sale": other, "line": 1, "serial": "sn-002" }),
        )
        .await;
    assert_eq!(code(&error), "SERIAL_ALREADY_ASSIGNED");
    assert_eq!(error["extensions"]["invoiceNumber"], "INV-1042");
    assert_eq!(error["extensions"]["lineNumber"], 2);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("INV-1042 line 2")
    );

    // Removed and re-added freely before fulfilment.
    app.ok(
        &pos,
        ASSIGN,
        json!({ "sale": sale, "line": 3, "serial": "WRONG" }),
    )
    .await;
    let data = app
        .ok(
            &pos,
            "mutation($sale: ID!) { removeSerial(saleId: $sale, lineId: 3) { lines { serialNumber serialIndicator } } }",
            json!({ "sale": sale }),
        )
        .await;
    assert_eq!(data["removeSerial"]["lines"][0]["serialIndicator"], "RED");
    app.ok(
        &pos,
        ASSIGN,
        json!({ "sale": sale, "line": 3, "serial": "SN-003" }),
    )
    .await;

    // Fulfil everything (the OPTIONAL line goes without a serial); then the serial is frozen.
    let data = app.ok(&warehouse, FULFIL, json!({ "sale": sale })).await;
    assert!(
        data["fulfilLines"]["sale"]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|line| line["status"] == "FULFILLED")
    );
    let error = app
        .err(
            Some(&pos),
            ASSIGN,
            json!({ "sale": sale, "line": 1, "serial": "SN-999" }),
        )
        .await;
    assert_eq!(code(&error), "LINE_FULFILLED");

    // The sales report by serial finds who bought it and when.
    let report = app
        .ok(
            &auditor,
            r#"{ salesReport(filter: { serialNumber: "sn-002" }) { edges { cursor node { sale { invoiceNumber customer { name } openedAt deliveryModeName } line { lineNumber serialNumber } } } } }"#,
            json!({}),
        )
        .await;
    let edges = report["salesReport"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["sale"]["invoiceNumber"], "INV-1042");
    assert_eq!(edges[0]["node"]["sale"]["customer"]["name"], "Ada");
    assert_eq!(
        edges[0]["node"]["sale"]["deliveryModeName"],
        "Cash and Carry"
    );
    assert_eq!(edges[0]["node"]["line"]["lineNumber"], 2);

    // Refund one unit by its serial; the others are untouched.
    let data = app
        .ok(
            &pos,
            r#"mutation($sale: ID!) { refundLines(saleId: $sale, serialNumbers: ["sn-002"], reason: "faulty") { lines { lineNumber status refund { amountMinor currency } } } }"#,
            json!({ "sale": sale }),
        )
        .await;
    let refunded = &data["refundLines"]["lines"][0];
    assert_eq!(refunded["lineNumber"], 2);
    assert_eq!(refunded["status"], "RETURNED");
    assert_eq!(refunded["refund"]["amountMinor"], 129900);

    // Re-issue it on a new invoice, with the new unit's serial.
    let new_sale = open_sale(&app, &pos, "INV-2001").await;
    let data = app
        .ok(
            &pos,
            r#"mutation($sale: ID!, $old: ID!) { reissueLine(saleId: $sale, returnedSaleId: $old, returnedLineId: 2, serialNumber: "SN-777") { sale { lines { lineNumber serialNumber reissueOf { invoiceNumber lineNumber } } } } }"#,
            json!({ "sale": new_sale, "old": sale }),
        )
        .await;
    let line = &data["reissueLine"]["sale"]["lines"][0];
    assert_eq!(line["serialNumber"], "SN-777");
    assert_eq!(
        line["reissueOf"],
        json!({ "invoiceNumber": "INV-1042", "lineNumber": 2 })
    );
    // After the return, SN-002 may be sold again.
    app.ok(
        &pos,
        ASSIGN,
        json!({ "sale": other, "line": 1, "serial": "SN-002" }),
    )
    .await;

    // The trace shows the unit's status, holder and every event.
    let trace = app
        .ok(
            &auditor,
            r#"query($product: ID) { serialTrace(serialNumber: "SN-002", productId: $product) { status invoiceNumber history { eventType action statusAfter invoiceNumber cursor channel reason hash actor { kind displayName } refund { amountMinor } reissueOf { invoiceNumber lineNumber } replacedBy { invoiceNumber lineNumber } replacedBySerial } } }"#,
            json!({ "product": phone }),
        )
        .await;
    let unit = &trace["serialTrace"][0];
    assert_eq!(unit["status"], "ALLOCATED");
    assert_eq!(unit["invoiceNumber"], "INV-1043");
    let types: Vec<&str> = unit["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "SerialAssigned",
            "LineFulfilled",
            "LineReturned",
            "LineReissued",
            "SerialAssigned"
        ]
    );
    // Who, how and why, from the events themselves.
    let returned = &unit["history"][2];
    assert_eq!(returned["action"], "RETURNED");
    assert_eq!(returned["statusAfter"], "RETURNED");
    assert_eq!(returned["reason"], "faulty");
    assert_eq!(returned["refund"]["amountMinor"], 129900);
    assert_eq!(returned["channel"], "POS");
    assert_eq!(returned["actor"]["kind"], "USER");
    assert_eq!(returned["hash"].as_str().map(str::len), Some(64));
    assert_eq!(
        unit["history"][3]["reissueOf"],
        json!({ "invoiceNumber": "INV-1042", "lineNumber": 2 })
    );
    // The re-issue names the line and the unit that replace the returned one.
    assert_eq!(
        unit["history"][3]["replacedBy"],
        json!({ "invoiceNumber": "INV-2001", "lineNumber": 1 })
    );
    assert_eq!(unit["history"][3]["replacedBySerial"], "SN-777");

    // The POS view by invoice number, ignoring case.
    let data = app
        .ok(
            &pos,
            r#"{ saleByInvoice(invoiceNumber: "inv-1042") { lines { lineNumber status } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(data["saleByInvoice"]["lines"][1]["status"], "RETURNED");

    // The auditor reads the raw log with who did what through which channel.
    let log = app
        .ok(
            &auditor,
            r#"{ events(first: 500, types: ["SerialAssigned"]) { edges { cursor node { eventType channel actor { kind displayName } payload } } pageInfo { hasNextPage } } }"#,
            json!({}),
        )
        .await;
    let events = log["events"]["edges"].as_array().unwrap();
    assert!(
        events
            .iter()
            .all(|edge| edge["node"]["eventType"] == "SerialAssigned")
    );
    let channels: Vec<&str> = events
        .iter()
        .map(|edge| edge["node"]["channel"].as_str().unwrap())
        .collect();
    assert!(channels.contains(&"POS") && channels.contains(&"FULFILMENT_REPORT"));
    assert_eq!(events[0]["node"]["actor"]["kind"], "USER");
    assert_eq!(events[0]["node"]["actor"]["displayName"], "pos till");
    // Every event the scenario wrote is valid against its published schema.
    tests::schema_check::assert_log_matches_schemas(&app.state.store).await;
}

async fn a_retried_command_id_is_applied_once(backend: Backend) {
    let app = App::start(backend).await;
    let manager = app.principal("shop", Role::Manager).await;
    let pos = app.principal("shop", Role::Pos).await;
    let cable = product(&app, &manager, "CABLE", "DISABLED").await;
    let sale = open_sale(&app, &pos, "INV-1").await;
    let query = r#"mutation($sale: ID!, $product: ID!) { addItem(saleId: $sale, productId: $product, commandId: "0190a000-0000-7000-8000-0000000000c1") { deduplicated sale { lines { quantity } } } }"#;
    let first = app
        .ok(&pos, query, json!({ "sale": sale, "product": cable }))
        .await;
    assert_eq!(first["addItem"]["deduplicated"], false);
    let again = app
        .ok(&pos, query, json!({ "sale": sale, "product": cable }))
        .await;
    assert_eq!(again["addItem"]["deduplicated"], true);
    assert_eq!(
        again["addItem"]["sale"]["lines"],
        json!([{ "quantity": 1 }])
    );
}

async fn bad_input_is_refused_naming_the_field(backend: Backend) {
    let app = App::start(backend).await;
    let pos = app.principal("shop", Role::Pos).await;
    let auditor = app.principal("shop", Role::Auditor).await;
    let error = app
        .err(
            Some(&pos),
            r#"{ sale(id: "not-a-uuid") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&error), "VALIDATION");
    assert!(error["message"].as_str().unwrap().starts_with("id "));
    let error = app
        .err(
            Some(&pos),
            r#"{ salesReport(after: "zzz") { edges { cursor } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&error), "VALIDATION");
    let error = app
        .err(
            Some(&auditor),
            r#"{ events(after: "nope") { edges { cursor } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&error), "VALIDATION");
    assert!(error["message"].as_str().unwrap().starts_with("after "));
    let error = app
        .err(
            Some(&pos),
            r#"{ serialTrace(serialNumber: "bad serial!") { status } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&error), "INVALID_SERIAL");
    let error = app
        .err(
            Some(&pos),
            r#"mutation { addItem(saleId: "0190a000-0000-7000-8000-000000000001", productId: "x") { cursor } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&error), "VALIDATION");
    assert!(error["message"].as_str().unwrap().starts_with("productId "));
}

/// Every operation, with the variables it needs (ids that may not exist: an allowed caller
/// gets past the permission check to a refusal of another kind, or success).
fn operations(product: &str, sale: &str) -> Vec<(&'static str, String, &'static [Role])> {
    use Role::*;
    let all: &'static [Role] = &[Manager, Pos, Warehouse, Auditor, Integrator];
    vec![
        (
            "product",
            format!(r#"{{ product(id: "{product}") {{ id }} }}"#),
            all,
        ),
        ("products", "{ products { edges { cursor } } }".into(), all),
        (
            "settings",
            "{ settings { autoPromptSerialNumber } }".into(),
            all,
        ),
        ("sale", format!(r#"{{ sale(id: "{sale}") {{ id }} }}"#), all),
        (
            "saleByInvoice",
            r#"{ saleByInvoice(invoiceNumber: "INV-9") { id } }"#.into(),
            all,
        ),
        (
            "fulfilmentReport",
            "{ fulfilmentReport { edges { cursor } } }".into(),
            all,
        ),
        (
            "salesReport",
            "{ salesReport { edges { cursor } } }".into(),
            all,
        ),
        (
            "serialTrace",
            r#"{ serialTrace(serialNumber: "SN-1") { status } }"#.into(),
            all,
        ),
        (
            "events",
            "{ events { edges { cursor } } }".into(),
            &[Manager, Auditor],
        ),
        (
            "createProduct",
            r#"mutation { createProduct(input: { sku: "NEW", name: "New" }) { cursor } }"#.into(),
            &[Manager, Pos],
        ),
        (
            "updateProduct",
            format!(
                r#"mutation {{ updateProduct(id: "{product}", name: "Renamed") {{ cursor }} }}"#
            ),
            &[Manager],
        ),
        (
            "applyProductEditSetting",
            format!(
                r#"mutation {{ applyProductEditSetting(productIds: ["{product}"], serialMode: OPTIONAL) {{ cursor }} }}"#
            ),
            &[Manager],
        ),
        (
            "updateSettings",
            "mutation { updateSettings(displaySerialNumberOnInvoice: true) { cursor } }".into(),
            &[Manager],
        ),
        (
            "openSale",
            format!(
                r#"mutation {{ openSale(input: {{ invoiceNumber: "INV-{}", outletId: "{OUTLET}" }}) {{ cursor }} }}"#,
                Uuid::now_v7().simple()
            ),
            &[Manager, Pos],
        ),
        (
            "addItem",
            format!(
                r#"mutation {{ addItem(saleId: "{sale}", productId: "{product}") {{ cursor }} }}"#
            ),
            &[Manager, Pos],
        ),
        (
            "setLineQuantity",
            format!(
                r#"mutation {{ setLineQuantity(saleId: "{sale}", lineId: 1, quantity: 1) {{ cursor }} }}"#
            ),
            &[Manager, Pos],
        ),
        (
            "removeLine",
            format!(r#"mutation {{ removeLine(saleId: "{sale}", lineId: 99) {{ cursor }} }}"#),
            &[Manager, Pos],
        ),
        (
            "assignSerial",
            format!(
                r#"mutation {{ assignSerial(saleId: "{sale}", lineId: 99, serialNumber: "SN-1") {{ cursor }} }}"#
            ),
            &[Manager, Pos, Warehouse, Integrator],
        ),
        (
            "removeSerial",
            format!(r#"mutation {{ removeSerial(saleId: "{sale}", lineId: 99) {{ cursor }} }}"#),
            &[Manager, Pos, Warehouse, Integrator],
        ),
        (
            "fulfilLines",
            format!(r#"mutation {{ fulfilLines(saleId: "{sale}", lineIds: [99]) {{ cursor }} }}"#),
            &[Manager, Pos, Warehouse, Integrator],
        ),
        (
            "refundLines",
            format!(r#"mutation {{ refundLines(saleId: "{sale}", lineIds: [99]) {{ cursor }} }}"#),
            &[Manager, Pos],
        ),
        (
            "cancelLines",
            format!(r#"mutation {{ cancelLines(saleId: "{sale}", lineIds: [99]) {{ cursor }} }}"#),
            &[Manager, Pos],
        ),
        (
            "reissueLine",
            format!(
                r#"mutation {{ reissueLine(saleId: "{sale}", returnedSaleId: "{sale}", returnedLineId: 99) {{ cursor }} }}"#
            ),
            &[Manager, Pos],
        ),
    ]
}

async fn each_role_may_do_what_its_permissions_allow_and_nothing_else(backend: Backend) {
    let app = App::start(backend).await;
    let manager = app.principal("shop", Role::Manager).await;
    let pos = app.principal("shop", Role::Pos).await;
    let product = product(&app, &manager, "CABLE", "DISABLED").await;
    let sale = open_sale(&app, &pos, "INV-1").await;
    let mut principals = Vec::new();
    for role in Role::ALL {
        principals.push((role, app.principal("shop", role).await));
    }
    for (name, query, allowed) in operations(&product, &sale) {
        let response = app.run(None, &query, json!({})).await;
        assert_eq!(
            code(&response["errors"][0]),
            "UNAUTHENTICATED",
            "{name} without a token: {response:#}"
        );
        for (role, principal) in &principals {
            let response = app.run(Some(principal), &query, json!({})).await;
            let error_code = response["errors"]
                .get(0)
                .map(|error| code(error).to_owned());
            if allowed.contains(role) {
                assert!(
                    !matches!(
                        error_code.as_deref(),
                        Some("FORBIDDEN" | "UNAUTHENTICATED" | "INTERNAL")
                    ),
                    "{name} by {role} should be allowed: {response:#}"
                );
            } else {
                assert_eq!(
                    error_code.as_deref(),
                    Some("FORBIDDEN"),
                    "{name} by {role} should be forbidden: {response:#}"
                );
            }
        }
    }
}

async fn another_retailer_sees_nothing_and_changes_nothing(backend: Backend) {
    let app = App::start(backend).await;
    let manager = app.principal("shop", Role::Manager).await;
    let pos = app.principal("shop", Role::Pos).await;
    let phone = product(&app, &manager, "IPH-15", "REQUIRED").await;
    let sale = open_sale(&app, &pos, "INV-1042").await;
    app.ok(
        &pos,
        ADD_ITEM,
        json!({ "sale": sale, "product": phone, "quantity": 1 }),
    )
    .await;
    app.ok(
        &pos,
        ASSIGN,
        json!({ "sale": sale, "line": 1, "serial": "SN-1" }),
    )
    .await;

    let rival = app.principal("rival", Role::Manager).await;
    let rival_auditor = app.principal("rival", Role::Auditor).await;
    let data = app
        .ok(
            &rival,
            r#"query($sale: ID!, $product: ID!) {
                sale(id: $sale) { id }
                saleByInvoice(invoiceNumber: "INV-1042") { id }
                product(id: $product) { id }
                products { edges { cursor } }
                fulfilmentReport { edges { cursor } }
                salesReport(filter: { serialNumber: "SN-1" }) { edges { cursor } }
                serialTrace(serialNumber: "SN-1") { status }
            }"#,
            json!({ "sale": sale, "product": phone }),
        )
        .await;
    assert_eq!(data["sale"], Value::Null);
    assert_eq!(data["saleByInvoice"], Value::Null);
    assert_eq!(data["product"], Value::Null);
    assert_eq!(data["products"]["edges"], json!([]));
    assert_eq!(data["fulfilmentReport"]["edges"], json!([]));
    assert_eq!(data["salesReport"]["edges"], json!([]));
    assert_eq!(data["serialTrace"], json!([]));
    let log = app
        .ok(&rival_auditor, "{ events { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(log["events"]["edges"], json!([]));

    // Its writes to our ids are refused as not found, and change nothing of ours.
    let error = app
        .err(
            Some(&rival),
            ASSIGN,
            json!({ "sale": sale, "line": 1, "serial": "SN-2" }),
        )
        .await;
    assert_eq!(code(&error), "NOT_FOUND");
    let error = app.err(Some(&rival), FULFIL, json!({ "sale": sale })).await;
    assert_eq!(code(&error), "NOT_FOUND");
    let error = app
        .err(
            Some(&rival),
            r#"mutation($id: ID!) { updateProduct(id: $id, serialMode: DISABLED) { cursor } }"#,
            json!({ "id": phone }),
        )
        .await;
    assert_eq!(code(&error), "NOT_FOUND");
    // The same serial is free in another retailer.
    let rival_product = product(&app, &rival, "IPH-15", "REQUIRED").await;
    let rival_sale = open_sale(&app, &rival, "INV-1042").await;
    app.ok(
        &rival,
        ADD_ITEM,
        json!({ "sale": rival_sale, "product": rival_product, "quantity": 1 }),
    )
    .await;
    app.ok(
        &rival,
        ASSIGN,
        json!({ "sale": rival_sale, "line": 1, "serial": "SN-1" }),
    )
    .await;

    let view = app.ok(&pos, SALE, json!({ "id": sale })).await;
    assert_eq!(view["sale"]["lines"][0]["serialNumber"], "SN-1");
    assert_eq!(view["sale"]["lines"][0]["status"], "OPEN");
    let data = app
        .ok(
            &pos,
            "query($id: ID!) { product(id: $id) { serialMode } }",
            json!({ "id": phone }),
        )
        .await;
    assert_eq!(data["product"]["serialMode"], "REQUIRED");
}

async fn ledger_events_catch_up_then_follow_only_the_callers_retailer(backend: Backend) {
    let app = App::start(backend).await;
    let manager = app.principal("shop", Role::Manager).await;
    let integrator = app.principal("shop", Role::Integrator).await;
    let rival = app.principal("rival", Role::Manager).await;
    product(&app, &manager, "A", "REQUIRED").await;
    product(&app, &rival, "R", "REQUIRED").await;

    let request = Request::new(
        r#"subscription { ledgerEvents(types: ["ProductCreated"]) { cursor eventType payload } }"#,
    )
    .data(integrator.clone())
    .data(RequestMeta {
        correlation_id: Uuid::now_v7(),
    });
    let mut stream = app.schema.execute_stream(request);
    let first = serde_json::to_value(stream.next().await.unwrap()).unwrap();
    assert_eq!(
        first["data"]["ledgerEvents"]["payload"]["sku"], "A",
        "{first:#}"
    );
    // Live: the rival's product is skipped, ours arrives.
    product(&app, &rival, "R2", "REQUIRED").await;
    product(&app, &manager, "B", "OPTIONAL").await;
    let second = tokio::time::timeout(std::time::Duration::from_secs(10), stream.next())
        .await
        .unwrap()
        .unwrap();
    let second = serde_json::to_value(second).unwrap();
    assert_eq!(
        second["data"]["ledgerEvents"]["payload"]["sku"], "B",
        "{second:#}"
    );

    // Resuming after the first cursor gives the second again.
    let cursor = first["data"]["ledgerEvents"]["cursor"].as_str().unwrap();
    let request = Request::new(format!(
        r#"subscription {{ ledgerEvents(after: "{cursor}", types: ["ProductCreated"]) {{ payload }} }}"#
    ))
    .data(integrator.clone());
    let mut resumed = app.schema.execute_stream(request);
    let again = serde_json::to_value(resumed.next().await.unwrap()).unwrap();
    assert_eq!(again["data"]["ledgerEvents"]["payload"]["sku"], "B");

    // Without a token, or without the permission (none lacks it today), nothing streams.
    let mut anonymous = app
        .schema
        .execute_stream(Request::new("subscription { ledgerEvents { cursor } }"));
    let refused = serde_json::to_value(anonymous.next().await.unwrap()).unwrap();
    assert_eq!(code(&refused["errors"][0]), "UNAUTHENTICATED");
}

const REISSUE_ON_NEW_SALE: &str = r#"
mutation($old: ID!, $outlet: ID!, $command: ID) {
  reissueLine(newSale: { invoiceNumber: "INV-NEW", outletId: $outlet }, returnedSaleId: $old,
              returnedLineId: 1, serialNumber: "SN-NEW", commandId: $command) {
    deduplicated
    sale { id invoiceNumber lines { lineNumber serialNumber reissueOf { invoiceNumber lineNumber } } }
  }
}"#;

async fn a_returned_unit_is_reissued_on_a_new_invoice_opened_in_the_same_call(backend: Backend) {
    let app = App::start(backend).await;
    let manager = app.principal("shop", Role::Manager).await;
    let pos = app.principal("shop", Role::Pos).await;
    let phone = product(&app, &manager, "PHONE", "REQUIRED").await;
    let sale = open_sale(&app, &pos, "INV-OLD").await;
    app.ok(
        &pos,
        ADD_ITEM,
        json!({ "sale": sale, "product": phone, "quantity": 1 }),
    )
    .await;
    app.ok(
        &pos,
        ASSIGN,
        json!({ "sale": sale, "line": 1, "serial": "SN-OLD" }),
    )
    .await;
    app.ok(&pos, FULFIL, json!({ "sale": sale, "lines": null }))
        .await;
    app.ok(
        &pos,
        r#"mutation($sale: ID!) { refundLines(saleId: $sale, lineIds: [1], reason: "faulty") { cursor } }"#,
        json!({ "sale": sale }),
    )
    .await;

    let both = app
        .err(
            Some(&pos),
            r#"mutation($old: ID!, $outlet: ID!) { reissueLine(saleId: $old, newSale: { invoiceNumber: "X", outletId: $outlet }, returnedSaleId: $old, returnedLineId: 1) { cursor } }"#,
            json!({ "old": sale, "outlet": OUTLET }),
        )
        .await;
    assert_eq!(code(&both), "VALIDATION", "{both}");

    let command = Uuid::now_v7().to_string();
    let variables = json!({ "old": sale, "outlet": OUTLET, "command": command });
    let first = app.ok(&pos, REISSUE_ON_NEW_SALE, variables.clone()).await;
    let reissued = &first["reissueLine"]["sale"];
    assert_eq!(reissued["invoiceNumber"], "INV-NEW");
    assert_eq!(reissued["lines"][0]["serialNumber"], "SN-NEW");
    assert_eq!(
        reissued["lines"][0]["reissueOf"],
        json!({ "invoiceNumber": "INV-OLD", "lineNumber": 1 })
    );
    // A retry with the same command id opens nothing new and re-issues nothing twice.
    let retried = app.ok(&pos, REISSUE_ON_NEW_SALE, variables).await;
    assert_eq!(retried["reissueLine"]["deduplicated"], true);
    assert_eq!(retried["reissueLine"]["sale"]["id"], reissued["id"]);
}
