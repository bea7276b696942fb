//! `simulate` against the reference service, against deliberately faulty ones, and against one
//! that is not there: the healthy reference never diverges, every fault is caught and shrunk to a
//! handful of steps whose scenario then fails certification on the faulty target only, and an
//! absent target cannot be judged. Also: workloads depend on nothing but their seed, the
//! differential run sends the bytes a scenario run sends, and the command line's exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kana_harness::certify::{self, Exit, Options, Silent as Quiet, Verdict};
use kana_harness::run::run;
use kana_harness::scenario::{Scenario, Step};
use kana_harness::simulate::{
    self, Candidate, Knobs, Settings, Silent, Size, differential, shrink, workload, write,
};
use kana_harness::target::{
    Delivery, Http, HttpConfig, InProcess, Reply, Target, TargetError, TargetWorkspace,
};
use kana_reference::CanonicalState;
use kana_reference::engine::{BillingCustomer, Faults, RuleSpec};
use kana_reference::service::ServiceConfig;
use rstest::rstest;

const ADMIN_TOKEN: &str = "simulate-test-admin-token";

/// The reference service behind real HTTP, possibly with deliberate faults.
fn reference(faults: Faults) -> Http {
    let service =
        ServiceConfig { admin_token: Some(ADMIN_TOKEN.to_owned()), faults, ..Default::default() };
    let config = Http::local_reference(service).expect("the reference service starts");
    Http::new(config).expect("the client builds")
}

/// A fresh folder under cargo's scratch space for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("simulate").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn settings(events: usize, seed: u64, runs: u64, out: PathBuf) -> Settings {
    Settings { knobs: Knobs { events, ..Knobs::default() }, seed, runs, shrink_budget: 500, out }
}

#[test]
fn the_reference_service_agrees_with_the_reference_engine_on_every_workload() {
    let out = scratch("healthy");

    let report = simulate::simulate(
        &reference(Faults::default()),
        &settings(1_000, 7, 3, out.clone()),
        &Silent,
    )
    .expect("the simulation runs");

    assert_eq!(report.exit(), Exit::Passed);
    assert_eq!(report.summary_line(), "3 passed, 0 failed");
    let seeds: Vec<u64> = report.workloads.iter().map(|workload| workload.seed).collect();
    assert_eq!(seeds, [7, 8, 9]);
    assert!(report.workloads.iter().all(|workload| workload.deliveries == 1_000));
    assert!(report.finding.is_none());
    assert!(!out.exists(), "nothing is written when nothing diverges");
}

#[rstest]
#[case::ignore_delta("ignore_delta")]
#[case::never_merge("never_merge")]
#[case::count_redeliveries("count_redeliveries")]
#[case::rules_override_feature_id("rules_override_feature_id")]
#[case::no_retroactive_rules("no_retroactive_rules")]
#[case::latest_rule_wins("latest_rule_wins")]
fn a_faulty_target_is_caught_shrunk_and_then_failed_by_certify(#[case] fault: &str) {
    let (_, faults) = Faults::each().into_iter().find(|(name, _)| *name == fault).expect("a fault");
    let faulty = reference(faults);
    let out = scratch(fault);

    let report = simulate::simulate(&faulty, &settings(2_000, 1, 2, out.clone()), &Silent)
        .expect("the simulation runs");

    assert_eq!(report.exit(), Exit::ContractViolated);
    assert_eq!(report.summary_line(), "0 passed, 1 failed, 1 skipped");
    let finding = report.finding.expect("the divergence is investigated");
    let Size { steps, given } = finding.shrunk.after;
    assert!(steps + given <= 6, "{fault}: shrunk to {steps} steps and {given} set-up items");
    assert!(finding.shrunk.before.steps > steps, "{fault}: shrinking removed steps");
    let confirmed = finding.confirmed.expect("the shrunk workload runs as a scenario");
    assert!(confirmed.fails_on_target(), "{fault}: the scenario shows the divergence");

    // The written pair is a scenario like any other: certify fails the faulty target on it and
    // passes the healthy reference.
    let (scenario_path, snapshot_path) = finding.files.expect("the scenario is written");
    assert!(snapshot_path.is_file());
    let scenario = Scenario::load(&scenario_path).expect("the written scenario loads");
    assert_eq!(scenario.file.seed, Some(1));
    let options = Options {
        snapshots: out.clone(),
        jobs: 1,
        seed: None,
        deadline: Instant::now() + Duration::from_secs(60),
        replay_prefix: "kana-harness certify".to_owned(),
    };
    let scenarios = [scenario];
    let on_faulty = certify::certify(&faulty, &scenarios, &options, &Quiet);
    assert_eq!(on_faulty[0].verdict, Verdict::Failed, "{fault}: {:?}", on_faulty[0]);
    let on_healthy = certify::certify(&reference(Faults::default()), &scenarios, &options, &Quiet);
    assert_eq!(on_healthy[0].verdict, Verdict::Passed, "{fault}: {:?}", on_healthy[0]);
}

