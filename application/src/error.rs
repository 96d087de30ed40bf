//! The one error every adapter answers with: a stable [`ErrorCode`], a message for the
//! person who can act on it, and structured details a client may act on without parsing
//! the message.
//!
//! Every error of the layers below (a domain refusal, a store failure, a read model that
//! cannot be read, an unknown token, a webhook rule) becomes an [`AppError`] here, by an
//! exhaustive `match` over its variants: a new variant does not compile until it has a
//! code. Each adapter then maps every [`ErrorCode`] exhaustively (HTTP status, GraphQL
//! `extensions.code`), so a new code does not compile until every adapter answers it.
//!
//! Failures of the service (`UNAVAILABLE`, `INTERNAL`) never carry their details to the
//! client: they are logged with `tracing::error!` when the error is made, and the message
//! is generic.

use crate::auth::AuthError;
use crate::code::{ErrorCode, query_code, store_code};
use crate::commands::CommandError;
use crate::webhooks::WebhookError;
use domain::sale::SaleError;
use projections::proofs::queries::ProofQueryError;
use projections::queries::QueryError;
use replay::history::HistoryError;
use serde_json::Value;
use store::StoreError;

/// An error as every adapter answers it.
///
/// It is an answer, not a cause: it implements neither `Display` nor `std::error::Error`,
/// so no adapter can turn it into its own error type through a blanket conversion that
/// would drop the code (async-graphql converts anything `Display` into an error without
/// one). Each adapter converts it explicitly.
#[derive(Debug, Clone, PartialEq)]
pub struct AppError {
    /// The stable code.
    pub code: ErrorCode,
    /// What the user can act on.
    pub message: String,
    /// Facts a client may act on without parsing the message (the lines missing a serial,
    /// the invoice and line holding a serial, ...), keyed by their camelCase name.
    pub details: Vec<(&'static str, Value)>,
}

impl AppError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// The same error with one more detail.
    pub fn with_detail(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.details.push((key, value.into()));
        self
    }

    /// `UNAUTHENTICATED`: no token, or an unknown or revoked one.
    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorCode::Unauthenticated,
            "sign in: send a valid API token (Authorization: Bearer ...)",
        )
    }

    /// `FORBIDDEN`: the token's role may not do `what`.
    pub fn forbidden(role: crate::auth::Role, what: &str) -> Self {
        Self::new(
            ErrorCode::Forbidden,
            format!("a {role} token may not {what}: ask a manager for a token that may"),
        )
    }

    /// `VALIDATION`, naming the field and the rule it breaks.
    pub fn invalid(field: &str, rule: &str) -> Self {
        Self::new(ErrorCode::Validation, format!("{field} {rule}"))
    }

    /// `NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// `INTERNAL`, with the details logged and not shown.
    pub fn internal(details: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %details, "internal error answering a request");
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// `UNAVAILABLE`, with the details logged and not shown.
    pub fn unavailable(details: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %details, "service unavailable answering a request");
        Self::new(ErrorCode::Unavailable, "service unavailable, retry")
    }

    /// The error for `code`: a refusal keeps `message`; a failure logs `details` (its
    /// whole chain of causes) and shows a generic message.
    fn coded(code: ErrorCode, message: String, details: &dyn std::error::Error) -> Self {
        match code {
            ErrorCode::Unavailable => Self::unavailable(&chain(details)),
            ErrorCode::Internal => Self::internal(&chain(details)),
            code => Self::new(code, message),
        }
    }
}

/// An error and its causes, as one line for the log: the message alone may hide the cause.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The result of an application function.
pub type AppResult<T> = Result<T, AppError>;

impl From<CommandError> for AppError {
    fn from(error: CommandError) -> Self {
        let code = error.error_code();
        let mut answer = AppError::coded(code, error.to_string(), &error);
        if !code.is_failure() {
            answer.details = refusal_details(&error);
        }
        answer
    }
}

