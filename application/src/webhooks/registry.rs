//! The webhook tables (`application/migrations/*/2002_webhooks.sql`): endpoints a retailer registers,
//! their checkpoints and dead-letter facts, and every delivery attempt.
//!
//! Everything a retailer reads or changes goes through a method taking its [`TenantId`], and
//! every statement is confined to it: another retailer's webhook id is "not found".
//!
//! The dispatcher's writes are conditional on the checkpoint it read (`checkpoint = expected`),
//! in the transaction that records the attempt: a checkpoint never moves without its attempt,
//! never moves backwards, and a dispatcher that finds it moved (another server process, or the
//! endpoint removed or resumed meanwhile) reloads instead of overwriting.

use super::WebhookError;
use event_schemas::{LedgerEvent, TenantId};
use projections::{ReadDb, execute, fetch_all, stored};
use store::{AnyStore, EventStore, Position};
use time::OffsetDateTime;
use uuid::Uuid;

/// The most endpoints one retailer may register (each has a delivery task of its own).
pub const MAX_ENDPOINTS_PER_RETAILER: usize = 20;
/// The shortest secret accepted.
pub const MIN_SECRET_CHARS: usize = 16;
/// The longest secret accepted.
pub const MAX_SECRET_CHARS: usize = 256;
/// The longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// Whether an endpoint is being delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStatus {
    /// Events are delivered.
    Active,
    /// Delivery stopped at an event that failed every attempt; `resume` restarts there.
    DeadLettered,
}

impl EndpointStatus {
    fn code(self) -> &'static str {
        match self {
            EndpointStatus::Active => "ACTIVE",
            EndpointStatus::DeadLettered => "DEAD_LETTERED",
        }
    }

    fn from_code(code: &str) -> Result<Self, WebhookError> {
        match code {
            "ACTIVE" => Ok(EndpointStatus::Active),
            "DEAD_LETTERED" => Ok(EndpointStatus::DeadLettered),
            other => Err(stored("status", other)),
        }
    }
}

/// Why delivery to an endpoint stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The event that could not be delivered.
    pub event_id: Uuid,
    /// Its position in the log.
    pub cursor: Position,
    /// How many attempts were made.
    pub attempts: u32,
    /// The last attempt's error.
    pub last_error: String,
    /// When the endpoint was dead-lettered.
    pub at: OffsetDateTime,
}

/// A registered endpoint, as its retailer sees it (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The endpoint's id.
    pub id: Uuid,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types delivered; empty means every type.
    pub event_types: Vec<String>,
    /// Delivering or stopped.
    pub status: EndpointStatus,
    /// Every wanted event at or before this position has been delivered.
    pub checkpoint: Position,
    /// Failed attempts at the next event to deliver.
    pub failures: u32,
    /// Set when dead-lettered.
    pub dead_letter: Option<DeadLetter>,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

/// What the dispatcher needs of an endpoint: the public facts plus its tenant and secret.
#[derive(Clone)]
pub(crate) struct DispatchTarget {
    pub endpoint: Endpoint,
    pub tenant_id: TenantId,
    pub secret: String,
}

// Secrets stay out of logs even when a target is debug-printed.
impl std::fmt::Debug for DispatchTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DispatchTarget")
            .field("endpoint", &self.endpoint.id)
            .field("tenant_id", &self.tenant_id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl DispatchTarget {
    /// Whether the endpoint wants `event`: its retailer's, of a type it asked for.
    pub fn wants(&self, event: &store::RecordedEvent) -> bool {
        event.envelope.tenant_id == self.tenant_id
            && (self.endpoint.event_types.is_empty()
                || self
                    .endpoint
                    .event_types
                    .contains(&event.envelope.event_type))
    }
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered 2xx: the checkpoint moved past the event.
    Delivered,
    /// It did not; the event will be tried again.
    Failed,
    /// It did not, and that was the last attempt: the endpoint is dead-lettered.
    DeadLettered,
}

impl Outcome {
    fn code(self) -> &'static str {
        match self {
            Outcome::Delivered => "DELIVERED",
            Outcome::Failed => "FAILED",
            Outcome::DeadLettered => "DEAD_LETTERED",
        }
    }

    fn from_code(code: &str) -> Result<Self, WebhookError> {
        match code {
            "DELIVERED" => Ok(Outcome::Delivered),
            "FAILED" => Ok(Outcome::Failed),
            "DEAD_LETTERED" => Ok(Outcome::DeadLettered),
            other => Err(stored("outcome", other)),
        }
    }
}

