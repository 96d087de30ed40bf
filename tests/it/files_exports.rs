//! Retail file exports end to end: the real server over HTTP, the demo retailer's data, and
//! every file read back by a real reader: XLSX with calamine, CSV with the csv crate, PDF
//! with `pdftotext` (Debian's poppler-utils; a missing `pdftotext` fails the test, it never
//! skips). Every case runs on both backends.

use application::auth::Role;
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use event_schemas::TenantId;
use files::fulfilment::REPORT_HEADERS;
use serde_json::{Value, json};
use std::io::Cursor;
use std::time::{Duration, Instant};
use tests::app::TestApp;
use uuid::Uuid;

on_both_servers!(
    the_sales_detail_exports_show_serial_sale_type_and_delivery_mode_beside_the_serial,
    bad_export_filters_are_refused_naming_the_parameter,
    the_fulfilment_report_and_pick_lists_show_serials_except_the_invoice_pick_list,
    the_invoice_pdf_shows_serials_under_their_lines_only_when_the_setting_is_on,
    exports_need_a_token_and_never_show_another_retailers_sale,
    a_sales_detail_longer_than_a_page_streams_every_row,
);

/// The demo retailer, seeded, with its read models caught up.
struct Demo {
    tenant_id: TenantId,
    manager: String,
}

async fn seed_demo(app: &TestApp) -> Demo {
    let access = api::demo::seed(&app.state).await.unwrap();
    let manager = access
        .tokens
        .iter()
        .find(|(role, _)| *role == Role::Manager)
        .map(|(_, token)| token.clone())
        .unwrap();
    // Every seeded event visible to readers first: on PostgreSQL a commit can stay hidden
    // for a moment (see `tests::wait_until_visible`), and a lag of zero measured before it
    // shows says nothing about it.
    tests::wait_until_visible(&app.state.store, committed_events(app).await).await;
    // The server's projections fold the seeded events in the background.
    let started = Instant::now();
    loop {
        let mut lag = 0;
        for projection in ::projections::Projection::ALL {
            lag += app.state.projections.lag(projection).await.unwrap();
        }
        if lag == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "read models did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Demo {
        tenant_id: access.tenant_id,
        manager,
    }
}

/// How many events the database holds, visible to readers yet or not.
async fn committed_events(app: &TestApp) -> u64 {
    #[derive(sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let rows = ::projections::fetch_all!(&app.state.db, Count, "SELECT COUNT(*) AS n FROM events")
        .unwrap();
    rows.first().map_or(0, |row| u64::try_from(row.n).unwrap())
}

/// A downloaded file: status, content type, content disposition and bytes.
struct Download {
    status: u16,
    content_type: String,
    disposition: String,
    body: Vec<u8>,
}

impl Download {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    #[track_caller]
    fn assert_file(&self, content_type: &str, name_prefix: &str, extension: &str) {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.content_type, content_type);
        assert!(
            self.disposition
                .starts_with(&format!("attachment; filename=\"{name_prefix}"))
                && self.disposition.ends_with(&format!(".{extension}\"")),
            "{}",
            self.disposition
        );
    }
}

async fn download(app: &TestApp, token: Option<&str>, path: &str) -> Download {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, disposition) = (header("content-type"), header("content-disposition"));
    Download {
        status: response.status().as_u16(),
        content_type,
        disposition,
        body: response.bytes().await.unwrap().to_vec(),
    }
}

/// The worksheet's rows as text (numbers as Rust prints them: `1`, `129900`).
fn xlsx_rows(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let range = workbook.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|row| row.iter().map(Data::to_string).collect())
        .collect()
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The PDF's text as `pdftotext -layout` reads it.
fn pdf_text(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.pdf");
    std::fs::write(&path, bytes).unwrap();
    let output = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "pdftotext could not be run ({error}): install it with \
                 `apt-get install poppler-utils` (.ci/run does)"
            )
        });
    assert!(
        output.status.success(),
        "pdftotext refused the PDF: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|cell| cell == name).unwrap()
}

const PHONE_SERIAL: &str = "F2LXK1A2B3C4";

