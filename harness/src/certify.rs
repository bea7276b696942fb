//! Certification: every selected scenario against one target, judged by the reviewed snapshots.
//!
//! This is the same judgement `cargo test` makes, read from the same `.snap` files, so there is
//! one source of truth for what an implementation must do. Scenarios run in parallel, each in its
//! own workspace on the target; results come back in scenario order whatever order they finish
//! in, so reports are stable.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::render::render;
use crate::run::{RunError, default_seed, run_with_transport};
use crate::scenario::Scenario;
use crate::snapshot;
use crate::target::Target;

/// How a certification run ends, as the process's exit code. The numbers are documented for CI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exit {
    /// Every selected scenario matched its snapshot.
    Passed = 0,
    /// The implementation answered, and at least one answer breaks the contract.
    ContractViolated = 1,
    /// A scenario, a snapshot or an option is invalid; the target was not judged.
    InvalidInput = 2,
    /// The target could not be judged: unreachable, too slow, or answering outside the
    /// conformance API (a malformed state, 5xx after every retry).
    TargetFailed = 3,
}

/// The verdict on one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Passed,
    /// The target's answers or final state differ from the snapshot.
    Failed,
    /// The target could not be judged on this scenario.
    Error,
    /// Not run: the run's deadline passed first.
    Skipped,
}

/// Everything known about one scenario's run, for every report format.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioReport {
    pub name: String,
    pub about: String,
    pub verdict: Verdict,
    pub duration_ms: u128,
    /// A string in JSON: seeds use all 64 bits, more than a JavaScript number holds exactly.
    #[serde(serialize_with = "as_string")]
    pub seed: u64,
    /// Steps whose status differs from the scenario's `expect`, and state lists out of canonical
    /// order.
    pub expectations: Vec<String>,
    /// The unified diff of snapshot (`-`) and target (`+`), when they differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mismatch: Option<String>,
    /// Why the target could not be judged, or why the scenario was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Retries and waits the transport needed.
    pub transport: Vec<String>,
    /// The command that runs this scenario alone with the same seed.
    pub replay: String,
}

/// Which scenarios a run takes.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Keep scenarios whose name contains one of these (all when empty).
    pub filters: Vec<String>,
    /// Filters must match whole names.
    pub exact: bool,
    pub shard: Option<Shard>,
}

/// `K/N`: the K-th of N disjoint parts of the suite, for splitting a run across CI machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parsed = text.split_once('/').and_then(|(index, count)| {
            Some(Shard { index: index.trim().parse().ok()?, count: count.trim().parse().ok()? })
        });
        match parsed {
            Some(shard) if shard.count > 0 && (1..=shard.count).contains(&shard.index) => Ok(shard),
            _ => Err(format!("`{text}` is not a shard: write K/N with 1 <= K <= N, such as 2/4")),
        }
    }
}

