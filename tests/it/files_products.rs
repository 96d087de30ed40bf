//! The product mass upload/download CSV and the bulk edit from a search, end to end: the
//! real server over HTTP (`GET /exports/products.csv`, `POST /imports/products`), GraphQL
//! (`importProducts` as a multipart upload, `applyProductEditSetting(matching: ...)`), and
//! the events behind them. Every case runs on both backends.

use application::auth::Role;
use application::commands::{CommandContext, NewProduct};
use event_schemas::{
    Channel, LedgerEvent, PackageComponent, PackageComposition, PackageMode, ProductId, SerialMode,
    SerialModeSource,
};
use projections::Projection;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use store::{EventStore, Position};
use tests::app::TestApp;

on_both_servers!(
    exporting_then_uploading_the_same_file_changes_nothing,
    an_upload_with_bad_rows_reports_each_with_its_line_and_writes_nothing,
    a_partial_upload_writes_the_good_rows_and_returns_the_bad_ones_as_csv,
    an_upload_creates_and_edits_by_sku_recording_the_import_channel,
    the_graphql_upload_imports_a_small_file,
    the_bulk_edit_from_a_search_changes_every_matching_product_with_channel_bulk_edit,
    product_files_need_a_token_and_the_catalogue_permission,
    a_two_thousand_row_upload_streams_and_uploading_it_again_is_a_no_op,
);

const HEADER: &str = "SKU,Name,Serial Number Option,Package Mode,Components\n";

fn manager(app: &TestApp) -> String {
    app.token(Role::Manager)
}

/// Creates a product directly through the command service, as the back office would.
async fn create(
    app: &TestApp,
    sku: &str,
    mode: SerialMode,
    package: Option<PackageComposition>,
) -> ProductId {
    let product_id = ProductId::new_v7();
    let context = CommandContext {
        tenant_id: app.tenant.tenant_id,
        metadata: tests::metadata(),
    };
    app.state
        .commands
        .create_product(
            &context,
            NewProduct {
                product_id,
                sku: sku.into(),
                name: format!("Product {sku}"),
                serial_mode: Some(mode),
                source: SerialModeSource::Manual,
                package,
            },
        )
        .await
        .unwrap();
    product_id
}

