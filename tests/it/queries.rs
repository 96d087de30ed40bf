//! The read models as retail users query them: the POS order view, the fulfilment report and
//! pick lists, the sales report and sales detail export, per-serial traceability.
//!
//! Each case appends real events through the store, folds them with the projection runner,
//! and queries. Every case runs on both backends (`queries::sqlite::...`,
//! `queries::postgres::...`).

use domain::indicator::SerialIndicator;
use domain::serial::SerialError;
use event_schemas::*;
use futures::TryStreamExt;
use pretty_assertions::assert_eq;
use projections::queries::fulfilment::{
    FulfilmentFilter, PickListKind, PickListLine, PickSerial, fulfilment_report, pick_list,
};
use projections::queries::pos::pos_order;
use projections::queries::sales::{
    SalesDetailRow, SalesFilter, sales_detail, sales_detail_stream, sales_report,
};
use projections::queries::trace::{ProductScope, SerialStatus, search_serial_prefix, trace_serial};
use projections::queries::{
    LineStatus, MAX_PAGE_SIZE, Page, PageRequest, QueryError, ReportLine, TimeRange,
};
use projections::{Projection, ProjectionRunner, ReadDb};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use store::*;
use tests::TestStore;
use time::OffsetDateTime;

on_both_backends!(
    each_line_shows_its_indicator_and_the_sale_can_be_fulfilled_once_no_required_serial_is_missing,
    the_pos_view_shows_fulfilled_returned_and_cancelled_lines_and_package_parents_but_not_removed_lines,
    the_pending_serial_filter_shows_only_open_required_lines_without_a_serial,
    every_fulfilment_filter_narrows_the_report,
    fulfilment_pages_concatenate_to_the_whole_ordered_report,
    fulfilment_paging_neither_repeats_nor_loses_rows_when_rows_are_added_between_pages,
    the_invoice_pick_list_has_no_serials_while_the_pick_list_shows_them_and_marks_pending_ones,
    the_sales_report_finds_a_line_by_serial_whatever_the_case_or_whitespace_typed,
    the_sales_report_lists_open_fulfilled_and_returned_lines_but_not_cancelled_or_removed_ones,
    every_sales_report_filter_narrows_the_report,
    the_sales_detail_export_has_delivery_mode_beside_serial_number_and_cash_and_carry_by_name,
    the_sales_detail_export_streams_every_row_page_by_page_and_filters_by_serial,
    the_trace_shows_the_full_history_in_order_across_a_return_and_a_resale_to_another_customer,
    a_serial_shared_by_two_products_traces_as_two_units_narrowed_by_product_or_sku,
    a_prefix_search_finds_exactly_the_serials_starting_with_the_prefix,
    another_tenants_data_is_never_returned,
    invalid_filters_are_typed_errors_naming_the_rule,
);

// ---- a shop: one tenant's history, appended through the store ------------------------------

#[derive(Debug, Clone)]
struct Product {
    id: ProductId,
    sku: String,
    name: String,
    mode: SerialMode,
}

struct Shop<'a> {
    db: &'a TestStore,
    tenant: TenantId,
    outlet: OutletId,
    runner: ProjectionRunner,
    last: Position,
}

use tests::metadata;

fn aud(amount_minor: i64) -> Money {
    Money {
        amount_minor,
        currency: "AUD".into(),
    }
}

impl<'a> Shop<'a> {
    async fn new(db: &'a TestStore) -> Self {
        let runner = ProjectionRunner::new(db.store.clone(), Default::default());
        runner.migrate().await.unwrap();
        Self {
            db,
            tenant: TenantId::new_v7(),
            outlet: OutletId::new_v7(),
            runner,
            last: Position::START,
        }
    }

    fn read(&self) -> &ReadDb {
        self.runner.db()
    }

    async fn append(&mut self, stream: String, events: Vec<LedgerEvent>) {
        let written = self
            .db
            .store
            .append(AppendRequest {
                tenant_id: self.tenant,
                metadata: metadata(),
                writes: vec![StreamWrite {
                    stream_id: stream,
                    expected_revision: ExpectedRevision::Any,
                    events: events.iter().map(NewEvent::from_event).collect(),
                }],
                claims: vec![],
            })
            .await
            .unwrap();
        self.last = self.last.max(written.position);
    }

