//! Projection "products": the catalogue with each product's serial mode, where it was set,
//! and its package composition.

use crate::db::ReadTx;
use crate::execute;
use crate::projection::{EventContext, ProjectionError, TableSpec};
use crate::rows::{OnConflict, insert_rows, read_model_table};
use crate::stored::enum_code;
use event_schemas::{LedgerEvent, PackageComposition};

pub(crate) const TABLES: &[TableSpec] = &[PRODUCTS];

read_model_table! {
    /// A row of `rm_products`: a product as it stands now.
    pub(crate) struct ProductRow as PRODUCTS ("rm_products", key: [tenant_id, product_id]) {
        tenant_id: String,
        product_id: String,
        sku: String,
        name: String,
        serial_mode: String,
        serial_mode_source: String,
        /// Set, with `components`, when the product is a package.
        package_mode: Option<String>,
        /// Canonical JSON (see `components_text`).
        components: Option<String>,
        created_at: i64,
        updated_at: i64,
    }
}

/// Components as canonical JSON text: `[{"product_id":..,"quantity":..},..]`.
fn components_text(package: &PackageComposition) -> String {
    event_schemas::canonical_json(&serde_json::to_value(&package.components).unwrap_or_default())
}

pub(crate) async fn apply(
    tx: &mut ReadTx,
    context: &EventContext<'_>,
    event: &LedgerEvent,
) -> Result<(), ProjectionError> {
    let tenant = &context.tenant_id;
    match event {
        LedgerEvent::ProductCreated(created) => {
            let row = ProductRow {
                tenant_id: tenant.clone(),
                product_id: created.product_id.to_string(),
                sku: created.sku.clone(),
                name: created.name.clone(),
                serial_mode: enum_code(&created.serial_mode),
                serial_mode_source: enum_code(&created.serial_mode_source),
                package_mode: created.package.as_ref().map(|p| enum_code(&p.mode)),
                components: created.package.as_ref().map(components_text),
                created_at: context.recorded_at,
                updated_at: context.recorded_at,
            };
            // A plain INSERT: a product created twice is a unique violation, and the batch
            // rolls back.
            insert_rows(tx, vec![row], OnConflict::Fail).await?;
        }
        LedgerEvent::ProductDetailsChanged(changed) => {
            execute!(
                tx,
                "UPDATE rm_products SET sku = $3, name = $4, updated_at = $5 \
                 WHERE tenant_id = $1 AND product_id = $2",
                tenant,
                changed.product_id.to_string(),
                &changed.sku,
                &changed.name,
                context.recorded_at,
            )?;
        }
        LedgerEvent::SerialModeChanged(changed) => {
            execute!(
                tx,
                "UPDATE rm_products SET serial_mode = $3, serial_mode_source = $4, updated_at = $5 \
                 WHERE tenant_id = $1 AND product_id = $2",
                tenant,
                changed.product_id.to_string(),
                enum_code(&changed.serial_mode),
                enum_code(&changed.source),
                context.recorded_at,
            )?;
        }
        LedgerEvent::PackageCompositionChanged(changed) => {
            execute!(
                tx,
                "UPDATE rm_products SET package_mode = $3, components = $4, updated_at = $5 \
                 WHERE tenant_id = $1 AND product_id = $2",
                tenant,
                changed.product_id.to_string(),
                enum_code(&changed.package.mode),
                components_text(&changed.package),
                context.recorded_at,
            )?;
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::value_columns;

    #[test]
    fn a_product_row_gives_its_values_in_the_order_of_the_declared_columns() {
        assert_eq!(value_columns(ProductRow::default()), PRODUCTS.columns);
    }
}
