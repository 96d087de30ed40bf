//! The product aggregate: a product's details, serial mode and package composition, one
//! product per stream (`product-{id}`).
//!
//! - The serial mode is REQUIRED, OPTIONAL or DISABLED. A product created without a mode is
//!   DISABLED; products recorded before the feature decode as DISABLED (see
//!   [`event_schemas::SerialMode`]).
//! - Every place that sets the mode is a [`SerialModeSource`] carried by the command and
//!   recorded in the event: manual create/edit, CSV mass upload, bulk edit ("Apply Product
//!   Edit Setting" on search results), POS quick create, PO quick create, API.
//! - A package is CONSOLIDATED or EXPLODED, with components and quantities. A package cannot
//!   contain itself, directly or through another package: the command carries the
//!   [`PackageGraph`] of every package reachable from the new components, so the check is
//!   pure.
//! - Setting a value a product already has records nothing.
//!
//! Changing a product's mode never touches sales already under way: a sale line keeps the
//! mode it was added with (see [`crate::sale`]). What a sale needs of a product travels in a
//! [`ProductSnapshot`], built by [`Product::snapshot`].

use crate::Decider;
use crate::validation::{self, FieldRule, InvalidField};
use event_schemas::{
    LedgerEvent, PackageComponent, PackageComposition, PackageCompositionChanged, PackageMode,
    ProductCreated, ProductDetailsChanged, ProductId, SerialMode, SerialModeChanged,
    SerialModeSource,
};
use std::collections::{BTreeMap, BTreeSet};

/// The most characters in a SKU.
pub const MAX_SKU_LENGTH: usize = 64;
/// The most characters in a product name.
pub const MAX_PRODUCT_NAME_LENGTH: usize = 200;
/// The most units of one component in one package.
pub const MAX_COMPONENT_QUANTITY: u32 = 10_000;

/// A product as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// The product.
    pub product_id: ProductId,
    /// Stock keeping unit.
    pub sku: String,
    /// Name.
    pub name: String,
    /// The serial mode new sale lines of this product get.
    pub serial_mode: SerialMode,
    /// Where the mode was last set.
    pub serial_mode_source: SerialModeSource,
    /// Present when the product is a package.
    pub package: Option<PackageComposition>,
}

/// For every package reachable from a package's candidate components, the ids of its own
/// components. Products absent from the map are not packages. The command service loads it.
pub type PackageGraph = BTreeMap<ProductId, Vec<ProductId>>;

/// What a sale needs to know of a product when a line is added: a copy of the product as it
/// stands, with each component's own snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSnapshot {
    /// The product.
    pub product_id: ProductId,
    /// Its SKU.
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Its serial mode now.
    pub serial_mode: SerialMode,
    /// Present when the product is a package.
    pub package: Option<PackageSnapshot>,
}

/// A package's mode and its components, each as a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSnapshot {
    /// Consolidated or exploded.
    pub mode: PackageMode,
    /// The components in package order.
    pub components: Vec<ComponentSnapshot>,
}

/// One component of a package snapshot.
///
/// A component that is itself a package is sold as one component line under its own serial
/// mode; it is not expanded further, so its snapshot's `package` is not used by sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentSnapshot {
    /// The component product.
    pub product: ProductSnapshot,
    /// Units of it in one package.
    pub quantity: u32,
}

impl Product {
    /// This product as a sale needs it. A package's components are looked up in
    /// `products` (components' own packages are not expanded).
    pub fn snapshot(
        &self,
        products: &BTreeMap<ProductId, Product>,
    ) -> Result<ProductSnapshot, ProductError> {
        let package = match &self.package {
            None => None,
            Some(composition) => {
                let components = composition
                    .components
                    .iter()
                    .map(|component| {
                        products
                            .get(&component.product_id)
                            .map(|product| ComponentSnapshot {
                                product: product.flat_snapshot(),
                                quantity: component.quantity,
                            })
                            .ok_or(ProductError::ComponentNotFound {
                                product_id: component.product_id,
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(PackageSnapshot {
                    mode: composition.mode,
                    components,
                })
            }
        };
        Ok(ProductSnapshot {
            package,
            ..self.flat_snapshot()
        })
    }

    /// The snapshot without package expansion.
    pub fn flat_snapshot(&self) -> ProductSnapshot {
        ProductSnapshot {
            product_id: self.product_id,
            sku: self.sku.clone(),
            name: self.name.clone(),
            serial_mode: self.serial_mode,
            package: None,
        }
    }
}

/// Create a product or package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateProduct {
    /// The new product's id (chosen by the caller).
    pub product_id: ProductId,
    /// Stock keeping unit; trimmed, not blank, at most [`MAX_SKU_LENGTH`] characters.
    pub sku: String,
    /// Name; trimmed, not blank, at most [`MAX_PRODUCT_NAME_LENGTH`] characters.
    pub name: String,
    /// The serial mode; `None` means DISABLED (the default).
    pub serial_mode: Option<SerialMode>,
    /// Where the product is being created.
    pub source: SerialModeSource,
    /// The composition, when the product is a package.
    pub package: Option<PackageComposition>,
    /// The compositions of every package reachable from `package`'s components.
    pub package_graph: PackageGraph,
}

/// Change a product's SKU and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeProductDetails {
    /// The SKU after the change.
    pub sku: String,
    /// The name after the change.
    pub name: String,
}

/// Set a product's serial mode, saying where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetSerialMode {
    /// The new mode.
    pub serial_mode: SerialMode,
    /// Where it is being set.
    pub source: SerialModeSource,
}

/// Set what a package is made of and its package mode (makes a product a package).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetPackageComposition {
    /// The composition after the change.
    pub package: PackageComposition,
    /// The compositions of every package reachable from the new components.
    pub package_graph: PackageGraph,
}

