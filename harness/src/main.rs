//! `kana-harness`: the command line of the executable specification.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kana_harness::scenario::ScenarioFile;

/// Proves, by running it, that an implementation of Kana's Segment destination behaves as
/// specified: scenarios drive the implementation, and the results are compared with reviewed
/// snapshots.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the JSON Schema of scenario files, for editors and validators.
    ///
    /// The repository keeps a copy in `scenarios/scenario.schema.json`; scenario files point
    /// their editor at it with a `# yaml-language-server: $schema=./scenario.schema.json` line.
    Schema,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Schema => {
            println!("{}", scenario_schema());
            ExitCode::SUCCESS
        }
    }
}

fn scenario_schema() -> String {
    let schema = schemars::schema_for!(ScenarioFile);
    serde_json::to_string_pretty(&schema).expect("a schema always serialises")
}
