//! Running one scenario against one target and recording what happened.
//!
//! Each run gets its own workspace on the target, so runs never see each other's users. Steps are
//! first *prepared* (placeholders filled, bodies built) in the order the file declares them, and
//! then *executed*; a shuffled group is prepared in declared order and executed in the seeded
//! shuffled order, so the messages themselves do not depend on the delivery order.

use kana_reference::CanonicalState;
use kana_reference::engine::RuleSpec;

use crate::generate::{Generator, stable_hash};
use crate::prepare::{Preparer, Request};
use crate::scenario::{Customer, Raw, RuleStep, Scenario, Send, Step};
use crate::target::{Reply, Target, TargetError, TargetWorkspace};

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// `3`, or `5.2` for the second step of a shuffled group.
    pub label: String,
    /// What the step sent, in the scenario's own placeholder terms.
    pub summary: String,
    /// The target's answer, with generated values redacted into placeholders.
    pub reply: Reply,
    /// The status the scenario declared, if it declared one.
    pub expected: Option<u16>,
}

/// Everything a run observed, in seed-independent form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Set-up (`given`) followed by the steps, in declared order.
    pub steps: Vec<StepRecord>,
    pub state: CanonicalState,
    /// Retries and waits the transport needed; never part of a snapshot.
    pub transport: Vec<String>,
    /// Lists of the target's state that were not in canonical order. The snapshot cannot show
    /// this (placeholders sort differently from the values they stand for), so it is checked on
    /// the state as the target sent it.
    pub order_problems: Vec<String>,
}

impl Transcript {
    /// Steps whose status differs from the one the scenario declared.
    pub fn unmet_expectations(&self) -> impl Iterator<Item = &StepRecord> {
        self.steps.iter().filter(|step| step.expected.is_some_and(|want| want != step.reply.status))
    }

    /// Everything wrong with the run apart from snapshot differences: unmet expectations and
    /// state lists out of canonical order.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = self.describe_unmet_expectations();
        problems.extend(self.order_problems.iter().cloned());
        problems
    }

    /// One line per unmet expectation, naming the step, what it sent and what it got.
    pub fn describe_unmet_expectations(&self) -> Vec<String> {
        self.unmet_expectations()
            .map(|step| {
                let expected = step.expected.unwrap_or_default();
                let message =
                    step.reply.message.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
                format!(
                    "step {} ({}) expected {expected}, got {}{message}",
                    step.label, step.summary, step.reply.status
                )
            })
            .collect()
    }
}

/// Why a run could not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("step {label}: {message}")]
    Scenario { label: String, message: String },
}

/// The seed a scenario runs with unless it states one or the caller overrides it.
pub fn default_seed(scenario: &Scenario) -> u64 {
    scenario.file.seed.unwrap_or_else(|| stable_hash(&scenario.name))
}

/// Runs `scenario` against `target` in a fresh workspace.
pub fn run(target: &dyn Target, scenario: &Scenario, seed: u64) -> Result<Transcript, RunError> {
    run_with_transport(target, scenario, seed).0
}

/// Like [`run`], and also the transport's notes (retries, waits) when the run fails part-way, so
/// a report can show what the transport went through before it gave up.
pub fn run_with_transport(
    target: &dyn Target,
    scenario: &Scenario,
    seed: u64,
) -> (Result<Transcript, RunError>, Vec<String>) {
    let workspace = match target.create_workspace() {
        Ok(workspace) => workspace,
        Err(error) => return (Err(error.into()), Vec::new()),
    };
    // A clone shares the notes, so they survive a failure inside the run.
    let notes = workspace.clone();
    let outcome = run_in(target, scenario, seed, workspace);
    (outcome, notes.notes())
}

fn run_in(
    target: &dyn Target,
    scenario: &Scenario,
    seed: u64,
    workspace: TargetWorkspace,
) -> Result<Transcript, RunError> {
    let _span = tracing::info_span!("scenario", name = %scenario.name, seed).entered();
    let mut runner =
        Runner { target, workspace, preparer: Preparer::new(seed), records: Vec::new() };
    // Identifiers and secrets the target hands out never reach a snapshot or a report, even if
    // an implementation echoes them in an error message.
    let (id, key) = (runner.workspace.id.clone(), runner.workspace.api_key.clone());
    runner.preparer.generator().remember(&id, "{workspace}".to_owned());
    runner.preparer.generator().remember(&key, "{apiKey}".to_owned());

    runner.given(scenario)?;
    for (index, step) in scenario.file.steps.iter().enumerate() {
        runner.step(&step.value, (index + 1).to_string())?;
    }

    let state = target.state(&runner.workspace)?;
    let order_problems = order_problems(&state);
    let state = redact_state(runner.preparer.generator(), &state);
    let transport = runner.workspace.notes();
    Ok(Transcript { steps: runner.records, state, transport, order_problems })
}

