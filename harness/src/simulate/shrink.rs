//! Shrinking a divergent workload to the few steps that still make the target diverge.
//!
//! This is greedy delta debugging over scenario data. Passes remove chunks of steps (halving the
//! chunk when nothing more can go), unwrap shuffled groups, drop set-up items, strip fields from
//! the remaining steps, and finally give the people readable names. Each candidate is replayed
//! against the target in a fresh workspace and kept only when it still diverges; it is then cut to
//! the prefix its divergence needed, which often removes more than the pass itself did. Only the
//! current best candidate is kept, and a budget bounds the number of replays, so shrinking costs
//! time, never memory. The result is a local minimum: removing any single step or item from it
//! makes the divergence go away, unless the budget ran out first.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use serde_json::{Map, Value};

use crate::scenario::{Customer, Given, RuleStep, Send, Step};

/// A workload being shrunk: what is given, and the steps.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    pub given: Given,
    pub steps: Vec<Step>,
}

/// How big a candidate is: steps (counting the steps inside shuffled groups, not the groups) and
/// set-up items (features, rules and billing customers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub steps: usize,
    pub given: usize,
}

impl Size {
    pub fn of(candidate: &Candidate) -> Self {
        let steps = candidate
            .steps
            .iter()
            .map(|step| match step {
                Step::Shuffled(group) => group.len(),
                _ => 1,
            })
            .sum();
        let given = &candidate.given;
        Self {
            steps,
            given: given.features.len() + given.rules.len() + given.billing_customers.len(),
        }
    }
}

/// What shrinking achieved.
#[derive(Debug, Clone)]
pub struct Shrunk {
    pub candidate: Candidate,
    pub before: Size,
    pub after: Size,
    /// Candidates replayed against the target.
    pub runs: usize,
    /// Whether the budget ran out before a local minimum was reached.
    pub exhausted: bool,
}

/// Shrinks `start`, which must diverge. `diverges` replays a candidate and returns the prefix of
/// steps its divergence needed, or none when it does not diverge; `progress` hears the number of
/// replays and the size of the best candidate after each improvement.
pub fn shrink(
    start: Candidate,
    budget: usize,
    diverges: &mut dyn FnMut(&Candidate) -> Option<usize>,
    progress: &mut dyn FnMut(usize, Size),
) -> Shrunk {
    let before = Size::of(&start);
    let mut best = start;
    repair(&mut best);
    let mut shrinker = Shrinker { best, runs: 0, budget, diverges, progress };

    loop {
        let mut changed = shrinker.remove_steps();
        changed |= shrinker.unwrap_groups();
        changed |= shrinker.remove_grouped_steps();
        changed |= shrinker.remove_given();
        changed |= shrinker.simplify_steps();
        if !changed || shrinker.exhausted() {
            break;
        }
    }
    shrinker.rename_people();

    let exhausted = shrinker.exhausted();
    let Shrinker { best, runs, .. } = shrinker;
    Shrunk { after: Size::of(&best), candidate: best, before, runs, exhausted }
}

struct Shrinker<'a> {
    best: Candidate,
    runs: usize,
    budget: usize,
    diverges: &'a mut dyn FnMut(&Candidate) -> Option<usize>,
    progress: &'a mut dyn FnMut(usize, Size),
}

