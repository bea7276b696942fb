//! The text form of a run: what snapshots hold and what certification compares.
//!
//! One rendering serves `cargo test` (through insta) and certification runs (which read the same
//! `.snap` files), so there is a single source of truth for what every scenario must produce. The
//! text lists the set-up and each step with the answer it got, then the final canonical state as
//! pretty JSON, which diffs line by line.

use std::fmt::Write;

use crate::run::{StepRecord, Transcript};
use crate::scenario::Scenario;

/// Renders a transcript for its snapshot.
pub fn render(scenario: &Scenario, transcript: &Transcript) -> String {
    let (given, steps): (Vec<&StepRecord>, Vec<&StepRecord>) =
        transcript.steps.iter().partition(|step| step.label.starts_with('g'));

    let mut out = format!("about: {}\n", scenario.file.about);
    if !given.is_empty() {
        out.push_str("\ngiven:\n");
        for step in given {
            let answer = answer(step).unwrap_or_default();
            writeln!(out, "  {} -> {answer}", step.summary).expect("writing to a String");
        }
    }
    out.push_str("\nsteps:\n");
    for step in steps {
        let depth = step.label.matches('.').count();
        let indent = "  ".repeat(depth + 1);
        writeln!(out, "{indent}{}. {}", step.label, step.summary).expect("writing to a String");
        if let Some(answer) = answer(step) {
            let pad = " ".repeat(step.label.len() + 2);
            writeln!(out, "{indent}{pad}-> {answer}").expect("writing to a String");
        }
    }
    out.push_str("\nstate:\n");
    out.push_str(&transcript.state.to_pretty_json());
    out.push('\n');
    out
}

/// `200`, or `400 <message>` for a refusal; none for a group heading.
fn answer(step: &StepRecord) -> Option<String> {
    let reply = &step.reply;
    (reply.status != 0).then(|| match &reply.message {
        Some(message) => format!("{} {message}", reply.status),
        None => reply.status.to_string(),
    })
}
