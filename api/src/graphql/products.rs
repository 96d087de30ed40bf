//! Products: look up, search (the `products` read model), create, edit, and the bulk
//! "Apply Product Edit Setting" of a serial mode.
//!
//! Reading needs `Read`; creating needs `CreateProducts` (POS/PO quick create, back
//! office); editing and bulk edit need `ManageCatalogue`.

use super::context::{
    after_command, command_context, derived_command_id, new_command_id, page_size, parse_uuid,
    require, state, wait_for_read_models,
};
use super::errors::{ApiError, ApiResult};
use super::types::{Channel, PackageMode, Product, SerialMode, SerialModeSource};
use crate::auth::{Permission, Role};
use crate::commands::NewProduct;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use domain::product::{ChangeProductDetails, SetSerialMode};
use event_schemas::{PackageComponent, PackageComposition, ProductId, TenantId};
use projections::queries::PageRequest;
use projections::queries::products::{self as catalogue, ProductFilter};
use store::Position;

/// A page of products.
pub type ProductConnection = Connection<String, Product>;

/// One component of a package, as given.
#[derive(InputObject)]
pub struct PackageComponentInput {
    /// The component product.
    pub product_id: ID,
    /// Units of it in one package; at least 1.
    pub quantity: u32,
}

/// What a package is made of, as given.
#[derive(InputObject)]
pub struct PackageInput {
    /// Consolidated (the package carries the serial) or exploded (each component does).
    pub mode: PackageMode,
    /// The components, in order.
    pub components: Vec<PackageComponentInput>,
}

