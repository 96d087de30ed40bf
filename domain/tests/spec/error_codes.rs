//! Every error variant maps to its stable API code, and its message names what to do.

use crate::support::*;
use domain::product::ProductError;
use domain::sale::{LineStatus, SaleError};
use domain::serial::SerialError;
use domain::settings::SettingsError;
use domain::validation::{FieldRule, InvalidField};
use event_schemas::ProductId;
use pretty_assertions::assert_eq;

#[test]
fn every_sale_error_has_its_stable_code() {
    let invalid = InvalidField::new("quantity", FieldRule::Zero);
    let table: Vec<(SaleError, &str)> = vec![
        (SaleError::Invalid(invalid), "VALIDATION"),
        (
            SaleError::InvalidSerial(SerialError::Blank),
            "INVALID_SERIAL",
        ),
        (SaleError::SaleNotOpened, "NOT_FOUND"),
        (
            SaleError::SaleAlreadyOpened {
                invoice_number: INVOICE.into(),
            },
            "ALREADY_EXISTS",
        ),
        (
            SaleError::InvoiceNumberTaken {
                invoice_number: INVOICE.into(),
            },
            "INVOICE_NUMBER_TAKEN",
        ),
        (SaleError::LineNotFound { line_number: n(1) }, "NOT_FOUND"),
        (
            SaleError::SplitLineRequired { line_number: n(1) },
            "QUANTITY_SPLIT_REQUIRED",
        ),
        (
            SaleError::PackageLineQuantityFixed { line_number: n(1) },
            "PACKAGE_LINE",
        ),
        (
            SaleError::SerialNotAllowed { line_number: n(1) },
            "SERIAL_MODE_DISABLED",
        ),
        (
            SaleError::SerialFrozen { line_number: n(1) },
            "LINE_FULFILLED",
        ),
        (
            SaleError::LineAlreadyFulfilled { line_number: n(1) },
            "LINE_FULFILLED",
        ),
        (
            SaleError::LineClosed {
                line_number: n(1),
                status: LineStatus::Cancelled,
            },
            "LINE_CLOSED",
        ),
        (
            SaleError::NoSerialToRemove { line_number: n(1) },
            "NOT_FOUND",
        ),
        (
            SaleError::SerialAlreadyLive {
                serial: "A".into(),
                invoice_number: INVOICE.into(),
                line_number: Some(n(1)),
            },
            "SERIAL_ALREADY_ASSIGNED",
        ),
        (
            SaleError::SerialRequired { lines: vec![n(1)] },
            "SERIAL_REQUIRED",
        ),
        (SaleError::NothingToFulfil, "VALIDATION"),
        (
            SaleError::LineNotFulfilled { line_number: n(1) },
            "LINE_NOT_FULFILLED",
        ),
        (
            SaleError::AlreadyReturned { line_number: n(1) },
            "ALREADY_RETURNED",
        ),
        (
            SaleError::SerialNotOnSale { serial: "A".into() },
            "NOT_FOUND",
        ),
        (
            SaleError::LineSelectedTwice { line_number: n(1) },
            "VALIDATION",
        ),
        (SaleError::TooManyLines { lines: 2, max: 1 }, "VALIDATION"),
        (
            SaleError::ReissueOnSameSale {
                invoice_number: INVOICE.into(),
                line_number: n(1),
            },
            "VALIDATION",
        ),
        (
            SaleError::OriginalLineNotReturned {
                invoice_number: INVOICE.into(),
                line_number: n(1),
            },
            "LINE_NOT_RETURNED",
        ),
        (
            SaleError::AlreadyReissued {
                invoice_number: INVOICE.into(),
                line_number: None,
            },
            "ALREADY_REISSUED",
        ),
    ];
    for (error, code) in table {
        assert_eq!(error.code(), code, "{error:?}");
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn every_product_and_settings_error_has_its_stable_code() {
    let product = ProductId(id(10));
    let table = [
        (
            ProductError::Invalid(InvalidField::new("sku", FieldRule::Blank)),
            "VALIDATION",
        ),
        (
            ProductError::AlreadyExists {
                product_id: product,
            },
            "ALREADY_EXISTS",
        ),
        (ProductError::NotFound, "NOT_FOUND"),
        (
            ProductError::ComponentNotFound {
                product_id: product,
            },
            "NOT_FOUND",
        ),
        (
            ProductError::DuplicateComponent {
                product_id: product,
            },
            "VALIDATION",
        ),
        (
            ProductError::PackageCycle {
                path: vec![product, product],
            },
            "PACKAGE_CYCLE",
        ),
    ];
    for (error, code) in table {
        assert_eq!(error.code(), code, "{error:?}");
    }
    assert_eq!(SettingsError::NothingToChange.code(), "VALIDATION");
}

#[test]
fn input_errors_name_the_field_and_the_rule() {
    let cases = [
        (
            InvalidField::new("sku", FieldRule::Blank),
            "sku must not be blank",
        ),
        (
            InvalidField::new("units[0].refund.currency", FieldRule::NotACurrencyCode),
            "units[0].refund.currency must be a 3-letter upper-case ISO 4217 currency code, such as AUD",
        ),
        (
            InvalidField::new("quantity", FieldRule::TooLarge { max: 2 }),
            "quantity must be at most 2",
        ),
        (
            InvalidField::new(
                "unit_price.currency",
                FieldRule::CurrencyMismatch {
                    expected: "AUD".into(),
                },
            ),
            "unit_price.currency must be AUD, the currency this sale is priced in",
        ),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
        assert_eq!(SaleError::from(error).code(), "VALIDATION");
    }
}

#[test]
fn messages_tell_the_shop_user_what_to_do() {
    assert_eq!(
        SaleError::SerialRequired { lines: vec![n(2)] }.to_string(),
        "line 2 must have a serial number recorded before fulfilment"
    );
    assert_eq!(
        SaleError::LineClosed {
            line_number: n(3),
            status: LineStatus::Removed
        }
        .to_string(),
        "line 3 was removed: it can no longer be changed"
    );
    assert_eq!(
        ProductError::PackageCycle {
            path: vec![ProductId(id(1)), ProductId(id(1))]
        }
        .to_string(),
        "a package cannot contain itself: 01900000-0000-7000-8000-000000000001 contains 01900000-0000-7000-8000-000000000001"
    );
}

#[test]
fn every_line_status_has_its_stable_code_and_is_read_back_from_it() {
    let codes: Vec<&str> = LineStatus::ALL.iter().map(|status| status.code()).collect();
    assert_eq!(
        codes,
        ["OPEN", "FULFILLED", "RETURNED", "CANCELLED", "REMOVED"]
    );
    for status in LineStatus::ALL {
        assert_eq!(LineStatus::from_code(status.code()), Some(status));
    }
}

#[test]
fn a_line_status_code_is_read_back_only_when_it_matches_exactly() {
    assert_eq!(LineStatus::from_code("open"), None);
    assert_eq!(LineStatus::from_code(" OPEN"), None);
    assert_eq!(LineStatus::from_code("SHIPPED"), None);
}
