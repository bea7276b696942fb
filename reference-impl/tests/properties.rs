//! Properties of the engine over generated command sequences: redelivering an accepted message
//! changes nothing, the order of Track events does not change usage, a rule created late maps as
//! if it had been there first (when no event matches two rules), no accepted Track disappears,
//! and users and flags stay consistent with each other.
//!
//! The generators draw from small pools (four users, three emails, three features) so that
//! sequences collide often: shared emails, repeated billing ids and competing rules are the
//! common case here, not the exception. Case counts stay modest so that `cargo test` stays fast.

use std::collections::{BTreeMap, BTreeSet};

use kana_reference::engine::{BillingCustomer, Ingested, RuleSpec};
use kana_reference::{CanonicalState, Workspace};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

const USERS: [&str; 4] = ["u1", "u2", "u3", "u4"];
const EMAILS: [&str; 3] = ["ada@example.com", "grace@example.com", "alan@example.com"];
/// The last one is never created: events naming it wait for it.
const FEATURES: [&str; 4] = ["messages", "seats", "exports", "sms"];
const EVENTS: [&str; 3] = ["Message Sent", "Seat Added", "Report Exported"];
const TIERS: [&str; 2] = ["free", "pro"];

/// A valid Track, with the delta it stands for whatever form it is written in.
#[derive(Debug, Clone)]
struct Track {
    user: usize,
    event: usize,
    feature: Option<usize>,
    delta: i64,
    delta_form: Value,
    tier: Option<usize>,
}

impl Track {
    fn body(&self, message_id: &str) -> Value {
        let mut properties = serde_json::Map::new();
        if let Some(feature) = self.feature {
            properties.insert("featureId".into(), FEATURES[feature].into());
        }
        if !self.delta_form.is_null() {
            properties.insert("delta".into(), self.delta_form.clone());
        }
        if let Some(tier) = self.tier {
            properties.insert("plan".into(), json!({ "tier": TIERS[tier] }));
        }
        json!({
            "type": "track",
            "messageId": message_id,
            "userId": USERS[self.user],
            "event": EVENTS[self.event],
            "properties": properties,
        })
    }
}

/// A mapping rule with an event condition, a `plan.tier` condition, or both.
#[derive(Debug, Clone)]
struct Rule {
    feature: usize,
    event: Option<usize>,
    tier: Option<usize>,
}

impl Rule {
    fn spec(&self) -> RuleSpec {
        let properties = self
            .tier
            .map(|tier| BTreeMap::from([("plan.tier".to_owned(), json!(TIERS[tier]))]))
            .unwrap_or_default();
        RuleSpec {
            feature: FEATURES[self.feature].to_owned(),
            event: self.event.map(|event| EVENTS[event].to_owned()),
            properties,
        }
    }

    /// Whether this rule maps `track`, by the specification's own words.
    fn matches(&self, track: &Track) -> bool {
        track.feature.is_none()
            && self.event.is_none_or(|event| event == track.event)
            && self.tier.is_none_or(|tier| track.tier == Some(tier))
    }
}

/// One command to a workspace.
#[derive(Debug, Clone)]
enum Op {
    Identify(Value),
    Track(Track),
    /// A message the destination must refuse.
    Bad(Vec<u8>),
    /// The very same bytes as an earlier message, accepted or not.
    Redeliver(Index),
    Feature(usize),
    Rule(Rule),
    Import(Vec<BillingCustomer>),
}

fn track() -> impl Strategy<Value = Track> {
    let delta = prop_oneof![
        Just((1, Value::Null)),
        (-3i64..10).prop_map(|delta| (delta, json!(delta))),
        (1i64..9).prop_map(|delta| (delta, json!(format!(" {delta} ")))),
        (1i64..4).prop_map(|delta| (delta, json!(delta as f64))),
    ];
    let feature = prop::option::weighted(0.4, 0..FEATURES.len());
    (0..USERS.len(), 0..EVENTS.len(), feature, delta, prop::option::of(0..TIERS.len())).prop_map(
        |(user, event, feature, (delta, delta_form), tier)| Track {
            user,
            event,
            feature,
            delta,
            delta_form,
            tier,
        },
    )
}

fn rule() -> impl Strategy<Value = Rule> {
    let features = 0..FEATURES.len() - 1;
    (features, prop::option::of(0..EVENTS.len()), prop::option::of(0..TIERS.len())).prop_map(
        |(feature, event, tier)| {
            // A rule needs a condition; without one, it names the event.
            let event = if event.is_none() && tier.is_none() { Some(feature % 3) } else { event };
            Rule { feature, event, tier }
        },
    )
}

