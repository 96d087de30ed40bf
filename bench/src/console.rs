//! Scenario 8, the web console's page views at scale: the server's share of rendering the
//! serial lookup and the report pages on a ledger with N recorded serials.
//!
//! Set-up: scenario 3's ([`crate::lookup::Filled`]: real sales written by the mix, the
//! traceability index filled up to N serials, 10M by default) with [`Fill::IndexAndReports`]:
//! the filler also writes the report tables (`rm_sales`, `rm_sale_lines`), one sale of one
//! FULFILLED line per filled serial (opened over the past year, 8 outlets, every sale type
//! and delivery mode) and 1% more open sales whose REQUIRED line waits for its serial; so
//! the reports read N sold lines. Plus a few hundred real open sales pending a serial
//! (through the command path). The server runs in its own process (`serve-child`, the real
//! router with the console).
//!
//! The bench signs in once as the console does (`POST /console/session` with a manager's
//! API token) and then, per page view, sends sequentially, over one kept-alive connection,
//! what the browser asks the server for before the page has rendered, with the session
//! cookie and the `x-csrf-token` header the console's scripts send:
//!
//! - `GET /<page>?...` (the HTML shell);
//! - the page's static files (`/assets/console/`: four style sheets, `app.js`, `api.js`,
//!   `dom.js`, the page's module and `report-filters.js` for the reports): served with
//!   `Cache-Control: no-cache` and no validator, so a browser fetches them again on every
//!   view; a browser fetches some of them in parallel, here they are sequential;
//! - `GET /console/session` (`app.js` loads the session before it renders);
//! - the page's GraphQL documents, copied from its script, in the order it sends them:
//!   - serial lookup (`/serials?serial=X`): the prefix suggestion (`serialNumbers`, sent as
//!     the serial is typed, here with X less its last character) and `serialTrace`;
//!   - sales report (`/sales`, first page of 25, and `/sales?serial=X`): the filter options
//!     (`products` and the outlets from `salesReport(first: 500)`), then `salesReport`;
//!   - fulfilment report (`/fulfilment?pending=1`, first page of 25): the outlets
//!     (`salesReport(first: 500)`), then `fulfilmentReport` with `pendingSerialOnly`.
//!
//! Every X is a real serial (its sale's events are in the log). A page view's time is the
//! sum of its requests (each until its body is read). Reported per page: p50 and p95 of a
//! whole view, the p95 against the issue's 200 ms target; the static files' share; and, for
//! the pages keyed by a serial, the p95 of their GraphQL calls beside the bare index
//! `SELECT` (as scenario 3), timed once per view in the same run; for the report pages, the
//! report query alone (the page's last call, p50 and p95) and its filter-option queries.
//! Also reported: the lines in the report tables and the filler's time. Not measured: the
//! browser's own work (script, layout, paint).

use crate::env::{Backend, Shop};
use crate::lookup::{Fill, Filled, IndexPool};
use crate::report::{Figure, number};
use crate::server::ChildServer;
use crate::stats::Latencies;
use anyhow::Context as _;
use domain::sale::OpenSale;
use event_schemas::{Channel, DeliveryMode, Money, SaleId, SaleType};
use rand::seq::IndexedRandom as _;
use rand::{SeedableRng as _, rngs::SmallRng};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The issue's target for a page view, p95.
const TARGET_MS: f64 = 200.0;
/// Page views not counted (the connection's first requests).
const WARM_UP_ROUNDS: usize = 2;

/// `pages/serials.js`: `TRACE`.
const SERIAL_TRACE: &str = r"query Trace($serial: String!, $asOf: DateTime) {
  serialTrace(serialNumber: $serial, asOf: $asOf) {
    productId serialNumber sku productName status saleId invoiceNumber lineNumber outletId
    customer { customerId name } allocatedAt fulfilledAt returnedAt
    history {
      action statusAfter eventType saleId invoiceNumber lineNumber outletId
      customer { name } actor { kind id displayName } channel reason
      refund { amountMinor currency }
      reissueOf { saleId invoiceNumber lineNumber } reissueOfSerial
      replacedBy { saleId invoiceNumber lineNumber } replacedBySerial
      recordedAt
    }
  }
}";

