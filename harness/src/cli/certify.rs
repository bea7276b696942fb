//! `kana-harness certify`: options, the target they describe, and the human report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use console::{Style, Term};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kana_harness::certify::{
    self, JsonReport, Options, Progress, ScenarioReport, Selection, Shard, Verdict,
};
use kana_harness::families;
use kana_harness::scenario::Scenario;
use kana_harness::snapshot::{DiffLine, classify};
use kana_harness::target::{Http, Target};
use kana_reference::engine::Faults;

use super::default_dir;
use super::target_args::{TargetArgs, program_name, seconds};

#[derive(Debug, Args)]
pub struct CertifyArgs {
    #[command(flatten)]
    target: TargetArgs,

    /// Folder of scenario files [default: `scenarios/` here, or in the harness's repository].
    /// Without this option the generated families (the identify decision matrix) run too.
    #[arg(long, value_name = "DIR")]
    scenarios: Option<PathBuf>,

    /// Folder of reviewed snapshots [default: `snapshots/` here, or in the harness's repository].
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,

    /// Run only scenarios whose name contains this text; repeat to widen the selection.
    #[arg(long, value_name = "TEXT")]
    filter: Vec<String>,

    /// Filters match whole scenario names instead of parts.
    #[arg(long)]
    exact: bool,

    /// Run only the K-th of N disjoint parts of the suite, to split it across CI machines.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,

    /// How many scenarios run at once, each in its own workspace.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = jobs_range())]
    jobs: u16,

    /// Run every scenario with this seed instead of the one derived from its name.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Seconds the whole run may take; scenarios not started by then are skipped.
    #[arg(long, value_name = "SECONDS", default_value_t = 900.0)]
    deadline: f64,

    /// Also write a JUnit XML report here (one test case per scenario).
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,

    /// Also write a JSON report here (per scenario: verdict, duration, mismatch, seed).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

impl CertifyArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let scenarios_dir = self.scenarios.clone().unwrap_or_else(|| default_dir("scenarios"));
        let snapshots_dir = self.snapshots.clone().unwrap_or_else(|| default_dir("snapshots"));
        let selection =
            Selection { filters: self.filter.clone(), exact: self.exact, shard: self.shard };

        // Everything that can be wrong with the input is found before the target is contacted.
        let mut scenarios = Scenario::load_dir(&scenarios_dir)?;
        if self.scenarios.is_none() {
            scenarios.extend(families::all());
            scenarios.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let repeated = certify::duplicate_names(&scenarios);
        if !repeated.is_empty() {
            bail!(
                "several scenarios are named {}: each name has one snapshot",
                repeated.join(", ")
            );
        }
        let scenarios = selection.apply(scenarios);
        if scenarios.is_empty() {
            bail!("no scenario in {} matches the selection", scenarios_dir.display());
        }
        if let Err(problems) = certify::check_snapshots(&scenarios, &snapshots_dir) {
            bail!("{}", problems.join("\n"));
        }
        // Report files are created now, so an unwritable path fails before any scenario runs.
        for path in self.junit.iter().chain(&self.json) {
            std::fs::write(path, "")
                .with_context(|| format!("cannot write a report to {}", path.display()))?;
        }
        let timeout = self.target.timeout()?;
        let deadline = Instant::now() + seconds("--deadline", self.deadline)?;

        let (target, described, replay_prefix) = self.target(timeout, deadline)?;
        let options = Options {
            snapshots: snapshots_dir,
            jobs: usize::from(self.jobs),
            seed: self.seed,
            deadline,
            replay_prefix,
        };
        let count = match scenarios.len() {
            1 => "1 scenario".to_owned(),
            n => format!("{n} scenarios"),
        };
        eprintln!("certifying {described}: {count}, {} at a time", self.jobs);

        let progress = HumanProgress::new(scenarios.len());
        let reports = certify::certify(target.as_ref(), &scenarios, &options, &progress);
        progress.finish();

        self.write_reports(&described, &reports)?;
        print_failures(&reports);
        println!("{}", certify::summary_line(&reports));
        Ok(ExitCode::from(certify::exit_status(&reports) as u8))
    }