    /// Folds everything this shop appended. On PostgreSQL a reader holds back commits while
    /// older transactions (of other tests too) are running, so one pass may fall short.
    async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.runner.catch_up_all().await.unwrap();
            let mut reached = true;
            for projection in Projection::ALL {
                reached &= self.runner.checkpoint(projection).await.unwrap().0 >= self.last;
            }
            if reached {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "projections did not reach {:?}",
                self.last
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn product(&mut self, sku: &str, name: &str, mode: SerialMode) -> Product {
        let product = Product {
            id: ProductId::new_v7(),
            sku: sku.into(),
            name: name.into(),
            mode,
        };
        self.append(
            streams::product(product.id),
            vec![
                ProductCreated {
                    product_id: product.id,
                    sku: product.sku.clone(),
                    name: product.name.clone(),
                    serial_mode: mode,
                    serial_mode_source: SerialModeSource::Manual,
                    package: None,
                }
                .into(),
            ],
        )
        .await;
        product
    }

    /// A sale opening with defaults: a cash and carry sale at the shop's outlet for Alice.
    fn opening(&self, invoice: &str) -> SaleOpened {
        SaleOpened {
            sale_id: SaleId::new_v7(),
            invoice_number: invoice.into(),
            sale_type: SaleType::Sale,
            delivery_mode: DeliveryMode::CashAndCarry,
            outlet_id: self.outlet,
            customer: Some(customer("Alice")),
        }
    }

    async fn open(&mut self, opened: SaleOpened) -> SaleId {
        let sale_id = opened.sale_id;
        self.append(streams::sale(sale_id), vec![opened.into()])
            .await;
        // Distinct opening times, so date ranges can fall between sales.
        tokio::time::sleep(Duration::from_millis(2)).await;
        sale_id
    }

    async fn on_sale(&mut self, sale: SaleId, events: Vec<LedgerEvent>) {
        self.append(streams::sale(sale), events).await;
    }

    async fn add(&mut self, sale: SaleId, line: u32, product: &Product) {
        self.on_sale(
            sale,
            vec![
                LineAdded {
                    line: sale_line(line, product),
                }
                .into(),
            ],
        )
        .await;
    }

    async fn assign(&mut self, sale: SaleId, line: u32, product: &Product, serial: &str) {
        let event = SerialAssigned {
            line_number: LineNumber(line),
            product_id: product.id,
            serial: serial.into(),
            scanned: None,
        };
        self.on_sale(sale, vec![event.into()]).await;
    }

    async fn fulfil(&mut self, sale: SaleId, line: u32, product: &Product, serial: Option<&str>) {
        let event = LineFulfilled {
            line_number: LineNumber(line),
            product_id: product.id,
            serial: serial.map(str::to_owned),
        };
        self.on_sale(sale, vec![event.into()]).await;
    }

    async fn give_back(
        &mut self,
        sale: SaleId,
        line: u32,
        product: &Product,
        serial: Option<&str>,
    ) {
        let event = LineReturned {
            line_number: LineNumber(line),
            product_id: product.id,
            serial: serial.map(str::to_owned),
            refund: aud(1000),
            reason: Some("faulty".into()),
        };
        self.on_sale(sale, vec![event.into()]).await;
    }

    async fn cancel(&mut self, sale: SaleId, line: u32, product: &Product, serial: Option<&str>) {
        let event = LineCancelled {
            line_number: LineNumber(line),
            product_id: product.id,
            released_serial: serial.map(str::to_owned),
            reason: None,
        };
        self.on_sale(sale, vec![event.into()]).await;
    }

    async fn remove(&mut self, sale: SaleId, line: u32, serial: Option<&str>) {
        let event = LineRemoved {
            line_number: LineNumber(line),
            released_serial: serial.map(str::to_owned),
        };
        self.on_sale(sale, vec![event.into()]).await;
    }

    /// A quick sale: opened, with one line of `product` holding `serial`.
    async fn sell(
        &mut self,
        opened: SaleOpened,
        product: &Product,
        serial: Option<&str>,
    ) -> SaleId {
        let sale = self.open(opened).await;
        self.add(sale, 1, product).await;
        if let Some(serial) = serial {
            self.assign(sale, 1, product, serial).await;
        }
        sale
    }

    // ---- queries, with the shop's tenant --------------------------------------------------

    async fn fulfilment(&self, filter: &FulfilmentFilter) -> Vec<ReportLine> {
        fulfilment_report(
            self.read(),
            self.tenant,
            filter,
            &PageRequest::first(MAX_PAGE_SIZE),
        )
        .await
        .unwrap()
        .into_nodes()
    }

    async fn sales(&self, filter: &SalesFilter) -> Vec<ReportLine> {
        sales_report(
            self.read(),
            self.tenant,
            filter,
            &PageRequest::first(MAX_PAGE_SIZE),
        )
        .await
        .unwrap()
        .into_nodes()
    }

    async fn opened_at(&self, sale: SaleId) -> OffsetDateTime {
        pos_order(self.read(), self.tenant, sale)
            .await
            .unwrap()
            .unwrap()
            .sale
            .opened_at
    }
}

fn customer(name: &str) -> Customer {
    Customer {
        customer_id: CustomerId::new_v7(),
        name: name.into(),
    }
}

fn sale_line(number: u32, product: &Product) -> SaleLine {
    SaleLine {
        line_number: LineNumber(number),
        product_id: product.id,
        sku: product.sku.clone(),
        product_name: product.name.clone(),
        quantity: 1,
        unit_price: aud(1000),
        serial_mode: product.mode,
        package: None,
    }
}

/// (invoice, line number) of each row, in order.
fn lines_of(rows: &[ReportLine]) -> Vec<(String, u32)> {
    rows.iter()
        .map(|row| (row.sale.invoice_number.clone(), row.line.line_number.0))
        .collect()
}

fn line(invoice: &str, number: u32) -> (String, u32) {
    (invoice.to_owned(), number)
}

/// Reads a whole list page by page.
async fn read_pages<T, F, Fut>(size: u32, mut read: F) -> (Vec<T>, usize)
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, QueryError>>,
{
    let mut rows = Vec::new();
    let mut request = PageRequest::first(size);
    let mut pages = 0;
    loop {
        let page = read(request.clone()).await.unwrap();
        pages += 1;
        assert!(page.edges.len() <= size as usize);
        let next = page.end_cursor().map(str::to_owned);
        let more = page.has_next_page;
        rows.extend(page.into_nodes());
        match next {
            Some(cursor) if more => request = request.after(cursor),
            _ => return (rows, pages),
        }
    }
}

// ---- the POS order view -----------------------------------------------------------------------

async fn each_line_shows_its_indicator_and_the_sale_can_be_fulfilled_once_no_required_serial_is_missing(
    db: &TestStore,
) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let drill = shop.product("DR-1", "Drill", SerialMode::Optional).await;
    let cable = shop.product("CA-1", "Cable", SerialMode::Disabled).await;
    let sale = shop.open(shop.opening("INV-1")).await;
    shop.add(sale, 1, &phone).await;
    shop.add(sale, 2, &drill).await;
    shop.add(sale, 3, &drill).await;
    shop.assign(sale, 3, &drill, "DR-SN-3").await;
    shop.add(sale, 4, &cable).await;
    shop.settle().await;

    let order = pos_order(shop.read(), shop.tenant, sale)
        .await
        .unwrap()
        .unwrap();
    let indicators: Vec<_> = order.lines.iter().map(|line| line.indicator).collect();
    assert_eq!(
        indicators,
        [
            SerialIndicator::Red,
            SerialIndicator::Orange,
            SerialIndicator::Blue,
            SerialIndicator::None
        ]
    );
    let modes: Vec<_> = order.lines.iter().map(|line| line.serial_mode).collect();
    assert_eq!(
        modes,
        [
            SerialMode::Required,
            SerialMode::Optional,
            SerialMode::Optional,
            SerialMode::Disabled
        ]
    );
    assert_eq!(order.lines[2].serial.as_deref(), Some("DR-SN-3"));
    assert_eq!(order.lines[0].sku, "PH-1");
    assert_eq!(order.lines[0].quantity, 1);
    assert_eq!(order.sale.invoice_number, "INV-1");
    assert!(
        !order.can_fulfil_now,
        "the REQUIRED phone has no serial yet"
    );
    assert_eq!(
        order
            .lines_pending_serial()
            .map(|line| line.line_number)
            .collect::<Vec<_>>(),
        [LineNumber(1)]
    );

