//! `kana-harness simulate`: options, the target they describe, progress, and the report of a
//! divergence.
//!
//! Results (one line per workload, the shrunk scenario, the closing line) go to stdout; the seed,
//! the replay command and progress go to stderr, so that a run's output can be kept as its report.

use std::cell::Cell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kana_harness::certify::Verdict;
use kana_harness::simulate::{self, Finding, Knobs, Observer, Settings, Size, WorkloadReport};
use kana_harness::snapshot::{DiffLine, classify};
use kana_harness::target::{Http, InProcess, Target};
use kana_reference::engine::Faults;

use super::target_args::{TargetArgs, program_name};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    target: TargetArgs,

    /// Use a second reference engine in this process as the target, without HTTP: measures the
    /// workload generator and the engine alone, and with `--fault` shows a divergence quickly.
    #[arg(long, conflicts_with = "endpoint")]
    in_process: bool,

    /// Make the reference destination used as the target wrong in this way on purpose, to see
    /// how a divergence is found, shrunk and written: `ignore-delta`, `never-merge`,
    /// `count-redeliveries`, `rules-override-feature-id`, `no-retroactive-rules` or
    /// `latest-rule-wins`.
    #[arg(long, value_name = "FAULT", conflicts_with = "endpoint", value_parser = fault_name)]
    fault: Option<String>,

    /// The seed of the first workload [default: a random one, always printed].
    #[arg(long, value_name = "N", help_heading = "Workload")]
    seed: Option<u64>,

    /// How many workloads to run, with seeds N, N+1, ...; the run stops at the first divergence.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = at_least_one_u64,
        help_heading = "Workload")]
    runs: u64,

    /// How many people take part.
    #[arg(long, value_name = "N", default_value_t = Knobs::default().users,
        value_parser = at_least_one, help_heading = "Workload")]
    users: usize,

    /// How many deliveries to the ingest endpoint, counting redeliveries and bad input.
    #[arg(long, value_name = "N", default_value_t = Knobs::default().events,
        help_heading = "Workload")]
    events: usize,

    /// The share of people who are also customers imported from billing (Stripe), half of them
    /// before the first delivery and half in batches mid-stream.
    #[arg(long, value_name = "SHARE", default_value_t = Knobs::default().stripe_share,
        value_parser = share, help_heading = "Workload")]
    stripe_share: f64,

    /// The share of people who identify (and are imported) with another person's email, in
    /// the same or a different case or padding.
    #[arg(long, value_name = "SHARE", default_value_t = Knobs::default().email_collisions,
        value_parser = share, help_heading = "Workload")]
    email_collisions: f64,

    /// How many features exist: half from the start, the others created mid-stream.
    #[arg(long, value_name = "N", default_value_t = Knobs::default().features,
        help_heading = "Workload")]
    features: usize,

    /// How many mapping rules exist: a third from the start, the others created mid-stream.
    #[arg(long, value_name = "N", default_value_t = Knobs::default().rules,
        help_heading = "Workload")]
    rules: usize,

    /// The share of deliveries that redeliver an earlier message, byte for byte.
    #[arg(long, value_name = "SHARE", default_value_t = Knobs::default().duplicates,
        value_parser = share, help_heading = "Workload")]
    duplicates: f64,

    /// The largest group of consecutive deliveries delivered in a shuffled order; 1 keeps the
    /// order.
    #[arg(long, value_name = "N", default_value_t = Knobs::default().reorder_window,
        value_parser = at_least_one, help_heading = "Workload")]
    reorder_window: usize,

    /// The share of deliveries that are malformed or invalid (bad JSON, wrong types, missing
    /// fields, wrong credentials, unsupported types, oversized bodies).
    #[arg(long, value_name = "SHARE", default_value_t = Knobs::default().bad_input,
        value_parser = share, help_heading = "Workload")]
    bad_input: f64,

    /// How many candidate workloads shrinking may replay against the target.
    #[arg(long, value_name = "N", default_value_t = 1_000, help_heading = "Divergences")]
    shrink_budget: usize,

    /// Folder for the scenario and pending snapshot of a divergence, created when needed. A
    /// folder of their own keeps `certify --scenarios` from reading unrelated YAML files.
    #[arg(long, value_name = "DIR", default_value = "simulated", help_heading = "Divergences")]
    out: PathBuf,
}

