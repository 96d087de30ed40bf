//! Sale commands, and the read of a sale the API needs.
//!
//! Callers pass plain inputs; what a rule needs from other aggregates is loaded here:
//! [`CommandService::add_item`] loads the product (with its components, for a package) and
//! the retailer's settings, [`CommandService::reissue_line`] the returned line of the
//! original sale. The rest pass the domain's command through.
//!
//! Those facts are loaded once, before the first attempt: a retry after a conflict decides
//! again against the reloaded sale with the same facts. Other aggregates are outside the
//! sale's consistency boundary; what must hold across sales is enforced by the claims.

use super::execute::Target;
use super::{CommandContext, CommandError, CommandOutcome, CommandService, streams, traced};
use domain::product::ProductSnapshot;
use domain::sale::{
    AddItem, AssignSerial, CancelLine, ChangeLineQuantity, FulfilLines, FulfilWithSerials,
    OpenSale, ReissueLine, RemoveLine, RemoveSerial, ReturnUnits, ReturnedLineFacts, Sale,
    SaleCommand, SaleDecider, SaleError, lines_to_prompt,
};
use event_schemas::{LineNumber, Money, ProductId, SaleId, TenantId};
use store::EventStore;

impl<S: EventStore> CommandService<S> {
    /// Opens a sale; its invoice number must be free across the retailer.
    pub async fn open_sale(
        &self,
        context: &CommandContext,
        open: OpenSale,
    ) -> Result<CommandOutcome, CommandError> {
        let sale_id = open.sale_id;
        self.sale_command(context, "open_sale", sale_id, open.into())
            .await
    }

    /// Adds `quantity` units of a product to a sale at `unit_price` each, as the product
    /// and the retailer's settings stand now. `prompt_serial_for` lists the new lines POS
    /// should prompt a serial for.
    pub async fn add_item(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        product_id: ProductId,
        quantity: u32,
        unit_price: Money,
    ) -> Result<CommandOutcome, CommandError> {
        let target = sale_target(sale_id);
        traced(context, "add_item", &target.stream_id, async {
            let (product, settings) = tokio::try_join!(
                self.product_snapshot(context.tenant_id, product_id),
                self.load_settings(context.tenant_id),
            )?;
            let command = AddItem {
                product,
                quantity,
                unit_price,
                settings,
            };
            let mut outcome = self
                .execute::<SaleDecider>(context, &target, command.into())
                .await?;
            outcome.prompt_serial_for = lines_to_prompt(&settings, &outcome.events);
            Ok(outcome)
        })
        .await
    }

    /// Sets the quantity of a line of a DISABLED product.
    pub async fn change_line_quantity(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        change: ChangeLineQuantity,
    ) -> Result<CommandOutcome, CommandError> {
        self.sale_command(context, "change_line_quantity", sale_id, change.into())
            .await
    }

    /// Takes an unfulfilled line off the sale (a correction), releasing its serial.
    pub async fn remove_line(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        remove: RemoveLine,
    ) -> Result<CommandOutcome, CommandError> {
        self.sale_command(context, "remove_line", sale_id, remove.into())
            .await
    }

    /// Records a serial on a line (replacing the one it has); refused with
    /// `SERIAL_ALREADY_ASSIGNED` when the serial is live on another line of the retailer.
    pub async fn assign_serial(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        assign: AssignSerial,
    ) -> Result<CommandOutcome, CommandError> {
        self.sale_command(context, "assign_serial", sale_id, assign.into())
            .await
    }

    /// Takes the serial off an unfulfilled line.
    pub async fn remove_serial(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        remove: RemoveSerial,
    ) -> Result<CommandOutcome, CommandError> {
        self.sale_command(context, "remove_serial", sale_id, remove.into())
            .await
    }

    /// Fulfils all open lines or the ones selected.
    pub async fn fulfil_lines(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        fulfil: FulfilLines,
    ) -> Result<CommandOutcome, CommandError> {
        self.sale_command(context, "fulfil_lines", sale_id, fulfil.into())
            .await
    }

