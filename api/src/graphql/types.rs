//! The GraphQL types shared by several areas: enums mirroring the event contract's, money,
//! customers, products, sale headers and lines.
//!
//! Enums are the contract's own (`#[graphql(remote)]`), so their GraphQL values are the
//! codes stored on events (`REQUIRED`, `SPECIAL_ORDER`, `FULFILMENT_REPORT`, ...).

use async_graphql::{Enum, ID, Object, SimpleObject};
use projections::queries::products::ProductView;
use projections::queries::{LineView, ReissueOf, SaleHeader};
use time::OffsetDateTime;

/// Whether a product's units carry a serial number.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "event_schemas::SerialMode")]
pub enum SerialMode {
    /// A serial number must be recorded before the unit is fulfilled.
    Required,
    /// A serial number may be recorded; fulfilment does not wait for one.
    Optional,
    /// Serial numbers are not used for this product.
    Disabled,
}

/// Where a product's serial mode was set.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "event_schemas::SerialModeSource")]
pub enum SerialModeSource {
    /// Creating or editing a product by hand in the back office.
    Manual,
    /// The product mass upload CSV.
    CsvMassUpload,
    /// "Apply Product Edit Setting" on product search results.
    BulkEdit,
    /// POS quick create product.
    PosQuickCreate,
    /// PO quick create product.
    PoQuickCreate,
    /// The APIs and integrations.
    Api,
}

/// How a package product is treated for serial numbers.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "event_schemas::PackageMode")]
pub enum PackageMode {
    /// One physical item: the package line carries the serial.
    Consolidated,
    /// Each component line follows its own product's mode.
    Exploded,
}

/// The kind of sale.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "event_schemas::SaleType")]
pub enum SaleType {
    /// An ordinary sale.
    Sale,
    /// Goods ordered in for the customer.
    SpecialOrder,
    /// Paid over time, collected later.
    LayBy,
}

/// How the goods reach the customer.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "event_schemas::DeliveryMode")]
pub enum DeliveryMode {
    /// Taken at the counter.
    CashAndCarry,
    /// Collected later from an outlet.
    Pickup,
    /// Delivered by the retailer.
    Delivery,
    /// Shipped by a supplier.
    DropShip,
}

/// Through which part of the retail system a command arrived.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "event_schemas::Channel")]
pub enum Channel {
    /// Point of sale.
    Pos,
    /// The back-office fulfilment report.
    FulfilmentReport,
    /// The back office.
    BackOffice,
    /// The REST API and integrations.
    Api,
    /// The Warehouse Management Service API.
    Wms,
    /// A file import.
    Import,
    /// "Apply Product Edit Setting" on product search results.
    BulkEdit,
    /// The ledger itself.
    System,
}

/// What kind of party acted.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "event_schemas::ActorKind")]
pub enum ActorKind {
    /// A member of staff.
    User,
    /// A third-party system (integrator token).
    Integration,
    /// The ledger itself.
    System,
}

/// The POS indicator of a line.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "domain::indicator::SerialIndicator")]
pub enum SerialIndicator {
    /// Serial required, not yet entered.
    Red,
    /// Serial optional, not yet entered.
    Orange,
    /// Serial recorded.
    Blue,
    /// Serial numbers disabled: no barcode.
    None,
}

/// A line's status.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "projections::queries::LineStatus")]
pub enum LineStatus {
    /// Not yet fulfilled.
    Open,
    /// Handed over or dispatched.
    Fulfilled,
    /// Came back and was refunded.
    Returned,
    /// Cancelled before fulfilment.
    Cancelled,
    /// Taken off the sale while it was being built.
    Removed,
}

/// Where a serialised unit is now.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "projections::queries::trace::SerialStatus")]
pub enum SerialStatus {
    /// On a line that is not fulfilled yet.
    Allocated,
    /// Left with the customer.
    Fulfilled,
    /// Came back and was refunded.
    Returned,
    /// Taken off its line before fulfilment.
    Released,
}