async fn the_sales_detail_exports_show_serial_sale_type_and_delivery_mode_beside_the_serial(
    app: &TestApp,
) {
    let demo = seed_demo(app).await;
    let file = download(app, Some(&demo.manager), "/exports/sales-detail.xlsx").await;
    file.assert_file(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "sales-detail-",
        "xlsx",
    );
    let rows = xlsx_rows(&file.body, "Sales Detail");
    let header = &rows[0];
    assert_eq!(
        header,
        &::projections::queries::sales::SalesDetailRow::HEADERS
    );
    let (serial, delivery, sale_type, invoice) = (
        column(header, "Serial Number"),
        column(header, "Delivery Mode"),
        column(header, "Sale Type"),
        column(header, "Invoice Number"),
    );
    assert_eq!(
        delivery,
        serial + 1,
        "Delivery Mode is beside Serial Number"
    );
    let phone = rows.iter().find(|row| row[serial] == PHONE_SERIAL).unwrap();
    assert_eq!(phone[invoice], "INV-1001");
    assert_eq!(phone[sale_type], "Sale");
    assert_eq!(phone[delivery], "Cash and Carry");
    assert_eq!(phone[column(header, "Quantity")], "1");
    let special = rows.iter().find(|row| row[invoice] == "INV-1003").unwrap();
    assert_eq!(special[sale_type], "Special Order");
    assert_eq!(special[delivery], "Delivery");
    assert!(rows.iter().all(|row| !row[delivery].is_empty()));

    // The serial filter, typed in lower case, finds the returned unit and only it.
    let file = download(
        app,
        Some(&demo.manager),
        "/exports/sales-detail.csv?serialNumber=f2lfaulty001&sku=&from=2020-01-01T00:00:00Z",
    )
    .await;
    file.assert_file("text/csv; charset=utf-8", "sales-detail-", "csv");
    let rows = csv_rows(&file.body);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][column(&rows[0], "Invoice Number")], "INV-1005");
    assert_eq!(rows[1][column(&rows[0], "Serial Number")], "F2LFAULTY001");
    assert_eq!(rows[1][column(&rows[0], "Status")], "Returned");

    // A filter that matches nothing is a file with its header only.
    let file = download(
        app,
        Some(&demo.manager),
        "/exports/sales-detail.xlsx?serialNumber=NOSUCHSERIAL",
    )
    .await;
    assert_eq!(xlsx_rows(&file.body, "Sales Detail").len(), 1);
}

async fn bad_export_filters_are_refused_naming_the_parameter(app: &TestApp) {
    let demo = seed_demo(app).await;
    for (path, code, parameter) in [
        (
            "/exports/sales-detail.csv?productId=nope",
            "VALIDATION",
            "productId",
        ),
        (
            "/exports/sales-detail.xlsx?outletId=42",
            "VALIDATION",
            "outletId",
        ),
        (
            "/exports/sales-detail.csv?from=yesterday",
            "VALIDATION",
            "from",
        ),
        (
            "/exports/sales-detail.csv?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "VALIDATION",
            "to",
        ),
        ("/exports/sales-detail.csv?sku=%20%20", "VALIDATION", "sku"),
        (
            "/exports/fulfilment-report.csv?saleType=GIFT",
            "VALIDATION",
            "saleType",
        ),
        (
            "/exports/fulfilment-report.xlsx?pendingSerial=maybe",
            "VALIDATION",
            "pendingSerial",
        ),
        (
            "/exports/pick-list.pdf?kind=everything",
            "VALIDATION",
            "kind",
        ),
        ("/exports/invoices/not-a-uuid.pdf", "VALIDATION", "saleId"),
    ] {
        let file = download(app, Some(&demo.manager), path).await;
        assert_eq!(file.status, 400, "{path}");
        let body = file.json();
        assert_eq!(body["code"], code, "{path}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(parameter),
            "{path}: {body}"
        );
    }
    let long_serial = "X".repeat(200);
    let file = download(
        app,
        Some(&demo.manager),
        &format!("/exports/sales-detail.csv?serialNumber={long_serial}"),
    )
    .await;
    assert_eq!(file.status, 400);
    assert_eq!(file.json()["code"], "INVALID_SERIAL");
}

