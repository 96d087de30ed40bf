//! Version 1 of every event payload, and [`LedgerEvent`], which maps each to its stored
//! `event_type` and `schema_version`.
//!
//! Streams: `product-{id}` holds a product's events, `retailer-settings` the retailer's
//! settings, `sale-{id}` a sale's. The event type name is the struct's name.

use crate::ids::{LineNumber, OutletId, ProductId, SaleId};
use crate::values::{
    Customer, DeliveryMode, LinePackage, Money, PackageComposition, SaleType, SerialMode,
    SerialModeSource,
};
use serde::{Deserialize, Serialize};

// ---- products -------------------------------------------------------------------------------

/// A product (standard or package) was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductCreated {
    /// The new product.
    pub product_id: ProductId,
    /// Stock keeping unit, unique per retailer.
    pub sku: String,
    /// The product's name.
    pub name: String,
    /// Missing in products recorded before the feature: those decode as DISABLED.
    #[serde(default)]
    pub serial_mode: SerialMode,
    /// Where the product was created (and so where its mode was set).
    pub serial_mode_source: SerialModeSource,
    /// Present when the product is a package.
    pub package: Option<PackageComposition>,
}

/// A product's SKU or name changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDetailsChanged {
    /// The product.
    pub product_id: ProductId,
    /// The SKU after the change.
    pub sku: String,
    /// The name after the change.
    pub name: String,
}

/// A product's serial mode changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialModeChanged {
    /// The product.
    pub product_id: ProductId,
    /// The mode after the change.
    pub serial_mode: SerialMode,
    /// The mode before the change.
    pub previous_serial_mode: SerialMode,
    /// Where the change was made.
    pub source: SerialModeSource,
}

/// A package's composition or package mode changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageCompositionChanged {
    /// The package product.
    pub product_id: ProductId,
    /// The composition after the change.
    pub package: PackageComposition,
}

// ---- retailer settings ----------------------------------------------------------------------

/// The retailer's serial-number settings, as they stand after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetailerSettingsChanged {
    /// "Auto-Prompt for Serial Number for Applicable Products" (fires for REQUIRED only).
    pub auto_prompt_serial_number: bool,
    /// "Display Serial Number on Invoice".
    pub display_serial_number_on_invoice: bool,
    /// "POS Aggregate Duplicate Order Items" (applies to DISABLED products only).
    pub aggregate_duplicate_order_items: bool,
}

// ---- sales ----------------------------------------------------------------------------------

/// A sale (order/invoice) was opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleOpened {
    /// The sale.
    pub sale_id: SaleId,
    /// The human invoice number, unique per retailer.
    pub invoice_number: String,
    /// Sale, special order or lay-by.
    pub sale_type: SaleType,
    /// How the goods reach the customer.
    pub delivery_mode: DeliveryMode,
    /// The outlet the sale belongs to.
    pub outlet_id: OutletId,
    /// The customer, when known.
    pub customer: Option<Customer>,
}

/// What a sale line is: product, quantity, price and the serial mode it was added with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleLine {
    /// The line's number within the sale.
    pub line_number: LineNumber,
    /// The product sold.
    pub product_id: ProductId,
    /// The product's SKU when the line was added.
    pub sku: String,
    /// The product's name when the line was added.
    pub product_name: String,
    /// Units on the line; always 1 for serial-tracked lines.
    pub quantity: u32,
    /// Price of one unit.
    pub unit_price: Money,
    /// The serial mode that governs this line, fixed when the line was added. For an exploded
    /// package's own line it is DISABLED (the package is ignored for serials).
    pub serial_mode: SerialMode,
    /// The line's place in a package, if any.
    pub package: Option<LinePackage>,
}

/// A line was added to a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAdded {
    /// The new line.
    #[serde(flatten)]
    pub line: SaleLine,
}

/// The quantity of a line (of a DISABLED product) changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineQuantityChanged {
    /// The line.
    pub line_number: LineNumber,
    /// Units after the change.
    pub quantity: u32,
    /// Units before the change.
    pub previous_quantity: u32,
}

/// A line was taken off a sale before fulfilment (a correction while building the sale).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRemoved {
    /// The line.
    pub line_number: LineNumber,
    /// The serial the line held, now released.
    pub released_serial: Option<String>,
}

/// An unfulfilled line was cancelled; its serial, if any, is released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineCancelled {
    /// The line.
    pub line_number: LineNumber,
    /// The product of the line.
    pub product_id: ProductId,
    /// The serial the line held, now released.
    pub released_serial: Option<String>,
    /// Why, as the user gave it.
    pub reason: Option<String>,
}

/// A serial number was recorded against a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialAssigned {
    /// The line.
    pub line_number: LineNumber,
    /// The line's product.
    pub product_id: ProductId,
    /// The serial, normalised.
    pub serial: String,
}

/// A serial number was taken off a line before fulfilment (v2: with the reason given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialRemoved {
    /// The line.
    pub line_number: LineNumber,
    /// The line's product.
    pub product_id: ProductId,
    /// The serial that was removed.
    pub serial: String,
    /// Why, as the user gave it (none when replaced by another serial, or not given).
    pub reason: Option<String>,
}

/// Version 1 of [`SerialRemoved`], as stored before reasons were recorded. Reading a v1
/// event upcasts it to the current version with no reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialRemovedV1 {
    /// The line.
    pub line_number: LineNumber,
    /// The line's product.
    pub product_id: ProductId,
    /// The serial that was removed.
    pub serial: String,
}

