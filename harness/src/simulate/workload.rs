//! Seeded workloads: realistic traffic for one workspace, written as scenario data.
//!
//! A workload is a [`Given`] and a stream of [`Step`]s in the very terms of a scenario file:
//! people are named `u1`, `u2`, ... and every value is a placeholder such as `{u7.email}`, so any
//! stretch of a workload can be run, shrunk and saved as a scenario without translation. Every
//! choice here comes from one RNG seeded by the workload's seed; the people's values and the
//! envelopes come later from the run's [`Generator`](crate::generate::Generator), seeded the same.
//!
//! The steps are produced lazily, a few at a time, so a run of a million events never holds its
//! workload in memory. The trade-off is that a step cannot be looked up later: the divergent
//! prefix of a workload is recovered by generating it again from the same seed and knobs.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use fake::Fake;
use fake::faker::company::en::{CompanyName, Industry};
use fake::faker::lorem::en::Word;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};

use crate::generate::stable_hash;
use crate::scenario::{
    Auth, Customer, CustomerFields, FeatureStep, Given, ImportStep, Raw, Redeliver, RuleStep, Send,
    Step,
};

/// The shape of a workload. Shares are fractions between 0 and 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Knobs {
    /// How many people take part.
    pub users: usize,
    /// How many deliveries to the ingest endpoint, counting redeliveries and bad input.
    pub events: usize,
    /// The share of people who are also customers imported from billing (Stripe).
    pub stripe_share: f64,
    /// The share of people who identify with an email another person uses too.
    pub email_collisions: f64,
    /// How many features exist; half before the first step, the rest created mid-stream.
    pub features: usize,
    /// How many mapping rules exist; a third before the first step, the rest created mid-stream.
    pub rules: usize,
    /// The share of deliveries that are redeliveries of an earlier message.
    pub duplicates: f64,
    /// The largest group of consecutive deliveries whose order is shuffled; 1 keeps the order.
    pub reorder_window: usize,
    /// The share of deliveries that are malformed or invalid.
    pub bad_input: f64,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            users: 200,
            events: 2_000,
            stripe_share: 0.3,
            email_collisions: 0.05,
            features: 6,
            rules: 6,
            duplicates: 0.03,
            reorder_window: 4,
            bad_input: 0.05,
        }
    }
}

impl Knobs {
    /// Whether these knobs can make a workload; the error names the knob and the reason.
    pub fn check(&self) -> Result<(), String> {
        if self.users == 0 {
            return Err("`users` must be at least 1".to_owned());
        }
        let shares = [
            ("stripe_share", self.stripe_share),
            ("email_collisions", self.email_collisions),
            ("duplicates", self.duplicates),
            ("bad_input", self.bad_input),
        ];
        for (knob, share) in shares {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("`{knob}` must be a share between 0 and 1, got {share}"));
            }
        }
        Ok(())
    }
}

/// A workload: what exists before the first step, and the steps.
#[derive(Debug)]
pub struct Workload {
    pub given: Given,
    pub steps: Steps,
}

/// Generates the workload of `knobs` for `seed`. The same arguments always give the same workload.
pub fn workload(knobs: &Knobs, seed: u64) -> Workload {
    // A stream of its own, so that the workload and the run's generator never share draws.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ stable_hash("kana-harness simulate workload"));
    let people = people(&mut rng, knobs);
    let SetupPlan { given, steps: setup } = SetupPlan::new(&mut rng, knobs, &people);
    let steps = Steps {
        rng,
        knobs: knobs.clone(),
        hot: (people.len() / 10).max(1),
        people,
        setup: setup.into(),
        due: BinaryHeap::new(),
        out: VecDeque::new(),
        delivered: 0,
        names: 0,
    };
    Workload { given, steps }
}

const FEATURES: [&str; 10] = [
    "messages",
    "seats",
    "exports",
    "api-calls",
    "storage-gb",
    "reports",
    "sms",
    "projects",
    "invoices",
    "workflows",
];

