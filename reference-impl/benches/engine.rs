//! Benchmarks of the engine: how fast a workspace ingests Segment messages, and what creating a
//! rule costs once a workspace stores a million events. The `ingest` group feeds 10,000 realistic
//! messages (a fifth Identify, the rest Track, each in the full envelope analytics.js sends) to
//! two benches counted in events: `serde_json_parse_only` parses every body into a
//! `serde_json::Value` and nothing more, the floor for anything that reads the JSON, and
//! `parse_and_apply` ingests the same bodies into a fresh workspace that already has features and
//! rules. The `retroactive_rule` group holds 1,000,000 stored Track events of which 1% (10,000)
//! no rule maps yet; `create_rule` times a rule that maps exactly those, and its baseline
//! `scan_all_stored_events` walks the properties of all 1,000,000 events once checking the same
//! condition, the least a workspace without an index of unmapped events would have to do. Rule
//! creation should cost in proportion to the unmapped events, not to the size of the store. Every
//! input comes from a fixed-seed generator, so each run measures exactly the same work.

use std::hint::black_box;
use std::sync::LazyLock;

use divan::Bencher;
use divan::counter::ItemsCount;
use kana_reference::Workspace;
use kana_reference::engine::{Identify, Message, RuleSpec, Track};
use serde_json::{Map, Value, json};

fn main() {
    divan::main();
}

/// A fixed-seed xorshift64 generator: the same inputs on every run and every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A version 4 UUID, the shape analytics.js uses for `messageId` and `anonymousId`.
    fn uuid(&mut self) -> String {
        let (high, low) = (self.next_u64(), self.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            high >> 32,
            (high >> 16) & 0xffff,
            high & 0xfff,
            (low >> 48) & 0x3fff | 0x8000,
            low & 0xffff_ffff_ffff,
        )
    }
}

const FIRST_NAMES: &[&str] =
    &["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Frances"];
const LAST_NAMES: &[&str] =
    &["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson"];

fn user_id(user: usize) -> String {
    format!("user_{user:06}")
}

fn user_name(user: usize) -> String {
    let first = FIRST_NAMES[user % FIRST_NAMES.len()];
    let last = LAST_NAMES[(user / FIRST_NAMES.len()) % LAST_NAMES.len()];
    format!("{first} {last}")
}

fn user_email(user: usize) -> String {
    let name = user_name(user).to_lowercase().replace(' ', ".");
    format!("{name}.{user}@example.com")
}

