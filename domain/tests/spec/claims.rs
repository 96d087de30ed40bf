//! Claims: serials live on one line at a time across all sales of a retailer, invoice
//! numbers unique per retailer, a returned line re-issued once.

use crate::support::*;
use domain::Decider;
use domain::claims::*;
use domain::sale::*;
use event_schemas::*;
use pretty_assertions::assert_eq;

fn owner(sale_id: SaleId, invoice: &str, line: Option<u32>) -> ClaimOwner {
    ClaimOwner {
        sale_id,
        invoice_number: invoice.into(),
        line_number: line.map(n),
    }
}

fn change(action: ClaimAction, scope: ClaimScope, key: String, owner: ClaimOwner) -> ClaimChange {
    ClaimChange {
        action,
        scope,
        key,
        owner,
    }
}

fn serial_of_phone(serial: &str) -> String {
    serial_key(phone().product_id, serial)
}

fn ours(line: u32) -> ClaimOwner {
    owner(sale_id(), INVOICE, Some(line))
}

fn claims_after(history: &[LedgerEvent], new: &[LedgerEvent]) -> Vec<ClaimChange> {
    let before = SaleDecider::fold(history);
    claims_for(before.as_ref(), new)
}

/// Decides `command` on `history`, then applies its claims to `table`, as the command
/// service and the store will; a claim conflict becomes the typed error.
fn decide_and_claim(
    table: &mut ClaimsTable,
    history: &[LedgerEvent],
    command: impl Into<SaleCommand>,
) -> Result<Vec<LedgerEvent>, SaleError> {
    let state = SaleDecider::fold(history);
    let events = SaleDecider::decide(&state, command.into())?;
    let changes = claims_for(state.as_ref(), &events);
    table.apply(&changes)?;
    Ok(events)
}

#[test]
fn opening_a_sale_claims_its_invoice_number_ignoring_case_and_spaces() {
    let opened_lower = opened_as(sale_id(), " inv-1042", SaleType::Sale);
    assert_eq!(
        claims_for(None, &[opened_lower]),
        vec![change(
            ClaimAction::Claim,
            ClaimScope::InvoiceNumber,
            "INV-1042".into(),
            owner(sale_id(), " inv-1042", None),
        )]
    );
}

#[test]
fn a_second_sale_with_the_same_invoice_number_is_refused() {
    let mut table = ClaimsTable::default();
    decide_and_claim(&mut table, &[], open_sale()).unwrap();
    let error = decide_and_claim(
        &mut table,
        &[],
        OpenSale {
            sale_id: other_sale_id(),
            invoice_number: "inv-1042".into(),
            ..open_sale()
        },
    )
    .unwrap_err();
    assert_eq!(
        error,
        SaleError::InvoiceNumberTaken {
            invoice_number: "inv-1042".into()
        }
    );
    assert_eq!(error.code(), "INVOICE_NUMBER_TAKEN");
}

#[test]
fn assigning_a_serial_claims_it_for_the_product_and_replacing_it_releases_the_old_one() {
    let history = [opened(), added(1, &phone(), 1)];
    assert_eq!(
        claims_after(&history, &[assigned(1, &phone(), "SN1")]),
        vec![change(
            ClaimAction::Claim,
            ClaimScope::Serial,
            serial_of_phone("SN1"),
            ours(1)
        )]
    );
    let history = [
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ];
    assert_eq!(
        claims_after(
            &history,
            &[
                serial_removed(1, &phone(), "SN1"),
                assigned(1, &phone(), "SN2")
            ]
        ),
        vec![
            change(
                ClaimAction::Release,
                ClaimScope::Serial,
                serial_of_phone("SN1"),
                ours(1)
            ),
            change(
                ClaimAction::Claim,
                ClaimScope::Serial,
                serial_of_phone("SN2"),
                ours(1)
            ),
        ]
    );
}

