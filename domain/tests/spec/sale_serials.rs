//! Serial numbers on sale lines: assignment, normalisation, removal, uniqueness, freezing.

use crate::support::*;
use domain::sale::*;
use domain::serial::{MAX_SCANNED_LENGTH, SerialError};
use event_schemas::SerialRemoved;
use pretty_assertions::assert_eq;

fn assign(line: u32, serial: &str) -> AssignSerial {
    AssignSerial {
        line_number: n(line),
        serial: serial.into(),
    }
}

#[test]
fn a_serial_can_be_assigned_to_a_required_line() {
    let state = sale([opened(), added(1, &phone(), 1)])
        .when(assign(1, "SN1"))
        .then([assigned(1, &phone(), "SN1")]);
    assert_eq!(state.unwrap().lines[&n(1)].serial.as_deref(), Some("SN1"));
}

#[test]
fn a_serial_can_be_assigned_to_an_optional_line() {
    sale([opened(), added(1, &laptop(), 1)])
        .when(assign(1, "LT-77"))
        .then([assigned(1, &laptop(), "LT-77")]);
}

#[test]
fn a_serial_is_refused_on_a_disabled_line() {
    let error = sale([opened(), added(1, &cable(), 1)])
        .when(assign(1, "SN1"))
        .result()
        .unwrap_err();
    assert_eq!(error, SaleError::SerialNotAllowed { line_number: n(1) });
    assert_eq!(error.code(), "SERIAL_MODE_DISABLED");
}

#[test]
fn serial_text_is_trimmed_and_upper_cased_before_it_is_recorded() {
    sale([opened(), added(1, &phone(), 1)])
        .when(assign(1, "  abc-123/x \n"))
        .then([assigned_as(1, &phone(), "ABC-123/X", "  abc-123/x \n")]);
}

#[test]
fn the_text_as_scanned_is_kept_beside_the_serial_but_not_without_bound() {
    // The scanner's padding is kept for the auditor (SerialAssigned v2 `scanned`)...
    sale([opened(), added(1, &phone(), 1)])
        .when(assign(1, "sn-1\r\n"))
        .then([assigned_as(1, &phone(), "SN-1", "sn-1\r\n")]);
    // ...so padding is limited too, even around a valid serial.
    let padded = format!("{}SN-1", " ".repeat(MAX_SCANNED_LENGTH));
    sale([opened(), added(1, &phone(), 1)])
        .when(assign(1, &padded))
        .then_error(SaleError::InvalidSerial(SerialError::ScannedTooLong {
            length: MAX_SCANNED_LENGTH + 4,
            max: MAX_SCANNED_LENGTH,
        }));
}

#[test]
fn bad_serial_text_is_refused_with_an_error_naming_the_rule() {
    sale([opened(), added(1, &phone(), 1)])
        .when(assign(1, "AB C"))
        .then_error(SaleError::InvalidSerial(SerialError::Whitespace {
            position: 3,
        }));
    sale([opened(), added(1, &phone(), 1)])
        .when(assign(1, "   "))
        .then_error(SaleError::InvalidSerial(SerialError::Blank));
}

#[test]
fn assigning_to_a_line_not_on_the_sale_is_refused() {
    sale([opened(), added(1, &phone(), 1)])
        .when(assign(2, "SN1"))
        .then_error(SaleError::LineNotFound { line_number: n(2) });
}

#[test]
fn a_serial_can_be_removed_before_fulfilment() {
    let state = sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(RemoveSerial {
        line_number: n(1),
        reason: None,
    })
    .then([serial_removed(1, &phone(), "SN1")]);
    assert_eq!(state.unwrap().lines[&n(1)].serial, None);
}

#[test]
fn a_serial_removal_records_the_reason_given_trimmed() {
    sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(RemoveSerial {
        line_number: n(1),
        reason: Some("  wrong unit scanned ".into()),
    })
    .then([SerialRemoved {
        line_number: n(1),
        product_id: phone().product_id,
        serial: "SN1".into(),
        reason: Some("wrong unit scanned".into()),
    }
    .into()]);
}

#[test]
fn a_serial_removal_reason_with_control_characters_is_refused_naming_the_field() {
    let error = sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(RemoveSerial {
        line_number: n(1),
        reason: Some("bad\u{7}".into()),
    })
    .result()
    .unwrap_err();
    assert_eq!(error.code(), "VALIDATION");
    assert!(error.to_string().contains("reason"), "{error}");
}

#[test]
fn a_serial_can_be_removed_and_reassigned_freely_until_fulfilment() {
    sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
        serial_removed(1, &phone(), "SN1"),
        assigned(1, &phone(), "SN2"),
        serial_removed(1, &phone(), "SN2"),
    ])
    .when(assign(1, "SN1"))
    .then([assigned(1, &phone(), "SN1")]);
}

