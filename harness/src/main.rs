//! `kana-harness`: the command line of the executable specification.
//!
//! Results go to stdout, progress and diagnostics to stderr, so `kana-harness certify > report`
//! captures exactly the verdicts. Colour follows the terminal and `NO_COLOR`. Diagnostics are
//! `tracing` spans per scenario and step, shown on stderr when `KANA_LOG` asks for them
//! (`KANA_LOG=kana_harness=debug` shows every step's answer; errors only by default).

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let filter = EnvFilter::try_from_env("KANA_LOG").unwrap_or_else(|_| EnvFilter::new("error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();

    let cli = cli::Cli::parse();
    match cli.run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(kana_harness::certify::Exit::InvalidInput as u8)
        }
    }
}
