//! `kana-reference`: runs the reference Kana destination as an HTTP service.

use std::io::IsTerminal;
use std::net::SocketAddr;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kana_reference::service::{self, ServiceConfig};
use tracing_subscriber::EnvFilter;

/// The reference implementation of Kana's Segment destination.
///
/// It accepts Segment's Identify and Track messages on `POST /segment/events` and, in test mode,
/// exposes the conformance API under `/conformance` so that the harness (or a person with curl)
/// can create workspaces, set up features, rules and billing customers, and read the canonical
/// state back. All state lives in memory and is gone when the process stops. Logs go to stderr;
/// `KANA_LOG` sets their filter (`info` by default, `debug` for every request's outcome).
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the destination over HTTP until interrupted.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port, printed at start-up.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3400")]
    listen: SocketAddr,

    /// Token that the conformance API requires as `Authorization: Bearer <token>`. Without it the
    /// service runs without the conformance API, and `/conformance` answers 404.
    #[arg(long, value_name = "TOKEN", env = "KANA_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("KANA_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();

    let Command::Serve(mut args) = Cli::parse().command;
    args.admin_token = args.admin_token.filter(|token| !token.is_empty());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let conformance = args.admin_token.is_some();

    println!("listening on http://{address}");
    tracing::info!(%address, conformance, "reference destination started");
    if !conformance {
        tracing::warn!("no admin token given: the conformance API is disabled");
    }

    let config = ServiceConfig { admin_token: args.admin_token, ..ServiceConfig::default() };
    tokio::select! {
        result = service::serve(listener, config) => result.context("server failed")?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted, shutting down"),
    }
    Ok(())
}
