//! The GraphQL schema, executed in process against a temporary SQLite database, with a
//! fixed set of documents (every mutation and the main queries) and any JSON as their
//! variables, as any role of the retailer, another retailer's manager, or no one: never
//! panics; every error has a stable `extensions.code`, and none is `INTERNAL`.
//!
//! Input: byte 0 picks the document ([`DOCUMENTS`]), byte 1 the caller ([`CALLERS`] plus
//! "no token"), the rest is the variables as JSON. The database is opened and seeded once
//! per process (fixed ids, so corpus entries can name the seeded products and sales) and
//! kept across runs; the projections run as in the server, so mutations answer once the
//! read models show their effect.
#![no_main]

use application::auth::{Principal, Role};
use api::graphql::{ApiSchema, RequestMeta, build_schema};
use api::state::AppState;
use async_graphql::{Request, Variables};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;
use uuid::Uuid;

/// Ids of the seeded data (see [`seed`]).
const REQUIRED_PRODUCT: &str = "0190a000-0000-7000-8000-000000000101";
const PLAIN_PRODUCT: &str = "0190a000-0000-7000-8000-000000000102";
const OPEN_SALE: &str = "0190a000-0000-7000-8000-000000000201";
const REFUNDED_SALE: &str = "0190a000-0000-7000-8000-000000000202";
const OUTLET: &str = "0190a000-0000-7000-8000-0000000000aa";

/// Who may call: each role of retailer `fuzz`, then the manager of retailer `other`.
const CALLERS: [(&str, Role); 6] = [
    ("fuzz", Role::Manager),
    ("fuzz", Role::Pos),
    ("fuzz", Role::Warehouse),
    ("fuzz", Role::Auditor),
    ("fuzz", Role::Integrator),
    ("other", Role::Manager),
];

