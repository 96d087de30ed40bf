//! Product flows that issue several commands: the product edit (details, serial mode and
//! package, each its own command) and "Apply Product Edit Setting", the bulk serial-mode
//! edit from product search results.
//!
//! Each part of a flow is one command whose id is derived from the request's, so a retry
//! with the same command id applies each part once. Both flows wait for the read models
//! before answering (read-your-writes).

use crate::app::Application;
use crate::commands::{CommandContext, NewProduct};
use crate::error::{AppError, AppResult};
use crate::request::part_of;
use domain::product::{ChangeProductDetails, SetSerialMode};
use event_schemas::{Channel, PackageComposition, ProductId, SerialMode, SerialModeSource};
use projections::queries::products::{self as catalogue, ProductFilter, ProductView};
use projections::queries::{MAX_PAGE_SIZE, PageRequest};
use std::collections::{HashMap, HashSet};
use store::Position;

/// What a product write did, once the read models show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductWrite {
    /// The product as the catalogue shows it now (`None` only if the read models are
    /// still catching up).
    pub product: Option<ProductView>,
    /// Where the last event recorded is in the log, when anything was.
    pub position: Option<Position>,
    /// Whether every command had been applied before and nothing new was recorded.
    pub deduplicated: bool,
}

/// Creates a product or package, and answers it as the catalogue shows it.
pub async fn create(
    app: &Application,
    context: &CommandContext,
    product: NewProduct,
) -> AppResult<ProductWrite> {
    let product_id = product.product_id;
    let outcome = app.commands.create_product(context, product).await?;
    app.after(&outcome).await;
    Ok(ProductWrite {
        product: catalogue::product_by_id(&app.db, context.tenant_id, product_id).await?,
        position: outcome.position(),
        deduplicated: outcome.deduplicated(),
    })
}

/// An edit of one product: whatever is given changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductEdit {
    /// The new SKU.
    pub sku: Option<String>,
    /// The new name.
    pub name: Option<String>,
    /// The new serial mode, and where it is set from (MANUAL when not given).
    pub serial_mode: Option<(SerialMode, Option<SerialModeSource>)>,
    /// The new package composition.
    pub package: Option<PackageComposition>,
}

/// Edits product `product_id`: its SKU and name, its serial mode, its package composition,
/// each its own command. The whole edit is checked before any part is written, so a
/// refused edit writes nothing.
pub async fn edit(
    app: &Application,
    context: &CommandContext,
    product_id: ProductId,
    edit: ProductEdit,
) -> AppResult<ProductWrite> {
    if edit.sku.is_none()
        && edit.name.is_none()
        && edit.serial_mode.is_none()
        && edit.package.is_none()
    {
        return Err(AppError::invalid(
            "updateProduct",
            "needs at least one of sku, name, serialMode, package",
        ));
    }
    let tenant = context.tenant_id;
    let details = if edit.sku.is_some() || edit.name.is_some() {
        let current = app
            .commands
            .load_product(tenant, product_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("product {product_id} does not exist")))?;
        Some(ChangeProductDetails {
            sku: edit.sku.unwrap_or(current.sku),
            name: edit.name.unwrap_or(current.name),
        })
    } else {
        None
    };
    let set_mode = edit.serial_mode.map(|(serial_mode, source)| SetSerialMode {
        serial_mode,
        source: source.unwrap_or(SerialModeSource::Manual),
    });
    app.commands
        .check_product_edit(
            tenant,
            product_id,
            details.clone(),
            set_mode,
            edit.package.as_ref(),
        )
        .await?;
    let mut outcomes = Vec::new();
    if let Some(change) = details {
        let part = part_of(context, "details");
        outcomes.push(
            app.commands
                .change_product_details(&part, product_id, change)
                .await?,
        );
    }
    if let Some(set) = set_mode {
        let part = part_of(context, "serial-mode");
        outcomes.push(app.commands.set_serial_mode(&part, product_id, set).await?);
    }
    if let Some(package) = edit.package {
        let part = part_of(context, "package");
        outcomes.push(
            app.commands
                .set_package_composition(&part, product_id, package)
                .await?,
        );
    }
    let position = outcomes
        .iter()
        .filter_map(|outcome| outcome.position())
        .max();
    app.wait_for(position).await;
    Ok(ProductWrite {
        product: catalogue::product_by_id(&app.db, tenant, product_id).await?,
        position,
        deduplicated: position.is_some() && outcomes.iter().all(|outcome| outcome.deduplicated()),
    })
}

/// The most products one bulk edit by ids may change.
pub const MAX_BULK_EDIT: usize = 500;