const EVENTS: [&str; 10] = [
    "Message Sent",
    "Seat Added",
    "Report Exported",
    "API Called",
    "File Uploaded",
    "Project Created",
    "Invoice Sent",
    "Workflow Run",
    "SMS Sent",
    "Signed In",
];

const TIERS: [&str; 3] = ["free", "pro", "team"];

/// How many mid-stream billing imports a workload has at most.
const IMPORT_BATCHES: usize = 3;

/// An event name's index: half the time one of the four busiest events.
fn busy_event(rng: &mut ChaCha8Rng) -> usize {
    match rng.random_bool(0.5) {
        true => rng.random_range(0..4),
        false => rng.random_range(0..EVENTS.len()),
    }
}

fn feature_name(index: usize) -> String {
    FEATURES.get(index).map_or_else(|| format!("feature-{index}"), |name| (*name).to_owned())
}

/// When a person is imported from billing, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Imported {
    No,
    Given,
    Batch(usize),
}

/// How one person takes part.
#[derive(Debug, Clone)]
struct Person {
    name: String,
    imported: Imported,
    /// The email they identify with and are imported with: their own, or another person's in
    /// some spelling (`{u3.email|upper}`, ` {u3.email} `).
    email: String,
}

impl Person {
    fn placeholder(&self, field: &str) -> String {
        format!("{{{}.{field}}}", self.name)
    }

    /// This person as a billing customer.
    fn customer(&self) -> Customer {
        if self.email == self.placeholder("email") {
            return Customer::Person(self.name.clone());
        }
        Customer::Fields(CustomerFields {
            billing_id: self.placeholder("billing"),
            email: Some(self.email.clone()),
            name: Some(self.placeholder("name")),
        })
    }
}

fn people(rng: &mut ChaCha8Rng, knobs: &Knobs) -> Vec<Person> {
    // Collisions draw on a few people only, so that shared emails form groups, not just pairs.
    let pool = (knobs.users / 20).clamp(1, knobs.users.max(1));
    (1..=knobs.users)
        .map(|number| {
            let name = format!("u{number}");
            let imported = match rng.random_bool(knobs.stripe_share) {
                false => Imported::No,
                true if rng.random_bool(0.5) => Imported::Given,
                true => Imported::Batch(rng.random_range(0..IMPORT_BATCHES)),
            };
            let other = rng.random_range(1..=pool);
            let email = match knobs.users > 1 && rng.random_bool(knobs.email_collisions) {
                true if other != number => match rng.random_range(0..3) {
                    0 => format!("{{u{other}.email}}"),
                    1 => format!("{{u{other}.email|upper}}"),
                    _ => format!(" {{u{other}.email}} "),
                },
                _ => format!("{{{name}.email}}"),
            };
            Person { name, imported, email }
        })
        .collect()
}

/// The set-up of a workload: what is given, and what is created at which delivery.
struct SetupPlan {
    given: Given,
    /// Set-up steps with the number of deliveries that precede each, in that order.
    steps: Vec<(usize, Step)>,
}