/// `pages/serials.js`: `SUGGEST`.
const SUGGEST: &str =
    "query Suggest($prefix: String!) { serialNumbers(prefix: $prefix, first: 20) }";

/// `pages/sales.js`: `OPTIONS`.
const SALES_OPTIONS: &str = r"query SalesOptions {
  products(first: 200) { nodes { id sku name } }
  salesReport(first: 500) { nodes { sale { outletId } } }
}";

/// `pages/sales.js`: `REPORT`.
const SALES_REPORT: &str = r"query SalesReport($filter: SalesReportFilter, $first: Int, $after: String) {
  salesReport(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      sale { id invoiceNumber saleTypeLabel deliveryModeName outletId openedAt customer { name } }
      line { lineNumber productId sku productName quantity lineTotal { amountMinor currency } serialNumber status fulfilledAt returnedAt }
    } }
  }
}";

/// `pages/fulfilment.js`: `OUTLETS`.
const OUTLETS: &str = "query Outlets { salesReport(first: 500) { nodes { sale { outletId } } } }";

/// `pages/fulfilment.js`: `REPORT` (with `ROW_FIELDS`).
const FULFILMENT_REPORT: &str = r"query FulfilmentReport($filter: FulfilmentReportFilter, $first: Int, $after: String) {
  fulfilmentReport(filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
  sale { id invoiceNumber saleType saleTypeLabel deliveryMode deliveryModeName outletId openedAt customer { name } }
  line { lineNumber productId sku productName quantity serialMode serialNumber serialIndicator pendingSerial status packageMode parentLine } } }
  }
}";

/// The page's default size (`PAGE_SIZES` default in both report scripts).
const PAGE_SIZE: u32 = 25;

/// What `index.html` loads, then what `app.js` imports.
const SHELL_ASSETS: [&str; 7] = [
    "/assets/console/style.css",
    "/assets/console/pos.css",
    "/assets/console/reports.css",
    "/assets/console/lookup.css",
    "/assets/console/app.js",
    "/assets/console/api.js",
    "/assets/console/dom.js",
];

/// Sizes of a run.
pub struct ConsoleSize {
    /// Recorded serials in the index (real + filler).
    pub serials: u64,
    /// Real sales written through the command path.
    pub real_sales: u64,
    /// Open sales with a line pending its serial (the fulfilment report's rows).
    pub pending_sales: u64,
    /// Page views per page.
    pub views: usize,
}

/// The pages measured.
#[derive(Debug, Clone, Copy)]
enum Page {
    SerialLookup,
    SalesFirst,
    SalesBySerial,
    FulfilmentPending,
}

impl Page {
    const ALL: [Page; 4] = [
        Page::SerialLookup,
        Page::SalesFirst,
        Page::SalesBySerial,
        Page::FulfilmentPending,
    ];

