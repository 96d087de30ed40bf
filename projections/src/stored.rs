//! Values as the read models store them, and read back: ids as UUID text, times as
//! microseconds since the Unix epoch (UTC), enums of the contract as their codes, line
//! numbers, quantities and positions as signed 64-bit integers.
//!
//! Written once, here, so every table is written and read the same way. Reading back is
//! checked: a value this build cannot read (an unknown code, an id that is not a UUID, a
//! negative count) is a [`StoredValueError`] naming the column and the value as stored,
//! never a panic and never a silent default. Query errors carry it as
//! [`QueryError::StoredValue`](crate::queries::QueryError::StoredValue); other crates can
//! map it to their own error the same way.

use event_schemas::LineNumber;
use time::OffsetDateTime;
use uuid::Uuid;

/// A stored value this build cannot read back: the read model holds data it does not know
/// (written by a later build, or edited by hand).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored {column} {value:?} cannot be read")]
pub struct StoredValueError {
    /// The column.
    pub column: &'static str,
    /// The value as stored (`NULL` for a missing one).
    pub value: String,
}

impl StoredValueError {
    /// The error for `value` of `column`.
    pub fn new(column: &'static str, value: impl ToString) -> Self {
        Self {
            column,
            value: value.to_string(),
        }
    }
}

/// The code an enum of the contract is stored under: its serde name (`REQUIRED`,
/// `SPECIAL_ORDER`, ...), so tables use exactly the integrators' vocabulary. Empty for a
/// value that does not serialise to a string (no enum of the contract does).
pub fn enum_code<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(code)) => code,
        _ => String::new(),
    }
}

/// Reads a stored enum code back; `None` for a code this build does not know.
pub fn parse_enum_code<T: serde::de::DeserializeOwned>(code: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
}

/// A stored enum code of `column` read back into the contract's enum.
pub fn code<T: serde::de::DeserializeOwned>(
    column: &'static str,
    value: &str,
) -> Result<T, StoredValueError> {
    parse_enum_code(value).ok_or_else(|| StoredValueError::new(column, value))
}

/// A stored UUID (an id of the contract, as text) read back.
pub fn uuid(column: &'static str, value: &str) -> Result<Uuid, StoredValueError> {
    Uuid::parse_str(value).map_err(|_| StoredValueError::new(column, value))
}

/// A time as stored: microseconds since the Unix epoch, what both backends keep exactly.
/// `None` only past the range of `i64` microseconds (some 292,000 years), which no
/// [`OffsetDateTime`] of this build reaches.
pub fn micros(time: OffsetDateTime) -> Option<i64> {
    i64::try_from(time.unix_timestamp_nanos() / 1_000).ok()
}

/// A stored time (microseconds since the Unix epoch) read back as a UTC time.
pub fn time(column: &'static str, micros: i64) -> Result<OffsetDateTime, StoredValueError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map_err(|_| StoredValueError::new(column, micros))
}

/// A stored time that may be absent (`NULL`) read back.
pub fn optional_time(
    column: &'static str,
    micros: Option<i64>,
) -> Result<Option<OffsetDateTime>, StoredValueError> {
    micros.map(|micros| time(column, micros)).transpose()
}

/// A stored time in whole seconds since the Unix epoch (a checkpoint's or a cosignature's
/// time, as signed notes carry it) read back as a UTC time.
pub fn unix_seconds(
    column: &'static str,
    seconds: i64,
) -> Result<OffsetDateTime, StoredValueError> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| StoredValueError::new(column, seconds))
}

/// A stored integer read back as the narrower or unsigned type it was written from (a
/// quantity as `u32`, a position or a tree size as `u64`).
pub fn integer<T: TryFrom<i64>>(column: &'static str, value: i64) -> Result<T, StoredValueError> {
    T::try_from(value).map_err(|_| StoredValueError::new(column, value))
}

/// A stored line number read back.
pub fn line_number(column: &'static str, value: i64) -> Result<LineNumber, StoredValueError> {
    integer(column, value).map(LineNumber)
}

#[cfg(test)]
mod tests {
    use super::*;
    use event_schemas::SerialMode;
    use time::macros::datetime;

    #[test]
    fn an_enum_is_stored_under_its_contract_code_and_read_back_from_it() {
        assert_eq!(enum_code(&SerialMode::Required), "REQUIRED");
        assert_eq!(
            code::<SerialMode>("serial_mode", "REQUIRED"),
            Ok(SerialMode::Required)
        );
    }

    #[test]
    fn an_unknown_code_names_its_column_and_value() {
        let error = code::<SerialMode>("serial_mode", "SOMETIMES");
        assert_eq!(
            error,
            Err(StoredValueError::new("serial_mode", "SOMETIMES"))
        );
        assert_eq!(
            error.map_err(|error| error.to_string()),
            Err("stored serial_mode \"SOMETIMES\" cannot be read".to_owned())
        );
    }

    #[test]
    fn a_time_round_trips_through_its_stored_microseconds() {
        let at = datetime!(2026-11-26 09:30:00.123456 UTC);
        let stored = micros(at);
        assert_eq!(stored, Some(1_795_685_400_123_456));
        assert_eq!(stored.map(|micros| time("added_at", micros)), Some(Ok(at)));
        assert_eq!(optional_time("fulfilled_at", None), Ok(None));
    }

    #[test]
    fn a_time_out_of_range_is_refused_not_clamped() {
        assert_eq!(
            time("added_at", i64::MAX),
            Err(StoredValueError::new("added_at", i64::MAX))
        );
        assert!(unix_seconds("issued_at", i64::MAX).is_err());
        assert_eq!(
            unix_seconds("issued_at", 1_795_685_400),
            Ok(datetime!(2026-11-26 09:30:00 UTC))
        );
    }

    #[test]
    fn an_id_that_is_not_a_uuid_is_refused() {
        assert!(uuid("sale_id", "0190a000-0000-7000-8000-000000000000").is_ok());
        assert_eq!(
            uuid("sale_id", "sale-1"),
            Err(StoredValueError::new("sale_id", "sale-1"))
        );
    }

    #[test]
    fn a_negative_or_oversized_integer_is_refused_for_an_unsigned_column() {
        assert_eq!(integer::<u64>("tree_size", 7), Ok(7));
        assert_eq!(
            integer::<u32>("quantity", -1),
            Err(StoredValueError::new("quantity", -1))
        );
        assert!(integer::<u32>("quantity", i64::from(u32::MAX) + 1).is_err());
        assert_eq!(line_number("line_number", 3), Ok(LineNumber(3)));
    }
}
