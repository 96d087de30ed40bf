//! Product and retailer-settings commands, and the reads the API needs of them.
//!
//! Creating a package or changing its composition loads the [`PackageGraph`] here (the
//! composition of every package reachable from the new components), so the cycle check in
//! the domain stays pure. A component that is not a known product is refused
//! ([`ProductError::ComponentNotFound`]).

use super::execute::Target;
use super::{CommandContext, CommandError, CommandOutcome, CommandService, streams, traced};
use domain::product::{
    ChangeProductDetails, CreateProduct, PackageGraph, Product, ProductCommand, ProductDecider,
    ProductError, SetPackageComposition, SetSerialMode,
};
use domain::settings::{ChangeSettings, RetailerSettings, SettingsDecider};
use event_schemas::{PackageComposition, ProductId, SerialMode, SerialModeSource, TenantId};
use futures::future::try_join_all;
use std::collections::{BTreeMap, BTreeSet};
use store::EventStore;

/// A product or package to create, as the caller gives it; the service loads the package
/// graph the domain's cycle check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProduct {
    /// The new product's id (chosen by the caller).
    pub product_id: ProductId,
    /// Stock keeping unit.
    pub sku: String,
    /// Name.
    pub name: String,
    /// The serial mode; `None` means DISABLED.
    pub serial_mode: Option<SerialMode>,
    /// Where the product is being created.
    pub source: SerialModeSource,
    /// The composition, when the product is a package.
    pub package: Option<PackageComposition>,
}

impl<S: EventStore> CommandService<S> {
    /// Creates a product or a package.
    pub async fn create_product(
        &self,
        context: &CommandContext,
        product: NewProduct,
    ) -> Result<CommandOutcome, CommandError> {
        let target = product_target(product.product_id);
        traced(context, "create_product", &target.stream_id, async {
            let package_graph = match &product.package {
                Some(package) => {
                    self.package_graph(context.tenant_id, product.product_id, package)
                        .await?
                }
                None => PackageGraph::new(),
            };
            let command = CreateProduct {
                product_id: product.product_id,
                sku: product.sku,
                name: product.name,
                serial_mode: product.serial_mode,
                source: product.source,
                package: product.package,
                package_graph,
            };
            self.execute::<ProductDecider>(context, &target, command.into())
                .await
        })
        .await
    }

    /// Changes a product's SKU and name.
    pub async fn change_product_details(
        &self,
        context: &CommandContext,
        product_id: ProductId,
        change: ChangeProductDetails,
    ) -> Result<CommandOutcome, CommandError> {
        self.product_command(context, "change_product_details", product_id, change.into())
            .await
    }

    /// Sets a product's serial mode, recording where it was set.
    pub async fn set_serial_mode(
        &self,
        context: &CommandContext,
        product_id: ProductId,
        set: SetSerialMode,
    ) -> Result<CommandOutcome, CommandError> {
        self.product_command(context, "set_serial_mode", product_id, set.into())
            .await
    }

    /// Sets what a package is made of (making the product a package).
    pub async fn set_package_composition(
        &self,
        context: &CommandContext,
        product_id: ProductId,
        package: PackageComposition,
    ) -> Result<CommandOutcome, CommandError> {
        let target = product_target(product_id);
        traced(
            context,
            "set_package_composition",
            &target.stream_id,
            async {
                let package_graph = self
                    .package_graph(context.tenant_id, product_id, &package)
                    .await?;
                let command = SetPackageComposition {
                    package,
                    package_graph,
                };
                self.execute::<ProductDecider>(context, &target, command.into())
                    .await
            },
        )
        .await
    }

    /// Decides the parts of a product edit in order against the product as it stands,
    /// recording nothing: the first refusal, so an edit made of several commands (details,
    /// serial mode, package) is refused before any part of it is written.
    pub async fn check_product_edit(
        &self,
        tenant_id: TenantId,
        product_id: ProductId,
        details: Option<ChangeProductDetails>,
        serial_mode: Option<SetSerialMode>,
        package: Option<&PackageComposition>,
    ) -> Result<(), CommandError> {
        use domain::Decider;
        let mut commands: Vec<ProductCommand> = Vec::new();
        commands.extend(details.map(Into::into));
        commands.extend(serial_mode.map(Into::into));
        if let Some(package) = package {
            let package_graph = self.package_graph(tenant_id, product_id, package).await?;
            commands.push(
                SetPackageComposition {
                    package: package.clone(),
                    package_graph,
                }
                .into(),
            );
        }
        let mut state = self.load_product(tenant_id, product_id).await?;
        for command in commands {
            let events = ProductDecider::decide(&state, command)?;
            state = ProductDecider::evolve_all(state, &events);
        }
        Ok(())
    }