    fn case(self) -> &'static str {
        match self {
            Page::SerialLookup => "serial lookup page (/serials?serial=)",
            Page::SalesFirst => "sales report page (/sales, first page)",
            Page::SalesBySerial => "sales report page filtered by serial (/sales?serial=)",
            Page::FulfilmentPending => "fulfilment report page (/fulfilment?pending=1)",
        }
    }

    /// Whether the page is a report (its last GraphQL call is the report query, the ones
    /// before it the filter options).
    fn is_report(self) -> bool {
        !matches!(self, Page::SerialLookup)
    }

    /// Whether the page is keyed by a serial (compared with the bare index lookup).
    fn by_serial(self) -> bool {
        matches!(self, Page::SerialLookup | Page::SalesBySerial)
    }

    fn address(self, serial: &str) -> String {
        match self {
            Page::SerialLookup => format!("/serials?serial={serial}"),
            Page::SalesFirst => "/sales".into(),
            Page::SalesBySerial => format!("/sales?serial={serial}"),
            Page::FulfilmentPending => "/fulfilment?pending=1".into(),
        }
    }

    /// The page's modules (after the shell's).
    fn modules(self) -> &'static [&'static str] {
        match self {
            Page::SerialLookup => &["/assets/console/pages/serials.js"],
            Page::SalesFirst | Page::SalesBySerial => &[
                "/assets/console/pages/sales.js",
                "/assets/console/report-filters.js",
            ],
            Page::FulfilmentPending => &[
                "/assets/console/pages/fulfilment.js",
                "/assets/console/report-filters.js",
            ],
        }
    }

    /// The GraphQL requests the page's script sends while it renders, in order, each with
    /// a check of its answer's `data`.
    fn calls(self, serial: &str) -> Vec<(&'static str, Value, Check)> {
        let prefix = &serial[..serial.len().saturating_sub(1).max(1)];
        let page = |filter: Value| json!({ "filter": filter, "first": PAGE_SIZE, "after": null });
        let sales_filter = |serial: Option<&str>| {
            json!({
                "serialNumber": serial, "productId": null, "sku": null, "outlet": null,
                "from": null, "to": null,
            })
        };
        match self {
            Page::SerialLookup => vec![
                (
                    SUGGEST,
                    json!({ "prefix": prefix }),
                    Check::NonEmpty("serialNumbers"),
                ),
                (
                    SERIAL_TRACE,
                    json!({ "serial": serial, "asOf": null }),
                    Check::NonEmpty("serialTrace"),
                ),
            ],
            Page::SalesFirst => vec![
                (SALES_OPTIONS, json!({}), Check::Answered),
                (
                    SALES_REPORT,
                    page(sales_filter(None)),
                    Check::Edges("salesReport"),
                ),
            ],
            Page::SalesBySerial => vec![
                (SALES_OPTIONS, json!({}), Check::Answered),
                (
                    SALES_REPORT,
                    page(sales_filter(Some(serial))),
                    Check::Edges("salesReport"),
                ),
            ],
            Page::FulfilmentPending => vec![
                (OUTLETS, json!({}), Check::Answered),
                (
                    FULFILMENT_REPORT,
                    page(json!({
                        "pendingSerialOnly": true, "outlet": null, "saleType": null,
                        "deliveryMode": null, "from": null, "to": null,
                    })),
                    Check::Edges("fulfilmentReport"),
                ),
            ],
        }
    }
}