/// Every mutation and the main queries, each argument a variable.
const DOCUMENTS: &[&str] = &[
    r#"mutation($input: CreateProductInput!, $commandId: ID, $channel: Channel) {
        createProduct(input: $input, commandId: $commandId, channel: $channel) {
            product { id sku name serialMode serialModeSource } cursor deduplicated } }"#,
    r#"mutation($id: ID!, $sku: String, $name: String, $mode: SerialMode, $source: SerialModeSource,
                $package: PackageInput, $commandId: ID, $channel: Channel) {
        updateProduct(id: $id, sku: $sku, name: $name, serialMode: $mode, source: $source,
                      package: $package, commandId: $commandId, channel: $channel) {
            product { id sku serialMode } cursor } }"#,
    r#"mutation($ids: [ID!], $matching: ProductSearchInput, $mode: SerialMode!, $commandId: ID, $channel: Channel) {
        applyProductEditSetting(productIds: $ids, matching: $matching, serialMode: $mode,
                                commandId: $commandId, channel: $channel) {
            updated { sku serialMode } failed { productId code } cursor } }"#,
    r#"mutation($prompt: Boolean, $display: Boolean, $aggregate: Boolean, $commandId: ID, $channel: Channel) {
        updateSettings(autoPromptSerialNumber: $prompt, displaySerialNumberOnInvoice: $display,
                       aggregateDuplicateOrderItems: $aggregate, commandId: $commandId, channel: $channel) {
            settings { autoPromptSerialNumber } cursor } }"#,
    r#"mutation($input: OpenSaleInput!, $commandId: ID, $channel: Channel) {
        openSale(input: $input, commandId: $commandId, channel: $channel) {
            sale { id invoiceNumber } cursor } }"#,
    r#"mutation($sale: ID!, $product: ID!, $quantity: Int!, $price: Int, $currency: String, $commandId: ID, $channel: Channel) {
        addItem(saleId: $sale, productId: $product, quantity: $quantity, unitPriceMinor: $price,
                currency: $currency, commandId: $commandId, channel: $channel) {
            promptForSerial lines { lineNumber quantity serialIndicator } } }"#,
    r#"mutation($sale: ID!, $line: Int!, $quantity: Int!, $commandId: ID, $channel: Channel) {
        setLineQuantity(saleId: $sale, lineId: $line, quantity: $quantity, commandId: $commandId, channel: $channel) {
            lines { lineNumber quantity } } }"#,
    r#"mutation($sale: ID!, $line: Int!, $commandId: ID, $channel: Channel) {
        removeLine(saleId: $sale, lineId: $line, commandId: $commandId, channel: $channel) { cursor } }"#,
    r#"mutation($sale: ID!, $line: Int!, $serial: String!, $commandId: ID, $channel: Channel) {
        assignSerial(saleId: $sale, lineId: $line, serialNumber: $serial, commandId: $commandId, channel: $channel) {
            lines { lineNumber serialNumber serialIndicator } cursor } }"#,
    r#"mutation($sale: ID!, $line: Int!, $reason: String, $commandId: ID, $channel: Channel) {
        removeSerial(saleId: $sale, lineId: $line, reason: $reason, commandId: $commandId, channel: $channel) {
            lines { lineNumber serialNumber } } }"#,
    r#"mutation($sale: ID!, $lines: [Int!], $commandId: ID, $channel: Channel) {
        fulfilLines(saleId: $sale, lineIds: $lines, commandId: $commandId, channel: $channel) {
            sale { canFulfilNow lines { lineNumber status } } } }"#,
    r#"mutation($sale: ID!, $lines: [Int!], $serials: [String!], $reason: String, $commandId: ID, $channel: Channel) {
        refundLines(saleId: $sale, lineIds: $lines, serialNumbers: $serials, reason: $reason,
                    commandId: $commandId, channel: $channel) {
            lines { lineNumber status refund { amountMinor currency } } } }"#,
    r#"mutation($sale: ID!, $lines: [Int!]!, $reason: String, $commandId: ID, $channel: Channel) {
        cancelLines(saleId: $sale, lineIds: $lines, reason: $reason, commandId: $commandId, channel: $channel) {
            lines { lineNumber status } } }"#,
    r#"mutation($sale: ID, $newSale: OpenSaleInput, $returnedSale: ID!, $returnedLine: Int!, $serial: String,
                $commandId: ID, $channel: Channel) {
        reissueLine(saleId: $sale, newSale: $newSale, returnedSaleId: $returnedSale, returnedLineId: $returnedLine,
                    serialNumber: $serial, commandId: $commandId, channel: $channel) {
            sale { id lines { lineNumber serialNumber reissueOf { invoiceNumber lineNumber } } } } }"#,
    r#"mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { id url } }"#,
    r#"mutation($id: ID!) { removeWebhook(id: $id) }"#,
    r#"query($id: ID, $sku: String, $search: String, $mode: SerialMode, $first: Int, $after: String) {
        product(id: $id, sku: $sku) { id sku serialMode }
        products(search: $search, serialMode: $mode, first: $first, after: $after) {
            edges { cursor node { sku } } pageInfo { hasNextPage } } }"#,
    r#"query($id: ID!, $invoice: String!) {
        sale(id: $id) { invoiceNumber canFulfilNow linesPendingSerial lines { lineNumber serialNumber serialIndicator status } }
        saleByInvoice(invoiceNumber: $invoice) { id } }"#,
    r#"query($filter: FulfilmentReportFilter, $first: Int, $after: String) {
        fulfilmentReport(filter: $filter, first: $first, after: $after) {
            edges { cursor node { invoiceNumber lineNumber serialNumber } } } }"#,
    r#"query($filter: SalesReportFilter, $first: Int, $after: String) {
        salesReport(filter: $filter, first: $first, after: $after) {
            edges { cursor node { invoiceNumber lineNumber serialNumber } } } }"#,
    r#"query($serial: String!, $product: ID, $sku: String) {
        serialTrace(serialNumber: $serial, productId: $product, sku: $sku) {
            status invoiceNumber history { eventType action cursor hash } } }"#,
    r#"query($after: String, $first: Int, $stream: String, $types: [String!]) {
        events(after: $after, first: $first, streamId: $stream, types: $types) {
            edges { cursor node { eventType schemaVersion } } } }"#,
    r#"query($id: ID!, $first: Int, $after: String) {
        webhookDeliveries(webhookId: $id, first: $first, after: $after) { edges { cursor } } }"#,
];

