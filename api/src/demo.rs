//! `serial-ledger serve --demo`: a demo retailer that shows the whole feature in a minute.
//!
//! Two outlets; products of every serial mode, a consolidated and an exploded package; sales
//! in every state (a RED line waiting for its serial, a lay-by and a special order, a
//! fulfilled sale, a returned unit re-issued on a new invoice, a cancelled line); settings
//! with auto-prompt and serials on invoices on; and a token per role. Seeding runs once per
//! database: a second `--demo` start only issues fresh tokens.

use application::Application;
use application::auth::{AuthError, Role};
use application::commands::{CommandContext, CommandError, CommandOutcome, NewProduct};
use domain::sale::{
    AssignSerial, CancelLine, FulfilLines, LineSelection, OpenSale, ReturnUnit, ReturnUnits,
    UnitSelector,
};
use domain::settings::ChangeSettings;
use event_schemas::{
    Actor, ActorKind, Channel, CommandId, CommandMetadata, Customer, CustomerId, DeliveryMode,
    LedgerEvent, LineNumber, Money, OutletId, PackageComponent, PackageComposition, PackageMode,
    ProductId, SaleId, SaleType, SerialMode, SerialModeSource, TenantId,
};
use uuid::Uuid;

/// The demo retailer's slug.
pub const DEMO_SLUG: &str = "demo";

/// What a newcomer needs to try the demo.
#[derive(Debug, Clone)]
pub struct DemoAccess {
    /// The demo retailer.
    pub tenant_id: TenantId,
    /// Whether this start seeded the data (false when it was there already).
    pub seeded: bool,
    /// A fresh token per role.
    pub tokens: Vec<(Role, String)>,
    /// The outlets, by name.
    pub outlets: Vec<(&'static str, OutletId)>,
}

const SYDNEY: OutletId = OutletId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001));
const WAREHOUSE: OutletId = OutletId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002));

/// Seeds the demo retailer (once) and issues a token per role.
pub async fn seed(state: &Application) -> anyhow::Result<DemoAccess> {
    let (tenant, seeded) = match state
        .auth
        .create_tenant(DEMO_SLUG, "Demo Electronics")
        .await
    {
        Ok(tenant) => (tenant, true),
        Err(AuthError::SlugTaken(_)) => (state.auth.tenant_by_slug(DEMO_SLUG).await?, false),
        Err(error) => return Err(error.into()),
    };
    if seeded {
        Seeder::new(state, tenant.tenant_id).run().await?;
    }
    let mut tokens = Vec::new();
    for role in Role::ALL {
        let issued = state
            .auth
            .create_token(DEMO_SLUG, role, &format!("demo {role}"))
            .await?;
        tokens.push((role, issued.token));
    }
    Ok(DemoAccess {
        tenant_id: tenant.tenant_id,
        seeded,
        tokens,
        outlets: vec![("Sydney CBD", SYDNEY), ("Warehouse", WAREHOUSE)],
    })
}

struct Seeder<'a> {
    state: &'a Application,
    tenant_id: TenantId,
}

fn aud(amount_minor: i64) -> Money {
    Money {
        amount_minor,
        currency: "AUD".into(),
    }
}

fn added_lines(outcome: &CommandOutcome) -> Vec<LineNumber> {
    outcome
        .events
        .iter()
        .filter_map(|event| match event {
            LedgerEvent::LineAdded(added) => Some(added.line.line_number),
            LedgerEvent::LineReissued(reissued) => Some(reissued.line.line_number),
            _ => None,
        })
        .collect()
}

impl<'a> Seeder<'a> {
    fn new(state: &'a Application, tenant_id: TenantId) -> Self {
        Self { state, tenant_id }
    }

    fn context(&self, channel: Channel, outlet: Option<OutletId>) -> CommandContext {
        CommandContext {
            tenant_id: self.tenant_id,
            metadata: CommandMetadata {
                command_id: CommandId::new_v7(),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                actor: Actor {
                    kind: ActorKind::System,
                    id: "demo".into(),
                    display_name: "Demo seed".into(),
                },
                channel,
                outlet_id: outlet,
            },
        }
    }

