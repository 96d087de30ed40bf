//! `replay rebuild`: drop read models and fold them again from the log, with progress.
//!
//! A thin shell over [`replay::rebuild::rebuild`]. Progress goes to stderr: a bar with the
//! rate and ETA when stderr is a terminal, otherwise a plain line every few seconds (for
//! logs and CI); the per-projection summary goes to stdout.
//!
//! Ctrl-C stops after the current batch: the projection is left consistent at its
//! checkpoint (reset and batches are transactions with it; see the `replay::rebuild`
//! docs), the command says so and exits 130, and running it again rebuilds from the start.
//! A second Ctrl-C exits at once, which is just as safe: the database rolls back the batch
//! in flight.

use crate::DatabaseArgs;
use anyhow::Context;
use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use indicatif::{ProgressBar, ProgressStyle};
use projections::Projection;
use replay::rebuild::{
    Control, Progress, ProjectionRebuilt, REBUILD_BATCH_SIZE, RebuildObserver, RebuildOptions,
    rebuild,
};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a plain progress line is printed when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// The exit status after an interruption, as shells report a SIGINT.
const INTERRUPTED: u8 = 130;

#[derive(Debug, Args)]
pub(crate) struct RebuildArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// A projection to rebuild; repeat for several. Without it (or with --all), every one.
    #[arg(
        long = "projection",
        value_name = "NAME",
        value_parser = PossibleValuesParser::new(Projection::ALL.map(Projection::name)),
        conflicts_with = "all"
    )]
    projections: Vec<String>,
    /// Rebuild every projection (the default).
    #[arg(long)]
    all: bool,
    /// Events folded per batch, i.e. per transaction.
    #[arg(
        long,
        default_value_t = REBUILD_BATCH_SIZE,
        value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize)
    )]
    batch_size: usize,
}

pub(crate) async fn run(args: RebuildArgs) -> anyhow::Result<ExitCode> {
    let chosen = chosen_projections(&args)?;
    let store = args.database.connect().await?;
    let interrupted = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(Arc::clone(&interrupted));
    let mut observer = CliProgress::new(Arc::clone(&interrupted));
    let rebuilt = rebuild(
        &store,
        &chosen,
        RebuildOptions {
            batch_size: args.batch_size,
        },
        &mut observer,
    )
    .await;
    observer.clear();
    store.close().await;
    let report = rebuilt.context("the rebuild stopped")?;
    if report.stopped {
        let done: Vec<&str> = report
            .projections
            .iter()
            .filter(|rebuilt| rebuilt.complete)
            .map(|rebuilt| rebuilt.projection.name())
            .collect();
        println!(
            "interrupted{}; the projection being rebuilt is consistent at its checkpoint \
             (a running server carries it on); run `serial-ledger replay rebuild` again to \
             rebuild it from the start",
            if done.is_empty() {
                String::new()
            } else {
                format!(" ({} rebuilt)", done.join(", "))
            }
        );
        return Ok(ExitCode::from(INTERRUPTED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The projections named, in the order given without repeats, or every one.
fn chosen_projections(args: &RebuildArgs) -> anyhow::Result<Vec<Projection>> {
    if args.all || args.projections.is_empty() {
        return Ok(Projection::ALL.to_vec());
    }
    let mut chosen = Vec::new();
    for name in &args.projections {
        // clap already refused unknown names; this only turns the text back into the enum.
        let projection = Projection::from_name(name).with_context(|| {
            format!(
                "unknown projection {name:?}: valid names are {}",
                Projection::ALL.map(Projection::name).join(", ")
            )
        })?;
        if !chosen.contains(&projection) {
            chosen.push(projection);
        }
    }
    Ok(chosen)
}

/// First Ctrl-C: ask the rebuild to stop after its batch. Second: exit now.
fn watch_ctrl_c(interrupted: Arc<AtomicBool>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        interrupted.store(true, Ordering::SeqCst);
        eprintln!("stopping after the current batch (Ctrl-C again to stop at once)");
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(i32::from(INTERRUPTED));
        }
    });
}

/// Renders progress: a bar on a terminal, plain lines otherwise.
struct CliProgress {
    interrupted: Arc<AtomicBool>,
    terminal: bool,
    bar: Option<ProgressBar>,
    last_line: Instant,
}

impl CliProgress {
    fn new(interrupted: Arc<AtomicBool>) -> Self {
        Self {
            interrupted,
            terminal: std::io::stderr().is_terminal(),
            bar: None,
            last_line: Instant::now(),
        }
    }

    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl RebuildObserver for CliProgress {
    fn started(&mut self, projection: Projection, total: u64) {
        self.clear();
        if self.terminal {
            let style = ProgressStyle::with_template(
                "{prefix:>9} [{wide_bar}] {human_pos}/{human_len} events, {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            let bar = ProgressBar::new(total)
                .with_style(style)
                .with_prefix(projection.name())
                .with_message("starting");
            bar.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(bar);
        } else {
            eprintln!("{}: rebuilding over {total} events", projection.name());
            self.last_line = Instant::now();
        }
    }

    fn progress(&mut self, progress: &Progress) -> Control {
        let rate_and_eta = format!(
            "{:.0} ev/s, ETA {}",
            progress.events_per_second(),
            progress
                .eta()
                .map_or_else(|| "?".to_owned(), short_duration)
        );
        if let Some(bar) = &self.bar {
            bar.set_length(progress.total);
            bar.set_position(progress.events_done);
            bar.set_message(rate_and_eta);
        } else if self.last_line.elapsed() >= LINE_EVERY {
            eprintln!(
                "{}: {}/{} events, {rate_and_eta}",
                progress.projection.name(),
                progress.events_done,
                progress.total
            );
            self.last_line = Instant::now();
        }
        if self.interrupted.load(Ordering::SeqCst) {
            Control::Stop
        } else {
            Control::Continue
        }
    }

    fn finished(&mut self, rebuilt: &ProjectionRebuilt) {
        self.clear();
        println!(
            "{}: {} {} events in {} ({:.0} ev/s)",
            rebuilt.projection.name(),
            if rebuilt.complete {
                "rebuilt,"
            } else {
                "stopped after"
            },
            rebuilt.events,
            short_duration(rebuilt.elapsed),
            rebuilt.events_per_second()
        );
    }
}

/// "2m43s", "1h05m", "12s", "4.2s", "380ms": short enough for a progress line.
fn short_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 3_600 {
        format!("{}h{:02}m", seconds / 3_600, seconds % 3_600 / 60)
    } else if seconds >= 60 {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    } else if seconds >= 10 {
        format!("{seconds}s")
    } else if seconds >= 1 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        format!("{}ms", duration.as_millis())
    }
}
