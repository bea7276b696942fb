//! Certification against implementations that misbehave in the ways real ones do: one that
//! ignores `delta`, one that never merges, one that fails before it succeeds, one that hangs, one
//! whose state is malformed, and one that is not there at all. Each must get the right verdict,
//! exit status and message, and no report may ever show a credential.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kana_harness::certify::{
    self, Exit, Options, ScenarioReport, Selection, Shard, Silent, Verdict,
};
use kana_harness::repository_root;
use kana_harness::scenario::Scenario;
use kana_harness::target::{Http, HttpConfig};
use kana_reference::engine::Faults;
use kana_reference::service::ServiceConfig;
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADMIN_TOKEN: &str = "certify-test-admin-token-do-not-print";

fn scenarios(selection: &Selection) -> Vec<Scenario> {
    let all = Scenario::load_dir(&repository_root().join("scenarios")).expect("scenarios load");
    selection.apply(all)
}

fn only(names: &[&str]) -> Vec<Scenario> {
    let filters = names.iter().map(|name| (*name).to_owned()).collect();
    scenarios(&Selection { filters, exact: true, shard: None })
}

fn options(deadline: Duration) -> Options {
    Options {
        snapshots: repository_root().join("snapshots"),
        jobs: 4,
        seed: None,
        deadline: Instant::now() + deadline,
        replay_prefix: "kana-harness certify".to_owned(),
    }
}

/// The reference service, possibly with deliberate faults, behind real HTTP.
fn reference(service: ServiceConfig) -> HttpConfig {
    let service = ServiceConfig { admin_token: Some(ADMIN_TOKEN.to_owned()), ..service };
    let mut config = Http::local_reference(service).expect("the reference service starts");
    config.backoff = Duration::from_millis(10);
    config
}

fn certify_with(config: HttpConfig, scenarios: &[Scenario]) -> Vec<ScenarioReport> {
    let target = Http::new(config).expect("the client builds");
    certify::certify(&target, scenarios, &options(Duration::from_secs(120)), &Silent)
}

fn failed_names(reports: &[ScenarioReport]) -> Vec<&str> {
    reports.iter().filter(|r| r.verdict == Verdict::Failed).map(|r| r.name.as_str()).collect()
}

#[test]
fn the_reference_destination_passes_every_scenario() {
    let all = scenarios(&Selection::default());

    let reports = certify_with(reference(ServiceConfig::default()), &all);

    assert_eq!(failed_names(&reports), Vec::<&str>::new());
    assert_eq!(certify::exit_status(&reports), Exit::Passed);
    assert_eq!(certify::summary_line(&reports), format!("{} passed, 0 failed", all.len()));
}

#[test]
fn an_implementation_that_ignores_delta_violates_the_contract() {
    let faults = Faults { ignore_delta: true, ..Faults::default() };
    let all = scenarios(&Selection::default());

    let reports =
        certify_with(reference(ServiceConfig { faults, ..ServiceConfig::default() }), &all);

    let failed = failed_names(&reports);
    assert!(failed.contains(&"delta-negative-reverses-usage"), "{failed:?}");
    assert!(failed.contains(&"track-feature-id-maps-directly"), "{failed:?}");
    assert_eq!(certify::exit_status(&reports), Exit::ContractViolated);
    let report = reports.iter().find(|r| r.name == "delta-negative-reverses-usage").unwrap();
    let diff = report.mismatch.as_deref().expect("a failed scenario carries its diff");
    assert!(
        diff.lines().any(|line| line.starts_with('-') && line.contains("\"messages\"")),
        "{diff}"
    );
}

#[test]
fn an_implementation_that_never_merges_violates_the_contract() {
    let faults = Faults { never_merge: true, ..Faults::default() };
    let all = scenarios(&Selection { filters: vec!["merge".to_owned()], ..Selection::default() });
    assert!(!all.is_empty(), "there are merge scenarios");

    let reports =
        certify_with(reference(ServiceConfig { faults, ..ServiceConfig::default() }), &all);

    assert_eq!(certify::exit_status(&reports), Exit::ContractViolated);
    let failure = reports.iter().find(|r| r.verdict == Verdict::Failed).expect("a merge fails");
    assert!(failure.about.to_lowercase().contains("merge"), "{}", failure.about);
    assert!(
        failure
            .replay
            .ends_with(&format!("--filter {} --exact --seed {}", failure.name, failure.seed))
    );
}

