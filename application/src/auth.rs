//! Retailers (tenants), API tokens and roles: who may do what, for which retailer.
//!
//! A token is `sl_<token id>_<secret>`; only its SHA-256 is stored, so a leaked database
//! does not leak working tokens. Every request resolves its bearer token to a [`Principal`]
//! (tenant, role, token id); every read and write is then confined to that tenant and
//! checked against the role's [`Permission`]s.
//!
//! A server keeps the tokens it resolved for a short while ([`Auth::with_token_cache`]):
//! the lookup was most of a trivial request's cost. A revocation through the same [`Auth`]
//! (or any clone of it) evicts the token at once; one made by another process (the
//! `serial-ledger token revoke` command) is seen once the cached resolution is older than the
//! cache's TTL. Failures are never cached.

use event_schemas::TenantId;
use projections::{ReadDb, execute, fetch_all};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What a role is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Back-office manager: everything, including products and settings.
    Manager,
    /// Point of sale: sales, serials, fulfilment, returns; POS quick create of products.
    Pos,
    /// Warehouse and fulfilment report: serials and fulfilment.
    Warehouse,
    /// Read-only, including the raw event log.
    Auditor,
    /// Third-party systems: read, subscribe, write serials and fulfilment.
    Integrator,
}

/// One thing a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read products, settings, sales, reports and serial traces.
    Read,
    /// Read the raw event log.
    ReadLog,
    /// Subscribe to ledger events.
    Subscribe,
    /// Create products (POS/PO quick create, back office).
    CreateProducts,
    /// Edit products, their serial modes (incl. bulk edit) and the retailer's settings.
    ManageCatalogue,
    /// Open sales, add, change and remove lines.
    Sell,
    /// Assign and remove serial numbers.
    RecordSerials,
    /// Fulfil lines.
    Fulfil,
    /// Refund/return, cancel and re-issue lines.
    Refund,
    /// Register, remove and resume webhooks and read their delivery attempts (managers).
    ManageIntegrations,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 10] = [
        Permission::Read,
        Permission::ReadLog,
        Permission::Subscribe,
        Permission::CreateProducts,
        Permission::ManageCatalogue,
        Permission::Sell,
        Permission::RecordSerials,
        Permission::Fulfil,
        Permission::Refund,
        Permission::ManageIntegrations,
    ];

    /// The permission's name where clients see it (the console decides what to show by it).
    pub fn name(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::ReadLog => "readLog",
            Permission::Subscribe => "subscribe",
            Permission::CreateProducts => "createProducts",
            Permission::ManageCatalogue => "manageCatalogue",
            Permission::Sell => "sell",
            Permission::RecordSerials => "recordSerials",
            Permission::Fulfil => "fulfil",
            Permission::Refund => "refund",
            Permission::ManageIntegrations => "manageIntegrations",
        }
    }
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Manager,
        Role::Pos,
        Role::Warehouse,
        Role::Auditor,
        Role::Integrator,
    ];

    /// The role's name on the command line and in the database.
    pub fn name(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Pos => "pos",
            Role::Warehouse => "warehouse",
            Role::Auditor => "auditor",
            Role::Integrator => "integrator",
        }
    }

    /// Whether the role may do `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Manager => true,
            Role::Pos => matches!(
                permission,
                Read | Subscribe | CreateProducts | Sell | RecordSerials | Fulfil | Refund
            ),
            Role::Warehouse => matches!(permission, Read | Subscribe | RecordSerials | Fulfil),
            Role::Auditor => matches!(permission, Read | ReadLog | Subscribe),
            Role::Integrator => matches!(permission, Read | Subscribe | RecordSerials | Fulfil),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A role name that is not one of the roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: use manager, pos, warehouse, auditor or integrator")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.name() == name)
            .ok_or_else(|| UnknownRole(name.to_owned()))
    }
}

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The retailer everything is confined to.
    pub tenant_id: TenantId,
    /// What the token may do.
    pub role: Role,
    /// The token's id (never the token itself): the actor id on events.
    pub token_id: Uuid,
    /// The token's label, the actor's display name on events.
    pub label: String,
}

