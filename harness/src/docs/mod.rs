//! Documentation examples as executable checks.
//!
//! Every fenced JavaScript example that calls `analytics.identify` or `analytics.track` becomes
//! the Segment message analytics.js would send, and is delivered to a target in a workspace of
//! its own document. The answer and the state after each example are recorded, so the document's
//! snapshot shows what each example really does. Alongside, the document is checked for the ways
//! examples drift from the destination:
//!
//! - an example uses a trait or property that the document's own field tables do not list, so a
//!   reader would expect it to be kept when the destination drops it;
//! - a field table lists a trait or property that the destination does not map, found by probing
//!   the target with that field in a scratch workspace;
//! - the destination refuses an example;
//! - an in-document link points at a heading that does not exist;
//! - an example's argument is not a literal, so it cannot be run as written.

mod analytics;
mod js;
mod markdown;

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use kana_reference::CanonicalState;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::generate::Generator;
use crate::run::redact_state;
use crate::scenario::Auth;
use crate::target::{Delivery, Reply, Target, TargetError, TargetWorkspace};
use analytics::Page;
use js::Method;
use markdown::{Document, FieldKind, ListedField};

pub use markdown::slug;

/// The kinds of problem the checker reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    UnlistedField,
    UnmappedField,
    RejectedExample,
    BrokenLink,
    NotLiteral,
}

/// One problem, at a line of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub line: usize,
    pub message: String,
}

/// One example and what the target made of it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExampleReport {
    pub line: usize,
    /// The call as written in the document.
    pub source: String,
    /// The target's answer; none when the example could not be run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The workspace after the example, redacted.
    #[serde(skip)]
    pub state: Option<CanonicalState>,
    pub findings: Vec<Finding>,
}

impl ExampleReport {
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Everything found in one document.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentReport {
    pub path: String,
    pub examples: Vec<ExampleReport>,
    /// Findings that belong to the document rather than to one example.
    pub findings: Vec<Finding>,
}

impl DocumentReport {
    /// Every finding, document-level and per example, by line.
    pub fn all_findings(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self.findings.iter().collect();
        all.extend(self.examples.iter().flat_map(|example| &example.findings));
        all.sort_by_key(|finding| (finding.line, finding.kind));
        all
    }
}

/// Why a document could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Target { path: String, source: TargetError },
}

/// The feature every probe counts towards; no real document uses it.
const PROBE_FEATURE: &str = "kana-docs-probe";

/// Checks one document against a target. `shown` is how the document is named in findings.
pub fn check(
    target: &dyn Target,
    path: &Path,
    shown: &str,
    seed: u64,
) -> Result<DocumentReport, DocsError> {
    let source = std::fs::read_to_string(path)
        .map_err(|source| DocsError::Io { path: shown.to_owned(), source })?;
    let document = Document::parse(&source);
    let target_error = |source| DocsError::Target { path: shown.to_owned(), source };

    let mut findings = broken_links(&document);
    findings.extend(unmapped_fields(target, &document.fields).map_err(target_error)?);
    let examples = run_examples(target, &document, seed).map_err(target_error)?;
    Ok(DocumentReport { path: shown.to_owned(), examples, findings })
}

fn broken_links(document: &Document) -> Vec<Finding> {
    document
        .links
        .iter()
        .filter(|link| !document.anchors.contains(&link.anchor))
        .map(|link| Finding {
            kind: FindingKind::BrokenLink,
            line: link.line,
            message: format!(
                "the link to `#{}` leads nowhere: no heading of this document has that anchor",
                link.anchor
            ),
        })
        .collect()
}

/// One found call, with the line it is on.
struct Located {
    line: usize,
    call: js::Call,
}