    shop.assign(sale, 1, &phone, "PH-SN-1").await;
    shop.settle().await;
    let order = pos_order(shop.read(), shop.tenant, sale)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.lines[0].indicator, SerialIndicator::Blue);
    assert!(
        order.can_fulfil_now,
        "OPTIONAL and DISABLED lines may go without a serial"
    );

    for (line, product, serial) in [
        (1, &phone, Some("PH-SN-1")),
        (2, &drill, None),
        (3, &drill, Some("DR-SN-3")),
        (4, &cable, None),
    ] {
        shop.fulfil(sale, line, product, serial).await;
    }
    shop.settle().await;
    let order = pos_order(shop.read(), shop.tenant, sale)
        .await
        .unwrap()
        .unwrap();
    assert!(
        order
            .lines
            .iter()
            .all(|line| line.status == LineStatus::Fulfilled)
    );
    assert!(!order.can_fulfil_now, "nothing is left open to fulfil");

    assert_eq!(
        pos_order(shop.read(), shop.tenant, SaleId::new_v7())
            .await
            .unwrap(),
        None,
        "an unknown sale has no view"
    );
}

async fn the_pos_view_shows_fulfilled_returned_and_cancelled_lines_and_package_parents_but_not_removed_lines(
    db: &TestStore,
) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let bundle = shop.product("BU-1", "Bundle", SerialMode::Disabled).await;
    let sale = shop.open(shop.opening("INV-1")).await;
    shop.add(sale, 1, &phone).await;
    shop.assign(sale, 1, &phone, "SN-1").await;
    shop.fulfil(sale, 1, &phone, Some("SN-1")).await;
    shop.give_back(sale, 1, &phone, Some("SN-1")).await;
    shop.add(sale, 2, &phone).await;
    shop.assign(sale, 2, &phone, "SN-2").await;
    shop.cancel(sale, 2, &phone, Some("SN-2")).await;
    shop.add(sale, 3, &phone).await;
    shop.remove(sale, 3, None).await;
    // An exploded package: its own line (DISABLED) and a REQUIRED component under it.
    let package_line = SaleLine {
        package: Some(LinePackage::Package {
            mode: PackageMode::Exploded,
        }),
        ..sale_line(4, &bundle)
    };
    let component = SaleLine {
        package: Some(LinePackage::Component {
            parent_line: LineNumber(4),
        }),
        ..sale_line(5, &phone)
    };
    shop.on_sale(
        sale,
        vec![
            LineAdded { line: package_line }.into(),
            LineAdded { line: component }.into(),
        ],
    )
    .await;
    shop.settle().await;

    let order = pos_order(shop.read(), shop.tenant, sale)
        .await
        .unwrap()
        .unwrap();
    let states: Vec<_> = order
        .lines
        .iter()
        .map(|line| (line.line_number.0, line.status))
        .collect();
    assert_eq!(
        states,
        [
            (1, LineStatus::Returned),
            (2, LineStatus::Cancelled),
            (4, LineStatus::Open),
            (5, LineStatus::Open),
        ],
        "the removed line 3 is not shown"
    );
    let returned = &order.lines[0];
    assert_eq!(
        returned.serial.as_deref(),
        Some("SN-1"),
        "a returned unit keeps its serial"
    );
    assert_eq!(returned.refund, Some(aud(1000)));
    assert!(returned.fulfilled_at.is_some() && returned.returned_at.is_some());
    let cancelled = &order.lines[1];
    assert_eq!(cancelled.serial, None, "cancelling released the serial");
    assert!(cancelled.cancelled_at.is_some());
    assert_eq!(order.lines[2].parent_line(), None);
    assert_eq!(
        order.lines[2].package,
        Some(LinePackage::Package {
            mode: PackageMode::Exploded
        })
    );
    assert_eq!(order.lines[3].parent_line(), Some(LineNumber(4)));
    assert_eq!(order.lines[3].indicator, SerialIndicator::Red);
    assert!(
        !order.can_fulfil_now,
        "the package's REQUIRED component has no serial"
    );
}

// ---- the fulfilment report and pick lists -----------------------------------------------------

async fn the_pending_serial_filter_shows_only_open_required_lines_without_a_serial(db: &TestStore) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let drill = shop.product("DR-1", "Drill", SerialMode::Optional).await;
    let cable = shop.product("CA-1", "Cable", SerialMode::Disabled).await;
    let first = shop.open(shop.opening("INV-1")).await;
    shop.add(first, 1, &phone).await; // pending
    shop.add(first, 2, &phone).await;
    shop.assign(first, 2, &phone, "SN-2").await; // has its serial
    shop.add(first, 3, &drill).await; // optional, may go without
    shop.add(first, 4, &cable).await; // disabled
    shop.add(first, 5, &phone).await;
    shop.cancel(first, 5, &phone, None).await; // not open
    let second = shop.open(shop.opening("INV-2")).await;
    shop.add(second, 1, &phone).await; // pending
    shop.settle().await;

    let pending = shop
        .fulfilment(&FulfilmentFilter {
            pending_serial_only: true,
            ..Default::default()
        })
        .await;
    assert_eq!(lines_of(&pending), [line("INV-1", 1), line("INV-2", 1)]);
    assert!(pending.iter().all(|row| row.line.is_pending_serial()));

    let all = shop.fulfilment(&FulfilmentFilter::default()).await;
    assert_eq!(
        lines_of(&all),
        [
            line("INV-1", 1),
            line("INV-1", 2),
            line("INV-1", 3),
            line("INV-1", 4),
            line("INV-2", 1)
        ],
        "every open line, cancelled ones left out"
    );
    assert_eq!(
        all[1].line.serial.as_deref(),
        Some("SN-2"),
        "the serial is shown"
    );
}