impl SetupPlan {
    fn new(rng: &mut ChaCha8Rng, knobs: &Knobs, people: &[Person]) -> Self {
        let mut given = Given::default();
        let mut steps = Vec::new();
        let position = |rng: &mut ChaCha8Rng| rng.random_range(0..knobs.events.max(1));

        // Features: half exist from the start, the others appear at random moments.
        let given_features = knobs.features.div_ceil(2);
        let mut created: Vec<(usize, String)> = Vec::new();
        for index in 0..knobs.features {
            let id = feature_name(index);
            if index < given_features {
                given.features.push(id.clone());
                created.push((0, id));
            } else {
                let at = position(rng);
                created.push((at, id.clone()));
                steps.push((at, Step::CreateFeature(FeatureStep { id, expect: None })));
            }
        }

        // Rules: a third exist from the start; later ones mostly name a feature that exists by
        // then, and now and then one that does not, which the target must refuse too.
        for index in 0..knobs.rules {
            let at = if index < knobs.rules / 3 { 0 } else { position(rng) };
            let existing: Vec<&String> =
                created.iter().filter(|(from, _)| *from <= at).map(|(_, id)| id).collect();
            let feature = match existing.is_empty() || rng.random_bool(0.05) {
                true => feature_name(rng.random_range(0..knobs.features.max(1))),
                false => existing[rng.random_range(0..existing.len())].clone(),
            };
            let rule = rule(rng, feature);
            match index < knobs.rules / 3 {
                true => given.rules.push(rule),
                false => steps.push((at, Step::CreateRule(rule))),
            }
        }

        // Billing customers: some imported before the first step, the others in a few batches,
        // each of which may repeat a customer that is already known (and must be skipped).
        let mut batches: Vec<Vec<Customer>> = vec![Vec::new(); IMPORT_BATCHES];
        for person in people {
            match person.imported {
                Imported::No => {}
                Imported::Given => given.billing_customers.push(person.customer()),
                Imported::Batch(batch) => batches[batch].push(person.customer()),
            }
        }
        for mut customers in batches.into_iter().filter(|batch| !batch.is_empty()) {
            if !given.billing_customers.is_empty() && rng.random_bool(0.3) {
                let known = rng.random_range(0..given.billing_customers.len());
                customers.push(given.billing_customers[known].clone());
            }
            let import = ImportStep { customers, expect: None };
            steps.push((position(rng), Step::ImportBillingCustomers(import)));
        }

        steps.sort_by_key(|(at, _)| *at);
        Self { given, steps }
    }
}

fn rule(rng: &mut ChaCha8Rng, feature: String) -> RuleStep {
    // Rules favour the busiest events, so that some events match two rules.
    let event = rng.random_bool(0.85).then(|| EVENTS[busy_event(rng)].to_owned());
    let mut properties = BTreeMap::new();
    match rng.random_range(0..10) {
        0..=4 => {
            properties.insert("plan.tier".to_owned(), json!(TIERS[rng.random_range(0..3)]));
        }
        5 => {
            properties.insert("seats".to_owned(), json!(5));
        }
        6 => {
            properties.insert("beta".to_owned(), json!(true));
        }
        _ => {}
    }
    if event.is_none() && properties.is_empty() {
        properties.insert("plan.tier".to_owned(), json!("team"));
    }
    RuleStep { feature, event, properties, expect: None }
}

/// The steps of a workload, generated as they are consumed.
#[derive(Debug)]
pub struct Steps {
    rng: ChaCha8Rng,
    knobs: Knobs,
    people: Vec<Person>,
    /// The first people are the busiest.
    hot: usize,
    setup: VecDeque<(usize, Step)>,
    /// Redeliveries still to send: (due at this many deliveries, name number).
    due: BinaryHeap<Reverse<(usize, u64)>>,
    out: VecDeque<Step>,
    delivered: usize,
    names: u64,
}

impl Iterator for Steps {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if self.out.is_empty() {
            self.produce();
        }
        self.out.pop_front()
    }
}

impl Steps {
    /// Queues the next top-level step: a set-up step that is due, or a group of deliveries.
    fn produce(&mut self) {
        if self.setup.front().is_some_and(|(at, _)| *at <= self.delivered) {
            let (_, step) = self.setup.pop_front().expect("checked above");
            self.out.push_back(step);
            return;
        }
        let left = self.knobs.events - self.delivered;
        if left == 0 {
            if let Some((_, step)) = self.setup.pop_front() {
                self.out.push_back(step);
            }
            return;
        }

        // A group never reaches past the next set-up step, which must come between deliveries.
        let until_setup = self.setup.front().map_or(left, |(at, _)| at - self.delivered);
        let window = self.knobs.reorder_window.max(1);
        let size = self.rng.random_range(1..=window).min(left).min(until_setup.max(1));
        let mut group: Vec<Step> = (0..size).map(|_| self.delivery()).collect();
        let step = match group.len() {
            1 => group.pop().expect("one step"),
            _ => Step::Shuffled(group),
        };
        self.out.push_back(step);
    }

