//! Scenarios as data: the YAML format, loading, and the checks a file must pass before it runs.
//!
//! A scenario pins one rule of the specification. It names people (`ada`, `grace`) instead of
//! writing their ids and emails, sets up features, rules and billing customers, and lists the
//! steps to deliver. Strings anywhere in a scenario may hold placeholders such as
//! `{ada.email}`; the generator fills them with realistic values from the scenario's seed, and
//! the snapshot shows the placeholders again, so snapshots do not change with the seed.
//!
//! The types here double as the source of the published JSON Schema (`scenario.schema.json`), so
//! an editor can validate and complete scenario files.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

/// One scenario file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// One line stating the rule this scenario pins down.
    pub about: String,
    /// Overrides the seed derived from the scenario's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// State set up before the first step.
    #[serde(default)]
    pub given: Given,
    /// What happens, in order.
    #[schemars(with = "Vec<Step>")]
    #[serde(serialize_with = "serialize_spanned_steps")]
    pub steps: Vec<Spanned<Step>>,
}

/// Features, rules and billing customers that exist before the first step.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// Feature ids to create.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    /// Mapping rules to create, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleStep>,
    /// Customers imported from billing: users without an `id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub billing_customers: Vec<Customer>,
}

/// One step of a scenario.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Deliver an Identify message.
    Identify(Send),
    /// Deliver a Track message.
    Track(Send),
    /// Deliver a message of any other type (`page`, `screen`, `group`, `alias`, ...): set `type`.
    Message(Send),
    /// Deliver a body exactly as written, for input that is not a well-formed message.
    Raw(Raw),
    /// Create a feature mid-scenario.
    CreateFeature(FeatureStep),
    /// Create a mapping rule mid-scenario.
    CreateRule(RuleStep),
    /// Import billing customers mid-scenario.
    ImportBillingCustomers(ImportStep),
    /// Deliver the very same bytes as an earlier named step again, as Segment does on a retry.
    Redeliver(Redeliver),
    /// Deliver these steps in an order shuffled by the scenario's seed.
    Shuffled(Vec<Step>),
}

/// A message to deliver. The generator fills a full Segment envelope (`messageId`, timestamps,
/// `context`, ...) around what is given here.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Send {
    /// A name other steps can refer to (for `redeliver`) and the snapshot shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The HTTP status this step must get; the snapshot records it either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<u16>,
    /// The message `type`, for `message` steps only.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The person whose `userId` the message carries. Leave out for a message without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The person whose `anonymousId` the message carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<String>,
    /// Identify traits (placeholders allowed in strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traits: Option<Value>,
    /// The Track event name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Track properties (placeholders allowed in strings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    /// Top-level fields to set or override in the envelope; `null` sends an explicit null.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Value>,
    /// Top-level envelope fields to leave out entirely, such as `messageId`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omit: Vec<String>,
    /// Pads the message with a filler field until its body is this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_to: Option<usize>,
    /// How the delivery authenticates; `basic` unless stated.
    #[serde(default, skip_serializing_if = "Auth::is_basic")]
    pub auth: Auth,
}

/// A body sent exactly as written (placeholders are still filled).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<u16>,
    pub body: String,
    #[serde(default, skip_serializing_if = "Auth::is_basic")]
    pub auth: Auth,
}

/// How a delivery presents the workspace's API key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// `Authorization: Basic base64(apiKey + ":")`, as Segment sends it.
    #[default]
    Basic,
    /// The bare API key as the whole header value, as Kana's older webhook setup sent it.
    Raw,
    /// No `Authorization` header.
    Missing,
    /// Basic credentials with a key no workspace has.
    WrongKey,
    /// A `Basic` header whose credentials are not base64.
    Malformed,
    /// `Basic base64(apiKey + ":secret")`: a password is sent and must be ignored.
    BasicWithPassword,
    /// `basic base64(apiKey + ":")`: the scheme in lower case, which HTTP allows.
    LowercaseScheme,
    /// The bare API key with spaces around it.
    RawPadded,
    /// `Basic base64(":")`: credentials with an empty key.
    EmptyKey,
}

/// `create_feature` step.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeatureStep {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<u16>,
}

/// A mapping rule, in the conformance API's form, plus an optional expected status.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleStep {
    /// The feature that matching events count towards.
    pub feature: String,
    /// The event name the rule requires, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Dotted property paths and the value each must hold.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<u16>,
}

/// `import_billing_customers` step.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportStep {
    pub customers: Vec<Customer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<u16>,
}

/// A billing customer: a person's name (their billing id, email and name), or the fields spelt
/// out with placeholders.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Customer {
    Person(String),
    Fields(CustomerFields),
}

/// A billing customer written out field by field.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomerFields {
    pub billing_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `redeliver` step.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeliver {
    /// The `name` of the earlier step to deliver again.
    pub step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<u16>,
}

/// A scenario read from disk, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file name without `.yaml`; it names the snapshot too.
    pub name: String,
    pub path: PathBuf,
    pub file: ScenarioFile,
}