async fn every_fulfilment_filter_narrows_the_report(db: &TestStore) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let other_outlet = OutletId::new_v7();
    let plain = shop.opening("INV-1");
    shop.sell(plain, &phone, Some("SN-1")).await;
    let elsewhere = SaleOpened {
        outlet_id: other_outlet,
        ..shop.opening("INV-2")
    };
    shop.sell(elsewhere, &phone, None).await;
    let special = SaleOpened {
        sale_type: SaleType::SpecialOrder,
        delivery_mode: DeliveryMode::Delivery,
        ..shop.opening("INV-3")
    };
    let special = shop.sell(special, &phone, None).await;
    let lay_by = SaleOpened {
        sale_type: SaleType::LayBy,
        delivery_mode: DeliveryMode::Pickup,
        ..shop.opening("INV-4")
    };
    let lay_by = shop.sell(lay_by, &phone, Some("SN-4")).await;
    // A fulfilled sale is not in the report.
    let done = shop.sell(shop.opening("INV-5"), &phone, Some("SN-5")).await;
    shop.fulfil(done, 1, &phone, Some("SN-5")).await;
    shop.settle().await;

    let invoices = |rows: Vec<ReportLine>| -> Vec<String> {
        rows.into_iter()
            .map(|row| row.sale.invoice_number)
            .collect()
    };
    assert_eq!(
        invoices(shop.fulfilment(&FulfilmentFilter::default()).await),
        ["INV-1", "INV-2", "INV-3", "INV-4"]
    );
    let by_outlet = FulfilmentFilter {
        outlet_id: Some(other_outlet),
        ..Default::default()
    };
    assert_eq!(invoices(shop.fulfilment(&by_outlet).await), ["INV-2"]);
    let by_type = FulfilmentFilter {
        sale_type: Some(SaleType::LayBy),
        ..Default::default()
    };
    assert_eq!(invoices(shop.fulfilment(&by_type).await), ["INV-4"]);
    let by_delivery = FulfilmentFilter {
        delivery_mode: Some(DeliveryMode::Delivery),
        ..Default::default()
    };
    assert_eq!(invoices(shop.fulfilment(&by_delivery).await), ["INV-3"]);
    let cash_and_carry = FulfilmentFilter {
        delivery_mode: Some(DeliveryMode::CashAndCarry),
        ..Default::default()
    };
    assert_eq!(
        invoices(shop.fulfilment(&cash_and_carry).await),
        ["INV-1", "INV-2"]
    );
    let by_date = FulfilmentFilter {
        opened: TimeRange {
            from: Some(shop.opened_at(special).await),
            before: Some(shop.opened_at(lay_by).await),
        },
        ..Default::default()
    };
    assert_eq!(
        invoices(shop.fulfilment(&by_date).await),
        ["INV-3"],
        "from is inclusive, before exclusive"
    );
    let combined = FulfilmentFilter {
        outlet_id: Some(shop.outlet),
        pending_serial_only: true,
        ..Default::default()
    };
    assert_eq!(invoices(shop.fulfilment(&combined).await), ["INV-3"]);
}

/// Sales INV-01..INV-n, each with `lines` open lines.
async fn many_open_lines(shop: &mut Shop<'_>, sales: u32, lines: u32) -> Product {
    let cable = shop.product("CA-1", "Cable", SerialMode::Disabled).await;
    for number in 1..=sales {
        let sale = shop.open(shop.opening(&format!("INV-{number:02}"))).await;
        let events = (1..=lines)
            .map(|line| {
                LineAdded {
                    line: sale_line(line, &cable),
                }
                .into()
            })
            .collect();
        shop.on_sale(sale, events).await;
    }
    cable
}

async fn fulfilment_pages_concatenate_to_the_whole_ordered_report(db: &TestStore) {
    let mut shop = Shop::new(db).await;
    many_open_lines(&mut shop, 5, 3).await;
    shop.settle().await;
    let whole = shop.fulfilment(&FulfilmentFilter::default()).await;
    let expected: Vec<_> = (1..=5)
        .flat_map(|sale| (1..=3).map(move |line| (format!("INV-{sale:02}"), line)))
        .collect();
    assert_eq!(
        lines_of(&whole),
        expected,
        "sales in opening order, lines in line order"
    );

    for size in [1, 2, 4, 15, 16] {
        let (read, tenant) = (shop.read(), shop.tenant);
        let (paged, pages) = read_pages(size, |page| async move {
            fulfilment_report(read, tenant, &FulfilmentFilter::default(), &page).await
        })
        .await;
        assert_eq!(lines_of(&paged), expected, "pages of {size}");
        assert_eq!(pages, 15_usize.div_ceil(size as usize).max(1));
    }

    let none = fulfilment_report(
        shop.read(),
        shop.tenant,
        &FulfilmentFilter::default(),
        &PageRequest::first(0),
    )
    .await
    .unwrap();
    assert!(
        none.edges.is_empty() && none.has_next_page,
        "first: 0 still says rows exist"
    );
    assert_eq!(
        PageRequest::first(10_000).size(),
        MAX_PAGE_SIZE,
        "first is capped"
    );
}

async fn fulfilment_paging_neither_repeats_nor_loses_rows_when_rows_are_added_between_pages(
    db: &TestStore,
) {
    let mut shop = Shop::new(db).await;
    let cable = many_open_lines(&mut shop, 4, 3).await;
    shop.settle().await;
    let before = lines_of(&shop.fulfilment(&FulfilmentFilter::default()).await);
    let first_sale = sale_of_invoice(&shop, "INV-01").await;

    let mut seen = Vec::new();
    let mut request = PageRequest::first(5);
    let mut added = false;
    loop {
        let page = fulfilment_report(
            shop.read(),
            shop.tenant,
            &FulfilmentFilter::default(),
            &request,
        )
        .await
        .unwrap();
        let cursor = page.end_cursor().map(str::to_owned);
        let more = page.has_next_page;
        seen.extend(lines_of(&page.into_nodes()));
        if !added {
            // Between pages: a line on a sale already read past, and a whole new sale.
            added = true;
            shop.add(first_sale, 4, &cable).await;
            let late = shop.open(shop.opening("INV-99")).await;
            shop.add(late, 1, &cable).await;
            shop.settle().await;
        }
        match cursor {
            Some(cursor) if more => request = request.after(cursor),
            _ => break,
        }
    }

    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no row twice: {seen:?}");
    let after = lines_of(&shop.fulfilment(&FulfilmentFilter::default()).await);
    let in_order: Vec<_> = after
        .iter()
        .filter(|row| unique.contains(*row))
        .cloned()
        .collect();
    assert_eq!(seen, in_order, "the pages follow the report's order");
    assert!(
        before.iter().all(|row| unique.contains(row)),
        "every row present at the start was read"
    );
    assert!(
        seen.contains(&line("INV-99", 1)),
        "a row added after the cursor is read"
    );
    assert!(
        !seen.contains(&line("INV-01", 4)),
        "a row added before the cursor is not (it belongs to a page already read)"
    );
}

