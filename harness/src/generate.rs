//! Realistic Segment payloads from a seeded RNG.
//!
//! Scenarios speak of people by name; the generator gives each person a user id, an email, a
//! display name, a billing id and an anonymous id, and wraps every message in the envelope a real
//! Segment library would send (`context`, `library`, timestamps, `_metadata`). All of it comes
//! from the scenario's seed: a person's values depend only on the seed and their name, and
//! envelopes on the seed and the order of deliveries. Time is logical, never the wall clock.
//!
//! Every generated value is remembered with its placeholder (`{ada.email}`), so results can be
//! redacted back into a form that does not change with the seed.

use std::collections::BTreeMap;

use fake::Fake;
use fake::faker::internet::en::{FreeEmailProvider, IPv4, UserAgent};
use fake::faker::lorem::en::Word;
use fake::faker::name::en::{FirstName, LastName};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};

/// The values generated for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub name: String,
    pub billing: String,
    pub anon: String,
}

/// Which Segment library a message pretends to come from.
#[derive(Debug, Clone, Copy)]
enum Library {
    Browser,
    Node,
    Python,
}

/// Generates people and envelopes for one scenario run.
#[derive(Debug)]
pub struct Generator {
    seed: u64,
    rng: ChaCha8Rng,
    people: BTreeMap<String, Person>,
    /// Generated value → placeholder, for redaction.
    placeholders: BTreeMap<String, String>,
    /// Logical time of the last message, in milliseconds since the Unix epoch.
    clock_ms: i64,
}

/// The first message of every run is stamped at about this moment (2026-03-02T09:00:00Z).
const EPOCH_MS: i64 = 1_772_442_000_000;

impl Generator {
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let clock_ms = EPOCH_MS + rng.random_range(0..86_400_000);
        Self { seed, rng, people: BTreeMap::new(), placeholders: BTreeMap::new(), clock_ms }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The person with this name, generated on first use from the seed and the name alone.
    pub fn person(&mut self, name: &str) -> Person {
        if let Some(person) = self.people.get(name) {
            return person.clone();
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ stable_hash(name));
        let person = loop {
            let candidate = generate_person(&mut rng);
            // Two people must never share a value, or redaction could not tell them apart.
            if !self.placeholders.contains_key(&candidate.id)
                && !self.placeholders.contains_key(&candidate.email)
            {
                break candidate;
            }
        };
        for (field, value) in [
            ("id", &person.id),
            ("email", &person.email),
            ("name", &person.name),
            ("billing", &person.billing),
            ("anon", &person.anon),
        ] {
            self.remember(value, format!("{{{name}.{field}}}"));
        }
        self.people.insert(name.to_owned(), person.clone());
        person
    }

    /// Records a value that results must show as `placeholder`.
    pub fn remember(&mut self, value: &str, placeholder: String) {
        if !value.is_empty() {
            self.placeholders.insert(value.to_owned(), placeholder);
        }
    }