    /// Records the serials of the units picked and fulfils their lines, all or nothing.
    pub async fn fulfil_with_serials(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        fulfil: FulfilWithSerials,
    ) -> Result<CommandOutcome, CommandError> {
        self.sale_command(context, "fulfil_with_serials", sale_id, fulfil.into())
            .await
    }

    /// Returns and refunds units of fulfilled lines, releasing their serials.
    pub async fn return_units(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        units: ReturnUnits,
    ) -> Result<CommandOutcome, CommandError> {
        self.sale_command(context, "return_units", sale_id, units.into())
            .await
    }

    /// Cancels an unfulfilled line, releasing its serial.
    pub async fn cancel_line(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        cancel: CancelLine,
    ) -> Result<CommandOutcome, CommandError> {
        self.sale_command(context, "cancel_line", sale_id, cancel.into())
            .await
    }

    /// Issues line `original_line` of sale `original_sale_id`, returned, again on sale
    /// `sale_id`, with the new unit's serial when known.
    pub async fn reissue_line(
        &self,
        context: &CommandContext,
        sale_id: SaleId,
        original_sale_id: SaleId,
        original_line: LineNumber,
        serial: Option<String>,
    ) -> Result<CommandOutcome, CommandError> {
        let target = sale_target(sale_id);
        traced(context, "reissue_line", &target.stream_id, async {
            let (facts, settings) = tokio::try_join!(
                self.returned_line(context.tenant_id, original_sale_id, original_line),
                self.load_settings(context.tenant_id),
            )?;
            let command = ReissueLine {
                original: facts,
                serial,
            };
            let mut outcome = self
                .execute::<SaleDecider>(context, &target, command.into())
                .await?;
            outcome.prompt_serial_for = lines_to_prompt(&settings, &outcome.events);
            Ok(outcome)
        })
        .await
    }

    /// What a re-issue needs of line `line_number` of sale `sale_id` (not yet checked to
    /// be returned): `NOT_FOUND` naming the sale or the line when there is none.
    pub async fn returned_line(
        &self,
        tenant_id: TenantId,
        sale_id: SaleId,
        line_number: LineNumber,
    ) -> Result<ReturnedLineFacts, CommandError> {
        let sale =
            self.load_sale(tenant_id, sale_id)
                .await?
                .ok_or_else(|| CommandError::NotFound {
                    what: "sale",
                    id: sale_id.to_string(),
                })?;
        sale.returned_line_facts(line_number)
            .map_err(|error| match error {
                SaleError::LineNotFound { line_number } => CommandError::NotFound {
                    what: "line",
                    id: format!("{line_number} of invoice {}", sale.invoice_number),
                },
                error => CommandError::Sale(error),
            })
    }

    /// A sale as it stands, or `None` when it was never opened.
    pub async fn load_sale(
        &self,
        tenant_id: TenantId,
        sale_id: SaleId,
    ) -> Result<Option<Sale>, CommandError> {
        let loaded = self
            .load::<SaleDecider>(tenant_id, &streams::sale(sale_id), None)
            .await?;
        Ok(loaded.state)
    }

    /// What a sale needs of a product now: the product with its components' snapshots.
    pub async fn product_snapshot(
        &self,
        tenant_id: TenantId,
        product_id: ProductId,
    ) -> Result<ProductSnapshot, CommandError> {
        let product = self
            .load_product(tenant_id, product_id)
            .await?
            .ok_or_else(|| CommandError::NotFound {
                what: "product",
                id: product_id.to_string(),
            })?;
        let components = match &product.package {
            Some(package) => {
                self.load_products(
                    tenant_id,
                    package
                        .components
                        .iter()
                        .map(|component| component.product_id),
                )
                .await?
            }
            None => Default::default(),
        };
        Ok(product.snapshot(&components)?)
    }

    async fn sale_command(
        &self,
        context: &CommandContext,
        name: &'static str,
        sale_id: SaleId,
        command: SaleCommand,
    ) -> Result<CommandOutcome, CommandError> {
        let target = sale_target(sale_id);
        traced(context, name, &target.stream_id, async {
            self.execute::<SaleDecider>(context, &target, command).await
        })
        .await
    }
}

fn sale_target(sale_id: SaleId) -> Target {
    Target {
        stream_id: streams::sale(sale_id),
        id: sale_id.to_string(),
    }
}
