//! The suite bites: for every deliberate fault the reference can be switched into, at least one
//! scenario's snapshot no longer matches. A fault nothing catches is a hole in the specification.
//!
//! Run with `--nocapture` to see which scenarios catch which fault.

use kana_harness::certify::{self, Options, Selection, Silent, Verdict};
use kana_harness::repository_root;
use kana_harness::scenario::Scenario;
use kana_harness::target::InProcess;
use kana_reference::engine::Faults;

#[test]
fn every_deliberate_fault_is_caught_by_some_scenario() {
    let all = Selection::default()
        .apply(Scenario::load_dir(&repository_root().join("scenarios")).expect("scenarios load"));
    let options = Options {
        snapshots: repository_root().join("snapshots"),
        jobs: 2,
        seed: None,
        deadline: std::time::Instant::now() + std::time::Duration::from_secs(300),
        replay_prefix: String::new(),
    };

    let mut uncaught = Vec::new();
    for (name, faults) in Faults::each() {
        let target = InProcess::with_faults(faults);
        let reports = certify::certify(&target, &all, &options, &Silent);
        let caught: Vec<&str> = reports
            .iter()
            .filter(|report| report.verdict == Verdict::Failed)
            .map(|report| report.name.as_str())
            .collect();
        println!("{name}: caught by {} scenarios: {}", caught.len(), caught.join(", "));
        if caught.is_empty() {
            uncaught.push(name);
        }
    }

    assert!(uncaught.is_empty(), "faults no scenario catches: {uncaught:?}");
}
