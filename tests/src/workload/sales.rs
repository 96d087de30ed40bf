//! Sales: opening them (and re-issuing returned lines onto new ones), and doing what was
//! chosen for a sale in progress.

use super::WorkloadError;
use super::model::*;
use super::runner::Runner;
use application::commands::{CommandContext, CommandError};
use domain::Decider;
use domain::claims::{self, ClaimScope};
use domain::sale::{
    AssignSerial, CancelLine, ChangeLineQuantity, FulfilLines, LineSelection, OpenSale, RemoveLine,
    RemoveSerial, ReturnUnit, ReturnUnits, SaleDecider, SaleError, UnitSelector,
};
use event_schemas::{
    Actor, ActorKind, Channel, DeliveryMode, LedgerEvent, LineNumber, Money, SaleId, SaleType,
    SerialMode,
};
use rand::Rng;
use rand::seq::IndexedRandom;
use store::EventStore;

impl<'s, S: EventStore> Runner<'s, S> {
    pub(super) async fn open_sale(&mut self) -> Result<(), WorkloadError> {
        let service = self.service;
        let model = &self.tenant;
        let outlet_id = model.outlets[self.rng.random_range(0..model.outlets.len())];
        let actor = model.staff[self.rng.random_range(0..model.staff.len())].clone();
        let customer = model.customers[self.rng.random_range(0..model.customers.len())].clone();
        let taken = model.invoices.choose(&mut self.rng).cloned();
        let invoice_number = format!("{}-{}", model.invoice_prefix, model.next_invoice);
        let sale_type = weighted(
            &mut self.rng,
            &[
                (70, SaleType::Sale),
                (15, SaleType::SpecialOrder),
                (15, SaleType::LayBy),
            ],
        );
        let delivery_mode = weighted(
            &mut self.rng,
            &[
                (50, DeliveryMode::CashAndCarry),
                (20, DeliveryMode::Pickup),
                (20, DeliveryMode::Delivery),
                (10, DeliveryMode::DropShip),
            ],
        );
        let customer = (delivery_mode != DeliveryMode::CashAndCarry || self.rng.random_bool(0.4))
            .then_some(customer);
        let correlation_id = self.uuid();
        let context = self.context(Channel::Pos, actor.clone(), Some(outlet_id), correlation_id);
        let mut open = OpenSale {
            sale_id: SaleId(self.uuid()),
            invoice_number: invoice_number.clone(),
            sale_type,
            delivery_mode,
            outlet_id,
            customer,
        };
        if let Some(taken) = taken.filter(|_| self.rng.random_bool(0.03)) {
            // The same invoice number, typed in lower case with stray spaces.
            open.invoice_number = format!(" {} ", taken.to_lowercase());
            let result = service.open_sale(&context, open).await;
            return self.refused(
                || format!("a second sale numbered {taken}"),
                "InvoiceNumberTaken",
                result,
                |error| {
                    matches!(
                        error,
                        CommandError::Sale(SaleError::InvoiceNumberTaken { .. })
                    )
                },
            );
        }
        let result = service.open_sale(&context, open).await;
        let outcome = self.accepted(|| format!("open sale {invoice_number}"), result)?;
        let sale = SaleDecider::fold(&outcome.events)
            .ok_or_else(|| WorkloadError::Diverged(format!("{invoice_number} did not open")))?;
        self.apply_claims(claims::claims_for(None, &outcome.events))?;
        let adds_left = self.rng.random_range(3..=6);
        let model = &mut self.tenant;
        model.next_invoice += 1;
        model.invoices.push(invoice_number);
        model.sales.push(SaleInProgress {
            sale,
            actor,
            correlation_id,
            phase: Phase::Building,
            adds_left,
            returned: false,
        });
        if !model.to_reissue.is_empty() && self.rng.random_bool(0.5) {
            let sale = model.sales.len() - 1;
            self.reissue(sale).await?;
        }
        Ok(())
    }