#[test]
fn a_target_that_is_not_there_cannot_be_judged() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = HttpConfig::new(
        format!("http://127.0.0.1:{port}/segment/events"),
        format!("http://127.0.0.1:{port}/conformance"),
        ADMIN_TOKEN.to_owned(),
    );
    config.retries = 0;
    let target = Http::new(config).expect("the client builds");

    let report = simulate::simulate(&target, &settings(100, 1, 3, scratch("absent")), &Silent)
        .expect("the simulation runs");

    assert_eq!(report.exit(), Exit::TargetFailed);
    assert_eq!(report.summary_line(), "0 passed, 1 failed, 2 skipped");
    let error = report.workloads[0].error.as_deref().expect("the reason is reported");
    assert!(error.starts_with("cannot reach"), "{error}");
}

#[test]
fn a_workload_depends_on_nothing_but_its_seed_and_knobs() {
    let knobs = Knobs { events: 500, ..Knobs::default() };
    let text = |seed: u64| {
        let workload = workload(&knobs, seed);
        let steps: Vec<Step> = workload.steps.collect();
        serde_json::to_string(&(workload.given, steps)).expect("a workload serialises")
    };

    assert_eq!(text(11), text(11));
    assert_ne!(text(11), text(12));
}

#[test]
fn a_workload_holds_every_kind_of_step_and_runs_as_a_scenario() {
    let knobs = Knobs { events: 600, users: 40, ..Knobs::default() };
    let workload = workload(&knobs, 3);
    let candidate = Candidate { given: workload.given, steps: workload.steps.collect() };

    let mut kinds = std::collections::BTreeSet::new();
    for step in &candidate.steps {
        kinds.insert(kind(step));
        if let Step::Shuffled(group) = step {
            kinds.extend(group.iter().map(kind));
        }
    }
    let expected = [
        "create_feature",
        "create_rule",
        "identify",
        "import_billing_customers",
        "message",
        "raw",
        "redeliver",
        "shuffled",
        "track",
    ];
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), expected);

    let about = "A workload run as a scenario.";
    let confirmed = write::confirm(&InProcess::new(), "workload", about, 3, &candidate)
        .expect("the workload runs as a scenario");
    assert!(!confirmed.fails_on_target(), "the reference agrees with itself");
    assert_eq!(Size::of(&candidate).steps, 600 + setup_steps(&candidate));
}

fn kind(step: &Step) -> &'static str {
    match step {
        Step::Identify(_) => "identify",
        Step::Track(_) => "track",
        Step::Message(_) => "message",
        Step::Raw(_) => "raw",
        Step::CreateFeature(_) => "create_feature",
        Step::CreateRule(_) => "create_rule",
        Step::ImportBillingCustomers(_) => "import_billing_customers",
        Step::Redeliver(_) => "redeliver",
        Step::Shuffled(_) => "shuffled",
    }
}

fn setup_steps(candidate: &Candidate) -> usize {
    let setup = |step: &&Step| {
        matches!(
            step,
            Step::CreateFeature(_) | Step::CreateRule(_) | Step::ImportBillingCustomers(_)
        )
    };
    candidate.steps.iter().filter(setup).count()
}

/// The reference in-process, recording the body of every delivery.
#[derive(Default)]
struct Recording {
    inner: InProcess,
    bodies: Mutex<Vec<Vec<u8>>>,
}