impl From<SerialRemovedV1> for SerialRemoved {
    fn from(v1: SerialRemovedV1) -> Self {
        Self {
            line_number: v1.line_number,
            product_id: v1.product_id,
            serial: v1.serial,
            reason: None,
        }
    }
}

/// Reads an older version of an event as the current one, or `None` when `event_type`
/// v`schema_version` is not an older version this build upcasts.
fn upcast(
    event_type: &str,
    schema_version: u32,
    payload: &serde_json::Value,
) -> Option<Result<LedgerEvent, DecodeError>> {
    let payload_error = |source| DecodeError::Payload {
        event_type: event_type.to_owned(),
        schema_version,
        source,
    };
    match (event_type, schema_version) {
        ("SerialRemoved", 1) => Some(
            <SerialRemovedV1 as Deserialize>::deserialize(payload)
                .map(|v1| LedgerEvent::SerialRemoved(v1.into()))
                .map_err(payload_error),
        ),
        _ => None,
    }
}

/// A line was fulfilled (handed over or dispatched); its serial is frozen from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFulfilled {
    /// The line.
    pub line_number: LineNumber,
    /// The line's product.
    pub product_id: ProductId,
    /// The serial that left with the unit, if one was recorded.
    pub serial: Option<String>,
}

/// A fulfilled line's unit came back and was refunded; its serial is released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineReturned {
    /// The line.
    pub line_number: LineNumber,
    /// The line's product.
    pub product_id: ProductId,
    /// The serial of the returned unit, if one was recorded.
    pub serial: Option<String>,
    /// The amount refunded.
    pub refund: Money,
    /// Why, as the user gave it.
    pub reason: Option<String>,
}

/// Names a returned line of an earlier sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnedLineRef {
    /// The earlier sale.
    pub sale_id: SaleId,
    /// Its invoice number.
    pub invoice_number: String,
    /// The returned line.
    pub line_number: LineNumber,
    /// The serial of the returned unit, if one was recorded.
    pub serial: Option<String>,
}

/// A line was added to this (new) sale as the re-issue of a returned line of an earlier sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineReissued {
    /// The new line.
    #[serde(flatten)]
    pub line: SaleLine,
    /// The returned line it re-issues.
    pub reissue_of: ReturnedLineRef,
}

/// Why a stored payload could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The type/version pair is not one this build knows.
    #[error("unknown event type {event_type} v{schema_version}")]
    UnknownType {
        /// The stored type name.
        event_type: String,
        /// The stored version.
        schema_version: u32,
    },
    /// The payload does not match the schema of its type and version.
    #[error("payload of {event_type} v{schema_version} does not match its schema: {source}")]
    Payload {
        /// The stored type name.
        event_type: String,
        /// The stored version.
        schema_version: u32,
        /// What serde found wrong.
        source: serde_json::Error,
    },
}

macro_rules! ledger_events {
    ($($variant:ident v $version:literal),* $(,)?) => {
        /// Every event the ledger records, as a closed set.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum LedgerEvent {
            $(
                #[doc = concat!("See [`", stringify!($variant), "`].")]
                $variant($variant),
            )*
        }

        impl LedgerEvent {
            /// Every (event type, current schema version) this build writes.
            pub const TYPES: &'static [(&'static str, u32)] =
                &[$((stringify!($variant), $version)),*];

            /// The stored type name.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => stringify!($variant),)*
                }
            }

            /// The schema version this build writes for the event's type.
            pub fn schema_version(&self) -> u32 {
                match self {
                    $(Self::$variant(_) => $version,)*
                }
            }

            /// The payload as stored (JSON).
            pub fn to_payload(&self) -> serde_json::Value {
                let encoded = match self {
                    $(Self::$variant(payload) => serde_json::to_value(payload),)*
                };
                // Payloads are plain structs of strings, numbers and enums: encoding cannot
                // fail, and a failure would be a programming error caught by the fixtures.
                encoded.unwrap_or(serde_json::Value::Null)
            }

            /// Decodes a stored payload of the given type and version; older versions are
            /// upcast to the current one.
            pub fn decode(
                event_type: &str,
                schema_version: u32,
                payload: &serde_json::Value,
            ) -> Result<Self, DecodeError> {
                if let Some(upcast) = upcast(event_type, schema_version, payload) {
                    return upcast;
                }
                match (event_type, schema_version) {
                    $(
                        (stringify!($variant), $version) => {
                            <$variant as Deserialize>::deserialize(payload)
                                .map(Self::$variant)
                                .map_err(|source| DecodeError::Payload {
                                    event_type: event_type.to_owned(),
                                    schema_version,
                                    source,
                                })
                        }
                    )*
                    _ => Err(DecodeError::UnknownType {
                        event_type: event_type.to_owned(),
                        schema_version,
                    }),
                }
            }
        }

        $(
            impl From<$variant> for LedgerEvent {
                fn from(payload: $variant) -> Self {
                    Self::$variant(payload)
                }
            }
        )*
    };
}

ledger_events! {
    ProductCreated v 1,
    ProductDetailsChanged v 1,
    SerialModeChanged v 1,
    PackageCompositionChanged v 1,
    RetailerSettingsChanged v 1,
    SaleOpened v 1,
    LineAdded v 1,
    LineQuantityChanged v 1,
    LineRemoved v 1,
    LineCancelled v 1,
    SerialAssigned v 1,
    SerialRemoved v 2,
    LineFulfilled v 1,
    LineReturned v 1,
    LineReissued v 1,
}
