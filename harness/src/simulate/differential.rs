//! The differential run: one workload, two targets, every answer compared as it comes.
//!
//! The reference side is always a fresh in-process reference destination, created for the run and
//! dropped with it, so nothing outlives a run but its verdict. One preparation serves both sides,
//! so they get identical bytes and their answers compare without redaction; only the workspace id
//! and API key, which each side hands out for itself, are masked. Canonical states are compared at
//! the end and at checkpoints (after 64, 128, 256, ... steps), so a divergence that shows only in
//! the state is found within twice the steps it needed, which keeps the prefix to shrink short.
//! A run stops at its first divergence: the rest of the workload could only blur the report.

use std::borrow::Borrow;
use std::fmt;

use kana_reference::CanonicalState;

use crate::prepare::{Preparer, Request};
use crate::run::RunError;
use crate::scenario::{Given, Step};
use crate::target::{InProcess, Reply, Target, TargetError, TargetWorkspace};

/// What a differential run found.
#[derive(Debug, Clone)]
pub struct Run {
    /// Top-level steps executed.
    pub steps: usize,
    /// Deliveries to the ingest endpoint made on each side.
    pub deliveries: usize,
    pub divergence: Option<Divergence>,
}

/// The first place where the target and the reference disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// How many top-level steps it took to show: the workload's prefix that reproduces it.
    pub prefix: usize,
    pub difference: Difference,
}

/// How the two sides disagreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The same request got different answers. `label` is the step's number as a scenario run
    /// shows it (`g2` for set-up, `7`, or `7.3` inside a shuffled group).
    Reply { label: String, reference: Reply, target: Reply },
    /// The canonical states differ in these sections.
    State { sections: Vec<&'static str> },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reply { label, reference, target } => write!(
                f,
                "step {label}: the reference answered {}, the target {}",
                describe(reference),
                describe(target)
            ),
            Self::State { sections } => {
                let sections: Vec<String> = sections.iter().map(|s| format!("`{s}`")).collect();
                write!(f, "the canonical states differ in {}", sections.join(", "))
            }
        }
    }
}

fn describe(reply: &Reply) -> String {
    match &reply.message {
        Some(message) => format!("{} {message:?}", reply.status),
        None => reply.status.to_string(),
    }
}

/// Runs `given` and `steps` against `target` and a fresh in-process reference, comparing every
/// answer and the canonical states. `tick` hears the number of deliveries after each step.
pub fn run<S: Borrow<Step>>(
    target: &dyn Target,
    given: &Given,
    steps: impl IntoIterator<Item = S>,
    seed: u64,
    tick: &mut dyn FnMut(usize),
) -> Result<Run, RunError> {
    let reference = InProcess::new();
    let sides = Sides::open(&reference, target)?;
    let mut preparer = Preparer::new(seed);
    let mut run = Run { steps: 0, deliveries: 0, divergence: None };

    let setup = preparer.given(given).map_err(|message| scenario_error("given", message))?;
    for (index, request) in setup.iter().enumerate() {
        if let Some(difference) = sides.exchange(request, || format!("g{}", index + 1))? {
            run.divergence = Some(Divergence { prefix: 0, difference });
            return Ok(run);
        }
    }

    for step in steps {
        run.steps += 1;
        let label = run.steps;
        let difference = match step.borrow() {
            Step::Shuffled(group) => sides.shuffled(&mut preparer, group, label, &mut run)?,
            step => {
                let request = preparer
                    .step(step)
                    .map_err(|message| scenario_error(&label.to_string(), message))?;
                run.deliveries += usize::from(request.is_delivery());
                sides.exchange(&request, || label.to_string())?
            }
        };
        let difference = match difference {
            None if is_checkpoint(run.steps) => sides.compare_states()?,
            difference => difference,
        };
        if let Some(difference) = difference {
            run.divergence = Some(Divergence { prefix: run.steps, difference });
            return Ok(run);
        }
        tick(run.deliveries);
    }

    if let Some(difference) = sides.compare_states()? {
        run.divergence = Some(Divergence { prefix: run.steps, difference });
    }
    Ok(run)
}

