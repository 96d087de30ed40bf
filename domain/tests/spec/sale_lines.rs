//! Adding items, splitting serial-tracked quantities, aggregation, quantities, removal and
//! cancellation of lines.

use crate::support::*;
use domain::product::ProductSnapshot;
use domain::sale::*;
use domain::settings::RetailerSettings;
use domain::validation::{FieldRule, InvalidField};
use event_schemas::*;
use pretty_assertions::assert_eq;

fn aggregating(aggregate: bool) -> RetailerSettings {
    RetailerSettings {
        aggregate_duplicate_order_items: aggregate,
        ..RetailerSettings::default()
    }
}

#[test]
fn adding_a_required_product_with_quantity_three_creates_three_lines_of_one() {
    sale([opened()]).when(add(&phone(), 3)).then([
        added(1, &phone(), 1),
        added(2, &phone(), 1),
        added(3, &phone(), 1),
    ]);
}

#[test]
fn adding_an_optional_product_with_quantity_two_creates_two_lines_of_one() {
    sale([opened()])
        .when(add(&laptop(), 2))
        .then([added(1, &laptop(), 1), added(2, &laptop(), 1)]);
}

#[test]
fn adding_a_disabled_product_creates_one_line_with_the_whole_quantity() {
    sale([opened()])
        .when(add(&cable(), 3))
        .then([added(1, &cable(), 3)]);
}

#[test]
fn line_numbers_start_at_one_and_are_never_reused() {
    sale([
        opened(),
        added(1, &phone(), 1),
        added(2, &cable(), 1),
        removed(2, None),
    ])
    .when(add(&laptop(), 1))
    .then([added(3, &laptop(), 1)]);
}

#[test]
fn raising_the_quantity_of_a_serialised_line_is_refused_with_a_prompt_to_add_a_new_line() {
    let error = sale([opened(), added(1, &phone(), 1), added(2, &laptop(), 1)])
        .when(ChangeLineQuantity {
            line_number: n(2),
            quantity: 2,
        })
        .result()
        .unwrap_err();
    assert_eq!(error, SaleError::SplitLineRequired { line_number: n(2) });
    assert_eq!(
        error.to_string(),
        "line 2 is serial-tracked: add the item as a new, separate line instead of raising its quantity"
    );
}

#[test]
fn the_quantity_of_a_disabled_line_can_be_raised_and_lowered() {
    let state = sale([opened(), added(1, &cable(), 3)])
        .when(ChangeLineQuantity {
            line_number: n(1),
            quantity: 5,
        })
        .then([LineQuantityChanged {
            line_number: n(1),
            quantity: 5,
            previous_quantity: 3,
        }
        .into()]);
    assert_eq!(state.unwrap().lines[&n(1)].quantity, 5);
    sale([opened(), added(1, &cable(), 3)])
        .when(ChangeLineQuantity {
            line_number: n(1),
            quantity: 1,
        })
        .then([LineQuantityChanged {
            line_number: n(1),
            quantity: 1,
            previous_quantity: 3,
        }
        .into()]);
}

#[test]
fn changing_a_quantity_to_what_it_is_records_nothing() {
    sale([opened(), added(1, &phone(), 1)])
        .when(ChangeLineQuantity {
            line_number: n(1),
            quantity: 1,
        })
        .then_nothing();
}

#[test]
fn a_quantity_of_zero_is_refused_remove_the_line_instead() {
    sale([opened(), added(1, &cable(), 3)])
        .when(ChangeLineQuantity {
            line_number: n(1),
            quantity: 0,
        })
        .then_error(InvalidField::new("quantity", FieldRule::Zero).into());
}

#[test]
fn changing_a_line_that_is_not_on_the_sale_is_refused() {
    sale([opened(), added(1, &cable(), 3)])
        .when(ChangeLineQuantity {
            line_number: n(7),
            quantity: 2,
        })
        .then_error(SaleError::LineNotFound { line_number: n(7) });
}

#[test]
fn the_quantity_of_a_fulfilled_line_cannot_change() {
    sale([
        opened(),
        added(1, &cable(), 3),
        fulfilled(1, &cable(), None),
    ])
    .when(ChangeLineQuantity {
        line_number: n(1),
        quantity: 2,
    })
    .then_error(SaleError::LineAlreadyFulfilled { line_number: n(1) });
}