#[test]
fn an_implementation_that_answers_500_then_succeeds_passes_and_the_retries_are_reported() {
    let service = ServiceConfig { fail_first_deliveries: 2, ..ServiceConfig::default() };
    let scenario = only(&["track-feature-id-maps-directly"]);

    let reports = certify_with(reference(service), &scenario);

    assert_eq!(reports[0].verdict, Verdict::Passed, "{:?}", reports[0]);
    assert_eq!(reports[0].transport.len(), 2, "{:?}", reports[0].transport);
    assert!(reports[0].transport[0].contains("answered 500"), "{:?}", reports[0].transport);
    assert_eq!(certify::exit_status(&reports), Exit::Passed);
}

/// A mock implementation whose conformance API works and answers `state` with this body.
async fn mock_with_state(state: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    let created = json!({ "workspace": "ws-1", "apiKey": "kana_test_mock" });
    Mock::given(method("POST"))
        .and(path("/conformance/workspaces"))
        .respond_with(ResponseTemplate::new(201).set_body_json(created))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/conformance/workspaces/ws-1/.*"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/segment/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "message": "ok" })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/conformance/workspaces/ws-1/state"))
        .respond_with(ResponseTemplate::new(200).set_body_json(state))
        .mount(&server)
        .await;
    server
}

/// Runs an async mock server on its own runtime while the blocking harness talks to it.
fn with_mock<T>(
    start: impl std::future::Future<Output = MockServer>,
    test: impl FnOnce(&str) -> T,
) -> T {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let server = runtime.block_on(start);
    test(&server.uri())
}

fn mock_config(base: &str) -> HttpConfig {
    let mut config = HttpConfig::new(
        format!("{base}/segment/events"),
        format!("{base}/conformance"),
        ADMIN_TOKEN.to_owned(),
    );
    config.timeout = Duration::from_millis(300);
    config.retries = 1;
    config.backoff = Duration::from_millis(10);
    config
}

#[test]
fn an_implementation_that_returns_a_malformed_state_cannot_be_judged() {
    let scenario = only(&["track-feature-id-maps-directly"]);

    let malformed = mock_with_state(json!({ "users": "all of them" }));

    let reports = with_mock(malformed, |base| certify_with(mock_config(base), &scenario));

    assert_eq!(reports[0].verdict, Verdict::Error);
    let error = reports[0].error.as_deref().unwrap();
    assert!(error.contains("not what the conformance API specifies"), "{error}");
    assert!(error.contains("/conformance/workspaces/ws-1/state"), "{error}");
    assert_eq!(certify::exit_status(&reports), Exit::TargetFailed);
}

#[test]
fn a_state_out_of_canonical_order_violates_the_contract() {
    let user = |id: &str| json!({ "id": id, "name": null, "email": null, "billingId": null });
    let unsorted = mock_with_state(json!({
        "features": ["messages"],
        "users": [user("zoe"), user("ada")],
        "usage": {},
        "events": { "identify": 0, "track": 0, "mapped": 0, "unmapped": 0 },
        "unmapped": [],
        "flags": { "withoutBillingId": ["zoe", "ada"], "sharedEmails": [] },
    }));
    let scenario = only(&["track-feature-id-maps-directly"]);

    let reports = with_mock(unsorted, |base| certify_with(mock_config(base), &scenario));

    assert_eq!(reports[0].verdict, Verdict::Failed);
    let problems = reports[0].expectations.join("\n");
    assert!(problems.contains("not in canonical order: `users` must be sorted"), "{problems}");
    assert!(problems.contains("`flags.withoutBillingId` must be sorted"), "{problems}");
}

#[test]
fn an_implementation_that_times_out_cannot_be_judged() {
    let hanging = async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        server
    };
    let scenario = only(&["track-feature-id-maps-directly"]);

    let started = Instant::now();
    let reports = with_mock(hanging, |base| certify_with(mock_config(base), &scenario));

    assert_eq!(reports[0].verdict, Verdict::Error);
    let error = reports[0].error.as_deref().unwrap();
    assert!(error.contains("timed out"), "{error}");
    assert_eq!(certify::exit_status(&reports), Exit::TargetFailed);
    assert!(started.elapsed() < Duration::from_secs(4), "the timeout bounds the run");
}

#[test]
fn an_unreachable_implementation_cannot_be_judged() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let scenario = only(&["track-feature-id-maps-directly"]);

    let reports = certify_with(mock_config(&format!("http://127.0.0.1:{port}")), &scenario);

    assert_eq!(reports[0].verdict, Verdict::Error);
    let error = reports[0].error.as_deref().unwrap();
    assert!(
        error.starts_with(&format!("cannot reach http://127.0.0.1:{port}/conformance/workspaces")),
        "{error}"
    );
    assert_eq!(certify::exit_status(&reports), Exit::TargetFailed);
}