fn run_examples(
    target: &dyn Target,
    document: &Document,
    seed: u64,
) -> Result<Vec<ExampleReport>, TargetError> {
    let calls: Vec<Located> = document
        .code_blocks
        .iter()
        .flat_map(|block| {
            js::calls(&block.code)
                .into_iter()
                .map(|call| Located { line: document.line_in_block(block, call.offset), call })
        })
        .collect();
    if calls.is_empty() {
        return Ok(Vec::new());
    }

    let workspace = target.create_workspace()?;
    let mut generator = Generator::new(seed);
    generator.remember(&workspace.id, "{workspace}".to_owned());
    generator.remember(&workspace.api_key, "{apiKey}".to_owned());
    for feature in features_named(&calls) {
        target.create_feature(&workspace, &feature)?;
    }

    let anonymous_id = generator.fill("{page.anon}").expect("a valid placeholder");
    generator.remember(&anonymous_id, "{anonymousId}".to_owned());
    let mut page = Page::new(anonymous_id);
    let listed: BTreeSet<(FieldKind, &str)> =
        document.fields.iter().map(|field| (field.kind, field.name.as_str())).collect();
    calls
        .iter()
        .map(|located| run_example(target, &workspace, &mut generator, &mut page, &listed, located))
        .collect()
}

fn run_example(
    target: &dyn Target,
    workspace: &TargetWorkspace,
    generator: &mut Generator,
    page: &mut Page,
    listed: &BTreeSet<(FieldKind, &str)>,
    located: &Located,
) -> Result<ExampleReport, TargetError> {
    let Located { line, call } = located;
    let mut report = ExampleReport {
        line: *line,
        source: call.source.clone(),
        status: None,
        message: None,
        state: None,
        findings: Vec::new(),
    };
    let arguments = match &call.arguments {
        Ok(arguments) => arguments,
        Err(reason) => {
            report.findings.push(Finding {
                kind: FindingKind::NotLiteral,
                line: *line,
                message: reason.clone(),
            });
            return Ok(report);
        }
    };

    report.findings.extend(unlisted_fields(call.method, arguments, listed, *line));
    let message = page.message(call.method, arguments, generator);
    let message_id =
        message.get("messageId").and_then(Value::as_str).unwrap_or_default().to_owned();
    generator.remember(&message_id, format!("{{msg:L{line}}}"));
    let body = serde_json::to_vec(&message).expect("a JSON map always serialises");

    let reply = target.deliver(workspace, &Delivery { auth: Auth::Basic, body })?;
    let reply =
        Reply { status: reply.status, message: reply.message.map(|m| generator.redact(&m)) };
    if !reply.is_success() {
        report.findings.push(Finding {
            kind: FindingKind::RejectedExample,
            line: *line,
            message: format!(
                "the destination refuses this example with {}: {}",
                reply.status,
                reply.message.as_deref().unwrap_or("(no message)")
            ),
        });
    }
    report.status = Some(reply.status);
    report.message = reply.message;
    report.state = Some(redact_state(generator, &target.state(workspace)?));
    Ok(report)
}

/// Features the examples name with `featureId`: the workspace gets them before the first example,
/// as a reader's workspace would have them.
fn features_named(calls: &[Located]) -> BTreeSet<String> {
    calls
        .iter()
        .filter(|located| located.call.method == Method::Track)
        .filter_map(|located| located.call.arguments.as_ref().ok())
        .filter_map(|arguments| arguments.get(1)?.get("featureId")?.as_str().map(str::to_owned))
        .collect()
}

/// Traits and properties an example sends that the document's field tables do not list. Only
/// checked for a kind of field the tables list at all.
fn unlisted_fields(
    method: Method,
    arguments: &[Value],
    listed: &BTreeSet<(FieldKind, &str)>,
    line: usize,
) -> Vec<Finding> {
    let parts = analytics::parts(method, arguments);
    let (kind, fields, prefix) = match method {
        Method::Identify => (FieldKind::Trait, &parts.traits, "traits"),
        Method::Track => (FieldKind::Property, &parts.properties, "properties"),
    };
    if !listed.iter().any(|(listed_kind, _)| *listed_kind == kind) {
        return Vec::new();
    }
    fields
        .keys()
        .filter(|key| !listed.contains(&(kind, key.as_str())))
        .map(|key| Finding {
            kind: FindingKind::UnlistedField,
            line,
            message: format!(
                "the example sends `{prefix}.{key}`, which this document's field tables do not \
                 list: a reader would expect it to be kept, but the destination drops it"
            ),
        })
        .collect()
}

