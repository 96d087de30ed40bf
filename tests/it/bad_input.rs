//! Bad input, end to end over HTTP on both backends: one table of malformed, hostile and
//! out-of-range inputs to every GraphQL mutation, every query that takes arguments, every
//! REST operation of `openapi.json` and the file routes. Empty and huge strings, control
//! characters, invalid UTF-8 in CSV, unicode look-alikes in serials, zero, negative and
//! overflowing quantities, ids that are not UUIDs, unknown ids and another retailer's ids,
//! malformed cursors, over-deep and over-complex queries.
//!
//! Every row must be answered below 500, with the row's stable code, with a message naming
//! the field (or the character, or the limit), and without a single event appended to the
//! log. A test fails when a mutation of `api/schema.graphql`, a query taking arguments or
//! an operation of the OpenAPI document has no row, so new operations get rows.

use application::auth::Role;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use store::{AnyStore, EventStore, Position};
use tests::app::TestApp;

on_both_servers!(
    every_bad_input_is_refused_below_500_with_its_code_naming_the_field_and_records_nothing,
    a_malformed_subscription_cursor_is_refused_naming_after,
);

const OUTLET: &str = "0190a000-0000-7000-8000-0000000000aa";
/// A well-formed UUID no retailer has anything under.
const UNKNOWN: &str = "0190a000-dead-7000-8000-00000000beef";

/// The file routes (not in the OpenAPI document): each must have a row.
const FILE_ROUTES: [&str; 9] = [
    "POST /imports/products",
    "GET /exports/products.csv",
    "GET /exports/sales-detail.csv",
    "GET /exports/sales-detail.xlsx",
    "GET /exports/fulfilment-report.csv",
    "GET /exports/fulfilment-report.xlsx",
    "GET /exports/pick-list.pdf",
    "GET /exports/pick-list.csv",
    "GET /exports/invoices/{file}",
];

// ---- the table ------------------------------------------------------------------------------

/// How a row's answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    /// `{"data", "errors": [{"message", "extensions": {"code"}}]}`.
    Graphql,
    /// `{"error": {"code", "message"}}`.
    Rest,
    /// `{"code", "message"}` (and `errors` of an import).
    File,
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Raw(Vec<u8>, String),
}

