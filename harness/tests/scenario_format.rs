//! The scenario format itself: malformed files are refused with the file, the line and the
//! problem; the published JSON Schema matches the types; generation is deterministic and
//! redaction gives back the placeholders.

use std::path::Path;

use kana_harness::generate::Generator;
use kana_harness::repository_root;
use kana_harness::scenario::Scenario;

fn parse_error(text: &str) -> String {
    let path = Path::new("scenarios/broken.yaml");
    Scenario::parse("broken", path, text).expect_err("the scenario is malformed").to_string()
}

#[test]
fn a_misspelt_field_is_refused_with_file_line_and_field() {
    let error = parse_error("about: x\nsteps:\n  - track:\n      usr: ada\n");

    assert!(error.starts_with("scenarios/broken.yaml: "), "{error}");
    assert!(error.contains("line 4 column 7"), "{error}");
    assert!(error.contains("unknown field `usr`"), "{error}");
}

#[test]
fn an_unknown_step_kind_is_refused_with_its_line() {
    let error = parse_error("about: x\nsteps:\n  - identify: { user: ada }\n  - pageview: {}\n");

    assert!(error.contains("line 4"), "{error}");
    assert!(error.contains("pageview"), "{error}");
}

#[test]
fn a_redelivery_of_an_unknown_step_is_refused_with_the_line_of_the_step() {
    let error = parse_error(concat!(
        "about: x\nsteps:\n",
        "  - track: { user: ada, event: A, name: first }\n",
        "  - redeliver: { step: frist }\n",
    ));

    assert_eq!(
        error,
        "scenarios/broken.yaml:4: `redeliver` names `frist`, which is not an earlier step's `name`"
    );
}

#[test]
fn traits_on_a_track_step_are_refused() {
    let error = parse_error("about: x\nsteps:\n  - track: { user: ada, event: A, traits: {} }\n");

    assert_eq!(error, "scenarios/broken.yaml:3: `traits` belong to identify steps, not `track`");
}

#[test]
fn a_message_step_without_a_type_is_refused() {
    let error = parse_error("about: x\nsteps:\n  - message: { user: ada }\n");

    assert_eq!(error, "scenarios/broken.yaml:3: `message` steps need a `type`");
}

#[test]
fn a_step_name_used_twice_is_refused() {
    let error = parse_error(
        "about: x\nsteps:\n  - track: { event: A, name: n }\n  - track: { event: B, name: n }\n",
    );

    assert_eq!(error, "scenarios/broken.yaml:4: step name `n` is used twice");
}

#[test]
fn an_about_over_several_lines_is_refused() {
    let error = parse_error("about: |\n  one\n  two\nsteps: []\n");

    assert_eq!(error, "scenarios/broken.yaml: `about` must be one non-empty line");
}

#[test]
fn the_published_schema_matches_the_scenario_types() {
    let published =
        std::fs::read_to_string(repository_root().join("scenarios/scenario.schema.json"))
            .expect("the schema is committed");
    let current =
        serde_json::to_string_pretty(&schemars::schema_for!(kana_harness::scenario::ScenarioFile))
            .unwrap();

    assert!(
        published.trim() == current.trim(),
        "scenarios/scenario.schema.json is stale: run \
         `cargo run -p kana-harness -- schema > scenarios/scenario.schema.json`"
    );
}

#[test]
fn every_scenario_file_points_at_the_schema() {
    let scenarios = Scenario::paths_in(&repository_root().join("scenarios")).unwrap();
    for path in scenarios {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=./scenario.schema.json"),
            "{} does not start with the schema comment",
            path.display()
        );
    }
}

#[test]
fn the_same_seed_generates_the_same_people_and_messages() {
    let generate = |seed| {
        let mut generator = Generator::new(seed);
        let ada = generator.person("ada");
        let envelope = generator.envelope("track", Some(&ada), None);
        (ada, envelope)
    };

    assert_eq!(generate(7), generate(7));
    assert_ne!(generate(7).0, generate(8).0);
}

#[test]
fn a_persons_values_do_not_depend_on_who_was_generated_first() {
    let mut first = Generator::new(7);
    let mut second = Generator::new(7);
    second.person("grace");

    assert_eq!(first.person("ada"), second.person("ada"));
}

#[test]
fn filled_placeholders_are_redacted_back() {
    let mut generator = Generator::new(7);
    let text = "{ada.email} / {ada.email|upper} / {grace.id} / {\"json\": true}";

    let filled = generator.fill(text).unwrap();

    assert!(!filled.contains("{ada"), "{filled}");
    assert_eq!(generator.redact(&filled), text);
}

#[test]
fn an_unknown_placeholder_field_is_an_error() {
    let mut generator = Generator::new(7);

    let error = generator.fill("{ada.phone}").unwrap_err();

    assert!(error.contains("unknown placeholder field `ada.phone`"), "{error}");
}
