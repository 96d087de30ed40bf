//! `serial-ledger replay ...`: the auditor's commands, thin shells over the `replay` crate.
//!
//! Each subcommand lives in its own file with its arguments; this one names them and holds
//! what they share (choosing the retailer).

mod as_of;
mod check;
mod consistency;
mod evidence;
mod rebuild;
mod serial;
mod verify;

use clap::Subcommand;
use std::process::ExitCode;

/// Auditor tools over the event log.
#[derive(Debug, Subcommand)]
pub(crate) enum ReplayCommand {
    /// The full history of a serialised unit, read from the events: every assignment,
    /// removal, fulfilment, return, cancellation and re-issue, with who, where and when,
    /// and which sale holds it now.
    Serial(serial::SerialArgs),
    /// Check every stream's hash chain, revisions and positions; print a digest of the log
    /// that another copy can be compared with. Exits with status 1 naming the first broken
    /// event when anything was altered or removed.
    Verify(verify::VerifyArgs),
    /// The state of a sale or a serial as it stood at a past time or log position.
    AsOf(as_of::AsOfArgs),
    /// Drop read models and fold them again from the log, with progress. Safe to interrupt
    /// and run again.
    Rebuild(rebuild::RebuildArgs),
    /// Rebuild every projection into scratch tables and compare with the live read models;
    /// exits with status 1 reporting each difference.
    CheckProjections(check::CheckArgs),
    /// Check an evidence file written by `replay serial --format json` offline: hashes,
    /// links, inclusion proofs, completeness and the checkpoint's signature.
    CheckEvidence(evidence::CheckEvidenceArgs),
    /// Prove that the log still extends a checkpoint you kept (outside the database), or
    /// show where it diverges. Exits with status 1 when it does not extend it.
    CheckConsistency(consistency::CheckConsistencyArgs),
}

pub(crate) async fn run(command: ReplayCommand) -> anyhow::Result<ExitCode> {
    match command {
        ReplayCommand::Serial(args) => serial::run(args).await,
        ReplayCommand::Verify(args) => verify::run(args).await,
        ReplayCommand::AsOf(args) => as_of::run(args).await,
        ReplayCommand::Rebuild(args) => rebuild::run(args).await,
        ReplayCommand::CheckProjections(args) => check::run(args).await,
        ReplayCommand::CheckEvidence(args) => evidence::run(args).await,
        ReplayCommand::CheckConsistency(args) => consistency::run(args).await,
    }
}

/// How `replay serial` and `replay as-of` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns for people.
    Table,
    /// JSON (for `replay serial`, the evidence file with every event and its hashes).
    Json,
    /// CSV, one row per event.
    Csv,
}

/// Prints rows under headers in aligned columns.
pub(crate) fn print_table(out: &mut String, headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let text: Vec<String> = cells
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(text.join("  ").trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}

/// A time as people and spreadsheets read it (RFC 3339, UTC).
pub(crate) fn show_time(time: time::OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| time.to_string())
}