    /// The target, how reports name it, and the command prefix that reaches it again.
    fn target(
        &self,
        timeout: Duration,
        deadline: Instant,
    ) -> anyhow::Result<(Box<dyn Target>, String, String)> {
        let mut config = self.target.http_config(Faults::default())?;
        config.timeout = timeout;
        config.deadline = Some(deadline);
        let described = match &self.target.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => {
                eprintln!("the reference destination listens on {}", config.ingest_url);
                "the reference destination".to_owned()
            }
        };
        let mut replay = format!("{} certify{}", program_name(), self.target.replay_options());
        for (option, dir) in [("--scenarios", &self.scenarios), ("--snapshots", &self.snapshots)] {
            if let Some(dir) = dir {
                replay.push_str(&format!(" {option} {}", dir.display()));
            }
        }
        Ok((Box::new(Http::new(config)?), described, replay))
    }

    fn write_reports(&self, target: &str, reports: &[ScenarioReport]) -> anyhow::Result<()> {
        if let Some(path) = &self.junit {
            std::fs::write(path, certify::junit(target, reports))
                .with_context(|| format!("cannot write the JUnit report to {}", path.display()))?;
        }
        if let Some(path) = &self.json {
            let json = serde_json::to_string_pretty(&JsonReport::new(target, reports))?;
            std::fs::write(path, json)
                .with_context(|| format!("cannot write the JSON report to {}", path.display()))?;
        }
        Ok(())
    }
}

fn jobs_range() -> clap::builder::RangedI64ValueParser<u16> {
    clap::value_parser!(u16).range(1..=256)
}

/// Progress on stderr: a bar on a terminal, one plain line per scenario otherwise.
struct HumanProgress {
    bar: Option<ProgressBar>,
    total: usize,
    done: AtomicUsize,
}

impl HumanProgress {
    fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}")
                .expect("the progress template is valid");
            bar.set_style(style);
            bar
        });
        Self { bar, total, done: AtomicUsize::new(0) }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for HumanProgress {
    fn started(&self, scenario: &Scenario) {
        if let Some(bar) = &self.bar {
            bar.set_message(scenario.name.clone());
        }
    }

    fn finished(&self, report: &ScenarioReport) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let line = result_line(report);
        match &self.bar {
            Some(bar) => {
                bar.suspend(|| println!("{line}"));
                bar.inc(1);
            }
            None => {
                println!("{line}");
                eprintln!("[{done}/{}] {}", self.total, report.name);
            }
        }
    }
}

fn result_line(report: &ScenarioReport) -> String {
    let (word, style) = match report.verdict {
        Verdict::Passed => ("ok     ", Style::new().green()),
        Verdict::Failed => ("FAILED ", Style::new().red().bold()),
        Verdict::Error => ("ERROR  ", Style::new().red().bold()),
        Verdict::Skipped => ("skipped", Style::new().yellow()),
    };
    let retries = match report.transport.len() {
        0 => String::new(),
        n => format!(", {n} retries"),
    };
    format!("{} {} ({} ms{retries})", style.apply_to(word), report.name, report.duration_ms)
}

/// Each failure in full after the run: about, seed, replay command, and the coloured diff.
fn print_failures(reports: &[ScenarioReport]) {
    let failed: Vec<&ScenarioReport> =
        reports.iter().filter(|report| report.verdict != Verdict::Passed).collect();
    if failed.is_empty() {
        return;
    }
    let mut out = Term::stdout();
    let bold = Style::new().bold();
    for report in failed {
        let _ = writeln!(out, "\n{} {}", bold.apply_to("──"), bold.apply_to(&report.name));
        for line in certify::failure_text(report).lines() {
            let styled = match classify(line) {
                DiffLine::Expected(text) => Style::new().red().apply_to(text).to_string(),
                DiffLine::Actual(text) => Style::new().green().apply_to(text).to_string(),
                DiffLine::Hunk(text) => Style::new().cyan().apply_to(text).to_string(),
                DiffLine::Same(text) => text.to_owned(),
            };
            let _ = writeln!(out, "  {styled}");
        }
    }
    let _ = writeln!(out);
}
