//! Product search: the catalogue (`rm_products`) as product search and bulk edit read it.
//!
//! One product by id or by SKU, and a keyset-paged list filtered by a search text (a
//! case-insensitive substring of the SKU or the name) and by serial mode, ordered by
//! (SKU, product id), a unique and stable key. Cursors are opaque
//! (hex of `product-v1|sku|product_id`). Every statement is confined to the tenant.

use super::{Edge, Page, PageRequest, QueryError, tenant_param};
use crate::db::ReadDb;
use crate::fetch_all;
use crate::products::{PRODUCTS, ProductRow};
use crate::stored::{self, enum_code};
use event_schemas::{
    PackageComponent, PackageComposition, PackageMode, ProductId, SerialMode, SerialModeSource,
    TenantId,
};
use time::OffsetDateTime;

/// A product as the catalogue shows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductView {
    /// The product.
    pub product_id: ProductId,
    /// Stock keeping unit.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Its serial mode.
    pub serial_mode: SerialMode,
    /// Where the serial mode was last set.
    pub serial_mode_source: SerialModeSource,
    /// The composition, when the product is a package.
    pub package: Option<PackageComposition>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// What the product list shows; `Default` shows every product.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilter {
    /// A case-insensitive substring of the SKU or the name (trimmed; blank means none; at
    /// most [`MAX_SEARCH_LENGTH`](super::MAX_SEARCH_LENGTH) characters, no control
    /// characters).
    pub search: Option<String>,
    /// Only products of this serial mode.
    pub serial_mode: Option<SerialMode>,
}

/// The start of every product query, up to its `WHERE`.
fn select_products(rest: &str) -> String {
    format!("{} {rest}", PRODUCTS.select())
}

const CURSOR_TAG: &str = "product-v1";

impl ProductRow {
    fn cursor(&self) -> String {
        hex::encode(format!("{CURSOR_TAG}|{}|{}", self.sku, self.product_id))
    }

    fn view(self) -> Result<ProductView, QueryError> {
        let package = match (&self.package_mode, &self.components) {
            (Some(mode), Some(components)) => Some(PackageComposition {
                mode: stored::code::<PackageMode>("package_mode", mode)?,
                components: serde_json::from_str::<Vec<PackageComponent>>(components)
                    .map_err(|_| QueryError::stored("components", components))?,
            }),
            _ => None,
        };
        Ok(ProductView {
            product_id: ProductId(stored::uuid("product_id", &self.product_id)?),
            serial_mode: stored::code("serial_mode", &self.serial_mode)?,
            serial_mode_source: stored::code("serial_mode_source", &self.serial_mode_source)?,
            package,
            created_at: stored::time("created_at", self.created_at)?,
            updated_at: stored::time("updated_at", self.updated_at)?,
            sku: self.sku,
            name: self.name,
        })
    }
}

/// Decodes a product-list cursor into (sku, product id).
fn decode_cursor(cursor: &str) -> Result<(String, String), QueryError> {
    let bytes = hex::decode(cursor).map_err(|_| QueryError::InvalidCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| QueryError::InvalidCursor)?;
    let rest = text
        .strip_prefix(CURSOR_TAG)
        .and_then(|rest| rest.strip_prefix('|'))
        .ok_or(QueryError::InvalidCursor)?;
    // The SKU may contain '|'; the product id (a UUID) never does.
    let (sku, product_id) = rest.rsplit_once('|').ok_or(QueryError::InvalidCursor)?;
    let product_id = uuid::Uuid::parse_str(product_id).map_err(|_| QueryError::InvalidCursor)?;
    Ok((sku.to_owned(), product_id.to_string()))
}

/// A product of `tenant` by id; `None` when the tenant has no such product (or the
/// projection has not folded its creation yet).
pub async fn product_by_id(
    db: &ReadDb,
    tenant: TenantId,
    product_id: ProductId,
) -> Result<Option<ProductView>, QueryError> {
    let rows = fetch_all!(
        db,
        ProductRow,
        &select_products("WHERE tenant_id = $1 AND product_id = $2"),
        tenant_param(tenant),
        product_id.to_string(),
    )?;
    rows.into_iter().next().map(ProductRow::view).transpose()
}

