//! The canonical state: the implementation-independent picture of a workspace.
//!
//! Snapshots and certification runs compare this form and nothing else, so it holds no internal
//! ids, sorts everything, and says each thing once. Every implementation under test must produce
//! exactly this JSON from its conformance API; `docs/canonical-state.md` describes it field by
//! field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A workspace as snapshots see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CanonicalState {
    /// Feature ids, sorted.
    pub features: Vec<String>,
    /// Users with an `id` sorted by it, then users without one sorted by billing id.
    pub users: Vec<UserState>,
    /// Usage totals: user id, then feature id, then the sum of the mapped events' deltas. Sums
    /// are exact (128-bit), so they never depend on the order events arrived in.
    pub usage: BTreeMap<String, BTreeMap<String, i128>>,
    /// How many accepted messages the workspace holds.
    pub events: EventCounts,
    /// Stored Track events that count towards no feature yet, sorted by `messageId`.
    pub unmapped: Vec<UnmappedEvent>,
    /// What the dashboard asks a person to resolve.
    pub flags: Flags,
}

/// One user. Absent fields are `null`, so every user shows the same four keys; a state that
/// leaves a key out is not canonical and does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserState {
    #[serde(deserialize_with = "Option::deserialize")]
    pub id: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    pub name: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    pub email: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    pub billing_id: Option<String>,
}

/// Counts of accepted (non-duplicate) messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventCounts {
    pub identify: u64,
    pub track: u64,
    /// Track events that count towards a feature; `mapped + unmapped == track`.
    pub mapped: u64,
    pub unmapped: u64,
}

/// A stored Track that counts towards no feature, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UnmappedEvent {
    pub message_id: String,
    pub user_id: String,
    pub event: String,
    pub reason: UnmappedReason,
    /// The missing feature, for `unknown_feature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_id: Option<String>,
}

/// Why a stored Track is not mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedReason {
    /// No `featureId`, and no rule matches the event.
    NoMatchingRule,
    /// The event's `featureId` names a feature that does not exist (yet).
    UnknownFeature,
}

/// Users a person should look at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Flags {
    /// Users that cannot be billed: they have no billing id. Sorted user references.
    pub without_billing_id: Vec<String>,
    /// Emails held by two or more users, sorted by the normalised email.
    pub shared_emails: Vec<SharedEmail>,
}

/// Two or more users holding the same email (compared trimmed and case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedEmail {
    /// The normalised (trimmed, lowercase) email.
    pub email: String,
    /// Sorted user references: the `id`, or `billingId:<id>` for a user without one.
    pub users: Vec<String>,
}

impl CanonicalState {
    /// The state as pretty JSON, the form snapshots hold.
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the canonical state always serialises")
    }
}