    /// Re-issues a returned line on the (new) sale, and now and then tries to re-issue a
    /// line that already was.
    pub(super) async fn reissue(&mut self, sale: usize) -> Result<(), WorkloadError> {
        let service = self.service;
        let model = &mut self.tenant;
        let index = self.rng.random_range(0..model.to_reissue.len());
        let (original_sale, original_line, mode) = model.to_reissue.swap_remove(index);
        // The replacement unit's serial is scanned now, or (tracked lines) later.
        let serial = if mode.is_tracked() && self.rng.random_bool(0.5) {
            Some(self.fresh_serial())
        } else {
            None
        };
        let context = self.sale_context(sale, Channel::Pos);
        let sale_id = self.tenant.sales[sale].sale.sale_id;
        let result = service
            .reissue_line(&context, sale_id, original_sale, original_line, serial)
            .await;
        let outcome = self.accepted(
            || format!("re-issue {original_sale} line {original_line} on {sale_id}"),
            result,
        )?;
        self.apply(sale, &outcome)?;
        let adds_left = self.rng.random_range(0..=2);
        let model = &mut self.tenant;
        model.sales[sale].adds_left = adds_left;
        model.reissued.push((original_sale, original_line));
        if self.rng.random_bool(0.2) {
            let Some(&(again_sale, again_line)) = model.reissued.choose(&mut self.rng) else {
                return Ok(());
            };
            let key = (
                model.tenant_id,
                ClaimScope::Reissue,
                claims::reissue_key(again_sale, again_line),
            );
            let Some(holder) = self.claims.get(&key).cloned() else {
                return Ok(());
            };
            let context = self.sale_context(sale, Channel::Pos);
            let result = service
                .reissue_line(&context, sale_id, again_sale, again_line, None)
                .await;
            self.refused(
                || format!("re-issue {again_sale} line {again_line} a second time"),
                "AlreadyReissued naming the holder",
                result,
                |error| {
                    matches!(error, CommandError::Sale(SaleError::AlreadyReissued { invoice_number, line_number })
                        if *invoice_number == holder.invoice_number && *line_number == holder.line_number)
                },
            )?;
        }
        Ok(())
    }

    pub(super) fn sale_context(&mut self, sale: usize, channel: Channel) -> CommandContext {
        let model = &self.tenant.sales[sale];
        let (actor, outlet_id, correlation_id) = (
            model.actor.clone(),
            model.sale.outlet_id,
            model.correlation_id,
        );
        self.context(channel, actor, Some(outlet_id), correlation_id)
    }

