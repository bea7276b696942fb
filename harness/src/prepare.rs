//! Steps into requests: placeholders filled, envelopes generated, bodies built.
//!
//! Scenario runs ([`crate::run`]) and differential runs ([`crate::simulate`]) both prepare steps
//! here, so the same seed always gives the same bytes. A scenario run also names every message id
//! it generates (`{msg:3}`) so that its results can be redacted into placeholders; a differential
//! run of a million events cannot afford that history and does not need it, since both of its
//! sides get the same bytes, so it prepares steps without labels. Only the people and the
//! deliveries a later `redeliver` step names are kept either way.

use std::collections::{BTreeMap, HashMap};

use kana_reference::engine::{BillingCustomer, RuleSpec};
use serde_json::{Map, Value};

use crate::generate::Generator;
use crate::scenario::{Customer, Given, Raw, RuleStep, Send, Step};
use crate::target::{Delivery, Reply, Target, TargetError, TargetWorkspace};

/// One call to a target, ready to send.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    Deliver(Delivery),
    Feature(String),
    Rule(RuleSpec),
    Import(Vec<BillingCustomer>),
}

impl Request {
    pub fn is_delivery(&self) -> bool {
        matches!(self, Self::Deliver(_))
    }

    /// Sends the request to `target` in `workspace`.
    pub fn send(
        &self,
        target: &dyn Target,
        workspace: &TargetWorkspace,
    ) -> Result<Reply, TargetError> {
        match self {
            Self::Deliver(delivery) => target.deliver(workspace, delivery),
            Self::Feature(id) => target.create_feature(workspace, id),
            Self::Rule(rule) => target.create_rule(workspace, rule),
            Self::Import(customers) => target.import_billing_customers(workspace, customers),
        }
    }
}

/// Turns steps into requests for one run.
#[derive(Debug)]
pub(crate) struct Preparer {
    generator: Generator,
    /// Deliveries of named steps, for `redeliver`.
    named: HashMap<String, Delivery>,
}

impl Preparer {
    pub fn new(seed: u64) -> Self {
        Self { generator: Generator::new(seed), named: HashMap::new() }
    }

    /// The set-up calls of `given`, in the order a scenario run makes them.
    pub fn given(&mut self, given: &Given) -> Result<Vec<Request>, String> {
        let mut requests: Vec<Request> =
            given.features.iter().map(|feature| Request::Feature(feature.clone())).collect();
        for rule in &given.rules {
            requests.push(self.rule(rule)?);
        }
        if !given.billing_customers.is_empty() {
            requests.push(self.customers(&given.billing_customers)?);
        }
        Ok(requests)
    }

    /// The request of one step other than a `shuffled` group.
    pub fn step(&mut self, step: &Step) -> Result<Request, String> {
        self.step_labelled(step, None)
    }

    /// Like [`Self::step`]; with a label, the message id generated for the step is remembered
    /// as `{msg:LABEL}` (or `{msg:NAME}` for a named step) for redaction.
    pub fn step_labelled(&mut self, step: &Step, label: Option<&str>) -> Result<Request, String> {
        match step {
            Step::Identify(send) => self.message("identify", send, label),
            Step::Track(send) => self.message("track", send, label),
            Step::Message(send) => {
                let kind = send.kind.clone().unwrap_or_default();
                self.message(&kind, send, label)
            }
            Step::Raw(raw) => self.raw(raw),
            Step::CreateFeature(feature) => Ok(Request::Feature(self.generator.fill(&feature.id)?)),
            Step::CreateRule(rule) => self.rule(rule),
            Step::ImportBillingCustomers(import) => self.customers(&import.customers),
            Step::Redeliver(redeliver) => {
                let delivery = self.named.get(&redeliver.step).cloned().ok_or_else(|| {
                    format!("`redeliver` names `{}`, which has not been delivered", redeliver.step)
                })?;
                Ok(Request::Deliver(delivery))
            }
            Step::Shuffled(_) => Err("`shuffled` groups cannot be nested".to_owned()),
        }
    }

    /// Shuffles delivery positions with the run's RNG, as a scenario run does for a group.
    pub fn shuffle(&mut self, order: &mut [usize]) {
        self.generator.shuffle(order);
    }