impl Selection {
    /// The selected scenarios, in name order. Sharding is by position in the filtered list, so
    /// the N shards of one suite are disjoint and together cover it.
    pub fn apply(&self, scenarios: Vec<Scenario>) -> Vec<Scenario> {
        let wanted = |scenario: &Scenario| {
            self.filters.is_empty()
                || self.filters.iter().any(|filter| match self.exact {
                    true => scenario.name == *filter,
                    false => scenario.name.contains(filter.as_str()),
                })
        };
        scenarios
            .into_iter()
            .filter(wanted)
            .enumerate()
            .filter(|(position, _)| {
                self.shard.is_none_or(|shard| position % shard.count == shard.index - 1)
            })
            .map(|(_, scenario)| scenario)
            .collect()
    }
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Options {
    pub snapshots: PathBuf,
    pub jobs: usize,
    /// Overrides every scenario's own seed.
    pub seed: Option<u64>,
    /// No scenario starts after this moment.
    pub deadline: Instant,
    /// The command line that reaches this target, to which `--filter NAME --exact --seed N` is
    /// appended for each scenario's replay command.
    pub replay_prefix: String,
}

/// Hears about scenarios as they start and finish, to show progress.
pub trait Progress: Sync {
    fn started(&self, _scenario: &Scenario) {}
    fn finished(&self, _report: &ScenarioReport) {}
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// Names used by more than one scenario: each name has one snapshot, so a run refuses them.
pub fn duplicate_names(scenarios: &[Scenario]) -> Vec<String> {
    let mut names: Vec<&str> = scenarios.iter().map(|scenario| scenario.name.as_str()).collect();
    names.sort_unstable();
    let mut repeated: Vec<String> =
        names.windows(2).filter(|pair| pair[0] == pair[1]).map(|pair| pair[0].to_owned()).collect();
    repeated.dedup();
    repeated
}

/// Checks that every selected scenario has a readable snapshot before anything runs, so a run
/// never half-finishes on a missing file.
pub fn check_snapshots(scenarios: &[Scenario], dir: &Path) -> Result<(), Vec<String>> {
    let problems: Vec<String> = scenarios
        .iter()
        .filter_map(|scenario| snapshot::read(&snapshot::path(dir, &scenario.name)).err())
        .map(|error| error.to_string())
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// Runs the scenarios against the target, `options.jobs` at a time, and returns one report per
/// scenario in the order given.
pub fn certify(
    target: &dyn Target,
    scenarios: &[Scenario],
    options: &Options,
    progress: &dyn Progress,
) -> Vec<ScenarioReport> {
    let next = AtomicUsize::new(0);
    let reports: Mutex<Vec<Option<ScenarioReport>>> = Mutex::new(vec![None; scenarios.len()]);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.clamp(1, scenarios.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(scenario) = scenarios.get(index) else { break };
                    progress.started(scenario);
                    let report = certify_one(target, scenario, options);
                    progress.finished(&report);
                    reports.lock().expect("reports lock poisoned")[index] = Some(report);
                }
            });
        }
    });
    let reports = reports.into_inner().expect("reports lock poisoned");
    reports.into_iter().map(|report| report.expect("every scenario was run")).collect()
}

fn certify_one(target: &dyn Target, scenario: &Scenario, options: &Options) -> ScenarioReport {
    let seed = options.seed.unwrap_or_else(|| default_seed(scenario));
    let mut report = ScenarioReport {
        name: scenario.name.clone(),
        about: scenario.file.about.clone(),
        verdict: Verdict::Skipped,
        duration_ms: 0,
        seed,
        expectations: Vec::new(),
        mismatch: None,
        error: None,
        transport: Vec::new(),
        replay: format!(
            "{} --filter {} --exact --seed {seed}",
            options.replay_prefix, scenario.name
        ),
    };
    if Instant::now() >= options.deadline {
        report.error = Some("not run: the run's deadline passed first".to_owned());
        return report;
    }

    let started = Instant::now();
    let (outcome, transport) = run_with_transport(target, scenario, seed);
    report.duration_ms = started.elapsed().as_millis();
    report.transport = transport;
    let transcript = match outcome {
        Ok(transcript) => transcript,
        Err(error @ (RunError::Target(_) | RunError::Scenario { .. })) => {
            report.verdict = Verdict::Error;
            report.error = Some(error.to_string());
            return report;
        }
    };

    report.expectations = transcript.problems();
    let rendered = render(scenario, &transcript);
    match snapshot::read(&snapshot::path(&options.snapshots, &scenario.name)) {
        Ok(expected) if snapshot::matches(&expected, &rendered) => {}
        Ok(expected) => report.mismatch = Some(snapshot::diff(&expected, &rendered)),
        Err(error) => {
            report.verdict = Verdict::Error;
            report.error = Some(error.to_string());
            return report;
        }
    }
    let clean = report.expectations.is_empty() && report.mismatch.is_none();
    report.verdict = if clean { Verdict::Passed } else { Verdict::Failed };
    report
}