/// One recorded delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// Its place among all attempts (increasing): the cursor of `webhookDeliveries`.
    pub sequence: i64,
    /// The event delivered.
    pub event_id: Uuid,
    /// The event's position in the log.
    pub cursor: Position,
    /// 1 for the first attempt at this event, 2 for the first retry, ...
    pub attempt: u32,
    /// When the attempt started.
    pub at: OffsetDateTime,
    /// The HTTP status answered, when there was an answer.
    pub http_status: Option<u16>,
    /// Why it failed (a status that is not 2xx, a timeout, a refused connection).
    pub error: Option<String>,
    /// How long the request took.
    pub duration_ms: u64,
    /// How it ended.
    pub outcome: Outcome,
}

/// An attempt to record (see [`Registry::record_attempt`]).
#[derive(Debug, Clone)]
pub(crate) struct NewAttempt {
    pub event_id: Uuid,
    pub cursor: Position,
    pub attempt: u32,
    pub at: OffsetDateTime,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub outcome: Outcome,
}

/// What a retailer asks to register.
#[derive(Debug, Clone)]
pub struct Registration {
    /// http or https, with a host.
    pub url: String,
    /// Event type names; empty for every type.
    pub event_types: Vec<String>,
    /// The signing secret, at least [`MIN_SECRET_CHARS`] characters.
    pub secret: String,
    /// Deliver the events after this position; None: only events recorded from now on.
    pub after: Option<Position>,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    webhook_id: String,
    tenant_id: String,
    url: String,
    event_types: String,
    secret: String,
    status: String,
    checkpoint_commit: i64,
    checkpoint_prepare: i64,
    failures: i64,
    dead_event_id: Option<String>,
    dead_cursor: Option<String>,
    dead_attempts: Option<i64>,
    dead_error: Option<String>,
    dead_at: Option<i64>,
    created_at: i64,
}

/// The columns of [`EndpointRow`], spliced into SQL at compile time (never values).
macro_rules! endpoint_columns {
    () => {
        "webhook_id, tenant_id, url, event_types, secret, status, checkpoint_commit, \
         checkpoint_prepare, failures, dead_event_id, dead_cursor, dead_attempts, dead_error, \
         dead_at, created_at"
    };
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    delivery_id: i64,
    event_id: String,
    event_cursor: String,
    attempt: i64,
    attempted_at: i64,
    http_status: Option<i64>,
    error: Option<String>,
    duration_ms: i64,
    outcome: String,
}

#[derive(sqlx::FromRow)]
struct CountRow {
    count: i64,
}

