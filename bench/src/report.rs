//! Figures as JSON lines, medians over runs, and the table in `BENCHMARKS.md`.
//!
//! Every measurement is one [`Figure`]: what we measured (`ours`) and, where the scenario
//! has one, the database's own limit measured in the same run (`limit`) with the ratio
//! between them. Figures are appended to a JSON lines file; the table is regenerated from it,
//! per (scenario, backend, case, metric) from the latest invocation that measured it: the
//! median of its runs, so one noisy run on a shared machine does not make the figure.

use crate::stats::median;
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// One measurement of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    /// `append`, `rebuild`, `lookup`, `graphql`, `subscription`, `memory`, `proofs`, `console`.
    pub scenario: String,
    /// `sqlite`, `postgres`, or empty when the database does not matter.
    pub backend: String,
    /// The variant measured (`32 clients`, `10M serials, in process`, ...).
    pub case: String,
    /// What is measured (`commands/s`, `p99 ms`, ...).
    pub metric: String,
    /// Our figure.
    pub ours: f64,
    /// The limit measured side by side, when the scenario has one.
    pub limit: Option<f64>,
    /// What the limit is (`raw INSERT tx/s`, `axum static /s`, ...).
    pub limit_label: Option<String>,
    /// `ours / limit`.
    pub ratio: Option<f64>,
    /// Which run of the invocation (1-based).
    pub run: u32,
    /// Whether it was a `--quick` run (proves the tool works; not a figure to compare).
    pub quick: bool,
    /// The invocation (all figures of one command share it).
    pub invocation: String,
    /// When (RFC 3339, UTC).
    pub at: String,
}

impl Figure {
    /// A figure without a side-by-side limit.
    pub fn plain(scenario: &str, backend: &str, case: &str, metric: &str, ours: f64) -> Self {
        Self {
            scenario: scenario.into(),
            backend: backend.into(),
            case: case.into(),
            metric: metric.into(),
            ours,
            limit: None,
            limit_label: None,
            ratio: None,
            run: 0,
            quick: false,
            invocation: String::new(),
            at: String::new(),
        }
    }

    /// The same figure with the limit it is measured against.
    pub fn against(mut self, limit_label: &str, limit: f64) -> Self {
        self.limit = Some(limit);
        self.limit_label = Some(limit_label.into());
        self.ratio = (limit > 0.0).then(|| self.ours / limit);
        self
    }

    fn key(&self) -> (String, String, String, String) {
        (
            self.scenario.clone(),
            self.backend.clone(),
            self.case.clone(),
            self.metric.clone(),
        )
    }
}

/// Where one invocation's figures go.
pub struct Recorder {
    path: std::path::PathBuf,
    invocation: String,
    quick: bool,
    figures: Vec<Figure>,
}

impl Recorder {
    /// Appends to `path` (created with its directory when missing).
    pub fn new(path: &Path, quick: bool) -> Self {
        Self {
            path: path.to_owned(),
            invocation: uuid::Uuid::now_v7().to_string(),
            quick,
            figures: Vec::new(),
        }
    }

    /// Records the figures of run `run`: printed as JSON lines and appended to the file.
    pub fn record(&mut self, run: u32, figures: Vec<Figure>) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening {}", self.path.display()))?;
        let at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        for mut figure in figures {
            figure.run = run;
            figure.quick = self.quick;
            figure.invocation.clone_from(&self.invocation);
            figure.at.clone_from(&at);
            let line = serde_json::to_string(&figure)?;
            println!("{line}");
            writeln!(file, "{line}")?;
            self.figures.push(figure);
        }
        Ok(())
    }

    /// Prints the medians of this invocation's runs.
    pub fn print_summary(&self) {
        println!("== medians of {} figure(s)", self.figures.len());
        for row in summarise(&self.figures) {
            println!("{}", row.line());
        }
    }
}

/// The median of one (scenario, backend, case, metric) over an invocation's runs.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The first figure (names and labels).
    pub figure: Figure,
    /// Median of ours.
    pub ours: f64,
    /// Median of the limit.
    pub limit: Option<f64>,
    /// Median of the per-run ratios.
    pub ratio: Option<f64>,
    /// Runs.
    pub runs: usize,
}

impl Summary {
    fn line(&self) -> String {
        let f = &self.figure;
        let mut line = format!(
            "{} {} [{}] {}: {} (median of {})",
            f.scenario,
            f.backend,
            f.case,
            f.metric,
            number(self.ours),
            self.runs
        );
        if let (Some(limit), Some(label)) = (self.limit, &f.limit_label) {
            let _ = write!(line, "; {label}: {}", number(limit));
        }
        if let Some(ratio) = self.ratio {
            let _ = write!(line, "; ratio {}", ratio_text(ratio));
        }
        line
    }
}

/// Medians per key, in first-seen order.
pub fn summarise(figures: &[Figure]) -> Vec<Summary> {
    let mut order = Vec::new();
    let mut groups: BTreeMap<_, Vec<&Figure>> = BTreeMap::new();
    for figure in figures {
        let key = figure.key();
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(figure);
    }
    order
        .into_iter()
        .map(|key| {
            let group = &groups[&key];
            let pick = |f: fn(&Figure) -> Option<f64>| {
                let values: Vec<f64> = group.iter().filter_map(|g| f(g)).collect();
                (!values.is_empty()).then(|| median(&values))
            };
            Summary {
                figure: group[0].clone(),
                ours: median(&group.iter().map(|g| g.ours).collect::<Vec<_>>()),
                limit: pick(|g| g.limit),
                ratio: pick(|g| g.ratio),
                runs: group.len(),
            }
        })
        .collect()
}