/// Why a scenario file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Step { path: String, line: u64, message: String },
}

impl Scenario {
    /// Reads and checks one scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ScenarioError::Io { path: shown.clone(), source })?;
        let name = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default().to_owned();
        Self::parse(&name, path, &text)
    }

    /// Parses and checks scenario text; `path` is only used in messages.
    pub fn parse(name: &str, path: &Path, text: &str) -> Result<Self, ScenarioError> {
        let shown = path.display().to_string();
        let file: ScenarioFile = serde_saphyr::from_str(text).map_err(|error| {
            ScenarioError::Invalid { path: shown.clone(), message: error.to_string() }
        })?;
        let scenario = Self { name: name.to_owned(), path: path.to_owned(), file };
        scenario.check()?;
        Ok(scenario)
    }

    /// Loads every scenario in a folder, sorted by name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>, ScenarioError> {
        Self::paths_in(dir)?.iter().map(|path| Self::load(path)).collect()
    }

    /// The `*.yaml` files of a folder, sorted. The folder is read at run time, so a new scenario
    /// file needs no change to any Rust code.
    pub fn paths_in(dir: &Path) -> Result<Vec<PathBuf>, ScenarioError> {
        let shown = dir.display().to_string();
        let entries =
            std::fs::read_dir(dir).map_err(|source| ScenarioError::Io { path: shown, source })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        paths.sort();
        Ok(paths)
    }

    /// Checks what the YAML types cannot say: names are unique, redeliveries point backwards,
    /// fields belong to the step's message type.
    fn check(&self) -> Result<(), ScenarioError> {
        let path = self.path.display().to_string();
        if self.file.about.trim().is_empty() || self.file.about.contains('\n') {
            return Err(ScenarioError::Invalid {
                path,
                message: "`about` must be one non-empty line".to_owned(),
            });
        }
        let mut names = Vec::new();
        for step in &self.file.steps {
            let line = step.referenced.line();
            check_step(&step.value, &mut names, false).map_err(|message| ScenarioError::Step {
                path: path.clone(),
                line,
                message,
            })?;
        }
        Ok(())
    }
}

fn check_step(step: &Step, names: &mut Vec<String>, nested: bool) -> Result<(), String> {
    match step {
        Step::Identify(send) | Step::Track(send) if send.kind.is_some() => {
            Err("`type` is only for `message` steps".to_owned())
        }
        Step::Identify(send) => check_send(send, "identify", names),
        Step::Track(send) => check_send(send, "track", names),
        Step::Message(send) => {
            let kind = send.kind.as_deref().ok_or("`message` steps need a `type`")?;
            check_send(send, kind, names)
        }
        Step::Raw(raw) => remember(raw.name.as_deref(), names),
        Step::Redeliver(redeliver) if !names.contains(&redeliver.step) => Err(format!(
            "`redeliver` names `{}`, which is not an earlier step's `name`",
            redeliver.step
        )),
        Step::Shuffled(_) if nested => Err("`shuffled` groups cannot be nested".to_owned()),
        Step::Shuffled(steps) => steps.iter().try_for_each(|inner| check_step(inner, names, true)),
        Step::Redeliver(_)
        | Step::CreateFeature(_)
        | Step::CreateRule(_)
        | Step::ImportBillingCustomers(_) => Ok(()),
    }
}

fn check_send(send: &Send, kind: &str, names: &mut Vec<String>) -> Result<(), String> {
    if send.traits.is_some() && kind != "identify" {
        return Err(format!("`traits` belong to identify steps, not `{kind}`"));
    }
    if (send.event.is_some() || send.properties.is_some()) && kind != "track" {
        return Err(format!("`event` and `properties` belong to track steps, not `{kind}`"));
    }
    if send.kind.is_some()
        && matches!(kind, "identify" | "track")
        && send.kind.as_deref() != Some(kind)
    {
        return Err("`type` is only for `message` steps".to_owned());
    }
    remember(send.name.as_deref(), names)
}

fn remember(name: Option<&str>, names: &mut Vec<String>) -> Result<(), String> {
    let Some(name) = name else { return Ok(()) };
    if names.iter().any(|known| known == name) {
        return Err(format!("step name `{name}` is used twice"));
    }
    names.push(name.to_owned());
    Ok(())
}

fn serialize_spanned_steps<S: serde::Serializer>(
    steps: &[Spanned<Step>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(steps.iter().map(|step| &step.value))
}

impl Auth {
    /// Whether this is the default, which scenario files leave unsaid.
    pub fn is_basic(&self) -> bool {
        *self == Self::Basic
    }
}

impl fmt::Display for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Basic => "basic",
            Self::Raw => "raw key",
            Self::Missing => "no Authorization header",
            Self::WrongKey => "wrong key",
            Self::Malformed => "malformed Basic credentials",
            Self::BasicWithPassword => "Basic with a password",
            Self::LowercaseScheme => "lower-case `basic` scheme",
            Self::RawPadded => "raw key with spaces around it",
            Self::EmptyKey => "Basic with an empty key",
        };
        f.write_str(text)
    }
}
