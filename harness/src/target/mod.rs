//! Targets: the implementations a scenario runs against.
//!
//! A [`Target`] is anything that speaks the destination's two surfaces: ingest (Segment's
//! deliveries) and the conformance API (set-up and the canonical state). The harness ships two:
//! [`InProcess`], the reference destination called directly, and [`Http`], any implementation
//! behind a URL, including the reference service on a loopback port.
//!
//! A target separates the destination's *answers* (a status and a message, which are part of the
//! contract and end up in snapshots) from *transport failures* (unreachable, timed out, an
//! unreadable state), which mean the run could not judge the implementation at all.

mod http;
mod in_process;

use std::sync::{Arc, Mutex};

use kana_reference::CanonicalState;
use kana_reference::engine::{BillingCustomer, RuleSpec};

pub use http::{Http, HttpConfig};
pub use in_process::InProcess;

use crate::scenario::Auth;

/// A workspace created on a target for one scenario run. The API key never leaves the target's
/// own calls: it is not printed, and it is redacted from anything the target answers.
#[derive(Clone)]
pub struct TargetWorkspace {
    pub id: String,
    pub api_key: String,
    /// What the transport had to do to get answers (retries, waits), for reports.
    notes: Arc<Mutex<Vec<String>>>,
}

impl TargetWorkspace {
    pub fn new(id: String, api_key: String) -> Self {
        Self { id, api_key, notes: Arc::default() }
    }

    /// Records something the transport did for this workspace, such as a retry.
    pub fn note(&self, note: String) {
        self.notes.lock().expect("notes lock poisoned").push(note);
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().expect("notes lock poisoned").clone()
    }
}

impl std::fmt::Debug for TargetWorkspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetWorkspace").field("id", &self.id).finish_non_exhaustive()
    }
}

/// One delivery to the ingest endpoint.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub auth: Auth,
    pub body: Vec<u8>,
}

/// The destination's answer to a request: its status and, for a refusal, its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub message: Option<String>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The run could not get an answer worth judging.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} kept answering {status} after {attempts} attempts: {message}")]
    Unavailable { url: String, status: u16, attempts: u32, message: String },
    #[error("the run's deadline passed before {url} answered")]
    Deadline { url: String },
    #[error("{url} answered {status} to a conformance request: {message}")]
    Conformance { url: String, status: u16, message: String },
    #[error("{url} answered with a body that is not what the conformance API specifies: {reason}")]
    Malformed { url: String, reason: String },
}

/// An implementation of the destination under test.
pub trait Target: Send + Sync {
    /// A short description for reports, such as the ingest URL. Never holds a credential.
    fn describe(&self) -> String;

    fn create_workspace(&self) -> Result<TargetWorkspace, TargetError>;

    fn deliver(
        &self,
        workspace: &TargetWorkspace,
        delivery: &Delivery,
    ) -> Result<Reply, TargetError>;

    fn create_feature(&self, workspace: &TargetWorkspace, id: &str) -> Result<Reply, TargetError>;

    fn create_rule(
        &self,
        workspace: &TargetWorkspace,
        rule: &RuleSpec,
    ) -> Result<Reply, TargetError>;

    fn import_billing_customers(
        &self,
        workspace: &TargetWorkspace,
        customers: &[BillingCustomer],
    ) -> Result<Reply, TargetError>;

    fn state(&self, workspace: &TargetWorkspace) -> Result<CanonicalState, TargetError>;
}

/// The `Authorization` header value a delivery sends, or none.
pub(crate) fn authorization(auth: Auth, api_key: &str) -> Option<String> {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    match auth {
        Auth::Basic => Some(format!("Basic {}", STANDARD.encode(format!("{api_key}:")))),
        Auth::Raw => Some(api_key.to_owned()),
        Auth::Missing => None,
        Auth::WrongKey => Some(format!("Basic {}", STANDARD.encode("kana_test_no_such_key:"))),
        Auth::Malformed => Some("Basic %%%not-base64%%%".to_owned()),
        Auth::BasicWithPassword => {
            Some(format!("Basic {}", STANDARD.encode(format!("{api_key}:secret"))))
        }
        Auth::LowercaseScheme => Some(format!("basic {}", STANDARD.encode(format!("{api_key}:")))),
        Auth::RawPadded => Some(format!("  {api_key}  ")),
        Auth::EmptyKey => Some(format!("Basic {}", STANDARD.encode(":"))),
    }
}