async fn the_fulfilment_report_and_pick_lists_show_serials_except_the_invoice_pick_list(
    app: &TestApp,
) {
    let demo = seed_demo(app).await;
    let token = Some(demo.manager.as_str());

    let file = download(app, token, "/exports/fulfilment-report.xlsx").await;
    file.assert_file(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "fulfilment-report-",
        "xlsx",
    );
    let rows = xlsx_rows(&file.body, "Fulfilment Report");
    assert_eq!(rows[0], REPORT_HEADERS);
    let serial = column(&rows[0], "Serial Number");
    let pending = column(&rows[0], "Pending Serial");
    assert!(rows.iter().any(|row| row[serial] == PHONE_SERIAL));
    assert!(rows.iter().any(|row| row[pending] == "Yes"));

    let file = download(
        app,
        token,
        "/exports/fulfilment-report.csv?pendingSerial=true",
    )
    .await;
    file.assert_file("text/csv; charset=utf-8", "fulfilment-report-", "csv");
    let rows = csv_rows(&file.body);
    assert!(rows.len() > 1);
    for row in &rows[1..] {
        assert_eq!(row[pending], "Yes", "{row:?}");
        assert_eq!(row[serial], "", "{row:?}");
    }

    let file = download(app, token, "/exports/pick-list.pdf?kind=serial").await;
    file.assert_file("application/pdf", "pick-list-", "pdf");
    let text = pdf_text(&file.body);
    assert!(text.contains("Pick List"), "{text}");
    assert!(text.contains("Serial Number"), "{text}");
    assert!(text.contains(PHONE_SERIAL), "{text}");
    assert!(text.contains("PENDING"), "{text}");

    let file = download(app, token, "/exports/pick-list.pdf?kind=invoice").await;
    file.assert_file("application/pdf", "invoice-pick-list-", "pdf");
    let text = pdf_text(&file.body);
    assert!(text.contains("Invoice Pick List"), "{text}");
    assert!(text.contains("INV-1001"), "{text}");
    for absent in [PHONE_SERIAL, "F2LREPLACE01", "Serial", "PENDING"] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }

    let file = download(app, token, "/exports/pick-list.xlsx?kind=invoice").await;
    file.assert_file(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "invoice-pick-list-",
        "xlsx",
    );
    let rows = xlsx_rows(&file.body, "Invoice Pick List");
    assert!(!rows[0].iter().any(|cell| cell.contains("Serial")));
    assert!(rows.iter().flatten().all(|cell| cell != PHONE_SERIAL));

    let file = download(app, token, "/exports/pick-list.csv").await;
    file.assert_file("text/csv; charset=utf-8", "pick-list-", "csv");
    let rows = csv_rows(&file.body);
    let serial = column(&rows[0], "Serial Number");
    assert!(rows.iter().any(|row| row[serial] == PHONE_SERIAL));
    assert!(rows.iter().any(|row| row[serial] == "PENDING"));
}

