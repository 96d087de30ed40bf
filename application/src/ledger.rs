//! The verifiable ledger in the server: the signing key (kept outside the database, in a
//! file), the options saying how often checkpoints are issued, and the task that issues
//! them for every retailer whose tree has grown. The operations the adapters share
//! (checkpoints, proofs, cosignatures, keys) are [`crate::proofs`].

use ledger_proof::checkpoint::SigningKey;
use projections::ReadDb;
use projections::proofs::checkpoints;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A key file that cannot be read, made or written, saying which file and why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyFileError(String);

macro_rules! key_file_error {
    ($($arg:tt)*) => {
        KeyFileError(format!($($arg)*))
    };
}

/// Issue a checkpoint once a retailer's tree has grown by this many events…
pub const DEFAULT_CHECKPOINT_EVERY_EVENTS: u64 = 1_000;
/// …or once it has grown at all and its newest checkpoint is this many seconds old.
pub const DEFAULT_CHECKPOINT_EVERY_SECONDS: u64 = 60;

/// How the server issues checkpoints.
#[derive(Clone)]
pub struct LedgerOptions {
    /// The key checkpoints are signed with; None: checkpoints are issued unsigned.
    pub signing_key: Option<Arc<SigningKey>>,
    /// See [`DEFAULT_CHECKPOINT_EVERY_EVENTS`].
    pub every_events: u64,
    /// See [`DEFAULT_CHECKPOINT_EVERY_SECONDS`].
    pub every_seconds: u64,
    /// How often the task looks for retailers due a checkpoint.
    pub poll_interval: Duration,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self {
            signing_key: None,
            every_events: DEFAULT_CHECKPOINT_EVERY_EVENTS,
            every_seconds: DEFAULT_CHECKPOINT_EVERY_SECONDS,
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl std::fmt::Debug for LedgerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerOptions")
            .field(
                "signing_key",
                &self.signing_key.as_ref().map(|key| key.name()),
            )
            .field("every_events", &self.every_events)
            .field("every_seconds", &self.every_seconds)
            .finish()
    }
}

/// Reads a signing key file (`serial-ledger keys generate`). The error names the file and
/// says what is wrong with it; the key itself never appears in an error or a log.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        key_file_error!("cannot read the signing key {}: {error}", path.display())
    })?;
    SigningKey::from_text(&text)
        .map_err(|error| key_file_error!("{} is not a signing key: {error}", path.display()))
}

/// Writes a new key pair: the private key to `path` (created, never overwritten, readable
/// by its owner only) and the verifier (public) key to `path` + `.pub`; returns the
/// verifier key.
pub fn write_new_key(path: &Path, name: &str) -> Result<String, KeyFileError> {
    let (private, public) = ledger_proof::checkpoint::generate_signing_key(name)
        .map_err(|error| key_file_error!("cannot make a key named {name:?}: {error}"))?;
    write_private(path, &private)?;
    let public_path = public_key_path(path);
    std::fs::write(&public_path, format!("{public}\n")).map_err(|error| {
        key_file_error!(
            "cannot write the public key {}: {error}",
            public_path.display()
        )
    })?;
    Ok(public)
}

/// Where [`write_new_key`] puts the public key of a private key file.
pub fn public_key_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    name.into()
}

/// Creates `path` with `contents`, refusing to replace a file, readable by its owner only.
pub fn write_private(path: &Path, contents: &str) -> Result<(), KeyFileError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|error| {
        key_file_error!("cannot create the key file {}: {error}", path.display())
    })?;
    file.write_all(format!("{contents}\n").as_bytes())
        .map_err(|error| key_file_error!("cannot write {}: {error}", path.display()))
}

/// The checkpoint task (see [`spawn`]).
pub struct CheckpointTask {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl CheckpointTask {
    /// Stops the task after the checkpoint it is issuing, if any.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the checkpoint task ended abnormally");
        }
    }
}

/// Issues checkpoints in the background: every `poll_interval`, for each retailer due one.
/// Several servers on one database may issue the same checkpoint: the first stored wins and
/// the others find it there.
pub fn spawn(db: ReadDb, options: LedgerOptions) -> CheckpointTask {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            match checkpoints::due(&db, options.every_events, options.every_seconds).await {
                Ok(due) => {
                    for tenant_id in due {
                        let key = options.signing_key.as_deref();
                        match checkpoints::issue(&db, tenant_id, key).await {
                            Ok(issued) => tracing::debug!(
                                tenant = %tenant_id,
                                tree_size = issued.checkpoint.tree_size,
                                signed = issued.key_name.is_some(),
                                "checkpoint issued"
                            ),
                            Err(error) => {
                                tracing::warn!(tenant = %tenant_id, %error, "cannot issue a checkpoint");
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot look for checkpoints due"),
            }
            tokio::select! {
                _ = stopped.changed() => return,
                () = tokio::time::sleep(options.poll_interval) => {}
            }
        }
    });
    CheckpointTask { stop, task }
}
