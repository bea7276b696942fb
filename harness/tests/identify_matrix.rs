//! The identify decision rule over every combination of its inputs, as named snapshots.
//!
//! Hand-written scenarios show each row of the decision table once; this family crosses every
//! dimension the rule looks at, so a partner implementation that gets one combination wrong (say,
//! a shouted email with two candidates) fails on exactly that case. Each case is built as scenario
//! text and runs through the same harness as the files in `scenarios/`, on both targets.

mod common;

use std::path::Path;

use kana_harness::scenario::Scenario;
use rstest::rstest;

/// Does the identified user exist before the event?
#[derive(Debug, Clone, Copy)]
enum Known {
    New,
    Existing,
}

/// The email the event carries.
#[derive(Debug, Clone, Copy)]
enum Email {
    Absent,
    Exact,
    /// Upper case with surrounding spaces: it must still match.
    Shouted,
}

/// The other users holding that email before the event.
#[derive(Debug, Clone, Copy)]
enum Candidates {
    None,
    OneWithoutId,
    OneWithoutIdConflictingBilling,
    TwoWithoutId,
    OneWithAnotherId,
}

/// Does the event carry a `billingUserId`?
#[derive(Debug, Clone, Copy)]
enum Billing {
    Absent,
    Given,
}

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
    let name = snapshot_name(known, email, candidates, billing);
    let text = scenario_text(known, email, candidates, billing);
    let path = Path::new("harness/tests/identify_matrix.rs");
    let scenario = Scenario::parse(&name, path, &text).expect("generated scenarios are valid");

    for (variant, target) in [("in_process", Ok(common::in_process())), ("http", common::http())] {
        let target = target.unwrap_or_else(|error| panic!("{error}"));
        let replay =
            format!("cargo test -p kana-harness --test identify_matrix -- {}", test_filter(&name));
        if let Err(failure) = common::check(target.as_ref(), &scenario, &name, &replay) {
            panic!("{variant}: {failure}");
        }
    }
}

/// `OneWithoutId` as `one-without-id` (or with another separator).
fn words(value: impl std::fmt::Debug, separator: char) -> String {
    format!("{value:?}").chars().fold(String::new(), |mut out, c| {
        if c.is_uppercase() && !out.is_empty() {
            out.push(separator);
        }
        out.push(c.to_ascii_lowercase());
        out
    })
}

fn snapshot_name(known: Known, email: Email, candidates: Candidates, billing: Billing) -> String {
    format!(
        "identify-matrix--{}-user--{}-email--{}-candidates--{}-billing",
        words(known, '-'),
        words(email, '-'),
        words(candidates, '-'),
        words(billing, '-'),
    )
}

/// rstest names its cases by position, so the replay command filters on the test name alone.
fn test_filter(_name: &str) -> &'static str {
    "identify_decision"
}

fn scenario_text(known: Known, email: Email, candidates: Candidates, billing: Billing) -> String {
    let about = format!(
        "The identify decision for a {} user, {} email, {} candidates and {} billingUserId.",
        words(known, ' '),
        words(email, ' '),
        words(candidates, ' '),
        words(billing, ' '),
    );

    // Imported candidates share ada's email. A non-conflicting candidate holds ada's own billing
    // id; a conflicting one holds another.
    let customers = match candidates {
        Candidates::OneWithoutId => {
            r#"[{ billingId: "{ada.billing}", email: "{ada.email}", name: "{cus1.name}" }]"#
        }
        Candidates::OneWithoutIdConflictingBilling => {
            r#"[{ billingId: "{cus1.billing}", email: "{ada.email}", name: "{cus1.name}" }]"#
        }
        Candidates::TwoWithoutId => concat!(
            r#"[{ billingId: "{ada.billing}", email: "{ada.email}" }, "#,
            r#"{ billingId: "{cus2.billing}", email: "{ada.email}" }]"#
        ),
        Candidates::None | Candidates::OneWithAnotherId => "[]",
    };

    let mut steps = Vec::new();
    if let Candidates::OneWithAnotherId = candidates {
        steps.push(
            r#"  - identify: { user: grace, traits: { email: "{ada.email}" }, expect: 200 }"#
                .to_owned(),
        );
    }
    if let Known::Existing = known {
        steps.push(
            "  - identify: { user: ada, traits: { name: Ada (before) }, expect: 200 }".to_owned(),
        );
    }
    let mut traits = vec![r#"name: "{ada.name}""#.to_owned()];
    match email {
        Email::Absent => {}
        Email::Exact => traits.push(r#"email: "{ada.email}""#.to_owned()),
        Email::Shouted => traits.push(r#"email: "  {ada.email|upper}  ""#.to_owned()),
    }
    if let Billing::Given = billing {
        traits.push(r#"billingUserId: "{ada.billing}""#.to_owned());
    }
    steps.push(format!(
        "  - identify: {{ user: ada, traits: {{ {} }}, expect: 200 }}",
        traits.join(", ")
    ));

    format!(
        "about: {about}\ngiven:\n  billing_customers: {customers}\nsteps:\n{}\n",
        steps.join("\n")
    )
}