/// An email in one of the spellings that must all match: as stored, upper case, padded.
fn email() -> impl Strategy<Value = String> {
    (0..EMAILS.len(), 0..3usize).prop_map(|(email, spelling)| match spelling {
        0 => EMAILS[email].to_owned(),
        1 => EMAILS[email].to_uppercase(),
        _ => format!("  {}  ", EMAILS[email]),
    })
}

fn identify() -> impl Strategy<Value = Value> {
    let name = prop::option::of(prop_oneof![Just("Ada"), Just("Grace"), Just("   ")]);
    let billing = prop::option::weighted(0.3, 0..3usize);
    (0..USERS.len(), prop::option::weighted(0.8, email()), name, billing).prop_map(
        |(user, email, name, billing)| {
            let mut traits = serde_json::Map::new();
            if let Some(email) = email {
                traits.insert("email".into(), email.into());
            }
            if let Some(name) = name {
                traits.insert("name".into(), name.into());
            }
            if let Some(billing) = billing {
                traits.insert("billingUserId".into(), format!("cus_{billing}").into());
            }
            json!({ "type": "identify", "userId": USERS[user], "traits": traits })
        },
    )
}

fn customers() -> impl Strategy<Value = Vec<BillingCustomer>> {
    let customer = (0..3usize, prop::option::of(email())).prop_map(|(billing, email)| {
        BillingCustomer { billing_id: format!("cus_{billing}"), email, name: None }
    });
    prop::collection::vec(customer, 1..3)
}

fn bad() -> impl Strategy<Value = Vec<u8>> {
    let messages = [
        json!({ "type": "track", "userId": "u1", "event": "E", "properties": { "delta": 1.5 } }),
        json!({ "type": "track", "userId": "u1" }),
        json!({ "type": "identify", "userId": "u2", "traits": { "email": 42 } }),
        json!({ "type": "identify", "anonymousId": "a-1" }),
        json!({ "type": "page", "userId": "u3" }),
    ];
    let mut bodies: Vec<Vec<u8>> = messages
        .into_iter()
        .map(|mut message| {
            message["messageId"] = json!("bad");
            message.to_string().into_bytes()
        })
        .collect();
    bodies.push(b"not json".to_vec());
    prop::sample::select(bodies)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => identify().prop_map(Op::Identify),
        6 => track().prop_map(Op::Track),
        1 => bad().prop_map(Op::Bad),
        1 => any::<Index>().prop_map(Op::Redeliver),
        1 => (0..FEATURES.len() - 1).prop_map(Op::Feature),
        1 => rule().prop_map(Op::Rule),
        1 => customers().prop_map(Op::Import),
    ]
}

/// Sequences of up to `max` commands.
fn ops(max: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..max)
}

/// What applying a sequence of commands accepted.
#[derive(Debug, Default)]
struct Log {
    /// Every body delivered, in order, and whether it was accepted the first time.
    bodies: Vec<(Vec<u8>, bool)>,
    /// Accepted, non-duplicate Tracks by `messageId`.
    tracks: BTreeMap<String, Track>,
    /// `userId`s of accepted messages.
    user_ids: BTreeSet<String>,
}

/// Applies `ops` in order; every message gets a fresh `messageId` unless it is a redelivery.
fn apply(workspace: &mut Workspace, ops: &[Op]) -> Log {
    let mut log = Log::default();
    for (index, op) in ops.iter().enumerate() {
        let message_id = format!("m-{index:03}");
        match op {
            Op::Identify(message) => {
                let mut message = message.clone();
                message["messageId"] = json!(message_id);
                deliver(workspace, &mut log, message.to_string().into_bytes(), None);
            }
            Op::Track(track) => {
                let body = track.body(&message_id).to_string().into_bytes();
                deliver(workspace, &mut log, body, Some((message_id, track.clone())));
            }
            Op::Bad(body) => {
                let accepted = workspace.ingest(body).is_ok();
                assert!(!accepted, "a bad message was accepted: {}", String::from_utf8_lossy(body));
                log.bodies.push((body.clone(), false));
            }
            Op::Redeliver(index) if !log.bodies.is_empty() => {
                let (body, accepted) = log.bodies[index.index(log.bodies.len())].clone();
                let outcome = workspace.ingest(&body);
                match accepted {
                    true => assert_eq!(outcome, Ok(Ingested::Duplicate)),
                    false => assert!(outcome.is_err(), "a refused message was accepted later"),
                }
            }
            Op::Redeliver(_) => {}
            Op::Feature(feature) => {
                workspace.create_feature(FEATURES[*feature]).expect("feature ids are valid");
            }
            Op::Rule(rule) => {
                // A rule naming a feature that does not exist yet is refused; that is fine here.
                let _ = workspace.create_rule(&rule.spec());
            }
            Op::Import(customers) => {
                workspace.import_billing_customers(customers).expect("customers are valid");
            }
        }
    }
    log
}

