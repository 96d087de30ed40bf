//! `replay check`. (Being written.)

use crate::DatabaseArgs;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    database: DatabaseArgs,
}

pub(crate) async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let _ = args.database;
    anyhow::bail!("not built yet")
}