/// Everything that can be asked of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductCommand {
    /// See [`CreateProduct`].
    CreateProduct(CreateProduct),
    /// See [`ChangeProductDetails`].
    ChangeProductDetails(ChangeProductDetails),
    /// See [`SetSerialMode`].
    SetSerialMode(SetSerialMode),
    /// See [`SetPackageComposition`].
    SetPackageComposition(SetPackageComposition),
}

into_command!(ProductCommand: CreateProduct, ChangeProductDetails, SetSerialMode, SetPackageComposition);

/// Why a product command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductError {
    /// A field breaks a rule. API code `VALIDATION`.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The product was already created. API code `ALREADY_EXISTS`.
    #[error("product {product_id} already exists")]
    AlreadyExists {
        /// The product.
        product_id: ProductId,
    },
    /// The product was never created. API code `NOT_FOUND`.
    #[error("this product does not exist: create it first")]
    NotFound,
    /// A package component is not a known product (building a snapshot). API code
    /// `NOT_FOUND`.
    #[error("package component {product_id} is not a known product")]
    ComponentNotFound {
        /// The component.
        product_id: ProductId,
    },
    /// The same component is listed twice. API code `VALIDATION`.
    #[error(
        "package.components lists product {product_id} more than once: list it once with the total quantity"
    )]
    DuplicateComponent {
        /// The component listed twice.
        product_id: ProductId,
    },
    /// The package would contain itself. API code `PACKAGE_CYCLE`.
    #[error("a package cannot contain itself: {}", path_text(.path))]
    PackageCycle {
        /// From the package, through its components, back to the package.
        path: Vec<ProductId>,
    },
}

fn path_text(path: &[ProductId]) -> String {
    path.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" contains ")
}

impl ProductError {
    /// The stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            ProductError::Invalid(_) | ProductError::DuplicateComponent { .. } => "VALIDATION",
            ProductError::AlreadyExists { .. } => "ALREADY_EXISTS",
            ProductError::NotFound | ProductError::ComponentNotFound { .. } => "NOT_FOUND",
            ProductError::PackageCycle { .. } => "PACKAGE_CYCLE",
        }
    }
}

/// The product decider. State: `None` until the product is created.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProductDecider;

impl Decider for ProductDecider {
    type State = Option<Product>;
    type Command = ProductCommand;
    type Error = ProductError;

    fn decide(
        state: &Option<Product>,
        command: ProductCommand,
    ) -> Result<Vec<LedgerEvent>, ProductError> {
        match (state, command) {
            (None, ProductCommand::CreateProduct(create)) => create_product(create),
            (Some(product), ProductCommand::CreateProduct(_)) => Err(ProductError::AlreadyExists {
                product_id: product.product_id,
            }),
            (None, _) => Err(ProductError::NotFound),
            (Some(product), ProductCommand::ChangeProductDetails(change)) => {
                change_details(product, change)
            }
            (Some(product), ProductCommand::SetSerialMode(set)) => {
                if set.serial_mode == product.serial_mode {
                    return Ok(Vec::new());
                }
                Ok(vec![
                    SerialModeChanged {
                        product_id: product.product_id,
                        serial_mode: set.serial_mode,
                        previous_serial_mode: product.serial_mode,
                        source: set.source,
                    }
                    .into(),
                ])
            }
            (Some(product), ProductCommand::SetPackageComposition(set)) => {
                let package =
                    checked_composition(product.product_id, set.package, &set.package_graph)?;
                if product.package.as_ref() == Some(&package) {
                    return Ok(Vec::new());
                }
                Ok(vec![
                    PackageCompositionChanged {
                        product_id: product.product_id,
                        package,
                    }
                    .into(),
                ])
            }
        }
    }