    /// Replaces every placeholder in `text` (`{ada.email}`, `{ada.email|upper}`) with its value.
    /// Braces that do not form a placeholder, like those of a JSON body, are left alone.
    pub fn fill(&mut self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            rest = &rest[start..];
            match parse_placeholder(rest) {
                Some((len, person, field, modifier)) => {
                    let value = self.value_of(person, field)?;
                    let value = match modifier {
                        Some("upper") => value.to_uppercase(),
                        Some("lower") => value.to_lowercase(),
                        Some(other) => return Err(format!("unknown modifier `|{other}`")),
                        None => value,
                    };
                    self.remember(&value, rest[..len].to_owned());
                    out.push_str(&value);
                    rest = &rest[len..];
                }
                None => {
                    out.push('{');
                    rest = &rest[1..];
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// [`Self::fill`] applied to every string (keys included) inside a JSON value.
    pub fn fill_value(&mut self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(text) => Value::String(self.fill(text)?),
            Value::Array(items) => Value::Array(
                items.iter().map(|item| self.fill_value(item)).collect::<Result<_, _>>()?,
            ),
            Value::Object(fields) => {
                let mut filled = Map::new();
                for (key, value) in fields {
                    filled.insert(self.fill(key)?, self.fill_value(value)?);
                }
                Value::Object(filled)
            }
            other => other.clone(),
        })
    }

    /// A Segment envelope of type `kind`: everything but the type-specific fields.
    pub fn envelope(
        &mut self,
        kind: &str,
        user: Option<&Person>,
        anonymous: Option<&Person>,
    ) -> Map<String, Value> {
        self.clock_ms += self.rng.random_range(1_000..90_000);
        let library = match self.rng.random_range(0..10) {
            0..=5 => Library::Browser,
            6..=8 => Library::Node,
            _ => Library::Python,
        };
        self.envelope_from(library, kind, user, anonymous)
    }

    /// The envelope analytics.js in a browser sends, without user or anonymous id (the caller
    /// knows what the page remembers).
    pub fn analytics_js_envelope(&mut self, kind: &str) -> Map<String, Value> {
        self.clock_ms += self.rng.random_range(1_000..90_000);
        self.envelope_from(Library::Browser, kind, None, None)
    }

    fn envelope_from(
        &mut self,
        library: Library,
        kind: &str,
        user: Option<&Person>,
        anonymous: Option<&Person>,
    ) -> Map<String, Value> {
        let message_id = self.message_id(library);
        let mut envelope = Map::new();
        envelope.insert("type".into(), kind.into());
        envelope.insert("messageId".into(), message_id.into());
        if let Some(user) = user {
            envelope.insert("userId".into(), user.id.clone().into());
        }
        match (anonymous, user, library) {
            (Some(anonymous), _, _) => {
                envelope.insert("anonymousId".into(), anonymous.anon.clone().into());
            }
            // Browsers always send an anonymous id; server libraries often send an explicit null.
            (None, Some(_), Library::Browser) => {
                let anon = uuid(&mut self.rng);
                envelope.insert("anonymousId".into(), anon.into());
            }
            (None, Some(_), _) if self.rng.random_bool(0.5) => {
                envelope.insert("anonymousId".into(), Value::Null);
            }
            _ => {}
        }
        self.stamp(&mut envelope, library);
        envelope
    }

    fn stamp(&mut self, envelope: &mut Map<String, Value>, library: Library) {
        let original = self.clock_ms;
        let sent = original + self.rng.random_range(5..400);
        let received = sent + self.rng.random_range(20..900);
        // Segment corrects the device clock skew: `timestamp` is close to `originalTimestamp`.
        let timestamp = original + self.rng.random_range(-50..50);
        envelope.insert("originalTimestamp".into(), iso(original).into());
        envelope.insert("timestamp".into(), iso(timestamp).into());
        envelope.insert("sentAt".into(), iso(sent).into());
        envelope.insert("receivedAt".into(), iso(received).into());
        envelope.insert("context".into(), self.context(library));
        envelope.insert("integrations".into(), json!({}));
        match library {
            Library::Browser => {
                envelope.insert("version".into(), 2.into());
                envelope.insert("channel".into(), "client".into());
                let metadata =
                    json!({ "bundled": ["Segment.io"], "unbundled": [], "bundledIds": [] });
                envelope.insert("_metadata".into(), metadata);
            }
            Library::Node | Library::Python => {
                // Server libraries have been seen sending the version as a string.
                let version = if self.rng.random_bool(0.5) { json!("1.1") } else { json!(2) };
                envelope.insert("version".into(), version);
                envelope.insert("channel".into(), "server".into());
            }
        }
    }

    fn context(&mut self, library: Library) -> Value {
        let ip: String = IPv4().fake_with_rng(&mut self.rng);
        match library {
            Library::Browser => {
                let word: String = Word().fake_with_rng(&mut self.rng);
                let agent: String = UserAgent().fake_with_rng(&mut self.rng);
                let zones = ["Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin"];
                let zone = zones[self.rng.random_range(0..zones.len())];
                json!({
                    "ip": ip,
                    "library": { "name": "analytics.js", "version": "npm:next-1.74.0" },
                    "locale": "en-US",
                    "timezone": zone,
                    "userAgent": agent,
                    "page": {
                        "path": format!("/app/{word}"),
                        "referrer": "",
                        "search": "",
                        "title": format!("Acme | {word}"),
                        "url": format!("https://app.acme.test/app/{word}"),
                    },
                })
            }
            Library::Node => json!({
                "ip": ip,
                "library": { "name": "@segment/analytics-node", "version": "2.2.1" },
            }),
            Library::Python => json!({
                "ip": ip,
                "library": { "name": "analytics-python", "version": "2.3.3" },
            }),
        }
    }

    fn message_id(&mut self, library: Library) -> String {
        match library {
            Library::Browser => format!("ajs-next-{}-{}", self.clock_ms, hex(&mut self.rng, 16)),
            Library::Node | Library::Python => uuid(&mut self.rng),
        }
    }

    fn value_of(&mut self, person: &str, field: &str) -> Result<String, String> {
        let generated = self.person(person);
        Ok(match field {
            "id" => generated.id,
            "email" => generated.email,
            "name" => generated.name,
            "billing" => generated.billing,
            "anon" => generated.anon,
            other => {
                return Err(format!(
                    "unknown placeholder field `{person}.{other}`: \
                     use id, email, name, billing or anon"
                ));
            }
        })
    }

    /// Rewrites generated values in `text` back into their placeholders, longest value first so
    /// that a value containing another is replaced whole.
    pub fn redact(&self, text: &str) -> String {
        let mut values: Vec<(&String, &String)> = self.placeholders.iter().collect();
        values.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        let mut out = text.to_owned();
        for (value, placeholder) in values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), placeholder);
            }
        }
        out
    }

    /// Shuffles a slice with the run's RNG.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        // Fisher–Yates, so the order depends on nothing but the seed.
        for i in (1..items.len()).rev() {
            let j = self.rng.random_range(0..=i);
            items.swap(i, j);
        }
    }
}