/// Waits until every read model has folded the whole log.
async fn caught_up(app: &TestApp) {
    let started = Instant::now();
    loop {
        let mut lag = 0;
        for projection in Projection::ALL {
            lag += app.state.projections.lag(projection).await.unwrap();
        }
        if lag == 0 {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "read models did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn event_count(app: &TestApp) -> u64 {
    app.state.store.count_after(Position::START).await.unwrap()
}

async fn products_digest(app: &TestApp) -> String {
    caught_up(app).await;
    app.state
        .projections
        .digest(Projection::Products)
        .await
        .unwrap()
}

/// Every event of the log, in order.
async fn all_events(app: &TestApp) -> Vec<store::RecordedEvent> {
    let mut events = Vec::new();
    let mut after = Position::START;
    loop {
        let page = app.state.store.read_all(after, 1_000).await.unwrap();
        let Some(last) = page.last() else {
            return events;
        };
        after = last.position;
        events.extend(page);
    }
}

/// `GET path` with an optional bearer token: status, headers and body.
async fn get(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// `POST /imports/products?mode=...` with a CSV body: status and JSON answer.
async fn upload(app: &TestApp, token: Option<&str>, mode: &str, csv: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(app.url(&format!("/imports/products?mode={mode}")))
        .header("content-type", "text/csv")
        .body(csv.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

/// A small catalogue: plain products of every mode and a package whose SKU sorts before
/// its components.
async fn seed(app: &TestApp) {
    let phone = create(app, "PHONE-1", SerialMode::Required, None).await;
    let case = create(app, "CASE-1", SerialMode::Optional, None).await;
    create(app, "CABLE-1", SerialMode::Disabled, None).await;
    create(
        app,
        "BUNDLE-1",
        SerialMode::Required,
        Some(PackageComposition {
            mode: PackageMode::Consolidated,
            components: vec![
                PackageComponent {
                    product_id: phone,
                    quantity: 1,
                },
                PackageComponent {
                    product_id: case,
                    quantity: 2,
                },
            ],
        }),
    )
    .await;
    // On PostgreSQL, other tests' open transactions can hold the newest events back from
    // readers (and so from the projections) for a moment.
    tests::wait_until_visible(&app.state.store, 4).await;
    caught_up(app).await;
}

async fn exporting_then_uploading_the_same_file_changes_nothing(app: &TestApp) {
    seed(app).await;
    let token = manager(app);
    let (status, headers, csv) = get(app, Some(&token), "/exports/products.csv").await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"products-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert_eq!(
        csv,
        format!(
            "{HEADER}\
             BUNDLE-1,Product BUNDLE-1,Required,Consolidated,PHONE-1*1|CASE-1*2\n\
             CABLE-1,Product CABLE-1,Disabled,,\n\
             CASE-1,Product CASE-1,Optional,,\n\
             PHONE-1,Product PHONE-1,Required,,\n"
        )
    );
    // A search's result set only.
    let (_, _, found) = get(
        app,
        Some(&token),
        "/exports/products.csv?search=ca&serialMode=optional",
    )
    .await;
    assert_eq!(found, format!("{HEADER}CASE-1,Product CASE-1,Optional,,\n"));

    let events = event_count(app).await;
    let digest = products_digest(app).await;
    let (status, answer) = upload(app, Some(&token), "all-or-nothing", &csv).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rows"], 4);
    assert_eq!(answer["unchanged"], 4);
    assert_eq!(answer["created"], 0);
    assert_eq!(answer["updated"], 0);
    assert_eq!(answer["errors"], json!([]));
    assert_eq!(answer["cursor"], Value::Null);
    assert_eq!(event_count(app).await, events, "no event may be recorded");
    assert_eq!(products_digest(app).await, digest);
}

async fn an_upload_with_bad_rows_reports_each_with_its_line_and_writes_nothing(app: &TestApp) {
    seed(app).await;
    let events = event_count(app).await;
    let digest = products_digest(app).await;
    let csv = format!(
        "{HEADER}\
         NEW-1,New one,Required,,\n\
         ,No SKU,Optional,,\n\
         NEW-2,Maybe one,Maybe,,\n\
         NEW-1,Twice,Disabled,,\n\
         KIT-9,Kit,Optional,Exploded,PHONE-1*0\n\
         KIT-8,Kit,Optional,Exploded,NOWHERE*1|NEW-2\n\
         PHONE-1,,Disabled,,\n"
    );
    let (status, answer) = upload(app, Some(&manager(app)), "all-or-nothing", &csv).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["code"], "VALIDATION");
    assert_eq!(answer["written"], false);
    assert_eq!(answer["rows"], 7);
    assert_eq!(answer["rejected"], 5);
    let errors: Vec<(u64, String, String)> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            (
                error["line"].as_u64().unwrap(),
                error["column"].as_str().unwrap_or_default().to_owned(),
                error["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let lines: Vec<u64> = errors.iter().map(|error| error.0).collect();
    assert_eq!(lines, vec![3, 4, 5, 6, 7, 7], "{errors:#?}");
    assert_eq!(errors[0].1, "SKU");
    assert_eq!(errors[0].2, "must not be blank");
    assert_eq!(errors[1].1, "Serial Number Option");
    assert!(
        errors[1]
            .2
            .starts_with("\"Maybe\" is not an option: must be Required, Optional or Disabled")
    );
    assert!(errors[2].2.contains("NEW-1 is already on line 2"));
    assert!(
        errors[3].2.contains("component PHONE-1: quantity \"0\""),
        "{errors:#?}"
    );
    assert!(
        errors[4]
            .2
            .contains("component NEW-2 is not a product: its row (line 4) is rejected"),
        "{errors:#?}"
    );
    assert!(
        errors[5].2.contains("component NOWHERE is not a product"),
        "{errors:#?}"
    );
    assert_eq!(event_count(app).await, events, "nothing may be written");
    assert_eq!(products_digest(app).await, digest);

    // A file that cannot be a product file at all.
    let (status, answer) = upload(app, Some(&manager(app)), "partial", "Code,Title\nA,B\n").await;
    assert_eq!(status, 400);
    assert_eq!(answer["code"], "VALIDATION");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("unknown column \"Code\"")
    );
}

async fn a_partial_upload_writes_the_good_rows_and_returns_the_bad_ones_as_csv(app: &TestApp) {
    seed(app).await;
    let csv = format!(
        "{HEADER}\
         NEW-1,New one,Required,,\n\
         NEW-2,Maybe one,Maybe,,\n\
         CABLE-1,,optional,,\n\
         KIT-1,Kit,,Exploded,NEW-1*2|LATER-1\n\
         BAD-KIT,Kit,,Exploded,NEW-2*1\n\
         LATER-1,Later,Disabled,,\n"
    );
    let (status, answer) = upload(app, Some(&manager(app)), "partial", &csv).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["written"], true);
    assert_eq!(answer["created"], 3, "{answer}");
    assert_eq!(answer["updated"], 1);
    assert_eq!(answer["rejected"], 2);
    let rejected = answer["rejectedCsv"].as_str().unwrap();
    let mut reader = csv::Reader::from_reader(rejected.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "SKU",
            "Name",
            "Serial Number Option",
            "Package Mode",
            "Components",
            "Line",
            "Errors"
        ]
    );
    assert_eq!(records.len(), 2);
    assert_eq!(&records[0][0], "NEW-2");
    assert_eq!(&records[0][5], "3");
    assert!(records[0][6].starts_with("Serial Number Option: \"Maybe\""));
    // NEW-2 was never created, so the kit that needs it is refused when written.
    assert_eq!(&records[1][0], "BAD-KIT");
    assert_eq!(&records[1][5], "6");

    let db = &app.state.db;
    let tenant = app.tenant.tenant_id;
    let cable = projections::queries::products::products_by_sku(db, tenant, "CABLE-1")
        .await
        .unwrap();
    assert_eq!(cable[0].serial_mode, SerialMode::Optional);
    assert_eq!(
        cable[0].name, "Product CABLE-1",
        "a blank name keeps the name"
    );
    assert_eq!(cable[0].serial_mode_source, SerialModeSource::CsvMassUpload);
    let kit = projections::queries::products::products_by_sku(db, tenant, "KIT-1")
        .await
        .unwrap();
    let package = kit[0]
        .package
        .as_ref()
        .expect("the kit got its package at the end");
    assert_eq!(package.mode, PackageMode::Exploded);
    assert_eq!(package.components.len(), 2);
    assert_eq!(
        kit[0].serial_mode,
        SerialMode::Disabled,
        "a new product defaults to Disabled"
    );
    assert!(
        projections::queries::products::products_by_sku(db, tenant, "NEW-2")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn an_upload_creates_and_edits_by_sku_recording_the_import_channel(app: &TestApp) {
    seed(app).await;
    let before = event_count(app).await;
    let csv = format!(
        "{HEADER}\
         PHONE-1,Phone renamed,optional,,\n\
         TAB-1,Tablet,REQUIRED,,\n"
    );
    let (status, answer) = upload(app, Some(&manager(app)), "all-or-nothing", &csv).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["created"].as_u64(), answer["updated"].as_u64()),
        (Some(1), Some(1))
    );
    // On PostgreSQL, other tests' open transactions can hold the newest events back.
    tests::wait_until_visible(&app.state.store, before + 3).await;
    let events = all_events(app).await;
    let new: Vec<_> = events.iter().skip(before as usize).collect();
    assert_eq!(new.len(), 3, "details, mode, create");
    for event in &new {
        assert_eq!(event.envelope.metadata.channel, Channel::Import);
    }
    let sources: Vec<SerialModeSource> = new
        .iter()
        .filter_map(|event| {
            match LedgerEvent::decode(
                &event.envelope.event_type,
                event.envelope.schema_version,
                &event.envelope.payload,
            )
            .ok()?
            {
                LedgerEvent::SerialModeChanged(changed) => Some(changed.source),
                LedgerEvent::ProductCreated(created) => Some(created.serial_mode_source),
                _ => None,
            }
        })
        .collect();
    assert_eq!(sources, vec![SerialModeSource::CsvMassUpload; 2]);
}

async fn the_graphql_upload_imports_a_small_file(app: &TestApp) {
    let boundary = "xBOUNDARYx";
    let operations = json!({
        "query": "mutation($file: Upload!) { importProducts(file: $file, mode: PARTIAL) { rows created rejected errors { line column reason } } }",
        "variables": { "file": null }
    });
    let csv = format!("{HEADER}GQL-1,From GraphQL,Required,,\nGQL-2,Bad,Sometimes,,\n");
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\": [\"variables.file\"]}}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"products.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n\
         --{boundary}--\r\n"
    );
    let response: Value = reqwest::Client::new()
        .post(app.url("/graphql"))
        .bearer_auth(manager(app))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let data = &response["data"]["importProducts"];
    assert_eq!(data["rows"], 2, "{response:#}");
    assert_eq!(data["created"], 1);
    assert_eq!(data["rejected"], 1);
    assert_eq!(data["errors"][0]["line"], 3);
    assert_eq!(data["errors"][0]["column"], "Serial Number Option");
}

async fn the_bulk_edit_from_a_search_changes_every_matching_product_with_channel_bulk_edit(
    app: &TestApp,
) {
    // More than a page of the catalogue (500), so the search is paged through.
    for index in 0..510 {
        create(app, &format!("CAB-{index:04}"), SerialMode::Disabled, None).await;
    }
    create(app, "PHONE-1", SerialMode::Disabled, None).await;
    create(app, "CAB-OPT", SerialMode::Optional, None).await;
    tests::wait_until_visible(&app.state.store, 512).await;
    caught_up(app).await;
    let before = event_count(app).await;
    let data = app
        .graphql(
            Some(&manager(app)),
            "mutation { applyProductEditSetting(matching: { search: \"cab-\", serialMode: DISABLED }, serialMode: REQUIRED) { updated { sku serialMode serialModeSource } failed { code } } }",
            json!({}),
        )
        .await;
    let updated = data["data"]["applyProductEditSetting"]["updated"]
        .as_array()
        .unwrap_or_else(|| panic!("{data:#}"));
    assert_eq!(updated.len(), 510);
    assert!(
        updated
            .iter()
            .all(|product| product["serialMode"] == "REQUIRED"
                && product["serialModeSource"] == "BULK_EDIT")
    );
    tests::wait_until_visible(&app.state.store, before + 510).await;
    let events = all_events(app).await;
    let new: Vec<_> = events.iter().skip(before as usize).collect();
    assert_eq!(
        new.len(),
        510,
        "one event per product, CAB-OPT and PHONE-1 untouched"
    );
    assert!(
        new.iter()
            .all(|event| event.envelope.metadata.channel == Channel::BulkEdit
                && event.envelope.event_type == "SerialModeChanged")
    );
    // Neither ids nor a search, or both: refused.
    let refused = app
        .graphql(
            Some(&manager(app)),
            "mutation { applyProductEditSetting(serialMode: REQUIRED) { cursor } }",
            json!({}),
        )
        .await;
    assert_eq!(tests::app::error_code(&refused), Some("VALIDATION"));
}

async fn product_files_need_a_token_and_the_catalogue_permission(app: &TestApp) {
    seed(app).await;
    let (status, _, body) = get(app, None, "/exports/products.csv").await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("UNAUTHENTICATED"));
    let (status, answer) = upload(app, None, "partial", HEADER).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );
    let pos = app.token(Role::Pos);
    let (status, answer) = upload(app, Some(&pos), "partial", HEADER).await;
    assert_eq!((status, answer["code"].as_str()), (403, Some("FORBIDDEN")));
    // Reading the catalogue is allowed to every role, but only the token's retailer's.
    let (status, _, csv) = get(app, Some(&pos), "/exports/products.csv").await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 5);
    let foreign = app.foreign_token(Role::Manager).await;
    let (status, _, csv) = get(app, Some(&foreign), "/exports/products.csv").await;
    assert_eq!((status, csv.as_str()), (200, HEADER));
    let (status, _, body) = get(app, Some(&pos), "/exports/products.csv?serialMode=maybe").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("serialMode must be REQUIRED, OPTIONAL or DISABLED"));
    let (status, answer) = upload(app, Some(&manager(app)), "sometimes", HEADER).await;
    assert_eq!((status, answer["code"].as_str()), (400, Some("VALIDATION")));
}