impl SimulateArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        // Everything that can be wrong with the options is found before the target is contacted.
        if self.out.exists() && !self.out.is_dir() {
            bail!("`--out` must name a folder, but {} is not one", self.out.display());
        }
        let seed = self.seed.unwrap_or_else(|| u64::from(rand::random::<u32>()));
        let settings = Settings {
            knobs: self.knobs(),
            seed,
            runs: self.runs,
            shrink_budget: self.shrink_budget,
            out: self.out.clone(),
        };
        let (target, described) = self.target()?;

        let workloads = match self.runs {
            1 => "1 workload".to_owned(),
            runs => format!("{runs} workloads"),
        };
        eprintln!("simulating {described}: {workloads} of {} events, seed {seed}", self.events);
        eprintln!("replay: {}", self.replay(seed, self.runs));

        let progress = HumanProgress::new(self.events);
        let report = simulate::simulate(target.as_ref(), &settings, &progress)?;
        progress.finish();

        if let Some(finding) = &report.finding {
            self.print_finding(finding);
        }
        println!("{}", report.summary_line());
        Ok(ExitCode::from(report.exit() as u8))
    }

    fn knobs(&self) -> Knobs {
        Knobs {
            users: self.users,
            events: self.events,
            stripe_share: self.stripe_share,
            email_collisions: self.email_collisions,
            features: self.features,
            rules: self.rules,
            duplicates: self.duplicates,
            reorder_window: self.reorder_window,
            bad_input: self.bad_input,
        }
    }

    fn faults(&self) -> Faults {
        let wanted = self.fault.as_deref().map(|name| name.replace('-', "_"));
        Faults::each()
            .into_iter()
            .find(|(name, _)| wanted.as_deref() == Some(*name))
            .map_or_else(Faults::default, |(_, faults)| faults)
    }

    /// The target, and how the report names it.
    fn target(&self) -> anyhow::Result<(Box<dyn Target>, String)> {
        let fault = match &self.fault {
            Some(fault) => format!(", with the fault `{fault}`"),
            None => String::new(),
        };
        if self.in_process {
            let described = format!("a second reference engine in this process{fault}");
            return Ok((Box::new(InProcess::with_faults(self.faults())), described));
        }
        let config = self.target.http_config(self.faults())?;
        let described = match &self.target.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => format!("the reference destination at {}{fault}", config.ingest_url),
        };
        Ok((Box::new(Http::new(config)?), described))
    }

    /// The options that reach the same target again.
    fn target_options(&self) -> String {
        let mut options = self.target.replay_options();
        if self.in_process {
            options.push_str(" --in-process");
        }
        if let Some(fault) = &self.fault {
            options.push_str(&format!(" --fault {fault}"));
        }
        options
    }

    /// The command that runs the same workloads against the same target again.
    fn replay(&self, seed: u64, runs: u64) -> String {
        let mut command = format!("{} simulate --seed {seed}", program_name());
        if runs != 1 {
            command.push_str(&format!(" --runs {runs}"));
        }
        // Only the knobs that differ from their defaults, so the command stays readable.
        let (ours, defaults) = (self.knobs(), Knobs::default());
        let pair =
            |ours: &dyn ToString, default: &dyn ToString| (ours.to_string(), default.to_string());
        let knobs = [
            ("--users", pair(&ours.users, &defaults.users)),
            ("--events", pair(&ours.events, &defaults.events)),
            ("--stripe-share", pair(&ours.stripe_share, &defaults.stripe_share)),
            ("--email-collisions", pair(&ours.email_collisions, &defaults.email_collisions)),
            ("--features", pair(&ours.features, &defaults.features)),
            ("--rules", pair(&ours.rules, &defaults.rules)),
            ("--duplicates", pair(&ours.duplicates, &defaults.duplicates)),
            ("--reorder-window", pair(&ours.reorder_window, &defaults.reorder_window)),
            ("--bad-input", pair(&ours.bad_input, &defaults.bad_input)),
        ];
        for (option, (value, default)) in knobs {
            if value != default {
                command.push_str(&format!(" {option} {value}"));
            }
        }
        command.push_str(&self.target_options());
        command
    }

    /// The divergence in full: what differed, the shrunk scenario, the diff and where it went.
    fn print_finding(&self, finding: &Finding) {
        let bold = Style::new().bold();
        let shrunk = &finding.shrunk;
        let budget = if shrunk.exhausted { " (the budget ran out)" } else { "" };
        println!("\n{} {}", bold.apply_to("── divergence, seed"), bold.apply_to(finding.seed));
        println!("found: {}", finding.divergence.difference);
        println!(
            "shrunk: {} -> {} in {} replays{budget}",
            size(shrunk.before),
            size(shrunk.after),
            shrunk.runs
        );
        if let Some(note) = &finding.note {
            println!("note: {note}");
        }
        let Some(confirmed) = &finding.confirmed else {
            println!("replay: {}", self.replay(finding.seed, 1));
            return;
        };

        println!("scenario:");
        confirmed.text.lines().for_each(|line| println!("  {line}"));
        if let Some(diff) = &confirmed.diff {
            println!("diff (- reference destination, + target):");
            diff.lines().for_each(|line| println!("  {}", styled(line)));
        }
        for problem in &confirmed.problems {
            println!("problem: {problem}");
        }
        if !confirmed.fails_on_target() {
            println!(
                "note: run as a scenario, the shrunk workload shows no difference; the divergence \
                 depends on values that a snapshot replaces with placeholders"
            );
        }
        if let Some((scenario, snapshot)) = &finding.files {
            println!("wrote {}", scenario.display());
            println!("wrote {} (pending review)", snapshot.display());
            self.print_certify(&confirmed.scenario.name);
        }
        println!("replay: {}", self.replay(finding.seed, 1));
    }

    fn print_certify(&self, name: &str) {
        let out = self.out.display();
        println!(
            "certify it: {} certify --scenarios {out} --snapshots {out} --filter {name} --exact{}",
            program_name(),
            self.target.replay_options()
        );
        if self.in_process || self.fault.is_some() {
            println!(
                "note: certify has no `--fault` or `--in-process`; against the healthy reference \
                 destination the scenario passes, as the specified behaviour should"
            );
        }
    }
}