impl PackageInput {
    fn composition(self) -> Result<PackageComposition, ApiError> {
        let components = self
            .components
            .into_iter()
            .enumerate()
            .map(|(index, component)| {
                Ok(PackageComponent {
                    product_id: ProductId(parse_uuid(
                        &format!("package.components[{index}].productId"),
                        &component.product_id,
                    )?),
                    quantity: component.quantity,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(PackageComposition {
            mode: self.mode.into(),
            components,
        })
    }
}

/// A product to create.
#[derive(InputObject)]
pub struct CreateProductInput {
    /// The new product's id; a new UUID when not given.
    pub id: Option<ID>,
    /// Stock keeping unit.
    pub sku: String,
    /// Name.
    pub name: String,
    /// The serial mode; DISABLED when not given.
    pub serial_mode: Option<SerialMode>,
    /// Where it is being created; POS_QUICK_CREATE for a pos token, MANUAL otherwise.
    pub source: Option<SerialModeSource>,
    /// The composition, when the product is a package.
    pub package: Option<PackageInput>,
}

/// What a product mutation did.
#[derive(SimpleObject)]
pub struct ProductPayload {
    /// The product as the catalogue shows it after the change (null only if the read
    /// models are still catching up).
    pub product: Option<Product>,
    /// The log position of the last event recorded (an event cursor), or null when
    /// nothing changed.
    pub cursor: Option<String>,
    /// Whether this `commandId` had been applied before and nothing new was recorded.
    pub deduplicated: bool,
}

/// A product the bulk edit could not change.
#[derive(SimpleObject)]
pub struct BulkEditFailure {
    /// The product.
    pub product_id: ID,
    /// The stable error code (`NOT_FOUND`, ...).
    pub code: String,
    /// Why, for the user.
    pub message: String,
}

/// What a bulk edit did.
#[derive(SimpleObject)]
pub struct BulkEditPayload {
    /// The products changed (or already in that mode), as they stand now.
    pub updated: Vec<Product>,
    /// The products that could not be changed, with why.
    pub failed: Vec<BulkEditFailure>,
    /// The log position of the last event recorded, or null when nothing changed.
    pub cursor: Option<String>,
}

/// The most products one bulk edit may change.
pub const MAX_BULK_EDIT: usize = 500;

async fn product_view(
    ctx: &Context<'_>,
    tenant: TenantId,
    product_id: ProductId,
) -> Result<Option<Product>, ApiError> {
    let state = state(ctx)?;
    Ok(catalogue::product_by_id(&state.db, tenant, product_id)
        .await?
        .map(Product::from))
}

/// Product queries.
#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    /// A product by id or by SKU (give one; with both, the product must have both). Null
    /// when this retailer has no such product.
    async fn product(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        sku: Option<String>,
    ) -> ApiResult<Option<Product>> {
        let principal = require(ctx, Permission::Read, "read products")?;
        let state = state(ctx)?;
        let tenant = principal.tenant_id;
        let found = match (id, sku) {
            (Some(id), sku) => {
                let product_id = ProductId(parse_uuid("id", &id)?);
                catalogue::product_by_id(&state.db, tenant, product_id)
                    .await
                    .map_err(ApiError::from)?
                    .filter(|product| sku.as_deref().is_none_or(|sku| product.sku == sku.trim()))
            }
            (None, Some(sku)) => catalogue::products_by_sku(&state.db, tenant, &sku)
                .await
                .map_err(ApiError::from)?
                .into_iter()
                .next(),
            (None, None) => return Err(ApiError::invalid("id", "or sku must be given").into()),
        };
        Ok(found.map(Product::from))
    }

    /// Product search: products whose SKU or name contains `search` (case-insensitive),
    /// optionally of one serial mode, in SKU order.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity + 1")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        serial_mode: Option<SerialMode>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<ProductConnection> {
        let principal = require(ctx, Permission::Read, "read products")?;
        let state = state(ctx)?;
        let filter = ProductFilter {
            search,
            serial_mode: serial_mode.map(Into::into),
        };
        let page = PageRequest {
            first: page_size(first, 50)?,
            after,
        };
        let page = catalogue::products(&state.db, principal.tenant_id, &filter, &page)
            .await
            .map_err(ApiError::from)?;
        // Forward paging only: whether rows come before `after` is not known.
        let mut connection = Connection::new(false, page.has_next_page);
        connection.edges.extend(
            page.edges
                .into_iter()
                .map(|edge| Edge::new(edge.cursor, Product::from(edge.node))),
        );
        Ok(connection)
    }
}

/// Product mutations.
#[derive(Default)]
pub struct ProductMutation;

#[allow(clippy::too_many_arguments)] // GraphQL arguments, each documented in the SDL
#[Object]
impl ProductMutation {
    /// Creates a product or package (back office, POS/PO quick create).
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<ProductPayload> {
        let principal = require(ctx, Permission::CreateProducts, "create products")?;
        let state = state(ctx)?;
        let product_id = match &input.id {
            Some(id) => ProductId(parse_uuid("input.id", id)?),
            None => ProductId::new_v7(),
        };
        let source = input
            .source
            .map(Into::into)
            .unwrap_or(match principal.role {
                Role::Pos => event_schemas::SerialModeSource::PosQuickCreate,
                _ => event_schemas::SerialModeSource::Manual,
            });
        let package = input.package.map(PackageInput::composition).transpose()?;
        let context = command_context(
            ctx,
            principal,
            new_command_id(command_id.as_ref())?,
            channel.map(Into::into),
            None,
        );
        let outcome = state
            .commands
            .create_product(
                &context,
                NewProduct {
                    product_id,
                    sku: input.sku,
                    name: input.name,
                    serial_mode: input.serial_mode.map(Into::into),
                    source,
                    package,
                },
            )
            .await
            .map_err(ApiError::from)?;
        after_command(state, &outcome).await;
        Ok(ProductPayload {
            product: product_view(ctx, principal.tenant_id, product_id).await?,
            cursor: outcome.position().map(|position| position.to_string()),
            deduplicated: outcome.deduplicated(),
        })
    }

    /// Edits a product: its SKU and name, its serial mode (recording `source`, MANUAL when
    /// not given), its package composition. Give at least one.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        sku: Option<String>,
        name: Option<String>,
        serial_mode: Option<SerialMode>,
        source: Option<SerialModeSource>,
        package: Option<PackageInput>,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<ProductPayload> {
        let principal = require(ctx, Permission::ManageCatalogue, "edit products")?;
        let state = state(ctx)?;
        let product_id = ProductId(parse_uuid("id", &id)?);
        if sku.is_none() && name.is_none() && serial_mode.is_none() && package.is_none() {
            return Err(ApiError::invalid(
                "updateProduct",
                "needs at least one of sku, name, serialMode, package",
            )
            .into());
        }
        let package = package.map(PackageInput::composition).transpose()?;
        let base = new_command_id(command_id.as_ref())?;
        let channel = channel.map(Into::into);
        let mut last: Option<Position> = None;
        let mut deduplicated = true;
        if sku.is_some() || name.is_some() {
            let current = state
                .commands
                .load_product(principal.tenant_id, product_id)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(|| {
                    ApiError::not_found(format!("product {product_id} does not exist"))
                })?;
            let context = command_context(
                ctx,
                principal,
                derived_command_id(base, "details"),
                channel,
                None,
            );
            let change = ChangeProductDetails {
                sku: sku.unwrap_or(current.sku),
                name: name.unwrap_or(current.name),
            };
            let outcome = state
                .commands
                .change_product_details(&context, product_id, change)
                .await
                .map_err(ApiError::from)?;
            last = last.max(outcome.position());
            deduplicated &= outcome.deduplicated();
        }
        if let Some(serial_mode) = serial_mode {
            let context = command_context(
                ctx,
                principal,
                derived_command_id(base, "serial-mode"),
                channel,
                None,
            );
            let set = SetSerialMode {
                serial_mode: serial_mode.into(),
                source: source
                    .map(Into::into)
                    .unwrap_or(event_schemas::SerialModeSource::Manual),
            };
            let outcome = state
                .commands
                .set_serial_mode(&context, product_id, set)
                .await
                .map_err(ApiError::from)?;
            last = last.max(outcome.position());
            deduplicated &= outcome.deduplicated();
        }
        if let Some(package) = package {
            let context = command_context(
                ctx,
                principal,
                derived_command_id(base, "package"),
                channel,
                None,
            );
            let outcome = state
                .commands
                .set_package_composition(&context, product_id, package)
                .await
                .map_err(ApiError::from)?;
            last = last.max(outcome.position());
            deduplicated &= outcome.deduplicated();
        }
        wait_for_read_models(state, last).await;
        Ok(ProductPayload {
            product: product_view(ctx, principal.tenant_id, product_id).await?,
            cursor: last.map(|position| position.to_string()),
            deduplicated: deduplicated && last.is_some(),
        })
    }

    /// "Apply Product Edit Setting" from product search results: sets the serial mode of
    /// each product (source BULK_EDIT). Products that cannot be changed are listed in
    /// `failed`; the others are changed.
    async fn apply_product_edit_setting(
        &self,
        ctx: &Context<'_>,
        product_ids: Vec<ID>,
        serial_mode: SerialMode,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<BulkEditPayload> {
        let principal = require(ctx, Permission::ManageCatalogue, "edit products")?;
        let state = state(ctx)?;
        if product_ids.is_empty() || product_ids.len() > MAX_BULK_EDIT {
            return Err(ApiError::invalid(
                "productIds",
                &format!("must list 1 to {MAX_BULK_EDIT} products"),
            )
            .into());
        }
        let ids = product_ids
            .iter()
            .enumerate()
            .map(|(index, id)| parse_uuid(&format!("productIds[{index}]"), id).map(ProductId))
            .collect::<Result<Vec<_>, _>>()?;
        let base = new_command_id(command_id.as_ref())?;
        let channel = channel.map(Into::into);
        let mut last: Option<Position> = None;
        let mut changed = Vec::new();
        let mut failed = Vec::new();
        for product_id in ids {
            if changed.contains(&product_id) {
                continue;
            }
            let context = command_context(
                ctx,
                principal,
                derived_command_id(base, &product_id.to_string()),
                channel,
                None,
            );
            let set = SetSerialMode {
                serial_mode: serial_mode.into(),
                source: event_schemas::SerialModeSource::BulkEdit,
            };
            match state
                .commands
                .set_serial_mode(&context, product_id, set)
                .await
            {
                Ok(outcome) => {
                    last = last.max(outcome.position());
                    changed.push(product_id);
                }
                Err(error) => {
                    let error = ApiError::from(error);
                    failed.push(BulkEditFailure {
                        product_id: ID(product_id.to_string()),
                        code: error.code.to_owned(),
                        message: error.message,
                    });
                }
            }
        }
        wait_for_read_models(state, last).await;
        let mut updated = Vec::with_capacity(changed.len());
        for product_id in changed {
            if let Some(product) = product_view(ctx, principal.tenant_id, product_id).await? {
                updated.push(product);
            }
        }
        Ok(BulkEditPayload {
            updated,
            failed,
            cursor: last.map(|position| position.to_string()),
        })
    }
}
