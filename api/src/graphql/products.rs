//! Products: look up, search (the `products` read model), create, edit, the bulk
//! "Apply Product Edit Setting" of a serial mode (by ids or for a whole search result),
//! and the mass upload CSV (`importProducts`). Each mutation is a thin adapter over
//! [`application::products`] or [`application::catalogue`], which the HTTP routes and
//! the CLI share.
//!
//! Reading needs `Read`; creating needs `CreateProducts` (POS/PO quick create, back
//! office); editing, bulk edit and import need `ManageCatalogue`.

use super::context::{command_context, new_command_id, page_size, parse_uuid, require, state};
use super::errors::ApiResult;
use super::types::{Channel, PackageMode, Product, SerialMode, SerialModeSource};
use application::AppError;
use application::auth::{Permission, Role};
use application::catalogue::{self, ImportRowError};
use application::commands::NewProduct;
use application::products::{self as flows, BulkSelection, ProductEdit};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject, Upload};
use event_schemas::{PackageComponent, PackageComposition, ProductId};
use projections::queries::PageRequest;
use projections::queries::products::{self as products_query, ProductFilter};

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
    fn composition(self) -> Result<PackageComposition, AppError> {
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
            .collect::<Result<_, AppError>>()?;
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
pub const MAX_BULK_EDIT: usize = flows::MAX_BULK_EDIT;

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
                products_query::product_by_id(&state.db, tenant, product_id)
                    .await
                    .map_err(AppError::from)?
                    .filter(|product| sku.as_deref().is_none_or(|sku| product.sku == sku.trim()))
            }
            (None, Some(sku)) => products_query::products_by_sku(&state.db, tenant, &sku)
                .await
                .map_err(AppError::from)?
                .into_iter()
                .next(),
            (None, None) => return Err(AppError::invalid("id", "or sku must be given").into()),
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
        let page = products_query::products(&state.db, principal.tenant_id, &filter, &page)
            .await
            .map_err(AppError::from)?;
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