    fn delivery(&mut self) -> Step {
        let position = self.delivered;
        self.delivered += 1;
        if self.due.peek().is_some_and(|Reverse((at, _))| *at <= position) {
            let Reverse((_, name)) = self.due.pop().expect("peeked above");
            return Step::Redeliver(Redeliver { step: format!("m{name}"), expect: None });
        }

        let mut step = match self.rng.random_bool(self.knobs.bad_input) {
            true => self.bad(),
            false if self.rng.random_bool(0.25) => self.identify(),
            false => self.track(),
        };
        // Each original is redelivered with the chance that makes the share come out right.
        let duplicates = self.knobs.duplicates;
        let chance = if duplicates >= 0.5 { 1.0 } else { duplicates / (1.0 - duplicates) };
        if self.rng.random_bool(chance) {
            self.names += 1;
            let distance = match self.rng.random_bool(0.8) {
                true => self.rng.random_range(1..=20),
                false => self.rng.random_range(21..=500),
            };
            self.due.push(Reverse((position + distance, self.names)));
            name_step(&mut step, format!("m{}", self.names));
        }
        step
    }

    /// Someone to send as: half the time one of the busiest people.
    fn person(&mut self) -> Person {
        let index = match self.rng.random_bool(0.5) {
            true => self.rng.random_range(0..self.hot),
            false => self.rng.random_range(0..self.people.len()),
        };
        self.people[index].clone()
    }

    fn identify(&mut self) -> Step {
        let person = self.person();
        let mut traits = Map::new();
        match self.rng.random_range(0..100) {
            0..85 => insert(&mut traits, "email", person.email.clone()),
            85..88 => insert(&mut traits, "email", Value::Null),
            _ => {}
        }
        match self.rng.random_range(0..100) {
            0..60 => insert(&mut traits, "name", person.placeholder("name")),
            60..64 => insert(&mut traits, "name", "   "),
            64..66 => insert(&mut traits, "name", Value::Null),
            _ => {}
        }
        let imported = person.imported != Imported::No;
        match self.rng.random_range(0..100) {
            0..50 if imported => {
                insert(&mut traits, "billingUserId", person.placeholder("billing"))
            }
            0..5 => insert(&mut traits, "billingUserId", person.placeholder("billing")),
            95..97 => {
                let other = self.person().placeholder("billing");
                insert(&mut traits, "billingUserId", other);
            }
            _ => {}
        }
        // Traits the destination ignores, as real sources send them.
        if self.rng.random_bool(0.3) {
            insert(&mut traits, "company", CompanyName().fake_with_rng::<String, _>(&mut self.rng));
        }
        if self.rng.random_bool(0.1) {
            insert(&mut traits, "industry", Industry().fake_with_rng::<String, _>(&mut self.rng));
        }
        if self.rng.random_bool(0.03) {
            insert(&mut traits, "billingId", person.placeholder("billing"));
        }
        let send = Send {
            user: Some(person.name),
            traits: Some(Value::Object(traits)),
            ..Send::default()
        };
        Step::Identify(send)
    }

    fn track(&mut self) -> Step {
        let user = self.person().name.clone();
        let event = busy_event(&mut self.rng);
        let mut properties = Map::new();
        if self.rng.random_bool(0.35) {
            let feature = match self.knobs.features > 0 && self.rng.random_bool(0.9) {
                true => feature_name(event % self.knobs.features),
                false => format!("legacy-{}", Word().fake_with_rng::<String, _>(&mut self.rng)),
            };
            insert(&mut properties, "featureId", feature);
        }
        if let Some(delta) = self.delta() {
            insert(&mut properties, "delta", delta);
        }
        if self.rng.random_bool(0.7) {
            insert(&mut properties, "plan", json!({ "tier": TIERS[self.rng.random_range(0..3)] }));
        }
        if self.rng.random_bool(0.2) {
            let seats = [json!(5), json!(5.0), json!("5"), json!(self.rng.random_range(1..10))];
            insert(&mut properties, "seats", seats[self.rng.random_range(0..seats.len())].clone());
        }
        if self.rng.random_bool(0.1) {
            insert(&mut properties, "beta", self.rng.random_bool(0.5));
        }
        if self.rng.random_bool(0.25) {
            insert(&mut properties, "source", Word().fake_with_rng::<String, _>(&mut self.rng));
        }
        let properties = (!properties.is_empty()).then_some(Value::Object(properties));
        let send = Send {
            user: Some(user),
            event: Some(EVENTS[event].to_owned()),
            properties,
            ..Send::default()
        };
        Step::Track(send)
    }

