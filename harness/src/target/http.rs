//! Any implementation behind HTTP: a partner's endpoint, or the reference service on loopback.
//!
//! Deliveries carry exactly the headers Segment sends (`Content-Type: application/json`,
//! `User-Agent: Segment.io/1.0` and the workspace's credentials), so an implementation cannot
//! tell a certification run from production traffic.
//!
//! The transport behaves like Segment's own: every request has a timeout, and connection errors,
//! timeouts, 429 and 5xx answers (but 501, a final "unsupported type") are retried with
//! exponential backoff (honouring `Retry-After`),
//! each retry noted on the workspace for the report. A run-wide deadline bounds everything, so a
//! hanging implementation ends the run instead of stalling it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use kana_reference::CanonicalState;
use kana_reference::engine::{BillingCustomer, RuleSpec};
use kana_reference::service::{ServiceConfig, WorkspaceCreated};
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Delivery, Reply, Target, TargetError, TargetWorkspace, authorization};

/// Where an implementation lives, how to reach its conformance API, and how patient to be.
#[derive(Clone)]
pub struct HttpConfig {
    /// The URL Segment would POST messages to.
    pub ingest_url: String,
    /// The base of the conformance API, without a trailing slash.
    pub conformance_url: String,
    pub admin_token: String,
    /// How long one request may take.
    pub timeout: Duration,
    /// How many times a failed request is retried.
    pub retries: u32,
    /// The first retry waits about this long; later ones wait exponentially longer.
    pub backoff: Duration,
    /// No request starts after this moment.
    pub deadline: Option<Instant>,
}

impl HttpConfig {
    pub fn new(ingest_url: String, conformance_url: String, admin_token: String) -> Self {
        Self {
            ingest_url,
            conformance_url,
            admin_token,
            timeout: Duration::from_secs(10),
            retries: 3,
            backoff: Duration::from_millis(200),
            deadline: None,
        }
    }
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("ingest_url", &self.ingest_url)
            .field("conformance_url", &self.conformance_url)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// An implementation reached over HTTP.
#[derive(Debug)]
pub struct Http {
    client: Client,
    config: HttpConfig,
}

/// One raw answer: status, `Retry-After` and body text.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    text: String,
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
    /// lives as long as the process, and returns its configuration for [`Http::new`].
    pub fn local_reference(service: ServiceConfig) -> std::io::Result<HttpConfig> {
        let admin_token = service.admin_token.clone().unwrap_or_default();
        let address = spawn_reference(service)?;
        Ok(HttpConfig::new(
            format!("http://{address}/segment/events"),
            format!("http://{address}/conformance"),
            admin_token,
        ))
    }

    fn admin(&self, request: RequestBuilder) -> RequestBuilder {
        request.header(AUTHORIZATION, format!("Bearer {}", self.config.admin_token))
    }

    fn workspace_url(&self, workspace: &TargetWorkspace, tail: &str) -> String {
        format!("{}/workspaces/{}/{tail}", self.config.conformance_url, workspace.id)
    }