/// The sale id of invoice INV-1001 (the phone with serial [`PHONE_SERIAL`]).
async fn phone_sale(app: &TestApp, tenant: TenantId) -> Uuid {
    use ::projections::queries::PageRequest;
    use ::projections::queries::sales::{SalesFilter, sales_detail};
    let filter = SalesFilter {
        serial: Some(PHONE_SERIAL.to_owned()),
        ..SalesFilter::default()
    };
    // The demo was seeded through the command service: on PostgreSQL the read models may
    // still be folding it, so look until they show it.
    for _ in 0..200 {
        let page = sales_detail(&app.state.db, tenant, &filter, &PageRequest::first(5))
            .await
            .unwrap();
        if let Some(row) = page.nodes().next() {
            return row.sale_id.0;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the read models never showed invoice INV-1001");
}

async fn the_invoice_pdf_shows_serials_under_their_lines_only_when_the_setting_is_on(
    app: &TestApp,
) {
    let demo = seed_demo(app).await;
    let sale = phone_sale(app, demo.tenant_id).await;
    let path = format!("/exports/invoices/{sale}.pdf");

    // The demo retailer has "Display Serial Number on Invoice" on.
    let file = download(app, Some(&demo.manager), &path).await;
    file.assert_file("application/pdf", "invoice-INV-1001", "pdf");
    assert_eq!(
        file.disposition,
        "attachment; filename=\"invoice-INV-1001.pdf\""
    );
    let text = pdf_text(&file.body);
    assert!(text.contains("INV-1001"), "{text}");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let serial_at = lines
        .iter()
        .position(|line| *line == format!("Serial Number: {PHONE_SERIAL}"))
        .unwrap_or_else(|| panic!("no serial line in {text}"));
    // Under its own line item: the line just above is line 1, the phone.
    assert!(
        lines[serial_at - 1].starts_with("1 "),
        "the serial is not under line 1: {text}"
    );
    assert_eq!(text.matches("Serial Number:").count(), 1, "{text}");

    let response = app
        .graphql(
            Some(&demo.manager),
            "mutation { updateSettings(displaySerialNumberOnInvoice: false) \
             { settings { displaySerialNumberOnInvoice } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        response["data"]["updateSettings"]["settings"]["displaySerialNumberOnInvoice"], false,
        "{response}"
    );
    let file = download(app, Some(&demo.manager), &path).await;
    let text = pdf_text(&file.body);
    assert!(text.contains("INV-1001"), "{text}");
    assert!(!text.contains(PHONE_SERIAL), "{text}");
    assert!(!text.contains("Serial Number"), "{text}");
}

async fn exports_need_a_token_and_never_show_another_retailers_sale(app: &TestApp) {
    let demo = seed_demo(app).await;
    let sale = phone_sale(app, demo.tenant_id).await;
    for path in [
        "/exports/sales-detail.csv",
        "/exports/sales-detail.xlsx",
        "/exports/fulfilment-report.csv",
        "/exports/pick-list.pdf",
        &format!("/exports/invoices/{sale}.pdf"),
    ] {
        let file = download(app, None, path).await;
        assert_eq!(file.status, 401, "{path}");
        assert_eq!(file.json()["code"], "UNAUTHENTICATED", "{path}");
    }

    // The test retailer ("shop") asks for the demo retailer's invoice: as unknown as a
    // sale that does not exist.
    let other = app.token(Role::Manager);
    let file = download(app, Some(&other), &format!("/exports/invoices/{sale}.pdf")).await;
    assert_eq!(file.status, 404);
    assert_eq!(file.json()["code"], "NOT_FOUND");
    let missing = Uuid::now_v7();
    let file = download(
        app,
        Some(&demo.manager),
        &format!("/exports/invoices/{missing}.pdf"),
    )
    .await;
    assert_eq!(file.status, 404);
    assert_eq!(file.json()["code"], "NOT_FOUND");

    // And its exports hold none of the demo retailer's lines.
    let file = download(app, Some(&other), "/exports/sales-detail.csv").await;
    assert_eq!(csv_rows(&file.body).len(), 1);
}

/// 600 lines, more than one page (500) of the streamed CSV: every row arrives, once.
async fn a_sales_detail_longer_than_a_page_streams_every_row(app: &TestApp) {
    use application::commands::{CommandContext, NewProduct};
    use domain::sale::{FulfilLines, LineSelection, OpenSale};
    use event_schemas::*;
    let tenant_id = app.tenant.tenant_id;
    let context = || CommandContext {
        tenant_id,
        metadata: tests::metadata(),
    };
    let commands = &app.state.commands;
    let product_id = ProductId::new_v7();
    commands
        .create_product(
            &context(),
            NewProduct {
                product_id,
                sku: "DRILL".into(),
                name: "Drill".into(),
                serial_mode: Some(SerialMode::Optional),
                source: SerialModeSource::Manual,
                package: None,
            },
        )
        .await
        .unwrap();
    let sale_id = SaleId::new_v7();
    commands
        .open_sale(
            &context(),
            OpenSale {
                sale_id,
                invoice_number: "INV-BIG".into(),
                sale_type: SaleType::Sale,
                delivery_mode: DeliveryMode::CashAndCarry,
                outlet_id: OutletId::new_v7(),
                customer: None,
            },
        )
        .await
        .unwrap();
    // A tracked product splits into one line per unit.
    commands
        .add_item(
            &context(),
            sale_id,
            product_id,
            600,
            Money {
                amount_minor: 9_900,
                currency: "AUD".into(),
            },
        )
        .await
        .unwrap();
    let fulfilled = commands
        .fulfil_lines(
            &context(),
            sale_id,
            FulfilLines {
                lines: LineSelection::All,
            },
        )
        .await
        .unwrap();
    app.state
        .projections
        .wait_for(fulfilled.position().unwrap(), Duration::from_secs(60))
        .await
        .unwrap();

    let token = app.token(Role::Manager);
    let csv = download(app, Some(&token), "/exports/sales-detail.csv?sku=DRILL").await;
    assert_eq!(csv.status, 200);
    let rows = csv_rows(&csv.body);
    assert_eq!(rows.len(), 601, "a header and 600 lines");
    let line = column(&rows[0], "Line");
    let mut lines: Vec<u32> = rows[1..]
        .iter()
        .map(|row| row[line].parse().unwrap())
        .collect();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines, (1..=600).collect::<Vec<u32>>(), "each line once");
    let xlsx = download(app, Some(&token), "/exports/sales-detail.xlsx?sku=DRILL").await;
    assert_eq!(
        xlsx_rows(&xlsx.body, files::sales_detail::SHEET_NAME).len(),
        601
    );
}
