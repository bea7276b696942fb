//! The options that choose the implementation to talk to, shared by the subcommands.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use kana_harness::target::{Http, HttpConfig};
use kana_reference::engine::Faults;
use kana_reference::service::ServiceConfig;

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// The implementation's ingest URL, where Segment would POST messages. Without it, the
    /// reference destination is used.
    #[arg(long, value_name = "URL", requires = "conformance_url")]
    pub endpoint: Option<String>,

    /// The base URL of the implementation's conformance API (the part before `/workspaces`).
    #[arg(long, value_name = "URL", requires = "endpoint")]
    pub conformance_url: Option<String>,

    /// The conformance API's admin token, sent as `Authorization: Bearer <token>`. Never printed.
    #[arg(long, value_name = "TOKEN", env = "KANA_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Seconds one HTTP request may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,

    /// How often a request is retried after a connection error, a timeout, 429, or a 5xx other
    /// than 501 (the destination's final answer to an unsupported message type).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
}

impl TargetArgs {
    /// The configuration for `--endpoint`, or none when no endpoint was given.
    pub fn endpoint_config(&self) -> anyhow::Result<Option<HttpConfig>> {
        let (Some(endpoint), Some(conformance)) = (&self.endpoint, &self.conformance_url) else {
            return Ok(None);
        };
        let Some(token) = self.admin_token.clone().filter(|token| !token.is_empty()) else {
            bail!("`--admin-token` (or `KANA_ADMIN_TOKEN`) is required with `--endpoint`");
        };
        let mut config = HttpConfig::new(endpoint.clone(), conformance.clone(), token);
        self.configure(&mut config)?;
        Ok(Some(config))
    }

    /// The configuration for `--endpoint`, or else for the reference destination started on a
    /// loopback port (with deliberate `faults`, for demonstrations), with a fresh admin token.
    pub fn http_config(&self, faults: Faults) -> anyhow::Result<HttpConfig> {
        if let Some(config) = self.endpoint_config()? {
            return Ok(config);
        }
        let token = format!("local-{:016x}", rand::random::<u64>());
        let service =
            ServiceConfig { admin_token: Some(token), faults, ..ServiceConfig::default() };
        let mut config =
            Http::local_reference(service).context("cannot start the reference destination")?;
        self.configure(&mut config)?;
        Ok(config)
    }

    /// Applies the transport options.
    fn configure(&self, config: &mut HttpConfig) -> anyhow::Result<()> {
        config.timeout = self.timeout()?;
        config.retries = self.retries;
        Ok(())
    }

    pub fn timeout(&self) -> anyhow::Result<Duration> {
        seconds("--timeout", self.timeout)
    }

    /// The options that reach the same implementation again, for replay commands. The token is
    /// left to `KANA_ADMIN_TOKEN`, so it is never printed.
    pub fn replay_options(&self) -> String {
        match (&self.endpoint, &self.conformance_url) {
            (Some(endpoint), Some(conformance)) => {
                format!(" --endpoint {endpoint} --conformance-url {conformance}")
            }
            _ => String::new(),
        }
    }
}

/// A positive number of seconds from an option.
pub fn seconds(option: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|duration| !duration.is_zero())
        .with_context(|| format!("`{option}` must be a positive number of seconds, got {value}"))
}

/// How this program was started, for replay commands: through cargo or as an installed binary.
pub fn program_name() -> String {
    match std::env::var_os("CARGO_PKG_NAME") {
        Some(_) => "cargo run -q -p kana-harness --".to_owned(),
        None => "kana-harness".to_owned(),
    }
}