/// What a GraphQL answer must hold (so an empty page is not timed as a page).
#[derive(Debug, Clone, Copy)]
enum Check {
    Answered,
    NonEmpty(&'static str),
    Edges(&'static str),
}

impl Check {
    fn verify(self, data: &Value) -> anyhow::Result<()> {
        let found = match self {
            Check::Answered => !data.is_null(),
            Check::NonEmpty(field) => data[field].as_array().is_some_and(|a| !a.is_empty()),
            Check::Edges(field) => data[field]["edges"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
        };
        anyhow::ensure!(found, "{self:?}: the answer is empty: {data}");
        Ok(())
    }
}

/// The timings of one page's views.
#[derive(Default)]
struct PageTimes {
    view: Latencies,
    graphql: Latencies,
    assets: Latencies,
    index: Latencies,
    /// The report pages' report query alone (first page).
    report: Latencies,
    /// The report pages' filter-option queries (before the report query).
    options: Latencies,
}

/// Runs scenario 8 once on a fresh database.
pub async fn run(
    backend: Backend,
    postgres_url: &str,
    size: &ConsoleSize,
    run: u32,
) -> anyhow::Result<Vec<Figure>> {
    let Filled {
        database,
        shop,
        serials,
        fill_seconds,
    } = Filled::prepare(
        "console",
        backend,
        postgres_url,
        size.serials,
        size.real_sales,
        Fill::IndexAndReports,
        run,
    )
    .await?;
    write_pending_sales(&shop, size.pending_sales, run).await?;
    shop.state.projections.catch_up_all().await?;
    shop.state.store.close().await;

    let server = ChildServer::start(&database.url)?;
    let index = IndexPool::connect(&database).await?;
    let report_lines = index.report_lines(&shop).await?;
    let browser = Browser::sign_in(&server, &shop.token).await?;
    let mut rng = SmallRng::seed_from_u64(u64::from(run));
    let mut times: Vec<PageTimes> = Page::ALL.iter().map(|_| PageTimes::default()).collect();
    let started = Instant::now();
    // Round-robin over the pages, so noise falls on all of them alike.
    for round in 0..WARM_UP_ROUNDS + size.views {
        for (page, times) in Page::ALL.into_iter().zip(times.iter_mut()) {
            let serial = serials.choose(&mut rng).context("no real serial")?;
            let view = browser.view(page, serial).await?;
            let index_time = if page.by_serial() {
                let begun = Instant::now();
                index.lookup(&shop, serial).await?;
                Some(begun.elapsed())
            } else {
                None
            };
            if round >= WARM_UP_ROUNDS {
                times.view.push(view.total);
                times.graphql.push(view.graphql);
                times.assets.push(view.assets);
                if let Some(report) = view.report {
                    times.report.push(report);
                    times.options.push(view.graphql.saturating_sub(report));
                }
                if let Some(index_time) = index_time {
                    times.index.push(index_time);
                }
            }
        }
    }
    eprintln!(
        "console/{backend}: {} views of {} pages in {:.1} s",
        size.views,
        Page::ALL.len(),
        started.elapsed().as_secs_f64()
    );
    index.close().await;
    drop(server);
    database.drop_database().await?;

    let backend = backend.to_string();
    let scale = number(size.serials as f64);
    let mut figures = Vec::new();
    for (page, times) in Page::ALL.into_iter().zip(&times) {
        let case = format!("{scale} serials, {}", page.case());
        let figure =
            |metric: &str, ours: f64| Figure::plain("console", &backend, &case, metric, ours);
        figures.push(figure("page view p50 ms", times.view.percentile_ms(50.0)));
        figures.push(
            figure("page view p95 ms", times.view.percentile_ms(95.0))
                .against("target ms", TARGET_MS),
        );
        figures.push(figure(
            "of which static files p95 ms",
            times.assets.percentile_ms(95.0),
        ));
        let graphql = figure("of which GraphQL p95 ms", times.graphql.percentile_ms(95.0));
        figures.push(if page.by_serial() {
            graphql.against("index SELECT ms", times.index.percentile_ms(95.0))
        } else {
            graphql
        });
        if page.is_report() {
            for p in [50.0, 95.0] {
                figures.push(figure(
                    &format!("of which report query alone p{p} ms"),
                    times.report.percentile_ms(p),
                ));
            }
            figures.push(figure(
                "of which filter-option queries p95 ms",
                times.options.percentile_ms(95.0),
            ));
        }
    }
    figures.push(Figure::plain(
        "console",
        &backend,
        &format!("{scale} serials, set-up"),
        "report table lines (rm_sale_lines)",
        report_lines as f64,
    ));
    figures.push(Figure::plain(
        "console",
        &backend,
        &format!("{scale} serials, set-up"),
        "index and report tables fill s (bypasses events)",
        fill_seconds,
    ));
    Ok(figures)
}

/// Opens `sales` sales, each with one REQUIRED line and no serial yet.
async fn write_pending_sales(shop: &Shop, sales: u64, run: u32) -> anyhow::Result<()> {
    let commands = &shop.state.commands;
    for n in 0..sales {
        let context = shop.context(Channel::Pos);
        let sale_id = SaleId::new_v7();
        commands
            .open_sale(
                &context,
                OpenSale {
                    sale_id,
                    invoice_number: format!("P{run}-{n}"),
                    sale_type: SaleType::Sale,
                    delivery_mode: DeliveryMode::Pickup,
                    outlet_id: shop.outlet_id,
                    customer: None,
                },
            )
            .await?;
        let price = Money {
            amount_minor: 99_900,
            currency: "AUD".into(),
        };
        commands
            .add_item(
                &shop.context(Channel::Pos),
                sale_id,
                shop.product_id,
                1,
                price,
            )
            .await?;
    }
    Ok(())
}

/// One page view's times.
struct View {
    total: Duration,
    graphql: Duration,
    assets: Duration,
    /// A report page's report query (its last call).
    report: Option<Duration>,
}

/// A signed-in browser: one HTTP client (kept-alive connection), the session cookie and the
/// CSRF token.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Browser {
    /// `POST /console/session` with the token, as the sign-in page does.
    async fn sign_in(server: &ChildServer, token: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().build()?;
        let base = server.url("");
        let response = client
            .post(format!("{base}/console/session"))
            .json(&json!({ "token": token }))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "sign-in: HTTP {}",
            response.status()
        );
        let cookie = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with("sl_session="))
            .and_then(|value| value.split(';').next())
            .context("sign-in set no sl_session cookie")?
            .to_owned();
        let session: Value = response.json().await?;
        let csrf = session["csrfToken"]
            .as_str()
            .context("sign-in answered no csrfToken")?
            .to_owned();
        Ok(Self {
            client,
            base,
            cookie,
            csrf,
        })
    }