/// The most products one bulk edit from a search may change; a larger result set is
/// refused so the user narrows the search (each product is one command and one event).
pub const MAX_BULK_EDIT_SEARCH: usize = 10_000;

/// Refuses a bulk edit of `count` products by ids: 1 to [`MAX_BULK_EDIT`]. Adapters may
/// call it before parsing the ids, so a list too long is refused as such.
pub fn check_bulk_edit_size(count: usize) -> AppResult<()> {
    if count == 0 || count > MAX_BULK_EDIT {
        return Err(AppError::invalid(
            "productIds",
            &format!("must list 1 to {MAX_BULK_EDIT} products"),
        ));
    }
    Ok(())
}

/// Which products a bulk edit changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkSelection {
    /// These products (1 to [`MAX_BULK_EDIT`]; repeats count once).
    Ids(Vec<ProductId>),
    /// Every product the search finds (up to [`MAX_BULK_EDIT_SEARCH`]).
    Matching(ProductFilter),
}

/// What a bulk edit did.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkEdit {
    /// The products changed (or already in that mode), as they stand now, in the order
    /// they were selected.
    pub updated: Vec<ProductView>,
    /// The products that could not be changed, with why.
    pub failed: Vec<(ProductId, AppError)>,
    /// Where the last event recorded is in the log, when anything was.
    pub position: Option<Position>,
}

/// "Apply Product Edit Setting": sets the serial mode of every selected product (source
/// BULK_EDIT; channel BULK_EDIT unless the request named one). Products that cannot be
/// changed are listed in `failed`; the others are changed. What was changed is read back
/// with one query.
pub async fn set_serial_mode_in_bulk(
    app: &Application,
    context: &CommandContext,
    selection: BulkSelection,
    serial_mode: SerialMode,
) -> AppResult<BulkEdit> {
    let tenant = context.tenant_id;
    let ids = match selection {
        BulkSelection::Ids(ids) => {
            check_bulk_edit_size(ids.len())?;
            ids
        }
        BulkSelection::Matching(filter) => matching_product_ids(app, context, &filter).await?,
    };
    let mut position: Option<Position> = None;
    let mut changed = Vec::new();
    let mut seen = HashSet::new();
    let mut failed = Vec::new();
    for product_id in ids {
        if !seen.insert(product_id) {
            continue;
        }
        let part = part_of(context, &product_id.to_string());
        let set = SetSerialMode {
            serial_mode,
            source: SerialModeSource::BulkEdit,
        };
        match app.commands.set_serial_mode(&part, product_id, set).await {
            Ok(outcome) => {
                position = position.max(outcome.position());
                changed.push(product_id);
            }
            Err(error) => failed.push((product_id, AppError::from(error))),
        }
    }
    app.wait_for(position).await;
    let mut views: HashMap<ProductId, ProductView> =
        catalogue::products_by_ids(&app.db, tenant, &changed)
            .await?
            .into_iter()
            .map(|view| (view.product_id, view))
            .collect();
    let updated = changed
        .iter()
        .filter_map(|product_id| views.remove(product_id))
        .collect();
    Ok(BulkEdit {
        updated,
        failed,
        position,
    })
}

/// The channel of a bulk edit: the one the request names, else BULK_EDIT.
pub fn bulk_edit_channel(named: Option<Channel>) -> Channel {
    named.unwrap_or(Channel::BulkEdit)
}

/// The ids of every product matching `filter`, read a page at a time, before any is
/// changed: changing the serial mode could move products out of a `serialMode` filter
/// while it is being paged.
async fn matching_product_ids(
    app: &Application,
    context: &CommandContext,
    filter: &ProductFilter,
) -> AppResult<Vec<ProductId>> {
    let mut ids = Vec::new();
    let mut page = PageRequest::first(MAX_PAGE_SIZE);
    loop {
        let found = catalogue::products(&app.db, context.tenant_id, filter, &page).await?;
        if ids.len() + found.edges.len() > MAX_BULK_EDIT_SEARCH {
            return Err(AppError::invalid(
                "matching",
                &format!("matches more than {MAX_BULK_EDIT_SEARCH} products: narrow the search"),
            ));
        }
        let next = found.edges.last().map(|edge| edge.cursor.clone());
        ids.extend(found.edges.into_iter().map(|edge| edge.node.product_id));
        match next {
            Some(cursor) if found.has_next_page => page = page.after(cursor),
            _ => break,
        }
    }
    if ids.is_empty() {
        return Err(AppError::invalid("matching", "matches no product"));
    }
    Ok(ids)
}