async fn sale_of_invoice(shop: &Shop<'_>, invoice: &str) -> SaleId {
    shop.fulfilment(&FulfilmentFilter::default())
        .await
        .into_iter()
        .find(|row| row.sale.invoice_number == invoice)
        .unwrap()
        .sale
        .sale_id
}

async fn the_invoice_pick_list_has_no_serials_while_the_pick_list_shows_them_and_marks_pending_ones(
    db: &TestStore,
) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let drill = shop.product("DR-1", "Drill", SerialMode::Optional).await;
    let sale = shop.open(shop.opening("INV-1")).await;
    shop.add(sale, 1, &phone).await;
    shop.assign(sale, 1, &phone, "PH-SN-1").await;
    shop.add(sale, 2, &phone).await;
    shop.add(sale, 3, &drill).await;
    shop.settle().await;

    let page = PageRequest::first(50);
    let filter = FulfilmentFilter::default();
    let standard = pick_list(
        shop.read(),
        shop.tenant,
        &filter,
        PickListKind::Standard,
        &page,
    )
    .await
    .unwrap()
    .into_nodes();
    let serials: Vec<_> = standard.iter().map(|line| line.serial.clone()).collect();
    assert_eq!(
        serials,
        [
            Some(PickSerial::Recorded("PH-SN-1".into())),
            Some(PickSerial::Pending),
            Some(PickSerial::NotRequired),
        ]
    );
    assert_eq!(
        standard[0].cells().last().map(String::as_str),
        Some("PH-SN-1")
    );
    assert_eq!(
        standard[1].cells().last().map(String::as_str),
        Some("PENDING")
    );
    assert_eq!(standard[0].cells().len(), PickListLine::HEADERS.len());
    assert!(PickListLine::headers(PickListKind::Standard).contains(&"Serial Number"));

    let invoice = pick_list(
        shop.read(),
        shop.tenant,
        &filter,
        PickListKind::Invoice,
        &page,
    )
    .await
    .unwrap()
    .into_nodes();
    assert_eq!(invoice.len(), 3);
    assert!(invoice.iter().all(|line| line.serial.is_none()));
    assert!(!PickListLine::headers(PickListKind::Invoice).contains(&"Serial Number"));
    for line in &invoice {
        let cells = line.cells();
        assert_eq!(cells.len(), PickListLine::INVOICE_HEADERS.len());
        assert!(
            !cells
                .iter()
                .any(|cell| cell.contains("SN-") || cell == "PENDING")
        );
    }
}

// ---- the sales report and the sales detail export --------------------------------------------

async fn the_sales_report_finds_a_line_by_serial_whatever_the_case_or_whitespace_typed(
    db: &TestStore,
) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    shop.sell(shop.opening("INV-1"), &phone, Some("ABC-123"))
        .await;
    shop.sell(shop.opening("INV-2"), &phone, Some("ABC-1234"))
        .await;
    shop.sell(shop.opening("INV-3"), &phone, None).await;
    shop.settle().await;

    for typed in ["ABC-123", "abc-123", "  Abc-123\n", "\tabc-123 "] {
        let found = shop
            .sales(&SalesFilter {
                serial: Some(typed.into()),
                ..Default::default()
            })
            .await;
        assert_eq!(lines_of(&found), [line("INV-1", 1)], "typed {typed:?}");
        assert_eq!(
            found[0].line.serial.as_deref(),
            Some("ABC-123"),
            "serial is a column"
        );
    }
    let nothing = shop
        .sales(&SalesFilter {
            serial: Some("ABC-12".into()),
            ..Default::default()
        })
        .await;
    assert!(
        nothing.is_empty(),
        "the serial filter is exact, not a prefix"
    );
}

async fn the_sales_report_lists_open_fulfilled_and_returned_lines_but_not_cancelled_or_removed_ones(
    db: &TestStore,
) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let sale = shop.open(shop.opening("INV-1")).await;
    for line in 1..=5 {
        shop.add(sale, line, &phone).await;
        shop.assign(sale, line, &phone, &format!("SN-{line}")).await;
    }
    shop.fulfil(sale, 2, &phone, Some("SN-2")).await;
    shop.fulfil(sale, 3, &phone, Some("SN-3")).await;
    shop.give_back(sale, 3, &phone, Some("SN-3")).await;
    shop.cancel(sale, 4, &phone, Some("SN-4")).await;
    shop.remove(sale, 5, Some("SN-5")).await;
    shop.settle().await;

    let sold = shop.sales(&SalesFilter::default()).await;
    let states: Vec<_> = sold
        .iter()
        .map(|row| {
            (
                row.line.line_number.0,
                row.line.status,
                row.line.serial.clone(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (1, LineStatus::Open, Some("SN-1".to_owned())),
            (2, LineStatus::Fulfilled, Some("SN-2".to_owned())),
            (3, LineStatus::Returned, Some("SN-3".to_owned())),
        ]
    );
    assert_eq!(sold[2].line.refund, Some(aud(1000)));
}

async fn every_sales_report_filter_narrows_the_report(db: &TestStore) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let drill = shop.product("DR-1", "Drill", SerialMode::Optional).await;
    let other_outlet = OutletId::new_v7();
    shop.sell(shop.opening("INV-1"), &phone, Some("SN-1")).await;
    let second = shop.sell(shop.opening("INV-2"), &drill, None).await;
    let elsewhere = SaleOpened {
        outlet_id: other_outlet,
        ..shop.opening("INV-3")
    };
    let third = shop.sell(elsewhere, &phone, Some("SN-3")).await;
    shop.settle().await;

    let invoices = |rows: Vec<ReportLine>| -> Vec<String> {
        rows.into_iter()
            .map(|row| row.sale.invoice_number)
            .collect()
    };
    let by_product = SalesFilter {
        product_id: Some(phone.id),
        ..Default::default()
    };
    assert_eq!(invoices(shop.sales(&by_product).await), ["INV-1", "INV-3"]);
    let by_sku = SalesFilter {
        sku: Some(" DR-1 ".into()),
        ..Default::default()
    };
    assert_eq!(invoices(shop.sales(&by_sku).await), ["INV-2"]);
    let by_outlet = SalesFilter {
        outlet_id: Some(other_outlet),
        ..Default::default()
    };
    assert_eq!(invoices(shop.sales(&by_outlet).await), ["INV-3"]);
    let by_date = SalesFilter {
        opened: TimeRange {
            from: Some(shop.opened_at(second).await),
            before: Some(shop.opened_at(third).await),
        },
        ..Default::default()
    };
    assert_eq!(invoices(shop.sales(&by_date).await), ["INV-2"]);
    let from_second = SalesFilter {
        opened: TimeRange {
            from: Some(shop.opened_at(second).await),
            before: None,
        },
        ..Default::default()
    };
    assert_eq!(invoices(shop.sales(&from_second).await), ["INV-2", "INV-3"]);
    let serial_and_product = SalesFilter {
        serial: Some("sn-3".into()),
        product_id: Some(drill.id),
        ..Default::default()
    };
    assert!(
        shop.sales(&serial_and_product).await.is_empty(),
        "filters combine"
    );

    let (read, tenant) = (shop.read(), shop.tenant);
    let (paged, pages) = read_pages(2, |page| async move {
        sales_report(read, tenant, &SalesFilter::default(), &page).await
    })
    .await;
    assert_eq!(invoices(paged), ["INV-1", "INV-2", "INV-3"]);
    assert_eq!(pages, 2);
}

