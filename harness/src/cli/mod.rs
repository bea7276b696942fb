//! Command-line arguments and the subcommands they start.

mod certify;
mod docs;
mod simulate;
mod target_args;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kana_harness::repository_root;
use kana_harness::scenario::ScenarioFile;

/// Proves, by running it, that an implementation of Kana's Segment destination behaves as
/// specified: scenarios drive the implementation, and the results are compared with reviewed
/// snapshots.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Certify an implementation against every scenario and its reviewed snapshot.
    ///
    /// Without `--endpoint`, the reference destination is started in this process on an
    /// ephemeral loopback port and certified over HTTP, which shows what a passing run looks
    /// like.
    ///
    /// Exit codes: 0 every scenario passed; 1 the implementation broke the contract; 2 a
    /// scenario, snapshot or option is invalid; 3 the implementation could not be judged
    /// (unreachable, too slow, or answering outside the conformance API).
    Certify(Box<certify::CertifyArgs>),

    /// Run the analytics.js examples of Markdown documents and report where they drift.
    ///
    /// Every fenced JavaScript example calling `analytics.identify` or `analytics.track` is sent
    /// as analytics.js would send it, in one workspace per document, against the in-process
    /// reference (or `--endpoint`). Findings: fields the document's tables do not list, table
    /// fields the destination does not map, examples the destination refuses, in-document links
    /// to missing headings, and arguments that are not literals.
    ///
    /// Exit codes: 0 no finding; 1 findings; 2 invalid input (a file cannot be read, a bad
    /// option); 3 the target could not be reached or answered outside the conformance API.
    Docs(docs::DocsArgs),

    /// Send seeded, realistic workloads to an implementation and to the reference destination at
    /// once, and shrink any divergence into a scenario.
    ///
    /// Each workload mixes people, customers imported from billing, shared emails, features and
    /// rules created mid-stream, redeliveries, reordered and invalid deliveries (see the Workload
    /// options). Every answer and the final canonical state are compared with the reference
    /// engine running in this process. Without `--endpoint`, the target is the reference
    /// destination on a loopback port. The first divergence is shrunk to a few steps, printed,
    /// and written to `--out` as a scenario with a pending snapshot, for `certify` and review.
    ///
    /// The closing line counts workloads: passed, failed (diverged, or the target could not be
    /// judged), and skipped after the first failure.
    ///
    /// Exit codes: 0 no divergence; 1 the implementation diverged from the reference; 2 an
    /// option is invalid; 3 the implementation could not be judged (unreachable, too slow, or
    /// answering outside the conformance API).
    Simulate(Box<simulate::SimulateArgs>),

    /// Print the JSON Schema of scenario files, for editors and validators.
    ///
    /// The repository keeps a copy in `scenarios/scenario.schema.json`; scenario files point
    /// their editor at it with a `# yaml-language-server: $schema=./scenario.schema.json` line.
    Schema,
}

impl Cli {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Certify(args) => args.run(),
            Command::Docs(args) => args.run(),
            Command::Simulate(args) => args.run(),
            Command::Schema => {
                let schema = schemars::schema_for!(ScenarioFile);
                println!("{}", serde_json::to_string_pretty(&schema)?);
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// `./NAME` when the current folder has it, otherwise the repository's own folder.
pub(crate) fn default_dir(name: &str) -> PathBuf {
    let local = Path::new(name);
    if local.is_dir() { local.to_owned() } else { repository_root().join(name) }
}
