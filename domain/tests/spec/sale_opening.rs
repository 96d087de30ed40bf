//! Opening a sale: sale type, delivery mode, outlet, customer, invoice number.

use crate::support::*;
use domain::sale::*;
use domain::validation::{FieldRule, InvalidField};
use event_schemas::*;
use pretty_assertions::assert_eq;

#[test]
fn a_sale_records_its_type_delivery_mode_outlet_customer_and_invoice_number() {
    let customer = Customer {
        customer_id: CustomerId(id(4)),
        name: "Ada Lovelace".into(),
    };
    for sale_type in [SaleType::Sale, SaleType::SpecialOrder, SaleType::LayBy] {
        for delivery_mode in [
            DeliveryMode::CashAndCarry,
            DeliveryMode::Pickup,
            DeliveryMode::Delivery,
            DeliveryMode::DropShip,
        ] {
            let state = sale([])
                .when(OpenSale {
                    sale_type,
                    delivery_mode,
                    customer: Some(customer.clone()),
                    ..open_sale()
                })
                .then([SaleOpened {
                    sale_id: sale_id(),
                    invoice_number: INVOICE.into(),
                    sale_type,
                    delivery_mode,
                    outlet_id: outlet(),
                    customer: Some(customer.clone()),
                }
                .into()]);
            let state = state.unwrap();
            assert_eq!(state.sale_type, sale_type);
            assert_eq!(state.delivery_mode, delivery_mode);
        }
    }
}

#[test]
fn a_sale_may_have_no_customer() {
    sale([]).when(open_sale()).then([opened()]);
}

#[test]
fn every_delivery_mode_has_a_full_name_never_blank() {
    for mode in [
        DeliveryMode::CashAndCarry,
        DeliveryMode::Pickup,
        DeliveryMode::Delivery,
        DeliveryMode::DropShip,
    ] {
        assert!(!mode.full_name().trim().is_empty(), "{mode:?}");
    }
    assert_eq!(DeliveryMode::CashAndCarry.full_name(), "Cash and Carry");
}

#[test]
fn the_invoice_number_is_trimmed() {
    sale([])
        .when(OpenSale {
            invoice_number: "  INV-1042 ".into(),
            ..open_sale()
        })
        .then([opened()]);
}

#[test]
fn a_blank_invoice_number_is_refused() {
    sale([])
        .when(OpenSale {
            invoice_number: " ".into(),
            ..open_sale()
        })
        .then_error(InvalidField::new("invoice_number", FieldRule::Blank).into());
}

#[test]
fn an_invoice_number_too_long_is_refused() {
    sale([])
        .when(OpenSale {
            invoice_number: "9".repeat(MAX_INVOICE_NUMBER_LENGTH + 1),
            ..open_sale()
        })
        .then_error(
            InvalidField::new(
                "invoice_number",
                FieldRule::TooLong {
                    max: MAX_INVOICE_NUMBER_LENGTH,
                },
            )
            .into(),
        );
}

#[test]
fn a_customer_with_a_blank_name_is_refused() {
    sale([])
        .when(OpenSale {
            customer: Some(Customer {
                customer_id: CustomerId(id(4)),
                name: "".into(),
            }),
            ..open_sale()
        })
        .then_error(InvalidField::new("customer.name", FieldRule::Blank).into());
}

#[test]
fn a_sale_can_be_opened_only_once() {
    sale([opened()])
        .when(open_sale())
        .then_error(SaleError::SaleAlreadyOpened {
            invoice_number: INVOICE.into(),
        });
}

#[test]
fn nothing_can_be_done_to_a_sale_that_was_never_opened() {
    sale([])
        .when(add(&phone(), 1))
        .then_error(SaleError::SaleNotOpened);
    sale([])
        .when(FulfilLines {
            lines: LineSelection::All,
        })
        .then_error(SaleError::SaleNotOpened);
}