    pub(super) async fn perform(
        &mut self,
        sale: usize,
        action: Action,
    ) -> Result<(), WorkloadError> {
        let service = self.service;
        let sale_id = self.tenant.sales[sale].sale.sale_id;
        let invoice = self.tenant.sales[sale].sale.invoice_number.clone();
        match action {
            Action::Add => {
                let model = &self.tenant;
                let choices: Vec<(u32, Item)> = model
                    .items
                    .iter()
                    .map(|item| (item.weight, item.clone()))
                    .collect();
                let item = weighted(&mut self.rng, &choices);
                let quantity = self.rng.random_range(1..=item.max_quantity);
                let price = Money {
                    amount_minor: item.price_minor,
                    currency: model.currency.to_owned(),
                };
                let auto_prompt = model.auto_prompt;
                let context = self.sale_context(sale, Channel::Pos);
                let result = service
                    .add_item(&context, sale_id, item.product_id, quantity, price)
                    .await;
                let outcome = self.accepted(
                    || format!("add {quantity} × {} to {invoice}", item.product_id),
                    result,
                )?;
                let required: Vec<LineNumber> = outcome
                    .events
                    .iter()
                    .filter_map(|event| match event {
                        LedgerEvent::LineAdded(added)
                            if auto_prompt && added.line.serial_mode == SerialMode::Required =>
                        {
                            Some(added.line.line_number)
                        }
                        _ => None,
                    })
                    .collect();
                if outcome.prompt_serial_for != required {
                    return Err(WorkloadError::Diverged(format!(
                        "adding to {invoice} prompted for {:?}, expected {required:?}",
                        outcome.prompt_serial_for
                    )));
                }
                self.apply(sale, &outcome)?;
                let model = &mut self.tenant.sales[sale];
                model.adds_left = model.adds_left.saturating_sub(1);
                Ok(())
            }
            Action::AssignFresh(line) => {
                let serial = self.fresh_serial();
                self.assign(sale, line, serial).await
            }
            Action::AssignSame(line, serial) => {
                let context = self.sale_context(sale, Channel::Pos);
                let assign = AssignSerial {
                    line_number: line,
                    serial: serial.clone(),
                };
                let result = service.assign_serial(&context, sale_id, assign).await;
                let outcome = self.accepted(
                    || format!("assign {serial:?} again to {invoice} line {line}"),
                    result,
                )?;
                if outcome.append.is_some() || !outcome.events.is_empty() {
                    return Err(WorkloadError::Diverged(format!(
                        "assigning {serial:?} again to {invoice} line {line} gave {outcome:?}"
                    )));
                }
                Ok(())
            }
            Action::AssignReleased(line, serial) => {
                let suffix = format!("/{serial}");
                self.tenant.released.retain(|key| !key.ends_with(&suffix));
                self.assign(sale, line, serial).await
            }
            Action::RemoveSerial(line) => {
                let context = self.sale_context(sale, Channel::Pos);
                let result = service
                    .remove_serial(
                        &context,
                        sale_id,
                        RemoveSerial {
                            line_number: line,
                            reason: None,
                        },
                    )
                    .await;
                let outcome = self.accepted(
                    || format!("remove the serial of {invoice} line {line}"),
                    result,
                )?;
                self.apply(sale, &outcome)
            }
            Action::ChangeQuantity(line, quantity) => {
                let context = self.sale_context(sale, Channel::Pos);
                let change = ChangeLineQuantity {
                    line_number: line,
                    quantity,
                };
                let result = service
                    .change_line_quantity(&context, sale_id, change)
                    .await;
                let outcome = self.accepted(
                    || format!("set {invoice} line {line} to {quantity} units"),
                    result,
                )?;
                self.apply(sale, &outcome)
            }
            Action::RemoveLine(line) => {
                let context = self.sale_context(sale, Channel::Pos);
                let result = service
                    .remove_line(&context, sale_id, RemoveLine { line_number: line })
                    .await;
                let outcome = self.accepted(|| format!("remove {invoice} line {line}"), result)?;
                self.apply(sale, &outcome)
            }
            Action::CancelLine(line) => {
                let context = self.sale_context(sale, Channel::Pos);
                let reason = [
                    Some("Customer changed their mind"),
                    Some("Out of stock"),
                    None,
                ]
                .choose(&mut self.rng)
                .copied()
                .flatten()
                .map(str::to_owned);
                let cancel = CancelLine {
                    line_number: line,
                    reason,
                };
                let result = service.cancel_line(&context, sale_id, cancel).await;
                let outcome = self.accepted(|| format!("cancel {invoice} line {line}"), result)?;
                self.apply(sale, &outcome)
            }
            Action::FulfilAll => self.fulfil(sale, LineSelection::All).await,
            Action::FulfilSome(lines) => self.fulfil(sale, LineSelection::Lines(lines)).await,
            Action::Return(lines) => self.return_units(sale, lines).await,
            Action::Finish => {
                self.tenant.sales.swap_remove(sale);
                Ok(())
            }
            Action::Mistake(mistake) => self.mistake(sale, mistake).await,
        }
    }