impl Shrinker<'_> {
    fn exhausted(&self) -> bool {
        self.runs >= self.budget
    }

    /// Replays `candidate`; keeps it (cut to the prefix it needed) when it still diverges.
    fn attempt(&mut self, mut candidate: Candidate) -> bool {
        repair(&mut candidate);
        if self.exhausted() {
            return false;
        }
        self.runs += 1;
        let Some(prefix) = (self.diverges)(&candidate) else { return false };
        candidate.steps.truncate(prefix);
        repair(&mut candidate);
        self.best = candidate;
        (self.progress)(self.runs, Size::of(&self.best));
        true
    }

    /// Removes chunks of top-level steps, from half the steps down to single ones.
    fn remove_steps(&mut self) -> bool {
        self.remove_chunks(
            |candidate| candidate.steps.len(),
            |candidate, range| drop(candidate.steps.drain(range)),
        )
    }

    /// Removes chunks of one list, from half of it down to single items, keeping every removal
    /// after which the candidate still diverges.
    fn remove_chunks(
        &mut self,
        len: impl Fn(&Candidate) -> usize,
        remove: impl Fn(&mut Candidate, Range<usize>),
    ) -> bool {
        let mut changed = false;
        let mut chunk = (len(&self.best) / 2).max(1);
        loop {
            let mut removed = false;
            let mut start = 0;
            while start < len(&self.best) && !self.exhausted() {
                let mut candidate = self.best.clone();
                let end = (start + chunk).min(len(&candidate));
                remove(&mut candidate, start..end);
                if self.attempt(candidate) {
                    removed = true;
                } else {
                    start += chunk;
                }
            }
            changed |= removed;
            if self.exhausted() || (chunk == 1 && !removed) {
                return changed;
            }
            chunk = (chunk / 2).max(1);
        }
    }

    /// Replaces shuffled groups by their steps in declared order: all at once, then one by one.
    fn unwrap_groups(&mut self) -> bool {
        let groups = |candidate: &Candidate| -> Vec<usize> {
            let steps = candidate.steps.iter().enumerate();
            steps.filter(|(_, step)| matches!(step, Step::Shuffled(_))).map(|(i, _)| i).collect()
        };
        if groups(&self.best).is_empty() {
            return false;
        }
        let mut all = self.best.clone();
        all.steps = all.steps.into_iter().flat_map(unwrap_group).collect();
        if self.attempt(all) {
            return true;
        }
        let mut changed = false;
        let mut index = 0;
        while let Some(&group) = groups(&self.best).get(index) {
            let mut candidate = self.best.clone();
            let steps = unwrap_group(candidate.steps.remove(group));
            candidate.steps.splice(group..group, steps);
            if self.attempt(candidate) {
                changed = true;
            } else {
                index += 1;
            }
        }
        changed
    }

    /// Removes single steps from inside the shuffled groups that remain.
    fn remove_grouped_steps(&mut self) -> bool {
        let mut changed = false;
        let mut index = 0;
        while !self.exhausted() {
            let grouped =
                positions(&self.best.steps).into_iter().filter(|(_, inner)| inner.is_some());
            let Some((outer, Some(inner))) = grouped.into_iter().nth(index) else { break };
            let mut candidate = self.best.clone();
            if let Step::Shuffled(group) = &mut candidate.steps[outer] {
                group.remove(inner);
            }
            if self.attempt(candidate) {
                changed = true;
            } else {
                index += 1;
            }
        }
        changed
    }

    /// Removes set-up items: features, rules, billing customers.
    fn remove_given(&mut self) -> bool {
        let mut changed = self.remove_chunks(
            |candidate| candidate.given.features.len(),
            |candidate, range| drop(candidate.given.features.drain(range)),
        );
        changed |= self.remove_chunks(
            |candidate| candidate.given.rules.len(),
            |candidate, range| drop(candidate.given.rules.drain(range)),
        );
        changed |= self.remove_chunks(
            |candidate| candidate.given.billing_customers.len(),
            |candidate, range| drop(candidate.given.billing_customers.drain(range)),
        );
        changed
    }

    /// Strips what each remaining step may not need: single properties, traits, fields and
    /// conditions, anonymous ids, imported customers.
    fn simplify_steps(&mut self) -> bool {
        let mut changed = false;
        let (mut index, mut variant) = (0, 0);
        while !self.exhausted() {
            let Some(&position) = positions(&self.best.steps).get(index) else { break };
            let step = step_at(&self.best.steps, position).expect("a position of the best");
            let Some(simpler) = simpler_steps(step).into_iter().nth(variant) else {
                (index, variant) = (index + 1, 0);
                continue;
            };
            let mut candidate = self.best.clone();
            *step_at_mut(&mut candidate.steps, position).expect("a copy of the best") = simpler;
            // A kept variant shortens the list of variants, so the same number is the next one.
            if self.attempt(candidate) {
                changed = true;
            } else {
                variant += 1;
            }
        }
        let (mut index, mut variant) = (0, 0);
        while !self.exhausted() {
            let Some(rule) = self.best.given.rules.get(index) else { break };
            let Some(simpler) = simpler_rules(rule).into_iter().nth(variant) else {
                (index, variant) = (index + 1, 0);
                continue;
            };
            let mut candidate = self.best.clone();
            candidate.given.rules[index] = simpler;
            if self.attempt(candidate) {
                changed = true;
            } else {
                variant += 1;
            }
        }
        changed
    }

    /// Gives the people readable names (`ada`, `grace`, ...) in order of appearance. A person's
    /// generated values derive from their name, so this is replayed like any other change.
    fn rename_people(&mut self) {
        let people = people_in(&self.best);
        if people.is_empty() || people.len() > NAMES.len() {
            return;
        }
        let names: HashMap<String, String> =
            people.into_iter().zip(NAMES).map(|(old, new)| (old, new.to_owned())).collect();
        if names.iter().all(|(old, new)| old == new) {
            return;
        }
        let mut candidate = self.best.clone();
        rename(&mut candidate, &names);
        self.attempt(candidate);
    }
}