    /// Sends a request, retrying what Segment would retry, and notes every retry on `notes`.
    fn exchange(
        &self,
        url: &str,
        build: impl Fn() -> RequestBuilder,
        notes: &TargetWorkspace,
    ) -> Result<Answer, TargetError> {
        let mut waits = ExponentialBuilder::default()
            .with_min_delay(self.config.backoff)
            .with_max_times(self.config.retries as usize)
            .with_jitter()
            .build();
        let mut attempt = 1;
        loop {
            self.check_deadline(url, Duration::ZERO)?;
            let outcome = self.attempt(url, build());
            let (problem, retry_after) = match &outcome {
                Ok(answer) if retryable(answer.status) => {
                    (format!("answered {}", answer.status), answer.retry_after)
                }
                Ok(_) => return outcome,
                Err(error) => (error.to_string(), None),
            };
            let Some(backoff) = waits.next() else {
                return match outcome {
                    Ok(answer) => Err(TargetError::Unavailable {
                        url: url.to_owned(),
                        status: answer.status,
                        attempts: attempt,
                        message: error_message(&answer.text),
                    }),
                    Err(error) => Err(error),
                };
            };
            let wait = retry_after.unwrap_or(backoff);
            self.check_deadline(url, wait)?;
            let note = format!(
                "retry {attempt} of {} {url}: {problem}; waited {} ms",
                self.config.retries,
                wait.as_millis()
            );
            tracing::warn!("{note}");
            notes.note(note);
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn attempt(&self, url: &str, request: RequestBuilder) -> Result<Answer, TargetError> {
        let unreachable = |error: reqwest::Error| TargetError::Unreachable {
            url: url.to_owned(),
            reason: describe_error(&error),
        };
        let response = request.send().map_err(unreachable)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(retry_after);
        let text = response.text().map_err(unreachable)?;
        Ok(Answer { status, retry_after, text })
    }

    fn check_deadline(&self, url: &str, wait: Duration) -> Result<(), TargetError> {
        match self.config.deadline {
            Some(deadline) if Instant::now() + wait >= deadline => {
                Err(TargetError::Deadline { url: url.to_owned() })
            }
            _ => Ok(()),
        }
    }

    /// A set-up call whose refusal is an answer worth recording, not a transport failure.
    fn post_json(
        &self,
        workspace: &TargetWorkspace,
        tail: &str,
        body: &impl Serialize,
    ) -> Result<Reply, TargetError> {
        let url = self.workspace_url(workspace, tail);
        let answer =
            self.exchange(&url, || self.admin(self.client.post(&url)).json(body), workspace)?;
        Ok(reply(answer))
    }

    fn read_json<T: DeserializeOwned>(&self, url: &str, answer: Answer) -> Result<T, TargetError> {
        if !(200..300).contains(&answer.status) {
            let message = error_message(&answer.text);
            return Err(TargetError::Conformance {
                url: url.to_owned(),
                status: answer.status,
                message,
            });
        }
        serde_json::from_str(&answer.text).map_err(|error| TargetError::Malformed {
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
        let notes = TargetWorkspace::new(String::new(), String::new());
        let answer =
            self.exchange(&url, || self.admin(self.client.post(&url)).json(&json!({})), &notes)?;
        let created: WorkspaceCreated = self.read_json(&url, answer)?;
        let workspace = TargetWorkspace::new(created.workspace, created.api_key);
        notes.notes().into_iter().for_each(|note| workspace.note(note));
        Ok(workspace)
    }

    fn deliver(
        &self,
        workspace: &TargetWorkspace,
        delivery: &Delivery,
    ) -> Result<Reply, TargetError> {
        let url = &self.config.ingest_url;
        let header = authorization(delivery.auth, &workspace.api_key);
        let build = || {
            let request = self
                .client
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .header(USER_AGENT, "Segment.io/1.0")
                .body(delivery.body.clone());
            match &header {
                Some(value) => request.header(AUTHORIZATION, value),
                None => request,
            }
        };
        Ok(reply(self.exchange(url, build, workspace)?))
    }

    fn create_feature(&self, workspace: &TargetWorkspace, id: &str) -> Result<Reply, TargetError> {
        self.post_json(workspace, "features", &json!({ "id": id }))
    }

    fn create_rule(
        &self,
        workspace: &TargetWorkspace,
        rule: &RuleSpec,
    ) -> Result<Reply, TargetError> {
        self.post_json(workspace, "rules", rule)
    }

    fn import_billing_customers(
        &self,
        workspace: &TargetWorkspace,
        customers: &[BillingCustomer],
    ) -> Result<Reply, TargetError> {
        self.post_json(workspace, "billing-customers", &customers)
    }

    fn state(&self, workspace: &TargetWorkspace) -> Result<CanonicalState, TargetError> {
        let url = self.workspace_url(workspace, "state");
        let answer = self.exchange(&url, || self.admin(self.client.get(&url)), workspace)?;
        self.read_json(&url, answer)
    }
}

/// The longest `Retry-After` the harness honours; the run's deadline bounds it further.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// `Retry-After` as seconds (`120`) or as an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`),
/// capped at [`MAX_RETRY_AFTER`].
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
            let seconds = at.as_second().saturating_sub(jiff::Timestamp::now().as_second());
            Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Statuses that mean "try again later": 429 and 5xx, except 501, which is the destination's
/// final answer to a message type it does not support.
fn retryable(status: u16) -> bool {
    status == 429 || (status >= 500 && status != 501)
}

/// A status and, unless it is a success, the `message` of the JSON error body.
fn reply(answer: Answer) -> Reply {
    if (200..300).contains(&answer.status) {
        return Reply { status: answer.status, message: None };
    }
    Reply { status: answer.status, message: Some(error_message(&answer.text)) }
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
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn spawn_reference(service: ServiceConfig) -> std::io::Result<SocketAddr> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let address = runtime.block_on(kana_reference::service::spawn_local(service))?;
    // The runtime keeps serving until the process ends.
    std::thread::Builder::new()
        .name("kana-reference".to_owned())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date_and_capped() {
        assert_eq!(retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(retry_after("3600"), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn only_429_and_5xx_other_than_501_are_retried() {
        let retried: Vec<u16> = [200, 400, 404, 429, 500, 501, 502, 503]
            .into_iter()
            .filter(|s| retryable(*s))
            .collect();
        assert_eq!(retried, vec![429, 500, 502, 503]);
    }
}