impl Principal {
    /// Whether this principal may do `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

/// A retailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id, on every row of its data.
    pub tenant_id: TenantId,
    /// Its short name on the command line.
    pub slug: String,
    /// Its display name.
    pub name: String,
}

/// A token as created: the secret is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token's id, for revocation.
    pub token_id: Uuid,
    /// The bearer token to give the client.
    pub token: String,
}

/// Why an auth operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No token, or one that is unknown or revoked: `UNAUTHENTICATED` (HTTP 401).
    #[error("missing, unknown or revoked token")]
    Unauthenticated,
    /// A tenant slug or name breaks a rule: `VALIDATION`.
    #[error("{field} {rule}")]
    Invalid {
        /// Which input.
        field: &'static str,
        /// Which rule it breaks.
        rule: String,
    },
    /// No such tenant: `NOT_FOUND`.
    #[error("no retailer {0:?}")]
    UnknownTenant(String),
    /// The slug is taken: `ALREADY_EXISTS`.
    #[error("a retailer with slug {0:?} already exists")]
    SlugTaken(String),
    /// No such token: `NOT_FOUND`.
    #[error("no token {0}")]
    UnknownToken(Uuid),
    /// The database failed: `UNAVAILABLE`.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The auth schema could not be created.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

const TOKEN_PREFIX: &str = "sl_";

pub(crate) fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// How long a server uses a token it resolved before asking the database again, unless
/// `--token-cache-ms` says otherwise: the longest a token revoked by another process keeps
/// working there.
pub const DEFAULT_TOKEN_CACHE_MS: u64 = 1_000;

/// At most this many resolved tokens are kept.
const TOKEN_CACHE_CAPACITY: usize = 10_000;

/// The SHA-256 of a bearer token: the cache's key (the token itself is never kept).
type TokenDigest = [u8; 32];

/// Resolved tokens, each used while younger than the TTL. Shared by every clone of an
/// [`Auth`]; the lock is never held across an await.
#[derive(Debug)]
struct TokenCache {
    ttl: Duration,
    entries: Mutex<CacheEntries>,
}

#[derive(Debug, Default)]
struct CacheEntries {
    resolved: HashMap<TokenDigest, (Principal, Instant)>,
    /// Counts revocations made through this cache's [`Auth`]: a resolution read from the
    /// database before a revocation is not kept after it.
    revocations: u64,
}

impl TokenCache {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    /// Every critical section leaves the map consistent, so a lock poisoned by a panic
    /// elsewhere is still good to use.
    fn lock(&self) -> MutexGuard<'_, CacheEntries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The principal resolved less than the TTL before `now`.
    fn get(&self, digest: &TokenDigest, now: Instant) -> Option<Principal> {
        let mut entries = self.lock();
        let (principal, resolved_at) = entries.resolved.get(digest)?;
        if now.saturating_duration_since(*resolved_at) < self.ttl {
            return Some(principal.clone());
        }
        entries.resolved.remove(digest);
        None
    }

    /// Where revocations stand: pass it to [`TokenCache::insert`] with what the database
    /// says afterwards.
    fn revocations(&self) -> u64 {
        self.lock().revocations
    }

    /// Keeps a resolution read from the database after `resolved_at`, unless a revocation
    /// went through since `revocations` was read (the row may predate it). When full,
    /// drops the expired entries; if that frees less than half, drops them all (each full
    /// sweep is paid for by as many cheap inserts).
    fn insert(
        &self,
        digest: TokenDigest,
        principal: Principal,
        revocations: u64,
        resolved_at: Instant,
    ) {
        let mut entries = self.lock();
        if entries.revocations != revocations {
            return;
        }
        if entries.resolved.len() >= TOKEN_CACHE_CAPACITY && !entries.resolved.contains_key(&digest)
        {
            let ttl = self.ttl;
            entries
                .resolved
                .retain(|_, (_, at)| resolved_at.saturating_duration_since(*at) < ttl);
            if entries.resolved.len() > TOKEN_CACHE_CAPACITY / 2 {
                entries.resolved.clear();
            }
        }
        entries.resolved.insert(digest, (principal, resolved_at));
    }