async fn the_sales_detail_export_has_delivery_mode_beside_serial_number_and_cash_and_carry_by_name(
    db: &TestStore,
) {
    let headers = SalesDetailRow::HEADERS;
    let serial = headers.iter().position(|h| *h == "Serial Number").unwrap();
    assert_eq!(
        headers[serial + 1],
        "Delivery Mode",
        "Delivery Mode is beside Serial Number"
    );
    for column in [
        "Date",
        "Invoice Number",
        "Sale Type",
        "Customer",
        "Product",
        "SKU",
        "Quantity",
        "Unit Price (Minor Units)",
        "Line Total (Minor Units)",
        "Refund (Minor Units)",
        "Currency",
    ] {
        assert!(headers.contains(&column), "{column} is a column");
    }

    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let cable = shop.product("CA-1", "Cable", SerialMode::Disabled).await;
    let cash = shop.sell(shop.opening("INV-1"), &phone, Some("SN-1")).await;
    shop.on_sale(
        cash,
        vec![
            LineAdded {
                line: SaleLine {
                    quantity: 3,
                    unit_price: aud(250),
                    ..sale_line(2, &cable)
                },
            }
            .into(),
        ],
    )
    .await;
    let special = SaleOpened {
        sale_type: SaleType::SpecialOrder,
        delivery_mode: DeliveryMode::DropShip,
        customer: None,
        ..shop.opening("INV-2")
    };
    shop.sell(special, &phone, Some("SN-2")).await;
    let lay_by = SaleOpened {
        sale_type: SaleType::LayBy,
        delivery_mode: DeliveryMode::Pickup,
        ..shop.opening("INV-3")
    };
    let lay_by = shop.sell(lay_by, &phone, Some("SN-3")).await;
    shop.fulfil(lay_by, 1, &phone, Some("SN-3")).await;
    shop.give_back(lay_by, 1, &phone, Some("SN-3")).await;
    shop.settle().await;

    let rows = sales_detail(
        shop.read(),
        shop.tenant,
        &SalesFilter::default(),
        &PageRequest::first(50),
    )
    .await
    .unwrap()
    .into_nodes();
    let column = |name: &str| headers.iter().position(|h| *h == name).unwrap();
    let cells: Vec<[String; 16]> = rows.iter().map(SalesDetailRow::cells).collect();
    let pick =
        |name: &str| -> Vec<String> { cells.iter().map(|row| row[column(name)].clone()).collect() };
    assert_eq!(pick("Invoice Number"), ["INV-1", "INV-1", "INV-2", "INV-3"]);
    assert_eq!(pick("Serial Number"), ["SN-1", "", "SN-2", "SN-3"]);
    assert_eq!(
        pick("Delivery Mode"),
        ["Cash and Carry", "Cash and Carry", "Drop Ship", "Pickup"],
        "cash and carry reads its full name, never blank"
    );
    assert_eq!(
        pick("Sale Type"),
        ["Sale", "Sale", "Special Order", "Lay-by"]
    );
    assert_eq!(pick("Customer"), ["Alice", "Alice", "", "Alice"]);
    assert_eq!(pick("Product"), ["Phone", "Cable", "Phone", "Phone"]);
    assert_eq!(pick("SKU"), ["PH-1", "CA-1", "PH-1", "PH-1"]);
    assert_eq!(pick("Quantity"), ["1", "3", "1", "1"]);
    assert_eq!(
        pick("Unit Price (Minor Units)"),
        ["1000", "250", "1000", "1000"]
    );
    assert_eq!(
        pick("Line Total (Minor Units)"),
        ["1000", "750", "1000", "1000"]
    );
    assert_eq!(pick("Refund (Minor Units)"), ["", "", "", "1000"]);
    assert_eq!(pick("Currency"), ["AUD", "AUD", "AUD", "AUD"]);
    assert_eq!(pick("Status"), ["Open", "Open", "Open", "Returned"]);
    let date = OffsetDateTime::parse(
        &pick("Date")[0],
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(date, shop.opened_at(cash).await);
}

async fn the_sales_detail_export_streams_every_row_page_by_page_and_filters_by_serial(
    db: &TestStore,
) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    for number in 1..=7 {
        let opened = shop.opening(&format!("INV-{number}"));
        shop.sell(opened, &phone, Some(&format!("SN-{number}")))
            .await;
    }
    shop.settle().await;

    let all: Vec<SalesDetailRow> =
        sales_detail_stream(shop.read().clone(), shop.tenant, SalesFilter::default(), 3)
            .try_collect()
            .await
            .unwrap();
    let invoices: Vec<_> = all.iter().map(|row| row.invoice_number.as_str()).collect();
    assert_eq!(
        invoices,
        [
            "INV-1", "INV-2", "INV-3", "INV-4", "INV-5", "INV-6", "INV-7"
        ]
    );

    let one = SalesFilter {
        serial: Some(" sn-5 ".into()),
        ..Default::default()
    };
    let found: Vec<SalesDetailRow> = sales_detail_stream(shop.read().clone(), shop.tenant, one, 3)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].invoice_number, "INV-5");
    assert_eq!(found[0].serial.as_deref(), Some("SN-5"));

    let bad = SalesFilter {
        serial: Some("SN 5".into()),
        ..Default::default()
    };
    let error = sales_detail_stream(shop.read().clone(), shop.tenant, bad, 3)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        QueryError::InvalidSerial(SerialError::Whitespace { position: 3 })
    ));
}

