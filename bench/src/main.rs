//! `serial-ledger-bench`: the ledger's figures measured side by side with the database's own
//! limits, on SQLite and PostgreSQL, as JSON lines, with medians of several runs.
//!
//! One command per scenario (`append`, `rebuild`, `lookup`, `graphql`, `subscription`,
//! `memory`, `proofs`, `console`; `all` runs them in turn). Every run uses a fresh database. `--quick` runs
//! seconds-long versions on small data, to prove the tool works (CI); its figures are not
//! for comparison. `report` regenerates the table in `BENCHMARKS.md` from the results file.

mod append;
mod console;
mod env;
mod lag;
mod load;
mod lookup;
mod mix;
mod overhead;
mod proofs;
mod rebuild;
mod report;
mod server;
mod stats;

use clap::{Parser, Subcommand, ValueEnum};
use env::Backend;
use report::{Figure, Recorder};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "serial-ledger-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Backends to run on (repeat the flag for several); both by default.
    #[arg(long = "backend", value_enum)]
    backends: Vec<Backend>,
    /// Seconds-long runs on small data, one run each: proves the tool works.
    #[arg(long)]
    quick: bool,
    /// Runs per scenario and backend; the table shows their medians. Default 3 (1 quick).
    #[arg(long)]
    runs: Option<u32>,
    /// The PostgreSQL server (a fresh database is created on it per run and dropped).
    #[arg(
        long,
        env = "SERIAL_LEDGER_BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    postgres_url: String,
    /// The JSON lines file figures are appended to.
    #[arg(long, default_value = "target/bench/results.jsonl")]
    results: PathBuf,
    /// After the runs, regenerate the table in this markdown file (e.g. BENCHMARKS.md).
    #[arg(long)]
    markdown: Option<PathBuf>,
}

impl Common {
    fn backends(&self) -> Vec<Backend> {
        if self.backends.is_empty() {
            vec![Backend::Sqlite, Backend::Postgres]
        } else {
            self.backends.clone()
        }
    }

