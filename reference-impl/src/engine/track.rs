//! Stored Track events, their mapping to features, and usage totals.
//!
//! Every accepted Track is kept. An event with a `featureId` counts towards that feature; one
//! without is mapped by the earliest-created rule that matches it. Events that cannot be mapped
//! yet wait in one of two indexes: by event name (waiting for a rule) or by the missing feature's
//! id (waiting for that feature). Creating a rule or a feature only visits the events waiting for
//! it, so its cost grows with the number of unmapped events that could match, never with the
//! whole store.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::faults::Faults;
use super::message::Track;
use super::rule::Rule;

/// A Track as the workspace keeps it.
#[derive(Debug, Clone)]
pub(crate) struct StoredTrack {
    pub message_id: String,
    pub user_id: String,
    pub event: String,
    pub feature_id: Option<String>,
    pub delta: i64,
    pub properties: Map<String, Value>,
    /// The feature the event counts towards, once it is mapped.
    pub mapped_to: Option<String>,
}

/// What happened to an accepted Track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackOutcome {
    /// The event counts towards this feature.
    Mapped { feature: String },
    /// The event is stored but counts towards nothing yet.
    Unmapped,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Tracks {
    events: Vec<StoredTrack>,
    features: BTreeSet<String>,
    /// Rules in creation order; an earlier rule wins when several match.
    rules: Vec<Rule>,
    rules_by_event: HashMap<String, Vec<usize>>,
    rules_for_any_event: Vec<usize>,
    waiting_for_rule: HashMap<String, BTreeSet<usize>>,
    waiting_for_feature: HashMap<String, BTreeSet<usize>>,
    usage: BTreeMap<String, BTreeMap<String, i128>>,
    mapped: u64,
    faults: Faults,
}

impl Tracks {
    pub fn with_faults(faults: Faults) -> Self {
        Self { faults, ..Self::default() }
    }

    pub fn events(&self) -> &[StoredTrack] {
        &self.events
    }

    pub fn features(&self) -> &BTreeSet<String> {
        &self.features
    }

    pub fn has_feature(&self, id: &str) -> bool {
        self.features.contains(id)
    }

    pub fn usage(&self) -> &BTreeMap<String, BTreeMap<String, i128>> {
        &self.usage
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    pub fn mapped_count(&self) -> u64 {
        self.mapped
    }

    /// The unmapped events, in no particular order: the canonical state sorts them.
    pub fn unmapped(&self) -> impl Iterator<Item = &StoredTrack> {
        let waiting = self.waiting_for_rule.values().chain(self.waiting_for_feature.values());
        waiting.flatten().map(|&slot| &self.events[slot])
    }

    pub fn record(&mut self, track: Track) -> TrackOutcome {
        let slot = self.events.len();
        self.events.push(StoredTrack {
            message_id: track.message_id,
            user_id: track.user_id,
            event: track.event,
            feature_id: track.feature_id,
            delta: track.delta,
            properties: track.properties,
            mapped_to: None,
        });

        // An explicit `featureId` is the sender's own statement of what was used, so it wins over
        // any rule; rules are only consulted for events that do not name a feature.
        let stored = &self.events[slot];
        let overriding_rule = self
            .faults
            .rules_override_feature_id
            .then(|| self.first_matching_rule(stored))
            .flatten();
        let target = match &stored.feature_id {
            Some(_) if overriding_rule.is_some() => {
                overriding_rule.map(|rule| self.rules[rule].feature.clone())
            }
            Some(feature) if self.features.contains(feature) => Some(feature.clone()),
            Some(feature) => {
                let feature = feature.clone();
                self.waiting_for_feature.entry(feature).or_default().insert(slot);
                None
            }
            None => match self.first_matching_rule(stored) {
                Some(rule) => Some(self.rules[rule].feature.clone()),
                None => {
                    let event = stored.event.clone();
                    self.waiting_for_rule.entry(event).or_default().insert(slot);
                    None
                }
            },
        };

        match target {
            Some(feature) => {
                self.map(slot, &feature);
                TrackOutcome::Mapped { feature }
            }
            None => TrackOutcome::Unmapped,
        }
    }

    /// Adds a feature and maps the events that named it before it existed. Returns whether the
    /// feature is new and how many events it mapped.
    pub fn add_feature(&mut self, id: &str) -> (bool, usize) {
        if !self.features.insert(id.to_owned()) {
            return (false, 0);
        }
        let waiting = self.waiting_for_feature.remove(id).unwrap_or_default();
        for &slot in &waiting {
            self.map(slot, id);
        }
        (true, waiting.len())
    }

    /// Adds a rule and applies it retroactively. Returns how many waiting events it mapped.
    ///
    /// Only events that no earlier rule matched are waiting, so mapping them with the new rule
    /// gives the same result as if the rule had existed from the start, except where an event
    /// matches two rules and was already mapped by the other.
    pub fn add_rule(&mut self, rule: Rule) -> usize {
        let index = self.rules.len();
        match &rule.event {
            Some(event) => self.rules_by_event.entry(event.clone()).or_default().push(index),
            None => self.rules_for_any_event.push(index),
        }
        let names: Vec<String> = match &rule.event {
            _ if self.faults.no_retroactive_rules => Vec::new(),
            Some(event) => vec![event.clone()],
            None => self.waiting_for_rule.keys().cloned().collect(),
        };

        let mut remapped = 0;
        for name in names {
            let Some(waiting) = self.waiting_for_rule.get_mut(&name) else { continue };
            let events = &self.events;
            let matched: Vec<usize> = waiting
                .iter()
                .copied()
                .filter(|&slot| rule.matches(&events[slot].event, &events[slot].properties))
                .collect();
            for slot in &matched {
                waiting.remove(slot);
            }
            if waiting.is_empty() {
                self.waiting_for_rule.remove(&name);
            }
            for &slot in &matched {
                self.map(slot, &rule.feature);
            }
            remapped += matched.len();
        }
        self.rules.push(rule);
        remapped
    }

    fn first_matching_rule(&self, event: &StoredTrack) -> Option<usize> {
        let by_name = self.rules_by_event.get(&event.event).into_iter().flatten();
        let matching = by_name
            .chain(&self.rules_for_any_event)
            .copied()
            .filter(|&rule| self.rules[rule].matches(&event.event, &event.properties));
        if self.faults.latest_rule_wins { matching.max() } else { matching.min() }
    }

    fn map(&mut self, slot: usize, feature: &str) {
        let event = &mut self.events[slot];
        event.mapped_to = Some(feature.to_owned());
        // Look up before inserting: most events belong to a user and feature already counted, and
        // `entry` would allocate both keys only to throw them away.
        if !self.usage.contains_key(&event.user_id) {
            self.usage.insert(event.user_id.clone(), BTreeMap::new());
        }
        let totals = self.usage.get_mut(&event.user_id).expect("inserted above");
        let total = match totals.get_mut(feature) {
            Some(total) => total,
            None => totals.entry(feature.to_owned()).or_insert(0),
        };
        // Deltas are 64-bit and totals 128-bit, so no sum of stored events can overflow, and a
        // total never depends on the order its events arrived in.
        *total += i128::from(event.delta);
        self.mapped += 1;
    }
}