// ---- traceability -----------------------------------------------------------------------------

async fn the_trace_shows_the_full_history_in_order_across_a_return_and_a_resale_to_another_customer(
    db: &TestStore,
) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let first = shop
        .sell(shop.opening("INV-1"), &phone, Some("SN-77"))
        .await;
    shop.fulfil(first, 1, &phone, Some("SN-77")).await;
    shop.give_back(first, 1, &phone, Some("SN-77")).await;
    let bob = customer("Bob");
    let resale = SaleOpened {
        customer: Some(bob.clone()),
        ..shop.opening("INV-2")
    };
    let second = shop.sell(resale, &phone, Some("SN-77")).await;
    shop.fulfil(second, 1, &phone, Some("SN-77")).await;
    shop.settle().await;

    let traces = trace_serial(
        shop.read(),
        shop.tenant,
        " sn-77 ",
        &ProductScope::default(),
    )
    .await
    .unwrap();
    assert_eq!(traces.len(), 1);
    let trace = &traces[0];
    let record = &trace.record;
    assert_eq!(record.product_id, phone.id);
    assert_eq!(record.serial, "SN-77");
    assert_eq!(record.sku, "PH-1");
    assert_eq!(record.status, SerialStatus::Fulfilled);
    assert_eq!(record.sale_id, second);
    assert_eq!(record.invoice_number, "INV-2");
    assert_eq!(record.line_number, LineNumber(1));
    assert_eq!(record.outlet_id, shop.outlet);
    assert_eq!(record.customer, Some(bob), "Bob bought it last");
    assert!(record.fulfilled_at.unwrap() >= record.allocated_at);
    assert_eq!(
        record.returned_at, None,
        "this sale's unit has not come back"
    );

    let history: Vec<_> = trace
        .history
        .iter()
        .map(|event| (event.event_type.as_str(), event.invoice_number.as_str()))
        .collect();
    assert_eq!(
        history,
        [
            ("SerialAssigned", "INV-1"),
            ("LineFulfilled", "INV-1"),
            ("LineReturned", "INV-1"),
            ("SerialAssigned", "INV-2"),
            ("LineFulfilled", "INV-2"),
        ]
    );
    assert_eq!(trace.history[0].sale_id, first);
    assert_eq!(trace.history[3].sale_id, second);
    assert!(
        trace
            .history
            .windows(2)
            .all(|pair| pair[0].position < pair[1].position
                && pair[0].recorded_at <= pair[1].recorded_at),
        "log order"
    );
    assert!(
        trace
            .history
            .iter()
            .all(|event| event.global_position == event.position.prepare)
    );

    // The history's positions are the events' own: reading them back finds each event.
    let log = db.store.read_all(Position::START, 10_000).await.unwrap();
    for event in &trace.history {
        let stored = log
            .iter()
            .find(|stored| stored.position == event.position)
            .unwrap();
        assert_eq!(stored.envelope.event_type, event.event_type);
    }
}

async fn a_serial_shared_by_two_products_traces_as_two_units_narrowed_by_product_or_sku(
    db: &TestStore,
) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let drill = shop.product("DR-1", "Drill", SerialMode::Optional).await;
    shop.sell(shop.opening("INV-1"), &phone, Some("SHARED-1"))
        .await;
    let second = shop
        .sell(shop.opening("INV-2"), &drill, Some("SHARED-1"))
        .await;
    shop.remove(second, 1, Some("SHARED-1")).await;
    shop.settle().await;

    let both = trace_serial(
        shop.read(),
        shop.tenant,
        "shared-1",
        &ProductScope::default(),
    )
    .await
    .unwrap();
    let mut products: Vec<_> = both.iter().map(|trace| trace.record.product_id).collect();
    products.sort();
    let mut expected = vec![phone.id, drill.id];
    expected.sort();
    assert_eq!(products, expected, "one unit per product");

    let by_product = ProductScope {
        product_id: Some(drill.id),
        sku: None,
    };
    let drills = trace_serial(shop.read(), shop.tenant, "SHARED-1", &by_product)
        .await
        .unwrap();
    assert_eq!(drills.len(), 1);
    assert_eq!(drills[0].record.status, SerialStatus::Released);
    let history: Vec<_> = drills[0]
        .history
        .iter()
        .map(|event| event.event_type.as_str())
        .collect();
    assert_eq!(history, ["SerialAssigned", "LineRemoved"]);

    let by_sku = ProductScope {
        product_id: None,
        sku: Some("PH-1".into()),
    };
    let phones = trace_serial(shop.read(), shop.tenant, "SHARED-1", &by_sku)
        .await
        .unwrap();
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0].record.product_id, phone.id);
    assert_eq!(phones[0].record.status, SerialStatus::Allocated);

    let never = trace_serial(
        shop.read(),
        shop.tenant,
        "NEVER-SOLD",
        &ProductScope::default(),
    )
    .await
    .unwrap();
    assert!(never.is_empty());
}

async fn a_prefix_search_finds_exactly_the_serials_starting_with_the_prefix(db: &TestStore) {
    let mut shop = Shop::new(db).await;
    let phone = shop.product("PH-1", "Phone", SerialMode::Required).await;
    let serials = [
        "AB", "ABC-1", "ABC-2", "ABD-1", "AB_1", "ABX1", "XABC", "A", "AC",
    ];
    let sale = shop.open(shop.opening("INV-1")).await;
    for (index, serial) in (1..).zip(serials) {
        shop.add(sale, index, &phone).await;
        shop.assign(sale, index, &phone, serial).await;
    }
    shop.settle().await;

    let search = |prefix: &'static str, limit: u32| {
        let read = shop.read().clone();
        let tenant = shop.tenant;
        async move {
            search_serial_prefix(&read, tenant, prefix, &ProductScope::default(), limit)
                .await
                .unwrap()
        }
    };
    let found = |matches: &projections::queries::trace::SerialMatches| -> Vec<String> {
        matches
            .records
            .iter()
            .map(|record| record.serial.clone())
            .collect()
    };
    let abc = search("  abc", 50).await;
    assert_eq!(found(&abc), ["ABC-1", "ABC-2"]);
    assert!(!abc.truncated);
    let ab = search("AB", 50).await;
    assert_eq!(
        found(&ab),
        ["AB", "ABC-1", "ABC-2", "ABD-1", "ABX1", "AB_1"]
    );
    let underscore = search("ab_", 50).await;
    assert_eq!(
        found(&underscore),
        ["AB_1"],
        "_ is a character, not a wildcard"
    );
    let limited = search("AB", 2).await;
    assert_eq!(found(&limited), ["AB", "ABC-1"]);
    assert!(limited.truncated);
    assert!(search("Z", 50).await.records.is_empty());
    let record = &abc.records[0];
    assert_eq!(
        (record.invoice_number.as_str(), record.status),
        ("INV-1", SerialStatus::Allocated)
    );
}

