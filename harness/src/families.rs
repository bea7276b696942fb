//! Generated scenario families: scenarios written by code rather than by hand, because they
//! cross every value of several dimensions.
//!
//! The identify family crosses every input of the identify decision rule, so an implementation
//! that gets one combination wrong (a shouted email with two candidates, say) fails on exactly
//! that case. Its scenarios run in `cargo test` (as an rstest family) and in certification runs,
//! against the same reviewed snapshots, `snapshots/identify-matrix--*.snap`.

use std::fmt::Debug;
use std::path::Path;

use crate::scenario::Scenario;

/// Does the identified user exist before the event?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    New,
    Existing,
}

/// The email the event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Email {
    Absent,
    Exact,
    /// Upper case with surrounding spaces: it must still match.
    Shouted,
}

/// The other users holding that email before the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    None,
    OneWithoutId,
    OneWithoutIdConflictingBilling,
    TwoWithoutId,
    OneWithAnotherId,
}

/// Does the event carry a `billingUserId`?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    Absent,
    Given,
}

/// One combination of the identify decision's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifyCase {
    pub known: Known,
    pub email: Email,
    pub candidates: Candidates,
    pub billing: Billing,
}

impl IdentifyCase {
    /// Every combination: 2 × 3 × 5 × 2 = 60 cases.
    pub fn all() -> Vec<Self> {
        let mut cases = Vec::new();
        for known in [Known::New, Known::Existing] {
            for email in [Email::Absent, Email::Exact, Email::Shouted] {
                for candidates in [
                    Candidates::None,
                    Candidates::OneWithoutId,
                    Candidates::OneWithoutIdConflictingBilling,
                    Candidates::TwoWithoutId,
                    Candidates::OneWithAnotherId,
                ] {
                    for billing in [Billing::Absent, Billing::Given] {
                        cases.push(Self { known, email, candidates, billing });
                    }
                }
            }
        }
        cases
    }

    /// The scenario's name, which is also its snapshot's.
    pub fn name(&self) -> String {
        format!(
            "identify-matrix--{}-user--{}-email--{}-candidates--{}-billing",
            words(self.known, '-'),
            words(self.email, '-'),
            words(self.candidates, '-'),
            words(self.billing, '-'),
        )
    }

    /// The case as a scenario, written as scenario text and read like any scenario file.
    pub fn scenario(&self) -> Scenario {
        let path = Path::new("harness/src/families.rs");
        Scenario::parse(&self.name(), path, &self.text()).expect("generated scenarios are valid")
    }

    fn text(&self) -> String {
        let about = format!(
            "The identify decision for a {} user, {} email, {} candidates and {} billingUserId.",
            words(self.known, ' '),
            words(self.email, ' '),
            words(self.candidates, ' '),
            words(self.billing, ' '),
        );
        format!(
            "about: {about}\ngiven:\n  billing_customers: {}\nsteps:\n{}\n",
            self.customers(),
            self.steps().join("\n")
        )
    }

    /// Imported candidates share ada's email. A non-conflicting candidate holds ada's own billing
    /// id; a conflicting one holds another.
    fn customers(&self) -> &'static str {
        match self.candidates {
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
        }
    }

    fn steps(&self) -> Vec<String> {
        let mut steps = Vec::new();
        if self.candidates == Candidates::OneWithAnotherId {
            let grace =
                r#"  - identify: { user: grace, traits: { email: "{ada.email}" }, expect: 200 }"#;
            steps.push(grace.to_owned());
        }
        if self.known == Known::Existing {
            let before = "  - identify: { user: ada, traits: { name: Ada (before) }, expect: 200 }";
            steps.push(before.to_owned());
        }
        let mut traits = vec![r#"name: "{ada.name}""#];
        match self.email {
            Email::Absent => {}
            Email::Exact => traits.push(r#"email: "{ada.email}""#),
            Email::Shouted => traits.push(r#"email: "  {ada.email|upper}  ""#),
        }
        if self.billing == Billing::Given {
            traits.push(r#"billingUserId: "{ada.billing}""#);
        }
        let event = format!(
            "  - identify: {{ user: ada, traits: {{ {} }}, expect: 200 }}",
            traits.join(", ")
        );
        steps.push(event);
        steps
    }
}

/// Every scenario of every generated family.
pub fn all() -> Vec<Scenario> {
    IdentifyCase::all().iter().map(IdentifyCase::scenario).collect()
}

/// `OneWithoutId` as `one-without-id` (or with another separator).
fn words(value: impl Debug, separator: char) -> String {
    format!("{value:?}").chars().fold(String::new(), |mut out, c| {
        if c.is_uppercase() && !out.is_empty() {
            out.push(separator);
        }
        out.push(c.to_ascii_lowercase());
        out
    })
}
