//! Checkpoints: a retailer's tree size, root and serial-map root as of one moment, in the
//! C2SP tlog-checkpoint format, signed (a C2SP signed note, Ed25519) when the server has a
//! signing key. Issued from the `proofs` projection's state, stored once and never
//! changed; witnesses' cosignatures are kept beside them.

use super::log_state;
use crate::db::{ReadDb, ReadTx};
use crate::execute;
use crate::proofs::queries::ProofQueryError;
use crate::stored;
use event_schemas::TenantId;
use ledger_proof::checkpoint::{Checkpoint, SigningKey, origin};
use ledger_proof::cosignature::Cosignature;
use ledger_proof::merkle;
use time::OffsetDateTime;

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The retailer.
    pub tenant_id: TenantId,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// The signing key's name; None for an unsigned checkpoint.
    pub key_name: Option<String>,
    /// The verifier (public) key that checks it; None for an unsigned checkpoint.
    pub verifier_key: Option<String>,
    /// The note: the checkpoint body with its signature line (just the body if unsigned).
    pub note: String,
    /// Witnesses' cosignatures recorded for it.
    pub cosignatures: Vec<StoredCosignature>,
}

impl StoredCheckpoint {
    /// The note with every recorded cosignature line after the ledger's own signature.
    pub fn note_with_cosignatures(&self) -> String {
        let mut note = self.note.clone();
        for cosignature in &self.cosignatures {
            note.push_str(&cosignature.line);
        }
        note
    }
}

/// A witness's cosignature as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCosignature {
    /// The witness key's name.
    pub witness: String,
    /// When the witness signed (unix seconds, from its signature).
    pub signed_at: i64,
    /// The signature line, ending with a newline.
    pub line: String,
}

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    tenant_id: String,
    tree_size: i64,
    root: String,
    map_root: String,
    issued_at: i64,
    key_name: Option<String>,
    verifier_key: Option<String>,
    note: String,
}

#[derive(sqlx::FromRow)]
struct CosignatureRow {
    tree_size: i64,
    witness: String,
    signed_at: i64,
    line: String,
}