// ---- guarantees ---------------------------------------------------------------------------------

async fn another_tenants_data_is_never_returned(db: &TestStore) {
    let mut ours = Shop::new(db).await;
    let mut theirs = Shop::new(db).await;
    theirs.outlet = ours.outlet;
    let our_phone = ours.product("PH-1", "Phone", SerialMode::Required).await;
    let their_phone = Product {
        id: our_phone.id,
        ..theirs.product("PH-1", "Phone", SerialMode::Required).await
    };
    let our_sale = ours
        .sell(ours.opening("INV-1"), &our_phone, Some("SN-1"))
        .await;
    let their_sale = theirs
        .sell(theirs.opening("INV-1"), &their_phone, Some("SN-1"))
        .await;
    theirs.add(their_sale, 2, &their_phone).await;
    ours.settle().await;
    theirs.settle().await;

    let read = ours.read();
    assert!(
        pos_order(read, ours.tenant, their_sale)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        pos_order(read, ours.tenant, our_sale)
            .await
            .unwrap()
            .unwrap()
            .lines
            .len(),
        1
    );
    let report = ours.fulfilment(&FulfilmentFilter::default()).await;
    assert_eq!(lines_of(&report), [line("INV-1", 1)]);
    assert!(report.iter().all(|row| row.sale.sale_id == our_sale));
    let pending = ours
        .fulfilment(&FulfilmentFilter {
            pending_serial_only: true,
            ..Default::default()
        })
        .await;
    assert!(pending.is_empty(), "their pending line is not ours");
    let sold = ours
        .sales(&SalesFilter {
            serial: Some("SN-1".into()),
            product_id: Some(our_phone.id),
            ..Default::default()
        })
        .await;
    assert_eq!(sold.len(), 1);
    assert_eq!(sold[0].sale.sale_id, our_sale);
    let traces = trace_serial(read, ours.tenant, "SN-1", &ProductScope::default())
        .await
        .unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].record.sale_id, our_sale);
    assert!(
        traces[0]
            .history
            .iter()
            .all(|event| event.sale_id == our_sale)
    );
    let prefixed = search_serial_prefix(read, ours.tenant, "SN", &ProductScope::default(), 50)
        .await
        .unwrap();
    assert_eq!(prefixed.records.len(), 1);
    assert_eq!(prefixed.records[0].sale_id, our_sale);

    // A cursor of their list leads nowhere into their rows.
    let their_page = fulfilment_report(
        read,
        theirs.tenant,
        &FulfilmentFilter::default(),
        &PageRequest::first(1),
    )
    .await
    .unwrap();
    let cursor = their_page.end_cursor().unwrap().to_owned();
    let ours_after = fulfilment_report(
        read,
        ours.tenant,
        &FulfilmentFilter::default(),
        &PageRequest::first(50).after(cursor),
    )
    .await
    .unwrap();
    assert!(ours_after.nodes().all(|row| row.sale.sale_id == our_sale));
}

async fn invalid_filters_are_typed_errors_naming_the_rule(db: &TestStore) {
    let shop = Shop::new(db).await;
    let read = shop.read();
    let page = PageRequest::first(10);

    let error = sales_report(
        read,
        shop.tenant,
        &SalesFilter {
            serial: Some("AB C".into()),
            ..Default::default()
        },
        &page,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &error,
            QueryError::InvalidSerial(SerialError::Whitespace { position: 3 })
        ),
        "{error:?}"
    );
    assert_eq!(error.code(), "INVALID_SERIAL");
    assert!(
        error.to_string().contains("must not contain spaces"),
        "{error}"
    );

    let error = trace_serial(read, shop.tenant, "   ", &ProductScope::default())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        QueryError::InvalidSerial(SerialError::Blank)
    ));
    let error = trace_serial(read, shop.tenant, "ABС-1", &ProductScope::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            QueryError::InvalidSerial(SerialError::NonAscii {
                character: 'С',
                position: 3
            })
        ),
        "a Cyrillic look-alike is refused: {error:?}"
    );
    let error = search_serial_prefix(read, shop.tenant, "AB%", &ProductScope::default(), 10)
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        QueryError::InvalidSerial(SerialError::DisallowedCharacter { character: '%', .. })
    ));

    let error = sales_report(
        read,
        shop.tenant,
        &SalesFilter {
            sku: Some("  ".into()),
            ..Default::default()
        },
        &page,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, QueryError::InvalidFilter { field: "sku", .. }),
        "{error:?}"
    );
    assert_eq!(error.code(), "VALIDATION");

    let now = OffsetDateTime::now_utc();
    let backwards = FulfilmentFilter {
        opened: TimeRange {
            from: Some(now),
            before: Some(now - time::Duration::days(1)),
        },
        ..Default::default()
    };
    let error = fulfilment_report(read, shop.tenant, &backwards, &page)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            QueryError::InvalidFilter {
                field: "opened_before",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "opened_before must not be before opened_from"
    );

    for cursor in [
        "not-a-cursor",
        "",
        "6c696e652d7631",
        &hex_of("line-v1|x|y|z"),
    ] {
        let error = fulfilment_report(
            read,
            shop.tenant,
            &FulfilmentFilter::default(),
            &PageRequest::first(10).after(cursor),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, QueryError::InvalidCursor),
            "{cursor:?}: {error:?}"
        );
        assert_eq!(error.code(), "VALIDATION");
    }
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}
