//! `kana-harness`: the command line of the executable specification.
//!
//! Results go to stdout, progress and diagnostics to stderr, so `kana-harness certify > report`
//! captures exactly the verdicts. Colour follows the terminal and `NO_COLOR`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(kana_harness::certify::Exit::InvalidInput as u8)
        }
    }
}