    async fn product(
        &self,
        sku: &str,
        name: &str,
        serial_mode: SerialMode,
        source: SerialModeSource,
        package: Option<PackageComposition>,
    ) -> Result<ProductId, CommandError> {
        let product_id = ProductId::new_v7();
        let product = NewProduct {
            product_id,
            sku: sku.into(),
            name: name.into(),
            serial_mode: Some(serial_mode),
            source,
            package,
        };
        self.state
            .commands
            .create_product(&self.context(Channel::BackOffice, None), product)
            .await?;
        Ok(product_id)
    }

    async fn sale(
        &self,
        invoice: &str,
        sale_type: SaleType,
        delivery_mode: DeliveryMode,
        outlet: OutletId,
        customer: &str,
    ) -> Result<SaleId, CommandError> {
        let sale_id = SaleId::new_v7();
        let open = OpenSale {
            sale_id,
            invoice_number: invoice.into(),
            sale_type,
            delivery_mode,
            outlet_id: outlet,
            customer: Some(Customer {
                customer_id: CustomerId::new_v7(),
                name: customer.into(),
            }),
        };
        self.state
            .commands
            .open_sale(&self.context(Channel::Pos, Some(outlet)), open)
            .await?;
        Ok(sale_id)
    }

    async fn add(
        &self,
        sale_id: SaleId,
        product_id: ProductId,
        quantity: u32,
        price: i64,
    ) -> Result<Vec<LineNumber>, CommandError> {
        let outcome = self
            .state
            .commands
            .add_item(
                &self.context(Channel::Pos, Some(SYDNEY)),
                sale_id,
                product_id,
                quantity,
                aud(price),
            )
            .await?;
        Ok(added_lines(&outcome))
    }

    async fn serial(
        &self,
        sale_id: SaleId,
        line: LineNumber,
        serial: &str,
        channel: Channel,
    ) -> Result<(), CommandError> {
        let assign = AssignSerial {
            line_number: line,
            serial: serial.into(),
        };
        self.state
            .commands
            .assign_serial(&self.context(channel, Some(SYDNEY)), sale_id, assign)
            .await?;
        Ok(())
    }

    async fn fulfil(&self, sale_id: SaleId, channel: Channel) -> Result<(), CommandError> {
        let fulfil = FulfilLines {
            lines: LineSelection::All,
        };
        self.state
            .commands
            .fulfil_lines(&self.context(channel, Some(WAREHOUSE)), sale_id, fulfil)
            .await?;
        Ok(())
    }

