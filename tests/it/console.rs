//! The web console's server side, over HTTP on both backends: signing in with a token
//! gives a session cookie (HttpOnly, SameSite=Strict, Secure behind TLS) that works
//! wherever a bearer token does; every write made with it needs the session's CSRF token;
//! a session ends on sign-out, on its token's revocation and on expiry; the pages and
//! GraphiQL are served from the binary. Also the API the serial lookup added: serials by
//! prefix, a serial's state as of a time, and its evidence file over HTTP. (What people see
//! and do in the pages is tested in a real browser: `tests/console/`.)

use application::auth::Role;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tests::app::TestApp;

on_both_servers!(
    signing_in_sets_an_http_only_strict_cookie_whose_session_acts_as_its_token,
    a_write_made_with_the_session_cookie_is_refused_without_its_csrf_token,
    a_session_ends_on_sign_out_and_when_its_token_is_revoked,
    sign_in_refuses_a_missing_or_unknown_token_naming_the_field,
    the_session_cookie_is_secure_behind_a_tls_proxy,
    a_bearer_token_needs_no_csrf_token_even_beside_a_session_cookie,
    the_pages_and_graphiql_come_from_this_server_under_a_strict_policy,
    serial_numbers_are_found_by_prefix,
    a_serial_as_of_a_time_shows_the_unit_as_it_stood_then,
    the_evidence_file_of_a_serial_is_downloaded_by_auditors_and_refused_to_the_till,
);

const OUTLET: &str = "0190a000-0000-7000-8000-0000000000aa";

/// A signed-in browser: the cookie header and the CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

/// `POST /console/session` with `body` and `headers`: the status, the `Set-Cookie` header
/// (if any) and the JSON answer.
async fn post_sign_in(
    app: &TestApp,
    body: Value,
    headers: &[(&str, &str)],
) -> (StatusCode, Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .post(app.url("/console/session"))
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|value| value.to_str().unwrap().to_owned());
    (status, cookie, response.json().await.unwrap())
}

