//! What every resolver needs from the request: who is calling ([`Principal`], inserted by
//! the server, absent without a valid token), the request's [`RequestMeta`], and the shared
//! [`AppState`]; plus the helpers that turn them into the application's
//! [`Caller`] and parse arguments. The rules themselves (actor, channel, command ids) are
//! the application's ([`application::request`]).

use crate::state::AppState;
use application::AppError;
use application::auth::{Permission, Principal};
use application::commands::CommandContext;
use application::request::{self, Caller};
use async_graphql::{Context, ID};
use event_schemas::{Channel, CommandId, OutletId};
use store::Position;
use uuid::Uuid;

/// Per-request facts the server inserts into each GraphQL request's data (and, for
/// WebSocket subscriptions, from the `connection_init` payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestMeta {
    /// Ties together everything done for this request; written on every event as the
    /// correlation id.
    pub correlation_id: Uuid,
}

/// The shared state.
pub(crate) fn state<'a>(ctx: &Context<'a>) -> Result<&'a AppState, AppError> {
    ctx.data::<AppState>()
        .map_err(|_| AppError::internal(&"the GraphQL schema was built without its AppState"))
}

/// The caller, who must be allowed `permission` (`what` says what it is, for the message).
pub(crate) fn require<'a>(
    ctx: &Context<'a>,
    permission: Permission,
    what: &str,
) -> Result<&'a Principal, AppError> {
    let principal = ctx
        .data::<Principal>()
        .map_err(|_| AppError::unauthenticated())?;
    request::require(principal, permission, what)
}

/// The application's view of this request's caller.
pub(crate) fn caller(ctx: &Context<'_>, principal: &Principal) -> Caller {
    let correlation_id = ctx
        .data::<RequestMeta>()
        .map(|meta| meta.correlation_id)
        .unwrap_or_else(|_| Uuid::now_v7());
    Caller {
        principal: principal.clone(),
        correlation_id,
    }
}

/// A command's id: the client's `commandId` (so a retry is applied once), else a fresh
/// UUID v7.
pub(crate) fn new_command_id(given: Option<&ID>) -> Result<CommandId, AppError> {
    request::new_command_id("commandId", given.map(|id| id.as_str()))
}

/// The context of a command issued by this request (through `channel`, else the one the
/// token's role implies).
pub(crate) fn command_context(
    ctx: &Context<'_>,
    principal: &Principal,
    command_id: CommandId,
    channel: Option<Channel>,
    outlet_id: Option<OutletId>,
) -> CommandContext {
    caller(ctx, principal).command_context(command_id, channel, outlet_id)
}

/// A UUID argument, or `VALIDATION` naming it.
pub(crate) fn parse_uuid(field: &str, id: &str) -> Result<Uuid, AppError> {
    request::parse_uuid(field, id)
}

/// A `Position` cursor argument (`COMMIT:PREPARE`), or `VALIDATION` naming it.
pub(crate) fn parse_position(field: &str, cursor: Option<&str>) -> Result<Position, AppError> {
    match cursor {
        None => Ok(Position::START),
        Some(text) => text.trim().parse().map_err(|_| {
            AppError::invalid(
                field,
                "is not a cursor this API gave out (expected an event's cursor)",
            )
        }),
    }
}

/// A `first` argument: from 0, default `default`.
pub(crate) fn page_size(first: Option<i32>, default: u32) -> Result<u32, AppError> {
    match first {
        None => Ok(default),
        Some(first) => {
            u32::try_from(first).map_err(|_| AppError::invalid("first", "must not be negative"))
        }
    }
}
