//! How the application's errors become GraphQL errors.
//!
//! Every error carries a stable `extensions.code`, the [`application::ErrorCode`]'s string, and its
//! details as further extensions (`lineNumbers`, `serialNumber`, `invoiceNumber`,
//! `lineNumber`, `resumeAfter`, ...). Resolvers answer [`ApiResult`]: an [`AppError`] (or any
//! error of the layers below, through it) becomes a [`GraphqlError`] with `?`, and never
//! through async-graphql's conversion of anything `Display`, which would drop the code.
//!
//! - refusals of a command keep their code (`SERIAL_REQUIRED`, `SERIAL_ALREADY_ASSIGNED`,
//!   `LINE_FULFILLED`, `NOT_FOUND`, `CONFLICT`, ...) and the domain's message, written for
//!   the shop user;
//! - bad query input gives `VALIDATION` or `INVALID_SERIAL`, naming the argument;
//! - a subscription whose client stops taking events ends with `SLOW_CONSUMER` and
//!   `extensions.resumeAfter`;
//! - auth gives `UNAUTHENTICATED` (no or invalid token) and `FORBIDDEN` (the token's role
//!   may not do this);
//! - failures of the service never leak details: `UNAVAILABLE` ("service unavailable,
//!   retry") or `INTERNAL` ("internal error"), with the details logged.

use application::AppError;
use async_graphql::{Error, ErrorExtensions};

/// An error as a resolver answers it: a GraphQL error with its `extensions.code`.
#[derive(Debug, Clone)]
pub struct GraphqlError(pub Error);

/// The result of a resolver.
pub type ApiResult<T> = Result<T, GraphqlError>;

impl From<AppError> for GraphqlError {
    fn from(error: AppError) -> Self {
        let AppError {
            code,
            message,
            details,
        } = error;
        GraphqlError(Error::new(message).extend_with(|_, extensions| {
            extensions.set("code", code.as_str());
            for (key, value) in details {
                extensions.set(
                    key,
                    async_graphql::Value::from_json(value).unwrap_or(async_graphql::Value::Null),
                );
            }
        }))
    }
}

impl From<Error> for GraphqlError {
    fn from(error: Error) -> Self {
        GraphqlError(error)
    }
}

impl From<GraphqlError> for Error {
    fn from(error: GraphqlError) -> Self {
        error.0
    }
}

/// Errors of the layers below reach a resolver's `?` through [`AppError`].
macro_rules! through_app_error {
    ($($error:ty),* $(,)?) => {
        $(impl From<$error> for GraphqlError {
            fn from(error: $error) -> Self {
                GraphqlError::from(AppError::from(error))
            }
        })*
    };
}

through_app_error!(
    application::commands::CommandError,
    application::auth::AuthError,
    application::webhooks::WebhookError,
    application::catalogue::MassUploadError,
    projections::queries::QueryError,
    projections::proofs::queries::ProofQueryError,
    replay::history::HistoryError,
    store::StoreError,
);

#[cfg(test)]
mod tests {
    use super::*;
    use application::ErrorCode;

    #[test]
    fn an_error_s_code_and_details_become_extensions() {
        let error = Error::from(GraphqlError::from(
            AppError::new(ErrorCode::SerialRequired, "line 2 needs a serial")
                .with_detail("lineNumbers", serde_json::json!([2])),
        ));
        assert_eq!(error.message, "line 2 needs a serial");
        let extensions = error.extensions.expect("extensions");
        assert_eq!(
            extensions.get("code"),
            Some(&async_graphql::Value::from("SERIAL_REQUIRED"))
        );
        assert_eq!(
            extensions.get("lineNumbers"),
            Some(&async_graphql::Value::List(vec![
                async_graphql::Value::from(2)
            ]))
        );
    }
}
