//! Kana users and the Identify decision rule.
//!
//! A user is known by its `id` (Segment's `userId`), or, when it was imported from a billing
//! system and has not been identified yet, only by its billing id and email. An Identify either
//! updates the user it names, adopts an imported user found by email, merges one into it, or
//! creates a new user; the decision is made in [`Users::decide`] and carried out in
//! [`Users::apply`], so the rule can be read on its own.
//!
//! Users sit in a slab addressed by index, with an index by `id` and one by normalised email, so
//! finding a user or the candidates for an email never scans the store.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::message::Identify;

/// A user as the workspace stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct User {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub billing_id: Option<String>,
}

impl User {
    /// How the canonical state and flags refer to this user.
    pub fn label(&self) -> String {
        match (&self.id, &self.billing_id) {
            (Some(id), _) => id.clone(),
            (None, Some(billing_id)) => format!("billingId:{billing_id}"),
            // Only billing imports create users without an id, and they always carry one.
            (None, None) => unreachable!("a user without an `id` always has a `billingId`"),
        }
    }
}

/// A customer imported from a billing system (Stripe, Chargebee): a user without an `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BillingCustomer {
    pub billing_id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// What an accepted Identify did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentifyOutcome {
    /// A new user with this `id` was created.
    Created,
    /// The user with this `id` was updated; nothing was merged.
    Updated,
    /// An imported user without an `id`, found by email, became this user.
    Adopted,
    /// The user with this `id` was updated and an imported user found by email merged into it.
    Merged,
}

/// What the decision rule chose for one Identify, before anything changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Update { user: usize, merge: Option<usize> },
    Adopt { candidate: usize },
    Create,
}