/// The products of `tenant` with this SKU (trimmed, exact), in product-id order. SKUs are
/// not unique in the catalogue, so this may be several.
pub async fn products_by_sku(
    db: &ReadDb,
    tenant: TenantId,
    sku: &str,
) -> Result<Vec<ProductView>, QueryError> {
    let sku = sku.trim();
    if sku.is_empty() {
        return Err(QueryError::InvalidFilter {
            field: "sku",
            rule: "must not be blank".to_owned(),
        });
    }
    super::filter_text("sku", sku)?;
    let rows = fetch_all!(
        db,
        ProductRow,
        &select_products("WHERE tenant_id = $1 AND sku = $2 ORDER BY product_id"),
        tenant_param(tenant),
        sku,
    )?;
    rows.into_iter().map(ProductRow::view).collect()
}

/// The products of `tenant` among `ids`, in (SKU, product id) order, read with one
/// statement (the ids travel as one JSON array); ids the tenant has no product for are
/// left out.
pub async fn products_by_ids(
    db: &ReadDb,
    tenant: TenantId,
    ids: &[ProductId],
) -> Result<Vec<ProductView>, QueryError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::Value::from(ids.iter().map(|id| id.to_string()).collect::<Vec<String>>())
        .to_string();
    let rows = match db {
        ReadDb::Sqlite { readers, .. } => {
            sqlx::query_as::<_, ProductRow>(&select_products(
                "WHERE tenant_id = $1 AND product_id IN (SELECT value FROM json_each($2)) \
                 ORDER BY sku, product_id",
            ))
            .bind(tenant_param(tenant))
            .bind(ids)
            .fetch_all(readers)
            .await
        }
        ReadDb::Postgres(pool) => {
            sqlx::query_as::<_, ProductRow>(&select_products(
                "WHERE tenant_id = $1 \
                 AND product_id IN (SELECT jsonb_array_elements_text($2::jsonb)) \
                 ORDER BY sku, product_id",
            ))
            .bind(tenant_param(tenant))
            .bind(ids)
            .fetch_all(pool)
            .await
        }
    }?;
    rows.into_iter().map(ProductRow::view).collect()
}

/// Escapes `LIKE` wildcards, so the search text matches itself (`ESCAPE '\'`).
fn like_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A page of the products of `tenant` matching `filter`, in (SKU, product id) order.
pub async fn products(
    db: &ReadDb,
    tenant: TenantId,
    filter: &ProductFilter,
    page: &PageRequest,
) -> Result<Page<ProductView>, QueryError> {
    let after = page.after.as_deref().map(decode_cursor).transpose()?;
    let (after_sku, after_id) = match after {
        Some((sku, id)) => (Some(sku), Some(id)),
        None => (None, None),
    };
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|search| !search.is_empty());
    if let Some(search) = search {
        super::filter_text("search", search)?;
        if search.chars().count() > super::MAX_SEARCH_LENGTH {
            return Err(QueryError::InvalidFilter {
                field: "search",
                rule: format!(
                    "must be at most {} characters long",
                    super::MAX_SEARCH_LENGTH
                ),
            });
        }
    }
    let search = search.map(like_pattern);
    let rows = fetch_all!(
        db,
        ProductRow,
        &select_products(
            "WHERE tenant_id = $1 \
             AND ($2 IS NULL OR LOWER(sku) LIKE $2 ESCAPE '\\' OR LOWER(name) LIKE $2 ESCAPE '\\') \
             AND ($3 IS NULL OR serial_mode = $3) \
             AND ($4 IS NULL OR (sku, product_id) > ($4, $5)) \
             ORDER BY sku, product_id LIMIT $6"
        ),
        tenant_param(tenant),
        search,
        filter.serial_mode.map(|mode| enum_code(&mode)),
        after_sku,
        after_id,
        page.limit(),
    )?;
    let size = usize::try_from(page.size()).unwrap_or(usize::MAX);
    let has_next_page = rows.len() > size;
    let edges = rows
        .into_iter()
        .take(size)
        .map(|row| {
            Ok(Edge {
                cursor: row.cursor(),
                node: row.view()?,
            })
        })
        .collect::<Result<_, QueryError>>()?;
    Ok(Page {
        edges,
        has_next_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_even_when_the_sku_contains_the_separator() {
        let row_cursor = hex::encode(format!(
            "{CURSOR_TAG}|A|B|{}",
            "0190a000-0000-7000-8000-000000000000"
        ));
        let (sku, id) = decode_cursor(&row_cursor).unwrap();
        assert_eq!(sku, "A|B");
        assert_eq!(id, "0190a000-0000-7000-8000-000000000000");
        assert!(decode_cursor("zz").is_err());
    }

    #[test]
    fn search_wildcards_match_themselves() {
        assert_eq!(like_pattern("50%_Off"), "%50\\%\\_off%");
    }
}
