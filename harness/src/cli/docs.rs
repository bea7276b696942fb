//! `kana-harness docs`: run the analytics.js examples of Markdown documents and report drift.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use console::Style;
use kana_harness::certify::Exit;
use kana_harness::docs::{self, DocsError, DocumentReport};
use kana_harness::generate::stable_hash;
use kana_harness::target::{Http, InProcess, Target};

use super::target_args::TargetArgs;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Markdown documents to check.
    #[arg(value_name = "FILE.md", required = true)]
    files: Vec<PathBuf>,

    #[command(flatten)]
    target: TargetArgs,

    /// Seed for generated values (message ids, timestamps); derived from each file's path when
    /// not given.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Also write the findings and per-example results as JSON here.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

/// The JSON report: one entry per document.
#[derive(Debug, Serialize)]
struct JsonReport<'a> {
    passed: usize,
    failed: usize,
    documents: &'a [DocumentReport],
}

impl DocsArgs {
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let target = self.target()?;
        let mut reports = Vec::new();
        for file in &self.files {
            let shown = file.display().to_string();
            let seed = self.seed.unwrap_or_else(|| stable_hash(&shown));
            match docs::check(target.as_ref(), file, &shown, seed) {
                Ok(report) => {
                    print_report(&report);
                    reports.push(report);
                }
                Err(error @ DocsError::Io { .. }) => bail!("{error}"),
                Err(error @ DocsError::Target { .. }) => {
                    eprintln!("error: {error}");
                    return Ok(ExitCode::from(Exit::TargetFailed as u8));
                }
            }
        }

        let (passed, failed) = tally(&reports);
        if let Some(path) = &self.json {
            let json =
                serde_json::to_string_pretty(&JsonReport { passed, failed, documents: &reports })?;
            std::fs::write(path, json)
                .with_context(|| format!("cannot write the JSON report to {}", path.display()))?;
        }
        println!("{passed} passed, {failed} failed");
        let exit = if failed == 0 { Exit::Passed } else { Exit::ContractViolated };
        Ok(ExitCode::from(exit as u8))
    }

    fn target(&self) -> anyhow::Result<Box<dyn Target>> {
        match self.target.endpoint_config()? {
            Some(config) => Ok(Box::new(Http::new(config)?)),
            None => Ok(Box::new(InProcess::new())),
        }
    }
}

/// Examples that ran cleanly pass; each example with a finding, and each document-level finding
/// (a broken link, an unmapped table field), fails.
fn tally(reports: &[DocumentReport]) -> (usize, usize) {
    let passed = reports.iter().flat_map(|r| &r.examples).filter(|e| e.passed()).count();
    let failed_examples = reports.iter().flat_map(|r| &r.examples).filter(|e| !e.passed()).count();
    let document_findings: usize = reports.iter().map(|r| r.findings.len()).sum();
    (passed, failed_examples + document_findings)
}

fn print_report(report: &DocumentReport) {
    let bold = Style::new().bold();
    println!("{}", bold.apply_to(&report.path));
    for example in &report.examples {
        let first_line = example.source.lines().next().unwrap_or_default();
        let cut = if example.source.lines().count() > 1 { " …" } else { "" };
        let answer = match (example.status, &example.message) {
            (Some(status), Some(message)) => format!("{status} {message}"),
            (Some(status), None) => status.to_string(),
            (None, _) => "not run".to_owned(),
        };
        let word = if example.passed() {
            Style::new().green().apply_to("ok     ")
        } else {
            Style::new().red().bold().apply_to("FAILED ")
        };
        println!("  {word} {}:{} {first_line}{cut} -> {answer}", report.path, example.line);
    }
    for finding in report.all_findings() {
        let label = Style::new().red().apply_to("finding");
        println!("  {label} {}:{}: {}", report.path, finding.line, finding.message);
    }
}
