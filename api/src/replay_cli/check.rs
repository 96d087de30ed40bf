//! `replay check-projections`: rebuild projections into scratch tables and compare each with
//! the live read model at the same log position.

use crate::DatabaseArgs;
use anyhow::{Context, anyhow};
use clap::Args;
use projections::Projection;
use replay::check::{CheckOptions, ProjectionCheck};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Check only this projection (`products`, `sales` or `serials`); repeat for several.
    /// By default, every projection.
    #[arg(long = "projection", value_name = "NAME", value_parser = parse_projection)]
    projections: Vec<Projection>,
    /// At most this many differing rows are printed per table (all are counted).
    #[arg(long, default_value_t = 10)]
    max_differences: usize,
    /// SQLite: the directory for the scratch database (as large as the read models). By
    /// default, beside the database file.
    #[arg(long, value_name = "DIR")]
    scratch_dir: Option<PathBuf>,
}

fn parse_projection(name: &str) -> Result<Projection, String> {
    Projection::from_name(name.trim()).ok_or_else(|| {
        let names: Vec<&str> = Projection::ALL.iter().map(|p| p.name()).collect();
        format!(
            "no projection {name:?}; expected one of {}",
            names.join(", ")
        )
    })
}

pub(crate) async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let store = args.database.connect().await?;
    let projections = if args.projections.is_empty() {
        Projection::ALL.to_vec()
    } else {
        args.projections
    };
    let options = CheckOptions {
        max_differences: args.max_differences,
        scratch_dir: args.scratch_dir,
        ..CheckOptions::default()
    };
    let check = replay::check::check_projections_with(&store, &projections, &options);
    // On Ctrl-C the check is dropped on the way out, and with it its scratch copy (see
    // `projections::ScratchDb`). The store is not closed first: closing waits for the
    // connections the check still holds.
    let report = tokio::select! {
        report = check => report.context("the check could not be completed")?,
        interrupted = tokio::signal::ctrl_c() => {
            interrupted.context("cannot listen for Ctrl-C")?;
            return Err(anyhow!("interrupted; the scratch copy is removed"));
        }
    };
    store.close().await;
    for check in &report.projections {
        print_check(check);
    }
    Ok(if report.all_identical() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_check(check: &ProjectionCheck) {
    let tables: Vec<String> = check
        .live
        .tables
        .iter()
        .map(|table| format!("{} {}", table.table, table.rows))
        .collect();
    let rate = if check.events_folded > 0 {
        format!(
            "rebuilt in {:.2?} ({:.0} events/s)",
            check.rebuild_time,
            check.events_per_second()
        )
    } else {
        format!("rebuilt in {:.2?}", check.rebuild_time)
    };
    let name = check.projection.name();
    if check.is_identical() {
        println!(
            "{name}: identical at position {} ({} events): digest {}",
            check.position, check.events_folded, check.live.digest
        );
        println!("  rows: {}; {rate}", tables.join(", "));
        if check.live_events_seen != check.events_folded {
            println!(
                "  note: the live checkpoint counts {} events seen since its last reset",
                check.live_events_seen
            );
        }
        return;
    }
    println!(
        "{name}: DIFFERENT at position {} ({} events): live digest {}, rebuilt digest {}",
        check.position, check.events_folded, check.live.digest, check.rebuilt.digest
    );
    println!("  {rate}");
    if check.rebuilt_position != check.position {
        println!(
            "  the log ends at {} before the live checkpoint {}",
            check.rebuilt_position, check.position
        );
    }
    for (live, rebuilt) in check.live.tables.iter().zip(&check.rebuilt.tables) {
        let Some(differences) = check.table(live.table) else {
            continue;
        };
        let differ = if differences.count == 1 {
            "1 row differs".to_owned()
        } else {
            format!("{} rows differ", differences.count)
        };
        println!(
            "  {}: {} rows live, {} rebuilt; {differ}",
            live.table, live.rows, rebuilt.rows
        );
        for difference in &differences.first {
            println!("    {difference}");
        }
        let unshown = differences
            .count
            .saturating_sub(differences.first.len() as u64);
        if unshown > 0 {
            println!("    ... and {unshown} more");
        }
    }
}