/// One bad input: where it goes, what it is, and how it must be refused.
#[derive(Debug, Clone)]
struct Row {
    /// The operation: a GraphQL field name or `METHOD /path/{template}`.
    operation: &'static str,
    /// What is wrong with the input, for the failure message.
    input: String,
    api: Api,
    method: Method,
    path: String,
    body: Body,
    headers: Vec<(&'static str, String)>,
    role: Role,
    /// The stable code expected (`OK`: answered without an error, and nothing recorded).
    code: &'static str,
    /// A word the message must contain: the field, the character, the limit.
    names: String,
}

impl Row {
    fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

fn gql(
    operation: &'static str,
    input: impl Into<String>,
    query: &str,
    variables: Value,
    code: &'static str,
    names: impl Into<String>,
) -> Row {
    Row {
        operation,
        input: input.into(),
        api: Api::Graphql,
        method: Method::POST,
        path: "/graphql".to_owned(),
        body: Body::Json(json!({ "query": query, "variables": variables })),
        headers: Vec::new(),
        role: Role::Manager,
        code,
        names: names.into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn rest(
    operation: &'static str,
    input: impl Into<String>,
    method: Method,
    path: impl Into<String>,
    body: Option<Value>,
    code: &'static str,
    names: impl Into<String>,
) -> Row {
    Row {
        operation,
        input: input.into(),
        api: Api::Rest,
        method,
        path: path.into(),
        body: body.map_or(Body::None, Body::Json),
        headers: Vec::new(),
        role: Role::Manager,
        code,
        names: names.into(),
    }
}

fn file(
    operation: &'static str,
    input: impl Into<String>,
    method: Method,
    path: impl Into<String>,
    body: Body,
    code: &'static str,
    names: impl Into<String>,
) -> Row {
    Row {
        operation,
        input: input.into(),
        api: Api::File,
        method,
        path: path.into(),
        body,
        headers: Vec::new(),
        role: Role::Manager,
        code,
        names: names.into(),
    }
}

/// `importProducts` through GraphQL: a multipart request (the GraphQL multipart request
/// spec) carrying `csv` as the file.
fn gql_upload(input: &str, csv: &[u8], code: &'static str, names: &str) -> Row {
    const BOUNDARY: &str = "bad-input-boundary-7d3c";
    let operations = json!({
        "query": "mutation($file: Upload!) { importProducts(file: $file) { written rows errors { line column reason } } }",
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
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"products.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(csv);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Row {
        operation: "importProducts",
        input: input.to_owned(),
        api: Api::Graphql,
        method: Method::POST,
        path: "/graphql".to_owned(),
        body: Body::Raw(body, format!("multipart/form-data; boundary={BOUNDARY}")),
        headers: Vec::new(),
        role: Role::Manager,
        code,
        names: names.to_owned(),
    }
}

/// The ids the rows aim at: this retailer's and another retailer's.
#[derive(Debug, Clone, Default)]
struct Fixture {
    /// A REQUIRED product.
    phone: String,
    /// A DISABLED product.
    cable: String,
    /// INV-1: line 1 phone without serial, line 2 cable, line 3 phone with SN-FIX-3.
    sale: String,
    /// INV-2: line 1 cable, fulfilled.
    fulfilled: String,
    /// INV-3: line 1 phone SN-RET-1, fulfilled and refunded.
    returned: String,
    foreign_product: String,
    foreign_sale: String,
    foreign_webhook: String,
}

/// Serials that look right and are not: each must be refused naming the character.
const LOOK_ALIKES: [(&str, &str, &str); 7] = [
    ("Cyrillic А (U+0410) for A", "SN-\u{0410}1", "\u{0410}"),
    ("Greek Ο (U+039F) for O", "SN-\u{039F}1", "\u{039F}"),
    ("zero-width space", "SN\u{200B}01", "\u{200B}"),
    ("full-width digits", "SN-\u{FF11}\u{FF12}", "\u{FF11}"),
    ("right-to-left override", "SN\u{202E}01", "\u{202E}"),
    ("non-breaking space inside", "SN\u{00A0}01", "character 3"),
    ("Latin ligature ﬁ", "SN-\u{FB01}", "\u{FB01}"),
];

/// Serials broken in other ways, with what the message must say.
fn broken_serials() -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("empty", String::new(), "blank"),
        ("whitespace only", " \t ".to_owned(), "blank"),
        ("65 characters", "S".repeat(65), "64"),
        (
            "257 characters of padding",
            format!("{}SN-1{}", " ".repeat(200), " ".repeat(53)),
            "256",
        ),
        ("huge (100 000 characters)", "S".repeat(100_000), "256"),
        ("NUL inside", "SN\u{0}1".to_owned(), "U+0000"),
        ("escape inside", "SN\u{1b}[31m".to_owned(), "U+001B"),
        ("DEL inside", "SN\u{7f}1".to_owned(), "U+007F"),
        ("space inside", "SN 1".to_owned(), "space"),
        ("markup", "<script>".to_owned(), "<"),
    ]
}

/// Text that no text field may hold: empty, blank, one character too long, huge, and
/// with control characters inside (the first two are "not given" for optional fields).
fn bad_texts(max: usize) -> Vec<(String, String)> {
    vec![
        ("empty".to_owned(), String::new()),
        ("whitespace only".to_owned(), "  \t ".to_owned()),
        (format!("{} characters", max + 1), "x".repeat(max + 1)),
        ("huge (200 000 characters)".to_owned(), "x".repeat(200_000)),
        ("NUL inside".to_owned(), "A\u{0}B".to_owned()),
        ("bell inside".to_owned(), "A\u{7}B".to_owned()),
        ("escape sequence".to_owned(), "A\u{1b}[2JB".to_owned()),
        ("newline inside".to_owned(), "A\nB".to_owned()),
        ("DEL inside".to_owned(), "A\u{7f}B".to_owned()),
        ("C1 control inside".to_owned(), "A\u{85}B".to_owned()),
    ]
}

const CREATE: &str =
    "mutation($input: CreateProductInput!) { createProduct(input: $input) { cursor } }";
const UPDATE: &str = "mutation($id: ID!, $sku: String, $name: String, $mode: SerialMode, $package: PackageInput) { updateProduct(id: $id, sku: $sku, name: $name, serialMode: $mode, package: $package) { cursor } }";
const BULK: &str = "mutation($ids: [ID!], $matching: ProductSearchInput) { applyProductEditSetting(productIds: $ids, matching: $matching, serialMode: OPTIONAL) { cursor failed { productId code message } } }";
const SETTINGS: &str = "mutation($auto: Boolean, $command: ID) { updateSettings(autoPromptSerialNumber: $auto, commandId: $command) { cursor } }";
const OPEN: &str = "mutation($input: OpenSaleInput!) { openSale(input: $input) { cursor } }";
const ADD: &str = "mutation($sale: ID!, $product: ID!, $quantity: Int!, $price: Int, $currency: String) { addItem(saleId: $sale, productId: $product, quantity: $quantity, unitPriceMinor: $price, currency: $currency) { cursor } }";
const SET_QUANTITY: &str = "mutation($sale: ID!, $line: Int!, $quantity: Int!) { setLineQuantity(saleId: $sale, lineId: $line, quantity: $quantity) { cursor } }";
const REMOVE_LINE: &str =
    "mutation($sale: ID!, $line: Int!) { removeLine(saleId: $sale, lineId: $line) { cursor } }";
const ASSIGN: &str = "mutation($sale: ID!, $line: Int!, $serial: String!) { assignSerial(saleId: $sale, lineId: $line, serialNumber: $serial) { cursor } }";
const REMOVE_SERIAL: &str = "mutation($sale: ID!, $line: Int!, $reason: String) { removeSerial(saleId: $sale, lineId: $line, reason: $reason) { cursor } }";
const FULFIL: &str = "mutation($sale: ID!, $lines: [Int!]) { fulfilLines(saleId: $sale, lineIds: $lines) { cursor } }";
const REFUND: &str = "mutation($sale: ID!, $lines: [Int!], $serials: [String!], $reason: String) { refundLines(saleId: $sale, lineIds: $lines, serialNumbers: $serials, reason: $reason) { cursor } }";
const CANCEL: &str = "mutation($sale: ID!, $lines: [Int!]!, $reason: String) { cancelLines(saleId: $sale, lineIds: $lines, reason: $reason) { cursor } }";
const REISSUE: &str = "mutation($sale: ID, $newSale: OpenSaleInput, $returned: ID!, $line: Int!, $serial: String) { reissueLine(saleId: $sale, newSale: $newSale, returnedSaleId: $returned, returnedLineId: $line, serialNumber: $serial) { cursor } }";
const REGISTER: &str =
    "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { id } }";
const REMOVE_WEBHOOK: &str = "mutation($id: ID!) { removeWebhook(id: $id) }";
const RESUME_WEBHOOK: &str = "mutation($id: ID!) { resumeWebhook(id: $id) { id } }";

fn product_input(sku: &str, name: &str) -> Value {
    json!({ "sku": sku, "name": name })
}

fn open_input(invoice: &str) -> Value {
    json!({ "invoiceNumber": invoice, "outletId": OUTLET })
}

/// Every row, aimed at the fixture's ids.
fn rows(f: &Fixture) -> Vec<Row> {
    let mut rows = Vec::new();
    mutation_rows(f, &mut rows);
    serial_rows(f, &mut rows);
    query_rows(f, &mut rows);
    rest_rows(f, &mut rows);
    ledger_rows(f, &mut rows);
    file_rows(f, &mut rows);
    rows
}

/// The verifiable ledger's queries, mutations and REST operations. No checkpoint has been
/// issued for the fixture's retailer, so a well-formed read of one is NOT_FOUND.
fn ledger_rows(f: &Fixture, rows: &mut Vec<Row>) {
    let list = "query($first: Int!) { ledgerCheckpoints(first: $first) { treeSize } }";
    for (what, first, code) in [
        ("first 0", json!(0), "VALIDATION"),
        ("first 501", json!(501), "VALIDATION"),
        ("first negative", json!(-1), "VALIDATION"),
    ] {
        rows.push(gql(
            "ledgerCheckpoints",
            what,
            list,
            json!({ "first": first }),
            code,
            "first",
        ));
    }
    let one = "query($treeSize: Int) { ledgerCheckpoint(treeSize: $treeSize) { treeSize } }";
    rows.push(gql(
        "ledgerCheckpoint",
        "treeSize negative",
        one,
        json!({ "treeSize": -1 }),
        "VALIDATION",
        "treeSize",
    ));
    rows.push(gql(
        "ledgerCheckpoint",
        "treeSize never issued (null)",
        one,
        json!({ "treeSize": 999_999 }),
        "OK",
        "",
    ));
    let inclusion = "query($eventId: ID!, $treeSize: Int) { inclusionProof(eventId: $eventId, treeSize: $treeSize) { leafIndex } }";
    rows.push(gql(
        "inclusionProof",
        "eventId not a UUID",
        inclusion,
        json!({ "eventId": "e" }),
        "VALIDATION",
        "eventId",
    ));
    rows.push(gql(
        "inclusionProof",
        "eventId of no event",
        inclusion,
        json!({ "eventId": UNKNOWN }),
        "NOT_FOUND",
        UNKNOWN,
    ));
    rows.push(gql(
        "inclusionProof",
        "treeSize negative",
        inclusion,
        json!({ "eventId": UNKNOWN, "treeSize": -1 }),
        "VALIDATION",
        "treeSize",
    ));
    let consistency = "query($fromSize: Int!, $toSize: Int) { consistencyProof(fromSize: $fromSize, toSize: $toSize) { proof } }";
    rows.push(gql(
        "consistencyProof",
        "fromSize negative",
        consistency,
        json!({ "fromSize": -1 }),
        "VALIDATION",
        "fromSize",
    ));
    rows.push(gql(
        "consistencyProof",
        "fromSize past toSize",
        consistency,
        json!({ "fromSize": 5, "toSize": 2 }),
        "VALIDATION",
        "fromSize",
    ));
    let issue = "mutation { issueCheckpoint { treeSize } }";
    rows.push(
        gql(
            "issueCheckpoint",
            "a pos token",
            issue,
            json!({}),
            "FORBIDDEN",
            "",
        )
        .role(Role::Pos),
    );
    let cosign = "mutation($treeSize: Int!, $witnessKey: String!, $line: String!) { addCosignature(treeSize: $treeSize, witnessKey: $witnessKey, line: $line) { treeSize } }";
    rows.push(gql(
        "addCosignature",
        "treeSize negative",
        cosign,
        json!({ "treeSize": -1, "witnessKey": "w", "line": "x" }),
        "VALIDATION",
        "treeSize",
    ));
    rows.push(gql(
        "addCosignature",
        "no checkpoint of that size",
        cosign,
        json!({ "treeSize": 999_999, "witnessKey": "w", "line": "x" }),
        "NOT_FOUND",
        "999999",
    ));

    let _ = f;
    for (operation, what, method, path, body, code, names) in [
        (
            "GET /api/v1/ledger/checkpoints",
            "limit 0",
            Method::GET,
            "/api/v1/ledger/checkpoints?limit=0".to_owned(),
            None,
            "VALIDATION",
            "limit",
        ),
        (
            "GET /api/v1/ledger/checkpoints",
            "before not a number",
            Method::GET,
            "/api/v1/ledger/checkpoints?before=x".to_owned(),
            None,
            "VALIDATION",
            "before",
        ),
        (
            "POST /api/v1/ledger/checkpoints",
            "an unknown parameter",
            Method::POST,
            "/api/v1/ledger/checkpoints?size=3".to_owned(),
            None,
            "VALIDATION",
            "size",
        ),
        (
            "GET /api/v1/ledger/checkpoints/latest",
            "an unknown parameter",
            Method::GET,
            "/api/v1/ledger/checkpoints/latest?all=1".to_owned(),
            None,
            "VALIDATION",
            "all",
        ),
        (
            "GET /api/v1/ledger/checkpoints/{treeSize}",
            "treeSize not a number",
            Method::GET,
            "/api/v1/ledger/checkpoints/x".to_owned(),
            None,
            "VALIDATION",
            "treeSize",
        ),
        (
            "GET /api/v1/ledger/checkpoints/{treeSize}",
            "never issued",
            Method::GET,
            "/api/v1/ledger/checkpoints/999999".to_owned(),
            None,
            "NOT_FOUND",
            "999999",
        ),
        (
            "GET /api/v1/ledger/checkpoints/{treeSize}/note",
            "treeSize negative",
            Method::GET,
            "/api/v1/ledger/checkpoints/-1/note".to_owned(),
            None,
            "VALIDATION",
            "treeSize",
        ),
        (
            "POST /api/v1/ledger/checkpoints/{treeSize}/cosignatures",
            "line missing",
            Method::POST,
            "/api/v1/ledger/checkpoints/0/cosignatures".to_owned(),
            Some(json!({ "witnessKey": "w" })),
            "VALIDATION",
            "line",
        ),
        (
            "POST /api/v1/ledger/checkpoints/{treeSize}/cosignatures",
            "no checkpoint of that size",
            Method::POST,
            "/api/v1/ledger/checkpoints/999999/cosignatures".to_owned(),
            Some(json!({ "witnessKey": "w", "line": "x" })),
            "NOT_FOUND",
            "999999",
        ),
        (
            "GET /api/v1/ledger/keys",
            "an unknown parameter",
            Method::GET,
            "/api/v1/ledger/keys?all=1".to_owned(),
            None,
            "VALIDATION",
            "all",
        ),
        (
            "GET /api/v1/ledger/proofs/consistency",
            "from missing",
            Method::GET,
            "/api/v1/ledger/proofs/consistency".to_owned(),
            None,
            "VALIDATION",
            "from",
        ),
        (
            "GET /api/v1/ledger/proofs/consistency",
            "from past to",
            Method::GET,
            "/api/v1/ledger/proofs/consistency?from=5&to=2".to_owned(),
            None,
            "VALIDATION",
            "from",
        ),
        (
            "GET /api/v1/ledger/proofs/inclusion",
            "eventId not a UUID",
            Method::GET,
            "/api/v1/ledger/proofs/inclusion?eventId=e".to_owned(),
            None,
            "VALIDATION",
            "eventId",
        ),
        (
            "GET /api/v1/ledger/proofs/inclusion",
            "eventId of no event",
            Method::GET,
            format!("/api/v1/ledger/proofs/inclusion?eventId={UNKNOWN}&treeSize=1"),
            None,
            "NOT_FOUND",
            UNKNOWN,
        ),
    ] {
        rows.push(rest(operation, what, method, path, body, code, names));
    }
}

fn mutation_rows(f: &Fixture, rows: &mut Vec<Row>) {
    // ---- createProduct
    for (what, text) in bad_texts(64) {
        rows.push(gql(
            "createProduct",
            format!("sku {what}"),
            CREATE,
            json!({ "input": product_input(&text, "Phone") }),
            "VALIDATION",
            "sku",
        ));
    }
    for (what, text) in bad_texts(200) {
        rows.push(gql(
            "createProduct",
            format!("name {what}"),
            CREATE,
            json!({ "input": product_input("NEW-1", &text) }),
            "VALIDATION",
            "name",
        ));
    }
    let package = |product: &str, quantity: Value| {
        json!({ "input": { "sku": "PACK-1", "name": "Pack",
            "package": { "mode": "CONSOLIDATED", "components": [{ "productId": product, "quantity": quantity }] } } })
    };
    for (what, variables, code, names) in [
        (
            "id not a UUID",
            json!({ "input": { "id": "not-a-uuid", "sku": "N-1", "name": "N" } }),
            "VALIDATION",
            "input.id",
        ),
        (
            "id of an existing product",
            json!({ "input": { "id": f.phone, "sku": "N-1", "name": "N" } }),
            "ALREADY_EXISTS",
            "exist",
        ),
        (
            "component quantity 0",
            package(&f.cable, json!(0)),
            "VALIDATION",
            "quantity",
        ),
        (
            "component quantity above the maximum",
            package(&f.cable, json!(10_001)),
            "VALIDATION",
            "quantity",
        ),
        // async-graphql names the argument and the input type, not the nested field.
        (
            "component quantity negative",
            package(&f.cable, json!(-1)),
            "VALIDATION",
            "PackageComponentInput",
        ),
        (
            "component quantity overflowing i32",
            package(&f.cable, json!(4_294_967_296_i64)),
            "VALIDATION",
            "PackageComponentInput",
        ),
        (
            "component not a UUID",
            package("x", json!(1)),
            "VALIDATION",
            "productId",
        ),
        (
            "component unknown",
            package(UNKNOWN, json!(1)),
            "NOT_FOUND",
            UNKNOWN,
        ),
        (
            "component of another retailer",
            package(&f.foreign_product, json!(1)),
            "NOT_FOUND",
            &f.foreign_product,
        ),
        (
            "no components",
            json!({ "input": { "sku": "PACK-1", "name": "Pack", "package": { "mode": "EXPLODED", "components": [] } } }),
            "VALIDATION",
            "components",
        ),
        (
            "serialMode not an enum value",
            json!({ "input": { "sku": "N-1", "name": "N", "serialMode": "ALWAYS" } }),
            "VALIDATION",
            "serialMode",
        ),
        (
            "sku not a string",
            json!({ "input": { "sku": 42, "name": "N" } }),
            "VALIDATION",
            "sku",
        ),
        (
            "sku missing",
            json!({ "input": { "name": "N" } }),
            "VALIDATION",
            "sku",
        ),
    ] {
        rows.push(gql("createProduct", what, CREATE, variables, code, names));
    }
    rows.push(gql(
        "createProduct",
        "commandId not a UUID",
        "mutation { createProduct(input: { sku: \"N-1\", name: \"N\" }, commandId: \"abc\") { cursor } }",
        json!({}),
        "VALIDATION",
        "commandId",
    ));

    // ---- updateProduct
    for (what, variables, code, names) in [
        (
            "id not a UUID",
            json!({ "id": "x", "name": "N" }),
            "VALIDATION",
            "id",
        ),
        (
            "id unknown",
            json!({ "id": UNKNOWN, "name": "N" }),
            "NOT_FOUND",
            UNKNOWN,
        ),
        (
            "id of another retailer's product",
            json!({ "id": f.foreign_product, "name": "N" }),
            "NOT_FOUND",
            &f.foreign_product,
        ),
        (
            "id of another retailer's product, serial mode only",
            json!({ "id": f.foreign_product, "mode": "REQUIRED" }),
            "NOT_FOUND",
            "product",
        ),
        (
            "nothing to change",
            json!({ "id": f.phone }),
            "VALIDATION",
            "sku",
        ),
        (
            "sku empty",
            json!({ "id": f.phone, "sku": "" }),
            "VALIDATION",
            "sku",
        ),
        (
            "sku NUL",
            json!({ "id": f.phone, "sku": "P\u{0}" }),
            "VALIDATION",
            "sku",
        ),
        (
            "sku 65 characters",
            json!({ "id": f.phone, "sku": "P".repeat(65) }),
            "VALIDATION",
            "sku",
        ),
        (
            "name with escape sequence",
            json!({ "id": f.phone, "name": "\u{1b}[2J" }),
            "VALIDATION",
            "name",
        ),
        (
            "a valid name with a package of quantity 0",
            json!({ "id": f.phone, "name": "Phone renamed", "package": { "mode": "CONSOLIDATED", "components": [{ "productId": f.cable, "quantity": 0 }] } }),
            "VALIDATION",
            "quantity",
        ),
        (
            "a valid serial mode with a package of an unknown component",
            json!({ "id": f.phone, "mode": "OPTIONAL", "package": { "mode": "CONSOLIDATED", "components": [{ "productId": UNKNOWN, "quantity": 1 }] } }),
            "NOT_FOUND",
            UNKNOWN,
        ),
        (
            "package containing itself",
            json!({ "id": f.phone, "package": { "mode": "CONSOLIDATED", "components": [{ "productId": f.phone, "quantity": 1 }] } }),
            "PACKAGE_CYCLE",
            &f.phone,
        ),
    ] {
        rows.push(gql("updateProduct", what, UPDATE, variables, code, names));
    }

    // ---- applyProductEditSetting
    let too_many: Vec<String> = (0..501).map(|_| UNKNOWN.to_owned()).collect();
    for (what, variables, code, names) in [
        (
            "productIds empty",
            json!({ "ids": [] }),
            "VALIDATION",
            "productIds",
        ),
        (
            "productIds 501 ids",
            json!({ "ids": too_many }),
            "VALIDATION",
            "productIds",
        ),
        (
            "productIds not a UUID",
            json!({ "ids": [f.phone, "x"] }),
            "VALIDATION",
            "productIds[1]",
        ),
        (
            "neither ids nor matching",
            json!({}),
            "VALIDATION",
            "productIds",
        ),
        (
            "both ids and matching",
            json!({ "ids": [f.phone], "matching": {} }),
            "VALIDATION",
            "matching",
        ),
        (
            "productIds unknown",
            json!({ "ids": [UNKNOWN] }),
            "NOT_FOUND",
            UNKNOWN,
        ),
        (
            "productIds of another retailer",
            json!({ "ids": [f.foreign_product] }),
            "NOT_FOUND",
            &f.foreign_product,
        ),
        (
            "matching search with NUL",
            json!({ "matching": { "search": "\u{0}" } }),
            "VALIDATION",
            "search",
        ),
        (
            "matching search matching nothing",
            json!({ "matching": { "search": "no such product anywhere" } }),
            "VALIDATION",
            "matching",
        ),
    ] {
        rows.push(gql(
            "applyProductEditSetting",
            what,
            BULK,
            variables,
            code,
            names,
        ));
    }

    // ---- updateSettings
    rows.push(gql(
        "updateSettings",
        "nothing to change",
        SETTINGS,
        json!({}),
        "VALIDATION",
        "setting",
    ));
    rows.push(gql(
        "updateSettings",
        "commandId not a UUID",
        SETTINGS,
        json!({ "auto": true, "command": "1234" }),
        "VALIDATION",
        "commandId",
    ));
    rows.push(gql(
        "updateSettings",
        "a boolean given as a string",
        SETTINGS,
        json!({ "auto": "yes" }),
        "VALIDATION",
        "auto",
    ));
    rows.push(
        gql(
            "updateSettings",
            "a POS token",
            SETTINGS,
            json!({ "auto": true }),
            "FORBIDDEN",
            "settings",
        )
        .role(Role::Pos),
    );

    // ---- openSale
    for (what, text) in bad_texts(64) {
        rows.push(gql(
            "openSale",
            format!("invoiceNumber {what}"),
            OPEN,
            json!({ "input": open_input(&text) }),
            "VALIDATION",
            "invoice",
        ));
    }
    for (what, text) in bad_texts(200) {
        rows.push(gql(
            "openSale",
            format!("customer name {what}"),
            OPEN,
            json!({ "input": { "invoiceNumber": "INV-NEW", "outletId": OUTLET, "customer": { "id": UNKNOWN, "name": text } } }),
            "VALIDATION",
            "customer.name",
        ));
    }
    for (what, input, code, names) in [
        (
            "outletId not a UUID",
            json!({ "invoiceNumber": "INV-NEW", "outletId": "outlet-1" }),
            "VALIDATION",
            "outletId",
        ),
        (
            "customer id not a UUID",
            json!({ "invoiceNumber": "INV-NEW", "outletId": OUTLET, "customer": { "id": "c1", "name": "Ann" } }),
            "VALIDATION",
            "customer.id",
        ),
        (
            "id not a UUID",
            json!({ "id": "sale-1", "invoiceNumber": "INV-NEW", "outletId": OUTLET }),
            "VALIDATION",
            "input.id",
        ),
        (
            "id of a sale already open",
            json!({ "id": f.sale, "invoiceNumber": "INV-NEW", "outletId": OUTLET }),
            "ALREADY_EXISTS",
            "INV-1",
        ),
        (
            "invoice number taken, in another case",
            json!({ "invoiceNumber": " inv-1 ", "outletId": OUTLET }),
            "INVOICE_NUMBER_TAKEN",
            "inv-1",
        ),
        (
            "saleType not an enum value",
            json!({ "invoiceNumber": "INV-NEW", "outletId": OUTLET, "saleType": "GIFT" }),
            "VALIDATION",
            "saleType",
        ),
    ] {
        rows.push(gql(
            "openSale",
            what,
            OPEN,
            json!({ "input": input }),
            code,
            names,
        ));
    }

    // ---- addItem
    let add = |sale: &str, product: &str, quantity: Value| json!({ "sale": sale, "product": product, "quantity": quantity });
    for (what, variables, code, names) in [
        (
            "quantity 0",
            add(&f.sale, &f.cable, json!(0)),
            "VALIDATION",
            "quantity",
        ),
        (
            "quantity negative",
            add(&f.sale, &f.cable, json!(-3)),
            "VALIDATION",
            "quantity",
        ),
        (
            "quantity above the maximum",
            add(&f.sale, &f.cable, json!(10_001)),
            "VALIDATION",
            "quantity",
        ),
        (
            "quantity i32::MAX",
            add(&f.sale, &f.cable, json!(i32::MAX)),
            "VALIDATION",
            "quantity",
        ),
        (
            "quantity overflowing i32",
            add(&f.sale, &f.cable, json!(2_147_483_648_i64)),
            "VALIDATION",
            "quantity",
        ),
        (
            "quantity as a float",
            add(&f.sale, &f.cable, json!(1.5)),
            "VALIDATION",
            "quantity",
        ),
        (
            "tracked quantity past the lines a sale may hold",
            add(&f.sale, &f.phone, json!(1_000)),
            "VALIDATION",
            "1000",
        ),
        (
            "saleId not a UUID",
            add("x", &f.cable, json!(1)),
            "VALIDATION",
            "saleId",
        ),
        (
            "productId not a UUID",
            add(&f.sale, "x", json!(1)),
            "VALIDATION",
            "productId",
        ),
        (
            "saleId unknown",
            add(UNKNOWN, &f.cable, json!(1)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "productId unknown",
            add(&f.sale, UNKNOWN, json!(1)),
            "NOT_FOUND",
            UNKNOWN,
        ),
        (
            "saleId of another retailer",
            add(&f.foreign_sale, &f.cable, json!(1)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "productId of another retailer",
            add(&f.sale, &f.foreign_product, json!(1)),
            "NOT_FOUND",
            &f.foreign_product,
        ),
        (
            "negative price",
            json!({ "sale": f.sale, "product": f.cable, "quantity": 1, "price": -1 }),
            "VALIDATION",
            "amount_minor",
        ),
        (
            "price times quantity overflowing",
            json!({ "sale": f.sale, "product": f.cable, "quantity": 10, "price": i64::MAX }),
            "VALIDATION",
            "amount",
        ),
        (
            "currency lower case",
            json!({ "sale": f.sale, "product": f.cable, "quantity": 1, "currency": "aud" }),
            "VALIDATION",
            "currency",
        ),
        (
            "currency empty",
            json!({ "sale": f.sale, "product": f.cable, "quantity": 1, "currency": "" }),
            "VALIDATION",
            "currency",
        ),
        (
            "currency with NUL",
            json!({ "sale": f.sale, "product": f.cable, "quantity": 1, "currency": "AU\u{0}" }),
            "VALIDATION",
            "currency",
        ),
        (
            "currency look-alike (Cyrillic А)",
            json!({ "sale": f.sale, "product": f.cable, "quantity": 1, "currency": "\u{0410}UD" }),
            "VALIDATION",
            "currency",
        ),
        (
            "currency other than the sale's",
            json!({ "sale": f.sale, "product": f.cable, "quantity": 1, "currency": "USD" }),
            "VALIDATION",
            "currency",
        ),
    ] {
        rows.push(gql("addItem", what, ADD, variables, code, names));
    }

    // ---- setLineQuantity (line 2 is DISABLED, line 1 tracked)
    let quantity = |sale: &str, line: Value, quantity: Value| json!({ "sale": sale, "line": line, "quantity": quantity });
    for (what, variables, code, names) in [
        (
            "quantity 0",
            quantity(&f.sale, json!(2), json!(0)),
            "VALIDATION",
            "quantity",
        ),
        (
            "quantity negative",
            quantity(&f.sale, json!(2), json!(-1)),
            "VALIDATION",
            "quantity",
        ),
        (
            "quantity above the maximum",
            quantity(&f.sale, json!(2), json!(10_001)),
            "VALIDATION",
            "quantity",
        ),
        (
            "quantity overflowing i32",
            quantity(&f.sale, json!(2), json!(99_999_999_999_i64)),
            "VALIDATION",
            "quantity",
        ),
        (
            "lineId 0",
            quantity(&f.sale, json!(0), json!(2)),
            "VALIDATION",
            "lineId",
        ),
        (
            "lineId negative",
            quantity(&f.sale, json!(-2), json!(2)),
            "VALIDATION",
            "lineId",
        ),
        (
            "lineId unknown",
            quantity(&f.sale, json!(99), json!(2)),
            "NOT_FOUND",
            "99",
        ),
        (
            "a serial-tracked line",
            quantity(&f.sale, json!(1), json!(2)),
            "QUANTITY_SPLIT_REQUIRED",
            "1",
        ),
        (
            "saleId not a UUID",
            quantity("", json!(2), json!(2)),
            "VALIDATION",
            "saleId",
        ),
        (
            "saleId of another retailer",
            quantity(&f.foreign_sale, json!(1), json!(2)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "a fulfilled line",
            quantity(&f.fulfilled, json!(1), json!(2)),
            "LINE_FULFILLED",
            "1",
        ),
    ] {
        rows.push(gql(
            "setLineQuantity",
            what,
            SET_QUANTITY,
            variables,
            code,
            names,
        ));
    }

    // ---- removeLine
    let line = |sale: &str, line: Value| json!({ "sale": sale, "line": line });
    for (what, variables, code, names) in [
        ("lineId 0", line(&f.sale, json!(0)), "VALIDATION", "lineId"),
        (
            "lineId negative",
            line(&f.sale, json!(-1)),
            "VALIDATION",
            "lineId",
        ),
        (
            "lineId unknown",
            line(&f.sale, json!(1000)),
            "NOT_FOUND",
            "1000",
        ),
        (
            "lineId i32::MIN",
            line(&f.sale, json!(i32::MIN)),
            "VALIDATION",
            "lineId",
        ),
        (
            "saleId not a UUID",
            line("1 OR 1=1", json!(1)),
            "VALIDATION",
            "saleId",
        ),
        (
            "saleId unknown",
            line(UNKNOWN, json!(1)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "saleId of another retailer",
            line(&f.foreign_sale, json!(1)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "a fulfilled line",
            line(&f.fulfilled, json!(1)),
            "LINE_FULFILLED",
            "1",
        ),
    ] {
        rows.push(gql("removeLine", what, REMOVE_LINE, variables, code, names));
    }

    // ---- removeSerial (line 3 holds SN-FIX-3, line 1 none)
    let remove = |sale: &str, line: i64, reason: Value| json!({ "sale": sale, "line": line, "reason": reason });
    for (what, text) in bad_texts(500).into_iter().skip(2) {
        rows.push(gql(
            "removeSerial",
            format!("reason {what}"),
            REMOVE_SERIAL,
            remove(&f.sale, 3, json!(text)),
            "VALIDATION",
            "reason",
        ));
    }
    for (what, variables, code, names) in [
        (
            "a line without a serial",
            remove(&f.sale, 1, json!(null)),
            "NOT_FOUND",
            "serial",
        ),
        (
            "lineId 0",
            remove(&f.sale, 0, json!(null)),
            "VALIDATION",
            "lineId",
        ),
        (
            "saleId of another retailer",
            remove(&f.foreign_sale, 1, json!(null)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "saleId unknown",
            remove(UNKNOWN, 1, json!(null)),
            "NOT_FOUND",
            "sale",
        ),
    ] {
        rows.push(gql(
            "removeSerial",
            what,
            REMOVE_SERIAL,
            variables,
            code,
            names,
        ));
    }

    // ---- fulfilLines
    let fulfil = |sale: &str, lines: Value| json!({ "sale": sale, "lines": lines });
    for (what, variables, code, names) in [
        (
            "lineIds empty",
            fulfil(&f.sale, json!([])),
            "VALIDATION",
            "line",
        ),
        (
            "lineIds 0",
            fulfil(&f.sale, json!([0])),
            "VALIDATION",
            "lineIds[0]",
        ),
        (
            "lineIds negative",
            fulfil(&f.sale, json!([2, -7])),
            "VALIDATION",
            "lineIds[1]",
        ),
        (
            "lineIds unknown",
            fulfil(&f.sale, json!([77])),
            "NOT_FOUND",
            "77",
        ),
        (
            "lineIds twice",
            fulfil(&f.sale, json!([2, 2])),
            "VALIDATION",
            "2",
        ),
        (
            "a REQUIRED line without its serial",
            fulfil(&f.sale, json!([1])),
            "SERIAL_REQUIRED",
            "1",
        ),
        (
            "an already fulfilled line",
            fulfil(&f.fulfilled, json!([1])),
            "LINE_FULFILLED",
            "1",
        ),
        (
            "saleId of another retailer",
            fulfil(&f.foreign_sale, json!(null)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "saleId not a UUID",
            fulfil("{}", json!(null)),
            "VALIDATION",
            "saleId",
        ),
    ] {
        rows.push(gql("fulfilLines", what, FULFIL, variables, code, names));
    }

    // ---- refundLines (INV-2 line 1 fulfilled; INV-3 line 1 returned)
    let refund = |sale: &str, lines: Value, serials: Value, reason: Value| json!({ "sale": sale, "lines": lines, "serials": serials, "reason": reason });
    for (what, text) in bad_texts(500).into_iter().skip(2) {
        rows.push(gql(
            "refundLines",
            format!("reason {what}"),
            REFUND,
            refund(&f.fulfilled, json!([1]), json!(null), json!(text)),
            "VALIDATION",
            "reason",
        ));
    }
    for (what, serial, names) in LOOK_ALIKES {
        rows.push(gql(
            "refundLines",
            format!("serialNumbers {what}"),
            REFUND,
            refund(&f.returned, json!(null), json!([serial]), json!(null)),
            "INVALID_SERIAL",
            names,
        ));
    }
    for (what, variables, code, names) in [
        (
            "nothing selected",
            refund(&f.fulfilled, json!(null), json!(null), json!(null)),
            "VALIDATION",
            "lineIds",
        ),
        (
            "lineIds 0",
            refund(&f.fulfilled, json!([0]), json!(null), json!(null)),
            "VALIDATION",
            "lineIds[0]",
        ),
        (
            "an unfulfilled line",
            refund(&f.sale, json!([2]), json!(null), json!(null)),
            "LINE_NOT_FULFILLED",
            "2",
        ),
        (
            "a line already returned",
            refund(&f.returned, json!([1]), json!(null), json!(null)),
            "ALREADY_RETURNED",
            "1",
        ),
        (
            "a serial never on the sale",
            refund(&f.fulfilled, json!(null), json!(["NOPE-1"]), json!(null)),
            "NOT_FOUND",
            "NOPE-1",
        ),
        (
            "saleId of another retailer",
            refund(&f.foreign_sale, json!([1]), json!(null), json!(null)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "saleId not a UUID",
            refund("zz", json!([1]), json!(null), json!(null)),
            "VALIDATION",
            "saleId",
        ),
    ] {
        rows.push(gql("refundLines", what, REFUND, variables, code, names));
    }

    // ---- cancelLines
    let cancel = |sale: &str, lines: Value, reason: Value| json!({ "sale": sale, "lines": lines, "reason": reason });
    for (what, text) in bad_texts(500).into_iter().skip(2) {
        rows.push(gql(
            "cancelLines",
            format!("reason {what}"),
            CANCEL,
            cancel(&f.sale, json!([2]), json!(text)),
            "VALIDATION",
            "reason",
        ));
    }
    for (what, variables, code, names) in [
        (
            "lineIds empty",
            cancel(&f.sale, json!([]), json!(null)),
            "VALIDATION",
            "lineIds",
        ),
        (
            "lineIds 0",
            cancel(&f.sale, json!([0]), json!(null)),
            "VALIDATION",
            "lineIds[0]",
        ),
        (
            "lineIds unknown",
            cancel(&f.sale, json!([55]), json!(null)),
            "NOT_FOUND",
            "55",
        ),
        (
            "a fulfilled line",
            cancel(&f.fulfilled, json!([1]), json!(null)),
            "LINE_FULFILLED",
            "1",
        ),
        (
            "saleId of another retailer",
            cancel(&f.foreign_sale, json!([1]), json!(null)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "lineIds missing",
            json!({ "sale": f.sale }),
            "VALIDATION",
            "lines",
        ),
    ] {
        rows.push(gql("cancelLines", what, CANCEL, variables, code, names));
    }

    // ---- reissueLine (INV-3 line 1 is returned)
    let reissue = |sale: Value, new_sale: Value, returned: &str, line: i64, serial: Value| json!({ "sale": sale, "newSale": new_sale, "returned": returned, "line": line, "serial": serial });
    for (what, serial, names) in LOOK_ALIKES {
        rows.push(gql(
            "reissueLine",
            format!("serialNumber {what}"),
            REISSUE,
            reissue(json!(f.sale), json!(null), &f.returned, 1, json!(serial)),
            "INVALID_SERIAL",
            names,
        ));
    }
    for (what, variables, code, names) in [
        (
            "neither saleId nor newSale",
            reissue(json!(null), json!(null), &f.returned, 1, json!(null)),
            "VALIDATION",
            "saleId",
        ),
        (
            "both saleId and newSale",
            reissue(
                json!(f.sale),
                open_input("INV-NEW"),
                &f.returned,
                1,
                json!(null),
            ),
            "VALIDATION",
            "newSale",
        ),
        (
            "returnedSaleId not a UUID",
            reissue(json!(f.sale), json!(null), "r", 1, json!(null)),
            "VALIDATION",
            "returnedSaleId",
        ),
        (
            "returnedLineId 0",
            reissue(json!(f.sale), json!(null), &f.returned, 0, json!(null)),
            "VALIDATION",
            "returnedLineId",
        ),
        (
            "returnedSaleId unknown",
            reissue(json!(f.sale), json!(null), UNKNOWN, 1, json!(null)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "returnedSaleId of another retailer",
            reissue(json!(f.sale), json!(null), &f.foreign_sale, 1, json!(null)),
            "NOT_FOUND",
            "sale",
        ),
        (
            "a line that was not returned",
            reissue(json!(f.sale), json!(null), &f.fulfilled, 1, json!(null)),
            "LINE_NOT_RETURNED",
            "1",
        ),
        (
            "on the sale it was returned from",
            reissue(json!(f.returned), json!(null), &f.returned, 1, json!(null)),
            "VALIDATION",
            "sale",
        ),
        (
            "saleId of another retailer",
            reissue(
                json!(f.foreign_sale),
                json!(null),
                &f.returned,
                1,
                json!(null),
            ),
            "NOT_FOUND",
            "sale",
        ),
        (
            "newSale with a NUL invoice number",
            reissue(
                json!(null),
                open_input("INV\u{0}9"),
                &f.returned,
                1,
                json!(null),
            ),
            "VALIDATION",
            "invoice",
        ),
        (
            "a valid newSale and an unknown returned sale",
            reissue(
                json!(null),
                open_input("INV-REISSUE-1"),
                UNKNOWN,
                1,
                json!(null),
            ),
            "NOT_FOUND",
            "sale",
        ),
        (
            "a valid newSale and a line that was not returned",
            reissue(
                json!(null),
                open_input("INV-REISSUE-2"),
                &f.fulfilled,
                1,
                json!(null),
            ),
            "LINE_NOT_RETURNED",
            "1",
        ),
        (
            "a valid newSale and an invalid serial",
            reissue(
                json!(null),
                open_input("INV-REISSUE-3"),
                &f.returned,
                1,
                json!("SN\u{200B}"),
            ),
            "INVALID_SERIAL",
            "\u{200B}",
        ),
    ] {
        rows.push(gql("reissueLine", what, REISSUE, variables, code, names));
    }

    // ---- registerWebhook
    let hook = |url: &str, secret: &str, types: Value, after: Value| json!({ "input": { "url": url, "secret": secret, "eventTypes": types, "after": after } });
    const SECRET: &str = "a-long-random-secret-0123";
    let long_url = format!("https://example.com/{}", "a".repeat(3000));
    for (what, variables, names) in [
        (
            "url empty",
            hook("", SECRET, json!(null), json!(null)),
            "url",
        ),
        (
            "url not a URL",
            hook("not a url", SECRET, json!(null), json!(null)),
            "url",
        ),
        (
            "url ftp",
            hook("ftp://example.com/x", SECRET, json!(null), json!(null)),
            "url",
        ),
        (
            "url with credentials",
            hook(
                "https://user:pw@example.com/",
                SECRET,
                json!(null),
                json!(null),
            ),
            "url",
        ),
        (
            "url with NUL",
            hook(
                "https://exa\u{0}mple.com/",
                SECRET,
                json!(null),
                json!(null),
            ),
            "url",
        ),
        (
            "url 3000 characters",
            hook(&long_url, SECRET, json!(null), json!(null)),
            "url",
        ),
        (
            "secret short",
            hook("https://example.com/h", "short", json!(null), json!(null)),
            "secret",
        ),
        (
            "secret with NUL",
            hook(
                "https://example.com/h",
                "0123456789abcdef\u{0}",
                json!(null),
                json!(null),
            ),
            "secret",
        ),
        (
            "secret 300 characters",
            hook(
                "https://example.com/h",
                &"s".repeat(300),
                json!(null),
                json!(null),
            ),
            "secret",
        ),
        (
            "eventTypes unknown",
            hook(
                "https://example.com/h",
                SECRET,
                json!(["SerialStolen"]),
                json!(null),
            ),
            "eventTypes",
        ),
        (
            "eventTypes with NUL",
            hook(
                "https://example.com/h",
                SECRET,
                json!(["\u{0}"]),
                json!(null),
            ),
            "eventTypes",
        ),
        (
            "after malformed",
            hook(
                "https://example.com/h",
                SECRET,
                json!(null),
                json!("garbage"),
            ),
            "after",
        ),
        (
            "after negative",
            hook("https://example.com/h", SECRET, json!(null), json!("-1:-1")),
            "after",
        ),
    ] {
        rows.push(gql(
            "registerWebhook",
            what,
            REGISTER,
            variables,
            "VALIDATION",
            names,
        ));
    }

    // ---- removeWebhook, resumeWebhook
    for (operation, query) in [
        ("removeWebhook", REMOVE_WEBHOOK),
        ("resumeWebhook", RESUME_WEBHOOK),
    ] {
        rows.push(gql(
            operation,
            "id not a UUID",
            query,
            json!({ "id": "x" }),
            "VALIDATION",
            "id",
        ));
        rows.push(gql(
            operation,
            "id unknown",
            query,
            json!({ "id": UNKNOWN }),
            "NOT_FOUND",
            UNKNOWN,
        ));
        rows.push(gql(
            operation,
            "id of another retailer's webhook",
            query,
            json!({ "id": f.foreign_webhook }),
            "NOT_FOUND",
            f.foreign_webhook.clone(),
        ));
        rows.push(
            gql(
                operation,
                "an integrator token",
                query,
                json!({ "id": UNKNOWN }),
                "FORBIDDEN",
                "webhook",
            )
            .role(Role::Integrator),
        );
    }

    // ---- importProducts (GraphQL multipart)
    let mut invalid_utf8 = b"SKU,Name\nCSV-1,Caf".to_vec();
    invalid_utf8.extend_from_slice(&[0xe9, 0xff, b'\n']);
    let mut bad_header = b"SK".to_vec();
    bad_header.extend_from_slice(&[0xc3, 0x28]);
    bad_header.extend_from_slice(b",Name\nA,B\n");
    rows.push(gql_upload(
        "a cell of invalid UTF-8",
        &invalid_utf8,
        "VALIDATION",
        "UTF-8",
    ));
    rows.push(gql_upload(
        "a header of invalid UTF-8",
        &bad_header,
        "VALIDATION",
        "header",
    ));
    rows.push(gql_upload(
        "a NUL in a SKU",
        b"SKU,Name\nCSV\x00-1,Cable\n",
        "VALIDATION",
        "SKU",
    ));
    rows.push(gql_upload(
        "an escape sequence in a name",
        b"SKU,Name\nCSV-1,\x1b[2JCable\n",
        "VALIDATION",
        "Name",
    ));
    rows.push(gql_upload(
        "a huge cell",
        format!("SKU,Name\nCSV-1,{}\n", "n".repeat(100_000)).as_bytes(),
        "VALIDATION",
        "Name",
    ));
    rows.push(gql_upload(
        "an unknown serial option",
        b"SKU,Name,Serial Number Option\nCSV-1,Cable,Sometimes\n",
        "VALIDATION",
        "Serial Number Option",
    ));
    rows.push(gql_upload("an empty file", b"", "VALIDATION", "header"));
}

fn serial_rows(f: &Fixture, rows: &mut Vec<Row>) {
    let assign = |serial: &str| json!({ "sale": f.sale, "line": 1, "serial": serial });
    let put = format!("/api/v1/sales/{}/lines/1/serial", f.sale);
    let fulfil = format!("/api/v1/sales/{}/fulfilments", f.sale);
    for (what, serial, names) in LOOK_ALIKES {
        rows.push(gql(
            "assignSerial",
            format!("serial {what}"),
            ASSIGN,
            assign(serial),
            "INVALID_SERIAL",
            names,
        ));
        rows.push(rest(
            "PUT /api/v1/sales/{saleId}/lines/{lineNumber}/serial",
            format!("serial {what}"),
            Method::PUT,
            put.clone(),
            Some(json!({ "serialNumber": serial })),
            "INVALID_SERIAL",
            names,
        ));
        rows.push(rest(
            "POST /api/v1/sales/{saleId}/fulfilments",
            format!("serial {what}"),
            Method::POST,
            fulfil.clone(),
            Some(json!({ "lines": [{ "lineNumber": 1, "serialNumber": serial }] })),
            "INVALID_SERIAL",
            names,
        ));
        rows.push(rest(
            "GET /api/v1/serials/trace",
            format!("serial {what}"),
            Method::GET,
            format!("/api/v1/serials/trace?serialNumber={}", encode(serial)),
            None,
            "INVALID_SERIAL",
            names,
        ));
        rows.push(gql(
            "serialTrace",
            format!("serial {what}"),
            "query($serial: String!) { serialTrace(serialNumber: $serial) { serialNumber } }",
            json!({ "serial": serial }),
            "INVALID_SERIAL",
            names,
        ));
    }
    for (what, serial, names) in broken_serials() {
        rows.push(gql(
            "assignSerial",
            format!("serial {what}"),
            ASSIGN,
            assign(&serial),
            "INVALID_SERIAL",
            names,
        ));
        rows.push(rest(
            "PUT /api/v1/sales/{saleId}/lines/{lineNumber}/serial",
            format!("serial {what}"),
            Method::PUT,
            put.clone(),
            Some(json!({ "serialNumber": serial })),
            "INVALID_SERIAL",
            names,
        ));
        rows.push(rest(
            "POST /api/v1/sales/{saleId}/fulfilments",
            format!("serial {what}"),
            Method::POST,
            fulfil.clone(),
            Some(json!({ "lines": [{ "lineNumber": 2 }, { "lineNumber": 1, "serialNumber": serial }] })),
            "INVALID_SERIAL",
            names,
        ));
    }
    for (what, variables, code, names) in [
        (
            "a line of a DISABLED product",
            json!({ "sale": f.sale, "line": 2, "serial": "SN-9" }),
            "SERIAL_MODE_DISABLED",
            "2",
        ),
        (
            "a serial live on another line",
            json!({ "sale": f.sale, "line": 1, "serial": "sn-fix-3" }),
            "SERIAL_ALREADY_ASSIGNED",
            "INV-1",
        ),
        (
            "lineId 0",
            json!({ "sale": f.sale, "line": 0, "serial": "SN-9" }),
            "VALIDATION",
            "lineId",
        ),
        (
            "lineId unknown",
            json!({ "sale": f.sale, "line": 9, "serial": "SN-9" }),
            "NOT_FOUND",
            "9",
        ),
        (
            "lineId overflowing i32",
            json!({ "sale": f.sale, "line": 4_294_967_297_i64, "serial": "SN-9" }),
            "VALIDATION",
            "line",
        ),
        (
            "saleId of another retailer",
            json!({ "sale": f.foreign_sale, "line": 1, "serial": "SN-9" }),
            "NOT_FOUND",
            "sale",
        ),
        (
            "serialNumber null",
            json!({ "sale": f.sale, "line": 1, "serial": null }),
            "VALIDATION",
            "serial",
        ),
        (
            "a fulfilled line",
            json!({ "sale": f.fulfilled, "line": 1, "serial": "SN-9" }),
            "SERIAL_MODE_DISABLED",
            "1",
        ),
    ] {
        rows.push(gql("assignSerial", what, ASSIGN, variables, code, names));
    }
}

/// Percent-encodes every byte but unreserved ASCII (for query strings).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

fn query_rows(f: &Fixture, rows: &mut Vec<Row>) {
    let huge = "f".repeat(100_000);
    let bad_cursors = [
        ("garbage", "garbage"),
        ("empty hex", "00"),
        ("hex of another shape", "6c696e652d7631"),
        ("an event cursor", "1:1"),
        ("NUL", "\u{0}"),
        ("huge", huge.as_str()),
    ];
    for (operation, query) in [
        (
            "fulfilmentReport",
            "query($after: String) { fulfilmentReport(after: $after) { edges { cursor } } }",
        ),
        (
            "salesReport",
            "query($after: String) { salesReport(after: $after) { edges { cursor } } }",
        ),
        (
            "products",
            "query($after: String) { products(after: $after) { edges { cursor } } }",
        ),
    ] {
        for (what, cursor) in bad_cursors {
            rows.push(gql(
                operation,
                format!("after {what}"),
                query,
                json!({ "after": cursor }),
                "VALIDATION",
                "after",
            ));
        }
        let first = query
            .replace("$after: String", "$first: Int")
            .replace("after: $after", "first: $first");
        rows.push(gql(
            operation,
            "first negative",
            &first,
            json!({ "first": -1 }),
            "VALIDATION",
            "first",
        ));
        rows.push(gql(
            operation,
            "first i32::MAX (capped, answered)",
            &first,
            json!({ "first": i32::MAX }),
            "OK",
            "",
        ));
        rows.push(gql(
            operation,
            "first overflowing i32",
            &first,
            json!({ "first": 1_i64 << 40 }),
            "VALIDATION",
            "first",
        ));
    }
    let events = "query($after: String, $first: Int) { events(after: $after, first: $first) { edges { cursor } } }";
    let event_cursors = bad_cursors
        .iter()
        .filter(|(what, _)| *what != "an event cursor")
        .chain(&[("negative", "-1:-1"), ("one number", "12")]);
    for (what, cursor) in event_cursors {
        rows.push(
            gql(
                "events",
                format!("after {what}"),
                events,
                json!({ "after": cursor }),
                "VALIDATION",
                "after",
            )
            .role(Role::Auditor),
        );
    }
    rows.push(
        gql(
            "events",
            "first negative",
            events,
            json!({ "first": -5 }),
            "VALIDATION",
            "first",
        )
        .role(Role::Auditor),
    );
    rows.push(
        gql(
            "events",
            "first i32::MAX (capped, answered)",
            events,
            json!({ "first": i32::MAX }),
            "OK",
            "",
        )
        .role(Role::Auditor),
    );
    rows.push(
        gql(
            "events",
            "a POS token",
            events,
            json!({}),
            "FORBIDDEN",
            "log",
        )
        .role(Role::Pos),
    );
    let deliveries = "query($id: ID!, $after: String, $first: Int) { webhookDeliveries(webhookId: $id, after: $after, first: $first) { edges { cursor } } }";
    rows.push(gql(
        "webhookDeliveries",
        "after garbage",
        deliveries,
        json!({ "id": UNKNOWN, "after": "garbage" }),
        "VALIDATION",
        "after",
    ));
    rows.push(gql(
        "webhookDeliveries",
        "first negative",
        deliveries,
        json!({ "id": UNKNOWN, "first": -1 }),
        "VALIDATION",
        "first",
    ));
    rows.push(gql(
        "webhookDeliveries",
        "webhookId not a UUID",
        deliveries,
        json!({ "id": "w" }),
        "VALIDATION",
        "webhookId",
    ));
    rows.push(gql(
        "webhookDeliveries",
        "webhookId of another retailer",
        "query($id: ID!) { webhookDeliveries(webhookId: $id) { edges { cursor } } }",
        json!({ "id": f.foreign_webhook }),
        "NOT_FOUND",
        f.foreign_webhook.clone(),
    ));

    // Filters with text no query may bind.
    let sales =
        "query($filter: SalesReportFilter) { salesReport(filter: $filter) { edges { cursor } } }";
    for (what, filter, code, names) in [
        (
            "serialNumber look-alike",
            json!({ "serialNumber": "SN-\u{0410}1" }),
            "INVALID_SERIAL",
            "\u{0410}",
        ),
        (
            "serialNumber 257 characters",
            json!({ "serialNumber": "S".repeat(257) }),
            "INVALID_SERIAL",
            "256",
        ),
        (
            "sku with NUL",
            json!({ "sku": "A\u{0}" }),
            "VALIDATION",
            "sku",
        ),
        (
            "sku huge (answered: matches nothing)",
            json!({ "sku": "A".repeat(100_000) }),
            "OK",
            "",
        ),
        (
            "productId not a UUID",
            json!({ "productId": "p" }),
            "VALIDATION",
            "productId",
        ),
        (
            "outlet not a UUID",
            json!({ "outlet": "o" }),
            "VALIDATION",
            "outlet",
        ),
        (
            "from not a date",
            json!({ "from": "yesterday" }),
            "VALIDATION",
            "filter",
        ),
        (
            "to before from",
            json!({ "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z" }),
            "VALIDATION",
            "before",
        ),
    ] {
        rows.push(gql(
            "salesReport",
            what,
            sales,
            json!({ "filter": filter }),
            code,
            names,
        ));
    }
    let fulfilment = "query($filter: FulfilmentReportFilter) { fulfilmentReport(filter: $filter) { edges { cursor } } }";
    for (what, filter, names) in [
        ("outlet not a UUID", json!({ "outlet": "\u{0}" }), "outlet"),
        (
            "saleType not an enum value",
            json!({ "saleType": "GIFT" }),
            "saleType",
        ),
        (
            "to before from",
            json!({ "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z" }),
            "before",
        ),
    ] {
        rows.push(gql(
            "fulfilmentReport",
            what,
            fulfilment,
            json!({ "filter": filter }),
            "VALIDATION",
            names,
        ));
    }
    let products = "query($search: String) { products(search: $search) { edges { cursor } } }";
    rows.push(gql(
        "products",
        "search with NUL",
        products,
        json!({ "search": "\u{0}" }),
        "VALIDATION",
        "search",
    ));
    rows.push(gql(
        "products",
        "search 201 characters",
        products,
        json!({ "search": "x".repeat(201) }),
        "VALIDATION",
        "search",
    ));
    rows.push(gql(
        "products",
        "search huge (200 000 characters)",
        products,
        json!({ "search": "x".repeat(200_000) }),
        "VALIDATION",
        "search",
    ));
    let product = "query($id: ID, $sku: String) { product(id: $id, sku: $sku) { id } }";
    rows.push(gql(
        "product",
        "id not a UUID",
        product,
        json!({ "id": "p" }),
        "VALIDATION",
        "id",
    ));
    rows.push(gql(
        "product",
        "neither id nor sku",
        product,
        json!({}),
        "VALIDATION",
        "sku",
    ));
    rows.push(gql(
        "product",
        "sku with NUL",
        product,
        json!({ "sku": "A\u{0}B" }),
        "VALIDATION",
        "sku",
    ));
    rows.push(gql(
        "product",
        "id of another retailer (null)",
        product,
        json!({ "id": f.foreign_product }),
        "OK",
        "",
    ));
    let sale = "query($id: ID!) { sale(id: $id) { id } }";
    rows.push(gql(
        "sale",
        "id not a UUID",
        sale,
        json!({ "id": "s" }),
        "VALIDATION",
        "id",
    ));
    rows.push(gql(
        "sale",
        "id of another retailer (null)",
        sale,
        json!({ "id": f.foreign_sale }),
        "OK",
        "",
    ));
    let by_invoice = "query($invoice: String!) { saleByInvoice(invoiceNumber: $invoice) { id } }";
    rows.push(gql(
        "saleByInvoice",
        "blank",
        by_invoice,
        json!({ "invoice": "  " }),
        "VALIDATION",
        "invoiceNumber",
    ));
    rows.push(gql(
        "saleByInvoice",
        "NUL inside",
        by_invoice,
        json!({ "invoice": "INV\u{0}1" }),
        "VALIDATION",
        "invoiceNumber",
    ));
    rows.push(gql(
        "saleByInvoice",
        "of another retailer (null)",
        by_invoice,
        json!({ "invoice": "INV-F1" }),
        "OK",
        "",
    ));
    let trace = "query($serial: String!, $product: ID, $sku: String) { serialTrace(serialNumber: $serial, productId: $product, sku: $sku) { serialNumber } }";
    rows.push(gql(
        "serialTrace",
        "productId not a UUID",
        trace,
        json!({ "serial": "SN-1", "product": "p" }),
        "VALIDATION",
        "productId",
    ));
    rows.push(gql(
        "serialTrace",
        "sku with NUL (matches nothing)",
        trace,
        json!({ "serial": "SN-1", "sku": "\u{0}" }),
        "OK",
        "",
    ));
    rows.push(gql(
        "serialTrace",
        "blank serial",
        trace,
        json!({ "serial": "" }),
        "INVALID_SERIAL",
        "blank",
    ));
    rows.push(gql(
        "serialTrace",
        "asOf not a date and time",
        "query($at: DateTime) { serialTrace(serialNumber: \"SN-1\", asOf: $at) { serialNumber } }",
        json!({ "at": "yesterday" }),
        "VALIDATION",
        "DateTime",
    ));
    let prefix =
        "query($prefix: String!, $first: Int) { serialNumbers(prefix: $prefix, first: $first) }";
    rows.push(gql(
        "serialNumbers",
        "blank prefix",
        prefix,
        json!({ "prefix": " " }),
        "INVALID_SERIAL",
        "blank",
    ));
    rows.push(gql(
        "serialNumbers",
        "first 0",
        prefix,
        json!({ "prefix": "SN", "first": 0 }),
        "VALIDATION",
        "first",
    ));
    rows.push(gql(
        "serialNumbers",
        "first above 100",
        prefix,
        json!({ "prefix": "SN", "first": 101 }),
        "VALIDATION",
        "first",
    ));

    // Over-deep and over-complex documents, and documents that are not GraphQL.
    let mut deep = String::from("name");
    for _ in 0..14 {
        deep = format!("ofType {{ {deep} }}");
    }
    rows.push(gql(
        "(document)",
        "nested 16 levels",
        &format!("{{ __type(name: \"Sale\") {{ fields {{ type {{ {deep} }} }} }} }}"),
        json!({}),
        "VALIDATION",
        "deep",
    ));
    let page = "edges { cursor node { sale { id invoiceNumber saleType deliveryMode outletId openedAt customer { customerId name } } line { lineNumber productId sku productName quantity serialNumber status unitPrice { amountMinor currency } lineTotal { amountMinor currency } } } }";
    let aliases: String = (0..4)
        .map(|index| format!("r{index}: salesReport(first: 500) {{ {page} }} "))
        .collect();
    rows.push(gql(
        "(document)",
        "four pages of 500 with every field",
        &format!("{{ {aliases} }}"),
        json!({}),
        "VALIDATION",
        "complex",
    ));
    rows.push(gql(
        "(document)",
        "a page of 2^31-1 rows asked for (cost capped at 500)",
        &format!("{{ salesReport(first: 2147483647) {{ {page} }} }}"),
        json!({}),
        "OK",
        "",
    ));
    rows.push(gql(
        "(document)",
        "a syntax error",
        "mutation { createProduct(",
        json!({}),
        "VALIDATION",
        "expected",
    ));
    rows.push(gql(
        "(document)",
        "an unknown field",
        "{ salesReport { nope } }",
        json!({}),
        "VALIDATION",
        "nope",
    ));
    rows.push(gql(
        "(document)",
        "a fragment cycle",
        "query { ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }",
        json!({}),
        "VALIDATION",
        "recursion",
    ));
}

fn rest_rows(f: &Fixture, rows: &mut Vec<Row>) {
    // ---- PUT /api/v1/products/{productId}/serial-mode
    const MODE: &str = "PUT /api/v1/products/{productId}/serial-mode";
    let mode = |product: &str| format!("/api/v1/products/{product}/serial-mode");
    for (what, path, body, code, names) in [
        (
            "productId not a UUID",
            mode("p"),
            json!({ "serialMode": "REQUIRED" }),
            "VALIDATION",
            "productId",
        ),
        (
            "productId with NUL",
            mode("%00"),
            json!({ "serialMode": "REQUIRED" }),
            "VALIDATION",
            "productId",
        ),
        (
            "productId unknown",
            mode(UNKNOWN),
            json!({ "serialMode": "REQUIRED" }),
            "NOT_FOUND",
            UNKNOWN,
        ),
        (
            "productId of another retailer",
            mode(&f.foreign_product),
            json!({ "serialMode": "REQUIRED" }),
            "NOT_FOUND",
            &f.foreign_product,
        ),
        (
            "serialMode unknown",
            mode(&f.phone),
            json!({ "serialMode": "SOMETIMES" }),
            "VALIDATION",
            "serialMode",
        ),
        (
            "serialMode lower case",
            mode(&f.phone),
            json!({ "serialMode": "required" }),
            "VALIDATION",
            "serialMode",
        ),
        (
            "serialMode missing",
            mode(&f.phone),
            json!({}),
            "VALIDATION",
            "serialMode",
        ),
        (
            "serialMode null",
            mode(&f.phone),
            json!({ "serialMode": null }),
            "VALIDATION",
            "serialMode",
        ),
        (
            "body an array",
            mode(&f.phone),
            json!([]),
            "VALIDATION",
            "body",
        ),
    ] {
        rows.push(rest(MODE, what, Method::PUT, path, Some(body), code, names));
    }
    rows.push(
        rest(
            MODE,
            "Idempotency-Key with a space",
            Method::PUT,
            mode(&f.phone),
            Some(json!({ "serialMode": "REQUIRED" })),
            "VALIDATION",
            "Idempotency-Key",
        )
        .header("Idempotency-Key", "a key"),
    );
    rows.push(
        rest(
            MODE,
            "Idempotency-Key 256 characters",
            Method::PUT,
            mode(&f.phone),
            Some(json!({ "serialMode": "REQUIRED" })),
            "VALIDATION",
            "Idempotency-Key",
        )
        .header("Idempotency-Key", &"k".repeat(256)),
    );
    rows.push(
        rest(
            MODE,
            "a warehouse token",
            Method::PUT,
            mode(&f.phone),
            Some(json!({ "serialMode": "REQUIRED" })),
            "FORBIDDEN",
            "product",
        )
        .role(Role::Warehouse),
    );
    let mut raw = rest(
        MODE,
        "a body that is not JSON",
        Method::PUT,
        mode(&f.phone),
        None,
        "VALIDATION",
        "body",
    );
    raw.body = Body::Raw(
        b"{\"serialMode\": \"REQ".to_vec(),
        "application/json".to_owned(),
    );
    rows.push(raw);
    let mut form = rest(
        MODE,
        "a form body",
        Method::PUT,
        mode(&f.phone),
        None,
        "UNSUPPORTED_MEDIA_TYPE",
        "JSON",
    );
    form.body = Body::Raw(
        b"serialMode=REQUIRED".to_vec(),
        "application/x-www-form-urlencoded".to_owned(),
    );
    rows.push(form);
    let mut bad_utf8 = rest(
        MODE,
        "a body of invalid UTF-8",
        Method::PUT,
        mode(&f.phone),
        None,
        "VALIDATION",
        "body",
    );
    bad_utf8.body = Body::Raw(
        b"{\"serialMode\": \"\xff\xfe\"}".to_vec(),
        "application/json".to_owned(),
    );
    rows.push(bad_utf8);
    let mut huge = rest(
        MODE,
        "a body over 256 KiB",
        Method::PUT,
        mode(&f.phone),
        None,
        "PAYLOAD_TOO_LARGE",
        "bytes",
    );
    huge.body = Body::Json(json!({ "serialMode": "REQUIRED", "pad": "x".repeat(300 * 1024) }));
    rows.push(huge);

    // ---- GET /api/v1/lines/pending-serial
    const PENDING: &str = "GET /api/v1/lines/pending-serial";
    let huge_after = format!("after={}", "f".repeat(10_000));
    for (what, query, names) in [
        ("first 0", "first=0", "first"),
        ("first negative", "first=-1", "first"),
        ("first 501", "first=501", "first"),
        ("first overflowing", "first=99999999999999999999", "first"),
        ("first not a number", "first=ten", "first"),
        ("after garbage", "after=garbage", "after"),
        ("after NUL", "after=%00", "after"),
        ("after huge", huge_after.as_str(), "after"),
        ("outletId not a UUID", "outletId=o", "outletId"),
        ("outletId of invalid UTF-8", "outletId=%FF%FE", "outletId"),
    ] {
        rows.push(rest(
            PENDING,
            what,
            Method::GET,
            format!("/api/v1/lines/pending-serial?{query}"),
            None,
            "VALIDATION",
            names,
        ));
    }

    // ---- PUT /api/v1/sales/{saleId}/lines/{lineNumber}/serial
    const PUT: &str = "PUT /api/v1/sales/{saleId}/lines/{lineNumber}/serial";
    let serial = |sale: &str, line: &str| format!("/api/v1/sales/{sale}/lines/{line}/serial");
    let body = Some(json!({ "serialNumber": "SN-9" }));
    for (what, path, body, code, names) in [
        (
            "saleId not a UUID",
            serial("s", "1"),
            body.clone(),
            "VALIDATION",
            "saleId",
        ),
        (
            "saleId unknown",
            serial(UNKNOWN, "1"),
            body.clone(),
            "NOT_FOUND",
            "sale",
        ),
        (
            "saleId of another retailer",
            serial(&f.foreign_sale, "1"),
            body.clone(),
            "NOT_FOUND",
            "sale",
        ),
        (
            "lineNumber 0",
            serial(&f.sale, "0"),
            body.clone(),
            "VALIDATION",
            "lineNumber",
        ),
        (
            "lineNumber negative",
            serial(&f.sale, "-1"),
            body.clone(),
            "VALIDATION",
            "lineNumber",
        ),
        (
            "lineNumber overflowing u32",
            serial(&f.sale, "4294967296"),
            body.clone(),
            "VALIDATION",
            "lineNumber",
        ),
        (
            "lineNumber not a number",
            serial(&f.sale, "one"),
            body.clone(),
            "VALIDATION",
            "lineNumber",
        ),
        (
            "lineNumber unknown",
            serial(&f.sale, "999"),
            body.clone(),
            "NOT_FOUND",
            "999",
        ),
        (
            "a line of a DISABLED product",
            serial(&f.sale, "2"),
            body.clone(),
            "SERIAL_MODE_DISABLED",
            "2",
        ),
        (
            "serialNumber missing",
            serial(&f.sale, "1"),
            Some(json!({})),
            "VALIDATION",
            "serialNumber",
        ),
        (
            "serialNumber a number",
            serial(&f.sale, "1"),
            Some(json!({ "serialNumber": 12 })),
            "VALIDATION",
            "serialNumber",
        ),
        (
            "an unknown field",
            serial(&f.sale, "1"),
            Some(json!({ "serialNumber": "SN-9", "serial": "x" })),
            "VALIDATION",
            "serial",
        ),
    ] {
        rows.push(rest(PUT, what, Method::PUT, path, body, code, names));
    }

    // ---- DELETE /api/v1/sales/{saleId}/lines/{lineNumber}/serial (line 3 holds SN-FIX-3)
    const DELETE: &str = "DELETE /api/v1/sales/{saleId}/lines/{lineNumber}/serial";
    for (what, path, code, names) in [
        (
            "reason with NUL",
            format!("{}?reason=a%00b", serial(&f.sale, "3")),
            "VALIDATION",
            "reason",
        ),
        (
            "reason with an escape",
            format!("{}?reason=%1B%5B2J", serial(&f.sale, "3")),
            "VALIDATION",
            "reason",
        ),
        (
            "reason 501 characters",
            format!("{}?reason={}", serial(&f.sale, "3"), "r".repeat(501)),
            "VALIDATION",
            "reason",
        ),
        (
            "a line without a serial",
            serial(&f.sale, "1"),
            "NOT_FOUND",
            "serial",
        ),
        (
            "lineNumber 0",
            serial(&f.sale, "0"),
            "VALIDATION",
            "lineNumber",
        ),
        (
            "saleId not a UUID",
            serial("x", "1"),
            "VALIDATION",
            "saleId",
        ),
        (
            "saleId of another retailer",
            serial(&f.foreign_sale, "1"),
            "NOT_FOUND",
            "sale",
        ),
        (
            "a fulfilled line",
            serial(&f.fulfilled, "1"),
            "LINE_FULFILLED",
            "1",
        ),
    ] {
        rows.push(rest(DELETE, what, Method::DELETE, path, None, code, names));
    }

    // ---- POST /api/v1/sales/{saleId}/fulfilments
    const FULFIL: &str = "POST /api/v1/sales/{saleId}/fulfilments";
    let fulfil = |sale: &str| format!("/api/v1/sales/{sale}/fulfilments");
    for (what, path, body, code, names) in [
        (
            "lines empty",
            fulfil(&f.sale),
            json!({ "lines": [] }),
            "VALIDATION",
            "lines",
        ),
        (
            "lines missing",
            fulfil(&f.sale),
            json!({}),
            "VALIDATION",
            "lines",
        ),
        (
            "lineNumber 0",
            fulfil(&f.sale),
            json!({ "lines": [{ "lineNumber": 2 }, { "lineNumber": 0 }] }),
            "VALIDATION",
            "lines[1].lineNumber",
        ),
        (
            "lineNumber negative",
            fulfil(&f.sale),
            json!({ "lines": [{ "lineNumber": -2 }] }),
            "VALIDATION",
            "lineNumber",
        ),
        (
            "lineNumber overflowing u32",
            fulfil(&f.sale),
            json!({ "lines": [{ "lineNumber": 4_294_967_296_i64 }] }),
            "VALIDATION",
            "lineNumber",
        ),
        (
            "lineNumber a string",
            fulfil(&f.sale),
            json!({ "lines": [{ "lineNumber": "2" }] }),
            "VALIDATION",
            "lineNumber",
        ),
        (
            "lineNumber unknown",
            fulfil(&f.sale),
            json!({ "lines": [{ "lineNumber": 2 }, { "lineNumber": 50 }] }),
            "NOT_FOUND",
            "50",
        ),
        (
            "a line twice",
            fulfil(&f.sale),
            json!({ "lines": [{ "lineNumber": 2 }, { "lineNumber": 2 }] }),
            "VALIDATION",
            "2",
        ),
        (
            "a REQUIRED line without its serial",
            fulfil(&f.sale),
            json!({ "lines": [{ "lineNumber": 2 }, { "lineNumber": 1 }] }),
            "SERIAL_REQUIRED",
            "1",
        ),
        (
            "a serial on a DISABLED line",
            fulfil(&f.sale),
            json!({ "lines": [{ "lineNumber": 2, "serialNumber": "SN-9" }] }),
            "SERIAL_MODE_DISABLED",
            "2",
        ),
        (
            "a serial live on another line",
            fulfil(&f.sale),
            json!({ "lines": [{ "lineNumber": 1, "serialNumber": "SN-FIX-3" }] }),
            "SERIAL_ALREADY_ASSIGNED",
            "SN-FIX-3",
        ),
        (
            "saleId unknown",
            fulfil(UNKNOWN),
            json!({ "lines": [{ "lineNumber": 1 }] }),
            "NOT_FOUND",
            "sale",
        ),
        (
            "saleId of another retailer",
            fulfil(&f.foreign_sale),
            json!({ "lines": [{ "lineNumber": 1 }] }),
            "NOT_FOUND",
            "sale",
        ),
        (
            "saleId not a UUID",
            fulfil("--"),
            json!({ "lines": [{ "lineNumber": 1 }] }),
            "VALIDATION",
            "saleId",
        ),
        (
            "an already fulfilled line",
            fulfil(&f.fulfilled),
            json!({ "lines": [{ "lineNumber": 1 }] }),
            "LINE_FULFILLED",
            "1",
        ),
    ] {
        rows.push(rest(
            FULFIL,
            what,
            Method::POST,
            path,
            Some(body),
            code,
            names,
        ));
    }

    // ---- GET /api/v1/serials/trace
    const TRACE: &str = "GET /api/v1/serials/trace";
    for (what, query, code, names) in [
        (
            "serialNumber missing",
            String::new(),
            "VALIDATION",
            "serialNumber".to_owned(),
        ),
        (
            "serialNumber empty",
            "serialNumber=".to_owned(),
            "INVALID_SERIAL",
            "blank".to_owned(),
        ),
        (
            "serialNumber 257 characters",
            format!("serialNumber={}", "S".repeat(257)),
            "INVALID_SERIAL",
            "256".to_owned(),
        ),
        (
            "serialNumber with NUL",
            "serialNumber=SN%001".to_owned(),
            "INVALID_SERIAL",
            "U+0000".to_owned(),
        ),
        (
            "serialNumber of invalid UTF-8 (read as U+FFFD)",
            "serialNumber=SN%FF".to_owned(),
            "INVALID_SERIAL",
            "\u{FFFD}".to_owned(),
        ),
        (
            "serialNumber never recorded",
            "serialNumber=NEVER-1".to_owned(),
            "NOT_FOUND",
            "NEVER-1".to_owned(),
        ),
        (
            "productId not a UUID",
            "serialNumber=SN-1&productId=p".to_owned(),
            "VALIDATION",
            "productId".to_owned(),
        ),
        (
            "sku with NUL (matches no unit)",
            "serialNumber=SN-FIX-3&sku=A%00".to_owned(),
            "NOT_FOUND",
            "SN-FIX-3".to_owned(),
        ),
        (
            "sku huge (matches no unit)",
            format!("serialNumber=SN-FIX-3&sku={}", "A".repeat(10_000)),
            "NOT_FOUND",
            "SN-FIX-3".to_owned(),
        ),
        (
            "productId of another retailer",
            format!("serialNumber=SN-FIX-3&productId={}", f.foreign_product),
            "NOT_FOUND",
            "SN-FIX-3".to_owned(),
        ),
    ] {
        rows.push(rest(
            TRACE,
            what,
            Method::GET,
            format!("/api/v1/serials/trace?{query}"),
            None,
            code,
            names,
        ));
    }
    rows.push(
        rest(
            TRACE,
            "no token",
            Method::GET,
            "/api/v1/serials/trace?serialNumber=SN-1",
            None,
            "UNAUTHENTICATED",
            "token",
        )
        .header("Authorization", "Bearer sl_nope_nope"),
    );
}

fn file_rows(f: &Fixture, rows: &mut Vec<Row>) {
    const IMPORT: &str = "POST /imports/products";
    let csv = |bytes: &[u8]| Body::Raw(bytes.to_vec(), "text/csv".to_owned());
    let mut invalid_utf8 = b"SKU,Name\nCSV-1,Caf".to_vec();
    invalid_utf8.extend_from_slice(&[0xe9, b'\n']);
    let mut invalid_sku = b"SKU,Name\n".to_vec();
    invalid_sku.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    invalid_sku.extend_from_slice(b",Cable\n");
    let mut bad_header = vec![0xff, 0xfe];
    bad_header.extend_from_slice(b"SKU,Name\nA,B\n");
    for (what, body, names) in [
        ("a name of invalid UTF-8 (Latin-1 é)", csv(&invalid_utf8), "UTF-8".to_owned()),
        ("a SKU of invalid UTF-8", csv(&invalid_sku), "SKU".to_owned()),
        ("a header of invalid UTF-8 (UTF-16 mark)", csv(&bad_header), "header".to_owned()),
        ("a NUL in a SKU", csv(b"SKU,Name\nCSV\x00-1,Cable\n"), "SKU".to_owned()),
        ("a bell in a name", csv(b"SKU,Name\nCSV-1,Ca\x07ble\n"), "Name".to_owned()),
        ("a carriage return inside a quoted name", csv(b"SKU,Name\nCSV-1,\"Ca\rble\"\n"), "Name".to_owned()),
        ("a SKU of 100 000 characters", csv(format!("SKU,Name\n{},Cable\n", "S".repeat(100_000)).as_bytes()), "SKU".to_owned()),
        ("a name of 1 MiB", csv(format!("SKU,Name\nCSV-1,{}\n", "n".repeat(1 << 20)).as_bytes()), "Name".to_owned()),
        ("a blank SKU", csv(b"SKU,Name\n   ,Cable\n"), "SKU".to_owned()),
        ("a component quantity of 0", csv(format!("SKU,Name,Package Mode,Components\nPK-1,Pack,CONSOLIDATED,{}:0\n", "CABLE").as_bytes()), "Components".to_owned()),
        ("a component quantity overflowing", csv(b"SKU,Name,Package Mode,Components\nPK-1,Pack,CONSOLIDATED,CABLE:99999999999999999999\n"), "Components".to_owned()),
        ("a component unknown", csv(b"SKU,Name,Package Mode,Components\nPK-1,Pack,CONSOLIDATED,NOPE-SKU:1\n"), "NOPE-SKU".to_owned()),
        ("an unknown column", csv(b"SKU,Name,Colour\nA,B,red\n"), "Colour".to_owned()),
        ("an empty file", csv(b""), "header".to_owned()),
        ("binary noise", csv(&[0x00, 0x01, 0x02, 0xff, 0x0a, 0x00]), "header".to_owned()),
        ("a multipart body", Body::Raw(b"--x\r\n".to_vec(), "multipart/form-data; boundary=x".to_owned()), "text/csv".to_owned()),
    ] {
        rows.push(file(IMPORT, what, Method::POST, "/imports/products", body, "VALIDATION", names));
    }
    rows.push(file(
        IMPORT,
        "mode unknown",
        Method::POST,
        "/imports/products?mode=some",
        csv(b"SKU,Name\nA,B\n"),
        "VALIDATION",
        "mode",
    ));
    rows.push(
        file(
            IMPORT,
            "a POS token",
            Method::POST,
            "/imports/products",
            csv(b"SKU,Name\nA,B\n"),
            "FORBIDDEN",
            "import",
        )
        .role(Role::Pos),
    );

    for (operation, path, what, code, names) in [
        (
            "GET /exports/products.csv",
            "/exports/products.csv?serialMode=SOMETIMES",
            "serialMode unknown",
            "VALIDATION",
            "serialMode",
        ),
        (
            "GET /exports/products.csv",
            "/exports/products.csv?search=%00",
            "search with NUL",
            "VALIDATION",
            "search",
        ),
        (
            "GET /exports/sales-detail.csv",
            "/exports/sales-detail.csv?serialNumber=SN-%D0%901",
            "serialNumber look-alike",
            "INVALID_SERIAL",
            "\u{0410}",
        ),
        (
            "GET /exports/sales-detail.csv",
            "/exports/sales-detail.csv?productId=p",
            "productId not a UUID",
            "VALIDATION",
            "productId",
        ),
        (
            "GET /exports/sales-detail.csv",
            "/exports/sales-detail.csv?from=yesterday",
            "from not a date",
            "VALIDATION",
            "from",
        ),
        (
            "GET /exports/sales-detail.csv",
            "/exports/sales-detail.csv?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "to before from",
            "VALIDATION",
            "to",
        ),
        (
            "GET /exports/sales-detail.csv",
            "/exports/sales-detail.csv?sku=A%00",
            "sku with NUL",
            "VALIDATION",
            "sku",
        ),
        (
            "GET /exports/sales-detail.csv",
            "/exports/sales-detail.csv?outletId=%FF",
            "outletId of invalid UTF-8",
            "VALIDATION",
            "outletId",
        ),
        (
            "GET /exports/sales-detail.xlsx",
            "/exports/sales-detail.xlsx?serialNumber=%20",
            "serialNumber blank",
            "INVALID_SERIAL",
            "blank",
        ),
        (
            "GET /exports/fulfilment-report.csv",
            "/exports/fulfilment-report.csv?saleType=GIFT",
            "saleType unknown",
            "VALIDATION",
            "saleType",
        ),
        (
            "GET /exports/fulfilment-report.csv",
            "/exports/fulfilment-report.csv?pendingSerial=maybe",
            "pendingSerial not a boolean",
            "VALIDATION",
            "pendingSerial",
        ),
        (
            "GET /exports/fulfilment-report.xlsx",
            "/exports/fulfilment-report.xlsx?outletId=o",
            "outletId not a UUID",
            "VALIDATION",
            "outletId",
        ),
        (
            "GET /exports/fulfilment-report.xlsx",
            "/exports/fulfilment-report.xlsx?deliveryMode=TELEPORT",
            "deliveryMode unknown",
            "VALIDATION",
            "deliveryMode",
        ),
        (
            "GET /exports/pick-list.pdf",
            "/exports/pick-list.pdf?kind=secret",
            "kind unknown",
            "VALIDATION",
            "kind",
        ),
        (
            "GET /exports/pick-list.pdf",
            "/exports/pick-list.pdf?to=%00",
            "to with NUL",
            "VALIDATION",
            "to",
        ),
        (
            "GET /exports/pick-list.csv",
            "/exports/pick-list.csv?from=2026-13-45T99:00:00Z",
            "from out of range",
            "VALIDATION",
            "from",
        ),
        (
            "GET /exports/invoices/{file}",
            "/exports/invoices/nope.pdf",
            "saleId not a UUID",
            "VALIDATION",
            "saleId",
        ),
        (
            "GET /exports/invoices/{file}",
            "/exports/invoices/nope",
            "not a PDF name",
            "NOT_FOUND",
            "pdf",
        ),
    ] {
        rows.push(file(
            operation,
            what,
            Method::GET,
            path,
            Body::None,
            code,
            names,
        ));
    }
    rows.push(file(
        "GET /exports/invoices/{file}",
        "saleId unknown",
        Method::GET,
        format!("/exports/invoices/{UNKNOWN}.pdf"),
        Body::None,
        "NOT_FOUND",
        UNKNOWN,
    ));
    rows.push(file(
        "GET /exports/invoices/{file}",
        "saleId of another retailer",
        Method::GET,
        format!("/exports/invoices/{}.pdf", f.foreign_sale),
        Body::None,
        "NOT_FOUND",
        f.foreign_sale.clone(),
    ));
}

// ---- running the table ----------------------------------------------------------------------

/// What a row was answered with.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// The stable code, `OK` for an answer without an error, `(none)` for an error without
    /// a code.
    code: String,
    message: String,
    body: String,
}

async fn send(app: &TestApp, row: &Row) -> Answer {
    // The server limits each token's rate (429 RATE_LIMITED with Retry-After); the table
    // sends hundreds of requests at once, so it waits and sends the row again, as a
    // well-behaved client does.
    let response = loop {
        let mut request = reqwest::Client::new().request(row.method.clone(), app.url(&row.path));
        let has_authorization = row.headers.iter().any(|(name, _)| *name == "Authorization");
        if !has_authorization {
            request = request.bearer_auth(app.token(row.role));
        }
        for (name, value) in &row.headers {
            request = request.header(*name, value);
        }
        request = match &row.body {
            Body::None => request,
            Body::Json(value) => request.json(value),
            Body::Raw(bytes, content_type) => request
                .header("content-type", content_type)
                .body(bytes.clone()),
        };
        let response = request.send().await.expect("request sent");
        if response.status().as_u16() != 429 {
            break response;
        }
        let wait = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(1);
        tokio::time::sleep(std::time::Duration::from_secs(wait.clamp(1, 5))).await;
    };
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let (code, message) = match row.api {
        Api::Graphql => graphql_outcome(row.operation, &json),
        Api::Rest => match &json["error"] {
            Value::Null if status < 300 => ("OK".to_owned(), String::new()),
            error => (
                error["code"].as_str().unwrap_or("(none)").to_owned(),
                error["message"].as_str().unwrap_or_default().to_owned(),
            ),
        },
        Api::File => {
            if status < 300 && json["code"].is_null() {
                ("OK".to_owned(), String::new())
            } else {
                let mut message = json["message"].as_str().unwrap_or_default().to_owned();
                for error in json["errors"].as_array().into_iter().flatten() {
                    message.push_str(&format!(
                        " | line {} {}: {}",
                        error["line"],
                        error["column"].as_str().unwrap_or("-"),
                        error["reason"].as_str().unwrap_or_default()
                    ));
                }
                (
                    json["code"].as_str().unwrap_or("(none)").to_owned(),
                    message,
                )
            }
        }
    };
    Answer {
        status,
        code,
        message,
        body: body.chars().take(600).collect(),
    }
}

/// The first error's code and message; or the refusal a payload reports without an error
/// (a bulk edit's `failed`, an import that wrote nothing).
fn graphql_outcome(operation: &str, json: &Value) -> (String, String) {
    if let Some(error) = json["errors"].get(0) {
        return (
            error["extensions"]["code"]
                .as_str()
                .unwrap_or("(none)")
                .to_owned(),
            error["message"].as_str().unwrap_or_default().to_owned(),
        );
    }
    let payload = &json["data"][operation];
    if let Some(failed) = payload["failed"].get(0) {
        return (
            failed["code"].as_str().unwrap_or("(none)").to_owned(),
            format!(
                "{} {}",
                failed["productId"].as_str().unwrap_or_default(),
                failed["message"].as_str().unwrap_or_default()
            ),
        );
    }
    if payload["written"] == Value::Bool(false) {
        let message: Vec<String> = payload["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|error| {
                format!(
                    "line {} {}: {}",
                    error["line"],
                    error["column"].as_str().unwrap_or("-"),
                    error["reason"].as_str().unwrap_or_default()
                )
            })
            .collect();
        return ("VALIDATION".to_owned(), message.join(" | "));
    }
    if json["data"].is_null() {
        return ("(no data)".to_owned(), String::new());
    }
    ("OK".to_owned(), String::new())
}

/// Events in the log, counted in the database itself (committed rows, whatever readers of
/// `read_all` can see yet on PostgreSQL).
async fn events_in_database(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM events";
    match &app.state.store {
        AnyStore::Sqlite(store) => sqlx::query_scalar(sql)
            .fetch_one(store.write_pool())
            .await
            .unwrap(),
        AnyStore::Postgres(store) => sqlx::query_scalar(sql)
            .fetch_one(store.pool())
            .await
            .unwrap(),
    }
}

async fn graphql_ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    loop {
        let response = app.graphql(Some(token), query, variables.clone()).await;
        if tests::app::error_code(&response) == Some("RATE_LIMITED") {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        assert!(response.get("errors").is_none(), "{query}: {response:#}");
        return response["data"].clone();
    }
}

fn id_at(data: &Value, pointer: &str) -> String {
    data.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} in {data:#}"))
        .to_owned()
}

async fn fixture(app: &TestApp) -> Fixture {
    let manager = app.token(Role::Manager);
    let mut f = Fixture::default();
    let create = "mutation($sku: String!, $mode: SerialMode) { createProduct(input: { sku: $sku, name: $sku, serialMode: $mode }) { product { id } } }";
    f.phone = id_at(
        &graphql_ok(
            app,
            &manager,
            create,
            json!({ "sku": "PHONE", "mode": "REQUIRED" }),
        )
        .await,
        "/createProduct/product/id",
    );
    f.cable = id_at(
        &graphql_ok(
            app,
            &manager,
            create,
            json!({ "sku": "CABLE", "mode": "DISABLED" }),
        )
        .await,
        "/createProduct/product/id",
    );
    let open = "mutation($invoice: String!) { openSale(input: { invoiceNumber: $invoice, outletId: \"0190a000-0000-7000-8000-0000000000aa\" }) { sale { id } } }";
    let add = "mutation($sale: ID!, $product: ID!) { addItem(saleId: $sale, productId: $product, unitPriceMinor: 1000) { cursor } }";
    let assign = "mutation($sale: ID!, $line: Int!, $serial: String!) { assignSerial(saleId: $sale, lineId: $line, serialNumber: $serial) { cursor } }";
    let fulfil = "mutation($sale: ID!) { fulfilLines(saleId: $sale) { cursor } }";
    let new_sale = |invoice: &'static str| {
        let manager = manager.clone();
        async move {
            id_at(
                &graphql_ok(app, &manager, open, json!({ "invoice": invoice })).await,
                "/openSale/sale/id",
            )
        }
    };
    f.sale = new_sale("INV-1").await;
    for product in [&f.phone, &f.cable, &f.phone] {
        graphql_ok(
            app,
            &manager,
            add,
            json!({ "sale": f.sale, "product": product }),
        )
        .await;
    }
    graphql_ok(
        app,
        &manager,
        assign,
        json!({ "sale": f.sale, "line": 3, "serial": "SN-FIX-3" }),
    )
    .await;
    f.fulfilled = new_sale("INV-2").await;
    graphql_ok(
        app,
        &manager,
        add,
        json!({ "sale": f.fulfilled, "product": f.cable }),
    )
    .await;
    graphql_ok(app, &manager, fulfil, json!({ "sale": f.fulfilled })).await;
    f.returned = new_sale("INV-3").await;
    graphql_ok(
        app,
        &manager,
        add,
        json!({ "sale": f.returned, "product": f.phone }),
    )
    .await;
    graphql_ok(
        app,
        &manager,
        assign,
        json!({ "sale": f.returned, "line": 1, "serial": "SN-RET-1" }),
    )
    .await;
    graphql_ok(app, &manager, fulfil, json!({ "sale": f.returned })).await;
    graphql_ok(
        app,
        &manager,
        "mutation($sale: ID!) { refundLines(saleId: $sale, lineIds: [1]) { cursor } }",
        json!({ "sale": f.returned }),
    )
    .await;

    let foreign = app.foreign_token(Role::Manager).await;
    f.foreign_product = id_at(
        &graphql_ok(
            app,
            &foreign,
            create,
            json!({ "sku": "FOREIGN", "mode": "REQUIRED" }),
        )
        .await,
        "/createProduct/product/id",
    );
    f.foreign_sale = id_at(
        &graphql_ok(app, &foreign, open, json!({ "invoice": "INV-F1" })).await,
        "/openSale/sale/id",
    );
    graphql_ok(
        app,
        &foreign,
        add,
        json!({ "sale": f.foreign_sale, "product": f.foreign_product }),
    )
    .await;
    let register = "mutation { registerWebhook(input: { url: \"http://127.0.0.1:9/hook\", secret: \"0123456789abcdef-foreign\" }) { id } }";
    f.foreign_webhook = id_at(
        &graphql_ok(app, &foreign, register, json!({})).await,
        "/registerWebhook/id",
    );
    f
}

async fn every_bad_input_is_refused_below_500_with_its_code_naming_the_field_and_records_nothing(
    app: &TestApp,
) {
    let f = fixture(app).await;
    let before = events_in_database(app).await;
    let webhooks = "{ webhooks { id } }";
    let hooks_before = graphql_ok(app, &app.token(Role::Manager), webhooks, json!({})).await;
    let table = rows(&f);
    let mut failures = Vec::new();
    let mut seen = before;
    for row in &table {
        let answer = send(app, row).await;
        let now = events_in_database(app).await;
        let mut wrong = Vec::new();
        if answer.status >= 500 {
            wrong.push(format!("answered {}", answer.status));
        }
        if answer.code != row.code {
            wrong.push(format!("code {} instead of {}", answer.code, row.code));
        }
        if !answer.message.contains(&row.names) {
            wrong.push(format!("the message does not name {:?}", row.names));
        }
        if now != seen {
            wrong.push(format!("{} event(s) recorded", now - seen));
            seen = now;
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} / {}: {}\n    status {} message {:?}\n    body {}",
                row.operation,
                row.input,
                wrong.join("; "),
                answer.status,
                answer.message.chars().take(300).collect::<String>(),
                answer.body
            ));
        }
    }
    let operations: BTreeSet<&str> = table.iter().map(|row| row.operation).collect();
    eprintln!(
        "bad input: {} rows over {} operations, {} refused wrongly",
        table.len(),
        operations.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs were not refused as specified:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
    assert_eq!(
        events_in_database(app).await,
        before,
        "no bad input recorded an event"
    );
    // And as a reader of the log sees it (on PostgreSQL once every commit is visible).
    tests::wait_until_visible(&app.state.store, u64::try_from(before).unwrap()).await;
    assert_eq!(
        app.state.store.count_after(Position::START).await.unwrap(),
        u64::try_from(before).unwrap(),
        "read_all sees the log as it was before the bad inputs"
    );
    let hooks_after = graphql_ok(app, &app.token(Role::Manager), webhooks, json!({})).await;
    assert_eq!(
        hooks_after, hooks_before,
        "no bad input registered or removed a webhook"
    );
}

/// `ledgerEvents(after:)` with a cursor the API never gave out, over WebSocket.
async fn a_malformed_subscription_cursor_is_refused_naming_after(app: &TestApp) {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    for cursor in ["garbage", "-1:-1", "\u{0}", "1:", &"9".repeat(10_000)] {
        let mut request = app.ws_url().into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let token = app.token(Role::Auditor);
        for message in [
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }),
            json!({ "id": "1", "type": "subscribe", "payload": {
                "query": "subscription($after: String) { ledgerEvents(after: $after) { cursor } }",
                "variables": { "after": cursor } } }),
        ] {
            socket
                .send(Message::Text(message.to_string().into()))
                .await
                .unwrap();
        }
        let error = loop {
            let message = tokio::time::timeout(std::time::Duration::from_secs(20), socket.next())
                .await
                .expect("an answer within 20 s")
                .expect("socket open")
                .unwrap();
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            match value["type"].as_str() {
                Some("next") => break value["payload"]["errors"][0].clone(),
                Some("error") => break value["payload"][0].clone(),
                Some("complete") => panic!("completed without an error for after {cursor:?}"),
                _ => continue,
            }
        };
        assert_eq!(
            error["extensions"]["code"], "VALIDATION",
            "after {cursor:?}: {error}"
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("after"),
            "after {cursor:?}: {error}"
        );
        let _ = socket.close(None).await;
    }
}

// ---- coverage -------------------------------------------------------------------------------

/// The fields of a root type in the committed SDL, with whether they take arguments.
fn sdl_fields(root: &str) -> Vec<(String, bool)> {
    let sdl = include_str!("../../api/schema.graphql");
    let start = sdl
        .find(&format!("type {root} {{"))
        .unwrap_or_else(|| panic!("type {root} in the SDL"));
    let body = &sdl[start..];
    let body = &body[..body.find("\n}").unwrap_or(body.len())];
    let mut in_description = false;
    body.lines()
        .filter(|line| line.starts_with('\t') && !line.starts_with("\t\t"))
        .map(str::trim)
        .filter(|line| {
            if line.starts_with("\"\"\"") {
                // A description's opening or closing quotes (or both, on one line).
                if !(line.len() > 3 && line.ends_with("\"\"\"")) {
                    in_description = !in_description;
                }
                return false;
            }
            !in_description && !line.is_empty()
        })
        .filter_map(|line| {
            let end = line.find(['(', ':'])?;
            Some((line[..end].to_owned(), line[end..].starts_with('(')))
        })
        .collect()
}

#[test]
fn every_mutation_query_with_arguments_and_rest_operation_has_bad_input_rows() {
    let table = rows(&Fixture::default());
    let covered: BTreeSet<&str> = table.iter().map(|row| row.operation).collect();
    let mut wanted: Vec<String> = sdl_fields("MutationRoot")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(
        wanted.len() >= 18,
        "mutations read from the SDL: {wanted:?}"
    );
    wanted.extend(
        sdl_fields("QueryRoot")
            .into_iter()
            .filter(|(_, arguments)| *arguments)
            .map(|(name, _)| name),
    );
    let openapi: Value = serde_json::from_str(&api::rest::openapi_json()).unwrap();
    let paths = openapi["paths"].as_object().unwrap();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                wanted.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    wanted.extend(FILE_ROUTES.iter().map(|route| (*route).to_owned()));
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|operation| !covered.contains(operation.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "operations without a bad-input row in tests/it/bad_input.rs: {missing:?}"
    );
    let known: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
    let stray: Vec<&&str> = covered
        .iter()
        .filter(|operation| !known.contains(**operation) && **operation != "(document)")
        .collect();
    assert!(
        stray.is_empty(),
        "rows naming no known operation: {stray:?}"
    );
}

/// The two answers `/graphql` gives before the schema runs (a body over 256 KiB: 413 from
/// the body limit layer; a body that is not JSON: 400 from async-graphql-axum's extractor)
/// are GraphQL errors with a code like every other refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graphql_transport_refusals_are_json_with_a_code() {
    let app = TestApp::spawn(tests::Backend::Sqlite).await;
    let too_large = gql(
        "(document)",
        "a mutation over the 256 KiB body limit",
        CREATE,
        json!({ "input": product_input("BIG", &"x".repeat(300 * 1024)) }),
        "PAYLOAD_TOO_LARGE",
        "",
    );
    let mut not_json = gql(
        "(document)",
        "a body that is not JSON",
        "",
        json!({}),
        "VALIDATION",
        "",
    );
    not_json.body = Body::Raw(b"{\"query\": ".to_vec(), "application/json".to_owned());
    for row in [too_large, not_json] {
        let answer = send(&app, &row).await;
        assert!(answer.status < 500, "{}: {answer:?}", row.input);
        assert_eq!(answer.code, row.code, "{}: {answer:?}", row.input);
    }
    app.stop().await;
}
