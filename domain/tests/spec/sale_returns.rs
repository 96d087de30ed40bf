//! Returns and refunds of exact units.

use crate::support::*;
use domain::sale::*;
use domain::validation::{FieldRule, InvalidField};
use event_schemas::*;
use pretty_assertions::assert_eq;

/// Three phones sold and fulfilled, each with its serial.
fn three_phones_sold() -> Vec<LedgerEvent> {
    let mut events = vec![opened()];
    for (line, serial) in [(1, "SN1"), (2, "SN2"), (3, "SN3")] {
        events.push(added(line, &phone(), 1));
        events.push(assigned(line, &phone(), serial));
    }
    for (line, serial) in [(1, "SN1"), (2, "SN2"), (3, "SN3")] {
        events.push(fulfilled(line, &phone(), Some(serial)));
    }
    events
}

fn by_line(line: u32, refund: i64) -> ReturnUnit {
    ReturnUnit {
        unit: UnitSelector::Line(n(line)),
        refund: aud(refund),
    }
}

fn by_serial(serial: &str, refund: i64) -> ReturnUnit {
    ReturnUnit {
        unit: UnitSelector::Serial {
            product_id: phone().product_id,
            serial: serial.into(),
        },
        refund: aud(refund),
    }
}

fn return_units(units: Vec<ReturnUnit>) -> ReturnUnits {
    ReturnUnits {
        units,
        reason: None,
    }
}

#[test]
fn a_unit_is_returned_by_its_line_number() {
    sale(three_phones_sold())
        .when(return_units(vec![by_line(2, PRICE)]))
        .then([returned(2, &phone(), Some("SN2"), PRICE)]);
}

#[test]
fn a_unit_is_returned_by_its_serial_number_as_typed() {
    sale(three_phones_sold())
        .when(ReturnUnits {
            units: vec![by_serial(" sn3 ", 5_000)],
            reason: Some("faulty screen".into()),
        })
        .then([LineReturned {
            line_number: n(3),
            product_id: phone().product_id,
            serial: Some("SN3".into()),
            refund: aud(5_000),
            reason: Some("faulty screen".into()),
        }
        .into()]);
}

#[test]
fn returning_one_of_several_identical_units_leaves_the_others_untouched() {
    let state = sale(three_phones_sold())
        .when(return_units(vec![by_serial("SN2", PRICE)]))
        .then([returned(2, &phone(), Some("SN2"), PRICE)])
        .unwrap();
    assert_eq!(state.lines[&n(1)].status, LineStatus::Fulfilled);
    assert_eq!(state.lines[&n(2)].status, LineStatus::Returned);
    assert_eq!(state.lines[&n(3)].status, LineStatus::Fulfilled);
    assert_eq!(state.lines[&n(1)].live_serial(), Some("SN1"));
    assert_eq!(state.lines[&n(2)].live_serial(), None);
}

#[test]
fn several_units_can_be_returned_at_once() {
    sale(three_phones_sold())
        .when(return_units(vec![
            by_line(3, PRICE),
            by_serial("SN1", PRICE),
        ]))
        .then([
            returned(3, &phone(), Some("SN3"), PRICE),
            returned(1, &phone(), Some("SN1"), PRICE),
        ]);
}

#[test]
fn a_returned_unit_cannot_be_returned_twice() {
    let mut given = three_phones_sold();
    given.push(returned(2, &phone(), Some("SN2"), PRICE));
    sale(given.clone())
        .when(return_units(vec![by_line(2, PRICE)]))
        .then_error(SaleError::AlreadyReturned { line_number: n(2) });
    sale(given)
        .when(return_units(vec![by_serial("SN2", PRICE)]))
        .then_error(SaleError::AlreadyReturned { line_number: n(2) });
}

#[test]
fn the_same_unit_selected_twice_in_one_return_is_refused() {
    sale(three_phones_sold())
        .when(return_units(vec![
            by_line(2, PRICE),
            by_serial("SN2", PRICE),
        ]))
        .then_error(SaleError::LineSelectedTwice { line_number: n(2) });
}

#[test]
fn an_unfulfilled_line_cannot_be_returned_cancel_it_instead() {
    let error = sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(return_units(vec![by_line(1, PRICE)]))
    .result()
    .unwrap_err();
    assert_eq!(error, SaleError::LineNotFulfilled { line_number: n(1) });
    assert_eq!(error.code(), "LINE_NOT_FULFILLED");
}

#[test]
fn a_cancelled_line_cannot_be_returned() {
    sale([
        opened(),
        added(1, &cable(), 1),
        cancelled(1, &cable(), None),
    ])
    .when(return_units(vec![by_line(1, 0)]))
    .then_error(SaleError::LineClosed {
        line_number: n(1),
        status: LineStatus::Cancelled,
    });
}

#[test]
fn returning_a_serial_the_sale_never_had_is_refused() {
    sale(three_phones_sold())
        .when(return_units(vec![by_serial("SN9", PRICE)]))
        .then_error(SaleError::SerialNotOnSale {
            serial: "SN9".into(),
        });
}

#[test]
fn returning_by_malformed_serial_text_is_refused() {
    sale(three_phones_sold())
        .when(return_units(vec![by_serial("SN 1", PRICE)]))
        .then_error(SaleError::InvalidSerial(
            domain::serial::SerialError::Whitespace { position: 3 },
        ));
}

#[test]
fn a_return_must_select_at_least_one_unit() {
    sale(three_phones_sold())
        .when(return_units(vec![]))
        .then_error(InvalidField::new("units", FieldRule::Empty).into());
}

#[test]
fn a_refund_in_another_currency_than_the_line_is_refused() {
    sale(three_phones_sold())
        .when(return_units(vec![ReturnUnit {
            unit: UnitSelector::Line(n(1)),
            refund: Money {
                amount_minor: 100,
                currency: "NZD".into(),
            },
        }]))
        .then_error(
            InvalidField::new(
                "units[0].refund.currency",
                FieldRule::CurrencyMismatch {
                    expected: "AUD".into(),
                },
            )
            .into(),
        );
}

#[test]
fn a_negative_refund_is_refused() {
    sale(three_phones_sold())
        .when(return_units(vec![by_line(1, PRICE), by_line(2, -5)]))
        .then_error(InvalidField::new("units[1].refund.amount_minor", FieldRule::Negative).into());
}

#[test]
fn a_refund_above_the_line_total_is_refused() {
    sale(three_phones_sold())
        .when(return_units(vec![by_line(1, PRICE + 1)]))
        .then_error(
            InvalidField::new(
                "units[0].refund.amount_minor",
                FieldRule::TooLarge { max: PRICE as u64 },
            )
            .into(),
        );
}

#[test]
fn a_disabled_line_of_several_units_is_returned_whole_up_to_its_total() {
    sale([
        opened(),
        added(1, &cable(), 3),
        fulfilled(1, &cable(), None),
    ])
    .when(return_units(vec![by_line(1, 3 * PRICE)]))
    .then([returned(1, &cable(), None, 3 * PRICE)]);
}
