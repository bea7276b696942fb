//! What the snapshot test binaries share: the two targets and the check of one scenario against
//! its snapshot, with the seed and the replay command on every failure.

#![allow(dead_code)] // each test binary uses part of this module

use std::sync::{Arc, OnceLock};

use kana_harness::render::render;
use kana_harness::repository_root;
use kana_harness::run::{default_seed, run};
use kana_harness::scenario::Scenario;
use kana_harness::target::{Http, InProcess, Target};
use kana_reference::service::ServiceConfig;

const ADMIN_TOKEN: &str = "snapshot-suite-admin-token";

/// The reference destination in-process, shared by every test of a binary.
pub fn in_process() -> Arc<dyn Target> {
    static TARGET: OnceLock<Arc<dyn Target>> = OnceLock::new();
    TARGET.get_or_init(|| Arc::new(InProcess::new())).clone()
}

/// The reference service on an ephemeral loopback port, started once per test binary.
pub fn http() -> Result<Arc<dyn Target>, String> {
    static TARGET: OnceLock<Result<Arc<dyn Target>, String>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let service = ServiceConfig {
                admin_token: Some(ADMIN_TOKEN.to_owned()),
                ..ServiceConfig::default()
            };
            let config = Http::local_reference(service)
                .map_err(|error| format!("cannot start the reference service: {error}"))?;
            let target = Http::new(config).map_err(|error| error.to_string())?;
            Ok(Arc::new(target) as Arc<dyn Target>)
        })
        .clone()
}

/// Runs `scenario` on `target` and compares the rendering with the snapshot named `snapshot`.
/// `replay` is the command that runs this one check again; the seed is added to it.
pub fn check(
    target: &dyn Target,
    scenario: &Scenario,
    snapshot: &str,
    replay: &str,
) -> Result<(), String> {
    let (seed, overridden) = match std::env::var("KANA_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => (seed, true),
        None => (default_seed(scenario), false),
    };
    let env = if overridden { format!("KANA_SEED={seed} ") } else { String::new() };
    let replay = format!("seed {seed}; replay with: {env}{replay}");

    let transcript = run(target, scenario, seed).map_err(|error| format!("{error}\n{replay}"))?;
    let unmet = transcript.problems();
    if !unmet.is_empty() {
        return Err(format!("{}\n{replay}", unmet.join("\n")));
    }
    let text = render(scenario, &transcript);

    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repository_root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(scenario.file.about.clone());
    settings.set_input_file(&scenario.path);
    settings.bind(|| {
        let outcome =
            std::panic::catch_unwind(|| insta::assert_snapshot!(snapshot.to_owned(), text));
        outcome.map_err(|_| format!("snapshot `{snapshot}` does not match (diff above)\n{replay}"))
    })
}