#[test]
fn a_disabled_product_already_on_the_sale_merges_into_its_line_when_aggregation_is_on() {
    sale([opened(), added(1, &cable(), 2)])
        .when(AddItem {
            settings: aggregating(true),
            ..add(&cable(), 3)
        })
        .then([LineQuantityChanged {
            line_number: n(1),
            quantity: 5,
            previous_quantity: 2,
        }
        .into()]);
}

#[test]
fn a_disabled_product_gets_its_own_line_when_aggregation_is_off() {
    sale([opened(), added(1, &cable(), 2)])
        .when(AddItem {
            settings: aggregating(false),
            ..add(&cable(), 3)
        })
        .then([added(2, &cable(), 3)]);
}

#[test]
fn a_serial_tracked_product_is_never_merged_whatever_the_setting() {
    for product in [phone(), laptop()] {
        sale([opened(), added(1, &product, 1)])
            .when(AddItem {
                settings: aggregating(true),
                ..add(&product, 1)
            })
            .then([added(2, &product, 1)]);
    }
}

#[test]
fn a_disabled_product_is_not_merged_into_a_fulfilled_line_or_one_at_another_price() {
    sale([
        opened(),
        added(1, &cable(), 2),
        fulfilled(1, &cable(), None),
    ])
    .when(AddItem {
        settings: aggregating(true),
        ..add(&cable(), 1)
    })
    .then([added(2, &cable(), 1)]);

    sale([opened(), added(1, &cable(), 2)])
        .when(AddItem {
            settings: aggregating(true),
            unit_price: aud(PRICE - 100),
            ..add(&cable(), 1)
        })
        .then([LineAdded {
            line: SaleLine {
                unit_price: aud(PRICE - 100),
                ..line(2, &cable(), 1)
            },
        }
        .into()]);
}

#[test]
fn a_line_keeps_the_serial_mode_it_was_added_with() {
    // The phone was REQUIRED when line 1 was added; the product has since become DISABLED.
    let now_disabled = ProductSnapshot {
        serial_mode: SerialMode::Disabled,
        ..phone()
    };
    let given = [opened(), added(1, &phone(), 1)];
    // New lines follow the product's mode now...
    sale(given.clone())
        .when(add(&now_disabled, 1))
        .then([added(2, &now_disabled, 1)]);
    // ...but line 1 still needs its serial before fulfilment.
    sale(given)
        .when(FulfilLines {
            lines: LineSelection::All,
        })
        .then_error(SaleError::SerialRequired { lines: vec![n(1)] });
}

#[test]
fn adding_zero_units_is_refused() {
    sale([opened()])
        .when(add(&phone(), 0))
        .then_error(InvalidField::new("quantity", FieldRule::Zero).into());
}

#[test]
fn adding_more_than_a_line_can_hold_is_refused() {
    sale([opened()])
        .when(add(&cable(), MAX_LINE_QUANTITY + 1))
        .then_error(
            InvalidField::new(
                "quantity",
                FieldRule::TooLarge {
                    max: u64::from(MAX_LINE_QUANTITY),
                },
            )
            .into(),
        );
}

#[test]
fn splitting_into_more_lines_than_a_sale_holds_is_refused() {
    sale([opened(), added(1, &cable(), 1)])
        .when(add(&phone(), MAX_LINES_PER_SALE))
        .then_error(SaleError::TooManyLines {
            lines: u64::from(MAX_LINES_PER_SALE) + 1,
            max: MAX_LINES_PER_SALE,
        });
}

#[test]
fn a_negative_price_is_refused() {
    sale([opened()])
        .when(AddItem {
            unit_price: aud(-1),
            ..add(&cable(), 1)
        })
        .then_error(InvalidField::new("unit_price.amount_minor", FieldRule::Negative).into());
}