#[test]
fn removing_cancelling_or_returning_a_line_releases_its_serial_and_fulfilling_keeps_it() {
    let history = [
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ];
    let release = vec![change(
        ClaimAction::Release,
        ClaimScope::Serial,
        serial_of_phone("SN1"),
        ours(1),
    )];
    assert_eq!(claims_after(&history, &[removed(1, Some("SN1"))]), release);
    assert_eq!(
        claims_after(&history, &[cancelled(1, &phone(), Some("SN1"))]),
        release
    );
    assert_eq!(
        claims_after(&history, &[fulfilled(1, &phone(), Some("SN1"))]),
        vec![]
    );
    let mut sold = history.to_vec();
    sold.push(fulfilled(1, &phone(), Some("SN1")));
    assert_eq!(
        claims_after(&sold, &[returned(1, &phone(), Some("SN1"), PRICE)]),
        release
    );
}

#[test]
fn the_same_serial_cannot_be_live_on_two_sales_and_the_error_names_the_sale_and_line() {
    let mut table = ClaimsTable::default();
    let first = [opened(), added(1, &cable(), 1), added(2, &phone(), 1)];
    decide_and_claim(&mut table, &[], open_sale()).unwrap();
    decide_and_claim(
        &mut table,
        &first,
        AssignSerial {
            line_number: n(2),
            serial: "abc123".into(),
        },
    )
    .unwrap();

    let second = [
        opened_as(other_sale_id(), OTHER_INVOICE, SaleType::Sale),
        added(1, &phone(), 1),
    ];
    let error = decide_and_claim(
        &mut table,
        &second,
        AssignSerial {
            line_number: n(1),
            serial: "ABC123".into(),
        },
    )
    .unwrap_err();
    assert_eq!(
        error,
        SaleError::SerialAlreadyLive {
            serial: "ABC123".into(),
            invoice_number: INVOICE.into(),
            line_number: Some(n(2)),
        }
    );
    assert_eq!(
        error.to_string(),
        "serial ABC123 is already on invoice INV-1042 line 2"
    );
    assert_eq!(error.code(), "SERIAL_ALREADY_ASSIGNED");
}

#[test]
fn after_a_return_the_serial_may_be_sold_again_on_another_sale() {
    let mut table = ClaimsTable::default();
    let mut first = vec![opened(), added(1, &phone(), 1)];
    table.apply(&claims_after(&[], &first)).unwrap();
    for event in [
        assigned(1, &phone(), "SN1"),
        fulfilled(1, &phone(), Some("SN1")),
        returned(1, &phone(), Some("SN1"), PRICE),
    ] {
        table
            .apply(&claims_after(&first, std::slice::from_ref(&event)))
            .unwrap();
        first.push(event);
    }
    let second = [
        opened_as(other_sale_id(), OTHER_INVOICE, SaleType::Sale),
        added(1, &phone(), 1),
    ];
    table.apply(&claims_after(&[], &second[..1])).unwrap();
    decide_and_claim(
        &mut table,
        &second,
        AssignSerial {
            line_number: n(1),
            serial: "SN1".into(),
        },
    )
    .unwrap();
}

#[test]
fn a_returned_line_is_reissued_at_most_once_across_sales() {
    let original = SaleDecider::fold(&[
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
        fulfilled(1, &phone(), Some("SN1")),
        returned(1, &phone(), Some("SN1"), PRICE),
    ])
    .unwrap();
    let reissue = || ReissueLine {
        original: original.returned_line_facts(n(1)).unwrap(),
        serial: None,
    };
    let mut table = ClaimsTable::default();
    let second = [opened_as(other_sale_id(), OTHER_INVOICE, SaleType::Sale)];
    let events = decide_and_claim(&mut table, &second, reissue()).unwrap();
    assert_eq!(
        claims_after(&second, &events),
        vec![change(
            ClaimAction::Claim,
            ClaimScope::Reissue,
            reissue_key(sale_id(), n(1)),
            owner(other_sale_id(), OTHER_INVOICE, Some(1)),
        )]
    );

    let third_id = SaleId(id(5));
    let third = [opened_as(third_id, "INV-3000", SaleType::Sale)];
    let error = decide_and_claim(&mut table, &third, reissue()).unwrap_err();
    assert_eq!(
        error,
        SaleError::AlreadyReissued {
            invoice_number: OTHER_INVOICE.into(),
            line_number: Some(n(1)),
        }
    );
    assert_eq!(
        error.to_string(),
        "this returned unit was already re-issued on invoice INV-2000 line 1"
    );
}