    /// A `delta` in one of the forms Segment sources send, or none (which counts 1).
    fn delta(&mut self) -> Option<Value> {
        Some(match self.rng.random_range(0..100) {
            0..40 => return None,
            40..75 => json!(self.rng.random_range(1..=10)),
            75..83 => json!(-self.rng.random_range(1..=5)),
            83..90 => json!(format!(" {} ", self.rng.random_range(1..=9))),
            90..95 => json!(f64::from(self.rng.random_range(1..=4))),
            _ => json!(self.rng.random_range(100..=10_000)),
        })
    }

    /// A delivery the destination must refuse, in one of the ways real traffic goes wrong.
    fn bad(&mut self) -> Step {
        let user = Some(self.person().name.clone());
        let event = Some(EVENTS[self.rng.random_range(0..EVENTS.len())].to_owned());
        let track = Send { user: user.clone(), event: event.clone(), ..Send::default() };
        let with_properties =
            |properties: Value| Send { properties: Some(properties), ..track.clone() };
        let pick = |rng: &mut ChaCha8Rng, values: &[Value]| {
            values[rng.random_range(0..values.len())].clone()
        };
        match self.rng.random_range(0..13) {
            0 => Step::Track(with_properties(json!({ "delta": 1.5 }))),
            1 => {
                let delta =
                    pick(&mut self.rng, &[json!("lots"), json!(true), json!([1]), json!("1.5")]);
                Step::Track(with_properties(json!({ "delta": delta })))
            }
            2 => Step::Track(Send { event: None, ..track }),
            3 => {
                let feature = pick(&mut self.rng, &[json!(""), json!(42), json!("  ")]);
                Step::Track(with_properties(json!({ "featureId": feature })))
            }
            4 => {
                let traits =
                    pick(&mut self.rng, &[json!({ "email": 42 }), json!({ "name": ["a"] })]);
                Step::Identify(Send { user, traits: Some(traits), ..Send::default() })
            }
            5 => Step::Identify(Send { anonymous: user, ..Send::default() }),
            6 => {
                let kind = ["page", "screen", "group", "alias"][self.rng.random_range(0..4)];
                Step::Message(Send { user, kind: Some(kind.to_owned()), ..Send::default() })
            }
            7 => {
                let bodies = ["not json", "[1, 2, 3]", "{\"type\": \"track\"", ""];
                let body = bodies[self.rng.random_range(0..bodies.len())].to_owned();
                Step::Raw(Raw { name: None, expect: None, body, auth: Auth::Basic })
            }
            8 => Step::Track(Send { omit: vec!["messageId".to_owned()], ..track }),
            9 => {
                let auth =
                    [Auth::WrongKey, Auth::Missing, Auth::Malformed][self.rng.random_range(0..3)];
                Step::Track(Send { auth, ..track })
            }
            10 => Step::Track(Send { pad_to: Some(33_000), ..track }),
            11 => {
                let (key, value) = match self.rng.random_bool(0.5) {
                    true => ("userId", json!("  ")),
                    false => ("messageId", json!("x".repeat(101))),
                };
                Step::Track(Send { fields: BTreeMap::from([(key.to_owned(), value)]), ..track })
            }
            _ => {
                let fields = BTreeMap::from([("properties".to_owned(), json!("plan=pro"))]);
                Step::Track(Send { fields, ..track })
            }
        }
    }
}

fn insert(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    map.insert(key.to_owned(), value.into());
}

/// Names a delivery so that a later `redeliver` step can send its bytes again.
fn name_step(step: &mut Step, name: String) {
    match step {
        Step::Identify(send) | Step::Track(send) | Step::Message(send) => send.name = Some(name),
        Step::Raw(raw) => raw.name = Some(name),
        // Only new messages are named; everything else is left as it is.
        _ => {}
    }
}