/// Each user keeps one billing id, so Identify traffic never brings conflicting ones.
fn billing_id(user: usize) -> String {
    format!("cus_{:014X}", (user as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 8)
}

/// A workspace with the features and rules a customer sets up before traffic arrives.
fn configured_workspace() -> Workspace {
    let mut workspace = Workspace::new();
    for feature in ["messages", "exports", "seats", "api-calls", "storage"] {
        workspace.create_feature(feature).expect("feature ids are valid");
    }
    let rules = [
        json!({"feature": "exports", "event": "Report Exported", "properties": {"format": "csv"}}),
        json!({"feature": "messages", "event": "Message Sent", "properties": {"plan.tier": "pro"}}),
    ];
    for rule in rules {
        let spec: RuleSpec = serde_json::from_value(rule).expect("rule specs are well-formed");
        workspace.create_rule(&spec).expect("rules name existing features");
    }
    workspace
}

mod ingest {
    //! Throughput of `Workspace::ingest` against parsing the same JSON and nothing else.

    use super::*;

    const MESSAGES: usize = 10_000;
    const USERS: usize = 400;
    const SEED: u64 = 0x5e67_e47d_0000_0001;

    static BODIES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(segment_messages);

    #[divan::bench(sample_count = 40)]
    fn serde_json_parse_only(bencher: Bencher) {
        let bodies = &*BODIES;
        bencher.counter(ItemsCount::new(bodies.len())).bench_local(|| {
            for body in bodies {
                let value: Value = serde_json::from_slice(black_box(body)).expect("valid json");
                black_box(value);
            }
        });
    }

    #[divan::bench(sample_count = 40)]
    fn parse_and_apply(bencher: Bencher) {
        let bodies = &*BODIES;
        bencher
            .with_inputs(configured_workspace)
            .counter(ItemsCount::new(bodies.len()))
            .bench_local_values(|mut workspace| {
                for body in bodies {
                    workspace.ingest(black_box(body)).expect("every generated message is valid");
                }
                workspace
            });
    }

    /// The message bodies, in arrival order. About one in a hundred is a redelivery of an earlier
    /// message, as Segment retries deliver them.
    fn segment_messages() -> Vec<Vec<u8>> {
        let mut rng = Rng::new(SEED);
        let mut bodies: Vec<Vec<u8>> = Vec::with_capacity(MESSAGES);
        for index in 0..MESSAGES {
            if index > 0 && rng.chance(1) {
                let earlier = bodies[rng.below(index)].clone();
                bodies.push(earlier);
                continue;
            }
            let message =
                if rng.chance(20) { identify(&mut rng, index) } else { track(&mut rng, index) };
            bodies.push(serde_json::to_vec(&message).expect("values serialise"));
        }
        bodies
    }

    fn identify(rng: &mut Rng, index: usize) -> Value {
        let user = rng.below(USERS);
        let mut email = user_email(user);
        // Some clients send the address as typed; the engine matches it case-insensitively.
        if rng.chance(10) {
            email = format!(" {} ", email.to_uppercase());
        }
        let mut traits = json!({
            "name": user_name(user),
            "email": email,
            "plan": *rng.pick(&["free", "pro", "business"]),
            "title": *rng.pick(&["Engineer", "Product Manager", "Designer", "CTO"]),
            "createdAt": iso_time(rng.below(30 * 86_400_000) as u64),
            "company": {"id": format!("org_{}", user / 8), "name": format!("Team {}", user / 8)},
            "avatar": format!("https://cdn.example.com/avatars/{user}.png"),
        });
        if rng.chance(60) {
            traits["billingUserId"] = json!(billing_id(user));
        }
        let mut message = envelope(rng, index, user);
        message["type"] = json!("identify");
        message["traits"] = traits;
        message
    }

    fn track(rng: &mut Rng, index: usize) -> Value {
        let user = rng.below(USERS);
        let (event, mut properties) = track_properties(rng);
        if let Some(delta) = delta(rng) {
            properties["delta"] = delta;
        }
        let mut message = envelope(rng, index, user);
        message["type"] = json!("track");
        message["event"] = json!(event);
        message["properties"] = properties;
        message
    }

    /// The mix: events naming a feature, a few naming one that does not exist yet, events the
    /// configured rules map (one of them through a nested path), and events nothing maps.
    fn track_properties(rng: &mut Rng) -> (&'static str, Value) {
        let roll = rng.below(100);
        match roll {
            0..45 => {
                let (event, feature) = *rng.pick(&[
                    ("Message Sent", "messages"),
                    ("Seat Added", "seats"),
                    ("API Request", "api-calls"),
                    ("File Uploaded", "storage"),
                ]);
                let properties = json!({
                    "featureId": feature,
                    "source": *rng.pick(&["web", "mobile"]),
                    "workspaceSize": rng.below(500),
                });
                (event, properties)
            }
            45..50 => ("Search Performed", json!({"featureId": "semantic-search", "hits": 12})),
            50..70 => {
                let rows = rng.below(10_000);
                ("Report Exported", json!({"format": "csv", "rows": rows, "report": "usage"}))
            }
            70..85 => {
                let plan = json!({"tier": "pro", "seats": rng.below(50) + 1});
                ("Message Sent", json!({"plan": plan, "channel": "email", "recipients": 3}))
            }
            85..92 => ("Report Exported", json!({"format": "pdf", "rows": 40, "report": "audit"})),
            92..96 => ("Message Sent", json!({"plan": {"tier": "free"}, "channel": "sms"})),
            _ => ("Button Clicked", json!({"button": "upgrade", "location": "sidebar"})),
        }
    }

    /// Half the events leave `delta` out; the rest use each accepted spelling of a whole number.
    fn delta(rng: &mut Rng) -> Option<Value> {
        match rng.below(100) {
            0..50 => None,
            50..80 => Some(json!(rng.below(20) + 1)),
            80..90 => Some(json!(format!("{}", rng.below(9) + 1))),
            90..95 => Some(json!(2.0)),
            _ => Some(json!(-1)),
        }
    }

    /// The fields analytics.js puts around every message, whatever its type.
    fn envelope(rng: &mut Rng, index: usize, user: usize) -> Value {
        let created = index as u64 * 870 + rng.below(500) as u64;
        let sent = created + 20 + rng.below(200) as u64;
        let received = sent + 40 + rng.below(300) as u64;
        let (path, title) = *rng.pick(&[
            ("/app/inbox", "Inbox"),
            ("/app/reports", "Reports"),
            ("/app/team", "Team"),
        ]);
        json!({
            "anonymousId": rng.uuid(),
            "channel": "client",
            "context": {
                "ip": format!("198.51.100.{}", rng.below(254) + 1),
                "library": {"name": "analytics.js", "version": "npm:next-1.72.0"},
                "locale": *rng.pick(&["en-US", "en-GB", "de-DE", "fr-FR"]),
                "page": {
                    "path": path,
                    "referrer": "https://www.example.com/",
                    "search": "",
                    "title": format!("{title} - Example App"),
                    "url": format!("https://app.example.com{path}"),
                },
                "timezone": *rng.pick(&["America/New_York", "Europe/Berlin", "Asia/Tokyo"]),
                "userAgent": *rng.pick(&[
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 \
                     (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 \
                     Firefox/125.0",
                ]),
            },
            "integrations": {},
            "messageId": format!("ajs-next-{}", rng.uuid()),
            "originalTimestamp": iso_time(created),
            "receivedAt": iso_time(received),
            "sentAt": iso_time(sent),
            "timestamp": iso_time(received - (sent - created)),
            "userId": user_id(user),
            "version": 2,
        })
    }

    /// An ISO 8601 time, `offset` milliseconds after 2024-05-01T09:00:00Z.
    fn iso_time(offset: u64) -> String {
        let total = offset + 9 * 3_600_000;
        let (day, rest) = (1 + total / 86_400_000, total % 86_400_000);
        let (hour, minute) = (rest / 3_600_000, rest / 60_000 % 60);
        let (second, milli) = (rest / 1000 % 60, rest % 1000);
        format!("2024-05-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
    }
}

mod retroactive_rule {
    //! Creating a rule over a large store: the cost should follow the unmapped events only.

    use super::*;

    const STORED: usize = 1_000_000;
    /// Every hundredth event is unmapped, so 1% of the store waits for a rule.
    const UNMAPPED_EVERY: usize = 100;
    const UNMAPPED: usize = STORED / UNMAPPED_EVERY;
    const USERS: usize = 20_000;
    const SEED: u64 = 0x5e67_e47d_0000_0002;

    static WORKSPACE: LazyLock<Workspace> = LazyLock::new(stored_workspace);
    static STORED_EVENTS: LazyLock<Vec<(String, Map<String, Value>)>> =
        LazyLock::new(|| stored_tracks().map(|track| (track.event, track.properties)).collect());

    #[divan::bench(sample_count = 10, sample_size = 1)]
    fn create_rule(bencher: Bencher) {
        let workspace = &*WORKSPACE;
        let spec = catch_up_rule();
        bencher.with_inputs(|| workspace.clone()).bench_local_values(|mut workspace| {
            let created = workspace.create_rule(&spec).expect("the rule is valid");
            assert_eq!(created.remapped, UNMAPPED);
            workspace
        });
    }

    #[divan::bench(sample_count = 20)]
    fn scan_all_stored_events(bencher: Bencher) {
        let events = &*STORED_EVENTS;
        let spec = catch_up_rule();
        let conditions: Vec<(Vec<&str>, &Value)> = spec
            .properties
            .iter()
            .map(|(path, value)| (path.split('.').collect(), value))
            .collect();
        bencher.bench_local(|| {
            let matches = events
                .iter()
                .filter(|(event, properties)| {
                    naive_match(&spec, &conditions, black_box(event), black_box(properties))
                })
                .count();
            assert_eq!(matches, UNMAPPED);
            matches
        });
    }

    /// The rule a customer adds once they notice server-side API calls arrive without a
    /// `featureId`: it maps every unmapped event in the store.
    fn catch_up_rule() -> RuleSpec {
        let rule = json!({
            "feature": "api-calls",
            "event": "API Request",
            "properties": {"source": "server"},
        });
        serde_json::from_value(rule).expect("the rule spec is well-formed")
    }

    /// What a workspace without an index checks for each stored event: is it waiting for a rule
    /// (no `featureId`), and does the rule match it.
    fn naive_match(
        spec: &RuleSpec,
        conditions: &[(Vec<&str>, &Value)],
        event: &str,
        properties: &Map<String, Value>,
    ) -> bool {
        !properties.contains_key("featureId")
            && spec.event.as_deref().is_none_or(|name| name == event)
            && conditions.iter().all(|(path, expected)| {
                lookup(properties, path).is_some_and(|found| same(found, expected))
            })
    }

    fn lookup<'a>(properties: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
        let (first, rest) = path.split_first()?;
        rest.iter().try_fold(properties.get(*first)?, |value, segment| value.get(segment))
    }

    /// The engine's typed equality: numbers by value, everything else exactly.
    fn same(found: &Value, expected: &Value) -> bool {
        match (found, expected) {
            (Value::Number(found), Value::Number(expected)) => found.as_f64() == expected.as_f64(),
            _ => found == expected,
        }
    }

    /// The million-event workspace: every user identified, then the Track events. It is built
    /// once and cloned for each sample.
    fn stored_workspace() -> Workspace {
        let mut workspace = configured_workspace();
        for user in 0..USERS {
            let identify = Identify {
                message_id: format!("identify-{user}"),
                user_id: user_id(user),
                name: Some(user_name(user)),
                email: Some(user_email(user)),
                billing_id: Some(billing_id(user)),
            };
            workspace.apply(Message::Identify(identify));
        }
        for track in stored_tracks() {
            workspace.apply(Message::Track(track));
        }

        let counts = workspace.state().events;
        assert_eq!((counts.track, counts.unmapped), (STORED as u64, UNMAPPED as u64));
        workspace
    }

    /// The stored Track events, in arrival order. The mapped ones name an existing feature; the
    /// unmapped ones are server-side API calls sent without a `featureId`.
    fn stored_tracks() -> impl Iterator<Item = Track> {
        let mut rng = Rng::new(SEED);
        (0..STORED).map(move |index| {
            let user_id = user_id(rng.below(USERS));
            let message_id = rng.uuid();
            if index % UNMAPPED_EVERY == UNMAPPED_EVERY / 2 {
                return unmapped_track(&mut rng, message_id, user_id);
            }
            let (event, feature) = *rng.pick(&[
                ("Message Sent", "messages"),
                ("Message Sent", "messages"),
                ("Report Exported", "exports"),
                ("Seat Added", "seats"),
                ("API Request", "api-calls"),
                ("API Request", "api-calls"),
                ("File Uploaded", "storage"),
            ]);
            let delta = if rng.chance(70) { 1 } else { rng.below(20) as i64 + 1 };
            let properties = json!({
                "featureId": feature,
                "source": *rng.pick(&["web", "mobile", "server"]),
                "delta": delta,
            });
            Track {
                message_id,
                user_id,
                event: event.to_owned(),
                feature_id: Some(feature.to_owned()),
                delta,
                properties: into_map(properties),
            }
        })
    }

    fn unmapped_track(rng: &mut Rng, message_id: String, user_id: String) -> Track {
        let properties = json!({
            "endpoint": *rng.pick(&["/v1/messages", "/v1/reports", "/v1/seats", "/v1/files"]),
            "method": *rng.pick(&["GET", "POST"]),
            "source": "server",
            "status": 200,
        });
        Track {
            message_id,
            user_id,
            event: "API Request".to_owned(),
            feature_id: None,
            delta: 1,
            properties: into_map(properties),
        }
    }

    fn into_map(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("the properties are written as an object literal"),
        }
    }
}