fn size(size: Size) -> String {
    let items = |count: usize, one: &str, many: &str| match count {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    format!(
        "{} and {}",
        items(size.steps, "step", "steps"),
        items(size.given, "set-up item", "set-up items")
    )
}

fn styled(line: &str) -> String {
    match classify(line) {
        DiffLine::Expected(text) => Style::new().red().apply_to(text).to_string(),
        DiffLine::Actual(text) => Style::new().green().apply_to(text).to_string(),
        DiffLine::Hunk(text) => Style::new().cyan().apply_to(text).to_string(),
        DiffLine::Same(text) => text.to_owned(),
    }
}

/// A fault's name as `Faults::each` spells it, with dashes for underscores.
fn fault_name(text: &str) -> Result<String, String> {
    let names: Vec<String> =
        Faults::each().into_iter().map(|(name, _)| name.replace('_', "-")).collect();
    match names.iter().find(|name| **name == text.trim().replace('_', "-")) {
        Some(name) => Ok(name.clone()),
        None => Err(format!("no fault `{text}`: use one of {}", names.join(", "))),
    }
}

fn share(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("must be a share between 0 and 1, such as 0.05, got `{text}`")),
    }
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!("must be a whole number of at least 1, got `{text}`")),
    }
}

fn at_least_one_u64(text: &str) -> Result<u64, String> {
    at_least_one(text).map(|count| count as u64)
}

/// Progress on stderr: a bar on a terminal, a line every tenth of a workload otherwise; one
/// result line per workload on stdout.
struct HumanProgress {
    bar: Option<ProgressBar>,
    events: usize,
    seed: Cell<u64>,
    /// The last tenth of the workload reported, for plain progress lines.
    tenth: Cell<usize>,
    /// The size of the best candidate last reported while shrinking.
    shrunk: Cell<Option<Size>>,
}

impl HumanProgress {
    fn new(events: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(events as u64), ProgressDrawTarget::stderr());
            let template = "{bar:30} {pos}/{len} events {elapsed} {per_sec} {wide_msg}";
            let style = ProgressStyle::with_template(template).expect("the template is valid");
            bar.set_style(style);
            bar
        });
        Self { bar, events, seed: Cell::new(0), tenth: Cell::new(0), shrunk: Cell::new(None) }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }
}

impl Observer for HumanProgress {
    fn started(&self, seed: u64, _knobs: &Knobs) {
        self.seed.set(seed);
        self.tenth.set(0);
        if let Some(bar) = &self.bar {
            bar.reset();
            bar.set_message(format!("seed {seed}"));
        }
    }

    fn advanced(&self, deliveries: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(deliveries as u64);
            return;
        }
        let tenth = deliveries * 10 / self.events.max(1);
        if tenth > self.tenth.get() {
            self.tenth.set(tenth);
            eprintln!("[seed {}] {deliveries}/{} events", self.seed.get(), self.events);
        }
    }

    fn finished(&self, report: &WorkloadReport) {
        self.say(&result_line(report));
    }

    fn shrinking(&self, runs: usize, size: Size) {
        let line = format!("shrinking: {} after {runs} replays", self::size(size));
        match &self.bar {
            Some(bar) => bar.set_message(line),
            // A plain line only when the size changed; a simpler step of the same size is not news.
            None if self.shrunk.get() != Some(size) => eprintln!("{line}"),
            None => {}
        }
        self.shrunk.set(Some(size));
    }
}

fn result_line(report: &WorkloadReport) -> String {
    let seed = report.seed;
    let seconds = report.elapsed.as_secs_f64();
    match report.verdict {
        Verdict::Passed => format!(
            "{} seed {seed}: {} events agreed ({} steps, {seconds:.1} s, {:.0} events/s)",
            Style::new().green().apply_to("ok      "),
            report.deliveries,
            report.steps,
            report.events_per_second()
        ),
        Verdict::Failed => format!(
            "{} seed {seed} after {} events: {}",
            Style::new().red().bold().apply_to("DIVERGED"),
            report.deliveries,
            report.divergence.as_ref().map(|d| d.difference.to_string()).unwrap_or_default()
        ),
        Verdict::Error | Verdict::Skipped => format!(
            "{} seed {seed}: {}",
            Style::new().red().bold().apply_to("ERROR   "),
            report.error.as_deref().unwrap_or("the target could not be judged")
        ),
    }
}
