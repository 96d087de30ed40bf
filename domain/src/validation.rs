//! Input validation shared by the aggregates: every refusal names the field and the rule.
//!
//! Free text (SKU, names, invoice numbers, reasons) is trimmed before it is checked and
//! stored. Money is integer minor units of a 3-letter upper-case ISO 4217 currency code and
//! is never negative in a command.

use event_schemas::Money;
use std::fmt;

/// A command field that breaks a rule. Maps to the API code `VALIDATION`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {rule}")]
pub struct InvalidField {
    /// The field, as the API names it (`sku`, `unit_price.currency`, `units[1].refund`).
    pub field: String,
    /// The rule it breaks.
    pub rule: FieldRule,
}

impl InvalidField {
    /// A refusal of `field` for breaking `rule`.
    pub fn new(field: impl Into<String>, rule: FieldRule) -> Self {
        Self {
            field: field.into(),
            rule,
        }
    }
}

/// The rules a command field can break, each with the sentence that ends "{field} ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRule {
    /// Empty or only whitespace.
    Blank,
    /// Longer than `max` characters (after trimming).
    TooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// Contains a control character (tab, newline, NUL, ...).
    ControlCharacter {
        /// Where, counting characters from 1 after trimming.
        position: usize,
    },
    /// A count that must be at least 1 is 0.
    Zero,
    /// A number above its maximum.
    TooLarge {
        /// The largest value allowed.
        max: u64,
    },
    /// An amount below zero.
    Negative,
    /// A currency that is not three upper-case ASCII letters.
    NotACurrencyCode,
    /// A currency other than the one the sale (or line) is priced in.
    CurrencyMismatch {
        /// The currency expected.
        expected: String,
    },
    /// A list that must not be empty is empty.
    Empty,
}

impl fmt::Display for FieldRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRule::Blank => f.write_str("must not be blank"),
            FieldRule::TooLong { max } => write!(f, "must be at most {max} characters long"),
            FieldRule::ControlCharacter { position } => write!(
                f,
                "must not contain control characters (found one at character {position})"
            ),
            FieldRule::Zero => f.write_str("must be at least 1"),
            FieldRule::TooLarge { max } => write!(f, "must be at most {max}"),
            FieldRule::Negative => f.write_str("must not be negative"),
            FieldRule::NotACurrencyCode => {
                f.write_str("must be a 3-letter upper-case ISO 4217 currency code, such as AUD")
            }
            FieldRule::CurrencyMismatch { expected } => {
                write!(f, "must be {expected}, the currency this sale is priced in")
            }
            FieldRule::Empty => f.write_str("must list at least one item"),
        }
    }
}

/// Trims `value` and checks it is not blank, at most `max` characters and free of control
/// characters; returns the trimmed text.
pub(crate) fn required_text(field: &str, value: &str, max: usize) -> Result<String, InvalidField> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(InvalidField::new(field, FieldRule::Blank));
    }
    checked_text(field, trimmed, max)
}

/// Like [`required_text`], but blank text means "not given".
pub(crate) fn optional_text(
    field: &str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, InvalidField> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(trimmed) => checked_text(field, trimmed, max).map(Some),
    }
}

fn checked_text(field: &str, trimmed: &str, max: usize) -> Result<String, InvalidField> {
    if trimmed.chars().count() > max {
        return Err(InvalidField::new(field, FieldRule::TooLong { max }));
    }
    if let Some(index) = trimmed.chars().position(char::is_control) {
        return Err(InvalidField::new(
            field,
            FieldRule::ControlCharacter {
                position: index + 1,
            },
        ));
    }
    Ok(trimmed.to_owned())
}

/// Checks a count is at least 1 and at most `max`.
pub(crate) fn count(field: &str, value: u32, max: u32) -> Result<u32, InvalidField> {
    if value == 0 {
        return Err(InvalidField::new(field, FieldRule::Zero));
    }
    if value > max {
        return Err(InvalidField::new(
            field,
            FieldRule::TooLarge {
                max: u64::from(max),
            },
        ));
    }
    Ok(value)
}

/// Whether `code` is three upper-case ASCII letters.
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|byte| byte.is_ascii_uppercase())
}

/// Checks an amount of money in a command: a currency code and a non-negative amount.
/// `field` is the money field; the refusal names `{field}.currency` or `{field}.amount_minor`.
pub(crate) fn money(field: &str, money: &Money) -> Result<(), InvalidField> {
    if !is_currency_code(&money.currency) {
        return Err(InvalidField::new(
            format!("{field}.currency"),
            FieldRule::NotACurrencyCode,
        ));
    }
    if money.amount_minor < 0 {
        return Err(InvalidField::new(
            format!("{field}.amount_minor"),
            FieldRule::Negative,
        ));
    }
    Ok(())
}
