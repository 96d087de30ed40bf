//! Who issues a command and how it is identified: the rules every adapter shares for
//! turning an authenticated caller into a [`CommandContext`].
//!
//! - The actor is the token: an integration for integrator tokens, a user otherwise.
//! - The channel is what the request names, else the one the token's role and the adapter
//!   imply ([`Channel`] for GraphQL by role, `API`/`WMS` for REST).
//! - The command id is the client's (so a retry is applied once), else a fresh UUID v7; a
//!   request that issues several commands derives one id per part from it, so a retry
//!   derives the same ids and each part is applied once.

use crate::auth::{Permission, Principal, Role};
use crate::commands::CommandContext;
use crate::error::AppError;
use event_schemas::{Actor, ActorKind, Channel, CommandId, CommandMetadata, OutletId};
use uuid::Uuid;

/// An authenticated request: the caller and the request's correlation id.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who the token acts as.
    pub principal: Principal,
    /// Ties together everything done for this request; written on every event.
    pub correlation_id: Uuid,
}

impl Caller {
    /// The caller, who must be allowed `permission` (`what` names it for the message).
    pub fn require(&self, permission: Permission, what: &str) -> Result<&Principal, AppError> {
        require(&self.principal, permission, what)
    }

    /// The context of a command this request issues, through `channel` (when the request
    /// names none, the one [`default_channel`] gives the token's role).
    pub fn command_context(
        &self,
        command_id: CommandId,
        channel: Option<Channel>,
        outlet_id: Option<OutletId>,
    ) -> CommandContext {
        CommandContext {
            tenant_id: self.principal.tenant_id,
            metadata: CommandMetadata {
                command_id,
                correlation_id: self.correlation_id,
                causation_id: None,
                actor: actor_of(&self.principal),
                channel: channel.unwrap_or_else(|| default_channel(self.principal.role)),
                outlet_id,
            },
        }
    }
}

/// `principal`, who must be allowed `permission`, or `FORBIDDEN` naming `what`.
pub fn require<'a>(
    principal: &'a Principal,
    permission: Permission,
    what: &str,
) -> Result<&'a Principal, AppError> {
    if principal.may(permission) {
        Ok(principal)
    } else {
        Err(AppError::forbidden(principal.role, what))
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

/// The channel of a command sent to the integrators' REST API: warehouse tokens arrive
/// through the Warehouse Management Service API (`WMS`), every other token through `API`.
pub fn integration_channel(role: Role) -> Channel {
    match role {
        Role::Warehouse => Channel::Wms,
        _ => Channel::Api,
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

/// A command's id: the client's (`field` names it in the error), else a fresh UUID v7.
pub fn new_command_id(field: &str, given: Option<&str>) -> Result<CommandId, AppError> {
    match given {
        Some(id) => parse_uuid(field, id).map(CommandId),
        None => Ok(CommandId::new_v7()),
    }
}

/// The id of one part of a request that issues several commands (bulk edit, cancel of
/// several lines, open-and-re-issue): derived from the request's command id and `part`, so
/// a retry of the request with the same command id derives the same ids and each command
/// is applied once.
pub fn derived_command_id(base: CommandId, part: &str) -> CommandId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}/{part}", base.0).as_bytes());
    let mut bytes = [0_u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    CommandId(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// `context` for the part `part` of its request: the same caller, the derived command id.
pub fn part_of(context: &CommandContext, part: &str) -> CommandContext {
    let mut derived = context.clone();
    derived.metadata.command_id = derived_command_id(context.metadata.command_id, part);
    derived
}

/// A UUID argument, or `VALIDATION` naming it.
pub fn parse_uuid(field: &str, id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id.trim()).map_err(|_| AppError::invalid(field, "must be a UUID"))
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

    #[test]
    fn an_id_that_is_not_a_uuid_is_refused_naming_the_field() {
        let error = new_command_id("commandId", Some("nope")).err();
        assert_eq!(
            error.map(|error| error.message),
            Some("commandId must be a UUID".to_owned())
        );
    }
}
