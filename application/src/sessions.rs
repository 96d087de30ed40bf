//! Sessions of the web console: a browser signs in once with an API token and then carries
//! a session id in a cookie instead of the token.
//!
//! Only the SHA-256 of a session id is stored, as for tokens. A session points at its token
//! by the token's hash and is resolved together with it on every request, so revoking the
//! token (through any process) ends its sessions at once; a session also ends when it
//! expires or is signed out. Each session has its own CSRF token, which every write made
//! with the session's cookie must carry in a header (a cross-site page cannot read it).

use crate::auth::{Auth, AuthError, Principal, hash_token, now_micros, parse_uuid};
use event_schemas::TenantId;
use projections::{execute, fetch_all};
use rand::RngCore;
use std::time::Duration;

/// How long a console session lasts unless the server is told otherwise: a working day.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

const SESSION_PREFIX: &str = "sls_";

/// A live console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// Who the session acts as: its token's principal.
    pub principal: Principal,
    /// The retailer's display name.
    pub tenant_name: String,
    /// The token every write made with this session must carry (`X-CSRF-Token`).
    pub csrf_token: String,
    /// When the session ends, in microseconds since the Unix epoch.
    pub expires_at_micros: i64,
}

/// A session as started: the id goes into the cookie and is never shown again.
#[derive(Debug, Clone)]
pub struct StartedSession {
    /// The cookie's value.
    pub session_id: String,
    /// The session.
    pub session: ConsoleSession,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    token_id: String,
    tenant_id: String,
    role: String,
    label: String,
    tenant_name: String,
    csrf_token: String,
    expires_at: i64,
}

fn random_hex() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn lifetime_micros(lifetime: Duration) -> i64 {
    i64::try_from(lifetime.as_micros()).unwrap_or(i64::MAX)
}

impl Auth {
    /// Signs in with an API token: a new session of `lifetime` acting as the token.
    /// `UNAUTHENTICATED` when the token is unknown or revoked.
    pub async fn start_session(
        &self,
        token: &str,
        lifetime: Duration,
    ) -> Result<StartedSession, AuthError> {
        let token = token.trim();
        // Resolved from the database, never from the cache: a token revoked by another
        // process must not open a session.
        self.authenticate_uncached(token).await?;
        let session_id = format!("{SESSION_PREFIX}{}", random_hex());
        let csrf_token = random_hex();
        let now = now_micros();
        let expires_at = now.saturating_add(lifetime_micros(lifetime));
        let mut tx = self.db.begin().await?;
        // Sessions that ended are of no use to anyone: each sign-in sweeps them, so the
        // table holds about the live sessions (the sweep is an index-free scan of a small
        // table).
        execute!(
            &mut tx,
            "DELETE FROM console_sessions WHERE expires_at <= $1 OR ended_at IS NOT NULL",
            now,
        )?;
        execute!(
            &mut tx,
            "INSERT INTO console_sessions \
             (session_hash, token_hash, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            hash_token(&session_id),
            hash_token(token),
            &csrf_token,
            now,
            expires_at,
        )?;
        tx.commit().await?;
        let session = self.session(&session_id).await?;
        Ok(StartedSession {
            session_id,
            session,
        })
    }

    /// The live session with this id: `UNAUTHENTICATED` when it is unknown, expired,
    /// signed out, or its token has been revoked.
    pub async fn session(&self, session_id: &str) -> Result<ConsoleSession, AuthError> {
        if !session_id.starts_with(SESSION_PREFIX) {
            return Err(AuthError::Unauthenticated);
        }
        let rows = fetch_all!(
            &self.db,
            SessionRow,
            "SELECT t.token_id, t.tenant_id, t.role, t.label, n.name AS tenant_name, \
                    s.csrf_token, s.expires_at \
             FROM console_sessions s \
             JOIN api_tokens t ON t.token_hash = s.token_hash \
             JOIN tenants n ON n.tenant_id = t.tenant_id \
             WHERE s.session_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 \
               AND t.revoked_at IS NULL",
            hash_token(session_id),
            now_micros(),
        )?;
        let row = rows.into_iter().next().ok_or(AuthError::Unauthenticated)?;
        Ok(ConsoleSession {
            principal: Principal {
                tenant_id: TenantId(parse_uuid(&row.tenant_id)?),
                role: row.role.parse().map_err(|_| AuthError::Unauthenticated)?,
                token_id: parse_uuid(&row.token_id)?,
                label: row.label,
            },
            tenant_name: row.tenant_name,
            csrf_token: row.csrf_token,
            expires_at_micros: row.expires_at,
        })
    }

    /// Signs a session out; signing out twice, or an unknown session, is not an error.
    pub async fn end_session(&self, session_id: &str) -> Result<(), AuthError> {
        let mut tx = self.db.begin().await?;
        execute!(
            &mut tx,
            "UPDATE console_sessions SET ended_at = $2 \
             WHERE session_hash = $1 AND ended_at IS NULL",
            hash_token(session_id),
            now_micros(),
        )?;
        tx.commit().await?;
        Ok(())
    }
}