    /// Forgets every resolution of the token.
    fn evict(&self, token_id: Uuid) {
        let mut entries = self.lock();
        entries.revocations = entries.revocations.wrapping_add(1);
        entries
            .resolved
            .retain(|_, (principal, _)| principal.token_id != token_id);
    }
}

pub(crate) fn now_micros() -> i64 {
    let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    i64::try_from(nanos / 1_000).unwrap_or(i64::MAX)
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    tenant_id: String,
    slug: String,
    name: String,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    token_id: String,
    tenant_id: String,
    role: String,
    label: String,
}

pub(crate) fn parse_uuid(text: &str) -> Result<Uuid, AuthError> {
    Uuid::parse_str(text).map_err(|_| AuthError::Unauthenticated)
}

/// Tenants and tokens, in the ledger's database. Clones share one token cache.
#[derive(Clone)]
pub struct Auth {
    pub(crate) db: ReadDb,
    /// `None`: every [`Auth::authenticate`] asks the database.
    token_cache: Option<Arc<TokenCache>>,
}

impl Auth {
    /// Auth over the given database, without a token cache: every [`Auth::authenticate`]
    /// asks the database (operator commands, tools).
    pub fn new(db: ReadDb) -> Self {
        Self {
            db,
            token_cache: None,
        }
    }

    /// The same, keeping each token it resolves for `ttl` (the server: `--token-cache-ms`);
    /// `Duration::ZERO` keeps none. The cache is new, shared by the clones of what this
    /// returns (not by clones made earlier): set it before sharing the `Auth`.
    pub fn with_token_cache(self, ttl: Duration) -> Self {
        Self {
            token_cache: (!ttl.is_zero()).then(|| Arc::new(TokenCache::new(ttl))),
            ..self
        }
    }

    /// Creates or upgrades the auth tables.
    pub async fn migrate(&self) -> Result<(), AuthError> {
        let migrator = match &self.db {
            ReadDb::Sqlite { .. } => sqlx::migrate!("./migrations/sqlite"),
            ReadDb::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
        };
        Ok(self.db.run_migrations(migrator).await?)
    }