struct Runner<'a> {
    target: &'a dyn Target,
    workspace: TargetWorkspace,
    preparer: Preparer,
    records: Vec<StepRecord>,
}

impl Runner<'_> {
    fn given(&mut self, scenario: &Scenario) -> Result<(), RunError> {
        let given = &scenario.file.given;
        // The preparer returns the set-up calls in this same order.
        let mut summaries: Vec<String> =
            given.features.iter().map(|feature| format!("feature `{feature}`")).collect();
        summaries.extend(given.rules.iter().map(|rule| format!("rule {}", rule_summary(rule))));
        if !given.billing_customers.is_empty() {
            let customers = customers_summary(&given.billing_customers);
            summaries.push(format!("billing customers {customers}"));
        }
        let requests =
            self.preparer.given(given).map_err(|message| scenario_error("given", message))?;
        for (index, (request, summary)) in requests.into_iter().zip(summaries).enumerate() {
            self.execute_and_record(request, format!("g{}", index + 1), summary, None)?;
        }
        Ok(())
    }

    fn step(&mut self, step: &Step, label: String) -> Result<(), RunError> {
        let Step::Shuffled(group) = step else {
            let (prepared, summary, expected) =
                self.prepare(step, &label).map_err(|message| scenario_error(&label, message))?;
            return self.execute_and_record(prepared, label, summary, expected);
        };

        // Prepare in declared order, deliver in shuffled order, record in declared order.
        let mut prepared = Vec::new();
        for (index, inner) in group.iter().enumerate() {
            let inner_label = format!("{label}.{}", index + 1);
            let (step, summary, expected) = self
                .prepare(inner, &inner_label)
                .map_err(|message| scenario_error(&inner_label, message))?;
            prepared.push((inner_label, step, summary, expected));
        }
        let mut order: Vec<usize> = (0..prepared.len()).collect();
        self.preparer.shuffle(&mut order);
        let mut replies: Vec<Option<Reply>> = vec![None; prepared.len()];
        for index in order {
            replies[index] = Some(prepared[index].1.send(self.target, &self.workspace)?);
        }
        self.records.push(StepRecord {
            label: label.clone(),
            summary: summary(step),
            reply: Reply { status: 0, message: None },
            expected: None,
        });
        for ((label, _, summary, expected), reply) in prepared.into_iter().zip(replies) {
            let reply = self.redact_reply(reply.expect("every shuffled step was executed"));
            self.records.push(StepRecord { label, summary, reply, expected });
        }
        Ok(())
    }

    fn execute_and_record(
        &mut self,
        request: Request,
        label: String,
        summary: String,
        expected: Option<u16>,
    ) -> Result<(), RunError> {
        let _span = tracing::debug_span!("step", %label).entered();
        let reply = request.send(self.target, &self.workspace)?;
        let reply = self.redact_reply(reply);
        tracing::debug!(status = reply.status, refusal = ?reply.message, "answered");
        self.records.push(StepRecord { label, summary, reply, expected });
        Ok(())
    }

    fn redact_reply(&mut self, reply: Reply) -> Reply {
        let generator = self.preparer.generator();
        let message = reply.message.map(|message| generator.redact(&message));
        Reply { status: reply.status, message }
    }

    /// The request of a step, what the snapshot says it sent, and its expected status.
    fn prepare(
        &mut self,
        step: &Step,
        label: &str,
    ) -> Result<(Request, String, Option<u16>), String> {
        let request = self.preparer.step_labelled(step, Some(label))?;
        Ok((request, summary(step), expected(step)))
    }
}

/// What a step sent, in the scenario's own placeholder terms.
fn summary(step: &Step) -> String {
    match step {
        Step::Identify(send) => send_summary("identify", send),
        Step::Track(send) => send_summary("track", send),
        Step::Message(send) => send_summary(send.kind.as_deref().unwrap_or_default(), send),
        Step::Raw(raw) => raw_summary(raw),
        Step::CreateFeature(feature) => format!("create feature `{}`", feature.id),
        Step::CreateRule(rule) => format!("create rule {}", rule_summary(rule)),
        Step::ImportBillingCustomers(import) => {
            format!("import billing customers {}", customers_summary(&import.customers))
        }
        Step::Redeliver(redeliver) => format!("redeliver `{}`", redeliver.step),
        Step::Shuffled(group) => {
            format!("shuffled: the {} steps below, delivered in a seeded random order", group.len())
        }
    }
}

fn expected(step: &Step) -> Option<u16> {
    match step {
        Step::Identify(send) | Step::Track(send) | Step::Message(send) => send.expect,
        Step::Raw(raw) => raw.expect,
        Step::CreateFeature(feature) => feature.expect,
        Step::CreateRule(rule) => rule.expect,
        Step::ImportBillingCustomers(import) => import.expect,
        Step::Redeliver(redeliver) => redeliver.expect,
        Step::Shuffled(_) => None,
    }
}