    /// `GET path` with the cookie; the time until the body is read, and the body.
    async fn get(&self, path: &str) -> anyhow::Result<(Duration, axum::body::Bytes)> {
        let begun = Instant::now();
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let took = begun.elapsed();
        anyhow::ensure!(status.is_success(), "GET {path}: HTTP {status}");
        Ok((took, body))
    }

    /// `POST /graphql` as `api.js`'s `gql` sends it; the time, and the answer's `data`.
    async fn graphql(&self, query: &str, variables: &Value) -> anyhow::Result<(Duration, Value)> {
        let body = serde_json::to_vec(&json!({ "query": query, "variables": variables }))?;
        let begun = Instant::now();
        let response = self
            .client
            .post(format!("{}/graphql", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let took = begun.elapsed();
        anyhow::ensure!(status.is_success(), "POST /graphql: HTTP {status}");
        let mut answer: Value = serde_json::from_slice(&body)?;
        if let Some(errors) = answer.get("errors") {
            anyhow::bail!("GraphQL error: {errors}");
        }
        Ok((took, answer["data"].take()))
    }

    /// One view of `page`, its requests one after another as the page's render waits on them.
    async fn view(&self, page: Page, serial: &str) -> anyhow::Result<View> {
        let mut assets = Duration::ZERO;
        let (html, body) = self.get(&page.address(serial)).await?;
        anyhow::ensure!(body.starts_with(b"<!doctype html>"), "not the console page");
        for asset in SHELL_ASSETS {
            assets += self.get(asset).await?.0;
        }
        let (session, body) = self.get("/console/session").await?;
        let session_json: Value = serde_json::from_slice(&body)?;
        anyhow::ensure!(
            session_json["csrfToken"].as_str() == Some(self.csrf.as_str()),
            "the session answered another CSRF token"
        );
        for module in page.modules() {
            assets += self.get(module).await?.0;
        }
        let mut graphql = Duration::ZERO;
        let mut last = Duration::ZERO;
        for (query, variables, check) in page.calls(serial) {
            let (took, data) = self.graphql(query, &variables).await?;
            check.verify(&data)?;
            graphql += took;
            last = took;
        }
        Ok(View {
            total: html + assets + session + graphql,
            graphql,
            assets,
            report: page.is_report().then_some(last),
        })
    }
}
