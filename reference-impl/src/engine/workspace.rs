//! The workspace: the four commands, idempotence on `messageId`, and the canonical state.

use std::collections::HashSet;

use serde::Serialize;

use super::error::{CommandError, IngestError};
use super::faults::Faults;
use super::message::{Message, parse_message};
use super::rule::{Rule, RuleSpec};
use super::state::{
    CanonicalState, EventCounts, Flags, SharedEmail, UnmappedEvent, UnmappedReason, UserState,
};
use super::track::{TrackOutcome, Tracks};
use super::users::{BillingCustomer, IdentifyOutcome, User, Users};

/// One isolated Kana workspace.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    /// Every accepted `messageId`: a redelivery of one of them changes nothing.
    seen: HashSet<String>,
    identifies: u64,
    users: Users,
    tracks: Tracks,
    faults: Faults,
}

/// What an accepted message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    Identify(IdentifyOutcome),
    Track(TrackOutcome),
    /// A message with this `messageId` was already accepted; nothing changed.
    Duplicate,
}

impl Ingested {
    /// A one-word summary for the HTTP response.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Identify(IdentifyOutcome::Created) => "created",
            Self::Identify(IdentifyOutcome::Updated) => "updated",
            Self::Identify(IdentifyOutcome::Adopted) => "adopted",
            Self::Identify(IdentifyOutcome::Merged) => "merged",
            Self::Track(TrackOutcome::Mapped { .. }) => "mapped",
            Self::Track(TrackOutcome::Unmapped) => "unmapped",
            Self::Duplicate => "duplicate",
        }
    }
}

/// The answer to creating a feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureCreated {
    pub feature: String,
    /// False when the feature already existed; creating it again changes nothing.
    pub created: bool,
    /// Stored events that named this feature before it existed and now count towards it.
    pub remapped: usize,
}

/// The answer to creating a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCreated {
    /// The rule's position in creation order, from 1; an earlier rule wins over a later one.
    pub rule: usize,
    /// Stored, unmapped events the new rule mapped retroactively.
    pub remapped: usize,
}

/// The answer to a billing import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub imported: usize,
    /// Customers whose billing id a user already holds; they are left as they are.
    pub skipped: usize,
}

impl Workspace {
    pub fn new() -> Self {
        Self::default()
    }

    /// A workspace that makes the given mistakes on purpose; see [`Faults`].
    pub fn with_faults(faults: Faults) -> Self {
        Self { faults, tracks: Tracks::with_faults(faults), ..Self::default() }
    }

    /// Ingests one Segment message body, exactly as it arrived over HTTP.
    pub fn ingest(&mut self, body: &[u8]) -> Result<Ingested, IngestError> {
        let message = parse_message(body)?;
        Ok(self.apply(message))
    }

    /// Applies a validated message.
    pub fn apply(&mut self, message: Message) -> Ingested {
        let first_time = self.seen.insert(message.message_id().to_owned());
        if !first_time && !self.faults.count_redeliveries {
            return Ingested::Duplicate;
        }
        match message {
            Message::Identify(identify) => {
                self.identifies += 1;
                Ingested::Identify(self.users.identify(&identify, self.faults.never_merge))
            }
            Message::Track(mut track) => {
                if self.faults.ignore_delta {
                    track.delta = 1;
                }
                // Delivery is unordered: a Track may come before its Identify, and its usage must
                // not be lost, so the user it names exists from now on.
                self.users.ensure(&track.user_id);
                Ingested::Track(self.tracks.record(track))
            }
        }
    }

    /// Creates a feature, mapping the stored events that already named it.
    pub fn create_feature(&mut self, id: &str) -> Result<FeatureCreated, CommandError> {
        if id.trim().is_empty() {
            return Err(CommandError::field("id", "must not be blank"));
        }
        let (created, remapped) = self.tracks.add_feature(id);
        Ok(FeatureCreated { feature: id.to_owned(), created, remapped })
    }

    /// Creates a mapping rule and applies it to the stored events no rule has mapped yet.
    pub fn create_rule(&mut self, spec: &RuleSpec) -> Result<RuleCreated, CommandError> {
        let rule = Rule::compile(spec)?;
        if !self.tracks.has_feature(&rule.feature) {
            return Err(CommandError::field(
                "feature",
                format!(
                    "names the feature `{}`, which does not exist: create it first",
                    rule.feature
                ),
            ));
        }
        let remapped = self.tracks.add_rule(rule);
        Ok(RuleCreated { rule: self.tracks.rule_count(), remapped })
    }

    /// Imports billing customers as users without an `id`. The whole batch is validated first,
    /// so a bad entry imports nothing.
    pub fn import_billing_customers(
        &mut self,
        customers: &[BillingCustomer],
    ) -> Result<ImportSummary, CommandError> {
        for (index, customer) in customers.iter().enumerate() {
            if customer.billing_id.trim().is_empty() {
                return Err(CommandError::field(
                    format!("[{index}].billingId"),
                    "must not be blank",
                ));
            }
        }
        let imported = customers.iter().filter(|customer| self.users.import(customer)).count();
        Ok(ImportSummary { imported, skipped: customers.len() - imported })
    }

    /// The canonical, implementation-independent state of this workspace.
    pub fn state(&self) -> CanonicalState {
        let mut users: Vec<&User> = self.users.iter().collect();
        users.sort_by(|a, b| {
            (a.id.is_none(), &a.id, &a.billing_id).cmp(&(b.id.is_none(), &b.id, &b.billing_id))
        });

        let mut unmapped: Vec<UnmappedEvent> = self.tracks.unmapped().map(unmapped_event).collect();
        unmapped.sort_by(|a, b| a.message_id.cmp(&b.message_id));

        let mut without_billing_id: Vec<String> = users
            .iter()
            .filter(|user| user.billing_id.is_none())
            .map(|user| user.label())
            .collect();
        without_billing_id.sort();
        let shared_emails = self
            .users
            .shared_emails()
            .into_iter()
            .map(|(email, group)| {
                let mut labels: Vec<String> = group.iter().map(|user| user.label()).collect();
                labels.sort();
                SharedEmail { email, users: labels }
            })
            .collect();

        let track = self.tracks.events().len() as u64;
        let mapped = self.tracks.mapped_count();
        CanonicalState {
            features: self.tracks.features().iter().cloned().collect(),
            users: users.into_iter().map(user_state).collect(),
            usage: self.tracks.usage().clone(),
            events: EventCounts {
                identify: self.identifies,
                track,
                mapped,
                unmapped: track - mapped,
            },
            unmapped,
            flags: Flags { without_billing_id, shared_emails },
        }
    }
}

fn user_state(user: &User) -> UserState {
    UserState {
        id: user.id.clone(),
        name: user.name.clone(),
        email: user.email.clone(),
        billing_id: user.billing_id.clone(),
    }
}

fn unmapped_event(event: &super::track::StoredTrack) -> UnmappedEvent {
    let reason = match event.feature_id {
        Some(_) => UnmappedReason::UnknownFeature,
        None => UnmappedReason::NoMatchingRule,
    };
    UnmappedEvent {
        message_id: event.message_id.clone(),
        user_id: event.user_id.clone(),
        event: event.event.clone(),
        reason,
        feature_id: event.feature_id.clone(),
    }
}