    /// Changes some of the retailer's settings.
    pub async fn change_settings(
        &self,
        context: &CommandContext,
        change: ChangeSettings,
    ) -> Result<CommandOutcome, CommandError> {
        let target = Target {
            stream_id: streams::RETAILER_SETTINGS.to_owned(),
            id: streams::RETAILER_SETTINGS.to_owned(),
        };
        traced(context, "change_settings", &target.stream_id, async {
            self.execute::<SettingsDecider>(context, &target, change)
                .await
        })
        .await
    }

    /// A product as it stands, or `None` when it was never created.
    pub async fn load_product(
        &self,
        tenant_id: TenantId,
        product_id: ProductId,
    ) -> Result<Option<Product>, CommandError> {
        let loaded = self
            .load::<ProductDecider>(tenant_id, &streams::product(product_id), None)
            .await?;
        Ok(loaded.state)
    }

    /// The retailer's settings as they stand (the defaults when never changed).
    pub async fn load_settings(
        &self,
        tenant_id: TenantId,
    ) -> Result<RetailerSettings, CommandError> {
        let loaded = self
            .load::<SettingsDecider>(tenant_id, streams::RETAILER_SETTINGS, None)
            .await?;
        Ok(loaded.state)
    }

    /// Products by id; ids that are not products are left out.
    pub(super) async fn load_products(
        &self,
        tenant_id: TenantId,
        product_ids: impl IntoIterator<Item = ProductId>,
    ) -> Result<BTreeMap<ProductId, Product>, CommandError> {
        let loaded = try_join_all(
            product_ids
                .into_iter()
                .map(|product_id| self.load_product(tenant_id, product_id)),
        )
        .await?;
        Ok(loaded
            .into_iter()
            .flatten()
            .map(|product| (product.product_id, product))
            .collect())
    }

    async fn product_command(
        &self,
        context: &CommandContext,
        name: &'static str,
        product_id: ProductId,
        command: ProductCommand,
    ) -> Result<CommandOutcome, CommandError> {
        let target = product_target(product_id);
        traced(context, name, &target.stream_id, async {
            self.execute::<ProductDecider>(context, &target, command)
                .await
        })
        .await
    }

    /// The components of every package reachable from `package`'s components, breadth
    /// first, one round of reads per level. Each direct component must be a product (the
    /// package itself excepted: that is a cycle, which the domain names).
    async fn package_graph(
        &self,
        tenant_id: TenantId,
        package_id: ProductId,
        package: &PackageComposition,
    ) -> Result<PackageGraph, CommandError> {
        let mut graph = PackageGraph::new();
        let mut seen = BTreeSet::from([package_id]);
        let mut level: Vec<ProductId> = package
            .components
            .iter()
            .map(|component| component.product_id)
            .filter(|product_id| seen.insert(*product_id))
            .collect();
        let direct: BTreeSet<ProductId> = level.iter().copied().collect();
        while !level.is_empty() {
            let products = self.load_products(tenant_id, level.iter().copied()).await?;
            if let Some(missing) = direct
                .iter()
                .find(|product_id| level.contains(product_id) && !products.contains_key(product_id))
            {
                return Err(ProductError::ComponentNotFound {
                    product_id: *missing,
                }
                .into());
            }
            let mut next = Vec::new();
            for (product_id, product) in products {
                if let Some(composition) = product.package {
                    let components: Vec<ProductId> = composition
                        .components
                        .iter()
                        .map(|component| component.product_id)
                        .collect();
                    next.extend(
                        components
                            .iter()
                            .copied()
                            .filter(|component| seen.insert(*component)),
                    );
                    graph.insert(product_id, components);
                }
            }
            level = next;
        }
        Ok(graph)
    }
}

fn product_target(product_id: ProductId) -> Target {
    Target {
        stream_id: streams::product(product_id),
        id: product_id.to_string(),
    }
}