fn stored(column: &'static str, value: &str) -> WebhookError {
    WebhookError::StoredValue {
        column,
        value: value.to_owned(),
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn to_u64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn micros(at: OffsetDateTime) -> i64 {
    stored::micros(at).unwrap_or(i64::MAX)
}

fn parse_position(column: &'static str, text: &str) -> Result<Position, WebhookError> {
    text.parse().map_err(|_| stored(column, text))
}

impl EndpointRow {
    fn into_target(self) -> Result<DispatchTarget, WebhookError> {
        let event_types: Vec<String> = serde_json::from_str(&self.event_types)
            .map_err(|_| stored("event_types", &self.event_types))?;
        let dead_letter = match (
            self.dead_event_id,
            self.dead_cursor,
            self.dead_attempts,
            self.dead_error,
            self.dead_at,
        ) {
            (Some(event_id), Some(cursor), Some(attempts), Some(last_error), Some(at)) => {
                Some(DeadLetter {
                    event_id: stored::uuid("dead_event_id", &event_id)?,
                    cursor: parse_position("dead_cursor", &cursor)?,
                    attempts: stored::integer::<u32>("dead_attempts", attempts)?,
                    last_error,
                    at: stored::time("dead_at", at)?,
                })
            }
            _ => None,
        };
        Ok(DispatchTarget {
            tenant_id: TenantId(stored::uuid("tenant_id", &self.tenant_id)?),
            secret: self.secret,
            endpoint: Endpoint {
                id: stored::uuid("webhook_id", &self.webhook_id)?,
                url: self.url,
                event_types,
                status: EndpointStatus::from_code(&self.status)?,
                checkpoint: Position {
                    commit: to_u64(self.checkpoint_commit),
                    prepare: to_u64(self.checkpoint_prepare),
                },
                failures: stored::integer::<u32>("failures", self.failures)?,
                dead_letter,
                created_at: stored::time("created_at", self.created_at)?,
            },
        })
    }
}

impl DeliveryRow {
    fn into_attempt(self) -> Result<DeliveryAttempt, WebhookError> {
        Ok(DeliveryAttempt {
            sequence: self.delivery_id,
            event_id: stored::uuid("event_id", &self.event_id)?,
            cursor: parse_position("event_cursor", &self.event_cursor)?,
            attempt: stored::integer::<u32>("attempt", self.attempt)?,
            at: stored::time("attempted_at", self.attempted_at)?,
            http_status: self
                .http_status
                .map(|status| {
                    u16::try_from(status).map_err(|_| stored("http_status", &status.to_string()))
                })
                .transpose()?,
            error: self.error,
            duration_ms: to_u64(self.duration_ms),
            outcome: Outcome::from_code(&self.outcome)?,
        })
    }
}

/// Checks a registration: each refusal names the field and the rule.
pub fn validate(registration: &Registration) -> Result<(), WebhookError> {
    let invalid = |field: &'static str, rule: &str| WebhookError::Invalid {
        field,
        rule: rule.to_owned(),
    };
    let url = registration.url.trim();
    if url.chars().count() > MAX_URL_CHARS {
        return Err(invalid("url", "must be at most 2048 characters"));
    }
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| invalid("url", "must be an absolute http or https URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("url", "must be an http or https URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("url", "must name a host"));
    }
    // Credentials in a URL end up in logs and error messages; the secret is how an
    // endpoint knows a delivery is genuine.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "url",
            "must not contain a user name or password (verify the signature instead)",
        ));
    }
    let secret_chars = registration.secret.chars().count();
    if secret_chars < MIN_SECRET_CHARS {
        return Err(invalid("secret", "must be at least 16 characters"));
    }
    if secret_chars > MAX_SECRET_CHARS {
        return Err(invalid("secret", "must be at most 256 characters"));
    }
    if registration.secret.chars().any(char::is_control) {
        return Err(invalid("secret", "must not contain control characters"));
    }
    for event_type in &registration.event_types {
        if !LedgerEvent::TYPES
            .iter()
            .any(|(known, _)| *known == event_type.as_str())
        {
            return Err(WebhookError::Invalid {
                field: "eventTypes",
                rule: format!(
                    "contains {event_type:?}, which is not an event type (for example SerialAssigned, LineFulfilled)"
                ),
            });
        }
    }
    Ok(())
}

/// The webhook tables.
#[derive(Clone)]
pub struct Registry {
    db: ReadDb,
    store: AnyStore,
}

impl Registry {
    /// The tables in the ledger's database.
    pub fn new(store: AnyStore) -> Self {
        Self {
            db: ReadDb::of(&store),
            store,
        }
    }

    /// The position of the newest event a reader of the whole log can see now: where a new
    /// endpoint starts when no `after` is given. [`EventStore::head_position`] keeps
    /// `read_all`'s visibility rule, so nothing a reader could still get before this
    /// position is skipped.
    async fn head_of_log(&self) -> Result<Position, WebhookError> {
        Ok(self.store.head_position().await?)
    }

    /// Registers an endpoint for `tenant`. Returns it; the secret is never returned.
    pub async fn register(
        &self,
        tenant: TenantId,
        registration: Registration,
    ) -> Result<Endpoint, WebhookError> {
        validate(&registration)?;
        let existing = fetch_all!(
            &self.db,
            CountRow,
            "SELECT count(*) AS count FROM webhook_endpoints WHERE tenant_id = $1",
            tenant.to_string(),
        )?;
        if existing
            .first()
            .is_some_and(|row| to_u64(row.count) >= MAX_ENDPOINTS_PER_RETAILER as u64)
        {
            return Err(WebhookError::TooMany);
        }
        let checkpoint = match registration.after {
            Some(after) => after,
            None => self.head_of_log().await?,
        };
        let mut event_types = registration.event_types;
        event_types.sort();
        event_types.dedup();
        let id = Uuid::now_v7();
        let mut tx = self.db.begin().await?;
        execute!(
            &mut tx,
            "INSERT INTO webhook_endpoints (webhook_id, tenant_id, url, event_types, secret, \
             status, checkpoint_commit, checkpoint_prepare, failures, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
            id.to_string(),
            tenant.to_string(),
            registration.url.trim(),
            serde_json::Value::from(event_types).to_string(),
            registration.secret,
            EndpointStatus::Active.code(),
            to_i64(checkpoint.commit),
            to_i64(checkpoint.prepare),
            micros(OffsetDateTime::now_utc()),
        )?;
        tx.commit().await?;
        self.endpoint(tenant, id).await
    }

