//! The stable error codes ([`ErrorCode`]), and the code of each error of the layers below
//! (a domain refusal, a store or database failure, a read model query), each by an
//! exhaustive `match` over its variants: a new variant does not compile until it has a
//! code.

use domain::product::ProductError;
use domain::sale::SaleError;
use domain::settings::SettingsError;
use projections::queries::QueryError;
use store::StoreError;

/// Declares [`ErrorCode`] with its stable strings, written once.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// A stable error code: the string clients match on (GraphQL `extensions.code`,
        /// REST `error.code`, the files' `code`). The strings never change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable string.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The code with this stable string.
            pub fn parse(code: &str) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    /// Malformed or rule-breaking input, naming the field and the rule.
    Validation = "VALIDATION",
    /// A serial number that breaks the serial rules (blank, too long, bad characters).
    InvalidSerial = "INVALID_SERIAL",
    /// No token, or an unknown or revoked one.
    Unauthenticated = "UNAUTHENTICATED",
    /// The token's role may not do this.
    Forbidden = "FORBIDDEN",
    /// A write made with the console's session cookie without the session's CSRF token.
    CsrfTokenInvalid = "CSRF_TOKEN_INVALID",
    /// Something named does not exist (for this retailer).
    NotFound = "NOT_FOUND",
    /// Something with this id or key exists already.
    AlreadyExists = "ALREADY_EXISTS",
    /// A package would contain itself.
    PackageCycle = "PACKAGE_CYCLE",
    /// The invoice number is another sale's.
    InvoiceNumberTaken = "INVOICE_NUMBER_TAKEN",
    /// A tracked line's quantity may not be raised: add a new line.
    QuantitySplitRequired = "QUANTITY_SPLIT_REQUIRED",
    /// A package line's quantity is fixed.
    PackageLine = "PACKAGE_LINE",
    /// The product's serial mode is Disabled: no serial may be recorded.
    SerialModeDisabled = "SERIAL_MODE_DISABLED",
    /// The line is fulfilled: its serial is frozen.
    LineFulfilled = "LINE_FULFILLED",
    /// The line is cancelled, removed or returned.
    LineClosed = "LINE_CLOSED",
    /// The serial is live on another line.
    SerialAlreadyAssigned = "SERIAL_ALREADY_ASSIGNED",
    /// A Required line has no serial yet.
    SerialRequired = "SERIAL_REQUIRED",
    /// The line is not fulfilled (a return needs it).
    LineNotFulfilled = "LINE_NOT_FULFILLED",
    /// The unit was returned already.
    AlreadyReturned = "ALREADY_RETURNED",
    /// A re-issue names a line that was not returned.
    LineNotReturned = "LINE_NOT_RETURNED",
    /// The returned line was re-issued already.
    AlreadyReissued = "ALREADY_REISSUED",
    /// Another writer kept moving what the command changes: send it again.
    Conflict = "CONFLICT",
    /// An idempotency key was reused with another request.
    IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED",
    /// The request body is larger than allowed.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE",
    /// The request body is not of a type the operation takes.
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE",
    /// The caller sent more requests than allowed: retry after a while.
    RateLimited = "RATE_LIMITED",
    /// A subscription's client did not take events fast enough.
    SlowConsumer = "SLOW_CONSUMER",
    /// The database cannot be reached or is too contended: retry later.
    Unavailable = "UNAVAILABLE",
    /// A fault of the service; the details are in its log.
    Internal = "INTERNAL",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ErrorCode {
    /// Whether this is a failure of the service (`UNAVAILABLE`, `INTERNAL`) rather than an
    /// answer the caller can act on.
    pub fn is_failure(self) -> bool {
        matches!(self, ErrorCode::Unavailable | ErrorCode::Internal)
    }
}

