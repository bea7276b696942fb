//! The options that choose the implementation to talk to, shared by the subcommands.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use kana_harness::target::HttpConfig;

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
        config.timeout = self.timeout()?;
        Ok(Some(config))
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
