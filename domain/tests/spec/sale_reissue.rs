//! Re-issue: after a return, the item is issued on a new invoice referencing the returned
//! line, with its own serial.

use crate::support::*;
use domain::Decider;
use domain::sale::*;
use domain::serial::SerialError;
use event_schemas::*;
use pretty_assertions::assert_eq;

/// The original sale: a phone sold with SN1, fulfilled, then returned.
fn original_sale(returned_yet: bool) -> Sale {
    let mut events = vec![
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
        fulfilled(1, &phone(), Some("SN1")),
    ];
    if returned_yet {
        events.push(returned(1, &phone(), Some("SN1"), PRICE));
    }
    SaleDecider::fold(&events).unwrap()
}

fn new_sale() -> LedgerEvent {
    opened_as(other_sale_id(), OTHER_INVOICE, SaleType::Sale)
}

fn reissue(serial: Option<&str>) -> ReissueLine {
    ReissueLine {
        original: original_sale(true).returned_line_facts(n(1)).unwrap(),
        serial: serial.map(Into::into),
    }
}

fn reissued(number: u32) -> LedgerEvent {
    LineReissued {
        line: line(number, &phone(), 1),
        reissue_of: ReturnedLineRef {
            sale_id: sale_id(),
            invoice_number: INVOICE.into(),
            line_number: n(1),
            serial: Some("SN1".into()),
        },
    }
    .into()
}

#[test]
fn the_facts_of_a_returned_line_are_read_from_the_original_sale() {
    let facts = original_sale(true).returned_line_facts(n(1)).unwrap();
    assert_eq!(
        facts,
        ReturnedLineFacts {
            sale_id: sale_id(),
            invoice_number: INVOICE.into(),
            line: line(1, &phone(), 1),
            serial: Some("SN1".into()),
            returned: true,
        }
    );
    assert_eq!(
        original_sale(true).returned_line_facts(n(5)),
        Err(SaleError::LineNotFound { line_number: n(5) })
    );
}

#[test]
fn a_returned_line_is_reissued_on_a_new_sale_with_its_own_serial() {
    let state = sale([new_sale()])
        .when(reissue(Some("sn2")))
        .then([reissued(1), assigned_as(1, &phone(), "SN2", "sn2")])
        .unwrap();
    let line = &state.lines[&n(1)];
    assert_eq!(line.serial.as_deref(), Some("SN2"));
    assert_eq!(
        line.reissue_of
            .as_ref()
            .map(|of| (of.sale_id, of.line_number)),
        Some((sale_id(), n(1)))
    );
}

#[test]
fn a_reissued_line_may_take_its_serial_later_but_before_fulfilment() {
    sale([new_sale()]).when(reissue(None)).then([reissued(1)]);
    sale([new_sale(), reissued(1)])
        .when(FulfilLines {
            lines: LineSelection::All,
        })
        .then_error(SaleError::SerialRequired { lines: vec![n(1)] });
}

#[test]
fn a_line_that_was_not_returned_cannot_be_reissued() {
    sale([new_sale()])
        .when(ReissueLine {
            original: original_sale(false).returned_line_facts(n(1)).unwrap(),
            serial: None,
        })
        .then_error(SaleError::OriginalLineNotReturned {
            invoice_number: INVOICE.into(),
            line_number: n(1),
        });
}

#[test]
fn a_reissue_goes_on_a_new_invoice_not_the_original_one() {
    sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
        fulfilled(1, &phone(), Some("SN1")),
        returned(1, &phone(), Some("SN1"), PRICE),
    ])
    .when(reissue(None))
    .then_error(SaleError::ReissueOnSameSale {
        invoice_number: INVOICE.into(),
        line_number: n(1),
    });
}

#[test]
fn a_returned_line_is_reissued_once_on_a_sale() {
    sale([new_sale(), reissued(1)])
        .when(reissue(None))
        .then_error(SaleError::AlreadyReissued {
            invoice_number: OTHER_INVOICE.into(),
            line_number: Some(n(1)),
        });
}

#[test]
fn a_cancelled_reissue_can_be_made_again() {
    sale([new_sale(), reissued(1), cancelled(1, &phone(), None)])
        .when(reissue(None))
        .then([LineReissued {
            line: line(2, &phone(), 1),
            reissue_of: ReturnedLineRef {
                sale_id: sale_id(),
                invoice_number: INVOICE.into(),
                line_number: n(1),
                serial: Some("SN1".into()),
            },
        }
        .into()]);
}

#[test]
fn a_reissue_with_a_bad_serial_is_refused() {
    sale([new_sale()])
        .when(reissue(Some("SN\u{0}1")))
        .then_error(SaleError::InvalidSerial(SerialError::ControlCharacter {
            code_point: 0,
            position: 3,
        }));
}

#[test]
fn a_reissue_with_a_serial_live_on_another_line_of_the_sale_is_refused() {
    sale([
        new_sale(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN7"),
    ])
    .when(reissue(Some("SN7")))
    .then_error(SaleError::SerialAlreadyLive {
        serial: "SN7".into(),
        invoice_number: OTHER_INVOICE.into(),
        line_number: Some(n(1)),
    });
}

#[test]
fn a_disabled_line_is_reissued_without_a_serial() {
    let original = SaleDecider::fold(&[
        opened(),
        added(1, &cable(), 2),
        fulfilled(1, &cable(), None),
        returned(1, &cable(), None, PRICE),
    ])
    .unwrap();
    let facts = original.returned_line_facts(n(1)).unwrap();
    sale([new_sale()])
        .when(ReissueLine {
            original: facts.clone(),
            serial: Some("X1".into()),
        })
        .then_error(SaleError::SerialNotAllowed { line_number: n(1) });
    sale([new_sale()])
        .when(ReissueLine {
            original: facts,
            serial: None,
        })
        .then([LineReissued {
            line: line(1, &cable(), 2),
            reissue_of: ReturnedLineRef {
                sale_id: sale_id(),
                invoice_number: INVOICE.into(),
                line_number: n(1),
                serial: None,
            },
        }
        .into()]);
}