/// `rows` products as a CSV, every third a REQUIRED one.
fn generated_csv(rows: usize) -> String {
    let mut csv = String::from(HEADER);
    for index in 0..rows {
        let option = ["Required", "Optional", "Disabled"][index % 3];
        csv.push_str(&format!(
            "GEN-{index:06},Generated product {index},{option},,\n"
        ));
    }
    csv
}

async fn import_and_export(app: &TestApp, rows: usize) {
    let csv = generated_csv(rows);
    let started = Instant::now();
    let (status, answer) = upload(app, Some(&manager(app)), "all-or-nothing", &csv).await;
    let import = started.elapsed();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["created"], rows);
    let started = Instant::now();
    let (status, _, exported) = get(app, Some(&manager(app)), "/exports/products.csv").await;
    let export = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(exported, csv, "the export is the file uploaded");
    let events = event_count(app).await;
    let started = Instant::now();
    let (status, answer) = upload(app, Some(&manager(app)), "all-or-nothing", &exported).await;
    let again = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(answer["unchanged"], rows);
    assert_eq!(event_count(app).await, events);
    let rate = |elapsed: Duration| rows as f64 / elapsed.as_secs_f64();
    println!(
        "{rows} rows: import {:.0} rows/s ({import:.1?}), export {:.0} rows/s ({export:.1?}), re-import (no-op) {:.0} rows/s ({again:.1?})",
        rate(import),
        rate(export),
        rate(again)
    );
}

async fn a_two_thousand_row_upload_streams_and_uploading_it_again_is_a_no_op(app: &TestApp) {
    import_and_export(app, 2_000).await;
}

/// 100,000 rows (about 5 MB) on SQLite: `cargo test -p tests --test it -- --ignored
/// a_hundred_thousand --nocapture` prints the rates.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "minutes: a throughput figure, not a check for every run"]
async fn a_hundred_thousand_row_upload_and_download() {
    let app = TestApp::spawn(tests::Backend::Sqlite).await;
    import_and_export(&app, 100_000).await;
    app.stop().await;
}