/// The exit status a set of reports calls for.
pub fn exit_status(reports: &[ScenarioReport]) -> Exit {
    let any = |verdict| reports.iter().any(|report| report.verdict == verdict);
    if any(Verdict::Error) || any(Verdict::Skipped) {
        Exit::TargetFailed
    } else if any(Verdict::Failed) {
        Exit::ContractViolated
    } else {
        Exit::Passed
    }
}

/// Counts for the closing line: `N passed, N failed` (errors count as failed), and skipped.
pub fn tally(reports: &[ScenarioReport]) -> (usize, usize, usize) {
    let count = |verdicts: &[Verdict]| {
        reports.iter().filter(|report| verdicts.contains(&report.verdict)).count()
    };
    (
        count(&[Verdict::Passed]),
        count(&[Verdict::Failed, Verdict::Error]),
        count(&[Verdict::Skipped]),
    )
}

/// The closing line of every run.
pub fn summary_line(reports: &[ScenarioReport]) -> String {
    let (passed, failed, skipped) = tally(reports);
    match skipped {
        0 => format!("{passed} passed, {failed} failed"),
        _ => format!("{passed} passed, {failed} failed, {skipped} skipped"),
    }
}

/// The whole run as JSON, for tooling.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonReport<'a> {
    pub target: &'a str,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub exit_code: i32,
    pub scenarios: &'a [ScenarioReport],
}

impl<'a> JsonReport<'a> {
    pub fn new(target: &'a str, reports: &'a [ScenarioReport]) -> Self {
        let (passed, failed, skipped) = tally(reports);
        let exit_code = exit_status(reports) as i32;
        Self { target, passed, failed, skipped, exit_code, scenarios: reports }
    }
}

/// The run as JUnit XML: one test case per scenario; a failure's text is its diff.
pub fn junit(target: &str, reports: &[ScenarioReport]) -> String {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

    let mut suite = TestSuite::new("kana-destination-certification");
    for report in reports {
        let mut status = match report.verdict {
            Verdict::Passed => TestCaseStatus::success(),
            Verdict::Failed => TestCaseStatus::non_success(NonSuccessKind::Failure),
            Verdict::Error => TestCaseStatus::non_success(NonSuccessKind::Error),
            Verdict::Skipped => TestCaseStatus::skipped(),
        };
        if report.verdict != Verdict::Passed {
            status.set_message(failure_message(report));
            status.set_description(failure_text(report));
        }
        let mut case = TestCase::new(report.name.clone(), status);
        case.set_classname(target.to_owned());
        case.set_time(Duration::from_millis(report.duration_ms as u64));
        suite.add_test_case(case);
    }
    let mut junit = Report::new("kana-harness certify");
    junit.add_test_suite(suite);
    junit.to_string().expect("a JUnit report always serialises")
}

fn failure_message(report: &ScenarioReport) -> String {
    match (&report.error, report.mismatch.is_some()) {
        (Some(error), _) => error.clone(),
        (None, true) => "the result differs from the reviewed snapshot".to_owned(),
        (None, false) => "a step's status differs from the scenario's `expect`".to_owned(),
    }
}

/// The plain-text account of a failed scenario, as reports show it.
pub fn failure_text(report: &ScenarioReport) -> String {
    let mut text =
        format!("about: {}\nseed: {}\nrerun: {}\n", report.about, report.seed, report.replay);
    if let Some(error) = &report.error {
        text.push_str(&format!("error: {error}\n"));
    }
    for expectation in &report.expectations {
        text.push_str(&format!("expectation: {expectation}\n"));
    }
    for note in &report.transport {
        text.push_str(&format!("transport: {note}\n"));
    }
    if let Some(diff) = &report.mismatch {
        text.push_str("diff (- reviewed snapshot, + target):\n");
        text.push_str(diff);
    }
    text
}

fn as_string<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}