fn deliver(
    workspace: &mut Workspace,
    log: &mut Log,
    body: Vec<u8>,
    track: Option<(String, Track)>,
) {
    let outcome = workspace.ingest(&body);
    let accepted = matches!(outcome, Ok(ref ingested) if *ingested != Ingested::Duplicate);
    if accepted {
        let message: Value = serde_json::from_slice(&body).expect("generated bodies are JSON");
        log.user_ids.insert(message["userId"].as_str().unwrap_or_default().to_owned());
        if let Some((message_id, track)) = track {
            log.tracks.insert(message_id, track);
        }
    }
    log.bodies.push((body, accepted));
}

fn with_features() -> Workspace {
    let mut workspace = Workspace::new();
    for feature in &FEATURES[..FEATURES.len() - 1] {
        workspace.create_feature(feature).expect("feature ids are valid");
    }
    workspace
}

fn deliver_tracks(workspace: &mut Workspace, tracks: &[(String, Track)]) {
    for (message_id, track) in tracks {
        let body = track.body(message_id).to_string();
        workspace.ingest(body.as_bytes()).expect("generated tracks are valid");
    }
}

/// Numbers tracks so that each keeps its `messageId` whatever order it is delivered in.
fn numbered(tracks: Vec<Track>) -> Vec<(String, Track)> {
    tracks.into_iter().enumerate().map(|(index, track)| (format!("t-{index:03}"), track)).collect()
}