    fn evolve(state: Option<Product>, event: &LedgerEvent) -> Option<Product> {
        let Some(mut product) = state else {
            return match event {
                LedgerEvent::ProductCreated(created) => Some(Product {
                    product_id: created.product_id,
                    sku: created.sku.clone(),
                    name: created.name.clone(),
                    serial_mode: created.serial_mode,
                    serial_mode_source: created.serial_mode_source,
                    package: created.package.clone(),
                }),
                _ => None,
            };
        };
        match event {
            LedgerEvent::ProductDetailsChanged(changed)
                if changed.product_id == product.product_id =>
            {
                product.sku.clone_from(&changed.sku);
                product.name.clone_from(&changed.name);
            }
            LedgerEvent::SerialModeChanged(changed) if changed.product_id == product.product_id => {
                product.serial_mode = changed.serial_mode;
                product.serial_mode_source = changed.source;
            }
            LedgerEvent::PackageCompositionChanged(changed)
                if changed.product_id == product.product_id =>
            {
                product.package = Some(changed.package.clone());
            }
            _ => {}
        }
        Some(product)
    }
}

fn create_product(create: CreateProduct) -> Result<Vec<LedgerEvent>, ProductError> {
    let sku = validation::required_text("sku", &create.sku, MAX_SKU_LENGTH)?;
    let name = validation::required_text("name", &create.name, MAX_PRODUCT_NAME_LENGTH)?;
    let package = create
        .package
        .map(|package| checked_composition(create.product_id, package, &create.package_graph))
        .transpose()?;
    Ok(vec![
        ProductCreated {
            product_id: create.product_id,
            sku,
            name,
            serial_mode: create.serial_mode.unwrap_or_default(),
            serial_mode_source: create.source,
            package,
        }
        .into(),
    ])
}

fn change_details(
    product: &Product,
    change: ChangeProductDetails,
) -> Result<Vec<LedgerEvent>, ProductError> {
    let sku = validation::required_text("sku", &change.sku, MAX_SKU_LENGTH)?;
    let name = validation::required_text("name", &change.name, MAX_PRODUCT_NAME_LENGTH)?;
    if sku == product.sku && name == product.name {
        return Ok(Vec::new());
    }
    Ok(vec![
        ProductDetailsChanged {
            product_id: product.product_id,
            sku,
            name,
        }
        .into(),
    ])
}

/// Checks a composition: at least one component, each listed once with a quantity from 1 to
/// [`MAX_COMPONENT_QUANTITY`], and no way back to the package itself.
fn checked_composition(
    package_id: ProductId,
    package: PackageComposition,
    graph: &PackageGraph,
) -> Result<PackageComposition, ProductError> {
    if package.components.is_empty() {
        return Err(InvalidField::new("package.components", FieldRule::Empty).into());
    }
    let mut seen = BTreeSet::new();
    for (index, component) in package.components.iter().enumerate() {
        validation::count(
            &format!("package.components[{index}].quantity"),
            component.quantity,
            MAX_COMPONENT_QUANTITY,
        )?;
        if !seen.insert(component.product_id) {
            return Err(ProductError::DuplicateComponent {
                product_id: component.product_id,
            });
        }
    }
    if let Some(path) = path_back_to(package_id, &package.components, graph) {
        return Err(ProductError::PackageCycle { path });
    }
    Ok(package)
}

/// A path from `package` through `components` (and the graph) back to `package`, if any.
fn path_back_to(
    package: ProductId,
    components: &[PackageComponent],
    graph: &PackageGraph,
) -> Option<Vec<ProductId>> {
    let mut visited = BTreeSet::new();
    components.iter().find_map(|component| {
        let mut path = vec![package];
        reaches(
            component.product_id,
            package,
            graph,
            &mut visited,
            &mut path,
        )
        .then_some(path)
    })
}

/// Depth-first search from `node` for `target`, recording the path taken. `visited` keeps
/// the search finite even when the graph given is itself cyclic.
fn reaches(
    node: ProductId,
    target: ProductId,
    graph: &PackageGraph,
    visited: &mut BTreeSet<ProductId>,
    path: &mut Vec<ProductId>,
) -> bool {
    path.push(node);
    if node == target {
        return true;
    }
    if visited.insert(node) {
        for child in graph.get(&node).into_iter().flatten() {
            if reaches(*child, target, graph, visited, path) {
                return true;
            }
        }
    }
    path.pop();
    false
}
