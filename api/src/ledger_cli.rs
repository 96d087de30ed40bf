//! `serial-ledger keys ...`, `checkpoint ...` and `witness ...`: signing keys, checkpoints
//! and proofs read straight from the database, and the witness that cosigns a ledger's
//! checkpoints over its REST API.

use crate::DatabaseArgs;
use crate::cli_common::{key_text, resolve_tenant};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use ledger_proof::checkpoint::{VerifierKey, open_checkpoint};
use ledger_proof::cosignature::WitnessKey;
use ledger_proof::merkle;
use projections::proofs::{checkpoints, queries};
use projections::{Projection, ProjectionRunner, ReadDb, RunnerOptions};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use store::AnyStore;
use uuid::Uuid;

/// Signing keys.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a new Ed25519 key pair: the private key in FILE (readable by its owner only;
    /// never overwritten), the public (verifier) key in FILE.pub, also printed.
    Generate {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
        /// The key's name, shown in every signature it makes.
        #[arg(long, default_value = "serial-ledger")]
        name: String,
        /// A witness's cosigning key (C2SP tlog-cosignature) instead of a ledger's key.
        #[arg(long)]
        witness: bool,
    },
}

/// Checkpoints and proofs, from the database.
#[derive(Debug, Subcommand)]
pub(crate) enum CheckpointCommand {
    /// Issue a checkpoint of the retailer's log now (after folding the proofs up to the end
    /// of the log), signed when a key is given; prints the signed note.
    Issue {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The signing key file; without it the checkpoint is unsigned.
        #[arg(long, env = "SERIAL_LEDGER_SIGNING_KEY_FILE")]
        signing_key_file: Option<PathBuf>,
    },
    /// List the retailer's checkpoints, newest first.
    List {
        #[command(flatten)]
        tenant: TenantArgs,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Write a checkpoint (the newest, or the one of --tree-size) to a file, with its
    /// witnesses' cosignatures: what an auditor keeps outside the ledger.
    Export {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The checkpoint's tree size; the newest without it.
        #[arg(long)]
        tree_size: Option<u64>,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// The inclusion proof of an event in a checkpoint (JSON).
    ProveInclusion {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The event's id.
        #[arg(long)]
        event: Uuid,
        /// The checkpoint's tree size; the newest without it.
        #[arg(long)]
        tree_size: Option<u64>,
    },
    /// The consistency proof between two checkpoints (JSON).
    ProveConsistency {
        #[command(flatten)]
        tenant: TenantArgs,
        /// The older checkpoint's tree size.
        #[arg(long)]
        from: u64,
        /// The newer checkpoint's tree size; the newest without it.
        #[arg(long)]
        to: Option<u64>,
    },
}

/// The retailer and the database.
#[derive(Debug, Args)]
pub(crate) struct TenantArgs {
    /// The retailer (slug or UUID); needed when the database holds several.
    #[arg(long)]
    tenant: Option<String>,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// The witness.
#[derive(Debug, Subcommand)]
pub(crate) enum WitnessCommand {
    /// Fetch the ledger's newest checkpoint, check its signature and that it extends the
    /// last checkpoint this witness verified (consistency proof), cosign it and send the
    /// cosignature back. Refuses, and cosigns nothing, when the log was rewritten or an
    /// older checkpoint is presented as the newest.
    Cosign(WitnessArgs),
}

#[derive(Debug, Args)]
pub(crate) struct WitnessArgs {
    /// The ledger's address, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    url: String,
    /// An API token of the retailer (auditor role).
    #[arg(long, env = "SERIAL_LEDGER_TOKEN")]
    token: String,
    /// The ledger's public (verifier) key, or a file holding it.
    #[arg(long)]
    log_key: String,
    /// The witness's private key file (`keys generate --witness`).
    #[arg(long)]
    witness_key_file: PathBuf,
    /// Where the witness keeps the last checkpoint it verified (created on first use).
    #[arg(long)]
    state: PathBuf,
}

pub(crate) fn run_keys(command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::Generate { out, name, witness } => {
            let public = if witness {
                let (private, public) = ledger_proof::cosignature::generate_witness_key(&name)
                    .map_err(|error| anyhow::anyhow!("cannot make a witness key: {error}"))?;
                application::ledger::write_private(&out, &private)?;
                let public_path = application::ledger::public_key_path(&out);
                std::fs::write(&public_path, format!("{public}\n"))
                    .with_context(|| format!("cannot write {}", public_path.display()))?;
                public
            } else {
                application::ledger::write_new_key(&out, &name)?
            };
            eprintln!(
                "private key written to {} (keep it outside the database); public key in {}:",
                out.display(),
                application::ledger::public_key_path(&out).display()
            );
            println!("{public}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The demo's signing key, beside its database: made on first use.
pub(crate) fn demo_key(database_url: &str) -> anyhow::Result<PathBuf> {
    let path = match database_url.strip_prefix("sqlite://") {
        Some(file) => {
            let file = file.split('?').next().unwrap_or(file);
            PathBuf::from(format!("{file}.signing-key"))
        }
        None => PathBuf::from("serial-ledger-demo.signing-key"),
    };
    if !path.exists() {
        application::ledger::write_new_key(&path, "serial-ledger-demo")?;
        println!(
            "demo signing key made at {} (public key in {})",
            path.display(),
            application::ledger::public_key_path(&path).display()
        );
    }
    Ok(path)
}

/// Opens the database and folds the proofs up to the end of the log.
async fn caught_up(database: &DatabaseArgs) -> anyhow::Result<(AnyStore, ReadDb)> {
    let store = database.connect().await?;
    let runner = ProjectionRunner::new(store.clone(), RunnerOptions::default());
    runner
        .migrate()
        .await
        .context("migration of the read models failed")?;
    runner
        .catch_up(Projection::Proofs)
        .await
        .context("folding the proofs failed")?;
    let db = runner.db().clone();
    Ok((store, db))
}

pub(crate) async fn run_checkpoint(command: CheckpointCommand) -> anyhow::Result<ExitCode> {
    match command {
        CheckpointCommand::Issue {
            tenant,
            signing_key_file,
        } => {
            let key = signing_key_file
                .as_deref()
                .map(application::ledger::read_signing_key)
                .transpose()?;
            let (store, db) = caught_up(&tenant.database).await?;
            let tenant_id = resolve_tenant(&store, tenant.tenant.as_deref()).await?;
            let issued = checkpoints::issue(&db, tenant_id, key.as_ref()).await?;
            if issued.key_name.is_none() {
                eprintln!("this checkpoint is UNSIGNED (no --signing-key-file)");
            }
            print!("{}", issued.note_with_cosignatures());
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        CheckpointCommand::List { tenant, limit } => {
            let store = tenant.database.connect().await?;
            let tenant_id = resolve_tenant(&store, tenant.tenant.as_deref()).await?;
            let db = ReadDb::of(&store);
            let mut tx = db.snapshot().await?;
            let list = checkpoints::list(&mut tx, tenant_id, limit, None).await?;
            tx.rollback().await?;
            if list.is_empty() {
                println!("no checkpoints yet");
            }
            for stored in list {
                let checkpoint = &stored.checkpoint;
                println!(
                    "tree size {:>9}  root {}  serial map {}  issued {}  {}{}",
                    checkpoint.tree_size,
                    hex::encode(checkpoint.root),
                    hex::encode(checkpoint.map_root),
                    show_unix(checkpoint.issued_at),
                    stored
                        .key_name
                        .as_deref()
                        .map_or("UNSIGNED".to_owned(), |name| format!("signed by {name}")),
                    if stored.cosignatures.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", cosigned by {}",
                            stored
                                .cosignatures
                                .iter()
                                .map(|c| c.witness.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                );
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        CheckpointCommand::Export {
            tenant,
            tree_size,
            out,
        } => {
            let store = tenant.database.connect().await?;
            let tenant_id = resolve_tenant(&store, tenant.tenant.as_deref()).await?;
            let db = ReadDb::of(&store);
            let mut tx = db.snapshot().await?;
            let found = match tree_size {
                Some(size) => checkpoints::at(&mut tx, tenant_id, size).await?,
                None => checkpoints::latest(&mut tx, tenant_id).await?,
            };
            tx.rollback().await?;
            store.close().await;
            let Some(found) = found else {
                bail!("no such checkpoint: `serial-ledger checkpoint list` shows those issued");
            };
            std::fs::write(&out, found.note_with_cosignatures())
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "checkpoint of tree size {} written to {}",
                found.checkpoint.tree_size,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        CheckpointCommand::ProveInclusion {
            tenant,
            event,
            tree_size,
        } => {
            let (store, db) = caught_up(&tenant.database).await?;
            let tenant_id = resolve_tenant(&store, tenant.tenant.as_deref()).await?;
            let mut tx = db.snapshot().await?;
            let size = match tree_size {
                Some(size) => size,
                None => newest_size(&mut tx, tenant_id).await?,
            };
            let Some((owner, index)) = queries::leaf_of_event(&mut tx, event).await? else {
                bail!("event {event} is not in the ledger's tree");
            };
            if owner != tenant_id.to_string() {
                bail!("event {event} is not an event of this retailer");
            }
            let proof = queries::inclusion_proof(&mut tx, tenant_id, size, index).await?;
            tx.rollback().await?;
            store.close().await;
            let document = json!({
                "event_id": event,
                "leaf_index": index,
                "tree_size": size,
                "inclusion_proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&document)?);
            Ok(ExitCode::SUCCESS)
        }
        CheckpointCommand::ProveConsistency { tenant, from, to } => {
            let (store, db) = caught_up(&tenant.database).await?;
            let tenant_id = resolve_tenant(&store, tenant.tenant.as_deref()).await?;
            let mut tx = db.snapshot().await?;
            let to = match to {
                Some(size) => size,
                None => newest_size(&mut tx, tenant_id).await?,
            };
            let proof = queries::consistency_proof(&mut tx, tenant_id, from, to).await?;
            tx.rollback().await?;
            store.close().await;
            let document = json!({
                "from_tree_size": from,
                "to_tree_size": to,
                "consistency_proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&document)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn newest_size(
    tx: &mut projections::ReadTx,
    tenant_id: event_schemas::TenantId,
) -> anyhow::Result<u64> {
    match checkpoints::latest(tx, tenant_id).await? {
        Some(latest) => Ok(latest.checkpoint.tree_size),
        None => bail!("no checkpoint issued yet: `serial-ledger checkpoint issue` issues one"),
    }
}

fn show_unix(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|time| {
            time.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| seconds.to_string())
}

pub(crate) async fn run_witness(command: WitnessCommand) -> anyhow::Result<ExitCode> {
    let WitnessCommand::Cosign(args) = command;
    let log_key = VerifierKey::from_text(&key_text(&args.log_key)?)
        .map_err(|error| anyhow::anyhow!("--log-key is not a verifier key: {error}"))?;
    let witness_text = std::fs::read_to_string(&args.witness_key_file)
        .with_context(|| format!("cannot read {}", args.witness_key_file.display()))?;
    let witness = WitnessKey::from_text(&witness_text).map_err(|error| {
        anyhow::anyhow!(
            "{} is not a witness key: {error}",
            args.witness_key_file.display()
        )
    })?;
    let client = reqwest::Client::new();
    let base = args.url.trim_end_matches('/');
    let get = |path: String| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(&args.token)
            .send()
    };
    let latest: serde_json::Value = checked(get("/api/v1/ledger/checkpoints/latest".into()).await?)
        .await?
        .json()
        .await?;
    let note = latest["note"]
        .as_str()
        .context("the ledger answered a checkpoint without a note")?
        .to_owned();
    let opened = open_checkpoint(&note, std::slice::from_ref(&log_key))
        .map_err(|error| anyhow::anyhow!("the newest checkpoint does not verify: {error}"))?;
    let new = &opened.checkpoint;
    if let Ok(previous) = std::fs::read_to_string(&args.state) {
        let old = open_checkpoint(&previous, std::slice::from_ref(&log_key))
            .map_err(|error| {
                anyhow::anyhow!(
                    "the witness state {} does not verify: {error}",
                    args.state.display()
                )
            })?
            .checkpoint;
        if old.origin != new.origin {
            bail!(
                "the state {} is of log {}, the ledger answered log {}",
                args.state.display(),
                old.origin,
                new.origin
            );
        }
        if new.tree_size < old.tree_size {
            bail!(
                "REFUSED: the ledger presents a checkpoint of {} leaves as its newest, but this \
                 witness already verified one of {} leaves: an older checkpoint, or a log cut back",
                new.tree_size,
                old.tree_size
            );
        }
        if new.tree_size == old.tree_size && new.root != old.root {
            bail!(
                "REFUSED: two different roots for {} leaves: the log was rewritten (a fork)",
                new.tree_size
            );
        }
        if new.tree_size > old.tree_size {
            let proof: serde_json::Value = checked(
                get(format!(
                    "/api/v1/ledger/proofs/consistency?from={}&to={}",
                    old.tree_size, new.tree_size
                ))
                .await?,
            )
            .await?
            .json()
            .await?;
            let hashes = proof["proof"]
                .as_array()
                .context("the consistency proof has no `proof` list")?
                .iter()
                .map(|hash| {
                    hash.as_str()
                        .context("a proof hash is not text")
                        .and_then(|text| {
                            merkle::parse_hash_hex(text).map_err(|error| anyhow::anyhow!("{error}"))
                        })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            merkle::verify_consistency(old.tree_size, &old.root, new.tree_size, &new.root, &hashes)
                .map_err(|error| {
                    anyhow::anyhow!(
                        "REFUSED: the checkpoint of {} leaves does not extend the one of {} this \
                         witness verified: {error}",
                        new.tree_size,
                        old.tree_size
                    )
                })?;
        }
    }
    let timestamp = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    let line = witness
        .cosign(&note, timestamp)
        .map_err(|error| anyhow::anyhow!("cannot cosign: {error}"))?;
    let response = client
        .post(format!(
            "{base}/api/v1/ledger/checkpoints/{}/cosignatures",
            new.tree_size
        ))
        .bearer_auth(&args.token)
        .json(&json!({ "witnessKey": witness.verifier_key(), "line": line }))
        .send()
        .await?;
    checked(response).await?;
    std::fs::write(&args.state, &note)
        .with_context(|| format!("cannot write the witness state {}", args.state.display()))?;
    println!(
        "cosigned the checkpoint of {} leaves of {} as {}",
        new.tree_size,
        new.origin,
        witness.name()
    );
    Ok(ExitCode::SUCCESS)
}

/// The response, or an error with the ledger's own message.
async fn checked(response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    bail!("the ledger answered {status}: {body}")
}
