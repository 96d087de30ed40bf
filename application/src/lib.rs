//! serial-ledger's application layer, between the domain, the store and the read models
//! below and the adapters above (GraphQL, REST, the HTTP file routes, the CLI).
//!
//! It holds everything a request needs that is not about a protocol: the command service
//! ([`commands`]: load, decide, append, retry on conflict), the flows that issue several
//! commands ([`products`]: product edit and the bulk serial-mode edit; [`sales`]: refund by
//! line or by serial, cancel several lines, re-issue onto a new sale), the product mass
//! upload and download ([`catalogue`]), read-your-writes ([`Application::wait_for`], in
//! [`app`]), who
//! issues a command and how it is identified ([`request`]), retailers, tokens and roles
//! ([`auth`]), webhooks ([`webhooks`]), the verifiable ledger's checkpoint task ([`ledger`])
//! and operations ([`proofs`]), and the one error type every adapter answers with
//! ([`AppError`] in [`error`], with the stable codes of [`code`]).
//!
//! It knows nothing of HTTP, GraphQL or the command line: no `axum`, `async_graphql` or
//! `utoipa` here. An adapter parses its input, calls one function of this crate, and
//! converts the answer.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod catalogue;
pub mod code;
pub mod commands;
pub mod error;
pub mod ledger;
pub mod products;
pub mod proofs;
pub mod request;
pub mod sales;
pub mod sessions;
pub mod webhooks;

pub use app::{Application, OpenError};
pub use code::ErrorCode;
pub use error::{AppError, AppResult};
