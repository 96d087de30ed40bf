//! Products: look up, search (the `products` read model), create, edit, the bulk
//! "Apply Product Edit Setting" of a serial mode (by ids or for a whole search result),
//! and the mass upload CSV (`importProducts`). [`mass_upload`] holds the CSV import and
//! export the HTTP routes and the CLI share.
//!
//! Reading needs `Read`; creating needs `CreateProducts` (POS/PO quick create, back
//! office); editing, bulk edit and import need `ManageCatalogue`.

use super::context::{
    after_command, command_context, derived_command_id, new_command_id, page_size, parse_uuid,
    require, state, wait_for_read_models,
};
use super::errors::{ApiError, ApiResult};
use super::types::{Channel, PackageMode, Product, SerialMode, SerialModeSource};
use crate::auth::{Permission, Role};
use crate::commands::NewProduct;
use crate::state::AppState;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};
use domain::product::{ChangeProductDetails, SetSerialMode};
use event_schemas::{PackageComponent, PackageComposition, ProductId, TenantId};
use projections::queries::products::{self as catalogue, ProductFilter};
use projections::queries::{MAX_PAGE_SIZE, PageRequest};
use std::collections::HashSet;
use store::Position;

pub use mass_upload::{ImportMode, ImportProductsPayload};

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
        let details = if sku.is_some() || name.is_some() {
            let current = state
                .commands
                .load_product(principal.tenant_id, product_id)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(|| {
                    ApiError::not_found(format!("product {product_id} does not exist"))
                })?;
            Some(ChangeProductDetails {
                sku: sku.unwrap_or(current.sku),
                name: name.unwrap_or(current.name),
            })
        } else {
            None
        };
        let set_mode = serial_mode.map(|serial_mode| SetSerialMode {
            serial_mode: serial_mode.into(),
            source: source
                .map(Into::into)
                .unwrap_or(event_schemas::SerialModeSource::Manual),
        });
        // Each part is its own command: refuse the edit before writing any part of it.
        state
            .commands
            .check_product_edit(
                principal.tenant_id,
                product_id,
                details.clone(),
                set_mode,
                package.as_ref(),
            )
            .await
            .map_err(ApiError::from)?;
        if let Some(change) = details {
            let context = command_context(
                ctx,
                principal,
                derived_command_id(base, "details"),
                channel,
                None,
            );
            let outcome = state
                .commands
                .change_product_details(&context, product_id, change)
                .await
                .map_err(ApiError::from)?;
            last = last.max(outcome.position());
            deduplicated &= outcome.deduplicated();
        }
        if let Some(set) = set_mode {
            let context = command_context(
                ctx,
                principal,
                derived_command_id(base, "serial-mode"),
                channel,
                None,
            );
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
        let ids = match (product_ids, matching) {
            (Some(product_ids), None) => {
                if product_ids.is_empty() || product_ids.len() > MAX_BULK_EDIT {
                    return Err(ApiError::invalid(
                        "productIds",
                        &format!("must list 1 to {MAX_BULK_EDIT} products"),
                    )
                    .into());
                }
                product_ids
                    .iter()
                    .enumerate()
                    .map(|(index, id)| {
                        parse_uuid(&format!("productIds[{index}]"), id).map(ProductId)
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            (None, Some(matching)) => {
                matching_product_ids(state, principal.tenant_id, &matching.filter()).await?
            }
            _ => {
                return Err(ApiError::invalid(
                    "applyProductEditSetting",
                    "needs exactly one of productIds, matching",
                )
                .into());
            }
        };
        let base = new_command_id(command_id.as_ref())?;
        let channel = Some(channel.map_or(event_schemas::Channel::BulkEdit, Into::into));
        let mut last: Option<Position> = None;
        let mut changed = Vec::new();
        let mut seen = HashSet::new();
        let mut failed = Vec::new();
        for product_id in ids {
            if !seen.insert(product_id) {
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
            .map_err(|error| ApiError::invalid("file", &format!("cannot be read: {error}")))?;
        let context = command_context(
            ctx,
            principal,
            new_command_id(None)?,
            Some(event_schemas::Channel::Import),
            None,
        );
        let payload =
            mass_upload::import_products_csv(state, &context, upload.content, mode, &mut |_| {})
                .await
                .map_err(ApiError::from)?;
        wait_for_read_models(state, payload.last_position).await;
        Ok(payload)
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

/// The most products one bulk edit from a search may change; a larger result set is
/// refused so the user narrows the search (each product is one command and one event).
pub const MAX_BULK_EDIT_SEARCH: usize = 10_000;

/// The ids of every product matching `filter`, read a page at a time, before any is
/// changed: changing the serial mode could move products out of a `serialMode` filter
/// while it is being paged.
async fn matching_product_ids(
    state: &AppState,
    tenant: TenantId,
    filter: &ProductFilter,
) -> Result<Vec<ProductId>, ApiError> {
    let mut ids = Vec::new();
    let mut page = PageRequest::first(MAX_PAGE_SIZE);
    loop {
        let found = catalogue::products(&state.db, tenant, filter, &page).await?;
        if ids.len() + found.edges.len() > MAX_BULK_EDIT_SEARCH {
            return Err(ApiError::invalid(
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
        return Err(ApiError::invalid("matching", "matches no product"));
    }
    Ok(ids)
}

/// The product mass upload/download CSV against the catalogue and the command service:
/// shared by `importProducts`, the HTTP routes (`GET /exports/products.csv`,
/// `POST /imports/products`) and the CLI (`serial-ledger products import|export`). The
/// file format itself is [`files::products_csv`].
///
/// # Import, in two passes over the file
///
/// 1. **Validate.** Every record is parsed and checked against the file so far and an
///    index of the catalogue (SKU → id, name, mode and package of each product, built by
///    paging the `products` read model). Rows are streamed: what stays in memory is the
///    index, the file's SKUs, and the errors.
/// 2. **Write**, only when no row is bad or in partial mode: the file is read again and each
///    good row is compared with the index. A new SKU is created (source CSV_MASS_UPLOAD),
///    an existing one gets only the commands for what differs (details, serial mode,
///    package); a row equal to the product is counted as unchanged and records nothing, so
///    uploading the same file again is a no-op. A package naming a component created by a
///    later row is created first and given its package at the end.
///
/// Writes are one command per product, not one transaction: a refusal at write time (a
/// package cycle through other packages, a concurrent change) is reported with its line
/// and the other rows are still written.
pub mod mass_upload {
    use crate::commands::{CommandContext, CommandError, CommandOutcome, NewProduct};
    use crate::graphql::context::derived_command_id;
    use crate::graphql::errors::ApiError;
    use crate::state::AppState;
    use async_graphql::{Enum, SimpleObject};
    use domain::product::{ChangeProductDetails, SetSerialMode};
    use event_schemas::{
        PackageComponent, PackageComposition, ProductId, SerialMode, SerialModeSource, TenantId,
    };
    use files::products_csv::{
        ByteRecord, CsvRow, FileValidator, PackageRecord, ProductCsvReader, ProductCsvWriter,
        ProductRecord, ProductsCsvError, RejectedCsv, RowError, SkuMatch, UnknownComponent,
        raw_sku,
    };
    use futures::{Stream, StreamExt};
    use projections::db::ReadDb;
    use projections::queries::products::{self as catalogue, ProductFilter};
    use projections::queries::{MAX_PAGE_SIZE, PageRequest, QueryError};
    use serde::{Deserialize, Serialize};
    use std::collections::{BTreeMap, HashMap, HashSet};
    use std::io::{Read, Seek, SeekFrom};
    use store::Position;

    /// How an upload treats bad rows.
    #[derive(Enum, Debug, Default, Copy, Clone, Eq, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum ImportMode {
        /// Nothing is written unless every row is valid.
        #[default]
        AllOrNothing,
        /// The good rows are written; the bad ones come back as a CSV.
        Partial,
    }

    /// One bad row of an upload.
    #[derive(SimpleObject, Serialize, Debug, Clone, PartialEq, Eq)]
    pub struct ImportRowError {
        /// The line the record starts on (the header is line 1).
        pub line: u64,
        /// The column, as the header names it; null when the row as a whole is wrong.
        pub column: Option<String>,
        /// Why, for the user.
        pub reason: String,
    }

    impl From<RowError> for ImportRowError {
        fn from(error: RowError) -> Self {
            Self {
                line: error.line,
                column: error.column,
                reason: error.reason,
            }
        }
    }

    /// What an upload did.
    #[derive(SimpleObject, Serialize, Debug, Clone, Default)]
    #[serde(rename_all = "camelCase")]
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
        pub errors: Vec<ImportRowError>,
        /// Partial mode: the rejected rows as they were, with `Line` and `Errors` columns;
        /// null when none were rejected or in all-or-nothing mode.
        pub rejected_csv: Option<String>,
        /// The log position of the last event recorded, or null when nothing was.
        pub cursor: Option<String>,
        /// The position itself, for waiting on the read models.
        #[graphql(skip)]
        #[serde(skip)]
        pub last_position: Option<Position>,
    }

    /// Where an import has got to, for progress bars.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ImportProgress {
        /// Pass 1: rows validated so far.
        Validated(u64),
        /// Pass 2: rows written (or skipped) so far.
        Written(u64),
    }

    /// How often progress is reported, in rows.
    pub const PROGRESS_EVERY: u64 = 1_000;

    /// Why an import or export could not run at all (bad rows are not errors: they are
    /// reported in the payload).
    #[derive(Debug, thiserror::Error)]
    pub enum MassUploadError {
        /// The file's header is wrong or the file cannot be read. `VALIDATION`.
        #[error(transparent)]
        File(#[from] ProductsCsvError),
        /// Reading the catalogue failed. Its own code (`INTERNAL`, `UNAVAILABLE`).
        #[error(transparent)]
        Query(#[from] QueryError),
        /// Rewinding the upload for the second pass failed. `INTERNAL`.
        #[error("cannot read the upload again: {0}")]
        Io(#[from] std::io::Error),
        /// An exported package names a product that is not in the catalogue. `INTERNAL`.
        #[error(transparent)]
        UnknownComponent(#[from] UnknownComponent),
    }

    impl MassUploadError {
        /// The stable API code.
        pub fn code(&self) -> &'static str {
            match self {
                // Reading the upload fails only on what it holds (the bytes are in memory
                // or a temporary file the server wrote).
                MassUploadError::File(ProductsCsvError::Header(_) | ProductsCsvError::Csv(_)) => {
                    "VALIDATION"
                }
                MassUploadError::Query(error) => error.code(),
                _ => "INTERNAL",
            }
        }
    }

    impl From<MassUploadError> for ApiError {
        fn from(error: MassUploadError) -> Self {
            match error {
                MassUploadError::Query(error) => error.into(),
                error if error.code() == "VALIDATION" => {
                    ApiError::new("VALIDATION", error.to_string())
                }
                error => ApiError::internal(&error),
            }
        }
    }

    /// A catalogue product, as much of it as an import compares.
    #[derive(Debug, Clone)]
    struct Known {
        product_id: ProductId,
        name: String,
        serial_mode: SerialMode,
        package: Option<PackageComposition>,
    }

    #[derive(Debug, Clone)]
    enum Entry {
        One(Known),
        Many(usize),
    }

    /// Every product of `tenant` by SKU, read a page at a time.
    async fn catalogue_index(
        db: &ReadDb,
        tenant: TenantId,
    ) -> Result<HashMap<String, Entry>, QueryError> {
        let mut index: HashMap<String, Entry> = HashMap::new();
        let mut page = PageRequest::first(MAX_PAGE_SIZE);
        loop {
            let found = catalogue::products(db, tenant, &ProductFilter::default(), &page).await?;
            let next = found.edges.last().map(|edge| edge.cursor.clone());
            for edge in found.edges {
                let view = edge.node;
                let known = Known {
                    product_id: view.product_id,
                    name: view.name,
                    serial_mode: view.serial_mode,
                    package: view.package,
                };
                index
                    .entry(view.sku)
                    .and_modify(|entry| {
                        *entry = match entry {
                            Entry::One(_) => Entry::Many(2),
                            Entry::Many(count) => Entry::Many(*count + 1),
                        }
                    })
                    .or_insert(Entry::One(known));
            }
            match next {
                Some(cursor) if found.has_next_page => page = page.after(cursor),
                _ => return Ok(index),
            }
        }
    }

    fn sku_match(index: &HashMap<String, Entry>, sku: &str) -> SkuMatch {
        match index.get(sku) {
            None => SkuMatch::None,
            Some(Entry::One(_)) => SkuMatch::One,
            Some(Entry::Many(count)) => SkuMatch::Many(*count),
        }
    }

    /// Imports a product CSV as `context` (its channel and actor go on every event; each
    /// command gets an id derived from `context`'s command id and the line). See the
    /// module docs for the passes; `progress` is called every [`PROGRESS_EVERY`] rows.
    pub async fn import_products_csv<R: Read + Seek + Send>(
        state: &AppState,
        context: &CommandContext,
        mut input: R,
        mode: ImportMode,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> Result<ImportProductsPayload, MassUploadError> {
        let mut index = catalogue_index(&state.db, context.tenant_id).await?;
        let mut payload = ImportProductsPayload::default();
        // Pass 1: validate everything, keeping the SKUs and the errors.
        let mut errors: BTreeMap<u64, Vec<RowError>> = BTreeMap::new();
        {
            let mut reader = ProductCsvReader::new(&mut input)?;
            let mut validator = FileValidator::new();
            let lookup = |sku: &str| sku_match(&index, sku);
            while let Some(row) = reader.next() {
                let row = row?;
                payload.rows += 1;
                let row_errors = match &row.record {
                    Err(row_errors) => {
                        validator.note_bad_row(row.line, raw_sku(&reader, &row.raw));
                        row_errors.clone()
                    }
                    Ok(record) => validator.check(row.line, record, &lookup),
                };
                if !row_errors.is_empty() {
                    errors.entry(row.line).or_default().extend(row_errors);
                }
                if payload.rows.is_multiple_of(PROGRESS_EVERY) {
                    progress(ImportProgress::Validated(payload.rows));
                    // Parsing is CPU work: let other tasks of the runtime run.
                    tokio::task::yield_now().await;
                }
            }
            for error in validator.finish() {
                errors.entry(error.line).or_default().push(error);
            }
            progress(ImportProgress::Validated(payload.rows));
        }
        let flat = |errors: &BTreeMap<u64, Vec<RowError>>| {
            errors
                .values()
                .flatten()
                .cloned()
                .map(ImportRowError::from)
                .collect::<Vec<_>>()
        };
        if !errors.is_empty() && mode == ImportMode::AllOrNothing {
            payload.rejected = errors.len() as u64;
            payload.errors = flat(&errors);
            return Ok(payload);
        }
        // Pass 2: write the good rows.
        payload.written = true;
        input.seek(SeekFrom::Start(0))?;
        let reader = ProductCsvReader::new(&mut input)?;
        let mut rejected = match mode {
            ImportMode::Partial => Some(RejectedCsv::new(Vec::new(), reader.headers())?),
            ImportMode::AllOrNothing => None,
        };
        let mut writer = Writer {
            state,
            context,
            index: &mut index,
            last: None,
            deferred: Vec::new(),
        };
        let mut done = 0_u64;
        let mut batch: Vec<(u64, ProductRecord, ByteRecord)> = Vec::new();
        let mut tally = Tally {
            payload: &mut payload,
            errors: &mut errors,
            rejected: rejected.as_mut(),
        };
        for row in reader {
            let CsvRow { line, record, raw } = row?;
            done += 1;
            match (tally.errors.contains_key(&line), record) {
                // A plain row touches one product of its own: batched, written concurrently.
                (false, Ok(record)) if record.package.is_none() => {
                    batch.push((line, record, raw));
                    if batch.len() >= BATCH {
                        writer.write_batch(&mut batch, &mut tally).await?;
                    }
                }
                // A package may name products created by earlier rows: the batch goes
                // first, and the package row on its own.
                (false, Ok(record)) => {
                    writer.write_batch(&mut batch, &mut tally).await?;
                    let outcome = writer.apply(line, record).await;
                    tally.settle(line, &raw, outcome)?;
                }
                _ => tally.settle(line, &raw, Err(Vec::new()))?,
            }
            if done.is_multiple_of(PROGRESS_EVERY) {
                progress(ImportProgress::Written(done));
            }
        }
        writer.write_batch(&mut batch, &mut tally).await?;
        // Packages whose components were created by later rows.
        for (line, product_id, package) in std::mem::take(&mut writer.deferred) {
            if let Err(error) = writer.set_package(line, product_id, &package).await {
                errors.entry(line).or_default().push(error);
            }
        }
        progress(ImportProgress::Written(done));
        payload.last_position = writer.last;
        payload.cursor = writer.last.map(|position| position.to_string());
        payload.rejected = errors.len() as u64;
        payload.errors = flat(&errors);
        if let Some(rejected) = rejected.filter(|_| payload.rejected > 0) {
            let bytes = rejected.finish()?;
            payload.rejected_csv = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        Ok(payload)
    }

    enum Applied {
        Created,
        Updated,
        Unchanged,
    }

    /// Plain rows written together; each batch's commands run [`CONCURRENT_WRITES`] at a
    /// time. Rows of a batch have distinct SKUs (duplicates are refused in pass 1), so
    /// they never touch the same stream.
    const BATCH: usize = 256;
    /// Commands in flight at once while writing a batch.
    const CONCURRENT_WRITES: usize = 8;

    /// Pass 2's counts, errors and rejected rows.
    struct Tally<'a> {
        payload: &'a mut ImportProductsPayload,
        errors: &'a mut BTreeMap<u64, Vec<RowError>>,
        rejected: Option<&'a mut RejectedCsv<Vec<u8>>>,
    }

    impl Tally<'_> {
        /// Counts a row written, or records why it was not (and rejects it).
        fn settle(
            &mut self,
            line: u64,
            raw: &ByteRecord,
            outcome: Result<Applied, Vec<RowError>>,
        ) -> Result<(), ProductsCsvError> {
            match outcome {
                Ok(Applied::Created) => self.payload.created += 1,
                Ok(Applied::Updated) => self.payload.updated += 1,
                Ok(Applied::Unchanged) => self.payload.unchanged += 1,
                Err(refused) => {
                    let row_errors = self.errors.entry(line).or_default();
                    row_errors.extend(refused);
                    if let Some(rejected) = self.rejected.as_deref_mut() {
                        rejected.write(line, raw, row_errors)?;
                    }
                }
            }
            Ok(())
        }
    }

    /// What a plain row needs done.
    enum Plan {
        Unchanged,
        Refused(Vec<RowError>),
        Create(NewProduct),
        Edit {
            product_id: ProductId,
            details: Option<ChangeProductDetails>,
            serial_mode: Option<SetSerialMode>,
        },
    }

    /// Carries out a plan with contexts made by `context(part)`.
    async fn execute(
        state: &AppState,
        context: impl Fn(&str) -> CommandContext,
        line: u64,
        plan: Plan,
    ) -> (Result<Applied, Vec<RowError>>, Option<Position>) {
        let refused = |error: CommandError| vec![refusal(line, error)];
        match plan {
            Plan::Unchanged => (Ok(Applied::Unchanged), None),
            Plan::Refused(errors) => (Err(errors), None),
            Plan::Create(product) => {
                match state
                    .commands
                    .create_product(&context("create"), product)
                    .await
                {
                    Ok(outcome) => (Ok(Applied::Created), outcome.position()),
                    Err(error) => (Err(refused(error)), None),
                }
            }
            Plan::Edit {
                product_id,
                details,
                serial_mode,
            } => {
                let mut last = None;
                if let Some(change) = details {
                    match state
                        .commands
                        .change_product_details(&context("details"), product_id, change)
                        .await
                    {
                        Ok(outcome) => last = last.max(outcome.position()),
                        Err(error) => return (Err(refused(error)), last),
                    }
                }
                if let Some(set) = serial_mode {
                    match state
                        .commands
                        .set_serial_mode(&context("serial-mode"), product_id, set)
                        .await
                    {
                        Ok(outcome) => last = last.max(outcome.position()),
                        Err(error) => return (Err(refused(error)), last),
                    }
                }
                (Ok(Applied::Updated), last)
            }
        }
    }

    /// Pass 2's state: the index (updated with each product created), the last position,
    /// and the packages waiting for components created by later rows.
    struct Writer<'a> {
        state: &'a AppState,
        context: &'a CommandContext,
        index: &'a mut HashMap<String, Entry>,
        last: Option<Position>,
        deferred: Vec<(u64, ProductId, PackageRecord)>,
    }

    /// The context of the command `part` of the row at `line`: the import's, with a
    /// command id derived from the import's and the line.
    fn row_context(base: &CommandContext, line: u64, part: &str) -> CommandContext {
        let mut context = base.clone();
        context.metadata.command_id =
            derived_command_id(base.metadata.command_id, &format!("{line}/{part}"));
        context
    }

    impl Writer<'_> {
        fn context(&self, line: u64, part: &str) -> CommandContext {
            row_context(self.context, line, part)
        }

        /// What a plain row (no package) needs done, against the index.
        fn plan(&self, line: u64, record: ProductRecord) -> Plan {
            match self.index.get(&record.sku) {
                None => Plan::Create(NewProduct {
                    product_id: ProductId::new_v7(),
                    sku: record.sku,
                    name: record.name.unwrap_or_default(),
                    serial_mode: Some(record.serial_mode.unwrap_or_default()),
                    source: SerialModeSource::CsvMassUpload,
                    package: None,
                }),
                Some(Entry::Many(count)) => Plan::Refused(vec![RowError {
                    line,
                    column: Some(files::products_csv::SKU.to_owned()),
                    reason: format!("{} is the SKU of {count} products", record.sku),
                }]),
                Some(Entry::One(known)) => {
                    let details = record.name.filter(|name| *name != known.name).map(|name| {
                        ChangeProductDetails {
                            sku: record.sku.clone(),
                            name,
                        }
                    });
                    let serial_mode = record
                        .serial_mode
                        .filter(|mode| *mode != known.serial_mode)
                        .map(|serial_mode| SetSerialMode {
                            serial_mode,
                            source: SerialModeSource::CsvMassUpload,
                        });
                    if details.is_none() && serial_mode.is_none() {
                        Plan::Unchanged
                    } else {
                        Plan::Edit {
                            product_id: known.product_id,
                            details,
                            serial_mode,
                        }
                    }
                }
            }
        }

        /// Writes a batch of plain rows, [`CONCURRENT_WRITES`] commands at a time, and
        /// empties it.
        async fn write_batch(
            &mut self,
            batch: &mut Vec<(u64, ProductRecord, ByteRecord)>,
            tally: &mut Tally<'_>,
        ) -> Result<(), ProductsCsvError> {
            if batch.is_empty() {
                return Ok(());
            }
            let rows: Vec<(u64, Plan, ByteRecord)> = batch
                .drain(..)
                .map(|(line, record, raw)| (line, self.plan(line, record), raw))
                .collect();
            // What the index learns from each creation, known before the plans move.
            let created: Vec<Option<(String, Known)>> = rows
                .iter()
                .map(|(_, plan, _)| match plan {
                    Plan::Create(product) => Some((
                        product.sku.clone(),
                        Known {
                            product_id: product.product_id,
                            name: product.name.clone(),
                            serial_mode: product.serial_mode.unwrap_or_default(),
                            package: None,
                        },
                    )),
                    _ => None,
                })
                .collect();
            let (state, base) = (self.state, self.context);
            let mut raws = Vec::with_capacity(rows.len());
            let work: Vec<_> = rows
                .into_iter()
                .map(|(line, plan, raw)| {
                    raws.push((line, raw));
                    execute(state, move |part| row_context(base, line, part), line, plan)
                })
                .collect();
            let outcomes: Vec<_> = futures::stream::iter(work)
                .buffered(CONCURRENT_WRITES)
                .collect()
                .await;
            for (((line, raw), (outcome, position)), created) in
                raws.into_iter().zip(outcomes).zip(created)
            {
                self.last = self.last.max(position);
                if let (Ok(Applied::Created), Some((sku, known))) = (&outcome, created) {
                    self.index.insert(sku, Entry::One(known));
                }
                tally.settle(line, &raw, outcome)?;
            }
            Ok(())
        }

        fn record(&mut self, outcome: &CommandOutcome) {
            self.last = self.last.max(outcome.position());
        }

        /// The package with components as ids, or `None` while a component is not yet
        /// a product (a later row creates it).
        fn resolve(&self, package: &PackageRecord) -> Option<PackageComposition> {
            let components = package
                .components
                .iter()
                .map(|component| match self.index.get(&component.sku) {
                    Some(Entry::One(known)) => Some(PackageComponent {
                        product_id: known.product_id,
                        quantity: component.quantity,
                    }),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            Some(PackageComposition {
                mode: package.mode,
                components,
            })
        }

        async fn apply(
            &mut self,
            line: u64,
            record: ProductRecord,
        ) -> Result<Applied, Vec<RowError>> {
            let refused = |error: CommandError| vec![refusal(line, error)];
            match self.index.get(&record.sku).cloned() {
                None => {
                    let product_id = ProductId::new_v7();
                    let (package, deferred) = match &record.package {
                        None => (None, false),
                        Some(package) => match self.resolve(package) {
                            Some(composition) => (Some(composition), false),
                            None => (None, true),
                        },
                    };
                    let name = record.name.clone().unwrap_or_default();
                    let serial_mode = record.serial_mode.unwrap_or_default();
                    let outcome = self
                        .state
                        .commands
                        .create_product(
                            &self.context(line, "create"),
                            NewProduct {
                                product_id,
                                sku: record.sku.clone(),
                                name: name.clone(),
                                serial_mode: Some(serial_mode),
                                source: SerialModeSource::CsvMassUpload,
                                package: package.clone(),
                            },
                        )
                        .await
                        .map_err(refused)?;
                    self.record(&outcome);
                    if deferred && let Some(package) = record.package {
                        self.deferred.push((line, product_id, package));
                    }
                    self.index.insert(
                        record.sku,
                        Entry::One(Known {
                            product_id,
                            name,
                            serial_mode,
                            package,
                        }),
                    );
                    Ok(Applied::Created)
                }
                Some(Entry::Many(count)) => Err(vec![RowError {
                    line,
                    column: Some(files::products_csv::SKU.to_owned()),
                    reason: format!("{} is the SKU of {count} products", record.sku),
                }]),
                Some(Entry::One(known)) => {
                    let mut changed = false;
                    if let Some(name) = record.name.filter(|name| *name != known.name) {
                        let change = ChangeProductDetails {
                            sku: record.sku.clone(),
                            name,
                        };
                        let outcome = self
                            .state
                            .commands
                            .change_product_details(
                                &self.context(line, "details"),
                                known.product_id,
                                change,
                            )
                            .await
                            .map_err(refused)?;
                        self.record(&outcome);
                        changed = true;
                    }
                    if let Some(serial_mode) =
                        record.serial_mode.filter(|mode| *mode != known.serial_mode)
                    {
                        let set = SetSerialMode {
                            serial_mode,
                            source: SerialModeSource::CsvMassUpload,
                        };
                        let outcome = self
                            .state
                            .commands
                            .set_serial_mode(
                                &self.context(line, "serial-mode"),
                                known.product_id,
                                set,
                            )
                            .await
                            .map_err(refused)?;
                        self.record(&outcome);
                        changed = true;
                    }
                    if let Some(package) = record.package {
                        match self.resolve(&package) {
                            Some(composition) if known.package.as_ref() == Some(&composition) => {}
                            Some(_) => {
                                self.set_package(line, known.product_id, &package)
                                    .await
                                    .map_err(|error| vec![error])?;
                                changed = true;
                            }
                            None => {
                                self.deferred.push((line, known.product_id, package));
                                changed = true;
                            }
                        }
                    }
                    Ok(if changed {
                        Applied::Updated
                    } else {
                        Applied::Unchanged
                    })
                }
            }
        }

        async fn set_package(
            &mut self,
            line: u64,
            product_id: ProductId,
            package: &PackageRecord,
        ) -> Result<(), RowError> {
            let composition = self.resolve(package).ok_or_else(|| RowError {
                line,
                column: Some(files::products_csv::COMPONENTS.to_owned()),
                reason: "a component was not created (its row was rejected)".to_owned(),
            })?;
            let outcome = self
                .state
                .commands
                .set_package_composition(&self.context(line, "package"), product_id, composition)
                .await
                .map_err(|error| refusal(line, error))?;
            self.record(&outcome);
            Ok(())
        }
    }

    /// A command refused while writing a row, as a row error (internal details logged).
    fn refusal(line: u64, error: CommandError) -> RowError {
        let error = ApiError::from(error);
        RowError {
            line,
            column: None,
            reason: format!("{} ({})", error.message, error.code),
        }
    }

    /// The products of `tenant` matching `filter` as the CSV, in SKU order: the header,
    /// then one chunk per page of [`MAX_PAGE_SIZE`] products. A package's components are
    /// named by SKU, looked up (and remembered) as they are met.
    pub fn products_csv_stream(
        db: ReadDb,
        tenant: TenantId,
        filter: ProductFilter,
    ) -> impl Stream<Item = Result<Vec<u8>, MassUploadError>> + Send + 'static {
        struct Cursor {
            db: ReadDb,
            tenant: TenantId,
            filter: ProductFilter,
            page: Option<PageRequest>,
            writer: Option<ProductCsvWriter<Vec<u8>>>,
            skus: HashMap<ProductId, String>,
        }
        let start = Cursor {
            db,
            tenant,
            filter,
            page: Some(PageRequest::first(MAX_PAGE_SIZE)),
            writer: None,
            skus: HashMap::new(),
        };
        futures::stream::try_unfold(start, |mut cursor| async move {
            let Some(page) = cursor.page.take() else {
                return Ok(None);
            };
            let mut writer = match cursor.writer.take() {
                Some(writer) => writer,
                None => ProductCsvWriter::new(Vec::new())?,
            };
            let found =
                catalogue::products(&cursor.db, cursor.tenant, &cursor.filter, &page).await?;
            let wanted: HashSet<ProductId> = found
                .edges
                .iter()
                .filter_map(|edge| edge.node.package.as_ref())
                .flat_map(|package| package.components.iter().map(|c| c.product_id))
                .filter(|id| !cursor.skus.contains_key(id))
                .collect();
            for product_id in wanted {
                if let Some(product) =
                    catalogue::product_by_id(&cursor.db, cursor.tenant, product_id).await?
                {
                    cursor.skus.insert(product_id, product.sku);
                }
            }
            for edge in &found.edges {
                let record =
                    ProductRecord::from_view(&edge.node, |id| cursor.skus.get(&id).cloned())?;
                writer.write(&record)?;
            }
            let chunk = writer.take_written()?;
            if found.has_next_page
                && let Some(last) = found.edges.last()
            {
                cursor.page = Some(page.after(last.cursor.clone()));
            }
            cursor.writer = Some(writer);
            Ok(Some((chunk, cursor)))
        })
    }
}
