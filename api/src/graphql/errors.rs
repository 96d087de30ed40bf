//! How refusals and failures become GraphQL errors.
//!
//! Every error carries a stable `extensions.code`:
//!
//! - refusals of a command keep [`CommandError::code`] (`SERIAL_REQUIRED`,
//!   `SERIAL_ALREADY_ASSIGNED`, `LINE_FULFILLED`, `NOT_FOUND`, `CONFLICT`, ...) and the
//!   domain's message, written for the shop user;
//! - bad query input keeps [`QueryError::code`] (`VALIDATION`, `INVALID_SERIAL`);
//! - a subscription whose client stops taking events ends with `SLOW_CONSUMER` and
//!   `extensions.resumeAfter`;
//! - auth gives `UNAUTHENTICATED` (no or invalid token) and `FORBIDDEN` (the token's role
//!   may not do this);
//! - malformed arguments (an id that is not a UUID, a cursor this API did not give out) give
//!   `VALIDATION` naming the argument;
//! - failures of the service never leak details: `UNAVAILABLE` ("service unavailable,
//!   retry") or `INTERNAL` ("internal error"), with the details logged by `tracing::error!`.

use crate::commands::CommandError;
use async_graphql::{Error, ErrorExtensions};
use projections::queries::QueryError;
use store::StoreError;

/// An error as the API answers it: a stable code and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The stable `extensions.code`.
    pub code: &'static str,
    /// What the user can act on.
    pub message: String,
    /// Further `extensions` for clients (the lines missing a serial, the invoice and line
    /// holding a serial, ...).
    pub details: Vec<(&'static str, async_graphql::Value)>,
}

impl ApiError {
    /// An error with this code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// `UNAUTHENTICATED`: no token, or an unknown or revoked one.
    pub fn unauthenticated() -> Self {
        Self::new(
            "UNAUTHENTICATED",
            "sign in: send a valid API token (Authorization: Bearer ...)",
        )
    }

    /// `FORBIDDEN`: the token's role may not do `what`.
    pub fn forbidden(role: crate::auth::Role, what: &str) -> Self {
        Self::new(
            "FORBIDDEN",
            format!("a {role} token may not {what}: ask a manager for a token that may"),
        )
    }

    /// `VALIDATION`, naming the argument and the rule it breaks.
    pub fn invalid(field: &str, rule: &str) -> Self {
        Self::new("VALIDATION", format!("{field} {rule}"))
    }

    /// `NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("NOT_FOUND", message)
    }

    /// `INTERNAL`, with the details logged and not shown.
    pub fn internal(details: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %details, "internal error answering a GraphQL request");
        Self::new("INTERNAL", "internal error")
    }

    /// `UNAVAILABLE`, with the details logged and not shown.
    pub fn unavailable(details: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %details, "service unavailable answering a GraphQL request");
        Self::new("UNAVAILABLE", "service unavailable, retry")
    }

    /// The internal-or-unavailable error for a failure with this code.
    fn failure(code: &'static str, details: &dyn std::fmt::Display) -> Self {
        if code == "UNAVAILABLE" {
            Self::unavailable(details)
        } else {
            Self::internal(details)
        }
    }
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Self {
        let ApiError {
            code,
            message,
            details,
        } = error;
        Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", code);
            for (key, value) in details {
                extensions.set(key, value);
            }
        })
    }
}

impl From<CommandError> for ApiError {
    fn from(error: CommandError) -> Self {
        let code = error.code();
        if error.is_refusal() {
            let mut api = ApiError::new(code, error.to_string());
            api.details = refusal_details(&error);
            api
        } else {
            ApiError::failure(code, &error)
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error.code() {
            code @ ("INTERNAL" | "UNAVAILABLE") => ApiError::failure(code, &error),
            code => ApiError::new(code, error.to_string()),
        }
    }
}

impl From<projections::proofs::queries::ProofQueryError> for ApiError {
    fn from(error: projections::proofs::queries::ProofQueryError) -> Self {
        match error.code() {
            code @ ("INTERNAL" | "UNAVAILABLE") => ApiError::failure(code, &error),
            code => ApiError::new(code, error.to_string()),
        }
    }
}

impl From<replay::history::HistoryError> for ApiError {
    fn from(error: replay::history::HistoryError) -> Self {
        use replay::history::HistoryError;
        match error {
            HistoryError::Store(error) => ApiError::from(error),
            HistoryError::Index(error) => ApiError::from(error),
            error => match error.code() {
                code @ ("INTERNAL" | "UNAVAILABLE") => {
                    // The message alone hides the cause; the log gets the whole chain.
                    let mut details = error.to_string();
                    let mut source = std::error::Error::source(&error);
                    while let Some(cause) = source {
                        details.push_str(&format!(": {cause}"));
                        source = cause.source();
                    }
                    ApiError::failure(code, &details)
                }
                code => ApiError::new(code, error.to_string()),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::from(CommandError::Store(error))
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(error: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        match error {
            AuthError::Unauthenticated => ApiError::unauthenticated(),
            AuthError::Invalid { .. } => ApiError::new("VALIDATION", error.to_string()),
            AuthError::UnknownTenant(_) | AuthError::UnknownToken(_) => {
                ApiError::not_found(error.to_string())
            }
            AuthError::SlugTaken(_) => ApiError::new("ALREADY_EXISTS", error.to_string()),
            AuthError::Database(_) => ApiError::unavailable(&error),
            AuthError::Migration(_) => ApiError::internal(&error),
        }
    }
}

/// The facts of a refusal a client may act on without parsing the message.
fn refusal_details(error: &CommandError) -> Vec<(&'static str, async_graphql::Value)> {
    use async_graphql::Value;
    use domain::sale::SaleError;
    match error {
        CommandError::Sale(SaleError::SerialRequired { lines }) => vec![(
            "lineNumbers",
            Value::List(lines.iter().map(|line| Value::from(line.0)).collect()),
        )],
        CommandError::Sale(SaleError::SerialAlreadyLive {
            serial,
            invoice_number,
            line_number,
        }) => {
            let mut details = vec![
                ("serialNumber", Value::from(serial.as_str())),
                ("invoiceNumber", Value::from(invoice_number.as_str())),
            ];
            if let Some(line) = line_number {
                details.push(("lineNumber", Value::from(line.0)));
            }
            details
        }
        _ => Vec::new(),
    }
}

/// The result of a resolver: an [`ApiError`] becomes a GraphQL error with its code.
pub type ApiResult<T> = Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_do_not_leak_their_details() {
        let error = ApiError::from(QueryError::StoredValue {
            column: "secret_column",
            value: "secret".into(),
        });
        assert_eq!(error.code, "INTERNAL");
        assert_eq!(error.message, "internal error");
    }

    #[test]
    fn refusals_keep_their_code_and_message() {
        let error = ApiError::from(CommandError::NotFound {
            what: "sale",
            id: "x".into(),
        });
        assert_eq!(error.code, "NOT_FOUND");
        assert_eq!(error.message, "sale x does not exist");
    }
}