    /// Creates a retailer. The slug: 1–40 lower-case letters, digits and dashes.
    pub async fn create_tenant(&self, slug: &str, name: &str) -> Result<Tenant, AuthError> {
        let slug = slug.trim();
        let name = name.trim();
        let slug_ok = !slug.is_empty()
            && slug.len() <= 40
            && slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !slug_ok {
            return Err(AuthError::Invalid {
                field: "slug",
                rule: "must be 1-40 lower-case letters, digits or dashes".into(),
            });
        }
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            return Err(AuthError::Invalid {
                field: "name",
                rule: "must be 1-200 printable characters".into(),
            });
        }
        if self.tenant_by_slug(slug).await.is_ok() {
            return Err(AuthError::SlugTaken(slug.to_owned()));
        }
        let tenant = Tenant {
            tenant_id: TenantId::new_v7(),
            slug: slug.to_owned(),
            name: name.to_owned(),
        };
        let mut tx = self.db.begin().await?;
        let inserted = execute!(
            &mut tx,
            "INSERT INTO tenants (tenant_id, slug, name, created_at) VALUES ($1, $2, $3, $4)",
            tenant.tenant_id.to_string(),
            &tenant.slug,
            &tenant.name,
            now_micros(),
        );
        match inserted {
            Ok(_) => tx.commit().await?,
            Err(sqlx::Error::Database(error)) if error.is_unique_violation() => {
                return Err(AuthError::SlugTaken(slug.to_owned()));
            }
            Err(error) => return Err(error.into()),
        }
        Ok(tenant)
    }

    /// Finds a retailer by slug.
    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Tenant, AuthError> {
        let rows = fetch_all!(
            &self.db,
            TenantRow,
            "SELECT tenant_id, slug, name FROM tenants WHERE slug = $1",
            slug,
        )?;
        let row = rows
            .into_iter()
            .next()
            .ok_or_else(|| AuthError::UnknownTenant(slug.to_owned()))?;
        Ok(Tenant {
            tenant_id: TenantId(
                Uuid::parse_str(&row.tenant_id)
                    .map_err(|_| AuthError::UnknownTenant(slug.to_owned()))?,
            ),
            slug: row.slug,
            name: row.name,
        })
    }

    /// Every retailer, by slug.
    pub async fn tenants(&self) -> Result<Vec<Tenant>, AuthError> {
        let rows = fetch_all!(
            &self.db,
            TenantRow,
            "SELECT tenant_id, slug, name FROM tenants ORDER BY slug",
        )?;
        rows.into_iter()
            .map(|row| {
                Ok(Tenant {
                    tenant_id: TenantId(
                        Uuid::parse_str(&row.tenant_id)
                            .map_err(|_| AuthError::UnknownTenant(row.slug.clone()))?,
                    ),
                    slug: row.slug,
                    name: row.name,
                })
            })
            .collect()
    }

    /// Issues a token for a retailer and role. The token is returned once; only its hash
    /// is stored.
    pub async fn create_token(
        &self,
        tenant_slug: &str,
        role: Role,
        label: &str,
    ) -> Result<IssuedToken, AuthError> {
        let tenant = self.tenant_by_slug(tenant_slug).await?;
        let label = label.trim();
        let label = if label.is_empty() { role.name() } else { label };
        let token_id = Uuid::now_v7();
        let mut secret = [0_u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = format!(
            "{TOKEN_PREFIX}{}_{}",
            token_id.simple(),
            hex::encode(secret)
        );
        let mut tx = self.db.begin().await?;
        execute!(
            &mut tx,
            "INSERT INTO api_tokens (token_id, tenant_id, role, label, token_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            token_id.to_string(),
            tenant.tenant_id.to_string(),
            role.name(),
            label,
            hash_token(&token),
            now_micros(),
        )?;
        tx.commit().await?;
        Ok(IssuedToken { token_id, token })
    }

    /// Revokes a token: it stops working at once here (in this `Auth` and its clones), and
    /// in other processes once their cached resolution of it expires.
    pub async fn revoke_token(&self, token_id: Uuid) -> Result<(), AuthError> {
        let revoked = self.mark_revoked(token_id).await;
        // Whatever the answer (revoked already by another process, or a commit whose outcome
        // is unknown): this process stops using what it cached.
        if let Some(cache) = &self.token_cache {
            cache.evict(token_id);
        }
        if revoked? == 1 {
            Ok(())
        } else {
            Err(AuthError::UnknownToken(token_id))
        }
    }

    /// Sets `revoked_at` on the token if it is live; how many rows changed.
    async fn mark_revoked(&self, token_id: Uuid) -> Result<u64, AuthError> {
        let mut tx = self.db.begin().await?;
        let revoked = execute!(
            &mut tx,
            "UPDATE api_tokens SET revoked_at = $2 WHERE token_id = $1 AND revoked_at IS NULL",
            token_id.to_string(),
            now_micros(),
        )?;
        tx.commit().await?;
        Ok(revoked)
    }

    /// Resolves a bearer token to who it acts as: from the token cache while its entry is
    /// younger than the TTL, else from the database (and then cached, if it resolved).
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(AuthError::Unauthenticated);
        }
        let digest: TokenDigest = Sha256::digest(token.as_bytes()).into();
        let Some(cache) = &self.token_cache else {
            return self.resolve(&digest).await;
        };
        if let Some(principal) = cache.get(&digest, Instant::now()) {
            return Ok(principal);
        }
        // Its age counts from before the read: it never outlives the TTL by the query's time.
        let (revocations, asked_at) = (cache.revocations(), Instant::now());
        let principal = self.resolve(&digest).await?;
        cache.insert(digest, principal.clone(), revocations, asked_at);
        Ok(principal)
    }

    /// The same, always from the database (signing in must not trust a cached resolution
    /// of a token another process may have revoked).
    pub(crate) async fn authenticate_uncached(&self, token: &str) -> Result<Principal, AuthError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(AuthError::Unauthenticated);
        }
        self.resolve(&Sha256::digest(token.as_bytes()).into()).await
    }

    /// The token with this hash, if it is known and not revoked, from the database.
    async fn resolve(&self, digest: &TokenDigest) -> Result<Principal, AuthError> {
        let rows = fetch_all!(
            &self.db,
            TokenRow,
            "SELECT token_id, tenant_id, role, label FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
            hex::encode(digest),
        )?;
        let row = rows.into_iter().next().ok_or(AuthError::Unauthenticated)?;
        Ok(Principal {
            tenant_id: TenantId(parse_uuid(&row.tenant_id)?),
            role: row.role.parse().map_err(|_| AuthError::Unauthenticated)?,
            token_id: parse_uuid(&row.token_id)?,
            label: row.label,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(token_id: Uuid) -> Principal {
        Principal {
            tenant_id: TenantId(Uuid::nil()),
            role: Role::Pos,
            token_id,
            label: "till 1".into(),
        }
    }

    fn digest(n: usize) -> TokenDigest {
        Sha256::digest(n.to_le_bytes()).into()
    }

    #[test]
    fn a_cached_token_is_used_while_younger_than_the_ttl_and_never_after() {
        let cache = TokenCache::new(Duration::from_secs(1));
        let start = Instant::now();
        let pos = principal(Uuid::now_v7());
        cache.insert(digest(1), pos.clone(), cache.revocations(), start);
        assert_eq!(cache.get(&digest(1), start), Some(pos.clone()));
        // Using it does not make it younger.
        let late = start + Duration::from_millis(999);
        assert_eq!(cache.get(&digest(1), late), Some(pos));
        assert_eq!(cache.get(&digest(1), start + Duration::from_secs(1)), None);
        assert_eq!(cache.get(&digest(2), start), None);
    }

    #[test]
    fn eviction_forgets_only_the_revoked_token() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let now = Instant::now();
        let (revoked, kept) = (principal(Uuid::now_v7()), principal(Uuid::now_v7()));
        cache.insert(digest(1), revoked.clone(), cache.revocations(), now);
        cache.insert(digest(2), kept.clone(), cache.revocations(), now);
        cache.evict(revoked.token_id);
        assert_eq!(cache.get(&digest(1), now), None);
        assert_eq!(cache.get(&digest(2), now), Some(kept));
    }

    #[test]
    fn a_resolution_read_before_a_revocation_is_not_kept_after_it() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let now = Instant::now();
        let token = principal(Uuid::now_v7());
        // The row is read while the token is live; the revocation commits and evicts before
        // the answer is cached.
        let before = cache.revocations();
        cache.evict(token.token_id);
        cache.insert(digest(1), token.clone(), before, now);
        assert_eq!(cache.get(&digest(1), now), None);
        // A resolution read afterwards is kept.
        cache.insert(digest(1), token.clone(), cache.revocations(), now);
        assert_eq!(cache.get(&digest(1), now), Some(token));
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_and_else_starts_over() {
        let ttl = Duration::from_secs(1);
        let cache = TokenCache::new(ttl);
        let start = Instant::now();
        let later = start + ttl;
        let token = principal(Uuid::now_v7());
        // Full of entries of which most have expired: only those go.
        let fresh = TOKEN_CACHE_CAPACITY / 4;
        for n in 0..TOKEN_CACHE_CAPACITY {
            let at = if n < fresh { later } else { start };
            cache.insert(digest(n), token.clone(), 0, at);
        }
        cache.insert(digest(TOKEN_CACHE_CAPACITY), token.clone(), 0, later);
        assert_eq!(cache.lock().resolved.len(), fresh + 1);
        assert_eq!(cache.get(&digest(0), later), Some(token.clone()));

        // Full of live entries: it starts over rather than grow.
        let cache = TokenCache::new(ttl);
        for n in 0..TOKEN_CACHE_CAPACITY {
            cache.insert(digest(n), token.clone(), 0, later);
        }
        assert_eq!(cache.lock().resolved.len(), TOKEN_CACHE_CAPACITY);
        cache.insert(digest(TOKEN_CACHE_CAPACITY + 1), token.clone(), 0, later);
        assert_eq!(cache.lock().resolved.len(), 1);
        assert_eq!(
            cache.get(&digest(TOKEN_CACHE_CAPACITY + 1), later),
            Some(token)
        );
    }
}