    async fn run(&self) -> Result<(), CommandError> {
        let settings = ChangeSettings {
            auto_prompt_serial_number: Some(true),
            display_serial_number_on_invoice: Some(true),
            aggregate_duplicate_order_items: Some(true),
        };
        self.state
            .commands
            .change_settings(&self.context(Channel::BackOffice, None), settings)
            .await?;

        use SerialModeSource::*;
        let phone = self
            .product(
                "IPH-15-128",
                "iPhone 15 128GB",
                SerialMode::Required,
                PosQuickCreate,
                None,
            )
            .await?;
        let laptop = self
            .product(
                "LAP-14-PRO",
                "Laptop 14 Pro",
                SerialMode::Optional,
                Manual,
                None,
            )
            .await?;
        let cable = self
            .product(
                "USB-C-1M",
                "USB-C cable 1m",
                SerialMode::Disabled,
                CsvMassUpload,
                None,
            )
            .await?;
        let monitor = self
            .product(
                "MON-27-4K",
                "Monitor 27\" 4K",
                SerialMode::Required,
                PoQuickCreate,
                None,
            )
            .await?;
        let console = self
            .product("CON-X", "Games console X", SerialMode::Disabled, Api, None)
            .await?;
        let controller = self
            .product("CTL-X", "Controller X", SerialMode::Disabled, Manual, None)
            .await?;
        let component = |product_id, quantity| PackageComponent {
            product_id,
            quantity,
        };
        let bundle = self
            .product(
                "BND-GAMING",
                "Gaming bundle (one box)",
                SerialMode::Required,
                Manual,
                Some(PackageComposition {
                    mode: PackageMode::Consolidated,
                    components: vec![component(console, 1), component(controller, 2)],
                }),
            )
            .await?;
        let office_kit = self
            .product(
                "KIT-OFFICE",
                "Home office kit",
                SerialMode::Disabled,
                Manual,
                Some(PackageComposition {
                    mode: PackageMode::Exploded,
                    components: vec![
                        component(laptop, 1),
                        component(monitor, 1),
                        component(cable, 2),
                    ],
                }),
            )
            .await?;

        // 1. At the counter: two phones split into two lines, one serial still missing (RED).
        let counter = self
            .sale(
                "INV-1001",
                SaleType::Sale,
                DeliveryMode::CashAndCarry,
                SYDNEY,
                "Jo Citizen",
            )
            .await?;
        let phones = self.add(counter, phone, 2, 129_900).await?;
        self.add(counter, cable, 3, 1_995).await?;
        if let Some(first) = phones.first() {
            self.serial(counter, *first, "F2LXK1A2B3C4", Channel::Pos)
                .await?;
        }

        // 2. A lay-by and a special order, serials to come later (fulfilment report: pending).
        let layby = self
            .sale(
                "INV-1002",
                SaleType::LayBy,
                DeliveryMode::Pickup,
                SYDNEY,
                "Sam Saver",
            )
            .await?;
        self.add(layby, bundle, 1, 79_900).await?;
        let special = self
            .sale(
                "INV-1003",
                SaleType::SpecialOrder,
                DeliveryMode::Delivery,
                WAREHOUSE,
                "Alex Office",
            )
            .await?;
        self.add(special, office_kit, 1, 249_900).await?;

        // 3. Fulfilled from the warehouse with serials recorded in the fulfilment report.
        let fulfilled = self
            .sale(
                "INV-1004",
                SaleType::Sale,
                DeliveryMode::Delivery,
                WAREHOUSE,
                "Pat Buyer",
            )
            .await?;
        let monitors = self.add(fulfilled, monitor, 2, 59_900).await?;
        for (index, line) in monitors.iter().enumerate() {
            self.serial(
                fulfilled,
                *line,
                &format!("MON27-00{}", index + 1),
                Channel::FulfilmentReport,
            )
            .await?;
        }
        self.fulfil(fulfilled, Channel::FulfilmentReport).await?;

        // 4. Sold, returned faulty, re-issued on a new invoice with a new unit.
        let returned = self
            .sale(
                "INV-1005",
                SaleType::Sale,
                DeliveryMode::CashAndCarry,
                SYDNEY,
                "Chris Return",
            )
            .await?;
        let returned_lines = self.add(returned, phone, 1, 129_900).await?;
        let returned_line = returned_lines.first().copied().unwrap_or(LineNumber(1));
        self.serial(returned, returned_line, "F2LFAULTY001", Channel::Pos)
            .await?;
        self.fulfil(returned, Channel::Pos).await?;
        let refund = ReturnUnits {
            units: vec![ReturnUnit {
                unit: UnitSelector::Serial {
                    product_id: phone,
                    serial: "F2LFAULTY001".into(),
                },
                refund: aud(129_900),
            }],
            reason: Some("screen faulty".into()),
        };
        self.state
            .commands
            .return_units(&self.context(Channel::Pos, Some(SYDNEY)), returned, refund)
            .await?;
        let reissue = self
            .sale(
                "INV-1006",
                SaleType::Sale,
                DeliveryMode::CashAndCarry,
                SYDNEY,
                "Chris Return",
            )
            .await?;
        self.state
            .commands
            .reissue_line(
                &self.context(Channel::Pos, Some(SYDNEY)),
                reissue,
                returned,
                returned_line,
                Some("F2LREPLACE01".into()),
            )
            .await?;

        // 5. A cancelled line: its serial released for another sale.
        let cancelled = self
            .sale(
                "INV-1007",
                SaleType::Sale,
                DeliveryMode::Pickup,
                SYDNEY,
                "Dana Changed",
            )
            .await?;
        let laptops = self.add(cancelled, laptop, 1, 189_900).await?;
        if let Some(line) = laptops.first() {
            self.serial(cancelled, *line, "LAP14-0007", Channel::Pos)
                .await?;
            let cancel = CancelLine {
                line_number: *line,
                reason: Some("customer changed their mind".into()),
            };
            self.state
                .commands
                .cancel_line(&self.context(Channel::Pos, Some(SYDNEY)), cancelled, cancel)
                .await?;
        }
        Ok(())
    }
}
