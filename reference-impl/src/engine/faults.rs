//! Deliberate deviations from the specification.
//!
//! A specification is only as good as its ability to tell a wrong implementation from a right one.
//! These switches turn the reference into a plausible wrong implementation (one that ignores
//! `delta`, say), so the harness's own tests can prove that the scenarios catch each mistake.
//! Every switch is off by default, and nothing but tests and demonstrations turns one on.

/// Which mistakes a workspace makes on purpose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Every Track counts 1, whatever its `delta`.
    pub ignore_delta: bool,
    /// An existing user never absorbs an imported customer.
    pub never_merge: bool,
    /// A redelivered `messageId` is applied again.
    pub count_redeliveries: bool,
    /// A matching rule beats the event's own `featureId`.
    pub rules_override_feature_id: bool,
    /// A new rule leaves stored, unmapped events alone.
    pub no_retroactive_rules: bool,
    /// The latest-created matching rule wins instead of the earliest.
    pub latest_rule_wins: bool,
}

impl Faults {
    /// Each fault on its own, with its name, for tests that prove every one is caught.
    pub fn each() -> Vec<(&'static str, Faults)> {
        let none = Faults::default();
        vec![
            ("ignore_delta", Faults { ignore_delta: true, ..none }),
            ("never_merge", Faults { never_merge: true, ..none }),
            ("count_redeliveries", Faults { count_redeliveries: true, ..none }),
            ("rules_override_feature_id", Faults { rules_override_feature_id: true, ..none }),
            ("no_retroactive_rules", Faults { no_retroactive_rules: true, ..none }),
            ("latest_rule_wins", Faults { latest_rule_wins: true, ..none }),
        ]
    }
}