/// An amount in integer minor units of a currency.
#[derive(SimpleObject, Clone)]
pub struct Money {
    /// Minor units (cents): 129900 is 1,299.00.
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<event_schemas::Money> for Money {
    fn from(money: event_schemas::Money) -> Self {
        Self {
            amount_minor: money.amount_minor,
            currency: money.currency,
        }
    }
}

/// A sale's customer.
#[derive(SimpleObject, Clone)]
pub struct Customer {
    /// The customer's id.
    pub customer_id: ID,
    /// The customer's name.
    pub name: String,
}

impl From<event_schemas::Customer> for Customer {
    fn from(customer: event_schemas::Customer) -> Self {
        Self {
            customer_id: ID(customer.customer_id.to_string()),
            name: customer.name,
        }
    }
}

/// One component of a package.
#[derive(SimpleObject, Clone)]
pub struct PackageComponent {
    /// The component product.
    pub product_id: ID,
    /// Units of it in one package.
    pub quantity: u32,
}

/// What a package is made of.
#[derive(SimpleObject, Clone)]
pub struct Package {
    /// Consolidated or exploded.
    pub mode: PackageMode,
    /// The components, in order.
    pub components: Vec<PackageComponent>,
}

impl From<event_schemas::PackageComposition> for Package {
    fn from(package: event_schemas::PackageComposition) -> Self {
        Self {
            mode: package.mode.into(),
            components: package
                .components
                .into_iter()
                .map(|component| PackageComponent {
                    product_id: ID(component.product_id.to_string()),
                    quantity: component.quantity,
                })
                .collect(),
        }
    }
}

/// A product of the catalogue.
#[derive(SimpleObject, Clone)]
pub struct Product {
    /// The product's id.
    pub id: ID,
    /// Stock keeping unit.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Required, optional or disabled.
    pub serial_mode: SerialMode,
    /// Where the serial mode was last set.
    pub serial_mode_source: SerialModeSource,
    /// The composition, when the product is a package.
    pub package: Option<Package>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

impl From<ProductView> for Product {
    fn from(product: ProductView) -> Self {
        Self {
            id: ID(product.product_id.to_string()),
            sku: product.sku,
            name: product.name,
            serial_mode: product.serial_mode.into(),
            serial_mode_source: product.serial_mode_source.into(),
            package: product.package.map(Package::from),
            created_at: product.created_at,
            updated_at: product.updated_at,
        }
    }
}

/// A sale's header.
pub struct SaleSummary(pub SaleHeader);

/// A sale's header: invoice, type, delivery mode, outlet, customer, date.
#[Object]
impl SaleSummary {
    /// The sale's id.
    async fn id(&self) -> ID {
        ID(self.0.sale_id.to_string())
    }
    /// The invoice number.
    async fn invoice_number(&self) -> &str {
        &self.0.invoice_number
    }
    /// Sale, special order or lay-by.
    async fn sale_type(&self) -> SaleType {
        self.0.sale_type.into()
    }
    /// The sale type as reports label it ("Sale", "Special Order", "Lay-by").
    async fn sale_type_label(&self) -> &'static str {
        self.0.sale_type.label()
    }
    /// How the goods reach the customer.
    async fn delivery_mode(&self) -> DeliveryMode {
        self.0.delivery_mode.into()
    }
    /// The delivery mode's full name ("Cash and Carry", ...), never blank.
    async fn delivery_mode_name(&self) -> &'static str {
        self.0.delivery_mode.full_name()
    }
    /// The outlet.
    async fn outlet_id(&self) -> ID {
        ID(self.0.outlet_id.to_string())
    }
    /// The customer, when known.
    async fn customer(&self) -> Option<Customer> {
        self.0.customer.clone().map(Customer::from)
    }
    /// When the sale was opened (its date in reports).
    async fn opened_at(&self) -> OffsetDateTime {
        self.0.opened_at
    }
}

