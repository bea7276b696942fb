//! The destination without its HTTP framing: workspaces, credentials and every answer the
//! service gives, as plain synchronous calls.
//!
//! The axum handlers are thin wrappers around [`Destination`], and the harness drives the very
//! same type in-process, so the in-process target and the HTTP target differ only in transport.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::auth;
use crate::engine::{
    BillingCustomer, CanonicalState, CommandError, Faults, FeatureCreated, ImportSummary,
    IngestError, Ingested, RuleCreated, RuleSpec, Workspace,
};

/// A refused request: the HTTP status and the message shown to whoever sent it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{status} {message}")]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
}

impl From<IngestError> for Refusal {
    fn from(error: IngestError) -> Self {
        Self::new(error.status(), error.to_string())
    }
}

impl From<CommandError> for Refusal {
    fn from(error: CommandError) -> Self {
        Self::new(400, error.to_string())
    }
}

/// A new workspace as the conformance API returns it. The API key is a secret: it is only ever
/// sent back to the admin who created the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceCreated {
    pub workspace: String,
    pub api_key: String,
}

/// The body of `POST /conformance/workspaces/{workspace}/features`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    pub id: String,
}

type SharedWorkspace = Arc<Mutex<Workspace>>;

/// A workspace reached through a valid API key, ready to ingest.
#[derive(Debug)]
pub struct Authenticated(SharedWorkspace);

impl Authenticated {
    pub fn ingest(&self, body: &[u8]) -> Result<Ingested, Refusal> {
        Ok(self.0.lock().expect("workspace lock poisoned").ingest(body)?)
    }
}

#[derive(Debug, Default)]
struct Registry {
    next: u64,
    by_id: HashMap<String, SharedWorkspace>,
    by_api_key: HashMap<String, SharedWorkspace>,
}

/// Every workspace of one running destination. Each workspace has its own lock, so work in one
/// never waits for another.
#[derive(Debug, Default)]
pub struct Destination {
    registry: RwLock<Registry>,
    faults: Faults,
}

impl Destination {
    pub fn new() -> Self {
        Self::default()
    }

    /// A destination whose every workspace makes these mistakes on purpose; see [`Faults`].
    pub fn with_faults(faults: Faults) -> Self {
        Self { faults, ..Self::default() }
    }

    /// Answers one Segment delivery: the `Authorization` header as sent, and the raw body.
    pub fn ingest(&self, authorization: Option<&str>, body: &[u8]) -> Result<Ingested, Refusal> {
        self.authenticate(authorization)?.ingest(body)
    }

    /// Finds the workspace whose API key the `Authorization` header carries.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Authenticated, Refusal> {
        let key = auth::api_key(authorization)?;
        let registry = self.registry.read().expect("registry lock poisoned");
        let workspace = registry.by_api_key.get(&key).cloned();
        workspace.map(Authenticated).ok_or_else(|| Refusal::new(401, "unknown API key"))
    }

    /// Creates an empty, isolated workspace with a fresh, unguessable API key.
    pub fn create_workspace(&self) -> WorkspaceCreated {
        let mut registry = self.registry.write().expect("registry lock poisoned");
        registry.next += 1;
        let id = format!("ws-{}", registry.next);
        let api_key = format!("kana_test_{}", uuid::Uuid::new_v4().simple());
        let workspace: SharedWorkspace = Arc::new(Mutex::new(Workspace::with_faults(self.faults)));
        registry.by_id.insert(id.clone(), workspace.clone());
        registry.by_api_key.insert(api_key.clone(), workspace);
        WorkspaceCreated { workspace: id, api_key }
    }

    pub fn create_feature(
        &self,
        workspace: &str,
        spec: &FeatureSpec,
    ) -> Result<FeatureCreated, Refusal> {
        Ok(self.with(workspace, |ws| ws.create_feature(&spec.id))??)
    }

    pub fn create_rule(&self, workspace: &str, spec: &RuleSpec) -> Result<RuleCreated, Refusal> {
        Ok(self.with(workspace, |ws| ws.create_rule(spec))??)
    }

    pub fn import_billing_customers(
        &self,
        workspace: &str,
        customers: &[BillingCustomer],
    ) -> Result<ImportSummary, Refusal> {
        Ok(self.with(workspace, |ws| ws.import_billing_customers(customers))??)
    }

    pub fn state(&self, workspace: &str) -> Result<CanonicalState, Refusal> {
        self.with(workspace, |ws| ws.state())
    }

    fn with<T>(
        &self,
        workspace: &str,
        run: impl FnOnce(&mut Workspace) -> T,
    ) -> Result<T, Refusal> {
        let shared = self
            .registry
            .read()
            .expect("registry lock poisoned")
            .by_id
            .get(workspace)
            .cloned()
            .ok_or_else(|| Refusal::new(404, format!("no workspace `{workspace}`")))?;
        let mut guard = shared.lock().expect("workspace lock poisoned");
        Ok(run(&mut guard))
    }
}