#[test]
fn a_currency_that_is_not_three_upper_case_letters_is_refused() {
    for currency in ["aud", "AU", "AUDD", "A1D", ""] {
        sale([opened()])
            .when(AddItem {
                unit_price: Money {
                    amount_minor: 100,
                    currency: currency.into(),
                },
                ..add(&cable(), 1)
            })
            .then_error(
                InvalidField::new("unit_price.currency", FieldRule::NotACurrencyCode).into(),
            );
    }
}

#[test]
fn a_sale_is_priced_in_one_currency() {
    sale([opened(), added(1, &cable(), 1)])
        .when(AddItem {
            unit_price: Money {
                amount_minor: 100,
                currency: "NZD".into(),
            },
            ..add(&cable(), 1)
        })
        .then_error(
            InvalidField::new(
                "unit_price.currency",
                FieldRule::CurrencyMismatch {
                    expected: "AUD".into(),
                },
            )
            .into(),
        );
}

#[test]
fn a_product_snapshot_with_a_blank_sku_is_refused() {
    let blank = ProductSnapshot {
        sku: " ".into(),
        ..phone()
    };
    sale([opened()])
        .when(add(&blank, 1))
        .then_error(InvalidField::new("product.sku", FieldRule::Blank).into());
}

#[test]
fn removing_an_unfulfilled_line_releases_its_serial() {
    let state = sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(RemoveLine { line_number: n(1) })
    .then([removed(1, Some("SN1"))]);
    let line = &state.unwrap().lines[&n(1)];
    assert_eq!(line.status, LineStatus::Removed);
    assert_eq!(line.live_serial(), None);
}

#[test]
fn a_fulfilled_line_cannot_be_removed() {
    sale([
        opened(),
        added(1, &cable(), 1),
        fulfilled(1, &cable(), None),
    ])
    .when(RemoveLine { line_number: n(1) })
    .then_error(SaleError::LineAlreadyFulfilled { line_number: n(1) });
}

#[test]
fn cancelling_an_unfulfilled_line_releases_its_serial() {
    let state = sale([
        opened(),
        added(1, &phone(), 1),
        assigned(1, &phone(), "SN1"),
    ])
    .when(CancelLine {
        line_number: n(1),
        reason: Some("  customer changed their mind ".into()),
    })
    .then([LineCancelled {
        line_number: n(1),
        product_id: phone().product_id,
        released_serial: Some("SN1".into()),
        reason: Some("customer changed their mind".into()),
    }
    .into()]);
    assert_eq!(state.unwrap().lines[&n(1)].live_serial(), None);
}

#[test]
fn a_blank_cancellation_reason_counts_as_none() {
    sale([opened(), added(1, &cable(), 1)])
        .when(CancelLine {
            line_number: n(1),
            reason: Some("   ".into()),
        })
        .then([cancelled(1, &cable(), None)]);
}

#[test]
fn a_cancellation_reason_too_long_is_refused() {
    sale([opened(), added(1, &cable(), 1)])
        .when(CancelLine {
            line_number: n(1),
            reason: Some("x".repeat(MAX_REASON_LENGTH + 1)),
        })
        .then_error(
            InvalidField::new(
                "reason",
                FieldRule::TooLong {
                    max: MAX_REASON_LENGTH,
                },
            )
            .into(),
        );
}

#[test]
fn a_fulfilled_line_cannot_be_cancelled_return_it_instead() {
    sale([
        opened(),
        added(1, &cable(), 1),
        fulfilled(1, &cable(), None),
    ])
    .when(CancelLine {
        line_number: n(1),
        reason: None,
    })
    .then_error(SaleError::LineAlreadyFulfilled { line_number: n(1) });
}

#[test]
fn a_cancelled_or_removed_line_can_no_longer_be_changed() {
    sale([
        opened(),
        added(1, &cable(), 1),
        cancelled(1, &cable(), None),
    ])
    .when(CancelLine {
        line_number: n(1),
        reason: None,
    })
    .then_error(SaleError::LineClosed {
        line_number: n(1),
        status: LineStatus::Cancelled,
    });
    sale([opened(), added(1, &cable(), 1), removed(1, None)])
        .when(ChangeLineQuantity {
            line_number: n(1),
            quantity: 4,
        })
        .then_error(SaleError::LineClosed {
            line_number: n(1),
            status: LineStatus::Removed,
        });
}
