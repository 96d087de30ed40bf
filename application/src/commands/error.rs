//! Why a command failed. Each variant's doc says how the API maps it.

use crate::code::{ErrorCode, product_code, sale_code, settings_code, store_code};
use domain::product::ProductError;
use domain::sale::SaleError;
use domain::settings::SettingsError;
use store::StoreError;

/// Why a command (or a read through the command service) failed.
///
/// Domain refusals keep their typed error and stable code; the rest are the service's own:
/// something named does not exist, the stream kept moving, the store failed, or stored data
/// cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A product rule refused the command. The API answers the domain error's code
    /// (`VALIDATION`, `ALREADY_EXISTS`, `NOT_FOUND`, `PACKAGE_CYCLE`) as a 4xx with its
    /// message.
    #[error(transparent)]
    Product(#[from] ProductError),
    /// A settings rule refused the command: the domain error's code (`VALIDATION`), 400.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// A sale rule refused the command, including the refusals the claims report across
    /// sales (`SERIAL_ALREADY_ASSIGNED`, `INVOICE_NUMBER_TAKEN`, `ALREADY_REISSUED`): the
    /// domain error's code, 4xx (409 for those three).
    #[error(transparent)]
    Sale(#[from] SaleError),
    /// Something the command names does not exist (a product, a sale, a line of another
    /// sale). `NOT_FOUND`, HTTP 404.
    #[error("{what} {id} does not exist")]
    NotFound {
        /// What kind of thing: `product`, `sale`, `line`.
        what: &'static str,
        /// Which one, as the user knows it.
        id: String,
    },
    /// The stream kept changing under the command, retry after retry. `CONFLICT`, HTTP 409
    /// (the client may simply send the command again).
    #[error(
        "{stream_id} kept changing while the command was applied ({attempts} attempts): send it again"
    )]
    Conflict {
        /// The contended stream.
        stream_id: String,
        /// How many times the command was decided and appended.
        attempts: u32,
    },
    /// The store failed: `UNAVAILABLE` (HTTP 503, retry later) when the database is
    /// unreachable or too contended, `INTERNAL` (500) otherwise. Details go to the log,
    /// not to the client.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event cannot be decoded: the log holds data this build does not know.
    /// `INTERNAL`, HTTP 500.
    #[error("{stream_id} revision {revision} cannot be read: {reason}")]
    CorruptStream {
        /// The stream.
        stream_id: String,
        /// The unreadable event's revision.
        revision: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The store reported a claim holder that is not a claim owner the domain wrote.
    /// `INTERNAL`, HTTP 500.
    #[error("{scope} {key} is held by {held_by:?}, which is not a claim owner")]
    CorruptClaim {
        /// The claim's scope.
        scope: String,
        /// The claim's key.
        key: String,
        /// The holder as stored.
        held_by: String,
    },
}

impl CommandError {
    /// The stable code: the domain error's own for refusals, else `NOT_FOUND`, `CONFLICT`,
    /// `UNAVAILABLE` or `INTERNAL`.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            CommandError::Product(error) => product_code(error),
            CommandError::Settings(error) => settings_code(error),
            CommandError::Sale(error) => sale_code(error),
            CommandError::NotFound { .. } => ErrorCode::NotFound,
            CommandError::Conflict { .. } => ErrorCode::Conflict,
            CommandError::Store(error) => store_code(error),
            CommandError::CorruptStream { .. } | CommandError::CorruptClaim { .. } => {
                ErrorCode::Internal
            }
        }
    }

    /// The stable code's string ([`CommandError::error_code`]).
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// Whether this is a refusal a user can act on (a rule, something not found, a
    /// conflict), as opposed to a failure of the service (`UNAVAILABLE`, `INTERNAL`).
    pub fn is_refusal(&self) -> bool {
        !self.error_code().is_failure()
    }
}