/// Listed traits and properties the target does not map: each is sent alone in a scratch
/// workspace, and a field that leaves no trace in the canonical state is not mapped.
fn unmapped_fields(
    target: &dyn Target,
    fields: &[ListedField],
) -> Result<Vec<Finding>, TargetError> {
    let mut seen = BTreeSet::new();
    let probed: Vec<&ListedField> = fields
        .iter()
        .filter(|field| field.kind != FieldKind::TopLevel)
        .filter(|field| seen.insert((field.kind, field.name.clone())))
        .collect();
    if probed.is_empty() {
        return Ok(Vec::new());
    }

    let workspace = target.create_workspace()?;
    target.create_feature(&workspace, PROBE_FEATURE)?;
    let mut findings = Vec::new();
    for (index, field) in probed.into_iter().enumerate() {
        if !probe(target, &workspace, field, index)? {
            let prefix = if field.kind == FieldKind::Trait { "traits" } else { "properties" };
            findings.push(Finding {
                kind: FindingKind::UnmappedField,
                line: field.line,
                message: format!(
                    "the table lists `{prefix}.{}`, but the destination does not map it: a \
                     message carrying it leaves no trace in the workspace's state",
                    field.name
                ),
            });
        }
    }
    Ok(findings)
}

/// Sends one field with a distinctive value and reports whether the state shows it.
fn probe(
    target: &dyn Target,
    workspace: &TargetWorkspace,
    field: &ListedField,
    index: usize,
) -> Result<bool, TargetError> {
    let user = format!("kana-docs-probe-{index}");
    let value = format!("probe-value-{index}");
    let name = field.name.as_str();
    let properties = match name {
        "featureId" => json!({ "featureId": PROBE_FEATURE }),
        "delta" => json!({ "featureId": PROBE_FEATURE, "delta": 7 }),
        _ => json!({ "featureId": PROBE_FEATURE, name: value }),
    };
    let message = match field.kind {
        FieldKind::Trait => json!({ "type": "identify", "traits": { name: value } }),
        _ => json!({ "type": "track", "event": "Probe", "properties": properties }),
    };
    let mut message: Map<String, Value> = message.as_object().cloned().unwrap_or_default();
    message.insert("messageId".into(), format!("probe-{index}").into());
    message.insert("userId".into(), user.clone().into());
    let body = serde_json::to_vec(&message).expect("a JSON map always serialises");
    target.deliver(workspace, &Delivery { auth: Auth::Basic, body })?;

    let state = target.state(workspace)?;
    let usage = state.usage.get(&user).and_then(|features| features.get(PROBE_FEATURE));
    Ok(match (field.kind, field.name.as_str()) {
        (FieldKind::Property, "featureId") => usage.is_some(),
        (FieldKind::Property, "delta") => usage == Some(&7),
        _ => serde_json::to_string(&state).unwrap_or_default().contains(&value),
    })
}

/// Renders a document's report for its snapshot: each example as written, its answer, and the
/// state after it; then the findings.
pub fn render(report: &DocumentReport) -> String {
    let mut out = format!("document: {}\n", report.path);
    for example in &report.examples {
        writeln!(out, "\nexample at line {}:", example.line).expect("writing to a String");
        for line in example.source.lines() {
            writeln!(out, "  | {line}").expect("writing to a String");
        }
        match (example.status, &example.message) {
            (Some(status), Some(message)) => writeln!(out, "  -> {status} {message}"),
            (Some(status), None) => writeln!(out, "  -> {status}"),
            (None, _) => writeln!(out, "  -> not run"),
        }
        .expect("writing to a String");
        if let Some(state) = &example.state {
            writeln!(out, "  state after it:").expect("writing to a String");
            for line in state.to_pretty_json().lines() {
                writeln!(out, "    {line}").expect("writing to a String");
            }
        }
    }
    let findings = report.all_findings();
    writeln!(out, "\nfindings: {}", findings.len()).expect("writing to a String");
    for finding in findings {
        writeln!(out, "  {}:{}: {}", report.path, finding.line, finding.message)
            .expect("writing to a String");
    }
    out
}
