//! Fulfilment: all lines or some; REQUIRED lines need their serial first.

use crate::support::*;
use domain::sale::*;
use domain::validation::{FieldRule, InvalidField};
use event_schemas::*;
use pretty_assertions::assert_eq;

fn all() -> FulfilLines {
    FulfilLines {
        lines: LineSelection::All,
    }
}

fn some(lines: &[u32]) -> FulfilLines {
    FulfilLines {
        lines: LineSelection::Lines(lines.iter().copied().map(n).collect()),
    }
}

#[test]
fn fulfilment_is_refused_when_a_required_serial_is_missing() {
    let error = sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &phone(), 1),
        added(3, &phone(), 1),
        assigned(2, &phone(), "SN2"),
        added(4, &cable(), 1),
    ])
    .when(all())
    .result()
    .unwrap_err();
    assert_eq!(
        error,
        SaleError::SerialRequired {
            lines: vec![n(1), n(3)]
        }
    );
    assert_eq!(
        error.to_string(),
        "lines 1, 3 must have a serial number recorded before fulfilment"
    );
}

#[test]
fn fulfilment_of_some_lines_lists_only_the_selected_lines_missing_a_serial() {
    sale([opened(), added(1, &phone(), 1), added(2, &phone(), 1)])
        .when(some(&[2]))
        .then_error(SaleError::SerialRequired { lines: vec![n(2)] });
}

#[test]
fn optional_lines_may_be_fulfilled_without_a_serial() {
    sale([opened(), added(1, &laptop(), 1), added(2, &cable(), 2)])
        .when(all())
        .then([fulfilled(1, &laptop(), None), fulfilled(2, &cable(), None)]);
}

#[test]
fn fulfilling_all_lines_fulfils_every_open_line_with_its_serial() {
    let state = sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &laptop(), 1),
        added(3, &cable(), 1),
        assigned(1, &phone(), "SN1"),
        assigned(2, &laptop(), "LT1"),
        cancelled(3, &cable(), None),
    ])
    .when(all())
    .then([
        fulfilled(1, &phone(), Some("SN1")),
        fulfilled(2, &laptop(), Some("LT1")),
    ])
    .unwrap();
    assert_eq!(state.lines[&n(1)].status, LineStatus::Fulfilled);
}

#[test]
fn fulfilling_some_lines_leaves_the_others_open() {
    let state = sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &phone(), 1),
        assigned(2, &phone(), "SN2"),
    ])
    .when(some(&[2]))
    .then([fulfilled(2, &phone(), Some("SN2"))])
    .unwrap();
    assert_eq!(state.lines[&n(1)].status, LineStatus::Open);
}

#[test]
fn a_line_already_fulfilled_cannot_be_fulfilled_again() {
    sale([
        opened(),
        added(1, &cable(), 1),
        fulfilled(1, &cable(), None),
    ])
    .when(some(&[1]))
    .then_error(SaleError::LineAlreadyFulfilled { line_number: n(1) });
}

#[test]
fn fulfilling_all_when_nothing_is_open_is_refused() {
    sale([
        opened(),
        added(1, &cable(), 1),
        fulfilled(1, &cable(), None),
    ])
    .when(all())
    .then_error(SaleError::NothingToFulfil);
}

#[test]
fn a_fulfilment_selection_must_name_lines_each_once() {
    sale([opened(), added(1, &cable(), 1)])
        .when(some(&[]))
        .then_error(InvalidField::new("lines", FieldRule::Empty).into());
    sale([opened(), added(1, &cable(), 1)])
        .when(some(&[1, 1]))
        .then_error(SaleError::LineSelectedTwice { line_number: n(1) });
    sale([opened(), added(1, &cable(), 1)])
        .when(some(&[1, 9]))
        .then_error(SaleError::LineNotFound { line_number: n(9) });
}