/// States are compared after 64, 128, 256, ... steps: the cost stays proportional to the run.
fn is_checkpoint(steps: usize) -> bool {
    steps >= 64 && steps.is_power_of_two()
}

fn scenario_error(label: &str, message: String) -> RunError {
    RunError::Scenario { label: label.to_owned(), message }
}

/// The two targets and the workspace each made for this run.
struct Sides<'a> {
    reference: &'a dyn Target,
    target: &'a dyn Target,
    ours: TargetWorkspace,
    theirs: TargetWorkspace,
}

impl<'a> Sides<'a> {
    fn open(reference: &'a dyn Target, target: &'a dyn Target) -> Result<Self, TargetError> {
        let ours = reference.create_workspace()?;
        let theirs = target.create_workspace()?;
        Ok(Self { reference, target, ours, theirs })
    }

    /// Sends one request to both sides; a difference is labelled by `label`, which is only
    /// called then.
    fn exchange(
        &self,
        request: &Request,
        label: impl FnOnce() -> String,
    ) -> Result<Option<Difference>, TargetError> {
        let expected = request.send(self.reference, &self.ours)?;
        let actual = request.send(self.target, &self.theirs)?;
        if expected == actual {
            return Ok(None);
        }
        let (expected, actual) = (self.mask(expected, &self.ours), self.mask(actual, &self.theirs));
        Ok((expected != actual).then(|| Difference::Reply {
            label: label(),
            reference: expected,
            target: actual,
        }))
    }

    /// Prepares a group in declared order and delivers it in the seeded shuffled order, exactly
    /// as a scenario run does.
    fn shuffled(
        &self,
        preparer: &mut Preparer,
        group: &[Step],
        label: usize,
        run: &mut Run,
    ) -> Result<Option<Difference>, RunError> {
        let mut requests = Vec::with_capacity(group.len());
        for (index, inner) in group.iter().enumerate() {
            let request = preparer
                .step(inner)
                .map_err(|message| scenario_error(&format!("{label}.{}", index + 1), message))?;
            requests.push(request);
        }
        let mut order: Vec<usize> = (0..requests.len()).collect();
        preparer.shuffle(&mut order);
        for index in order {
            run.deliveries += usize::from(requests[index].is_delivery());
            let difference =
                self.exchange(&requests[index], || format!("{label}.{}", index + 1))?;
            if difference.is_some() {
                return Ok(difference);
            }
        }
        Ok(None)
    }

    fn compare_states(&self) -> Result<Option<Difference>, TargetError> {
        // Both sides hold the same generated values, so the states compare as they are sent:
        // canonical order is part of the contract, as a scenario run checks too.
        let expected = self.reference.state(&self.ours)?;
        let actual = self.target.state(&self.theirs)?;
        let sections = differing_sections(&expected, &actual);
        Ok((!sections.is_empty()).then_some(Difference::State { sections }))
    }

    /// Masks the identifiers a side handed out itself, which may differ without being wrong.
    fn mask(&self, reply: Reply, workspace: &TargetWorkspace) -> Reply {
        let message = reply.message.map(|message| {
            message.replace(&workspace.api_key, "{apiKey}").replace(&workspace.id, "{workspace}")
        });
        Reply { status: reply.status, message }
    }
}

fn differing_sections(expected: &CanonicalState, actual: &CanonicalState) -> Vec<&'static str> {
    let sections = [
        ("features", expected.features == actual.features),
        ("users", expected.users == actual.users),
        ("usage", expected.usage == actual.usage),
        ("events", expected.events == actual.events),
        ("unmapped", expected.unmapped == actual.unmapped),
        ("flags", expected.flags == actual.flags),
    ];
    sections.into_iter().filter(|(_, same)| !same).map(|(section, _)| section).collect()
}