/// Names for the people of a shrunk scenario, as the hand-written scenarios use them.
const NAMES: [&str; 16] = [
    "ada", "grace", "alan", "barbara", "edsger", "frances", "donald", "margaret", "niklaus",
    "radia", "ken", "hedy", "john", "karen", "dennis", "shafi",
];

fn unwrap_group(step: Step) -> Vec<Step> {
    match step {
        Step::Shuffled(group) => group,
        step => vec![step],
    }
}

/// Where a step sits: its top-level index, and its index inside a shuffled group.
type Position = (usize, Option<usize>);

fn positions(steps: &[Step]) -> Vec<Position> {
    let mut positions = Vec::new();
    for (outer, step) in steps.iter().enumerate() {
        match step {
            Step::Shuffled(group) => positions.extend((0..group.len()).map(|i| (outer, Some(i)))),
            _ => positions.push((outer, None)),
        }
    }
    positions
}

fn step_at(steps: &[Step], (outer, inner): Position) -> Option<&Step> {
    match (steps.get(outer)?, inner) {
        (Step::Shuffled(group), Some(inner)) => group.get(inner),
        (step, None) => Some(step),
        _ => None,
    }
}

fn step_at_mut(steps: &mut [Step], (outer, inner): Position) -> Option<&mut Step> {
    match (steps.get_mut(outer)?, inner) {
        (Step::Shuffled(group), Some(inner)) => group.get_mut(inner),
        (step, None) => Some(step),
        _ => None,
    }
}

