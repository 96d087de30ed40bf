//! Version 1 of every event payload, and [`LedgerEvent`], which maps each to its stored
//! `event_type` and `schema_version`.
//!
//! Streams: `product-{id}` holds a product's events, `retailer-settings` the retailer's
//! settings, `sale-{id}` a sale's. The event type name is the struct's name.
//!
//! Every payload derives `JsonSchema`, the published schema of its version
//! ([`crate::json_schema`]), which describes what serde writes: every field present, `Option`
//! fields as `null` when empty. The one exception is marked where it is made
//! (`ProductCreated::serial_mode`, which payloads stored before the feature lack).

use crate::ids::{LineNumber, OutletId, ProductId, SaleId};
use crate::values::{
    Customer, DeliveryMode, LinePackage, Money, PackageComposition, SaleType, SerialMode,
    SerialModeSource,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// ---- products -------------------------------------------------------------------------------

/// A product (standard or package) was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(transform = serial_mode_may_be_missing)]
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
    /// Present when the product is a package (null otherwise).
    pub package: Option<PackageComposition>,
}

/// The schema of every field serde writes requires it; but `ProductCreated` payloads stored
/// before serial modes existed have no `serial_mode` (they read as DISABLED, the schema's
/// `default`), and they are valid v1 payloads.
fn serial_mode_may_be_missing(schema: &mut schemars::Schema) {
    if let Some(serde_json::Value::Array(required)) = schema.get_mut("required") {
        required.retain(|field| field != "serial_mode");
    }
}

/// A product's SKU or name changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductDetailsChanged {
    /// The product.
    pub product_id: ProductId,
    /// The SKU after the change.
    pub sku: String,
    /// The name after the change.
    pub name: String,
}

/// A product's serial mode changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageCompositionChanged {
    /// The package product.
    pub product_id: ProductId,
    /// The composition after the change.
    pub package: PackageComposition,
}

// ---- retailer settings ----------------------------------------------------------------------

/// The retailer's serial-number settings, as they stand after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LineAdded {
    /// The new line.
    #[serde(flatten)]
    pub line: SaleLine,
}

/// The quantity of a line (of a DISABLED product) changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LineQuantityChanged {
    /// The line.
    pub line_number: LineNumber,
    /// Units after the change.
    pub quantity: u32,
    /// Units before the change.
    pub previous_quantity: u32,
}

/// A line was taken off a sale before fulfilment (a correction while building the sale).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LineRemoved {
    /// The line.
    pub line_number: LineNumber,
    /// The serial the line held, now released.
    pub released_serial: Option<String>,
}

/// An unfulfilled line was cancelled; its serial, if any, is released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// A serial number was recorded against a line (v2: with the text as it was scanned).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SerialAssigned {
    /// The line.
    pub line_number: LineNumber,
    /// The line's product.
    pub product_id: ProductId,
    /// The serial, normalised (trimmed, upper-case): what identifies the unit.
    pub serial: String,
    /// The text exactly as typed or scanned, before normalisation (a scanner's trailing
    /// newline, lower-case letters): what an auditor compares with the scanner's own log.
    /// `null` for serials recorded before v2, which did not keep it.
    pub scanned: Option<String>,
}

/// Version 1 of [`SerialAssigned`], as stored before the scanned text was kept. Reading a
/// v1 event upcasts it to the current version with `scanned: null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SerialAssignedV1 {
    /// The line.
    pub line_number: LineNumber,
    /// The line's product.
    pub product_id: ProductId,
    /// The serial, normalised.
    pub serial: String,
}

impl From<SerialAssignedV1> for SerialAssigned {
    fn from(v1: SerialAssignedV1) -> Self {
        Self {
            line_number: v1.line_number,
            product_id: v1.product_id,
            serial: v1.serial,
            scanned: None,
        }
    }
}

/// A serial number was taken off a line before fulfilment (v2: with the reason given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