    /// The retailer's endpoints, oldest first.
    pub async fn endpoints(&self, tenant: TenantId) -> Result<Vec<Endpoint>, WebhookError> {
        let rows = fetch_all!(
            &self.db,
            EndpointRow,
            concat!(
                "SELECT ",
                endpoint_columns!(),
                " FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY created_at, webhook_id"
            ),
            tenant.to_string(),
        )?;
        rows.into_iter()
            .map(|row| row.into_target().map(|target| target.endpoint))
            .collect()
    }

    /// One of the retailer's endpoints, or `NotFound`.
    pub async fn endpoint(&self, tenant: TenantId, id: Uuid) -> Result<Endpoint, WebhookError> {
        let rows = fetch_all!(
            &self.db,
            EndpointRow,
            concat!(
                "SELECT ",
                endpoint_columns!(),
                " FROM webhook_endpoints WHERE tenant_id = $1 AND webhook_id = $2"
            ),
            tenant.to_string(),
            id.to_string(),
        )?;
        match rows.into_iter().next() {
            Some(row) => Ok(row.into_target()?.endpoint),
            None => Err(WebhookError::NotFound(id)),
        }
    }

    /// Removes an endpoint and its attempts. Its delivery task stops at its next write.
    pub async fn remove(&self, tenant: TenantId, id: Uuid) -> Result<(), WebhookError> {
        let mut tx = self.db.begin().await?;
        let removed = execute!(
            &mut tx,
            "DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND webhook_id = $2",
            tenant.to_string(),
            id.to_string(),
        )?;
        if removed == 0 {
            tx.rollback().await?;
            return Err(WebhookError::NotFound(id));
        }
        execute!(
            &mut tx,
            "DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2",
            tenant.to_string(),
            id.to_string(),
        )?;
        tx.commit().await?;
        Ok(())
    }

    /// Restarts a dead-lettered endpoint at the event it stopped at, with a fresh count of
    /// attempts. An active endpoint is left as it is.
    pub async fn resume(&self, tenant: TenantId, id: Uuid) -> Result<Endpoint, WebhookError> {
        let mut tx = self.db.begin().await?;
        execute!(
            &mut tx,
            "UPDATE webhook_endpoints SET status = $3, failures = 0, dead_event_id = NULL, \
             dead_cursor = NULL, dead_attempts = NULL, dead_error = NULL, dead_at = NULL \
             WHERE tenant_id = $1 AND webhook_id = $2 AND status = $4",
            tenant.to_string(),
            id.to_string(),
            EndpointStatus::Active.code(),
            EndpointStatus::DeadLettered.code(),
        )?;
        tx.commit().await?;
        self.endpoint(tenant, id).await
    }

    /// The endpoint's attempts, newest first: at most `first`, older than `before` (a
    /// [`DeliveryAttempt::sequence`]) when given.
    pub async fn deliveries(
        &self,
        tenant: TenantId,
        id: Uuid,
        first: u32,
        before: Option<i64>,
    ) -> Result<Vec<DeliveryAttempt>, WebhookError> {
        // Confirms the endpoint is the retailer's (NOT_FOUND otherwise) before listing.
        self.endpoint(tenant, id).await?;
        let rows = fetch_all!(
            &self.db,
            DeliveryRow,
            "SELECT delivery_id, event_id, event_cursor, attempt, attempted_at, http_status, \
             error, duration_ms, outcome FROM webhook_deliveries \
             WHERE tenant_id = $1 AND webhook_id = $2 AND delivery_id < $3 \
             ORDER BY delivery_id DESC LIMIT $4",
            tenant.to_string(),
            id.to_string(),
            before.unwrap_or(i64::MAX),
            i64::from(first),
        )?;
        rows.into_iter().map(DeliveryRow::into_attempt).collect()
    }