#[test]
fn scenarios_not_started_before_the_deadline_are_skipped() {
    let all = only(&["track-feature-id-maps-directly", "delta-defaults-to-one"]);
    let target = Http::new(reference(ServiceConfig::default())).unwrap();
    let mut options = options(Duration::ZERO);
    options.deadline = Instant::now();

    let reports = certify::certify(&target, &all, &options, &Silent);

    assert!(reports.iter().all(|report| report.verdict == Verdict::Skipped));
    assert_eq!(certify::summary_line(&reports), "0 passed, 0 failed, 2 skipped");
    assert_eq!(certify::exit_status(&reports), Exit::TargetFailed);
}

#[test]
fn shards_are_disjoint_and_together_cover_the_suite() {
    let all: Vec<String> = scenarios(&Selection::default()).into_iter().map(|s| s.name).collect();
    let mut covered = Vec::new();
    for index in 1..=3 {
        let shard = Some(Shard { index, count: 3 });
        let part = scenarios(&Selection { shard, ..Selection::default() });
        assert!(!part.is_empty());
        covered.extend(part.into_iter().map(|s| s.name));
    }
    covered.sort();

    assert_eq!(covered, all);
}

#[test]
fn a_shard_outside_its_count_is_refused_with_the_expected_form() {
    let error = "5/4".parse::<Shard>().unwrap_err();

    assert_eq!(error, "`5/4` is not a shard: write K/N with 1 <= K <= N, such as 2/4");
}

// --- The command line ---------------------------------------------------------------------------

fn harness() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kana-harness"));
    command.env("NO_COLOR", "1").env_remove("KANA_ADMIN_TOKEN").current_dir(repository_root());
    command
}

#[test]
fn the_command_line_never_shows_credentials_even_when_scenarios_fail() {
    let config = reference(ServiceConfig {
        faults: Faults { never_merge: true, ignore_delta: true, ..Faults::default() },
        ..ServiceConfig::default()
    });
    let dir = std::env::temp_dir().join(format!("kana-certify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, junit) = (dir.join("report.json"), dir.join("report.xml"));

    let output = harness()
        .args([
            "certify",
            "--endpoint",
            &config.ingest_url,
            "--conformance-url",
            &config.conformance_url,
        ])
        .args(["--filter", "merge", "--filter", "delta-"])
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .env("KANA_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();

    let stdout = String::from_utf8(output.stdout).unwrap();
    let everything = [
        stdout.clone(),
        String::from_utf8(output.stderr).unwrap(),
        std::fs::read_to_string(&json).unwrap(),
        std::fs::read_to_string(&junit).unwrap(),
    ];
    assert_eq!(output.status.code(), Some(Exit::ContractViolated as i32), "{stdout}");
    for text in &everything {
        assert!(!text.contains(ADMIN_TOKEN), "the admin token leaked:\n{text}");
        assert!(!text.contains("kana_test_"), "an API key leaked:\n{text}");
    }
    let last = stdout.lines().last().unwrap();
    assert!(last.ends_with(" failed") && last.contains(" passed, "), "{last}");
    assert!(stdout.contains("diff (- reviewed snapshot, + target):"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&everything[2]).unwrap();
    assert_eq!(report["exitCode"], 1);
    assert!(everything[3].contains("<failure"), "{}", everything[3]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_endpoint_without_an_admin_token_is_an_invalid_option() {
    let output = harness()
        .args([
            "certify",
            "--endpoint",
            "http://127.0.0.1:9/e",
            "--conformance-url",
            "http://127.0.0.1:9/c",
        ])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(Exit::InvalidInput as i32));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("`--admin-token` (or `KANA_ADMIN_TOKEN`) is required"), "{stderr}");
}

#[test]
fn a_malformed_scenario_is_invalid_input_naming_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("kana-bad-scenarios-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.yaml"), "about: x\nsteps:\n  - track: { usr: ada }\n").unwrap();

    let output = harness().args(["certify", "--scenarios"]).arg(&dir).output().unwrap();

    assert_eq!(output.status.code(), Some(Exit::InvalidInput as i32));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{}", Path::new(&dir).join("broken.yaml").display())),
        "{stderr}"
    );
    assert!(stderr.contains("line 3"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn certifying_the_embedded_reference_passes_and_ends_with_the_tally() {
    let output = harness().args(["certify", "--filter", "retry-", "--jobs", "2"]).output().unwrap();

    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
}

#[test]
fn scenarios_sharing_a_name_are_reported_because_a_name_has_one_snapshot() {
    let mut all = only(&["delta-defaults-to-one", "track-feature-id-maps-directly"]);
    all.push(all[0].clone());

    assert_eq!(certify::duplicate_names(&all), vec!["delta-defaults-to-one".to_owned()]);
}
