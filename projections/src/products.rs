//! Projection "products": the catalogue with each product's serial mode, where it was set,
//! and its package composition.

use crate::db::ReadTx;
use crate::execute;
use crate::projection::{EventContext, ProjectionError, TableSpec, enum_code};
use event_schemas::{LedgerEvent, PackageComposition};

pub(crate) const TABLES: &[TableSpec] = &[TableSpec {
    name: "rm_products",
    columns: &[
        "tenant_id",
        "product_id",
        "sku",
        "name",
        "serial_mode",
        "serial_mode_source",
        "package_mode",
        "components",
        "created_at",
        "updated_at",
    ],
    key: &["tenant_id", "product_id"],
}];

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
            execute!(
                tx,
                "INSERT INTO rm_products (tenant_id, product_id, sku, name, serial_mode, \
                 serial_mode_source, package_mode, components, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                tenant,
                created.product_id.to_string(),
                &created.sku,
                &created.name,
                enum_code(&created.serial_mode),
                enum_code(&created.serial_mode_source),
                created.package.as_ref().map(|p| enum_code(&p.mode)),
                created.package.as_ref().map(components_text),
                context.recorded_at,
            )?;
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