    fn runs(&self) -> u32 {
        self.runs.unwrap_or(if self.quick { 1 } else { 3 }).max(1)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scale {
    /// The default sizes (1M events to rebuild).
    Default,
    /// 10M events to rebuild.
    Large,
}

#[derive(Subcommand)]
enum Command {
    /// Scenario 1: the command mix with 1 and 32 clients, beside raw INSERT transactions.
    Append {
        #[command(flatten)]
        common: Common,
        /// Seconds of load per case (default 10; quick 1).
        #[arg(long)]
        seconds: Option<f64>,
    },
    /// Scenario 2: rebuild all projections from a generated log, beside a scan+decode.
    Rebuild {
        #[command(flatten)]
        common: Common,
        /// Events in the log (default 1,000,000; 10,000,000 with --scale large; quick 2,000).
        #[arg(long)]
        events: Option<u64>,
        #[arg(long, value_enum, default_value = "default")]
        scale: Scale,
        /// Events per rebuild batch (default: what `replay rebuild` uses).
        #[arg(long, default_value_t = replay::rebuild::REBUILD_BATCH_SIZE)]
        batch_size: usize,
    },
    /// Scenarios 3 and 6: serialTrace at N recorded serials, in process and over HTTP at
    /// half the saturating load, beside the bare index lookup; then the server's memory.
    Lookup {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        size: LookupArgs,
    },
    /// Scenario 6 alone: the same run as `lookup` (memory is measured after its load).
    Memory {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        size: LookupArgs,
    },
    /// Scenario 4: a trivial GraphQL query and serialTrace over HTTP, beside a static axum
    /// endpoint of the same server.
    Graphql {
        #[command(flatten)]
        common: Common,
        /// Seconds per endpoint (default 10; quick 1).
        #[arg(long)]
        seconds: Option<f64>,
    },
    /// Scenario 5: commit-to-frame lag of a WebSocket subscriber at fixed write rates.
    Subscription {
        #[command(flatten)]
        common: Common,
        /// Events/s to write (repeatable; default 1,000 and 5,000; quick 100 and 500).
        #[arg(long = "rate")]
        rates: Vec<f64>,
        /// Seconds per rate (default 10; quick 1).
        #[arg(long)]
        seconds: Option<f64>,
    },
    /// Scenario 7: the verifiable ledger: the proofs projection under the 32-client append
    /// load (lag, fold rate vs the append rate) and its storage per event (vs the events
    /// table); inclusion proofs on a large tree (vs the one-row SELECT); checking a
    /// 1,000-event evidence file offline (vs parsing it).
    Proofs {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        size: ProofsArgs,
    },
    /// Scenario 8: the web console's serial lookup and report pages at N recorded serials
    /// (scenario 3's data): each page view's requests (HTML, static files, session, the
    /// page's GraphQL calls) over HTTP, p50/p95 against the 200 ms target.
    Console {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        size: ConsoleArgs,
    },
    /// Every scenario in turn, with its defaults.
    All {
        #[command(flatten)]
        common: Common,
    },
    /// Regenerates the table in a markdown file from a results file.
    Report {
        /// The JSON lines file.
        #[arg(long, default_value = "target/bench/results.jsonl")]
        results: PathBuf,
        /// The markdown file with the table markers.
        #[arg(long, default_value = "BENCHMARKS.md")]
        markdown: PathBuf,
        /// Include --quick figures.
        #[arg(long)]
        include_quick: bool,
    },
    /// Internal: the server process the HTTP scenarios load.
    #[command(hide = true)]
    ServeChild {
        #[arg(long)]
        database_url: String,
    },
}

#[derive(clap::Args, Clone)]
struct LookupArgs {
    /// Recorded serials in the index (default 10,000,000; quick 20,000).
    #[arg(long)]
    serials: Option<u64>,
    /// Seconds of each HTTP phase (default 10; quick 1).
    #[arg(long)]
    seconds: Option<f64>,
}

#[derive(clap::Args, Clone)]
struct ConsoleArgs {
    /// Recorded serials in the index, and sold lines in the report tables (default
    /// 10,000,000; quick 20,000).
    #[arg(long)]
    serials: Option<u64>,
    /// Views of each page (default 200; quick 20).
    #[arg(long)]
    views: Option<usize>,
}

impl ConsoleArgs {
    fn size(&self, quick: bool) -> console::ConsoleSize {
        console::ConsoleSize {
            serials: self
                .serials
                .unwrap_or(if quick { 20_000 } else { 10_000_000 }),
            real_sales: if quick { 100 } else { 2_000 },
            pending_sales: if quick { 30 } else { 200 },
            views: self.views.unwrap_or(if quick { 20 } else { 200 }).max(1),
        }
    }
}

#[derive(clap::Args, Clone)]
struct ProofsArgs {
    /// Seconds of the append load (default 10; quick 1).
    #[arg(long)]
    seconds: Option<f64>,
    /// Leaves of the tree the inclusion proofs are made in (default 10,000,000; quick 20,000).
    #[arg(long)]
    leaves: Option<u64>,
    /// Inclusion proofs timed (default 10,000; quick 500).
    #[arg(long)]
    samples: Option<usize>,
    /// Events of the evidence file's serial (default 1,000; quick 100).
    #[arg(long)]
    evidence_events: Option<u64>,
    /// Parts to run (repeatable; all by default): append (with storage), inclusion, evidence.
    #[arg(long = "part", value_enum)]
    parts: Vec<proofs::Part>,
}

impl ProofsArgs {
    fn size(&self, quick: bool) -> proofs::ProofsSize {
        proofs::ProofsSize {
            seconds: seconds(self.seconds, quick),
            leaves: self
                .leaves
                .unwrap_or(if quick { 20_000 } else { 10_000_000 }),
            samples: self.samples.unwrap_or(if quick { 500 } else { 10_000 }),
            evidence_events: self
                .evidence_events
                .unwrap_or(if quick { 100 } else { 1_000 }),
            checks: if quick { 5 } else { 20 },
            parts: if self.parts.is_empty() {
                vec![
                    proofs::Part::Append,
                    proofs::Part::Inclusion,
                    proofs::Part::Evidence,
                ]
            } else {
                self.parts.clone()
            },
        }
    }
}

impl LookupArgs {
    fn size(&self, quick: bool) -> lookup::LookupSize {
        lookup::LookupSize {
            serials: self
                .serials
                .unwrap_or(if quick { 20_000 } else { 10_000_000 }),
            real_sales: if quick { 100 } else { 2_000 },
            lookups: if quick { 100 } else { 2_000 },
            seconds: self.seconds.unwrap_or(if quick { 1.0 } else { 10.0 }),
        }
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx::query=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli.command))
}

fn seconds(given: Option<f64>, quick: bool) -> f64 {
    given.unwrap_or(if quick { 1.0 } else { 10.0 })
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::ServeChild { database_url } => server::serve_child(&database_url).await,
        Command::Report {
            results,
            markdown,
            include_quick,
        } => {
            report::update_markdown(&results, &markdown, include_quick)?;
            println!("updated {}", markdown.display());
            Ok(())
        }
        Command::All { common } => {
            for scenario in [
                Scenario::Append(None),
                Scenario::Rebuild(None, Scale::Default, replay::rebuild::REBUILD_BATCH_SIZE),
                Scenario::Lookup(LookupArgs {
                    serials: None,
                    seconds: None,
                }),
                Scenario::Graphql(None),
                Scenario::Subscription(Vec::new(), None),
                Scenario::Proofs(ProofsArgs {
                    seconds: None,
                    leaves: None,
                    samples: None,
                    evidence_events: None,
                    parts: Vec::new(),
                }),
                Scenario::Console(ConsoleArgs {
                    serials: None,
                    views: None,
                }),
            ] {
                measure(&common, &scenario).await?;
            }
            Ok(())
        }
        Command::Append { common, seconds } => measure(&common, &Scenario::Append(seconds)).await,
        Command::Rebuild {
            common,
            events,
            scale,
            batch_size,
        } => measure(&common, &Scenario::Rebuild(events, scale, batch_size)).await,
        Command::Lookup { common, size } | Command::Memory { common, size } => {
            measure(&common, &Scenario::Lookup(size)).await
        }
        Command::Graphql { common, seconds } => measure(&common, &Scenario::Graphql(seconds)).await,
        Command::Subscription {
            common,
            rates,
            seconds,
        } => measure(&common, &Scenario::Subscription(rates, seconds)).await,
        Command::Proofs { common, size } => measure(&common, &Scenario::Proofs(size)).await,
        Command::Console { common, size } => measure(&common, &Scenario::Console(size)).await,
    }
}

