//! The specification under `cargo test`: every scenario in `scenarios/`, run against the
//! reference destination twice (in-process and over HTTP on a loopback port), and compared with
//! its reviewed snapshot in `snapshots/`.
//!
//! The scenario folder is read when the tests start, not when they are compiled, so a new
//! scenario file is picked up without touching any Rust code. Each scenario and target is its
//! own named test, so `cargo test -p kana-harness --test scenarios -- NAME` runs one.

mod common;

use std::process::ExitCode;
use std::sync::Arc;

use kana_harness::repository_root;
use kana_harness::scenario::Scenario;
use kana_harness::target::Target;
use libtest_mimic::{Arguments, Failed, Trial};

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

    let mut trials = Vec::new();
    for path in paths {
        let name = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default().to_owned();
        // A file that does not load fails its own tests and leaves the others running.
        let scenario = Arc::new(Scenario::load(&path).map_err(|error| error.to_string()));
        for variant in ["in_process", "http"] {
            let scenario = scenario.clone();
            let test = format!("{name}::{variant}");
            trials.push(Trial::test(test.clone(), move || {
                let scenario = scenario.as_ref().as_ref().map_err(Failed::from)?;
                let target: Arc<dyn Target> = match variant {
                    "in_process" => common::in_process(),
                    _ => common::http()?,
                };
                let replay = format!("cargo test -p kana-harness --test scenarios -- {test}");
                common::check(target.as_ref(), scenario, &scenario.name, &replay)
                    .map_err(Failed::from)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