/// Signs in with `token`: the browser's cookie and CSRF token.
async fn sign_in_with(app: &TestApp, token: &str) -> Browser {
    let (status, cookie, body) = post_sign_in(app, json!({ "token": token }), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    Browser {
        cookie: cookie
            .expect("a Set-Cookie header")
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
        csrf: body["csrfToken"].as_str().unwrap().to_owned(),
    }
}

async fn sign_in(app: &TestApp, role: Role) -> Browser {
    sign_in_with(app, &app.token(role)).await
}

/// A request made by the signed-in browser, with or without the CSRF header.
async fn browse(
    app: &TestApp,
    browser: &Browser,
    method: Method,
    path: &str,
    body: Option<Value>,
    csrf: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .header(COOKIE, &browser.cookie);
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn gql(app: &TestApp, role: Role, query: &str, variables: Value) -> Value {
    let response = app.graphql(Some(&app.token(role)), query, variables).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    response["data"].clone()
}

const SETTINGS_WRITE: &str = "mutation { updateSettings(autoPromptSerialNumber: true) { settings { autoPromptSerialNumber } } }";

async fn signing_in_sets_an_http_only_strict_cookie_whose_session_acts_as_its_token(app: &TestApp) {
    let (status, cookie, session) =
        post_sign_in(app, json!({ "token": app.token(Role::Warehouse) }), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = cookie.expect("a Set-Cookie header");
    assert!(cookie.starts_with("sl_session=sls_"), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert_eq!(session["role"], "warehouse");
    assert_eq!(session["tenant"]["name"], "Test Shop");
    assert_eq!(
        session["permissions"],
        json!(["read", "subscribe", "recordSerials", "fulfil"])
    );
    assert!(session["expiresAt"].as_str().is_some());
    let browser = Browser {
        cookie: cookie.split(';').next().unwrap().to_owned(),
        csrf: session["csrfToken"].as_str().unwrap().to_owned(),
    };

    // The cookie reads GraphQL (with the CSRF token, as the console sends every POST),
    // REST and the files, as the token would.
    let (status, body) = browse(
        app,
        &browser,
        Method::POST,
        "/graphql",
        Some(json!({ "query": "{ settings { autoPromptSerialNumber } }" })),
        Some(&browser.csrf),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body["data"]["settings"]["autoPromptSerialNumber"], false);
    let (status, body) = browse(
        app,
        &browser,
        Method::GET,
        "/api/v1/lines/pending-serial",
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let response = reqwest::Client::new()
        .get(app.url("/exports/sales-detail.csv"))
        .header(COOKIE, &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // And its role still decides: the warehouse may not change settings.
    let (status, body) = browse(
        app,
        &browser,
        Method::POST,
        "/graphql",
        Some(json!({ "query": SETTINGS_WRITE })),
        Some(&browser.csrf),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let (status, me) = browse(app, &browser, Method::GET, "/console/session", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["csrfToken"], browser.csrf);
}

async fn a_write_made_with_the_session_cookie_is_refused_without_its_csrf_token(app: &TestApp) {
    let browser = sign_in(app, Role::Manager).await;
    for csrf in [None, Some("0000"), Some(&*"f".repeat(64))] {
        let (status, body) = browse(
            app,
            &browser,
            Method::POST,
            "/graphql",
            Some(json!({ "query": SETTINGS_WRITE })),
            csrf,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body:#}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "CSRF_TOKEN_INVALID"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("x-csrf-token"),
            "{body:#}"
        );

        // REST and the file uploads refuse it the same way, with their own error body.
        let (status, body) = browse(
            app,
            &browser,
            Method::PUT,
            "/api/v1/sales/0190a000-0000-7000-8000-000000000001/lines/1/serial",
            Some(json!({ "serialNumber": "SN-1" })),
            csrf,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body:#}");
        assert_eq!(body["error"]["code"], "CSRF_TOKEN_INVALID");
        let (status, body) = browse(
            app,
            &browser,
            Method::DELETE,
            "/console/session",
            None,
            csrf,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "signing out is a write too: {body:#}"
        );
    }
    // Nothing was changed.
    let settings = gql(
        app,
        Role::Auditor,
        "{ settings { autoPromptSerialNumber } }",
        json!({}),
    )
    .await;
    assert_eq!(settings["settings"]["autoPromptSerialNumber"], false);

    // With the session's token the same write goes through.
    let (status, body) = browse(
        app,
        &browser,
        Method::POST,
        "/graphql",
        Some(json!({ "query": SETTINGS_WRITE })),
        Some(&browser.csrf),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["updateSettings"]["settings"]["autoPromptSerialNumber"], true,
        "{body:#}"
    );

    // Another session's token is not this one's.
    let other = sign_in(app, Role::Manager).await;
    let (status, _) = browse(
        app,
        &browser,
        Method::POST,
        "/graphql",
        Some(json!({ "query": SETTINGS_WRITE })),
        Some(&other.csrf),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn a_session_ends_on_sign_out_and_when_its_token_is_revoked(app: &TestApp) {
    let browser = sign_in(app, Role::Auditor).await;
    let (status, _) = browse(
        app,
        &browser,
        Method::DELETE,
        "/console/session",
        None,
        Some(&browser.csrf),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = browse(app, &browser, Method::GET, "/console/session", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");
    let (status, body) = browse(
        app,
        &browser,
        Method::POST,
        "/graphql",
        Some(json!({ "query": "{ settings { autoPromptSerialNumber } }" })),
        Some(&browser.csrf),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    // A token revoked (here, or by the CLI in another process) ends its sessions at once.
    let issued = app
        .state
        .auth
        .create_token("shop", Role::Pos, "till 9")
        .await
        .unwrap();
    let till = sign_in_with(app, &issued.token).await;
    let (status, _) = browse(app, &till, Method::GET, "/console/session", None, None).await;
    assert_eq!(status, StatusCode::OK);
    application::auth::Auth::new(app.state.db.clone())
        .revoke_token(issued.token_id)
        .await
        .unwrap();
    let (status, _) = browse(app, &till, Method::GET, "/console/session", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // And a session ends when it expires.
    let short = app
        .state
        .auth
        .start_session(&app.token(Role::Pos), Duration::from_millis(300))
        .await
        .unwrap();
    assert!(app.state.auth.session(&short.session_id).await.is_ok());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(matches!(
        app.state.auth.session(&short.session_id).await,
        Err(application::auth::AuthError::Unauthenticated)
    ));
}

async fn sign_in_refuses_a_missing_or_unknown_token_naming_the_field(app: &TestApp) {
    let unknown = json!({ "token": "sl_00000000000000000000000000000000_00" });
    for (body, status, code) in [
        (json!({}), StatusCode::BAD_REQUEST, "VALIDATION"),
        (
            json!({ "token": "  " }),
            StatusCode::BAD_REQUEST,
            "VALIDATION",
        ),
        (json!({ "token": 7 }), StatusCode::BAD_REQUEST, "VALIDATION"),
        (unknown, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
    ] {
        let (answered, cookie, answer) = post_sign_in(app, body.clone(), &[]).await;
        assert_eq!(answered, status, "{body}");
        assert_eq!(cookie, None, "{body}");
        assert_eq!(answer["error"]["code"], code, "{body}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("token "), "{message}");
    }
    let client = reqwest::Client::new();
    // A made-up session cookie is no session.
    let response = client
        .get(app.url("/console/session"))
        .header(COOKIE, "sl_session=sls_made_up")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn the_session_cookie_is_secure_behind_a_tls_proxy(app: &TestApp) {
    for header in [
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43"),
    ] {
        let body = json!({ "token": app.token(Role::Pos) });
        let (status, cookie, _) = post_sign_in(app, body, &[header]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(cookie.unwrap().ends_with("; Secure"), "{header:?}");
    }
}

async fn a_bearer_token_needs_no_csrf_token_even_beside_a_session_cookie(app: &TestApp) {
    // Integrators never had a CSRF token: a bearer token cannot be sent by another site's
    // page, so the header decides, even when a cookie of some session rides along.
    let browser = sign_in(app, Role::Auditor).await;
    let response = reqwest::Client::new()
        .post(app.url("/graphql"))
        .bearer_auth(app.token(Role::Manager))
        .header(COOKIE, &browser.cookie)
        .json(&json!({ "query": SETTINGS_WRITE }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["data"]["updateSettings"]["settings"]["autoPromptSerialNumber"], true,
        "{body:#}"
    );
}

async fn the_pages_and_graphiql_come_from_this_server_under_a_strict_policy(app: &TestApp) {
    let client = reqwest::Client::new();
    for path in api::console::PAGES {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        let page = response.text().await.unwrap();
        assert!(page.contains("/assets/console/app.js"), "{path}");
    }
    let response = client.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("/assets/graphiql/graphiql.min.js"));
    assert!(
        !page.contains("://"),
        "GraphiQL loads nothing from another server"
    );
    for (name, _) in api::assets::FILES {
        let response = client
            .get(app.url(&format!("/assets/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
    }
    // Unchanged files are revalidated, not sent again.
    let response = client
        .get(app.url("/assets/console/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let response = client
        .get(app.url("/assets/console/app.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(response.text().await.unwrap().is_empty());
    let (status, _) = app.get("/assets/../Cargo.toml").await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/assets/console/missing.js").await;
    assert_eq!(status, 404);
}

/// A REQUIRED product and a fulfilled sale of one unit with `serial`: the sale's id.
async fn sold(app: &TestApp, sku: &str, invoice: &str, serial: &str) -> String {
    let product = gql(
        app,
        Role::Manager,
        "mutation($sku: String!) { createProduct(input: { sku: $sku, name: $sku, serialMode: REQUIRED }) { product { id } } }",
        json!({ "sku": sku }),
    )
    .await["createProduct"]["product"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sale = gql(
        app,
        Role::Pos,
        "mutation($invoice: String!, $outlet: ID!) { openSale(input: { invoiceNumber: $invoice, outletId: $outlet }) { sale { id } } }",
        json!({ "invoice": invoice, "outlet": OUTLET }),
    )
    .await["openSale"]["sale"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    gql(
        app,
        Role::Pos,
        "mutation($sale: ID!, $product: ID!) { addItem(saleId: $sale, productId: $product, quantity: 1) { lines { lineNumber } } }",
        json!({ "sale": sale, "product": product }),
    )
    .await;
    gql(
        app,
        Role::Pos,
        "mutation($sale: ID!, $serial: String!) { assignSerial(saleId: $sale, lineId: 1, serialNumber: $serial) { cursor } }",
        json!({ "sale": sale, "serial": serial }),
    )
    .await;
    gql(
        app,
        Role::Pos,
        "mutation($sale: ID!) { fulfilLines(saleId: $sale) { cursor } }",
        json!({ "sale": sale }),
    )
    .await;
    sale
}

async fn serial_numbers_are_found_by_prefix(app: &TestApp) {
    sold(app, "PHONE", "INV-1", "SN-100").await;
    sold(app, "TABLET", "INV-2", "SN-101").await;
    sold(app, "WATCH", "INV-3", "XX-100").await;
    let query =
        "query($prefix: String!, $first: Int) { serialNumbers(prefix: $prefix, first: $first) }";
    let found = gql(app, Role::Auditor, query, json!({ "prefix": " sn-1" })).await;
    assert_eq!(found["serialNumbers"], json!(["SN-100", "SN-101"]));
    let found = gql(
        app,
        Role::Auditor,
        query,
        json!({ "prefix": "SN", "first": 1 }),
    )
    .await;
    assert_eq!(found["serialNumbers"], json!(["SN-100"]));
    let found = gql(app, Role::Auditor, query, json!({ "prefix": "ZZ" })).await;
    assert_eq!(found["serialNumbers"], json!([]));
    for (variables, code) in [
        (json!({ "prefix": "SN", "first": 0 }), "VALIDATION"),
        (json!({ "prefix": "SN", "first": 101 }), "VALIDATION"),
        (json!({ "prefix": "   " }), "INVALID_SERIAL"),
    ] {
        let response = app
            .graphql(Some(&app.token(Role::Auditor)), query, variables)
            .await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], code,
            "{response:#}"
        );
    }
}

async fn a_serial_as_of_a_time_shows_the_unit_as_it_stood_then(app: &TestApp) {
    let sale = sold(app, "PHONE", "INV-7", "SN-7").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = time::OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(20)).await;
    gql(
        app,
        Role::Pos,
        "mutation($sale: ID!) { refundLines(saleId: $sale, serialNumbers: [\"SN-7\"], reason: \"faulty\") { cursor } }",
        json!({ "sale": sale }),
    )
    .await;
    let query = "query($at: DateTime) { serialTrace(serialNumber: \"SN-7\", asOf: $at) { status history { action } } }";
    let now = gql(app, Role::Auditor, query, json!({})).await;
    assert_eq!(now["serialTrace"][0]["status"], "RETURNED");
    let at = between
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let then = gql(app, Role::Auditor, query, json!({ "at": at })).await;
    assert_eq!(then["serialTrace"][0]["status"], "FULFILLED", "{then:#}");
    assert_eq!(
        then["serialTrace"][0]["history"],
        json!([{ "action": "ASSIGNED" }, { "action": "FULFILLED" }])
    );
    let before = gql(
        app,
        Role::Auditor,
        query,
        json!({ "at": "2000-01-01T00:00:00Z" }),
    )
    .await;
    assert_eq!(before["serialTrace"], json!([]));
}

async fn the_evidence_file_of_a_serial_is_downloaded_by_auditors_and_refused_to_the_till(
    app: &TestApp,
) {
    sold(app, "PHONE", "INV-9", "SN-9").await;
    gql(
        app,
        Role::Manager,
        "mutation { issueCheckpoint { treeSize } }",
        json!({}),
    )
    .await;
    let client = reqwest::Client::new();
    let auditor = sign_in(app, Role::Auditor).await;
    let response = client
        .get(app.url("/exports/serials/evidence?serial=sn-9"))
        .header(COOKIE, &auditor.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"evidence-SN-9.json\""
    );
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["serial"], "SN-9");
    assert!(document["checkpoint"].as_str().is_some(), "{document:#}");
    let history = document["units"][0]["history"].as_array().unwrap();
    assert!(history.len() >= 2, "assigned, fulfilled: {document:#}");
    let checked = ledger_proof::evidence::check_evidence(&document, None);
    assert!(checked.is_intact(), "{:?}", checked.problems);
    assert_eq!(checked.serial, "SN-9");

    for (path, role, status, code) in [
        (
            "/exports/serials/evidence?serial=sn-9",
            Role::Pos,
            403,
            "FORBIDDEN",
        ),
        (
            "/exports/serials/evidence?serial=NEVER",
            Role::Auditor,
            404,
            "NOT_FOUND",
        ),
        (
            "/exports/serials/evidence",
            Role::Auditor,
            400,
            "VALIDATION",
        ),
        (
            "/exports/serials/evidence?serial=SN-9&productId=nope",
            Role::Auditor,
            400,
            "VALIDATION",
        ),
    ] {
        let response = client
            .get(app.url(path))
            .bearer_auth(app.token(role))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code, "{path}: {body:#}");
    }
}
