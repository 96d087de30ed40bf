//! The deliberate mistakes, each with the refusal that must answer it.

use super::WorkloadError;
use super::model::*;
use super::runner::Runner;
use application::commands::CommandError;
use domain::sale::{
    AssignSerial, ChangeLineQuantity, FulfilLines, LineSelection, ReturnUnit, ReturnUnits,
    SaleError, UnitSelector,
};
use event_schemas::{Channel, Money, ProductId};
use store::EventStore;

impl<'s, S: EventStore> Runner<'s, S> {
    pub(super) async fn mistake(
        &mut self,
        sale: usize,
        mistake: Mistake,
    ) -> Result<(), WorkloadError> {
        let service = self.service;
        let sale_id = self.tenant.sales[sale].sale.sale_id;
        let context = self.sale_context(sale, Channel::Pos);
        let label = format!("{mistake:?} on {sale_id}");
        match mistake {
            Mistake::DuplicateSerial {
                line,
                serial,
                holder,
            } => {
                let assign = AssignSerial {
                    line_number: line,
                    serial: serial.clone(),
                };
                let result = service.assign_serial(&context, sale_id, assign).await;
                self.refused(
                    || label,
                    "SerialAlreadyLive naming the holder's invoice and line",
                    result,
                    |error| {
                        matches!(error, CommandError::Sale(SaleError::SerialAlreadyLive { serial: refused, invoice_number, line_number })
                            if *refused == serial
                                && *invoice_number == holder.invoice_number
                                && *line_number == holder.line_number)
                    },
                )
            }
            Mistake::InvalidSerial(line) => {
                let assign = AssignSerial {
                    line_number: line,
                    serial: "AB 12".into(),
                };
                let result = service.assign_serial(&context, sale_id, assign).await;
                self.refused(
                    || label,
                    "InvalidSerial",
                    result,
                    |error| matches!(error, CommandError::Sale(SaleError::InvalidSerial(_))),
                )
            }
            Mistake::SerialOnDisabledLine(line) => {
                let serial = self.fresh_serial();
                let assign = AssignSerial {
                    line_number: line,
                    serial,
                };
                let result = service.assign_serial(&context, sale_id, assign).await;
                self.refused(|| label, "SerialNotAllowed", result, |error| {
                    matches!(error, CommandError::Sale(SaleError::SerialNotAllowed { line_number }) if *line_number == line)
                })
            }
            Mistake::RaiseTrackedQuantity(line) => {
                let change = ChangeLineQuantity {
                    line_number: line,
                    quantity: 2,
                };
                let result = service
                    .change_line_quantity(&context, sale_id, change)
                    .await;
                self.refused(|| label, "SplitLineRequired", result, |error| {
                    matches!(error, CommandError::Sale(SaleError::SplitLineRequired { line_number }) if *line_number == line)
                })
            }
            Mistake::FulfilWithoutSerials(missing) => {
                let fulfil = FulfilLines {
                    lines: LineSelection::All,
                };
                let result = service.fulfil_lines(&context, sale_id, fulfil).await;
                self.refused(|| label, "SerialRequired listing the lines", result, |error| {
                    matches!(error, CommandError::Sale(SaleError::SerialRequired { lines }) if *lines == missing)
                })
            }
            Mistake::ReturnOpenLine(line) | Mistake::ReturnTwice(line) => {
                let currency = self.tenant.currency.to_owned();
                let units = ReturnUnits {
                    units: vec![ReturnUnit {
                        unit: UnitSelector::Line(line),
                        refund: Money {
                            amount_minor: 0,
                            currency,
                        },
                    }],
                    reason: None,
                };
                let result = service.return_units(&context, sale_id, units).await;
                self.refused(|| label, "LineNotFulfilled or AlreadyReturned", result, |error| {
                    matches!(
                        error,
                        CommandError::Sale(SaleError::LineNotFulfilled { line_number } | SaleError::AlreadyReturned { line_number })
                            if *line_number == line
                    )
                })
            }
            Mistake::UnknownProduct => {
                let unknown = ProductId(self.uuid());
                let price = Money {
                    amount_minor: 100,
                    currency: self.tenant.currency.to_owned(),
                };
                let result = service.add_item(&context, sale_id, unknown, 1, price).await;
                self.refused(|| label, "NotFound naming the product", result, |error| {
                    matches!(error, CommandError::NotFound { what: "product", id } if *id == unknown.to_string())
                })
            }
        }
    }
}