    pub(super) async fn assign(
        &mut self,
        sale: usize,
        line: LineNumber,
        serial: String,
    ) -> Result<(), WorkloadError> {
        let service = self.service;
        let sale_id = self.tenant.sales[sale].sale.sale_id;
        let context = self.sale_context(sale, Channel::Pos);
        let assign = AssignSerial {
            line_number: line,
            serial: serial.clone(),
        };
        let result = service
            .assign_serial(&context, sale_id, assign.clone())
            .await;
        let outcome = self.accepted(
            || format!("assign {serial:?} to {sale_id} line {line}"),
            result,
        )?;
        let normalised = serial.trim().to_uppercase();
        let recorded = outcome.events.iter().any(|event| {
            matches!(event, LedgerEvent::SerialAssigned(assigned) if assigned.serial == normalised)
        });
        if !recorded {
            return Err(WorkloadError::Diverged(format!(
                "assigning {serial:?} recorded {:?}",
                outcome.events
            )));
        }
        self.apply(sale, &outcome)?;
        // A client that did not hear back sends the same command again: applied once.
        if self.rng.random_bool(0.02) {
            let result = service.assign_serial(&context, sale_id, assign).await;
            let again = self.accepted(|| format!("re-send assign {serial:?}"), result)?;
            if !again.deduplicated() || again.events != outcome.events {
                return Err(WorkloadError::Diverged(format!(
                    "re-sending command {} gave {again:?}",
                    context.metadata.command_id
                )));
            }
        }
        Ok(())
    }

    pub(super) async fn fulfil(
        &mut self,
        sale: usize,
        lines: LineSelection,
    ) -> Result<(), WorkloadError> {
        let service = self.service;
        let model = &self.tenant.sales[sale];
        let sale_id = model.sale.sale_id;
        let context = match model.sale.delivery_mode {
            DeliveryMode::Delivery | DeliveryMode::DropShip => {
                let mut context = self.sale_context(sale, Channel::Wms);
                context.metadata.actor = Actor {
                    kind: ActorKind::Integration,
                    id: "wms".into(),
                    display_name: "Warehouse".into(),
                };
                context
            }
            _ if self.rng.random_bool(0.5) => self.sale_context(sale, Channel::FulfilmentReport),
            _ => self.sale_context(sale, Channel::Pos),
        };
        let label = format!("fulfil {lines:?} of {sale_id}");
        let result = service
            .fulfil_lines(&context, sale_id, FulfilLines { lines })
            .await;
        let outcome = self.accepted(|| label, result)?;
        self.apply(sale, &outcome)
    }

    pub(super) async fn return_units(
        &mut self,
        sale: usize,
        lines: Vec<LineNumber>,
    ) -> Result<(), WorkloadError> {
        let service = self.service;
        let sale_state = self.tenant.sales[sale].sale.clone();
        let mut units = Vec::with_capacity(lines.len());
        let mut modes = Vec::with_capacity(lines.len());
        for line_number in &lines {
            let Some(line) = sale_state.line(*line_number) else {
                return Err(WorkloadError::Diverged(format!(
                    "line {line_number} vanished"
                )));
            };
            let unit = match &line.serial {
                Some(serial) if self.rng.random_bool(0.5) => UnitSelector::Serial {
                    product_id: line.product_id,
                    serial: serial.to_lowercase(),
                },
                _ => UnitSelector::Line(line.line_number),
            };
            let total = line.total_minor();
            let amount_minor = if self.rng.random_bool(0.7) {
                total
            } else {
                total / 2
            };
            units.push(ReturnUnit {
                unit,
                refund: Money {
                    amount_minor,
                    currency: line.unit_price.currency.clone(),
                },
            });
            modes.push((line.line_number, line.serial_mode));
        }
        let reason = [Some("Faulty"), Some("Wrong colour"), None]
            .choose(&mut self.rng)
            .copied()
            .flatten()
            .map(str::to_owned);
        let context = self.sale_context(sale, Channel::Pos);
        let result = service
            .return_units(&context, sale_state.sale_id, ReturnUnits { units, reason })
            .await;
        let outcome = self.accepted(
            || format!("return lines {lines:?} of {}", sale_state.invoice_number),
            result,
        )?;
        self.apply(sale, &outcome)?;
        self.tenant.sales[sale].returned = true;
        for (line, mode) in modes {
            if self.rng.random_bool(0.6) {
                self.tenant
                    .to_reissue
                    .push((sale_state.sale_id, line, mode));
            }
        }
        Ok(())
    }
}