fn user_label(user: &kana_reference::engine::UserState) -> String {
    match (&user.id, &user.billing_id) {
        (Some(id), _) => id.clone(),
        (None, Some(billing_id)) => format!("billingId:{billing_id}"),
        (None, None) => panic!("a user has neither an `id` nor a `billingId`: {user:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn redelivering_any_accepted_message_changes_nothing(ops in ops(40)) {
        let mut workspace = Workspace::new();
        let log = apply(&mut workspace, &ops);
        let before = workspace.state();

        for (body, _) in log.bodies.iter().filter(|(_, accepted)| *accepted) {
            prop_assert_eq!(workspace.ingest(body), Ok(Ingested::Duplicate));
            prop_assert_eq!(&workspace.state(), &before);
        }
    }

    #[test]
    fn the_same_tracks_in_any_order_give_the_same_usage(
        rules in prop::collection::vec(rule(), 0..4),
        (tracks, shuffled) in prop::collection::vec(track(), 1..30).prop_flat_map(|tracks| {
            let tracks = numbered(tracks);
            (Just(tracks.clone()), Just(tracks).prop_shuffle())
        }),
    ) {
        let (mut in_order, mut reordered) = (with_features(), with_features());
        for rule in &rules {
            in_order.create_rule(&rule.spec()).expect("rules name existing features");
            reordered.create_rule(&rule.spec()).expect("rules name existing features");
        }

        deliver_tracks(&mut in_order, &tracks);
        deliver_tracks(&mut reordered, &shuffled);

        let (expected, actual) = (in_order.state(), reordered.state());
        prop_assert_eq!(&expected.usage, &actual.usage);
        prop_assert_eq!(expected, actual);
    }

    #[test]
    fn a_late_rule_maps_unmapped_events_as_if_it_had_come_first(
        rules in prop::collection::vec(rule(), 1..4),
        tracks in prop::collection::vec(track(), 1..30),
        positions in prop::collection::vec(any::<Index>(), 4),
    ) {
        // The property holds when no event matches two rules, so such events are left out.
        let tracks: Vec<Track> = tracks
            .into_iter()
            .filter(|track| rules.iter().filter(|rule| rule.matches(track)).count() < 2)
            .collect();
        let tracks = numbered(tracks);

        let mut first = with_features();
        for rule in &rules {
            first.create_rule(&rule.spec()).expect("rules name existing features");
        }
        deliver_tracks(&mut first, &tracks);

        // The same rules, in the same order, each created after a random number of events.
        let mut cuts: Vec<usize> =
            positions.iter().take(rules.len()).map(|p| p.index(tracks.len() + 1)).collect();
        cuts.sort_unstable();
        let mut late = with_features();
        let mut delivered = 0;
        for (rule, cut) in rules.iter().zip(cuts) {
            deliver_tracks(&mut late, &tracks[delivered..cut]);
            delivered = cut;
            late.create_rule(&rule.spec()).expect("rules name existing features");
        }
        deliver_tracks(&mut late, &tracks[delivered..]);

        prop_assert_eq!(first.state(), late.state());
    }

    #[test]
    fn every_accepted_track_is_mapped_or_listed_as_unmapped(ops in ops(60)) {
        let mut workspace = Workspace::new();
        let log = apply(&mut workspace, &ops);
        let state = workspace.state();

        let accepted = log.tracks.len() as u64;
        prop_assert_eq!(state.events.track, accepted);
        prop_assert_eq!(state.events.mapped + state.events.unmapped, accepted);
        prop_assert_eq!(state.unmapped.len() as u64, state.events.unmapped);

        // Each unmapped entry is an accepted Track; all the others count towards their user.
        let mut mapped_deltas: BTreeMap<String, i128> = BTreeMap::new();
        let unmapped: BTreeSet<&str> =
            state.unmapped.iter().map(|event| event.message_id.as_str()).collect();
        for event in &state.unmapped {
            let track = log.tracks.get(&event.message_id);
            prop_assert!(track.is_some(), "unmapped `{}` was never accepted", event.message_id);
            let track = track.expect("checked above");
            prop_assert_eq!(&event.user_id, USERS[track.user]);
            prop_assert_eq!(&event.event, EVENTS[track.event]);
        }
        for (message_id, track) in &log.tracks {
            if !unmapped.contains(message_id.as_str()) {
                let total = mapped_deltas.entry(USERS[track.user].to_owned()).or_default();
                *total += i128::from(track.delta);
            }
        }
        let usage: BTreeMap<String, i128> = state
            .usage
            .iter()
            .map(|(user, features)| (user.clone(), features.values().sum()))
            .collect();
        let users_with_mapped: BTreeSet<&String> = mapped_deltas.keys().collect();
        prop_assert_eq!(usage.keys().collect::<BTreeSet<_>>(), users_with_mapped);
        for (user, total) in &usage {
            prop_assert_eq!(Some(total), mapped_deltas.get(user), "usage of `{}`", user);
        }
    }

    #[test]
    fn no_two_users_share_an_id_and_every_flag_matches_the_users(
        ops in ops(60),
    ) {
        let mut workspace = Workspace::new();
        let log = apply(&mut workspace, &ops);
        let state = workspace.state();
        check_users_and_flags(&state, &log)?;
    }
}

fn check_users_and_flags(state: &CanonicalState, log: &Log) -> Result<(), TestCaseError> {
    let ids: Vec<&String> = state.users.iter().filter_map(|user| user.id.as_ref()).collect();
    let unique: BTreeSet<&String> = ids.iter().copied().collect();
    prop_assert_eq!(unique.len(), ids.len(), "two users share an id: {:?}", ids);
    let labels: Vec<String> = state.users.iter().map(user_label).collect();
    prop_assert_eq!(labels.iter().collect::<BTreeSet<_>>().len(), labels.len());

    // Nobody who sent an accepted message is lost, and all usage belongs to a user.
    for user_id in &log.user_ids {
        prop_assert!(unique.contains(user_id), "user `{}` disappeared", user_id);
    }
    for user_id in state.usage.keys() {
        prop_assert!(unique.contains(user_id), "usage of `{}`, who is no user", user_id);
    }

    let mut without_billing: Vec<String> =
        state.users.iter().filter(|user| user.billing_id.is_none()).map(user_label).collect();
    without_billing.sort();
    prop_assert_eq!(&state.flags.without_billing_id, &without_billing);

    let mut by_email: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for user in &state.users {
        if let Some(email) = &user.email {
            by_email.entry(email.trim().to_lowercase()).or_default().push(user_label(user));
        }
    }
    let shared: Vec<(String, Vec<String>)> = by_email
        .into_iter()
        .filter(|(_, users)| users.len() > 1)
        .map(|(email, mut users)| {
            users.sort();
            (email, users)
        })
        .collect();
    let flagged: Vec<(String, Vec<String>)> = state
        .flags
        .shared_emails
        .iter()
        .map(|group| (group.email.clone(), group.users.clone()))
        .collect();
    prop_assert_eq!(flagged, shared);
    Ok(())
}