fn scenario_error(label: &str, message: String) -> RunError {
    RunError::Scenario { label: label.to_owned(), message }
}

/// Checks the ordering rules of the canonical state on the state as the target sent it.
fn order_problems(state: &CanonicalState) -> Vec<String> {
    let user_key = |user: &kana_reference::engine::UserState| {
        (user.id.is_none(), user.id.clone(), user.billing_id.clone())
    };
    let groups_sorted = state.flags.shared_emails.iter().all(|group| is_sorted(&group.users));
    let emails: Vec<&String> = state.flags.shared_emails.iter().map(|group| &group.email).collect();
    let checks = [
        (is_sorted(&state.features), "`features` must be sorted"),
        (
            is_sorted(&state.users.iter().map(user_key).collect::<Vec<_>>()),
            "`users` must be sorted: users with an `id` by id, then the others by `billingId`",
        ),
        (
            is_sorted(&state.unmapped.iter().map(|event| &event.message_id).collect::<Vec<_>>()),
            "`unmapped` must be sorted by `messageId`",
        ),
        (is_sorted(&state.flags.without_billing_id), "`flags.withoutBillingId` must be sorted"),
        (
            is_sorted(&emails) && groups_sorted,
            "`flags.sharedEmails` must be sorted by email, each group's users sorted",
        ),
    ];
    checks
        .into_iter()
        .filter(|(sorted, _)| !sorted)
        .map(|(_, rule)| format!("the state is not in canonical order: {rule}"))
        .collect()
}

fn is_sorted<T: Ord>(items: &[T]) -> bool {
    items.windows(2).all(|pair| pair[0] <= pair[1])
}

/// Redacts generated values in the state and sorts it again by the placeholders, so that the
/// result does not depend on the seed.
pub(crate) fn redact_state(generator: &Generator, state: &CanonicalState) -> CanonicalState {
    let text = serde_json::to_string(state).expect("the canonical state always serialises");
    let mut state: CanonicalState = serde_json::from_str(&generator.redact(&text))
        .expect("redaction only swaps plain strings for placeholders");
    state.features.sort();
    state.users.sort_by(|a, b| {
        (a.id.is_none(), &a.id, &a.billing_id).cmp(&(b.id.is_none(), &b.id, &b.billing_id))
    });
    state.unmapped.sort_by(|a, b| a.message_id.cmp(&b.message_id));
    state.flags.without_billing_id.sort();
    for group in &mut state.flags.shared_emails {
        group.users.sort();
    }
    state.flags.shared_emails.sort_by(|a, b| a.email.cmp(&b.email));
    state
}

fn send_summary(kind: &str, send: &Send) -> String {
    let mut parts = vec![kind.to_owned()];
    match (&send.user, &send.anonymous) {
        (Some(user), Some(anonymous)) => {
            parts.push(format!("as {user} with the anonymous id of {anonymous}"));
        }
        (Some(user), None) => parts.push(format!("as {user}")),
        (None, Some(anonymous)) => parts.push(format!("anonymously as {anonymous}")),
        (None, None) => parts.push("without a user".to_owned()),
    }
    if let Some(event) = &send.event {
        parts.push(format!("{event:?}"));
    }
    if let Some(traits) = &send.traits {
        parts.push(format!("traits {traits}"));
    }
    if let Some(properties) = &send.properties {
        parts.push(format!("properties {properties}"));
    }
    if !send.fields.is_empty() {
        parts.push(format!("fields {}", serde_json::to_string(&send.fields).unwrap_or_default()));
    }
    if !send.omit.is_empty() {
        parts.push(format!("without {}", send.omit.join(", ")));
    }
    if let Some(size) = send.pad_to {
        parts.push(format!("padded to {size} bytes"));
    }
    if send.auth != crate::scenario::Auth::Basic {
        parts.push(format!("({})", send.auth));
    }
    if let Some(name) = &send.name {
        parts.push(format!("[{name}]"));
    }
    parts.join(" ")
}

fn raw_summary(raw: &Raw) -> String {
    let body: String = raw.body.chars().take(60).collect();
    let cut = if raw.body.chars().count() > 60 { "…" } else { "" };
    let auth = if raw.auth == crate::scenario::Auth::Basic {
        String::new()
    } else {
        format!(" ({})", raw.auth)
    };
    format!("raw body {body:?}{cut}{auth}")
}

fn rule_summary(rule: &RuleStep) -> String {
    let spec = RuleSpec {
        feature: rule.feature.clone(),
        event: rule.event.clone(),
        properties: rule.properties.clone(),
    };
    serde_json::to_string(&spec).unwrap_or_default()
}

fn customers_summary(customers: &[Customer]) -> String {
    serde_json::to_string(customers).unwrap_or_default()
}
