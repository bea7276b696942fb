//! The specification under `cargo test`: every scenario in `scenarios/`, run against the
//! reference destination twice (in-process and over HTTP on a loopback port), and compared with
//! its reviewed snapshot in `snapshots/`.
//!
//! The scenario folder is read when the tests start, not when they are compiled, so a new
//! scenario file is picked up without touching any Rust code. Each scenario and target is its
//! own named test, so `cargo test -p kana-harness --test scenarios -- NAME` runs one.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use kana_harness::run::{Transcript, default_seed, run};
use kana_harness::scenario::Scenario;
use kana_harness::target::{Http, InProcess, Target};
use kana_harness::{render::render, repository_root};
use libtest_mimic::{Arguments, Failed, Trial};

const ADMIN_TOKEN: &str = "scenario-suite-admin-token";

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let paths = match Scenario::paths_in(&repository_root().join("scenarios")) {
        Ok(paths) => paths,
        Err(error) => {
            let message = error.to_string();
            let trial = Trial::test("scenarios_folder_is_readable", move || Err(message.into()));
            return libtest_mimic::run(&args, vec![trial]).exit_code();
        }
    };

    let in_process: Arc<dyn Target> = Arc::new(InProcess::new());
    let http: Arc<OnceLock<Result<Arc<dyn Target>, String>>> = Arc::new(OnceLock::new());
    let mut trials = Vec::new();
    for path in paths {
        let name = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default().to_owned();
        // A file that does not load fails its own tests and leaves the others running.
        let scenario = Arc::new(Scenario::load(&path).map_err(|error| error.to_string()));
        let target = in_process.clone();
        let local = scenario.clone();
        trials.push(Trial::test(format!("{name}::in_process"), move || {
            check(target.as_ref(), loaded(&local)?, "in_process")
        }));
        let http = http.clone();
        trials.push(Trial::test(format!("{name}::http"), move || {
            let target = http.get_or_init(start_http).clone()?;
            check(target.as_ref(), loaded(&scenario)?, "http")
        }));
    }
    libtest_mimic::run(&args, trials).exit_code()
}

fn loaded(scenario: &Result<Scenario, String>) -> Result<&Scenario, Failed> {
    scenario.as_ref().map_err(|error| Failed::from(error.clone()))
}

/// The reference service on an ephemeral loopback port, started once for all HTTP trials.
fn start_http() -> Result<Arc<dyn Target>, String> {
    let target = Http::local_reference(ADMIN_TOKEN)
        .map_err(|error| format!("cannot start the reference service: {error}"))?;
    Ok(Arc::new(target))
}

fn check(target: &dyn Target, scenario: &Scenario, variant: &str) -> Result<(), Failed> {
    let (seed, overridden) = match std::env::var("KANA_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => (seed, true),
        None => (default_seed(scenario), false),
    };
    let replay = format!(
        "seed {seed}; replay with: {}cargo test -p kana-harness --test scenarios -- {}::{variant}",
        if overridden { format!("KANA_SEED={seed} ") } else { String::new() },
        scenario.name,
    );
    let transcript = run(target, scenario, seed).map_err(|error| format!("{error}\n{replay}"))?;
    expectations_met(&transcript).map_err(|error| format!("{error}\n{replay}"))?;

    let text = render(scenario, &transcript);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repository_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(scenario.file.about.clone());
    settings.set_input_file(&scenario.path);
    settings.bind(|| {
        let outcome =
            std::panic::catch_unwind(|| insta::assert_snapshot!(scenario.name.clone(), text));
        outcome.map_err(|_| {
            Failed::from(format!("snapshot `{}` does not match\n{replay}", scenario.name))
        })
    })
}

fn expectations_met(transcript: &Transcript) -> Result<(), String> {
    let unmet: Vec<String> = transcript
        .unmet_expectations()
        .map(|step| {
            let expected = step.expected.unwrap_or_default();
            let message = step.reply.message.as_deref().unwrap_or("");
            format!(
                "step {} ({}): expected {expected}, got {} {message}",
                step.label, step.summary, step.reply.status
            )
        })
        .collect();
    if unmet.is_empty() { Ok(()) } else { Err(unmet.join("\n")) }
}
