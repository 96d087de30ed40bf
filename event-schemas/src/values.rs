//! Value types shared by several events: serial modes, packages, sale types, money.
//!
//! Each derives `JsonSchema` so the published event schemas describe them exactly as serde
//! writes them (enums as their upper-case names, `LinePackage` tagged by `role`).

use crate::ids::{CustomerId, LineNumber, ProductId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether a product's units carry a serial number.
///
/// Products recorded before the serial-number feature existed have no mode in their
/// `ProductCreated` payload; they decode as DISABLED ([`SerialMode::Disabled`]), as the spec
/// requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SerialMode {
    /// A serial number must be recorded before the unit is fulfilled.
    Required,
    /// A serial number may be recorded, but fulfilment does not wait for one.
    Optional,
    /// Serial numbers are not used for this product.
    #[default]
    Disabled,
}

impl SerialMode {
    /// Whether units of this mode are tracked one by one (REQUIRED or OPTIONAL).
    pub fn is_tracked(self) -> bool {
        !matches!(self, SerialMode::Disabled)
    }

    /// The label retail users see ("Required", "Optional", "Disabled").
    pub fn label(self) -> &'static str {
        match self {
            SerialMode::Required => "Required",
            SerialMode::Optional => "Optional",
            SerialMode::Disabled => "Disabled",
        }
    }
}

impl fmt::Display for SerialMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where a product's serial mode was set, as the spec lists the places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SerialModeSource {
    /// Creating or editing a product or package by hand in the back office.
    Manual,
    /// The product mass upload CSV.
    CsvMassUpload,
    /// "Apply Product Edit Setting" on product search results.
    BulkEdit,
    /// POS quick create product.
    PosQuickCreate,
    /// PO quick create product (the PO item page).
    PoQuickCreate,
    /// The REST/WMS APIs and integrations.
    Api,
}

/// How a package product is treated for serial numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PackageMode {
    /// The package is one physical item: the package line carries the serial, per the
    /// package's own mode; its components are ignored for serials.
    Consolidated,
    /// Each component line follows its own product's mode; the package is ignored for serials.
    Exploded,
}

/// One component of a package, with how many units of it one package contains.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct PackageComponent {
    /// The component product.
    pub product_id: ProductId,
    /// Units of the component in one package; at least 1.
    pub quantity: u32,
}

/// What a package product is made of and how it is treated for serials.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct PackageComposition {
    /// Consolidated or exploded.
    pub mode: PackageMode,
    /// The components, in the order they are listed on the package.
    pub components: Vec<PackageComponent>,
}

/// The kind of sale, as reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SaleType {
    /// An ordinary sale.
    Sale,
    /// A special order: goods ordered in for the customer.
    SpecialOrder,
    /// A lay-by: paid over time, collected later.
    LayBy,
}

impl SaleType {
    /// The label reports show ("Sale", "Special Order", "Lay-by").
    pub fn label(self) -> &'static str {
        match self {
            SaleType::Sale => "Sale",
            SaleType::SpecialOrder => "Special Order",
            SaleType::LayBy => "Lay-by",
        }
    }
}

/// How the goods of a sale reach the customer.
///
/// An enum rather than free text so the full name is never blank (the spec's complaint about
/// the old sales detail export, which showed nothing for cash and carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryMode {
    /// The customer takes the goods at the counter.
    CashAndCarry,
    /// The customer collects later from an outlet.
    Pickup,
    /// The retailer delivers to the customer.
    Delivery,
    /// A supplier ships directly to the customer.
    DropShip,
}

impl DeliveryMode {
    /// The full name shown in reports and exports.
    pub fn full_name(self) -> &'static str {
        match self {
            DeliveryMode::CashAndCarry => "Cash and Carry",
            DeliveryMode::Pickup => "Pickup",
            DeliveryMode::Delivery => "Delivery",
            DeliveryMode::DropShip => "Drop Ship",
        }
    }
}

/// An amount of money in integer minor units (cents) of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Money {
    /// The amount in minor units, e.g. 129900 for 1,299.00.
    pub amount_minor: i64,
    /// The ISO 4217 code, e.g. "AUD".
    pub currency: String,
}

/// The customer of a sale, as known when the sale was opened.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Customer {
    /// The customer's id.
    pub customer_id: CustomerId,
    /// The customer's name, for reports and traceability.
    pub name: String,
}

/// A line's place in a package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "role", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinePackage {
    /// The line is a package product itself.
    Package {
        /// How the package is treated for serials.
        mode: PackageMode,
    },
    /// The line is one component of an exploded package.
    Component {
        /// The package line this component belongs to.
        parent_line: LineNumber,
    },
}