#[test]
fn a_lay_by_can_take_its_serial_at_any_time_before_fulfilment() {
    let lay_by = opened_as(sale_id(), INVOICE, SaleType::LayBy);
    // Added without a serial (the goods are not on hand), fulfilment waits for it...
    sale([lay_by.clone(), added(1, &phone(), 1)])
        .when(all())
        .then_error(SaleError::SerialRequired { lines: vec![n(1)] });
    // ...the serial is recorded later, and fulfilment goes ahead.
    sale([lay_by, added(1, &phone(), 1), assigned(1, &phone(), "SN1")])
        .when(all())
        .then([fulfilled(1, &phone(), Some("SN1"))]);
}

#[test]
fn a_special_order_can_take_its_serial_at_any_time_before_fulfilment() {
    let special = opened_as(sale_id(), INVOICE, SaleType::SpecialOrder);
    sale([special.clone(), added(1, &phone(), 1)])
        .when(AssignSerial {
            line_number: n(1),
            serial: "SN1".into(),
        })
        .then([assigned(1, &phone(), "SN1")]);
    sale([special, added(1, &phone(), 1), assigned(1, &phone(), "SN1")])
        .when(all())
        .then([fulfilled(1, &phone(), Some("SN1"))]);
}

fn with_serials(lines: &[(u32, Option<&str>)]) -> FulfilWithSerials {
    FulfilWithSerials {
        lines: lines
            .iter()
            .map(|(line, serial)| LineToFulfil {
                line_number: n(*line),
                serial: serial.map(str::to_owned),
            })
            .collect(),
    }
}

#[test]
fn the_warehouse_records_serials_and_fulfils_their_lines_in_one_step() {
    sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &laptop(), 1),
        added(3, &cable(), 2),
    ])
    .when(with_serials(&[(1, Some(" sn1 ")), (2, None), (3, None)]))
    .then([
        assigned_as(1, &phone(), "SN1", " sn1 "),
        fulfilled(1, &phone(), Some("SN1")),
        fulfilled(2, &laptop(), None),
        fulfilled(3, &cable(), None),
    ]);
}

#[test]
fn a_serial_scanned_at_fulfilment_replaces_the_one_recorded_earlier() {
    sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(with_serials(&[(1, Some("SN9"))]))
    .then([
        serial_removed(1, &phone(), "SN1"),
        assigned(1, &phone(), "SN9"),
        fulfilled(1, &phone(), Some("SN9")),
    ]);
}

#[test]
fn one_refused_line_refuses_the_whole_fulfilment_with_serials() {
    // Line 2 is REQUIRED and gets no serial: nothing is recorded, not even line 1's serial.
    sale([opened(), added(1, &phone(), 1), added(2, &phone(), 1)])
        .when(with_serials(&[(1, Some("SN1")), (2, None)]))
        .then_error(SaleError::SerialRequired { lines: vec![n(2)] });
    // A serial on a product that takes none.
    sale([opened(), added(1, &cable(), 1)])
        .when(with_serials(&[(1, Some("X1"))]))
        .then_error(SaleError::SerialNotAllowed { line_number: n(1) });
}

#[test]
fn two_lines_of_one_fulfilment_cannot_take_the_same_serial() {
    let error = sale([opened(), added(1, &phone(), 1), added(2, &phone(), 1)])
        .when(with_serials(&[(1, Some("SN1")), (2, Some("sn1"))]))
        .result()
        .unwrap_err();
    assert_eq!(error.code(), "SERIAL_ALREADY_ASSIGNED");
}

#[test]
fn a_fulfilment_with_serials_must_name_lines_each_once() {
    sale([opened(), added(1, &cable(), 1)])
        .when(with_serials(&[]))
        .then_error(InvalidField::new("lines", FieldRule::Empty).into());
    sale([opened(), added(1, &cable(), 1)])
        .when(with_serials(&[(1, None), (1, None)]))
        .then_error(SaleError::LineSelectedTwice { line_number: n(1) });
    sale([
        opened(),
        added(1, &cable(), 1),
        fulfilled(1, &cable(), None),
    ])
    .when(with_serials(&[(1, None)]))
    .then_error(SaleError::LineAlreadyFulfilled { line_number: n(1) });
}