impl Recording {
    fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Target for Recording {
    fn describe(&self) -> String {
        "a recording reference".to_owned()
    }

    fn create_workspace(&self) -> Result<TargetWorkspace, TargetError> {
        self.inner.create_workspace()
    }

    fn deliver(
        &self,
        workspace: &TargetWorkspace,
        delivery: &Delivery,
    ) -> Result<Reply, TargetError> {
        self.bodies.lock().unwrap().push(delivery.body.clone());
        self.inner.deliver(workspace, delivery)
    }

    fn create_feature(&self, workspace: &TargetWorkspace, id: &str) -> Result<Reply, TargetError> {
        self.inner.create_feature(workspace, id)
    }

    fn create_rule(
        &self,
        workspace: &TargetWorkspace,
        rule: &RuleSpec,
    ) -> Result<Reply, TargetError> {
        self.inner.create_rule(workspace, rule)
    }

    fn import_billing_customers(
        &self,
        workspace: &TargetWorkspace,
        customers: &[BillingCustomer],
    ) -> Result<Reply, TargetError> {
        self.inner.import_billing_customers(workspace, customers)
    }

    fn state(&self, workspace: &TargetWorkspace) -> Result<CanonicalState, TargetError> {
        self.inner.state(workspace)
    }
}

#[test]
fn the_differential_run_delivers_the_same_bytes_as_a_scenario_run() {
    let workload = workload(&Knobs { events: 400, ..Knobs::default() }, 5);
    let candidate = Candidate { given: workload.given, steps: workload.steps.collect() };
    let about = "The same bytes either way.";
    let scenario = write::confirm(&InProcess::new(), "bytes", about, 5, &candidate)
        .expect("the workload runs as a scenario")
        .scenario;

    let (by_scenario, by_simulation) = (Recording::default(), Recording::default());
    run(&by_scenario, &scenario, 5).expect("the scenario runs");
    let outcome =
        differential::run(&by_simulation, &candidate.given, &candidate.steps, 5, &mut |_| {})
            .expect("the differential run runs");

    assert!(outcome.divergence.is_none());
    assert_eq!(by_simulation.bodies().len(), 400);
    assert!(by_scenario.bodies() == by_simulation.bodies(), "the bodies differ");
}

#[test]
fn shrinking_keeps_only_the_step_a_divergence_needs() {
    let workload = workload(&Knobs { events: 300, ..Knobs::default() }, 9);
    let start = Candidate { given: workload.given, steps: workload.steps.collect() };
    // A stand-in for a target: it "diverges" whenever a Track of `Seat Added` is delivered.
    let needle = |step: &Step| match step {
        Step::Track(send) => send.event.as_deref() == Some("Seat Added"),
        _ => false,
    };
    let mut diverges = |candidate: &Candidate| {
        candidate
            .steps
            .iter()
            .position(|step| match step {
                Step::Shuffled(group) => group.iter().any(needle),
                step => needle(step),
            })
            .map(|index| index + 1)
    };

    let shrunk = shrink::shrink(start, 1_000, &mut diverges, &mut |_, _| {});

    assert_eq!(shrunk.after, Size { steps: 1, given: 0 });
    assert!(!shrunk.exhausted);
    let [Step::Track(send)] = shrunk.candidate.steps.as_slice() else { panic!("one track") };
    assert_eq!(send.properties, None, "the properties were stripped");
    assert_eq!(send.user.as_deref(), Some("ada"), "people get readable names");
}

fn harness() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kana-harness"));
    command.env("NO_COLOR", "1").env_remove("KANA_ADMIN_TOKEN").env_remove("CARGO_PKG_NAME");
    command
}

#[test]
fn the_command_line_reports_a_divergence_with_its_seed_scenario_and_exit_code_1() {
    let out = scratch("command-line");

    let output = harness()
        .args(["simulate", "--in-process", "--fault", "ignore-delta", "--events", "400"])
        .args(["--seed", "1", "--out"])
        .arg(&out)
        .output()
        .expect("the harness runs");

    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    let replay = "kana-harness simulate --seed 1 --events 400 --in-process --fault ignore-delta";
    assert!(stderr.contains(&format!("replay: {replay}")), "{stderr}");
    assert!(stdout.contains(&format!("replay: {replay}")), "{stdout}");
    assert!(stdout.contains("- track:"), "the shrunk scenario is printed: {stdout}");
    assert!(stdout.contains("certify it: kana-harness certify --scenarios"), "{stdout}");
    assert!(out.join("simulated-1.yaml").is_file() && out.join("simulated-1.snap").is_file());
    assert_eq!(stdout.lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn the_command_line_exits_0_when_nothing_diverges() {
    let output = harness()
        .args(["simulate", "--in-process", "--events", "300", "--seed", "4"])
        .output()
        .expect("the harness runs");

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("ok       seed 4: 300 events agreed"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed"));
}

#[rstest]
#[case::share_above_one(&["--bad-input", "1.5"], "--bad-input")]
#[case::no_users(&["--users", "0"], "--users")]
#[case::unknown_fault(&["--fault", "slow"], "no fault `slow`")]
#[case::fault_with_an_endpoint(
    &["--fault", "ignore-delta", "--endpoint", "http://x", "--conformance-url", "http://x"],
    "--endpoint"
)]
fn the_command_line_exits_2_on_an_invalid_option(#[case] options: &[&str], #[case] named: &str) {
    let output = harness().arg("simulate").args(options).output().expect("the harness runs");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(named), "{stderr}");
}