fn corrupt(reason: impl std::fmt::Display) -> ProofQueryError {
    ProofQueryError::Projection(crate::ProjectionError::Stored(format!(
        "checkpoints: {reason}"
    )))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl CheckpointRow {
    fn stored(self) -> Result<StoredCheckpoint, ProofQueryError> {
        let tenant_id = TenantId(stored::uuid("tenant_id", &self.tenant_id).map_err(corrupt)?);
        Ok(StoredCheckpoint {
            checkpoint: Checkpoint {
                origin: origin(&tenant_id.0),
                tree_size: stored::integer("tree_size", self.tree_size).map_err(corrupt)?,
                root: super::parse_hex(&self.root).map_err(corrupt)?,
                map_root: super::parse_hex(&self.map_root).map_err(corrupt)?,
                issued_at: self.issued_at,
            },
            tenant_id,
            key_name: self.key_name,
            verifier_key: self.verifier_key,
            note: self.note,
            cosignatures: Vec::new(),
        })
    }
}

const SELECT: &str = "SELECT tenant_id, tree_size, root, map_root, issued_at, key_name, \
                      verifier_key, note FROM ledger_checkpoints";

macro_rules! fetch_rows {
    ($tx:expr, $row:ty, $sql:expr $(, $arg:expr)* $(,)?) => {
        match $tx {
            ReadTx::Sqlite(tx) => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*
                .fetch_all(&mut **tx).await,
            ReadTx::Postgres(tx) => sqlx::query_as::<_, $row>($sql)$(.bind($arg))*
                .fetch_all(&mut **tx).await,
        }
    };
}

async fn with_cosignatures(
    tx: &mut ReadTx,
    rows: Vec<CheckpointRow>,
) -> Result<Vec<StoredCheckpoint>, ProofQueryError> {
    let mut checkpoints = rows
        .into_iter()
        .map(CheckpointRow::stored)
        .collect::<Result<Vec<_>, _>>()?;
    for checkpoint in &mut checkpoints {
        let rows = fetch_rows!(
            &mut *tx,
            CosignatureRow,
            "SELECT tree_size, witness, signed_at, line FROM ledger_cosignatures \
             WHERE tenant_id = $1 AND tree_size = $2 ORDER BY witness",
            checkpoint.tenant_id.to_string(),
            to_i64(checkpoint.checkpoint.tree_size),
        )?;
        checkpoint.cosignatures = rows
            .into_iter()
            .filter(|row| {
                u64::try_from(row.tree_size).ok() == Some(checkpoint.checkpoint.tree_size)
            })
            .map(|row| StoredCosignature {
                witness: row.witness,
                signed_at: row.signed_at,
                line: row.line,
            })
            .collect();
    }
    Ok(checkpoints)
}

/// Issues a checkpoint of the retailer's tree as the `proofs` projection has folded it now,
/// signed with `key` when there is one. A checkpoint of that size already stored is returned
/// as it is (checkpoints are never re-signed or replaced).
pub async fn issue(
    db: &ReadDb,
    tenant_id: TenantId,
    key: Option<&SigningKey>,
) -> Result<StoredCheckpoint, ProofQueryError> {
    let mut tx = db.begin().await?;
    let tenant = tenant_id.to_string();
    let state = log_state(&mut tx, &tenant).await?;
    let (tree_size, root, map_root) = match state {
        Some(state) => (state.tree_size, state.root, state.map_root),
        None => (0, merkle::EMPTY_ROOT, merkle_map::EMPTY),
    };
    if let Some(existing) = at_in(&mut tx, tenant_id, tree_size).await? {
        tx.rollback().await?;
        return Ok(existing);
    }
    let checkpoint = Checkpoint {
        origin: origin(&tenant_id.0),
        tree_size,
        root,
        map_root,
        issued_at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    let (note, key_name, verifier_key) = match key {
        Some(key) => (
            key.sign(&checkpoint)
                .map_err(|error| ProofQueryError::Invalid(format!("signing failed: {error}")))?,
            Some(key.name().to_owned()),
            Some(key.verifier_key()),
        ),
        None => (checkpoint.body(), None, None),
    };
    execute!(
        &mut tx,
        "INSERT INTO ledger_checkpoints (tenant_id, tree_size, root, map_root, issued_at, \
         key_name, verifier_key, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (tenant_id, tree_size) DO NOTHING",
        &tenant,
        to_i64(tree_size),
        hex::encode(root),
        hex::encode(map_root),
        checkpoint.issued_at,
        key_name.clone(),
        verifier_key.clone(),
        &note,
    )?;
    tx.commit().await?;
    Ok(StoredCheckpoint {
        tenant_id,
        checkpoint,
        key_name,
        verifier_key,
        note,
        cosignatures: Vec::new(),
    })
}

async fn at_in(
    tx: &mut ReadTx,
    tenant_id: TenantId,
    tree_size: u64,
) -> Result<Option<StoredCheckpoint>, ProofQueryError> {
    let sql = format!("{SELECT} WHERE tenant_id = $1 AND tree_size = $2");
    let rows = fetch_rows!(
        &mut *tx,
        CheckpointRow,
        &sql,
        tenant_id.to_string(),
        to_i64(tree_size)
    )?;
    Ok(with_cosignatures(tx, rows).await?.into_iter().next())
}

/// The retailer's checkpoint of `tree_size` leaves, if one was issued.
pub async fn at(
    tx: &mut ReadTx,
    tenant_id: TenantId,
    tree_size: u64,
) -> Result<Option<StoredCheckpoint>, ProofQueryError> {
    at_in(tx, tenant_id, tree_size).await
}

/// The retailer's newest checkpoint, if any.
pub async fn latest(
    tx: &mut ReadTx,
    tenant_id: TenantId,
) -> Result<Option<StoredCheckpoint>, ProofQueryError> {
    Ok(list(tx, tenant_id, 1, None).await?.into_iter().next())
}

/// The retailer's checkpoints, newest first, at most `limit`, below `before` leaves if given.
pub async fn list(
    tx: &mut ReadTx,
    tenant_id: TenantId,
    limit: u64,
    before: Option<u64>,
) -> Result<Vec<StoredCheckpoint>, ProofQueryError> {
    let sql = format!(
        "{SELECT} WHERE tenant_id = $1 AND tree_size < $2 ORDER BY tree_size DESC LIMIT $3"
    );
    let rows = fetch_rows!(
        &mut *tx,
        CheckpointRow,
        &sql,
        tenant_id.to_string(),
        before.map_or(i64::MAX, to_i64),
        to_i64(limit),
    )?;
    with_cosignatures(tx, rows).await
}

/// Every checkpoint of every retailer (or of one), oldest first per retailer: what `replay
/// verify` compares the log with.
pub async fn all(
    tx: &mut ReadTx,
    tenant_id: Option<TenantId>,
) -> Result<Vec<StoredCheckpoint>, ProofQueryError> {
    let rows = match tenant_id {
        Some(tenant_id) => {
            let sql = format!("{SELECT} WHERE tenant_id = $1 ORDER BY tenant_id, tree_size");
            fetch_rows!(&mut *tx, CheckpointRow, &sql, tenant_id.to_string())?
        }
        None => {
            let sql = format!("{SELECT} ORDER BY tenant_id, tree_size");
            fetch_rows!(&mut *tx, CheckpointRow, &sql)?
        }
    };
    with_cosignatures(tx, rows).await
}

/// Records a witness's cosignature of a stored checkpoint (once per witness; a second
/// cosignature by the same witness replaces nothing).
pub async fn add_cosignature(
    db: &ReadDb,
    tenant_id: TenantId,
    tree_size: u64,
    cosignature: &Cosignature,
) -> Result<(), ProofQueryError> {
    let mut tx = db.begin().await?;
    execute!(
        &mut tx,
        "INSERT INTO ledger_cosignatures (tenant_id, tree_size, witness, signed_at, line, \
         recorded_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, tree_size, witness) DO NOTHING",
        tenant_id.to_string(),
        to_i64(tree_size),
        &cosignature.witness,
        i64::try_from(cosignature.timestamp).unwrap_or(i64::MAX),
        &cosignature.line,
        OffsetDateTime::now_utc().unix_timestamp(),
    )?;
    tx.commit().await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DueRow {
    tenant_id: String,
    tree_size: i64,
    last_size: Option<i64>,
    last_issued_at: Option<i64>,
}

/// The retailers whose tree has grown past their newest checkpoint by `every_events`
/// leaves, or has grown at all and whose newest checkpoint is `every_seconds` old.
pub async fn due(
    db: &ReadDb,
    every_events: u64,
    every_seconds: u64,
) -> Result<Vec<TenantId>, ProofQueryError> {
    let mut tx = db.snapshot().await?;
    let rows = fetch_rows!(
        &mut tx,
        DueRow,
        "SELECT l.tenant_id, l.tree_size, \
           (SELECT MAX(c.tree_size) FROM ledger_checkpoints c WHERE c.tenant_id = l.tenant_id) \
             AS last_size, \
           (SELECT MAX(c.issued_at) FROM ledger_checkpoints c WHERE c.tenant_id = l.tenant_id) \
             AS last_issued_at \
         FROM proof_logs l"
    )?;
    tx.rollback().await?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut due = Vec::new();
    for row in rows {
        let last = row.last_size.unwrap_or(0);
        let grown = u64::try_from(row.tree_size - last).unwrap_or(0);
        let age = u64::try_from(now - row.last_issued_at.unwrap_or(i64::MIN / 2)).unwrap_or(0);
        let due_now = grown >= every_events.max(1) || (grown > 0 && age >= every_seconds);
        if due_now && let Ok(id) = stored::uuid("tenant_id", &row.tenant_id) {
            due.push(TenantId(id));
        }
    }
    Ok(due)
}
