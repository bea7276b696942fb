//! Any implementation behind HTTP: a partner's endpoint, or the reference service on loopback.
//!
//! Deliveries carry exactly the headers Segment sends (`Content-Type: application/json`,
//! `User-Agent: Segment.io/1.0` and the workspace's credentials), so an implementation cannot
//! tell a certification run from production traffic.

use std::net::SocketAddr;
use std::time::Duration;

use kana_reference::CanonicalState;
use kana_reference::engine::{BillingCustomer, RuleSpec};
use kana_reference::service::{ServiceConfig, WorkspaceCreated};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Delivery, Reply, Target, TargetError, TargetWorkspace, authorization};

/// Where an implementation lives and how to reach its conformance API.
#[derive(Clone)]
pub struct HttpConfig {
    /// The URL Segment would POST messages to.
    pub ingest_url: String,
    /// The base of the conformance API, without a trailing slash.
    pub conformance_url: String,
    pub admin_token: String,
    /// How long one request may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("ingest_url", &self.ingest_url)
            .field("conformance_url", &self.conformance_url)
            .finish_non_exhaustive()
    }
}

/// An implementation reached over HTTP.
#[derive(Debug)]
pub struct Http {
    client: Client,
    config: HttpConfig,
}

impl Http {
    pub fn new(mut config: HttpConfig) -> Result<Self, TargetError> {
        config.conformance_url = config.conformance_url.trim_end_matches('/').to_owned();
        let client = Client::builder().timeout(config.timeout).build().map_err(|error| {
            TargetError::Unreachable { url: config.ingest_url.clone(), reason: error.to_string() }
        })?;
        Ok(Self { client, config })
    }

    /// Starts the reference service on an ephemeral loopback port, in a background thread that
    /// lives as long as the process, and returns a target pointing at it.
    pub fn local_reference(admin_token: &str) -> std::io::Result<Self> {
        let address = spawn_reference(admin_token)?;
        let config = HttpConfig {
            ingest_url: format!("http://{address}/segment/events"),
            conformance_url: format!("http://{address}/conformance"),
            admin_token: admin_token.to_owned(),
            timeout: Duration::from_secs(10),
        };
        Self::new(config).map_err(std::io::Error::other)
    }

    fn admin(&self, request: RequestBuilder) -> RequestBuilder {
        request.header(AUTHORIZATION, format!("Bearer {}", self.config.admin_token))
    }

    fn conformance_url(&self, workspace: &TargetWorkspace, tail: &str) -> String {
        format!("{}/workspaces/{}/{tail}", self.config.conformance_url, workspace.id)
    }

    fn send(&self, url: &str, request: RequestBuilder) -> Result<Response, TargetError> {
        request.send().map_err(|error| TargetError::Unreachable {
            url: url.to_owned(),
            reason: describe_error(&error),
        })
    }

    /// A set-up call whose refusal is an answer worth recording, not a transport failure.
    fn post_json(&self, url: &str, body: &impl Serialize) -> Result<Reply, TargetError> {
        let response = self.send(url, self.admin(self.client.post(url)).json(body))?;
        Ok(read_reply(response))
    }

    fn read_json<T: DeserializeOwned>(
        &self,
        url: &str,
        response: Response,
    ) -> Result<T, TargetError> {
        let status = response.status().as_u16();
        let text = response.text().map_err(|error| TargetError::Unreachable {
            url: url.to_owned(),
            reason: describe_error(&error),
        })?;
        if !(200..300).contains(&status) {
            let message = error_message(&text);
            return Err(TargetError::Conformance { url: url.to_owned(), status, message });
        }
        serde_json::from_str(&text).map_err(|error| TargetError::Malformed {
            url: url.to_owned(),
            reason: error.to_string(),
        })
    }
}

impl Target for Http {
    fn describe(&self) -> String {
        self.config.ingest_url.clone()
    }

    fn create_workspace(&self) -> Result<TargetWorkspace, TargetError> {
        let url = format!("{}/workspaces", self.config.conformance_url);
        let response = self.send(&url, self.admin(self.client.post(&url)).json(&json!({})))?;
        let created: WorkspaceCreated = self.read_json(&url, response)?;
        Ok(TargetWorkspace { id: created.workspace, api_key: created.api_key })
    }

    fn deliver(
        &self,
        workspace: &TargetWorkspace,
        delivery: &Delivery,
    ) -> Result<Reply, TargetError> {
        let url = &self.config.ingest_url;
        let mut request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, "Segment.io/1.0")
            .body(delivery.body.clone());
        if let Some(value) = authorization(delivery.auth, &workspace.api_key) {
            request = request.header(AUTHORIZATION, value);
        }
        Ok(read_reply(self.send(url, request)?))
    }

    fn create_feature(&self, workspace: &TargetWorkspace, id: &str) -> Result<Reply, TargetError> {
        self.post_json(&self.conformance_url(workspace, "features"), &json!({ "id": id }))
    }

    fn create_rule(
        &self,
        workspace: &TargetWorkspace,
        rule: &RuleSpec,
    ) -> Result<Reply, TargetError> {
        self.post_json(&self.conformance_url(workspace, "rules"), rule)
    }

    fn import_billing_customers(
        &self,
        workspace: &TargetWorkspace,
        customers: &[BillingCustomer],
    ) -> Result<Reply, TargetError> {
        self.post_json(&self.conformance_url(workspace, "billing-customers"), &customers)
    }

    fn state(&self, workspace: &TargetWorkspace) -> Result<CanonicalState, TargetError> {
        let url = self.conformance_url(workspace, "state");
        let response = self.send(&url, self.admin(self.client.get(&url)))?;
        self.read_json(&url, response)
    }
}

/// A status and, unless it is a success, the `message` of the JSON error body.
fn read_reply(response: Response) -> Reply {
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Reply { status, message: None };
    }
    let text = response.text().unwrap_or_default();
    Reply { status, message: Some(error_message(&text)) }
}

/// The `message` of an error body, or a note saying the body did not have one.
fn error_message(text: &str) -> String {
    let parsed: Option<String> = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|body| body.get("message")?.as_str().map(str::to_owned));
    parsed.unwrap_or_else(|| {
        let shown: String = text.chars().take(200).collect();
        format!("(no JSON `message` in the error body: {shown:?})")
    })
}

/// reqwest's errors say little at the top level; the chain of causes says what happened.
fn describe_error(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() { "timed out".to_owned() } else { error.to_string() };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn spawn_reference(admin_token: &str) -> std::io::Result<SocketAddr> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let config = ServiceConfig { admin_token: Some(admin_token.to_owned()) };
    let address = runtime.block_on(kana_reference::service::spawn_local(config))?;
    // The runtime keeps serving until the process ends.
    std::thread::Builder::new()
        .name("kana-reference".to_owned())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
    Ok(address)
}
