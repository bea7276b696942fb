//! Helpers shared by the integration tests: Segment messages built with `json!`, and a workspace
//! wrapper that numbers `messageId`s itself and checks that refused messages change nothing.
//!
//! Each test crate uses only part of this module, so unused items are allowed here rather than
//! split into one helper file per crate.

#![allow(dead_code)]

use std::ops::{Deref, DerefMut};

use kana_reference::engine::{
    BillingCustomer, IngestError, Ingested, RuleCreated, RuleSpec, TrackOutcome,
};
use kana_reference::{CanonicalState, Workspace};
use serde_json::{Value, json};

/// An Identify message as Segment sends it.
pub fn identify(message_id: &str, user_id: &str, traits: Value) -> Value {
    json!({"type": "identify", "messageId": message_id, "userId": user_id, "traits": traits})
}

/// A Track message as Segment sends it.
pub fn track(message_id: &str, user_id: &str, event: &str, properties: Value) -> Value {
    json!({
        "type": "track",
        "messageId": message_id,
        "userId": user_id,
        "event": event,
        "properties": properties,
    })
}

/// A billing customer for the import command; blank strings stand for "not given".
pub fn customer(billing_id: &str, email: &str, name: &str) -> BillingCustomer {
    let given = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    BillingCustomer { billing_id: billing_id.to_owned(), email: given(email), name: given(name) }
}

/// The outcome of a Track mapped to `feature`.
pub fn mapped(feature: &str) -> Ingested {
    Ingested::Track(TrackOutcome::Mapped { feature: feature.to_owned() })
}

/// The outcome of a Track stored without a feature.
pub fn unmapped() -> Ingested {
    Ingested::Track(TrackOutcome::Unmapped)
}

/// A workspace that hands out `messageId`s in order and asserts on what each command did.
#[derive(Debug, Default)]
pub struct TestWorkspace {
    inner: Workspace,
    sent: usize,
}

impl Deref for TestWorkspace {
    type Target = Workspace;

    fn deref(&self) -> &Workspace {
        &self.inner
    }
}

impl DerefMut for TestWorkspace {
    fn deref_mut(&mut self) -> &mut Workspace {
        &mut self.inner
    }
}

impl TestWorkspace {
    pub fn new() -> Self {
        Self::default()
    }

    /// A workspace in which these features already exist.
    pub fn with_features(features: &[&str]) -> Self {
        let mut workspace = Self::new();
        for feature in features {
            workspace.create_feature(feature).expect("feature id is valid");
        }
        workspace
    }

    /// A fresh `messageId`, sorting in the order the messages were sent.
    pub fn next_message_id(&mut self) -> String {
        self.sent += 1;
        format!("m-{:03}", self.sent)
    }

    /// Sends an Identify with a fresh `messageId`; it must be accepted.
    pub fn identify(&mut self, user_id: &str, traits: Value) -> Ingested {
        let message_id = self.next_message_id();
        self.accept(&identify(&message_id, user_id, traits))
    }

    /// Sends a Track with a fresh `messageId`; it must be accepted.
    pub fn track(&mut self, user_id: &str, event: &str, properties: Value) -> Ingested {
        let message_id = self.next_message_id();
        self.accept(&track(&message_id, user_id, event, properties))
    }

    /// Ingests a message that must be accepted.
    pub fn accept(&mut self, message: &Value) -> Ingested {
        match self.inner.ingest(message.to_string().as_bytes()) {
            Ok(ingested) => ingested,
            Err(error) => panic!("message was refused ({error}): {message}"),
        }
    }

    /// Ingests a message that must be refused without changing the workspace, and returns the
    /// refusal's text.
    pub fn reject(&mut self, message: &Value) -> String {
        let before = self.state();
        let error = self.refuse(message.to_string().as_bytes());
        assert_eq!(self.state(), before, "a refused message changed the workspace");
        error.to_string()
    }

    /// Ingests a raw body that must be refused, and returns the error.
    pub fn refuse(&mut self, body: &[u8]) -> IngestError {
        match self.inner.ingest(body) {
            Ok(ingested) => panic!("message was accepted as {ingested:?}"),
            Err(error) => error,
        }
    }

    pub fn import(&mut self, customers: &[BillingCustomer]) {
        self.import_billing_customers(customers).expect("billing customers are valid");
    }

    /// Creates a rule from its conformance-API JSON; it must be accepted.
    pub fn rule(&mut self, spec: Value) -> RuleCreated {
        self.create_rule(&rule_spec(spec)).expect("rule is valid")
    }

    /// The canonical state as JSON, the form the conformance API returns.
    pub fn json(&self) -> Value {
        serde_json::to_value(self.state()).expect("the canonical state serialises")
    }

    /// The `users` section of the canonical state as JSON.
    pub fn users(&self) -> Value {
        self.json()["users"].take()
    }

    /// The `flags` section of the canonical state as JSON.
    pub fn flags(&self) -> Value {
        self.json()["flags"].take()
    }

    /// The `usage` section of the canonical state as JSON.
    pub fn usage(&self) -> Value {
        self.json()["usage"].take()
    }

    /// The `events` counts of the canonical state as JSON.
    pub fn counts(&self) -> Value {
        self.json()["events"].take()
    }
}

/// A rule as the conformance API receives it.
pub fn rule_spec(spec: Value) -> RuleSpec {
    serde_json::from_value(spec).expect("rule spec has the conformance API's shape")
}

/// A user as the canonical state shows it; empty strings stand for `null`.
pub fn user(id: &str, name: &str, email: &str, billing_id: &str) -> Value {
    let given = |text: &str| if text.is_empty() { Value::Null } else { Value::from(text) };
    let (id, name, email, billing_id) = (given(id), given(name), given(email), given(billing_id));
    json!({"id": id, "name": name, "email": email, "billingId": billing_id})
}

/// Asserts that two workspaces hold the same canonical state.
pub fn assert_same_state(left: &CanonicalState, right: &CanonicalState) {
    assert_eq!(left.to_pretty_json(), right.to_pretty_json());
}
