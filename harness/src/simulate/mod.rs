//! Simulation: seeded workloads sent to a target and to the reference at once, with every
//! divergence shrunk into a scenario.
//!
//! Scenarios pin the cases someone thought of. A simulation generates the traffic nobody wrote
//! down (many people, customers imported from billing, shared emails, features and rules created
//! mid-stream, redeliveries, reordering, bad input) and checks that the target answers every
//! request as the reference destination does and ends in the same canonical state. At the first
//! divergence it shrinks the workload to a few steps that still diverge and writes them as a
//! scenario with a pending snapshot, which `certify` then fails on the same target.
//!
//! One module per phase: [`workload`](mod@workload) generates, [`differential`] runs and
//! compares, [`shrink`] minimises and [`write`](mod@write) makes the scenario. Requests are built
//! by the same preparer that scenario runs use, so one seed gives the same bytes either way.

pub mod differential;
pub mod shrink;
pub mod workload;
pub mod write;

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use differential::{Difference, Divergence};
pub use shrink::{Candidate, Shrunk, Size};
pub use workload::{Knobs, Workload, workload};
pub use write::{ConfirmError, Confirmed};

use crate::certify::{Exit, Verdict};
use crate::run::RunError;
use crate::target::Target;

/// A shrunk scenario larger than this is not run as a scenario: rendering it would take longer
/// than it could be worth reading.
const MAX_SCENARIO_STEPS: usize = 5_000;

/// What a simulation does.
#[derive(Debug, Clone)]
pub struct Settings {
    pub knobs: Knobs,
    /// The first workload's seed; workload `k` (from 0) uses `seed + k`.
    pub seed: u64,
    /// How many workloads to run; the simulation stops at the first divergence.
    pub runs: u64,
    /// How many candidate replays shrinking may make.
    pub shrink_budget: usize,
    /// Where the scenario of a divergence is written.
    pub out: PathBuf,
}

/// How one workload went.
#[derive(Debug, Clone)]
pub struct WorkloadReport {
    pub seed: u64,
    /// Passed (no divergence), failed (a divergence), or error (the target could not be judged).
    pub verdict: Verdict,
    /// Top-level steps and deliveries made before the run ended.
    pub steps: usize,
    pub deliveries: usize,
    pub elapsed: Duration,
    pub divergence: Option<Divergence>,
    /// Why the target could not be judged.
    pub error: Option<String>,
}

impl WorkloadReport {
    /// Deliveries per second, on each side.
    pub fn events_per_second(&self) -> f64 {
        self.deliveries as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A divergence, shrunk and written as a scenario.
#[derive(Debug, Clone)]
pub struct Finding {
    pub seed: u64,
    /// The divergence as the full workload showed it.
    pub divergence: Divergence,
    pub shrunk: Shrunk,
    /// The shrunk workload run as a scenario; none when it could not be (see `note`).
    pub confirmed: Option<Confirmed>,
    /// The scenario file and its pending snapshot, once written.
    pub files: Option<(PathBuf, PathBuf)>,
    /// Why no scenario was written, when none was.
    pub note: Option<String>,
}

/// Everything a simulation found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub workloads: Vec<WorkloadReport>,
    pub finding: Option<Finding>,
    /// Workloads not run because an earlier one diverged or could not be judged.
    pub skipped: u64,
}

impl Report {
    /// The process's exit status, as for certification: 0 no divergence, 1 a divergence, 3 the
    /// target could not be judged.
    pub fn exit(&self) -> Exit {
        let any = |verdict| self.workloads.iter().any(|report| report.verdict == verdict);
        if any(Verdict::Failed) {
            Exit::ContractViolated
        } else if any(Verdict::Error) {
            Exit::TargetFailed
        } else {
            Exit::Passed
        }
    }

