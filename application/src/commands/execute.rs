//! The loop every command runs: load the stream, decide, append with the revision it was
//! decided on, and retry when another writer got there first.

use super::{CommandContext, CommandError, CommandOutcome, CommandService};
use domain::Decider;
use domain::claims::{self, ClaimAction, ClaimChange, ClaimOwner};
use domain::product::{ProductDecider, ProductError};
use domain::sale::{SaleDecider, SaleError};
use domain::settings::SettingsDecider;
use event_schemas::{CommandId, LedgerEvent, TenantId};
use std::time::Duration;
use store::{
    AppendRequest, AppendResult, EventStore, ExpectedRevision, NewEvent, Position, RecordedEvent,
    StoreError, StreamAppended, StreamWrite,
};

/// Events read per `read_stream` call while loading.
const PAGE_SIZE: usize = 1000;

/// What the loop needs of an aggregate besides its decider.
pub(super) trait Aggregate: Decider {
    /// The claims `events` take and release, given the state before them.
    fn claims(_before: &Self::State, _events: &[LedgerEvent]) -> Vec<ClaimChange> {
        Vec::new()
    }

    /// The refusal as a [`CommandError`]; `id` names the aggregate for "not found".
    fn refusal(error: Self::Error, id: &str) -> CommandError;
}

impl Aggregate for ProductDecider {
    fn refusal(error: ProductError, id: &str) -> CommandError {
        match error {
            ProductError::NotFound => CommandError::NotFound {
                what: "product",
                id: id.to_owned(),
            },
            error => CommandError::Product(error),
        }
    }
}

impl Aggregate for SettingsDecider {
    fn refusal(error: Self::Error, _id: &str) -> CommandError {
        CommandError::Settings(error)
    }
}

impl Aggregate for SaleDecider {
    fn claims(before: &Self::State, events: &[LedgerEvent]) -> Vec<ClaimChange> {
        claims::claims_for(before.as_ref(), events)
    }

    fn refusal(error: SaleError, id: &str) -> CommandError {
        match error {
            SaleError::SaleNotOpened => CommandError::NotFound {
                what: "sale",
                id: id.to_owned(),
            },
            error => CommandError::Sale(error),
        }
    }
}

/// Which stream a command goes to, and how to name its aggregate in "not found".
pub(super) struct Target {
    pub stream_id: String,
    pub id: String,
}

/// A stream folded into its aggregate's state.
pub(super) struct Loaded<State> {
    pub state: State,
    /// The revision to append at: what was read.
    pub expected: ExpectedRevision,
    /// The events a given command id already wrote to this stream, if any.
    pub applied: Option<CommandOutcome>,
}

impl<S: EventStore> CommandService<S> {
    /// Reads `stream_id` fully and folds it with `D`. With `command_id`, also picks out
    /// the events that command already wrote here.
    pub(super) async fn load<D: Decider>(
        &self,
        tenant_id: TenantId,
        stream_id: &str,
        command_id: Option<CommandId>,
    ) -> Result<Loaded<D::State>, CommandError> {
        let mut state = D::State::default();
        let mut last_revision = None;
        let mut applied_events = Vec::new();
        // First and last revision of the command's events, and the last one's position.
        let mut applied_span: Option<(u64, u64, Position)> = None;
        loop {
            let from = last_revision.map_or(0, |revision: u64| revision + 1);
            let page = self
                .store
                .read_stream(tenant_id, stream_id, from, PAGE_SIZE)
                .await?;
            let full = page.len() == PAGE_SIZE;
            for recorded in page {
                let revision = recorded.envelope.stream_revision;
                let event = decode(stream_id, &recorded)?;
                state = D::evolve(state, &event);
                last_revision = Some(revision);
                if command_id.is_some_and(|id| id == recorded.envelope.metadata.command_id) {
                    applied_events.push(event);
                    let first = applied_span.map_or(revision, |(first, _, _)| first);
                    applied_span = Some((first, revision, recorded.position));
                }
            }
            if !full {
                break;
            }
        }
        let expected = last_revision.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        let applied = applied_span.map(|(first_revision, last_revision, position)| {
            CommandOutcome::recorded(
                applied_events,
                AppendResult {
                    streams: vec![StreamAppended {
                        stream_id: stream_id.to_owned(),
                        first_revision,
                        last_revision,
                    }],
                    position,
                    deduplicated: true,
                },
            )
        });
        Ok(Loaded {
            state,
            expected,
            applied,
        })
    }