impl From<SaleError> for AppError {
    fn from(error: SaleError) -> Self {
        AppError::from(CommandError::Sale(error))
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        AppError::from(CommandError::Store(error))
    }
}

impl From<QueryError> for AppError {
    fn from(error: QueryError) -> Self {
        AppError::coded(query_code(&error), error.to_string(), &error)
    }
}

impl From<ProofQueryError> for AppError {
    fn from(error: ProofQueryError) -> Self {
        let code = match &error {
            ProofQueryError::Projection(_) | ProofQueryError::Database(_) => ErrorCode::Internal,
            ProofQueryError::NotFound(_) => ErrorCode::NotFound,
            ProofQueryError::Invalid(_) => ErrorCode::Validation,
        };
        AppError::coded(code, error.to_string(), &error)
    }
}

impl From<HistoryError> for AppError {
    fn from(error: HistoryError) -> Self {
        match error {
            HistoryError::Store(error) => AppError::from(error),
            HistoryError::Index(error) => AppError::from(error),
            HistoryError::InvalidSerial(_) => {
                AppError::new(ErrorCode::InvalidSerial, error.to_string())
            }
            HistoryError::BlankSku => AppError::new(ErrorCode::Validation, error.to_string()),
            HistoryError::Checkpoint(_)
            | HistoryError::Decode { .. }
            | HistoryError::Inconsistent { .. } => {
                AppError::coded(ErrorCode::Internal, error.to_string(), &error)
            }
        }
    }
}

impl From<AuthError> for AppError {
    fn from(error: AuthError) -> Self {
        let code = match &error {
            AuthError::Unauthenticated => return AppError::unauthenticated(),
            AuthError::Invalid { .. } => ErrorCode::Validation,
            AuthError::UnknownTenant(_) | AuthError::UnknownToken(_) => ErrorCode::NotFound,
            AuthError::SlugTaken(_) => ErrorCode::AlreadyExists,
            AuthError::Database(_) => ErrorCode::Unavailable,
            AuthError::Migration(_) => ErrorCode::Internal,
        };
        AppError::coded(code, error.to_string(), &error)
    }
}

impl From<WebhookError> for AppError {
    fn from(error: WebhookError) -> Self {
        let code = match &error {
            WebhookError::Invalid { .. } | WebhookError::TooMany => ErrorCode::Validation,
            WebhookError::NotFound(_) => ErrorCode::NotFound,
            WebhookError::Store(store) => store_code(store),
            WebhookError::Database(_) => ErrorCode::Unavailable,
            WebhookError::StoredValue { .. } => ErrorCode::Internal,
        };
        AppError::coded(code, error.to_string(), &error)
    }
}

/// The facts of a refusal a client may act on without parsing the message.
fn refusal_details(error: &CommandError) -> Vec<(&'static str, Value)> {
    match error {
        CommandError::Sale(SaleError::SerialRequired { lines }) => vec![(
            "lineNumbers",
            Value::Array(lines.iter().map(|line| Value::from(line.0)).collect()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_do_not_leak_their_details() {
        let error = AppError::from(QueryError::StoredValue {
            column: "secret_column",
            value: "secret".into(),
        });
        assert_eq!(error.code, ErrorCode::Internal);
        assert_eq!(error.message, "internal error");
    }

    #[test]
    fn refusals_keep_their_code_and_message() {
        let error = AppError::from(CommandError::NotFound {
            what: "sale",
            id: "x".into(),
        });
        assert_eq!(error.code, ErrorCode::NotFound);
        assert_eq!(error.message, "sale x does not exist");
    }

    #[test]
    fn a_serial_required_refusal_lists_the_lines_missing_a_serial() {
        let error = AppError::from(SaleError::SerialRequired {
            lines: vec![event_schemas::LineNumber(1), event_schemas::LineNumber(3)],
        });
        assert_eq!(error.code, ErrorCode::SerialRequired);
        assert_eq!(
            error.details,
            vec![("lineNumbers", serde_json::json!([1, 3]))]
        );
    }
}
