//! Choosing what happens next to a sale in progress, from what its lines allow: building
//! it, recording the serials still missing and fulfilling it, then maybe a return.

use super::model::*;
use super::runner::Runner;
use domain::claims::ClaimScope;
use event_schemas::{LineNumber, ProductId};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use store::EventStore;

impl<'s, S: EventStore> Runner<'s, S> {
    pub(super) fn choose_action(&mut self, sale: usize) -> Action {
        loop {
            let model = &self.tenant.sales[sale];
            let lines = LineFacts::of(&model.sale);
            let choices = match model.phase {
                Phase::Building => {
                    if model.adds_left == 0 || model.sale.lines.len() >= MAX_LINES {
                        self.tenant.sales[sale].phase = Phase::Fulfilling;
                        continue;
                    }
                    self.building_choices(sale, &lines)
                }
                Phase::Fulfilling => {
                    if lines.open.is_empty() {
                        self.tenant.sales[sale].phase = Phase::After;
                        continue;
                    }
                    self.fulfilling_choices(sale, &lines)
                }
                Phase::After => self.after_choices(sale, &lines),
            };
            return weighted(&mut self.rng, &choices);
        }
    }

    pub(super) fn building_choices(
        &mut self,
        sale: usize,
        lines: &LineFacts,
    ) -> Vec<(u32, Action)> {
        let rng = &mut self.rng;
        let mut choices = vec![
            (40, Action::Add),
            (1, Action::Mistake(Mistake::UnknownProduct)),
        ];
        if let Some(&(line, _)) = lines.tracked_without_serial.choose(rng) {
            choices.push((25, Action::AssignFresh(line)));
        }
        if let Some(&(line, _)) = lines.with_serial.choose(rng) {
            // Assigning another serial replaces the one recorded.
            choices.push((4, Action::AssignFresh(line)));
            choices.push((3, Action::RemoveSerial(line)));
        }
        if let Some(&(line, _)) = lines.with_serial.choose(rng) {
            // The same serial again, as typed: nothing to record.
            let sale = &self.tenant.sales[sale].sale;
            if let Some(serial) = sale.line(line).and_then(|line| line.serial.as_deref()) {
                choices.push((1, Action::AssignSame(line, serial.to_lowercase())));
            }
        }
        if let Some(&(line, quantity)) = lines.quantity_changeable.choose(rng) {
            let new_quantity = (quantity % 6) + 1;
            choices.push((5, Action::ChangeQuantity(line, new_quantity)));
        }
        if let Some(&line) = lines.open.choose(rng) {
            choices.push((2, Action::RemoveLine(line)));
            choices.push((1, Action::Mistake(Mistake::ReturnOpenLine(line))));
        }
        if let Some(&line) = lines.open.choose(rng) {
            choices.push((2, Action::CancelLine(line)));
        }
        if let Some(&(line, _)) = lines.tracked_open.choose(rng) {
            choices.push((1, Action::Mistake(Mistake::InvalidSerial(line))));
            choices.push((1, Action::Mistake(Mistake::RaiseTrackedQuantity(line))));
        }
        if let Some(&line) = lines.disabled_open.choose(rng) {
            choices.push((1, Action::Mistake(Mistake::SerialOnDisabledLine(line))));
        }
        if let Some(&(line, product_id)) = lines.tracked_without_serial.choose(rng)
            && let Some(serial) = self.released_serial(product_id)
        {
            choices.push((4, Action::AssignReleased(line, serial)));
        }
        choices.extend(self.duplicate_serial(sale, lines, 4));
        choices
    }

    pub(super) fn fulfilling_choices(
        &mut self,
        sale: usize,
        lines: &LineFacts,
    ) -> Vec<(u32, Action)> {
        let rng = &mut self.rng;
        let mut choices = Vec::new();
        if let Some(&(line, _)) = lines.required_without_serial.choose(rng) {
            choices.push((30, Action::AssignFresh(line)));
            let missing = lines
                .required_without_serial
                .iter()
                .map(|(line, _)| *line)
                .collect();
            choices.push((3, Action::Mistake(Mistake::FulfilWithoutSerials(missing))));
        } else {
            choices.push((30, Action::FulfilAll));
        }
        if let Some(&(line, _)) = lines.optional_without_serial.choose(rng) {
            choices.push((6, Action::AssignFresh(line)));
        }
        if !lines.ready.is_empty() {
            let count = rng.random_range(1..=lines.ready.len());
            let mut some: Vec<LineNumber> =
                lines.ready.choose_multiple(rng, count).copied().collect();
            some.sort();
            choices.push((5, Action::FulfilSome(some)));
        }
        choices.extend(self.duplicate_serial(sale, lines, 2));
        choices
    }

    pub(super) fn after_choices(&mut self, sale: usize, lines: &LineFacts) -> Vec<(u32, Action)> {
        let rng = &mut self.rng;
        let mut choices = vec![(50, Action::Finish)];
        if !self.tenant.sales[sale].returned && !lines.fulfilled.is_empty() {
            let count = rng.random_range(1..=lines.fulfilled.len().min(3));
            let mut units: Vec<LineNumber> = lines
                .fulfilled
                .choose_multiple(rng, count)
                .copied()
                .collect();
            units.shuffle(rng);
            choices.push((35, Action::Return(units)));
        }
        if let Some(&line) = lines.returned.choose(rng) {
            choices.push((3, Action::Mistake(Mistake::ReturnTwice(line))));
        }
        choices
    }

    /// A serial of the same product live on another line, for an open tracked line.
    pub(super) fn duplicate_serial(
        &mut self,
        sale: usize,
        lines: &LineFacts,
        weight: u32,
    ) -> Option<(u32, Action)> {
        let &(line, product_id) = lines.tracked_open.choose(&mut self.rng)?;
        let sale_id = self.tenant.sales[sale].sale.sale_id;
        let live = self.live_serials(product_id, (sale_id, line));
        let (serial, holder) = live.choose(&mut self.rng)?.clone();
        Some((
            weight,
            Action::Mistake(Mistake::DuplicateSerial {
                line,
                serial,
                holder,
            }),
        ))
    }

    /// A serial of `product_id` released earlier and not live now.
    pub(super) fn released_serial(&mut self, product_id: ProductId) -> Option<String> {
        let model = &self.tenant;
        let prefix = format!("{product_id}/");
        let candidates: Vec<&String> = model
            .released
            .iter()
            .filter(|key| key.starts_with(&prefix))
            .filter(|key| {
                !self
                    .claims
                    .contains_key(&(model.tenant_id, ClaimScope::Serial, (*key).clone()))
            })
            .collect();
        let key = candidates.choose(&mut self.rng)?;
        key.split_once('/').map(|(_, serial)| serial.to_owned())
    }
}
