//! The application's flows as every adapter calls them (`application::sales`,
//! `application::products`), on the real application over each backend, with the read
//! models running: given a shop, when a flow runs, then the events it records and what it
//! answers.

use application::Application;
use application::commands::{CommandContext, NewProduct};
use application::products::{self, BulkSelection};
use application::sales::{self, RefundSelection};
use domain::sale::{AssignSerial, FulfilLines, LineSelection, OpenSale};
use event_schemas::*;
use pretty_assertions::assert_eq;
use tests::{Backend, TestDatabase};

on_each_backend!(
    a_serial_typed_for_a_refund_names_the_fulfilled_line_that_sold_it_not_a_later_line_of_another_product_with_that_serial,
    the_bulk_edit_answers_every_product_it_changed_in_the_order_they_were_selected,
);

/// The application over a fresh database, its read models running.
struct Shop {
    app: Application,
    runner: projections::RunningProjections,
    tenant_id: TenantId,
    outlet_id: OutletId,
    _database: TestDatabase,
}

impl Shop {
    async fn open(backend: Backend) -> Self {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let app = Application::open(&database.url).await.expect("open");
        let runner = app.projections.spawn();
        Self {
            app,
            runner,
            tenant_id: TenantId::new_v7(),
            outlet_id: OutletId::new_v7(),
            _database: database,
        }
    }

    /// A command by a POS user at the shop's outlet, with fresh ids.
    fn context(&self) -> CommandContext {
        CommandContext {
            tenant_id: self.tenant_id,
            metadata: CommandMetadata {
                outlet_id: Some(self.outlet_id),
                ..tests::metadata()
            },
        }
    }

    async fn product(&self, sku: &str, serial_mode: SerialMode) -> ProductId {
        let product_id = ProductId::new_v7();
        let product = NewProduct {
            product_id,
            sku: sku.into(),
            name: format!("{sku} product"),
            serial_mode: Some(serial_mode),
            source: SerialModeSource::Manual,
            package: None,
        };
        products::create(&self.app, &self.context(), product)
            .await
            .expect("create product");
        product_id
    }

    async fn sale(&self, invoice_number: &str) -> SaleId {
        let sale_id = SaleId::new_v7();
        let open = OpenSale {
            sale_id,
            invoice_number: invoice_number.into(),
            sale_type: SaleType::Sale,
            delivery_mode: DeliveryMode::CashAndCarry,
            outlet_id: self.outlet_id,
            customer: None,
        };
        self.app
            .commands
            .open_sale(&self.context(), open)
            .await
            .expect("open sale");
        sale_id
    }

    /// Adds one unit of `product` at 100.00 and records `serial` on its line.
    async fn unit(&self, sale_id: SaleId, product: ProductId, line: u32, serial: &str) {
        let price = Money {
            amount_minor: 10_000 * i64::from(line),
            currency: "AUD".into(),
        };
        self.app
            .commands
            .add_item(&self.context(), sale_id, product, 1, price)
            .await
            .expect("add item");
        let assign = AssignSerial {
            line_number: LineNumber(line),
            serial: serial.into(),
        };
        self.app
            .commands
            .assign_serial(&self.context(), sale_id, assign)
            .await
            .expect("assign serial");
    }

    async fn stop(self) {
        self.runner.stop().await;
    }
}

/// The domain's rule, once for every adapter: a serial names the fulfilled line that sold
/// it. The rule the GraphQL resolver used to apply (the highest line number with that
/// serial, across products) picked line 2 here, an open line of another product, and the
/// refund was refused as not fulfilled.
async fn a_serial_typed_for_a_refund_names_the_fulfilled_line_that_sold_it_not_a_later_line_of_another_product_with_that_serial(
    backend: Backend,
) {
    let shop = Shop::open(backend).await;
    let phone = shop.product("PHONE-1", SerialMode::Required).await;
    let charger = shop.product("CHARGER-1", SerialMode::Optional).await;
    let sale_id = shop.sale("INV-3001").await;
    shop.unit(sale_id, phone, 1, "SN-777").await;
    let fulfil = FulfilLines {
        lines: LineSelection::Lines(vec![LineNumber(1)]),
    };
    shop.app
        .commands
        .fulfil_lines(&shop.context(), sale_id, fulfil)
        .await
        .expect("fulfil line 1");
    // The same serial on another product's line, not fulfilled: serials are unique per
    // product, so the claim allows it.
    shop.unit(sale_id, charger, 2, "SN-777").await;

    let selection = RefundSelection {
        lines: Vec::new(),
        serials: vec![" sn-777 ".into()],
    };
    let write = sales::refund(&shop.app, &shop.context(), sale_id, selection, None)
        .await
        .expect("the refund is accepted");

    let returned: Vec<LedgerEvent> = write.outcomes[0].events.clone();
    assert_eq!(
        returned,
        vec![
            LineReturned {
                line_number: LineNumber(1),
                product_id: phone,
                serial: Some("SN-777".into()),
                refund: Money {
                    amount_minor: 10_000,
                    currency: "AUD".into(),
                },
                reason: None,
            }
            .into()
        ]
    );
    assert_eq!(
        write.touched_lines().into_iter().collect::<Vec<_>>(),
        vec![LineNumber(1)]
    );
    shop.stop().await;
}

/// "Apply Product Edit Setting" changes each product with its own command and reads what
/// it changed back with one query; the answer keeps the order of the selection, whatever
/// the order of the SKUs.
async fn the_bulk_edit_answers_every_product_it_changed_in_the_order_they_were_selected(
    backend: Backend,
) {
    let shop = Shop::open(backend).await;
    let zebra = shop.product("ZZ-1", SerialMode::Disabled).await;
    let apple = shop.product("AA-1", SerialMode::Disabled).await;
    let mango = shop.product("MM-1", SerialMode::Optional).await;
    let unknown = ProductId::new_v7();

    let edit = products::set_serial_mode_in_bulk(
        &shop.app,
        &shop.context(),
        BulkSelection::Ids(vec![zebra, unknown, apple, zebra, mango]),
        SerialMode::Required,
    )
    .await
    .expect("the bulk edit runs");

    let updated: Vec<(ProductId, SerialMode, SerialModeSource)> = edit
        .updated
        .iter()
        .map(|view| (view.product_id, view.serial_mode, view.serial_mode_source))
        .collect();
    assert_eq!(
        updated,
        vec![
            (zebra, SerialMode::Required, SerialModeSource::BulkEdit),
            (apple, SerialMode::Required, SerialModeSource::BulkEdit),
            (mango, SerialMode::Required, SerialModeSource::BulkEdit),
        ]
    );
    let failed: Vec<(ProductId, &str)> = edit
        .failed
        .iter()
        .map(|(product_id, error)| (*product_id, error.code.as_str()))
        .collect();
    assert_eq!(failed, vec![(unknown, "NOT_FOUND")]);
    assert!(edit.position.is_some());
    shop.stop().await;
}