enum Scenario {
    Append(Option<f64>),
    Rebuild(Option<u64>, Scale, usize),
    Lookup(LookupArgs),
    Graphql(Option<f64>),
    Subscription(Vec<f64>, Option<f64>),
    Proofs(ProofsArgs),
    Console(ConsoleArgs),
}

/// Runs a scenario `runs` times per backend, recording every run's figures, then prints the
/// medians and updates the markdown table when asked.
async fn measure(common: &Common, scenario: &Scenario) -> anyhow::Result<()> {
    let quick = common.quick;
    let mut recorder = Recorder::new(&common.results, quick);
    for backend in common.backends() {
        for run in 1..=common.runs() {
            let url = &common.postgres_url;
            let figures: Vec<Figure> = match scenario {
                Scenario::Append(given) => {
                    append::run(backend, url, seconds(*given, quick), &[1, 32], run).await?
                }
                Scenario::Rebuild(events, scale, batch_size) => {
                    let events = events.unwrap_or(match (quick, scale) {
                        (true, _) => 2_000,
                        (false, Scale::Default) => 1_000_000,
                        (false, Scale::Large) => 10_000_000,
                    });
                    rebuild::run(backend, url, events, *batch_size, run).await?
                }
                Scenario::Lookup(size) => lookup::run(backend, url, &size.size(quick), run).await?,
                Scenario::Graphql(given) => {
                    overhead::run(backend, url, seconds(*given, quick), run).await?
                }
                Scenario::Subscription(rates, given) => {
                    let rates = match (rates.is_empty(), quick) {
                        (false, _) => rates.clone(),
                        (true, true) => vec![100.0, 500.0],
                        (true, false) => vec![1_000.0, 5_000.0],
                    };
                    lag::run(backend, url, &rates, seconds(*given, quick), run).await?
                }
                Scenario::Proofs(size) => proofs::run(backend, url, &size.size(quick), run).await?,
                Scenario::Console(size) => {
                    console::run(backend, url, &size.size(quick), run).await?
                }
            };
            recorder.record(run, figures)?;
        }
    }
    recorder.print_summary();
    if let Some(markdown) = &common.markdown {
        report::update_markdown(&common.results, markdown, quick)?;
        println!("updated {}", markdown.display());
    }
    Ok(())
}