/// A ratio with two significant digits below 0.1 (so 0.004x does not read as 0.00x).
fn ratio_text(ratio: f64) -> String {
    if ratio < 0.1 {
        format!("{ratio:.4}x")
    } else {
        format!("{ratio:.2}x")
    }
}

/// A figure as a person reads it: thousands separated, 2 decimals below 100.
pub fn number(value: f64) -> String {
    if value.abs() >= 100.0 {
        let rounded = value.round() as i64;
        let digits = rounded.abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if rounded < 0 {
            out.insert(0, '-');
        }
        out
    } else {
        format!("{value:.2}")
    }
}

const BEGIN: &str = "<!-- bench:table:begin (generated by `serial-ledger-bench report`) -->";
const END: &str = "<!-- bench:table:end -->";

/// Regenerates the table between the markers of `markdown` from the figures in `results`:
/// per key, the medians of the latest invocation that measured it (quick runs only when
/// `include_quick`).
pub fn update_markdown(results: &Path, markdown: &Path, include_quick: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(results)
        .with_context(|| format!("reading {}", results.display()))?;
    let mut figures = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let figure: Figure = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", results.display(), number + 1))?;
        if include_quick || !figure.quick {
            figures.push(figure);
        }
    }
    // The latest invocation per key (invocation ids are UUID v7: they sort by time).
    let mut latest: BTreeMap<_, String> = BTreeMap::new();
    for figure in &figures {
        let entry = latest.entry(figure.key()).or_default();
        if figure.invocation > *entry {
            entry.clone_from(&figure.invocation);
        }
    }
    let chosen: Vec<Figure> = figures
        .into_iter()
        .filter(|figure| latest.get(&figure.key()) == Some(&figure.invocation))
        .collect();
    let mut table = String::from(
        "| scenario | backend | case | metric | ours (median) | limit, same run (median) | ratio (median) | runs | measured |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for row in summarise(&chosen) {
        let f = &row.figure;
        let limit = match (row.limit, &f.limit_label) {
            (Some(limit), Some(label)) => format!("{} ({label})", number(limit)),
            _ => "-".into(),
        };
        let ratio = row.ratio.map_or("-".into(), ratio_text);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {}{} |",
            f.scenario,
            if f.backend.is_empty() {
                "-"
            } else {
                &f.backend
            },
            f.case,
            f.metric,
            number(row.ours),
            limit,
            ratio,
            row.runs,
            f.at.get(..10).unwrap_or(&f.at),
            if f.quick { " (quick)" } else { "" },
        );
    }
    let document = std::fs::read_to_string(markdown)
        .with_context(|| format!("reading {}", markdown.display()))?;
    let (Some(start), Some(end)) = (document.find(BEGIN), document.find(END)) else {
        anyhow::bail!(
            "{} has no table markers ({BEGIN} ... {END})",
            markdown.display()
        );
    };
    let updated = format!("{}{BEGIN}\n{table}{}", &document[..start], &document[end..]);
    std::fs::write(markdown, updated)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_with_thousands_separators() {
        assert_eq!(number(1_234_567.4), "1,234,567");
        assert_eq!(number(123.0), "123");
        assert_eq!(number(0.456), "0.46");
    }

    #[test]
    fn the_table_shows_the_latest_invocation_per_figure_and_keeps_the_rest_of_the_file()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let results = dir.path().join("results.jsonl");
        let markdown = dir.path().join("BENCHMARKS.md");
        let line = |invocation: &str, ours: f64, quick: bool| {
            let mut figure = Figure::plain("append", "sqlite", "1 client", "commands/s", ours)
                .against("raw INSERT tx/s", 2.0 * ours);
            figure.invocation = invocation.into();
            figure.quick = quick;
            figure.at = "2026-11-27T00:00:00Z".into();
            serde_json::to_string(&figure)
        };
        let lines = [
            line("01-old", 100.0, false)?,
            line("02-new", 300.0, false)?,
            line("02-new", 500.0, false)?,
            line("03-quick", 9.0, true)?,
        ];
        std::fs::write(&results, lines.join("\n"))?;
        std::fs::write(
            &markdown,
            format!("# B\n\nbefore\n{BEGIN}\nstale\n{END}\nafter\n"),
        )?;
        update_markdown(&results, &markdown, false)?;
        let text = std::fs::read_to_string(&markdown)?;
        assert!(text.starts_with("# B\n\nbefore\n"), "{text}");
        assert!(text.ends_with(&format!("{END}\nafter\n")), "{text}");
        assert!(!text.contains("stale"), "{text}");
        assert!(
            text.contains("| append | sqlite | 1 client | commands/s | 400 | 800 (raw INSERT tx/s) | 0.50x | 2 | 2026-11-27 |"),
            "{text}"
        );
        Ok(())
    }

    #[test]
    fn the_summary_is_the_median_of_runs_and_of_their_ratios() {
        let figures: Vec<Figure> = [(100.0, 200.0), (300.0, 400.0), (200.0, 1000.0)]
            .into_iter()
            .map(|(ours, limit)| {
                Figure::plain("append", "sqlite", "1 client", "commands/s", ours)
                    .against("raw", limit)
            })
            .collect();
        let summary = &summarise(&figures)[0];
        assert_eq!(summary.ours, 200.0);
        assert_eq!(summary.limit, Some(400.0));
        assert_eq!(summary.ratio, Some(0.5));
        assert_eq!(summary.runs, 3);
    }
}