/// The returned line a line re-issues.
#[derive(SimpleObject, Clone)]
pub struct ReissueRef {
    /// The earlier sale.
    pub sale_id: ID,
    /// Its invoice number.
    pub invoice_number: String,
    /// The returned line.
    pub line_number: u32,
}

impl From<ReissueOf> for ReissueRef {
    fn from(of: ReissueOf) -> Self {
        Self {
            sale_id: ID(of.sale_id.to_string()),
            invoice_number: of.invoice_number,
            line_number: of.line_number.0,
        }
    }
}

/// A sale line as it stands now.
pub struct SaleLine(pub LineView);

/// A sale line: one unit of a serial-tracked product, or units of a disabled one.
#[Object]
impl SaleLine {
    /// The line's number within its sale (from 1, as printed on the invoice).
    async fn line_number(&self) -> u32 {
        self.0.line_number.0
    }
    /// The product sold.
    async fn product_id(&self) -> ID {
        ID(self.0.product_id.to_string())
    }
    /// The SKU when the line was added.
    async fn sku(&self) -> &str {
        &self.0.sku
    }
    /// The product name when the line was added.
    async fn product_name(&self) -> &str {
        &self.0.product_name
    }
    /// Units on the line (always 1 on serial-tracked lines).
    async fn quantity(&self) -> u32 {
        self.0.quantity
    }
    /// The price of one unit.
    async fn unit_price(&self) -> Money {
        self.0.unit_price.clone().into()
    }
    /// Unit price times quantity.
    async fn line_total(&self) -> Money {
        self.0.line_total().into()
    }
    /// The serial mode the line was added with.
    async fn serial_mode(&self) -> SerialMode {
        self.0.serial_mode.into()
    }
    /// The serial recorded on the line (normalised), if any.
    async fn serial_number(&self) -> Option<&str> {
        self.0.serial.as_deref()
    }
    /// RED (required, missing), ORANGE (optional, missing), BLUE (recorded), NONE.
    async fn serial_indicator(&self) -> SerialIndicator {
        self.0.indicator.into()
    }
    /// Whether the line waits for a serial before it can be fulfilled.
    async fn pending_serial(&self) -> bool {
        self.0.is_pending_serial()
    }
    /// Open, fulfilled, returned, cancelled (or removed).
    async fn status(&self) -> LineStatus {
        self.0.status.into()
    }
    /// The package line this line is a component of.
    async fn parent_line(&self) -> Option<u32> {
        self.0.parent_line().map(|line| line.0)
    }
    /// Whether the line is a package product itself (and how it is treated).
    async fn package_mode(&self) -> Option<PackageMode> {
        match self.0.package {
            Some(event_schemas::LinePackage::Package { mode }) => Some(mode.into()),
            _ => None,
        }
    }
    /// The returned line this line re-issues.
    async fn reissue_of(&self) -> Option<ReissueRef> {
        self.0.reissue_of.clone().map(ReissueRef::from)
    }
    /// When the line was added.
    async fn added_at(&self) -> OffsetDateTime {
        self.0.added_at
    }
    /// When it was fulfilled.
    async fn fulfilled_at(&self) -> Option<OffsetDateTime> {
        self.0.fulfilled_at
    }
    /// When it was returned.
    async fn returned_at(&self) -> Option<OffsetDateTime> {
        self.0.returned_at
    }
    /// When it was cancelled.
    async fn cancelled_at(&self) -> Option<OffsetDateTime> {
        self.0.cancelled_at
    }
    /// The refund, when returned.
    async fn refund(&self) -> Option<Money> {
        self.0.refund.clone().map(Money::from)
    }
}

/// A line with its sale: a row of the fulfilment report and of the sales report.
pub struct ReportRow(pub projections::queries::ReportLine);

/// A line with its sale's header.
#[Object]
impl ReportRow {
    /// The sale.
    async fn sale(&self) -> SaleSummary {
        SaleSummary(self.0.sale.clone())
    }
    /// The line.
    async fn line(&self) -> SaleLine {
        SaleLine(self.0.line.clone())
    }
}