    /// Decides `command` against the stream and appends the result, retrying when the
    /// stream moved in between.
    pub(super) async fn execute<A>(
        &self,
        context: &CommandContext,
        target: &Target,
        command: A::Command,
    ) -> Result<CommandOutcome, CommandError>
    where
        A: Aggregate,
        A::Command: Clone,
    {
        let tenant_id = context.tenant_id;
        let command_id = context.metadata.command_id;
        let attempts = self.retry.max_attempts.max(1);
        for attempt in 1..=attempts {
            let loaded = self
                .load::<A>(tenant_id, &target.stream_id, Some(command_id))
                .await?;
            if let Some(applied) = loaded.applied {
                tracing::debug!("command id already applied to this stream");
                return Ok(applied);
            }
            let events = A::decide(&loaded.state, command.clone())
                .map_err(|error| A::refusal(error, &target.id))?;
            if events.is_empty() {
                return Ok(CommandOutcome::nothing_to_record());
            }
            let claims = A::claims(&loaded.state, &events);
            let request = AppendRequest {
                tenant_id,
                metadata: context.metadata.clone(),
                writes: vec![StreamWrite {
                    stream_id: target.stream_id.clone(),
                    expected_revision: loaded.expected,
                    events: events.iter().map(NewEvent::from_event).collect(),
                }],
                claims: claims.iter().map(store_claim).collect(),
            };
            match self.store.append(request).await {
                Ok(result) if result.deduplicated => {
                    tracing::debug!("the store had already applied this command id");
                    return self.original_outcome(tenant_id, result).await;
                }
                Ok(result) => {
                    tracing::debug!(
                        attempt,
                        events = events.len(),
                        position = %result.position,
                        "appended"
                    );
                    return Ok(CommandOutcome::recorded(events, result));
                }
                Err(StoreError::WrongExpectedRevision { .. }) => {
                    tracing::debug!(attempt, "the stream moved since it was read; retrying");
                    if attempt < attempts {
                        tokio::time::sleep(self.backoff(attempt)).await;
                    }
                }
                Err(StoreError::ClaimConflict {
                    scope,
                    key,
                    held_by,
                }) => return Err(claim_refusal(&claims, scope, key, held_by)),
                Err(error) => return Err(CommandError::Store(error)),
            }
        }
        Err(CommandError::Conflict {
            stream_id: target.stream_id.clone(),
            attempts,
        })
    }

    /// A random wait of up to `attempt × backoff`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.retry.backoff.saturating_mul(attempt);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rand::random_range(0..=micros))
    }

    /// The events a deduplicated append had written back then, read from its streams.
    async fn original_outcome(
        &self,
        tenant_id: TenantId,
        result: AppendResult,
    ) -> Result<CommandOutcome, CommandError> {
        let mut events = Vec::new();
        for written in &result.streams {
            let count = written
                .last_revision
                .saturating_sub(written.first_revision)
                .saturating_add(1);
            let recorded = self
                .store
                .read_stream(
                    tenant_id,
                    &written.stream_id,
                    written.first_revision,
                    usize::try_from(count).unwrap_or(usize::MAX),
                )
                .await?;
            for event in &recorded {
                events.push(decode(&written.stream_id, event)?);
            }
        }
        Ok(CommandOutcome::recorded(events, result))
    }
}

/// The payload of a stored event as a [`LedgerEvent`]; a payload this build cannot read is
/// corrupt data, reported, never a panic.
fn decode(stream_id: &str, recorded: &RecordedEvent) -> Result<LedgerEvent, CommandError> {
    let envelope = &recorded.envelope;
    LedgerEvent::decode(
        &envelope.event_type,
        envelope.schema_version,
        &envelope.payload,
    )
    .map_err(|error| CommandError::CorruptStream {
        stream_id: stream_id.to_owned(),
        revision: envelope.stream_revision,
        reason: error.to_string(),
    })
}

/// The domain's claim change as the store takes it: opaque strings.
fn store_claim(change: &ClaimChange) -> store::ClaimChange {
    store::ClaimChange {
        action: match change.action {
            ClaimAction::Claim => store::ClaimAction::Claim,
            ClaimAction::Release => store::ClaimAction::Release,
        },
        scope: change.scope.as_str().to_owned(),
        key: change.key.clone(),
        owner: change.owner.to_owner_string(),
    }
}

/// The typed refusal for a claim the store says `held_by` holds.
fn claim_refusal(
    claims: &[ClaimChange],
    scope: String,
    key: String,
    held_by: String,
) -> CommandError {
    let claim = claims.iter().find(|claim| {
        claim.action == ClaimAction::Claim && claim.scope.as_str() == scope && claim.key == key
    });
    match (claim, ClaimOwner::parse(&held_by)) {
        (Some(claim), Ok(holder)) => {
            CommandError::Sale(SaleError::from_claim_conflict(claim, &holder))
        }
        (None, _) => CommandError::Store(StoreError::ClaimConflict {
            scope,
            key,
            held_by,
        }),
        (Some(_), Err(_)) => CommandError::CorruptClaim {
            scope,
            key,
            held_by,
        },
    }
}
