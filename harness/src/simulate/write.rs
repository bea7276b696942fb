//! A shrunk workload as a scenario file and its pending snapshot.
//!
//! The scenario is serialised from the very data the shrinker replayed and parsed back with the
//! scenario loader, so the file written is the file that was checked. Each step gets the status
//! the reference destination gave it as its `expect`, and the reference's rendering becomes the
//! snapshot, so `certify` judges any target against the pair like any other scenario. Both files
//! are unreviewed: a person reads them and restates `about` before moving them into `scenarios/`
//! and `snapshots/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::shrink::Candidate;
use crate::render::render;
use crate::run::{RunError, Transcript, run};
use crate::scenario::{Given, Scenario, ScenarioError, Step};
use crate::snapshot;
use crate::target::{InProcess, Target};

/// A shrunk workload, run again as a scenario on both sides.
#[derive(Debug, Clone)]
pub struct Confirmed {
    pub scenario: Scenario,
    /// The scenario file's text.
    pub text: String,
    /// The reference destination's rendering: the snapshot.
    pub snapshot: String,
    /// How the target's rendering differs from the snapshot (`-` reference, `+` target).
    pub diff: Option<String>,
    /// Unmet expectations and state lists out of canonical order on the target.
    pub problems: Vec<String>,
}

impl Confirmed {
    /// Whether a certification run of this scenario fails on the target, as it should.
    pub fn fails_on_target(&self) -> bool {
        self.diff.is_some() || !self.problems.is_empty()
    }
}

/// Why a shrunk workload could not be turned into a scenario.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("the simulated scenario does not load (a bug in the simulator): {0}")]
    Scenario(#[from] ScenarioError),
    #[error("the simulated scenario does not serialise (a bug in the simulator): {0}")]
    Yaml(String),
}

/// Runs `candidate` as the scenario `name` on the reference and on `target`, with expectations
/// taken from the reference.
pub fn confirm(
    target: &dyn Target,
    name: &str,
    about: &str,
    seed: u64,
    candidate: &Candidate,
) -> Result<Confirmed, ConfirmError> {
    let path = PathBuf::from(format!("{name}.yaml"));
    let plain = Scenario::parse(name, &path, &scenario_text(about, seed, candidate)?)?;
    let reference = run(&InProcess::new(), &plain, seed)?;

    let mut annotated = candidate.clone();
    annotate(&mut annotated, &reference);
    let text = scenario_text(about, seed, &annotated)?;
    let scenario = Scenario::parse(name, &path, &text)?;
    let snapshot = render(&scenario, &reference);

    let transcript = run(target, &scenario, seed)?;
    let rendered = render(&scenario, &transcript);
    let diff =
        (!snapshot::matches(&snapshot, &rendered)).then(|| snapshot::diff(&snapshot, &rendered));
    Ok(Confirmed { scenario, text, snapshot, diff, problems: transcript.problems() })
}

/// Writes `<dir>/<name>.yaml` and its pending snapshot `<dir>/<name>.snap`, and returns both
/// paths.
pub fn write_files(dir: &Path, confirmed: &Confirmed) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let name = &confirmed.scenario.name;
    let scenario_path = dir.join(format!("{name}.yaml"));
    std::fs::write(&scenario_path, &confirmed.text)?;
    let snapshot_path = snapshot::path(dir, name);
    let about = &confirmed.scenario.file.about;
    snapshot::write_pending(&snapshot_path, "kana-harness simulate", about, &confirmed.snapshot)?;
    Ok((scenario_path, snapshot_path))
}

/// The scenario file's shape, with plain steps where [`crate::scenario::ScenarioFile`] has
/// spanned ones.
#[derive(Serialize)]
struct File<'a> {
    about: &'a str,
    seed: u64,
    given: &'a Given,
    steps: &'a [Step],
}

fn scenario_text(about: &str, seed: u64, candidate: &Candidate) -> Result<String, ConfirmError> {
    let file = File { about, seed, given: &candidate.given, steps: &candidate.steps };
    let mut options = serde_saphyr::SerializerOptions::default();
    // One line per value, lists indented under their key, as the hand-written scenarios are.
    options.prefer_block_scalars = false;
    options.compact_list_indent = false;
    let yaml = serde_saphyr::to_string_with_options(&file, options)
        .map_err(|error| ConfirmError::Yaml(error.to_string()))?;
    Ok(format!("# yaml-language-server: $schema=./scenario.schema.json\n{yaml}"))
}

/// Sets every step's `expect` to the status the reference gave it.
fn annotate(candidate: &mut Candidate, reference: &Transcript) {
    let statuses: HashMap<&str, u16> =
        reference.steps.iter().map(|record| (record.label.as_str(), record.reply.status)).collect();
    for (index, step) in candidate.steps.iter_mut().enumerate() {
        let label = (index + 1).to_string();
        match step {
            Step::Shuffled(group) => {
                for (inner, step) in group.iter_mut().enumerate() {
                    let status = statuses.get(format!("{label}.{}", inner + 1).as_str());
                    set_expect(step, status.copied());
                }
            }
            step => set_expect(step, statuses.get(label.as_str()).copied()),
        }
    }
}

fn set_expect(step: &mut Step, status: Option<u16>) {
    let expect = match step {
        Step::Identify(send) | Step::Track(send) | Step::Message(send) => &mut send.expect,
        Step::Raw(raw) => &mut raw.expect,
        Step::CreateFeature(feature) => &mut feature.expect,
        Step::CreateRule(rule) => &mut rule.expect,
        Step::ImportBillingCustomers(import) => &mut import.expect,
        Step::Redeliver(redeliver) => &mut redeliver.expect,
        Step::Shuffled(_) => return,
    };
    *expect = status;
}