#[test]
fn assigning_another_serial_replaces_the_one_recorded() {
    sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(assign(1, "SN2"))
    .then([
        serial_removed(1, &phone(), "SN1"),
        assigned(1, &phone(), "SN2"),
    ]);
}

#[test]
fn assigning_the_serial_a_line_already_has_records_nothing() {
    sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(assign(1, " sn1"))
    .then_nothing();
}

#[test]
fn removing_a_serial_from_a_line_without_one_is_refused() {
    sale([opened(), added(1, &phone(), 1)])
        .when(RemoveSerial {
            line_number: n(1),
            reason: None,
        })
        .then_error(SaleError::NoSerialToRemove { line_number: n(1) });
}

#[test]
fn the_same_serial_of_the_same_product_cannot_be_live_on_two_lines_of_a_sale() {
    let error = sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &phone(), 1),
        assigned(1, &phone(), "ABC123"),
    ])
    .when(assign(2, "abc123"))
    .result()
    .unwrap_err();
    assert_eq!(
        error,
        SaleError::SerialAlreadyLive {
            serial: "ABC123".into(),
            invoice_number: INVOICE.into(),
            line_number: Some(n(1)),
        }
    );
    assert_eq!(
        error.to_string(),
        "serial ABC123 is already on invoice INV-1042 line 1"
    );
}

#[test]
fn the_same_serial_text_on_a_different_product_is_another_unit() {
    sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &laptop(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(assign(2, "SN1"))
    .then([assigned(2, &laptop(), "SN1")]);
}

#[test]
fn a_serial_released_by_cancelling_or_removing_its_line_can_be_assigned_again() {
    sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &phone(), 1),
        assigned(1, &phone(), "SN1"),
        cancelled(1, &phone(), Some("SN1")),
    ])
    .when(assign(2, "SN1"))
    .then([assigned(2, &phone(), "SN1")]);

    sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &phone(), 1),
        assigned(1, &phone(), "SN1"),
        removed(1, Some("SN1")),
    ])
    .when(assign(2, "SN1"))
    .then([assigned(2, &phone(), "SN1")]);
}

#[test]
fn a_serial_that_was_fulfilled_stays_live() {
    sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &phone(), 1),
        assigned(1, &phone(), "SN1"),
        fulfilled(1, &phone(), Some("SN1")),
    ])
    .when(assign(2, "SN1"))
    .then_error(SaleError::SerialAlreadyLive {
        serial: "SN1".into(),
        invoice_number: INVOICE.into(),
        line_number: Some(n(1)),
    });
}

#[test]
fn after_a_return_the_serial_may_be_sold_again() {
    sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
        fulfilled(1, &phone(), Some("SN1")),
        returned(1, &phone(), Some("SN1"), PRICE),
        added(2, &phone(), 1),
    ])
    .when(assign(2, "SN1"))
    .then([assigned(2, &phone(), "SN1")]);
}

#[test]
fn after_fulfilment_the_serial_is_frozen() {
    let given = [
        opened(),
        added(1, &phone(), 1),
        added(2, &laptop(), 1),
        assigned(1, &phone(), "SN1"),
        fulfilled(1, &phone(), Some("SN1")),
        fulfilled(2, &laptop(), None),
    ];
    let error = sale(given.clone())
        .when(assign(1, "SN2"))
        .result()
        .unwrap_err();
    assert_eq!(error, SaleError::SerialFrozen { line_number: n(1) });
    assert_eq!(
        error.to_string(),
        "line 1 was fulfilled: its serial is frozen; return the unit and re-issue it on a new invoice to change it"
    );
    sale(given.clone())
        .when(RemoveSerial {
            line_number: n(1),
            reason: None,
        })
        .then_error(SaleError::SerialFrozen { line_number: n(1) });
    // An OPTIONAL line fulfilled without a serial cannot take one afterwards either.
    sale(given)
        .when(assign(2, "LT-1"))
        .then_error(SaleError::SerialFrozen { line_number: n(2) });
}

#[test]
fn a_returned_line_keeps_its_serial_frozen() {
    sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
        fulfilled(1, &phone(), Some("SN1")),
        returned(1, &phone(), Some("SN1"), PRICE),
    ])
    .when(assign(1, "SN2"))
    .then_error(SaleError::SerialFrozen { line_number: n(1) });
}

#[test]
fn a_cancelled_line_takes_no_serial() {
    sale([
        opened(),
        added(1, &phone(), 1),
        cancelled(1, &phone(), None),
    ])
    .when(assign(1, "SN1"))
    .then_error(SaleError::LineClosed {
        line_number: n(1),
        status: LineStatus::Cancelled,
    });
}