/// Trims and lowercases an email so that `Ada@Example.com ` and `ada@example.com` match.
pub(crate) fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Billing ids conflict only when both sides have one and they differ.
fn conflicts(left: Option<&str>, right: Option<&str>) -> bool {
    matches!((left, right), (Some(left), Some(right)) if left != right)
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Users {
    slots: Vec<Option<User>>,
    by_id: HashMap<String, usize>,
    by_email: HashMap<String, BTreeSet<usize>>,
    by_billing_id: HashMap<String, BTreeSet<usize>>,
}

impl Users {
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.slots.iter().flatten()
    }

    /// Makes sure a user with this `id` exists, creating a bare one if needed. Used for Track
    /// events that arrive before their Identify: the usage is kept, and the Identify that comes
    /// later finds the user and updates (or merges into) it.
    pub fn ensure(&mut self, id: &str) {
        if !self.by_id.contains_key(id) {
            self.insert(User { id: Some(id.to_owned()), ..User::default() });
        }
    }

    /// Adds an imported customer unless a user already holds its billing id. Billing exports
    /// often pad their columns, so every imported field is trimmed.
    pub fn import(&mut self, customer: &BillingCustomer) -> bool {
        let billing_id = customer.billing_id.trim();
        if self.by_billing_id.contains_key(billing_id) {
            return false;
        }
        let trimmed = |field: &Option<String>| {
            field.as_deref().map(str::trim).filter(|text| !text.is_empty()).map(str::to_owned)
        };
        self.insert(User {
            id: None,
            name: trimmed(&customer.name),
            email: trimmed(&customer.email),
            billing_id: Some(billing_id.to_owned()),
        });
        true
    }

    /// Applies an Identify. `never_merge` is a deliberate fault (see `Faults`), off in the
    /// specified behaviour.
    pub fn identify(&mut self, identify: &Identify, never_merge: bool) -> IdentifyOutcome {
        let decision = match self.decide(identify) {
            Decision::Update { user, .. } if never_merge => Decision::Update { user, merge: None },
            decision => decision,
        };
        self.apply(identify, decision)
    }

    /// The decision rule. `U` is the event's `userId`, `C` the other users whose email matches
    /// the event's email. Only a single candidate without an `id` and without a conflicting
    /// billing id is ever joined to `U`; every other situation leaves users apart for a person to
    /// resolve through the flags.
    fn decide(&self, identify: &Identify) -> Decision {
        let existing = self.by_id.get(&identify.user_id).copied();
        let candidates: Vec<usize> = match &identify.email {
            Some(email) => self
                .by_email
                .get(&normalise_email(email))
                .into_iter()
                .flatten()
                .copied()
                .filter(|&slot| Some(slot) != existing)
                .collect(),
            None => Vec::new(),
        };
        let single_without_id = match candidates.as_slice() {
            [only] if self.user(*only).id.is_none() => Some(*only),
            _ => None,
        };

        match existing {
            Some(user) => {
                let ours = identify.billing_id.as_deref().or(self.user(user).billing_id.as_deref());
                let merge = single_without_id
                    .filter(|&slot| !conflicts(ours, self.user(slot).billing_id.as_deref()));
                Decision::Update { user, merge }
            }
            None => match single_without_id {
                Some(candidate)
                    if !conflicts(
                        identify.billing_id.as_deref(),
                        self.user(candidate).billing_id.as_deref(),
                    ) =>
                {
                    Decision::Adopt { candidate }
                }
                _ => Decision::Create,
            },
        }
    }

    fn apply(&mut self, identify: &Identify, decision: Decision) -> IdentifyOutcome {
        match decision {
            Decision::Create => {
                self.insert(with_event_fields(User::default(), identify));
                IdentifyOutcome::Created
            }
            Decision::Adopt { candidate } => {
                let adopted = with_event_fields(self.user(candidate).clone(), identify);
                self.replace(candidate, Some(adopted));
                IdentifyOutcome::Adopted
            }
            Decision::Update { user, merge: None } => {
                let updated = with_event_fields(self.user(user).clone(), identify);
                self.replace(user, Some(updated));
                IdentifyOutcome::Updated
            }
            Decision::Update { user, merge: Some(other) } => {
                // Precedence per field: the event, then the surviving user, then the merged one.
                let merged = self.replace(other, None);
                let current = self.user(user).clone();
                let combined = User {
                    id: current.id,
                    name: current.name.or(merged.name),
                    email: current.email.or(merged.email),
                    billing_id: current.billing_id.or(merged.billing_id),
                };
                self.replace(user, Some(with_event_fields(combined, identify)));
                IdentifyOutcome::Merged
            }
        }
    }

    fn user(&self, slot: usize) -> &User {
        self.slots[slot].as_ref().expect("indexes only point at live users")
    }

    fn insert(&mut self, user: User) {
        self.slots.push(None);
        self.replace(self.slots.len() - 1, Some(user));
    }

    /// Puts `user` (or nothing) in a slot, keeping every index in step, and returns what was there
    /// (a default user for a fresh slot).
    fn replace(&mut self, slot: usize, user: Option<User>) -> User {
        let old = self.slots[slot].take().unwrap_or_default();
        if let Some(id) = &old.id {
            self.by_id.remove(id);
        }
        unindex(&mut self.by_email, old.email.as_deref().map(normalise_email), slot);
        unindex(&mut self.by_billing_id, old.billing_id.clone(), slot);

        if let Some(user) = &user {
            if let Some(id) = &user.id {
                self.by_id.insert(id.clone(), slot);
            }
            if let Some(email) = &user.email {
                self.by_email.entry(normalise_email(email)).or_default().insert(slot);
            }
            if let Some(billing_id) = &user.billing_id {
                self.by_billing_id.entry(billing_id.clone()).or_default().insert(slot);
            }
        }
        self.slots[slot] = user;
        old
    }

    /// Groups of two or more users sharing a normalised email, keyed by that email.
    pub fn shared_emails(&self) -> BTreeMap<String, Vec<&User>> {
        self.by_email
            .iter()
            .filter(|(_, group)| group.len() > 1)
            .map(|(email, group)| {
                (email.clone(), group.iter().map(|&slot| self.user(slot)).collect())
            })
            .collect()
    }
}

/// Overlays the event's mapped traits on a user and gives it the event's `userId`.
fn with_event_fields(user: User, identify: &Identify) -> User {
    User {
        id: Some(identify.user_id.clone()),
        name: identify.name.clone().or(user.name),
        email: identify.email.clone().or(user.email),
        billing_id: identify.billing_id.clone().or(user.billing_id),
    }
}

fn unindex(index: &mut HashMap<String, BTreeSet<usize>>, key: Option<String>, slot: usize) {
    let Some(key) = key else { return };
    if let Some(group) = index.get_mut(&key) {
        group.remove(&slot);
        if group.is_empty() {
            index.remove(&key);
        }
    }
}
