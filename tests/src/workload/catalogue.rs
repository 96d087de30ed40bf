//! Setting up a retailer: settings, products of every serial mode, packages of both kinds
//! (one inside another), a composition change, a rename and a mode change, with the
//! catalogue mistakes a back office makes.

use super::WorkloadError;
use super::model::*;
use super::runner::Runner;
use application::commands::{CommandError, NewProduct};
use domain::product::{ChangeProductDetails, ProductError, SetSerialMode};
use domain::settings::{ChangeSettings, SettingsError};
use event_schemas::{
    Channel, PackageComponent, PackageComposition, PackageMode, ProductId, SerialMode,
    SerialModeSource,
};
use store::EventStore;

impl<'s, S: EventStore> Runner<'s, S> {
    pub(super) async fn set_up(&mut self) -> Result<(), WorkloadError> {
        let service = self.service;
        // The first retailer prompts for serials and aggregates, the second does neither.
        let (auto_prompt, aggregate) = if self.index.is_multiple_of(2) {
            (true, true)
        } else {
            (false, false)
        };
        let context = self.back_office();
        let change = ChangeSettings {
            auto_prompt_serial_number: Some(auto_prompt),
            display_serial_number_on_invoice: Some(auto_prompt),
            aggregate_duplicate_order_items: Some(aggregate),
        };
        let result = service.change_settings(&context, change).await;
        self.accepted(|| "the first settings".into(), result)?;
        self.tenant.auto_prompt = auto_prompt;
        self.tenant.aggregate = aggregate;
        let context = self.back_office();
        let result = service
            .change_settings(&context, ChangeSettings::default())
            .await;
        self.refused(
            || "a settings change naming nothing".into(),
            "NothingToChange",
            result,
            |error| {
                matches!(
                    error,
                    CommandError::Settings(SettingsError::NothingToChange)
                )
            },
        )?;

        use SerialModeSource::*;
        let standard = [
            (
                "LAPTOP-14",
                "Laptop 14in",
                Some(SerialMode::Required),
                Manual,
            ),
            (
                "PHONE-X",
                "Smartphone X",
                Some(SerialMode::Required),
                CsvMassUpload,
            ),
            (
                "HEADPHONES",
                "Wireless headphones",
                Some(SerialMode::Optional),
                PosQuickCreate,
            ),
            ("CAMERA", "Action camera", Some(SerialMode::Optional), Api),
            ("CABLE-USBC", "USB-C cable", None, PoQuickCreate),
            ("CASE", "Phone case", Some(SerialMode::Disabled), BulkEdit),
            ("POWERBANK", "Power bank", None, Manual),
        ];
        let mut ids = Vec::with_capacity(standard.len());
        for (sku, name, serial_mode, source) in standard {
            ids.push(
                self.create_product(sku, name, serial_mode, source, None)
                    .await?,
            );
        }
        let [laptop, phone, headphones, camera, cable, case, powerbank] = ids[..] else {
            return Err(WorkloadError::Diverged("the catalogue".into()));
        };
        let component = |product_id, quantity| PackageComponent {
            product_id,
            quantity,
        };
        let bundle = self
            .create_product(
                "BUNDLE-GAMING",
                "Gaming bundle",
                Some(SerialMode::Required),
                Manual,
                Some(PackageComposition {
                    mode: PackageMode::Consolidated,
                    components: vec![component(laptop, 1), component(headphones, 1)],
                }),
            )
            .await?;
        let kit = self
            .create_product(
                "KIT-OFFICE",
                "Office kit",
                None,
                Manual,
                Some(PackageComposition {
                    mode: PackageMode::Exploded,
                    components: vec![component(phone, 1), component(cable, 2)],
                }),
            )
            .await?;
        let context = self.back_office();
        let composition = PackageComposition {
            mode: PackageMode::Exploded,
            components: vec![
                component(phone, 1),
                component(headphones, 2),
                component(cable, 3),
            ],
        };
        let result = service
            .set_package_composition(&context, kit, composition)
            .await;
        self.accepted(|| "the office kit's new composition".into(), result)?;
        // A package holding a package: the graph the cycle check needs is two levels deep.
        let mega = self
            .create_product(
                "BUNDLE-MEGA",
                "Mega bundle",
                None,
                Manual,
                Some(PackageComposition {
                    mode: PackageMode::Exploded,
                    components: vec![component(bundle, 1), component(case, 1)],
                }),
            )
            .await?;
        let context = self.back_office();
        let cyclic = PackageComposition {
            mode: PackageMode::Consolidated,
            components: vec![component(laptop, 1), component(mega, 1)],
        };
        let result = service
            .set_package_composition(&context, bundle, cyclic)
            .await;
        self.refused(
            || "the gaming bundle containing the mega bundle that contains it".into(),
            "PackageCycle",
            result,
            |error| {
                matches!(
                    error,
                    CommandError::Product(ProductError::PackageCycle { .. })
                )
            },
        )?;
        let context = self.back_office();
        let ghost = ProductId(self.uuid());
        let result = service
            .create_product(
                &context,
                NewProduct {
                    product_id: ProductId(self.uuid()),
                    sku: "GHOST-KIT".into(),
                    name: "Kit of unknown parts".into(),
                    serial_mode: None,
                    source: Manual,
                    package: Some(PackageComposition {
                        mode: PackageMode::Exploded,
                        components: vec![component(cable, 1), component(ghost, 1)],
                    }),
                },
            )
            .await;
        self.refused(
            || "a package with an unknown component".into(),
            "ComponentNotFound",
            result,
            |error| {
                matches!(error, CommandError::Product(ProductError::ComponentNotFound { product_id }) if *product_id == ghost)
            },
        )?;
        let context = self.back_office();
        let rename = ChangeProductDetails {
            sku: "CABLE-USBC".into(),
            name: "USB-C cable 1m".into(),
        };
        let result = service
            .change_product_details(&context, cable, rename)
            .await;
        self.accepted(|| "renaming the cable".into(), result)?;
        let context = self.back_office();
        let set = SetSerialMode {
            serial_mode: SerialMode::Optional,
            source: BulkEdit,
        };
        let result = service.set_serial_mode(&context, powerbank, set).await;
        self.accepted(|| "tracking power banks".into(), result)?;

        let model = &mut self.tenant;
        let items = [
            (laptop, 129_900, 10, 5),
            (phone, 89_900, 10, 5),
            (headphones, 19_900, 10, 5),
            (camera, 34_900, 8, 3),
            (cable, 1_900, 12, 8),
            (case, 2_900, 8, 6),
            (powerbank, 4_900, 6, 4),
            (bundle, 139_900, 4, 3),
            (kit, 99_900, 6, 3),
            (mega, 149_900, 3, 2),
        ];
        model.items = items
            .into_iter()
            .map(|(product_id, price_minor, weight, max_quantity)| Item {
                product_id,
                price_minor,
                weight,
                max_quantity,
            })
            .collect();
        model.toggled = vec![
            (camera, SerialMode::Optional, SerialMode::Required),
            (powerbank, SerialMode::Optional, SerialMode::Disabled),
        ];
        Ok(())
    }

    pub(super) async fn create_product(
        &mut self,
        sku: &str,
        name: &str,
        serial_mode: Option<SerialMode>,
        source: SerialModeSource,
        package: Option<PackageComposition>,
    ) -> Result<ProductId, WorkloadError> {
        let product_id = ProductId(self.uuid());
        let mut context = self.back_office();
        context.metadata.channel = match source {
            SerialModeSource::CsvMassUpload => Channel::Import,
            SerialModeSource::PosQuickCreate => Channel::Pos,
            SerialModeSource::Api => Channel::Api,
            _ => Channel::BackOffice,
        };
        let product = NewProduct {
            product_id,
            sku: sku.to_owned(),
            name: name.to_owned(),
            serial_mode,
            source,
            package,
        };
        let result = self.service.create_product(&context, product).await;
        self.accepted(|| format!("create product {sku}"), result)?;
        Ok(product_id)
    }
}