fn generate_person(rng: &mut ChaCha8Rng) -> Person {
    let first: String = FirstName().fake_with_rng(rng);
    let last: String = LastName().fake_with_rng(rng);
    let provider: String = FreeEmailProvider().fake_with_rng(rng);
    let digits = rng.random_range(10..100);
    let local: String = format!("{first}.{last}{digits}")
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let id = if rng.random_bool(0.5) { uuid(rng) } else { format!("usr_{}", base62(rng, 12)) };
    Person {
        id,
        email: format!("{local}@{provider}"),
        name: format!("{first} {last}"),
        billing: format!("cus_{}", base62(rng, 14)),
        anon: uuid(rng),
    }
}

/// Recognises `{person.field}` or `{person.field|modifier}` at the start of `text`, returning
/// its length and parts.
fn parse_placeholder(text: &str) -> Option<(usize, &str, &str, Option<&str>)> {
    let end = text.find('}')?;
    let inner = &text[1..end];
    let (target, modifier) = match inner.split_once('|') {
        Some((target, modifier)) => (target, Some(modifier)),
        None => (inner, None),
    };
    let (person, field) = target.split_once('.')?;
    let word = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    (word(person) && word(field) && modifier.is_none_or(word)).then_some((
        end + 1,
        person,
        field,
        modifier,
    ))
}

/// FNV-1a: a hash that never changes between Rust versions or platforms, for deriving seeds.
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn iso(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .expect("logical time stays within jiff's range")
        .to_string()
}

fn hex(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

fn base62(rng: &mut ChaCha8Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

fn uuid(rng: &mut ChaCha8Rng) -> String {
    let raw = hex(rng, 16);
    // Version 4, variant 1, as the uuid libraries of Segment's SDKs produce.
    format!("{}-{}-4{}-a{}-{}", &raw[0..8], &raw[8..12], &raw[13..16], &raw[17..20], &raw[20..32])
}