/// What a product write answers.
fn product_payload(write: flows::ProductWrite) -> ProductPayload {
    ProductPayload {
        product: write.product.map(Product::from),
        cursor: write.position.map(|position| position.to_string()),
        deduplicated: write.deduplicated,
    }
}

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
        let product = NewProduct {
            product_id,
            sku: input.sku,
            name: input.name,
            serial_mode: input.serial_mode.map(Into::into),
            source,
            package,
        };
        Ok(product_payload(
            flows::create(state, &context, product).await?,
        ))
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
        let edit = ProductEdit {
            sku,
            name,
            serial_mode: serial_mode.map(|mode| (mode.into(), source.map(Into::into))),
            package: package.map(PackageInput::composition).transpose()?,
        };
        let context = command_context(
            ctx,
            principal,
            new_command_id(command_id.as_ref())?,
            channel.map(Into::into),
            None,
        );
        Ok(product_payload(
            flows::edit(state, &context, product_id, edit).await?,
        ))
    }

    /// "Apply Product Edit Setting" from product search results: sets the serial mode of
    /// each product (source BULK_EDIT, channel BULK_EDIT unless `channel` says otherwise).
    /// Give either `productIds` (1 to 500 products) or `matching` (the `products` query's
    /// filters: every product in that result set, up to 10,000). Products that cannot be
    /// changed are listed in `failed`; the others are changed.
    async fn apply_product_edit_setting(
        &self,
        ctx: &Context<'_>,
        product_ids: Option<Vec<ID>>,
        matching: Option<ProductSearchInput>,
        serial_mode: SerialMode,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<BulkEditPayload> {
        let principal = require(ctx, Permission::ManageCatalogue, "edit products")?;
        let state = state(ctx)?;
        let selection = match (product_ids, matching) {
            (Some(product_ids), None) => {
                flows::check_bulk_edit_size(product_ids.len())?;
                BulkSelection::Ids(
                    product_ids
                        .iter()
                        .enumerate()
                        .map(|(index, id)| {
                            parse_uuid(&format!("productIds[{index}]"), id).map(ProductId)
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
            (None, Some(matching)) => BulkSelection::Matching(matching.filter()),
            _ => {
                return Err(AppError::invalid(
                    "applyProductEditSetting",
                    "needs exactly one of productIds, matching",
                )
                .into());
            }
        };
        let channel = flows::bulk_edit_channel(channel.map(Into::into));
        let context = command_context(
            ctx,
            principal,
            new_command_id(command_id.as_ref())?,
            Some(channel),
            None,
        );
        let edit =
            flows::set_serial_mode_in_bulk(state, &context, selection, serial_mode.into()).await?;
        Ok(BulkEditPayload {
            updated: edit.updated.into_iter().map(Product::from).collect(),
            failed: edit
                .failed
                .into_iter()
                .map(|(product_id, error)| BulkEditFailure {
                    product_id: ID(product_id.to_string()),
                    code: error.code.as_str().to_owned(),
                    message: error.message,
                })
                .collect(),
            cursor: edit.position.map(|position| position.to_string()),
        })
    }

    /// Product mass upload: creates or edits a product per row of a CSV (columns `SKU`,
    /// `Name`, `Serial Number Option`, `Package Mode`, `Components`; see the README).
    /// The whole file is validated first; in ALL_OR_NOTHING mode nothing is written when
    /// any row is bad (`written` is false and `errors` lists every bad row), in PARTIAL
    /// mode the good rows are written and the bad ones come back in `rejectedCsv`.
    ///
    /// A GraphQL request is limited to 256 KiB, so this suits small files (a few thousand
    /// rows); larger files go to `POST /imports/products` (64 MiB).
    async fn import_products(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        #[graphql(default)] mode: ImportMode,
    ) -> ApiResult<ImportProductsPayload> {
        let principal = require(ctx, Permission::ManageCatalogue, "import products")?;
        let state = state(ctx)?;
        let upload = file
            .value(ctx)
            .map_err(|error| AppError::invalid("file", &format!("cannot be read: {error}")))?;
        let context = command_context(
            ctx,
            principal,
            new_command_id(None)?,
            Some(event_schemas::Channel::Import),
            None,
        );
        let payload = catalogue::import_products_csv(
            state,
            &context,
            upload.content,
            mode.into(),
            &mut |_| {},
        )
        .await?;
        state.wait_for(payload.last_position).await;
        Ok(payload.into())
    }
}

/// Product search filters, as the `products` query takes them.
#[derive(InputObject)]
pub struct ProductSearchInput {
    /// A case-insensitive substring of the SKU or the name.
    pub search: Option<String>,
    /// Only products of this serial mode.
    pub serial_mode: Option<SerialMode>,
}

impl ProductSearchInput {
    fn filter(self) -> ProductFilter {
        ProductFilter {
            search: self.search,
            serial_mode: self.serial_mode.map(Into::into),
        }
    }
}

/// How an upload treats bad rows.
#[derive(Enum, Debug, Default, Copy, Clone, Eq, PartialEq)]
pub enum ImportMode {
    /// Nothing is written unless every row is valid.
    #[default]
    AllOrNothing,
    /// The good rows are written; the bad ones come back as a CSV.
    Partial,
}

impl From<ImportMode> for catalogue::ImportMode {
    fn from(mode: ImportMode) -> Self {
        match mode {
            ImportMode::AllOrNothing => catalogue::ImportMode::AllOrNothing,
            ImportMode::Partial => catalogue::ImportMode::Partial,
        }
    }
}

/// One bad row of an upload.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
#[graphql(name = "ImportRowError")]
pub struct ImportRowErrorView {
    /// The line the record starts on (the header is line 1).
    pub line: u64,
    /// The column, as the header names it; null when the row as a whole is wrong.
    pub column: Option<String>,
    /// Why, for the user.
    pub reason: String,
}

impl From<ImportRowError> for ImportRowErrorView {
    fn from(error: ImportRowError) -> Self {
        Self {
            line: error.line,
            column: error.column,
            reason: error.reason,
        }
    }
}

/// What an upload did.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct ImportProductsPayload {
    /// Product rows read (blank lines and the header not counted).
    pub rows: u64,
    /// Products created.
    pub created: u64,
    /// Products changed.
    pub updated: u64,
    /// Rows equal to their product: nothing recorded.
    pub unchanged: u64,
    /// Rows not written (bad, or refused when written).
    pub rejected: u64,
    /// Whether the good rows were written (false when all-or-nothing found a bad row).
    pub written: bool,
    /// Every bad row, in line order.
    pub errors: Vec<ImportRowErrorView>,
    /// Partial mode: the rejected rows as they were, with `Line` and `Errors` columns;
    /// null when none were rejected or in all-or-nothing mode.
    pub rejected_csv: Option<String>,
    /// The log position of the last event recorded, or null when nothing was.
    pub cursor: Option<String>,
}

impl From<catalogue::ImportProductsPayload> for ImportProductsPayload {
    fn from(payload: catalogue::ImportProductsPayload) -> Self {
        Self {
            rows: payload.rows,
            created: payload.created,
            updated: payload.updated,
            unchanged: payload.unchanged,
            rejected: payload.rejected,
            written: payload.written,
            errors: payload.errors.into_iter().map(Into::into).collect(),
            rejected_csv: payload.rejected_csv,
            cursor: payload.cursor,
        }
    }
}
