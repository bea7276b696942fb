//! The identify decision rule over every combination of its inputs, as named snapshots.
//!
//! Hand-written scenarios show each row of the decision table once; this family crosses every
//! dimension the rule looks at (see `kana_harness::families`). Each case runs through the same
//! harness as the files in `scenarios/`, on both targets, and certification runs use the same
//! snapshots.

mod common;

use kana_harness::families::{Billing, Candidates, Email, IdentifyCase, Known};
use rstest::rstest;

#[rstest]
fn identify_decision(
    #[values(Known::New, Known::Existing)] known: Known,
    #[values(Email::Absent, Email::Exact, Email::Shouted)] email: Email,
    #[values(
        Candidates::None,
        Candidates::OneWithoutId,
        Candidates::OneWithoutIdConflictingBilling,
        Candidates::TwoWithoutId,
        Candidates::OneWithAnotherId
    )]
    candidates: Candidates,
    #[values(Billing::Absent, Billing::Given)] billing: Billing,
) {
    let case = IdentifyCase { known, email, candidates, billing };
    let (name, scenario) = (case.name(), case.scenario());

    for (variant, target) in [("in_process", Ok(common::in_process())), ("http", common::http())] {
        let target = target.unwrap_or_else(|error| panic!("{error}"));
        // rstest names cases by position, so the replay filters on the family and the reader
        // finds the case by the snapshot name printed with the diff.
        let replay = "cargo test -p kana-harness --test identify_matrix -- identify_decision";
        if let Err(failure) = common::check(target.as_ref(), &scenario, &name, replay) {
            panic!("{variant}: {name}: {failure}");
        }
    }
}

#[test]
fn the_family_has_one_case_per_combination_with_distinct_names() {
    let cases = IdentifyCase::all();
    let mut names: Vec<String> = cases.iter().map(IdentifyCase::name).collect();
    names.sort();
    names.dedup();

    assert_eq!(cases.len(), 60);
    assert_eq!(names.len(), 60);
}