#[test]
fn cancelling_a_reissued_line_releases_its_reissue_claim() {
    let mut second = vec![opened_as(other_sale_id(), OTHER_INVOICE, SaleType::Sale)];
    second.push(
        LineReissued {
            line: line(1, &phone(), 1),
            reissue_of: ReturnedLineRef {
                sale_id: sale_id(),
                invoice_number: INVOICE.into(),
                line_number: n(1),
                serial: Some("SN1".into()),
            },
        }
        .into(),
    );
    second.push(assigned(1, &phone(), "SN2"));
    let other = |line| owner(other_sale_id(), OTHER_INVOICE, Some(line));
    assert_eq!(
        claims_after(&second, &[cancelled(1, &phone(), Some("SN2"))]),
        vec![
            change(
                ClaimAction::Release,
                ClaimScope::Serial,
                serial_of_phone("SN2"),
                other(1)
            ),
            change(
                ClaimAction::Release,
                ClaimScope::Reissue,
                reissue_key(sale_id(), n(1)),
                other(1)
            ),
        ]
    );
    let state = SaleDecider::fold(&second).unwrap();
    assert_eq!(
        live_claims(&state),
        vec![
            change(
                ClaimAction::Claim,
                ClaimScope::InvoiceNumber,
                OTHER_INVOICE.into(),
                owner(other_sale_id(), OTHER_INVOICE, None)
            ),
            change(
                ClaimAction::Claim,
                ClaimScope::Serial,
                serial_of_phone("SN2"),
                other(1)
            ),
            change(
                ClaimAction::Claim,
                ClaimScope::Reissue,
                reissue_key(sale_id(), n(1)),
                other(1)
            ),
        ]
    );
}

#[test]
fn claims_of_a_sale_never_opened_are_none() {
    assert_eq!(claims_for(None, &[added(1, &phone(), 1)]), vec![]);
}

#[test]
fn a_claim_owner_reads_back_from_its_text_form() {
    for owner in [
        owner(sale_id(), INVOICE, Some(2)),
        owner(sale_id(), "weird|invoice|no", None),
    ] {
        let text = owner.to_owner_string();
        assert_eq!(ClaimOwner::parse(&text), Ok(owner));
    }
    assert_eq!(
        owner(sale_id(), INVOICE, Some(2)).to_owner_string(),
        "v1|01900000-0000-7000-8000-000000000001|2|INV-1042"
    );
}

#[test]
fn text_that_is_not_a_claim_owner_is_refused() {
    for text in [
        "",
        "v2|01900000-0000-7000-8000-000000000001|2|INV",
        "v1|not-a-uuid|2|INV",
        "v1|01900000-0000-7000-8000-000000000001|two|INV",
        "v1|01900000-0000-7000-8000-000000000001|2",
    ] {
        assert_eq!(
            ClaimOwner::parse(text),
            Err(InvalidClaimOwner { text: text.into() }),
            "{text}"
        );
    }
}

#[test]
fn claim_scopes_have_stable_names() {
    let names: Vec<&str> = ClaimScope::ALL.iter().map(|scope| scope.as_str()).collect();
    assert_eq!(names, ["serial", "invoice-number", "reissue"]);
    for scope in ClaimScope::ALL {
        assert_eq!(ClaimScope::parse(scope.as_str()), Some(scope));
    }
    assert_eq!(ClaimScope::parse("other"), None);
}

#[test]
fn a_serial_conflict_reported_by_the_store_becomes_the_typed_error() {
    let claim = change(
        ClaimAction::Claim,
        ClaimScope::Serial,
        serial_of_phone("ABC123"),
        owner(other_sale_id(), OTHER_INVOICE, Some(1)),
    );
    let holder = ClaimOwner::parse("v1|01900000-0000-7000-8000-000000000001|2|INV-1042").unwrap();
    assert_eq!(
        SaleError::from_claim_conflict(&claim, &holder).to_string(),
        "serial ABC123 is already on invoice INV-1042 line 2"
    );
}
