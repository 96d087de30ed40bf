//! What every resolver needs from the request: who is calling ([`Principal`], inserted by
//! the server, absent without a valid token), the request's [`RequestMeta`], and the shared
//! [`AppState`]; plus the helpers that turn them into a [`CommandContext`], check
//! permissions, parse arguments, and wait for the read models after a write.

use super::errors::ApiError;
use crate::auth::{Permission, Principal, Role};
use crate::commands::{CommandContext, CommandOutcome};
use crate::state::AppState;
use async_graphql::{Context, ID};
use event_schemas::{Actor, ActorKind, Channel, CommandId, CommandMetadata, OutletId};
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
pub(crate) fn state<'a>(ctx: &Context<'a>) -> Result<&'a AppState, ApiError> {
    ctx.data::<AppState>()
        .map_err(|_| ApiError::internal(&"the GraphQL schema was built without its AppState"))
}

/// The caller, who must be allowed `permission` (`what` says what it is, for the message).
pub(crate) fn require<'a>(
    ctx: &Context<'a>,
    permission: Permission,
    what: &str,
) -> Result<&'a Principal, ApiError> {
    let principal = ctx
        .data::<Principal>()
        .map_err(|_| ApiError::unauthenticated())?;
    if principal.may(permission) {
        Ok(principal)
    } else {
        Err(ApiError::forbidden(principal.role, what))
    }
}

/// The channel a role's commands arrive through when the request does not name one.
pub fn default_channel(role: Role) -> Channel {
    match role {
        Role::Pos => Channel::Pos,
        Role::Warehouse => Channel::FulfilmentReport,
        Role::Integrator => Channel::Api,
        Role::Manager | Role::Auditor => Channel::BackOffice,
    }
}

/// The actor a token acts as: an integration for integrator tokens, a user otherwise.
pub fn actor_of(principal: &Principal) -> Actor {
    Actor {
        kind: match principal.role {
            Role::Integrator => ActorKind::Integration,
            _ => ActorKind::User,
        },
        id: principal.token_id.to_string(),
        display_name: principal.label.clone(),
    }
}

/// A command's id: the client's `commandId` (so a retry is applied once), else a fresh
/// UUID v7.
pub(crate) fn new_command_id(given: Option<&ID>) -> Result<CommandId, ApiError> {
    match given {
        Some(id) => parse_uuid("commandId", id).map(CommandId),
        None => Ok(CommandId::new_v7()),
    }
}

/// The id of the `index`th command of a mutation that issues several (bulk edit, cancel of
/// several lines): derived from the mutation's command id and `part`, so a retry of the
/// mutation with the same `commandId` derives the same ids and each command is applied once.
pub(crate) fn derived_command_id(base: CommandId, part: &str) -> CommandId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}/{part}", base.0).as_bytes());
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    CommandId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// The context of a command issued by this request.
pub(crate) fn command_context(
    ctx: &Context<'_>,
    principal: &Principal,
    command_id: CommandId,
    channel: Option<Channel>,
    outlet_id: Option<OutletId>,
) -> CommandContext {
    let correlation_id = ctx
        .data::<RequestMeta>()
        .map(|meta| meta.correlation_id)
        .unwrap_or_else(|_| Uuid::now_v7());
    CommandContext {
        tenant_id: principal.tenant_id,
        metadata: CommandMetadata {
            command_id,
            correlation_id,
            causation_id: None,
            actor: actor_of(principal),
            channel: channel.unwrap_or_else(|| default_channel(principal.role)),
            outlet_id,
        },
    }
}

/// Read-your-writes: waits until every read model has folded `position`, so the client's
/// next query sees the write. On timeout the write still succeeded: log and go on.
pub(crate) async fn wait_for_read_models(state: &AppState, position: Option<Position>) {
    let Some(position) = position else {
        return;
    };
    if let Err(error) = state
        .projections
        .wait_for(position, state.read_your_writes_timeout)
        .await
    {
        tracing::warn!(%position, %error, "read models did not reach a mutation's position in time");
    }
}

/// Waits for the read models after a command.
pub(crate) async fn after_command(state: &AppState, outcome: &CommandOutcome) {
    wait_for_read_models(state, outcome.position()).await;
}

/// A UUID argument, or `VALIDATION` naming it.
pub(crate) fn parse_uuid(field: &str, id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.trim()).map_err(|_| ApiError::invalid(field, "must be a UUID"))
}

/// A `Position` cursor argument (`COMMIT:PREPARE`), or `VALIDATION` naming it.
pub(crate) fn parse_position(field: &str, cursor: Option<&str>) -> Result<Position, ApiError> {
    match cursor {
        None => Ok(Position::START),
        Some(text) => text.trim().parse().map_err(|_| {
            ApiError::invalid(
                field,
                "is not a cursor this API gave out (expected an event's cursor)",
            )
        }),
    }
}

/// A `first` argument: from 0, default `default`.
pub(crate) fn page_size(first: Option<i32>, default: u32) -> Result<u32, ApiError> {
    match first {
        None => Ok(default),
        Some(first) => {
            u32::try_from(first).map_err(|_| ApiError::invalid("first", "must not be negative"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_command_ids_are_stable_and_distinct() {
        let base = CommandId(Uuid::nil());
        assert_eq!(derived_command_id(base, "a"), derived_command_id(base, "a"));
        assert_ne!(derived_command_id(base, "a"), derived_command_id(base, "b"));
    }
}
