//! Identifier newtypes, so a product id can never be passed where a sale id is meant.
//!
//! Each is `#[serde(transparent)]`, and so is its `JsonSchema`: on the wire and in the
//! published schemas a UUID id is a string (`format: uuid`), a line number an integer.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            JsonSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered (UUID v7) identifier.
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

uuid_id!(
    /// A retailer: the unit of tenancy. Every stored row carries one.
    TenantId
);
uuid_id!(
    /// A product (a standard product or a package).
    ProductId
);
uuid_id!(
    /// A sale (order/invoice).
    SaleId
);
uuid_id!(
    /// An outlet (store, warehouse) of a retailer.
    OutletId
);
uuid_id!(
    /// A customer of a retailer.
    CustomerId
);
uuid_id!(
    /// The id a client gives a command, so that a retried command is applied once.
    CommandId
);

/// The number of a line within its sale, starting at 1, as printed on the invoice.
///
/// Numbers are never reused within a sale, so "INV-1042 line 2" names one unit for ever.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct LineNumber(pub u32);

impl fmt::Display for LineNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