/// Each way of making one step a little simpler.
fn simpler_steps(step: &Step) -> Vec<Step> {
    match step {
        Step::Identify(send) => simpler_sends(send).into_iter().map(Step::Identify).collect(),
        Step::Track(send) => simpler_sends(send).into_iter().map(Step::Track).collect(),
        Step::Message(send) => simpler_sends(send).into_iter().map(Step::Message).collect(),
        Step::CreateRule(rule) => simpler_rules(rule).into_iter().map(Step::CreateRule).collect(),
        Step::ImportBillingCustomers(import) if import.customers.len() > 1 => {
            (0..import.customers.len())
                .map(|index| {
                    let mut import = import.clone();
                    import.customers.remove(index);
                    Step::ImportBillingCustomers(import)
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn simpler_sends(send: &Send) -> Vec<Send> {
    let mut simpler = Vec::new();
    for key in object_keys(send.properties.as_ref()) {
        let properties = without_key(send.properties.as_ref(), &key);
        simpler.push(Send { properties, ..send.clone() });
    }
    for key in object_keys(send.traits.as_ref()) {
        // Traits stay an object: an identify without any is a different message.
        let traits = without_key(send.traits.as_ref(), &key).or(Some(Value::Object(Map::new())));
        simpler.push(Send { traits, ..send.clone() });
    }
    for key in send.fields.keys() {
        let mut fields = send.fields.clone();
        fields.remove(key);
        simpler.push(Send { fields, ..send.clone() });
    }
    if send.anonymous.is_some() && send.user.is_some() {
        simpler.push(Send { anonymous: None, ..send.clone() });
    }
    simpler
}

fn simpler_rules(rule: &RuleStep) -> Vec<RuleStep> {
    let mut simpler = Vec::new();
    for path in rule.properties.keys() {
        if rule.event.is_some() || rule.properties.len() > 1 {
            let mut properties = rule.properties.clone();
            properties.remove(path);
            simpler.push(RuleStep { properties, ..rule.clone() });
        }
    }
    if rule.event.is_some() && !rule.properties.is_empty() {
        simpler.push(RuleStep { event: None, ..rule.clone() });
    }
    simpler
}

fn object_keys(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The object without `key`; none when nothing is left.
fn without_key(value: Option<&Value>, key: &str) -> Option<Value> {
    let Some(Value::Object(map)) = value else { return value.cloned() };
    let mut map = map.clone();
    map.remove(key);
    (!map.is_empty()).then_some(Value::Object(map))
}

/// Keeps a candidate well-formed after steps were removed: drops `redeliver` steps whose
/// original is gone, names nobody refers to, and groups that no longer group anything.
pub(crate) fn repair(candidate: &mut Candidate) {
    let mut delivered = BTreeSet::new();
    let steps = std::mem::take(&mut candidate.steps);
    candidate.steps =
        steps.into_iter().filter_map(|step| keep_step(step, &mut delivered)).collect();

    let mut referenced = BTreeSet::new();
    for step in &candidate.steps {
        for inner in unwrap_ref(step) {
            if let Step::Redeliver(redeliver) = inner {
                referenced.insert(redeliver.step.clone());
            }
        }
    }
    for step in &mut candidate.steps {
        for inner in unwrap_mut(step) {
            let name = match inner {
                Step::Identify(send) | Step::Track(send) | Step::Message(send) => &mut send.name,
                Step::Raw(raw) => &mut raw.name,
                _ => continue,
            };
            if name.as_ref().is_some_and(|name| !referenced.contains(name)) {
                *name = None;
            }
        }
    }
}

fn keep_step(step: Step, delivered: &mut BTreeSet<String>) -> Option<Step> {
    match step {
        Step::Shuffled(group) => {
            let mut group: Vec<Step> =
                group.into_iter().filter_map(|inner| keep_step(inner, delivered)).collect();
            // A group of one is delivered as it is: shuffling one step draws nothing.
            match group.len() {
                0 => None,
                1 => group.pop(),
                _ => Some(Step::Shuffled(group)),
            }
        }
        Step::Redeliver(redeliver) if !delivered.contains(&redeliver.step) => None,
        step => {
            let name = match &step {
                Step::Identify(send) | Step::Track(send) | Step::Message(send) => &send.name,
                Step::Raw(raw) => &raw.name,
                _ => &None,
            };
            if let Some(name) = name {
                delivered.insert(name.clone());
            }
            Some(step)
        }
    }
}

fn unwrap_ref(step: &Step) -> Vec<&Step> {
    match step {
        Step::Shuffled(group) => group.iter().collect(),
        step => vec![step],
    }
}

fn unwrap_mut(step: &mut Step) -> Vec<&mut Step> {
    match step {
        Step::Shuffled(group) => group.iter_mut().collect(),
        step => vec![step],
    }
}

/// The people a candidate mentions, in order of first appearance.
fn people_in(candidate: &Candidate) -> Vec<String> {
    let mut people: Vec<String> = Vec::new();
    let mut note = |name: &str| {
        if !people.iter().any(|known| known == name) {
            people.push(name.to_owned());
        }
    };
    let mut candidate = candidate.clone();
    visit(&mut candidate, &mut |text, kind| match kind {
        Text::Person => note(text),
        Text::Free => placeholder_people(text).iter().for_each(|name| note(name)),
    });
    people
}

/// Renames people everywhere: `user`, `anonymous`, customers, and placeholders in any string.
fn rename(candidate: &mut Candidate, names: &HashMap<String, String>) {
    visit(candidate, &mut |text, kind| match kind {
        Text::Person => {
            if let Some(new) = names.get(text.as_str()) {
                *text = new.clone();
            }
        }
        Text::Free => {
            for person in placeholder_people(text) {
                if let Some(new) = names.get(&person) {
                    *text = text.replace(&format!("{{{person}."), &format!("{{{new}."));
                }
            }
        }
    });
}

/// What a visited string is: a person's name, or text that may hold placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    Person,
    Free,
}

/// Calls `f` on every string of a candidate that may name a person.
fn visit(candidate: &mut Candidate, f: &mut dyn FnMut(&mut String, Text)) {
    for rule in &mut candidate.given.rules {
        visit_rule(rule, f);
    }
    for customer in &mut candidate.given.billing_customers {
        visit_customer(customer, f);
    }
    for step in &mut candidate.steps {
        for inner in unwrap_mut(step) {
            visit_step(inner, f);
        }
    }
}

fn visit_step(step: &mut Step, f: &mut dyn FnMut(&mut String, Text)) {
    match step {
        Step::Identify(send) | Step::Track(send) | Step::Message(send) => {
            for person in [&mut send.user, &mut send.anonymous].into_iter().flatten() {
                f(person, Text::Person);
            }
            for value in [&mut send.traits, &mut send.properties].into_iter().flatten() {
                visit_value(value, f);
            }
            if let Some(event) = &mut send.event {
                f(event, Text::Free);
            }
            send.fields.values_mut().for_each(|value| visit_value(value, f));
        }
        Step::Raw(raw) => f(&mut raw.body, Text::Free),
        Step::CreateFeature(feature) => f(&mut feature.id, Text::Free),
        Step::CreateRule(rule) => visit_rule(rule, f),
        Step::ImportBillingCustomers(import) => {
            import.customers.iter_mut().for_each(|customer| visit_customer(customer, f));
        }
        Step::Redeliver(_) | Step::Shuffled(_) => {}
    }
}

fn visit_rule(rule: &mut RuleStep, f: &mut dyn FnMut(&mut String, Text)) {
    f(&mut rule.feature, Text::Free);
    if let Some(event) = &mut rule.event {
        f(event, Text::Free);
    }
    rule.properties.values_mut().for_each(|value| visit_value(value, f));
}

fn visit_customer(customer: &mut Customer, f: &mut dyn FnMut(&mut String, Text)) {
    match customer {
        Customer::Person(name) => f(name, Text::Person),
        Customer::Fields(fields) => {
            f(&mut fields.billing_id, Text::Free);
            for text in [&mut fields.email, &mut fields.name].into_iter().flatten() {
                f(text, Text::Free);
            }
        }
    }
}

fn visit_value(value: &mut Value, f: &mut dyn FnMut(&mut String, Text)) {
    match value {
        Value::String(text) => f(text, Text::Free),
        Value::Array(items) => items.iter_mut().for_each(|item| visit_value(item, f)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (mut key, mut value) in entries {
                f(&mut key, Text::Free);
                visit_value(&mut value, f);
                map.insert(key, value);
            }
        }
        _ => {}
    }
}

/// The people named by placeholders (`{ada.email}`, `{ada.email|upper}`) in a string.
fn placeholder_people(text: &str) -> Vec<String> {
    let mut people = Vec::new();
    for (start, _) in text.match_indices('{') {
        let rest = &text[start + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if end > 0 && rest[end..].starts_with('.') {
            people.push(rest[..end].to_owned());
        }
    }
    people
}
