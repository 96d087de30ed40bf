//! The runner: the workload's state, its bookkeeping of outcomes and claims, and one step.

use super::model::*;
use super::{Workload, WorkloadError, WorkloadReport};
use application::commands::{CommandContext, CommandError, CommandOutcome, CommandService};
use domain::Decider;
use domain::claims::{self, ClaimAction, ClaimOwner, ClaimScope};
use domain::product::SetSerialMode;
use domain::sale::SaleDecider;
use domain::settings::ChangeSettings;
use event_schemas::{
    Actor, ActorKind, Channel, CommandId, CommandMetadata, Customer, CustomerId, LedgerEvent,
    LineNumber, OutletId, ProductId, SaleId, SerialModeSource, TenantId,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use store::EventStore;
use uuid::Uuid;

/// One retailer's activity: its model, its own random sequence, its share of the report.
pub(super) struct Runner<'s, S> {
    pub(super) service: &'s CommandService<S>,
    /// Which of the workload's retailers this is (the first sets different settings).
    pub(super) index: usize,
    pub(super) rng: SmallRng,
    pub(super) tenant: Tenant,
    pub(super) claims: ClaimsModel,
    pub(super) sales_in_progress: usize,
    pub(super) report: WorkloadReport,
}

impl<'s, S: EventStore> Runner<'s, S> {
    /// The runner of retailer `index`, drawing everything from `seed`.
    pub(super) fn new(
        service: &'s CommandService<S>,
        workload: &Workload,
        index: usize,
        seed: u64,
    ) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let shapes = [("AUD", "INV", "SN"), ("NZD", "NZ", "NS")];
        let (currency, invoice_prefix, serial_prefix) = shapes[index % shapes.len()];
        let staff = ["Alex", "Sam", "Jo", "Priya"]
            .iter()
            .enumerate()
            .map(|(n, name)| Actor {
                kind: ActorKind::User,
                id: format!("staff-{}", n + 1),
                display_name: (*name).to_owned(),
            })
            .collect();
        let customers = [
            "Ada Lovelace",
            "Grace Hopper",
            "Alan Turing",
            "Edsger Dijkstra",
        ]
        .iter()
        .map(|name| Customer {
            customer_id: CustomerId(random_uuid(&mut rng)),
            name: (*name).to_owned(),
        })
        .collect();
        let tenant = Tenant {
            tenant_id: TenantId(random_uuid(&mut rng)),
            currency,
            invoice_prefix,
            serial_prefix,
            outlets: (0..OUTLETS)
                .map(|_| OutletId(random_uuid(&mut rng)))
                .collect(),
            staff,
            customers,
            items: Vec::new(),
            toggled: Vec::new(),
            auto_prompt: false,
            aggregate: true,
            sales: Vec::new(),
            invoices: Vec::new(),
            next_invoice: 1000,
            next_serial: 1,
            released: Vec::new(),
            to_reissue: Vec::new(),
            reissued: Vec::new(),
        };
        let report = WorkloadReport {
            seed: workload.seed,
            tenants: vec![tenant.tenant_id],
            ..WorkloadReport::default()
        };
        Self {
            service,
            index,
            rng,
            tenant,
            claims: ClaimsModel::new(),
            sales_in_progress: workload.sales_in_progress,
            report,
        }
    }

    /// Sets the retailer up, then runs steps until it has written `target_events` events.
    pub(super) async fn run(mut self, target_events: u64) -> Result<WorkloadReport, WorkloadError> {
        self.set_up().await?;
        let most_steps = target_events.saturating_mul(10).saturating_add(10_000);
        let mut steps = 0u64;
        while self.report.events_written < target_events {
            steps += 1;
            if steps > most_steps {
                return Err(WorkloadError::Stalled {
                    steps,
                    events: self.report.events_written,
                });
            }
            self.step().await?;
        }
        Ok(self.report)
    }

    pub(super) fn uuid(&mut self) -> Uuid {
        random_uuid(&mut self.rng)
    }

    pub(super) fn context(
        &mut self,
        channel: Channel,
        actor: Actor,
        outlet_id: Option<OutletId>,
        correlation_id: Uuid,
    ) -> CommandContext {
        CommandContext {
            tenant_id: self.tenant.tenant_id,
            metadata: CommandMetadata {
                command_id: CommandId(self.uuid()),
                correlation_id,
                causation_id: None,
                actor,
                channel,
                outlet_id,
            },
        }
    }

    pub(super) fn back_office(&mut self) -> CommandContext {
        let actor = Actor {
            kind: ActorKind::User,
            id: "manager".to_owned(),
            display_name: "Store manager".to_owned(),
        };
        let correlation_id = self.uuid();
        self.context(Channel::BackOffice, actor, None, correlation_id)
    }

    // ---- outcomes ---------------------------------------------------------------------------

    /// A command that must succeed: counts it, or stops the run.
    pub(super) fn accepted(
        &mut self,
        command: impl FnOnce() -> String,
        result: Result<CommandOutcome, CommandError>,
    ) -> Result<CommandOutcome, WorkloadError> {
        let outcome = result.map_err(|error| WorkloadError::Failed {
            command: command(),
            error: Box::new(error),
        })?;
        let report = &mut self.report;
        report.commands_ok += 1;
        if outcome.deduplicated() {
            report.commands_deduplicated += 1;
            return Ok(outcome);
        }
        if outcome.append.is_none() {
            report.commands_unchanged += 1;
        }
        report.events_written += outcome.events.len() as u64;
        for event in &outcome.events {
            match event {
                LedgerEvent::ProductCreated(_) => report.products_created += 1,
                LedgerEvent::SaleOpened(_) => report.sales_opened += 1,
                LedgerEvent::LineAdded(_) => report.lines_added += 1,
                LedgerEvent::SerialAssigned(_) => report.serials_assigned += 1,
                LedgerEvent::SerialRemoved(_) => report.serials_removed += 1,
                LedgerEvent::LineFulfilled(_) => report.lines_fulfilled += 1,
                LedgerEvent::LineReturned(_) => report.returns += 1,
                LedgerEvent::LineReissued(_) => report.reissues += 1,
                _ => {}
            }
        }
        Ok(outcome)
    }

    /// A deliberate mistake: it must be refused, and `check` must recognise the refusal.
    pub(super) fn refused(
        &mut self,
        command: impl FnOnce() -> String,
        expected: &str,
        result: Result<CommandOutcome, CommandError>,
        check: impl FnOnce(&CommandError) -> bool,
    ) -> Result<(), WorkloadError> {
        match result {
            Err(error) if check(&error) => {
                *self
                    .report
                    .commands_refused_by_code
                    .entry(error.code())
                    .or_default() += 1;
                Ok(())
            }
            Err(error) => Err(WorkloadError::WrongRefusal {
                command: command(),
                expected: expected.to_owned(),
                error: Box::new(error),
            }),
            Ok(_) => Err(WorkloadError::NotRefused {
                command: command(),
                expected: expected.to_owned(),
            }),
        }
    }

    /// Records a sale's new events in the model: its state and the claims they move.
    pub(super) fn apply(
        &mut self,
        sale: usize,
        outcome: &CommandOutcome,
    ) -> Result<(), WorkloadError> {
        if outcome.deduplicated() {
            return Ok(());
        }
        let in_progress = &mut self.tenant.sales[sale];
        let changes = claims::claims_for(Some(&in_progress.sale), &outcome.events);
        in_progress.sale = SaleDecider::evolve_all(Some(in_progress.sale.clone()), &outcome.events)
            .ok_or_else(|| WorkloadError::Diverged("a sale's events closed the sale".into()))?;
        self.apply_claims(changes)
    }

    pub(super) fn apply_claims(
        &mut self,
        changes: Vec<claims::ClaimChange>,
    ) -> Result<(), WorkloadError> {
        let tenant_model = &mut self.tenant;
        let tenant_id = tenant_model.tenant_id;
        let (releases, takes): (Vec<_>, Vec<_>) = changes
            .into_iter()
            .partition(|change| change.action == ClaimAction::Release);
        for change in releases {
            let key = (tenant_id, change.scope, change.key);
            if self.claims.get(&key) != Some(&change.owner) {
                return Err(WorkloadError::Diverged(format!(
                    "{} released {} {}, which it did not hold",
                    change.owner.to_owner_string(),
                    key.1,
                    key.2
                )));
            }
            self.claims.remove(&key);
            if change.scope == ClaimScope::Serial {
                tenant_model.released.push(key.2);
                if tenant_model.released.len() > 200 {
                    tenant_model.released.remove(0);
                }
            }
        }
        for change in takes {
            let key = (tenant_id, change.scope, change.key);
            if let Some(holder) = self
                .claims
                .get(&key)
                .filter(|holder| **holder != change.owner)
            {
                return Err(WorkloadError::Diverged(format!(
                    "{} took {} {}, held by {}",
                    change.owner.to_owner_string(),
                    key.1,
                    key.2,
                    holder.to_owner_string()
                )));
            }
            self.claims.insert(key, change.owner);
        }
        Ok(())
    }

    /// Live serial claims of `product_id`, other than `except`'s line.
    pub(super) fn live_serials(
        &self,
        product_id: ProductId,
        except: (SaleId, LineNumber),
    ) -> Vec<(String, ClaimOwner)> {
        let tenant_id = self.tenant.tenant_id;
        let from = (tenant_id, ClaimScope::Serial, format!("{product_id}/"));
        // '0' follows '/' in ASCII: the range holds exactly the keys "{product_id}/...".
        let to = (tenant_id, ClaimScope::Serial, format!("{product_id}0"));
        self.claims
            .range(from..to)
            .filter(|(_, owner)| (owner.sale_id, owner.line_number) != (except.0, Some(except.1)))
            .filter_map(|((_, _, key), owner)| {
                key.split_once('/')
                    .map(|(_, serial)| (serial.to_owned(), owner.clone()))
            })
            .collect()
    }

    pub(super) fn fresh_serial(&mut self) -> String {
        let model = &mut self.tenant;
        let serial = format!("{}{:08}", model.serial_prefix, model.next_serial);
        model.next_serial += 1;
        // Now and then as a scanner or a hurried typist gives it: the service normalises.
        if self.rng.random_bool(0.1) {
            format!("  {}  ", serial.to_lowercase())
        } else {
            serial
        }
    }

    pub(super) async fn step(&mut self) -> Result<(), WorkloadError> {
        if self.rng.random_bool(0.01) {
            return self.change_catalogue().await;
        }
        let in_progress = self.tenant.sales.len();
        if in_progress < self.sales_in_progress {
            return self.open_sale().await;
        }
        let sale = self.rng.random_range(0..in_progress);
        let action = self.choose_action(sale);
        self.perform(sale, action).await
    }

    /// A product's mode or a setting changes while sales are under way.
    pub(super) async fn change_catalogue(&mut self) -> Result<(), WorkloadError> {
        let service = self.service;
        let context = self.back_office();
        let model = &mut self.tenant;
        if self.rng.random_bool(0.5) && !model.toggled.is_empty() {
            let index = self.rng.random_range(0..model.toggled.len());
            let (product_id, _, next) = model.toggled[index];
            let set = SetSerialMode {
                serial_mode: next,
                source: SerialModeSource::BulkEdit,
            };
            let toggled = &mut model.toggled[index];
            std::mem::swap(&mut toggled.1, &mut toggled.2);
            let result = service.set_serial_mode(&context, product_id, set).await;
            self.accepted(|| format!("set {product_id} to {next}"), result)?;
        } else {
            let change = if self.rng.random_bool(0.5) {
                model.aggregate = !model.aggregate;
                ChangeSettings {
                    aggregate_duplicate_order_items: Some(model.aggregate),
                    ..ChangeSettings::default()
                }
            } else {
                model.auto_prompt = !model.auto_prompt;
                ChangeSettings {
                    auto_prompt_serial_number: Some(model.auto_prompt),
                    ..ChangeSettings::default()
                }
            };
            let result = service.change_settings(&context, change).await;
            self.accepted(|| format!("{change:?}"), result)?;
        }
        Ok(())
    }
}
