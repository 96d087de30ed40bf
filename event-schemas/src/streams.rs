//! Stream names: which stream holds which aggregate's events. Part of the contract, since
//! integrators read streams by name.

use crate::ids::{ProductId, SaleId};
use uuid::Uuid;

/// The stream of a retailer's settings (one per retailer).
pub const RETAILER_SETTINGS: &str = "retailer-settings";

const PRODUCT_PREFIX: &str = "product-";
const SALE_PREFIX: &str = "sale-";

/// The stream of a product: `product-{uuid}`.
pub fn product(id: ProductId) -> String {
    format!("{PRODUCT_PREFIX}{id}")
}

/// The stream of a sale: `sale-{uuid}`.
pub fn sale(id: SaleId) -> String {
    format!("{SALE_PREFIX}{id}")
}

/// The sale whose stream this is, if it is a sale stream.
pub fn parse_sale(stream_id: &str) -> Option<SaleId> {
    let id = stream_id.strip_prefix(SALE_PREFIX)?;
    Uuid::parse_str(id).ok().map(SaleId)
}

/// The product whose stream this is, if it is a product stream.
pub fn parse_product(stream_id: &str) -> Option<ProductId> {
    let id = stream_id.strip_prefix(PRODUCT_PREFIX)?;
    Uuid::parse_str(id).ok().map(ProductId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_round_trip() {
        let sale_id = SaleId::new_v7();
        assert_eq!(parse_sale(&sale(sale_id)), Some(sale_id));
        let product_id = ProductId::new_v7();
        assert_eq!(parse_product(&product(product_id)), Some(product_id));
        assert_eq!(parse_sale(&product(product_id)), None);
        assert_eq!(parse_sale("sale-not-a-uuid"), None);
    }
}