/// The code of a sale refusal.
pub fn sale_code(error: &SaleError) -> ErrorCode {
    match error {
        SaleError::Invalid(_)
        | SaleError::NothingToFulfil
        | SaleError::LineSelectedTwice { .. }
        | SaleError::TooManyLines { .. }
        | SaleError::ReissueOnSameSale { .. } => ErrorCode::Validation,
        SaleError::InvalidSerial(_) => ErrorCode::InvalidSerial,
        SaleError::SaleNotOpened
        | SaleError::LineNotFound { .. }
        | SaleError::NoSerialToRemove { .. }
        | SaleError::SerialNotOnSale { .. } => ErrorCode::NotFound,
        SaleError::SaleAlreadyOpened { .. } => ErrorCode::AlreadyExists,
        SaleError::InvoiceNumberTaken { .. } => ErrorCode::InvoiceNumberTaken,
        SaleError::SplitLineRequired { .. } => ErrorCode::QuantitySplitRequired,
        SaleError::PackageLineQuantityFixed { .. } => ErrorCode::PackageLine,
        SaleError::SerialNotAllowed { .. } => ErrorCode::SerialModeDisabled,
        SaleError::SerialFrozen { .. } | SaleError::LineAlreadyFulfilled { .. } => {
            ErrorCode::LineFulfilled
        }
        SaleError::LineClosed { .. } => ErrorCode::LineClosed,
        SaleError::SerialAlreadyLive { .. } => ErrorCode::SerialAlreadyAssigned,
        SaleError::SerialRequired { .. } => ErrorCode::SerialRequired,
        SaleError::LineNotFulfilled { .. } => ErrorCode::LineNotFulfilled,
        SaleError::AlreadyReturned { .. } => ErrorCode::AlreadyReturned,
        SaleError::OriginalLineNotReturned { .. } => ErrorCode::LineNotReturned,
        SaleError::AlreadyReissued { .. } => ErrorCode::AlreadyReissued,
    }
}

/// The code of a product refusal.
pub fn product_code(error: &ProductError) -> ErrorCode {
    match error {
        ProductError::Invalid(_) | ProductError::DuplicateComponent { .. } => ErrorCode::Validation,
        ProductError::AlreadyExists { .. } => ErrorCode::AlreadyExists,
        ProductError::NotFound | ProductError::ComponentNotFound { .. } => ErrorCode::NotFound,
        ProductError::PackageCycle { .. } => ErrorCode::PackageCycle,
    }
}

/// The code of a settings refusal.
pub fn settings_code(error: &SettingsError) -> ErrorCode {
    match error {
        SettingsError::NothingToChange => ErrorCode::Validation,
    }
}

/// The code of a store error: a conflict the caller may retry, the database unreachable,
/// or a fault.
pub fn store_code(error: &StoreError) -> ErrorCode {
    match error {
        StoreError::WrongExpectedRevision { .. } | StoreError::ClaimConflict { .. } => {
            ErrorCode::Conflict
        }
        StoreError::Database(_) | StoreError::Contention(_) => ErrorCode::Unavailable,
        StoreError::InvalidRequest(_)
        | StoreError::CorruptEvent { .. }
        | StoreError::UnsupportedUrl(_)
        | StoreError::Migration(_) => ErrorCode::Internal,
    }
}

/// The code of a database error: unreachable (`UNAVAILABLE`) or a fault (`INTERNAL`).
pub(crate) fn database_code(error: &sqlx::Error) -> ErrorCode {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            ErrorCode::Unavailable
        }
        _ => ErrorCode::Internal,
    }
}

/// The code of a read model query's failure.
pub fn query_code(error: &QueryError) -> ErrorCode {
    match error {
        QueryError::InvalidSerial(_) => ErrorCode::InvalidSerial,
        QueryError::InvalidCursor | QueryError::InvalidFilter { .. } => ErrorCode::Validation,
        QueryError::Database(error) => database_code(error),
        QueryError::StoredValue { .. } => ErrorCode::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_stable_string() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::parse("NO_SUCH_CODE"), None);
    }

    #[test]
    fn the_codes_of_domain_refusals_are_the_domain_s_own() {
        let refusals = [
            SaleError::SaleNotOpened,
            SaleError::NothingToFulfil,
            SaleError::SerialRequired {
                lines: vec![event_schemas::LineNumber(2)],
            },
        ];
        for refusal in refusals {
            assert_eq!(sale_code(&refusal).as_str(), refusal.code());
        }
        let product = ProductError::NotFound;
        assert_eq!(product_code(&product).as_str(), product.code());
        let settings = SettingsError::NothingToChange;
        assert_eq!(settings_code(&settings).as_str(), settings.code());
    }
}
