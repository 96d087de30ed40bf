//! `serial-ledger products ...` and `serial-ledger export ...`: retail files from the command
//! line, written by the same code the HTTP routes serve.

mod exports;
mod products;

pub(crate) use exports::ExportCommand;
pub(crate) use products::ProductsCommand;

use std::process::ExitCode;

pub(crate) async fn run_products(command: ProductsCommand) -> anyhow::Result<ExitCode> {
    products::run(command).await
}

pub(crate) async fn run_export(command: ExportCommand) -> anyhow::Result<ExitCode> {
    exports::run(command).await
}
