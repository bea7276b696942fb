//! The text form of a run: what snapshots hold and what certification compares.
//!
//! One rendering serves `cargo test` (through insta) and certification runs (which read the same
//! `.snap` files), so there is a single source of truth for what every scenario must produce. The
//! text lists each step with the answer it got, then the final canonical state as pretty JSON,
//! which diffs line by line.

use std::fmt::Write;

use crate::run::Transcript;
use crate::scenario::Scenario;

/// Renders a transcript for its snapshot.
pub fn render(scenario: &Scenario, transcript: &Transcript) -> String {
    let mut out = String::new();
    writeln!(out, "about: {}", scenario.file.about).unwrap();
    writeln!(out).unwrap();
    writeln!(out, "steps:").unwrap();
    for step in &transcript.steps {
        let indent = "  ".repeat(step.label.matches('.').count());
        writeln!(out, "{indent}{}. {}", step.label, step.summary).unwrap();
        if step.reply.status != 0 {
            let message =
                step.reply.message.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
            writeln!(out, "{indent}   -> {}{message}", step.reply.status).unwrap();
        }
    }
    writeln!(out).unwrap();
    writeln!(out, "state:").unwrap();
    out.push_str(&transcript.state.to_pretty_json());
    out.push('\n');
    out
}