struct Fixture {
    runtime: tokio::runtime::Runtime,
    schema: ApiSchema,
    principals: Vec<Principal>,
    /// The projections, running for the life of the process as in the server.
    _projections: projections::RunningProjections,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        // Kept for the life of the process (statics are never dropped); `fuzz/run.sh`
        // points TMPDIR at a directory it removes afterwards.
        let directory = tempfile::tempdir().expect("a temporary directory").keep();
        let url = format!("sqlite://{}", directory.join("fuzz.db").display());
        let (schema, principals, projections) = runtime.block_on(async {
            let mut state = AppState::open(&url).await.expect("opening the database");
            state.read_your_writes_timeout = Duration::from_secs(2);
            let projections = state.projections.spawn();
            let mut principals = Vec::new();
            for (tenant, role) in CALLERS {
                if state.auth.tenant_by_slug(tenant).await.is_err() {
                    state
                        .auth
                        .create_tenant(tenant, tenant)
                        .await
                        .expect("a tenant");
                }
                let token = state
                    .auth
                    .create_token(tenant, role, &format!("fuzz {role}"))
                    .await
                    .expect("a token");
                principals.push(
                    state
                        .auth
                        .authenticate(&token.token)
                        .await
                        .expect("the token authenticates"),
                );
            }
            let schema = build_schema(state);
            seed(&schema, &principals[0]).await;
            (schema, principals, projections)
        });
        Fixture {
            runtime,
            schema,
            principals,
            _projections: projections,
        }
    })
}

async fn execute(
    schema: &ApiSchema,
    principal: Option<&Principal>,
    document: &str,
    variables: Value,
) -> Value {
    let mut request = Request::new(document)
        .variables(Variables::from_json(variables))
        .data(RequestMeta {
            correlation_id: Uuid::nil(),
        });
    if let Some(principal) = principal {
        request = request.data(principal.clone());
    }
    let response = schema.execute(request).await;
    serde_json::to_value(&response).expect("a GraphQL response is JSON")
}

/// Products of each kind, an open sale with two REQUIRED lines (the first with a serial)
/// and a plain one, and a sale whose serialised line was fulfilled and refunded.
async fn seed(schema: &ApiSchema, manager: &Principal) {
    let steps = [
        (
            0,
            json!({"input": {"id": REQUIRED_PRODUCT, "sku": "IPH-15", "name": "iPhone 15", "serialMode": "REQUIRED"}}),
        ),
        (
            0,
            json!({"input": {"id": PLAIN_PRODUCT, "sku": "CABLE", "name": "USB-C cable", "serialMode": "DISABLED"}}),
        ),
        (
            4,
            json!({"input": {"id": OPEN_SALE, "invoiceNumber": "INV-1", "outletId": OUTLET}}),
        ),
        (
            5,
            json!({"sale": OPEN_SALE, "product": REQUIRED_PRODUCT, "quantity": 2, "price": 129900, "currency": "AUD"}),
        ),
        (
            5,
            json!({"sale": OPEN_SALE, "product": PLAIN_PRODUCT, "quantity": 2}),
        ),
        (8, json!({"sale": OPEN_SALE, "line": 1, "serial": "SN-001"})),
        (
            4,
            json!({"input": {"id": REFUNDED_SALE, "invoiceNumber": "INV-2", "outletId": OUTLET}}),
        ),
        (
            5,
            json!({"sale": REFUNDED_SALE, "product": REQUIRED_PRODUCT, "quantity": 1}),
        ),
        (
            8,
            json!({"sale": REFUNDED_SALE, "line": 1, "serial": "SN-100"}),
        ),
        (10, json!({"sale": REFUNDED_SALE})),
        (
            11,
            json!({"sale": REFUNDED_SALE, "lines": [1], "reason": "faulty"}),
        ),
    ];
    for (document, variables) in steps {
        let response = execute(schema, Some(manager), DOCUMENTS[document], variables).await;
        assert!(
            response.get("errors").is_none(),
            "seeding failed: {response:#}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let [document, caller, json @ ..] = data else {
        return;
    };
    let Ok(variables) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let fixture = fixture();
    let document = DOCUMENTS[usize::from(*document) % DOCUMENTS.len()];
    let principal = fixture
        .principals
        .get(usize::from(*caller) % (fixture.principals.len() + 1));
    let response = fixture.runtime.block_on(execute(
        &fixture.schema,
        principal,
        document,
        variables.clone(),
    ));
    for error in response["errors"].as_array().into_iter().flatten() {
        let code = error["extensions"]["code"].as_str().unwrap_or_else(|| {
            panic!("an error without extensions.code: {error}\ndocument: {document}\nvariables: {variables}")
        });
        assert_ne!(
            code, "INTERNAL",
            "an internal error: {error}\ndocument: {document}\nvariables: {variables}"
        );
    }
});
