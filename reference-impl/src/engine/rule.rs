//! Mapping rules: how a Track without a `featureId` finds its feature.
//!
//! A rule names a feature and a set of conditions that must all hold: at most one on the event
//! name, and any number on property paths. Values compare by JSON type: a string never equals a
//! number, because Segment keeps the types its sources send and a loose comparison would make a
//! rule match events its author did not have in mind. Numbers compare by value, so `5` and `5.0`
//! are equal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::CommandError;
use super::message::describe;

/// A mapping rule as the conformance API receives it.
///
/// ```json
/// {"feature": "messages", "event": "Message Sent", "properties": {"plan.tier": "pro"}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The feature that matching events count towards. It must exist.
    pub feature: String,
    /// When given, the event name must equal it exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Dotted property paths (`plan.tier`) and the value each must hold.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Value>,
}

/// One property condition: a path into `properties` and the value expected there.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub path: Vec<String>,
    pub value: Value,
}

/// A validated rule, ready to match events.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub feature: String,
    pub event: Option<String>,
    pub conditions: Vec<Condition>,
}

impl Rule {
    /// Validates a rule's shape. Whether its feature exists is the workspace's concern.
    pub fn compile(spec: &RuleSpec) -> Result<Self, CommandError> {
        if spec.feature.trim().is_empty() {
            return Err(CommandError::field("feature", "must not be blank"));
        }
        if matches!(&spec.event, Some(event) if event.trim().is_empty()) {
            return Err(CommandError::field("event", "must not be blank"));
        }
        if spec.event.is_none() && spec.properties.is_empty() {
            return Err(CommandError::field(
                "properties",
                "must hold at least one condition when `event` is not given: a rule without \
                 conditions would map every event",
            ));
        }
        let conditions = spec
            .properties
            .iter()
            .map(|(path, value)| condition(path, value))
            .collect::<Result<_, _>>()?;
        Ok(Self { feature: spec.feature.clone(), event: spec.event.clone(), conditions })
    }

    pub fn matches(&self, event: &str, properties: &Map<String, Value>) -> bool {
        if self.event.as_deref().is_some_and(|name| name != event) {
            return false;
        }
        self.conditions.iter().all(|condition| {
            lookup(properties, &condition.path).is_some_and(|found| same(found, &condition.value))
        })
    }
}

fn condition(path: &str, value: &Value) -> Result<Condition, CommandError> {
    let field = format!("properties.{path}");
    let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
    if segments.iter().any(String::is_empty) {
        return Err(CommandError::field(
            field,
            "is not a valid property path: segments are separated by single dots and none may \
             be empty",
        ));
    }
    if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
        return Err(CommandError::field(
            field,
            format!("must be a string, a number or a boolean, got {}", describe(value)),
        ));
    }
    Ok(Condition { path: segments, value: value.clone() })
}

/// Follows a dotted path through nested objects.
fn lookup<'a>(properties: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter().try_fold(properties.get(first)?, |value, segment| value.get(segment))
}

/// Typed equality: strings and booleans exactly, numbers by numeric value.
fn same(found: &Value, expected: &Value) -> bool {
    match (found, expected) {
        (Value::Number(found), Value::Number(expected)) => {
            if let (Some(found), Some(expected)) = (found.as_i64(), expected.as_i64()) {
                return found == expected;
            }
            if let (Some(found), Some(expected)) = (found.as_u64(), expected.as_u64()) {
                return found == expected;
            }
            found.as_f64() == expected.as_f64()
        }
        _ => found == expected,
    }
}