    // ----- the dispatcher's side -----

    /// Every active endpoint's id, of every retailer.
    pub(crate) async fn active_ids(&self) -> Result<Vec<Uuid>, WebhookError> {
        #[derive(sqlx::FromRow)]
        struct IdRow {
            webhook_id: String,
        }
        let rows = fetch_all!(
            &self.db,
            IdRow,
            "SELECT webhook_id FROM webhook_endpoints WHERE status = $1 ORDER BY webhook_id",
            EndpointStatus::Active.code(),
        )?;
        rows.iter()
            .map(|row| Ok(stored::uuid("webhook_id", &row.webhook_id)?))
            .collect()
    }

    /// An endpoint with its tenant and secret, whatever its retailer; None when removed.
    pub(crate) async fn target(&self, id: Uuid) -> Result<Option<DispatchTarget>, WebhookError> {
        let rows = fetch_all!(
            &self.db,
            EndpointRow,
            concat!(
                "SELECT ",
                endpoint_columns!(),
                " FROM webhook_endpoints WHERE webhook_id = $1"
            ),
            id.to_string(),
        )?;
        rows.into_iter()
            .next()
            .map(EndpointRow::into_target)
            .transpose()
    }

    /// Takes or renews the delivery lease of an endpoint for `owner` (a dispatcher
    /// instance) until `until`; false when another live instance holds it.
    pub(crate) async fn claim_lease(
        &self,
        id: Uuid,
        owner: Uuid,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, WebhookError> {
        let mut tx = self.db.begin().await?;
        let claimed = execute!(
            &mut tx,
            "UPDATE webhook_endpoints SET lease_owner = $2, lease_until = $3 \
             WHERE webhook_id = $1 \
               AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $4)",
            id.to_string(),
            owner.to_string(),
            micros(until),
            micros(now),
        )?;
        tx.commit().await?;
        Ok(claimed == 1)
    }

    /// Gives the lease up (on stop), so another instance takes over at once.
    pub(crate) async fn release_lease(&self, id: Uuid, owner: Uuid) -> Result<(), WebhookError> {
        let mut tx = self.db.begin().await?;
        execute!(
            &mut tx,
            "UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = NULL \
             WHERE webhook_id = $1 AND lease_owner = $2",
            id.to_string(),
            owner.to_string(),
        )?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an attempt and what follows from it, in one transaction, only if the
    /// endpoint is still active at `expected` with `owner` holding the lease:
    /// delivered → the checkpoint moves to the event and the failure count resets; failed →
    /// the failure count is `attempt.attempt`; dead-lettered → the endpoint stops with the
    /// facts. False (nothing written) when the endpoint moved, was removed or stopped.
    pub(crate) async fn record_attempt(
        &self,
        target: &DispatchTarget,
        owner: Uuid,
        expected: Position,
        attempt: &NewAttempt,
    ) -> Result<bool, WebhookError> {
        let id = target.endpoint.id.to_string();
        let mut tx = self.db.begin().await?;
        let updated = match attempt.outcome {
            Outcome::Delivered => execute!(
                &mut tx,
                "UPDATE webhook_endpoints SET checkpoint_commit = $5, checkpoint_prepare = $6, \
                 failures = 0 \
                 WHERE webhook_id = $1 AND status = $2 AND checkpoint_commit = $3 \
                   AND checkpoint_prepare = $4 AND lease_owner = $7",
                &id,
                EndpointStatus::Active.code(),
                to_i64(expected.commit),
                to_i64(expected.prepare),
                to_i64(attempt.cursor.commit),
                to_i64(attempt.cursor.prepare),
                owner.to_string(),
            )?,
            Outcome::Failed => execute!(
                &mut tx,
                "UPDATE webhook_endpoints SET failures = $5 \
                 WHERE webhook_id = $1 AND status = $2 AND checkpoint_commit = $3 \
                   AND checkpoint_prepare = $4 AND lease_owner = $6",
                &id,
                EndpointStatus::Active.code(),
                to_i64(expected.commit),
                to_i64(expected.prepare),
                i64::from(attempt.attempt),
                owner.to_string(),
            )?,
            Outcome::DeadLettered => execute!(
                &mut tx,
                "UPDATE webhook_endpoints SET status = $5, failures = $6, dead_event_id = $7, \
                 dead_cursor = $8, dead_attempts = $6, dead_error = $9, dead_at = $10 \
                 WHERE webhook_id = $1 AND status = $2 AND checkpoint_commit = $3 \
                   AND checkpoint_prepare = $4 AND lease_owner = $11",
                &id,
                EndpointStatus::Active.code(),
                to_i64(expected.commit),
                to_i64(expected.prepare),
                EndpointStatus::DeadLettered.code(),
                i64::from(attempt.attempt),
                attempt.event_id.to_string(),
                attempt.cursor.to_string(),
                attempt.error.clone().unwrap_or_default(),
                micros(attempt.at),
                owner.to_string(),
            )?,
        };
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        execute!(
            &mut tx,
            "INSERT INTO webhook_deliveries (webhook_id, tenant_id, event_id, event_cursor, \
             attempt, attempted_at, http_status, error, duration_ms, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &id,
            target.tenant_id.to_string(),
            attempt.event_id.to_string(),
            attempt.cursor.to_string(),
            i64::from(attempt.attempt),
            micros(attempt.at),
            attempt.http_status.map(i64::from),
            attempt.error.clone(),
            to_i64(attempt.duration_ms),
            attempt.outcome.code(),
        )?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves the checkpoint over events the endpoint does not want (no attempt to record);
    /// false when it moved meanwhile.
    pub(crate) async fn skip_to(
        &self,
        id: Uuid,
        owner: Uuid,
        expected: Position,
        to: Position,
    ) -> Result<bool, WebhookError> {
        let mut tx = self.db.begin().await?;
        let updated = execute!(
            &mut tx,
            "UPDATE webhook_endpoints SET checkpoint_commit = $5, checkpoint_prepare = $6 \
             WHERE webhook_id = $1 AND status = $2 AND checkpoint_commit = $3 \
               AND checkpoint_prepare = $4 AND lease_owner = $7",
            id.to_string(),
            EndpointStatus::Active.code(),
            to_i64(expected.commit),
            to_i64(expected.prepare),
            to_i64(to.commit),
            to_i64(to.prepare),
            owner.to_string(),
        )?;
        tx.commit().await?;
        Ok(updated == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(url: &str, secret: &str, types: &[&str]) -> Registration {
        Registration {
            url: url.to_owned(),
            event_types: types.iter().map(|t| (*t).to_owned()).collect(),
            secret: secret.to_owned(),
            after: None,
        }
    }

    fn refusal(registration: &Registration) -> (String, String) {
        match validate(registration) {
            Err(WebhookError::Invalid { field, rule }) => (field.to_owned(), rule),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    const SECRET: &str = "0123456789abcdef";

    #[test]
    fn webhooks_an_http_or_https_url_with_a_host_and_a_long_secret_is_accepted() {
        assert!(validate(&registration("https://example.com/hooks", SECRET, &[])).is_ok());
        assert!(validate(&registration("http://127.0.0.1:9000/", SECRET, &[])).is_ok());
        assert!(
            validate(&registration(
                "https://example.com",
                SECRET,
                &["SerialAssigned", "LineFulfilled"]
            ))
            .is_ok()
        );
    }

    #[test]
    fn webhooks_a_url_that_is_not_http_with_a_host_is_refused_naming_url() {
        for url in [
            "ftp://example.com",
            "example.com/hooks",
            "",
            "file:///etc/passwd",
            "https://user:pw@example.com/",
        ] {
            let (field, _) = refusal(&registration(url, SECRET, &[]));
            assert_eq!(field, "url", "{url}");
        }
    }

    #[test]
    fn webhooks_a_short_secret_is_refused_naming_secret() {
        let (field, rule) = refusal(&registration("https://example.com", "short", &[]));
        assert_eq!(field, "secret");
        assert!(rule.contains("16"), "{rule}");
    }

    #[test]
    fn webhooks_an_unknown_event_type_is_refused_naming_event_types() {
        let (field, rule) = refusal(&registration(
            "https://example.com",
            SECRET,
            &["SerialAssigned", "SerialTeleported"],
        ));
        assert_eq!(field, "eventTypes");
        assert!(rule.contains("SerialTeleported"), "{rule}");
    }
}