    /// The closing line: workloads that passed and failed (errors count as failed), and those
    /// skipped after a failure.
    pub fn summary_line(&self) -> String {
        let passed = self.workloads.iter().filter(|r| r.verdict == Verdict::Passed).count();
        let failed = self.workloads.len() - passed;
        match self.skipped {
            0 => format!("{passed} passed, {failed} failed"),
            skipped => format!("{passed} passed, {failed} failed, {skipped} skipped"),
        }
    }
}

/// Hears how a simulation progresses.
pub trait Observer {
    fn started(&self, _seed: u64, _knobs: &Knobs) {}
    /// Deliveries made so far in the current workload.
    fn advanced(&self, _deliveries: usize) {}
    fn finished(&self, _report: &WorkloadReport) {}
    /// Shrinking found a smaller candidate after `runs` replays.
    fn shrinking(&self, _runs: usize, _size: Size) {}
}

/// An observer that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Observer for Silent {}

/// Why a simulation could not go on. A target that cannot be judged is not an error here: it is
/// a workload's verdict.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("{0}")]
    Knobs(String),
    #[error("the generated workload cannot run (a bug in the simulator): {0}")]
    Workload(RunError),
    #[error(transparent)]
    Confirm(ConfirmError),
    #[error("cannot write the simulated scenario to {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// Runs `settings.runs` workloads against `target`, stopping at the first divergence, which is
/// shrunk and written to `settings.out`.
pub fn simulate(
    target: &dyn Target,
    settings: &Settings,
    observer: &dyn Observer,
) -> Result<Report, SimulateError> {
    settings.knobs.check().map_err(SimulateError::Knobs)?;
    let mut report = Report::default();
    for index in 0..settings.runs {
        let seed = settings.seed.wrapping_add(index);
        let workload = run_workload(target, settings, seed, observer)?;
        let (verdict, divergence) = (workload.verdict, workload.divergence.clone());
        report.workloads.push(workload);
        if let Some(divergence) = divergence {
            report.finding = Some(investigate(target, settings, seed, divergence, observer)?);
        }
        if verdict != Verdict::Passed {
            report.skipped = settings.runs - index - 1;
            break;
        }
    }
    Ok(report)
}

fn run_workload(
    target: &dyn Target,
    settings: &Settings,
    seed: u64,
    observer: &dyn Observer,
) -> Result<WorkloadReport, SimulateError> {
    observer.started(seed, &settings.knobs);
    let started = Instant::now();
    let Workload { given, steps } = workload(&settings.knobs, seed);
    let outcome = differential::run(target, &given, steps, seed, &mut |n| observer.advanced(n));
    let mut report = WorkloadReport {
        seed,
        verdict: Verdict::Passed,
        steps: 0,
        deliveries: 0,
        elapsed: started.elapsed(),
        divergence: None,
        error: None,
    };
    match outcome {
        Ok(run) => {
            report.verdict =
                if run.divergence.is_some() { Verdict::Failed } else { Verdict::Passed };
            (report.steps, report.deliveries, report.divergence) =
                (run.steps, run.deliveries, run.divergence);
        }
        Err(RunError::Target(error)) => {
            report.verdict = Verdict::Error;
            report.error = Some(error.to_string());
        }
        Err(error @ RunError::Scenario { .. }) => return Err(SimulateError::Workload(error)),
    }
    observer.finished(&report);
    Ok(report)
}

/// Shrinks the divergent prefix of a workload and writes what is left as a scenario.
fn investigate(
    target: &dyn Target,
    settings: &Settings,
    seed: u64,
    divergence: Divergence,
    observer: &dyn Observer,
) -> Result<Finding, SimulateError> {
    // The same seed and knobs give the same workload, so the prefix is generated again.
    let Workload { given, steps } = workload(&settings.knobs, seed);
    let start = Candidate { given, steps: steps.take(divergence.prefix).collect() };
    let mut replay = |candidate: &Candidate| {
        let run = differential::run(target, &candidate.given, &candidate.steps, seed, &mut |_| {});
        // A candidate the target cannot answer does not show the divergence being shrunk.
        run.ok().and_then(|run| run.divergence).map(|divergence| divergence.prefix)
    };
    let mut progress = |runs, size| observer.shrinking(runs, size);
    let shrunk = shrink::shrink(start, settings.shrink_budget, &mut replay, &mut progress);

    let mut finding =
        Finding { seed, divergence, shrunk, confirmed: None, files: None, note: None };
    if finding.shrunk.after.steps > MAX_SCENARIO_STEPS {
        finding.note = Some(format!(
            "the shrunk workload still has {} steps, too many for a scenario; \
             raise `--shrink-budget` or lower `--events`",
            finding.shrunk.after.steps
        ));
        return Ok(finding);
    }

    let name = format!("simulated-{seed}");
    let about = format!(
        "Simulated workload (seed {seed}) on which an implementation and the reference \
         destination disagree; state the rule it pins before adding it to scenarios/."
    );
    let confirmed = match write::confirm(target, &name, &about, seed, &finding.shrunk.candidate) {
        Ok(confirmed) => confirmed,
        Err(ConfirmError::Run(RunError::Target(error))) => {
            finding.note = Some(format!("the target could not run the shrunk scenario: {error}"));
            return Ok(finding);
        }
        Err(error) => return Err(SimulateError::Confirm(error)),
    };
    let files = write::write_files(&settings.out, &confirmed).map_err(|source| {
        SimulateError::Write { path: settings.out.display().to_string(), source }
    })?;
    finding.confirmed = Some(confirmed);
    finding.files = Some(files);
    Ok(finding)
}