/// Declares every older version this build still reads, with the struct it was stored as;
/// the struct converts into the current version's (`From`).
///
/// One table drives three things, so an upcaster cannot be added without its schema being
/// published: `upcast` (decoding), [`LedgerEvent::SUPERSEDED`] (the list of older versions)
/// and `superseded_schema` (the JSON Schema of each, which needs the struct to derive
/// `JsonSchema`).
macro_rules! upcasters {
    ($($current:ident v $version:literal from $stored:ident),* $(,)?) => {
        impl LedgerEvent {
            /// Every older (event type, schema version) this build still reads: such events
            /// are upcast to the current version of their type when decoded, and their
            /// schema stays published for the events stored under them.
            pub const SUPERSEDED: &'static [(&'static str, u32)] =
                &[$((stringify!($current), $version)),*];
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
                $(
                    (stringify!($current), $version) => Some(
                        <$stored as Deserialize>::deserialize(payload)
                            .map(|stored| LedgerEvent::$current(stored.into()))
                            .map_err(payload_error),
                    ),
                )*
                _ => None,
            }
        }

        /// The JSON Schema of an older version's payload, or `None` when `event_type`
        /// v`schema_version` is not an older version this build upcasts.
        fn superseded_schema(event_type: &str, schema_version: u32) -> Option<schemars::Schema> {
            match (event_type, schema_version) {
                $(
                    (stringify!($current), $version) => {
                        Some(crate::json_schema::root_schema::<$stored>())
                    }
                )*
                _ => None,
            }
        }
    };
}

upcasters! {
    SerialAssigned v 1 from SerialAssignedV1,
    SerialRemoved v 1 from SerialRemovedV1,
}

/// A line was fulfilled (handed over or dispatched); its serial is frozen from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LineFulfilled {
    /// The line.
    pub line_number: LineNumber,
    /// The line's product.
    pub product_id: ProductId,
    /// The serial that left with the unit, if one was recorded.
    pub serial: Option<String>,
}

/// A fulfilled line's unit came back and was refunded; its serial is released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

            /// The JSON Schema of the payload of `event_type` v`schema_version`, for every
            /// version this build writes ([`Self::TYPES`]) or upcasts ([`Self::SUPERSEDED`]);
            /// `None` for any other pair. See [`crate::json_schema`] for the published form.
            pub(crate) fn payload_schema(
                event_type: &str,
                schema_version: u32,
            ) -> Option<schemars::Schema> {
                if let Some(schema) = superseded_schema(event_type, schema_version) {
                    return Some(schema);
                }
                match (event_type, schema_version) {
                    $(
                        (stringify!($variant), $version) => {
                            Some(crate::json_schema::root_schema::<$variant>())
                        }
                    )*
                    _ => None,
                }
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
    SerialAssigned v 2,
    SerialRemoved v 2,
    LineFulfilled v 1,
    LineReturned v 1,
    LineReissued v 1,
}

impl LedgerEvent {
    /// The serial number this event is about, as recorded (normalised), if any: the
    /// assigned, removed, fulfilled, returned or released serial, or the serial of the
    /// returned unit a line re-issues. Every event that touches a serialised unit names its
    /// serial, so a unit's history, the traceability index and the ledger's per-serial
    /// proof chains all select events with this one rule.
    pub fn serial_named(&self) -> Option<&str> {
        match self {
            LedgerEvent::SerialAssigned(e) => Some(&e.serial),
            LedgerEvent::SerialRemoved(e) => Some(&e.serial),
            LedgerEvent::LineFulfilled(e) => e.serial.as_deref(),
            LedgerEvent::LineReturned(e) => e.serial.as_deref(),
            LedgerEvent::LineCancelled(e) => e.released_serial.as_deref(),
            LedgerEvent::LineRemoved(e) => e.released_serial.as_deref(),
            LedgerEvent::LineReissued(e) => e.reissue_of.serial.as_deref(),
            _ => None,
        }
    }
}
