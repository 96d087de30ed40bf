//! `replay serial`. (Being written.)

use crate::DatabaseArgs;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(crate) struct SerialArgs {
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) async fn run(args: SerialArgs) -> anyhow::Result<ExitCode> {
    let _ = args.database;
    anyhow::bail!("not built yet")
}
