//! (being written)

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum ExportCommand {
    /// (being written)
    Placeholder {
        #[command(flatten)]
        database: crate::DatabaseArgs,
    },
}

pub(crate) async fn run(command: ExportCommand) -> anyhow::Result<ExitCode> {
    let _ = command;
    anyhow::bail!("not built yet")
}