    /// The generator behind the requests, for remembering and redacting values.
    pub fn generator(&mut self) -> &mut Generator {
        &mut self.generator
    }

    fn message(&mut self, kind: &str, send: &Send, label: Option<&str>) -> Result<Request, String> {
        let user = send.user.as_deref().map(|name| self.generator.person(name));
        let anonymous = send.anonymous.as_deref().map(|name| self.generator.person(name));
        let mut body = self.generator.envelope(kind, user.as_ref(), anonymous.as_ref());
        if let Some(label) = send.name.as_deref().or(label) {
            let message_id = body["messageId"].as_str().unwrap_or_default().to_owned();
            self.generator.remember(&message_id, format!("{{msg:{label}}}"));
        }
        if let Some(traits) = &send.traits {
            body.insert("traits".into(), self.generator.fill_value(traits)?);
        }
        if let Some(event) = &send.event {
            body.insert("event".into(), self.generator.fill(event)?.into());
        }
        if let Some(properties) = &send.properties {
            body.insert("properties".into(), self.generator.fill_value(properties)?);
        }
        for (key, value) in &send.fields {
            body.insert(key.clone(), self.generator.fill_value(value)?);
        }
        for key in &send.omit {
            body.remove(key);
        }
        let bytes = match send.pad_to {
            Some(size) => padded(body, size)?,
            None => serde_json::to_vec(&body).expect("a JSON map always serialises"),
        };
        Ok(self.delivery(send.name.as_deref(), Delivery { auth: send.auth, body: bytes }))
    }

    fn raw(&mut self, raw: &Raw) -> Result<Request, String> {
        let body = self.generator.fill(&raw.body)?.into_bytes();
        Ok(self.delivery(raw.name.as_deref(), Delivery { auth: raw.auth, body }))
    }

    fn delivery(&mut self, name: Option<&str>, delivery: Delivery) -> Request {
        if let Some(name) = name {
            self.named.insert(name.to_owned(), delivery.clone());
        }
        Request::Deliver(delivery)
    }

    fn rule(&mut self, rule: &RuleStep) -> Result<Request, String> {
        let mut properties = BTreeMap::new();
        for (path, value) in &rule.properties {
            properties.insert(self.generator.fill(path)?, self.generator.fill_value(value)?);
        }
        let event = rule.event.as_deref().map(|event| self.generator.fill(event)).transpose()?;
        let feature = self.generator.fill(&rule.feature)?;
        Ok(Request::Rule(RuleSpec { feature, event, properties }))
    }

    fn customers(&mut self, customers: &[Customer]) -> Result<Request, String> {
        let mut filled = Vec::with_capacity(customers.len());
        for customer in customers {
            filled.push(match customer {
                Customer::Person(name) => {
                    let person = self.generator.person(name);
                    BillingCustomer {
                        billing_id: person.billing,
                        email: Some(person.email),
                        name: Some(person.name),
                    }
                }
                Customer::Fields(fields) => BillingCustomer {
                    billing_id: self.generator.fill(&fields.billing_id)?,
                    email: self.fill_optional(fields.email.as_deref())?,
                    name: self.fill_optional(fields.name.as_deref())?,
                },
            });
        }
        Ok(Request::Import(filled))
    }

    fn fill_optional(&mut self, text: Option<&str>) -> Result<Option<String>, String> {
        text.map(|text| self.generator.fill(text)).transpose()
    }
}

/// Serialises `body` with a filler field so that it is exactly `size` bytes long.
fn padded(mut body: Map<String, Value>, size: usize) -> Result<Vec<u8>, String> {
    body.insert("_padding".into(), Value::String(String::new()));
    let base = serde_json::to_vec(&body).expect("a JSON map always serialises").len();
    let filler = size.checked_sub(base).ok_or_else(|| {
        format!("`pad_to: {size}` is smaller than the message itself ({base} bytes)")
    })?;
    body.insert("_padding".into(), Value::String("x".repeat(filler)));
    Ok(serde_json::to_vec(&body).expect("a JSON map always serialises"))
}
