//! The reference destination over HTTP.
//!
//! Two surfaces share one process:
//!
//! - `POST /segment/events` speaks Segment's partner protocol: one message per request,
//!   authenticated by the workspace's API key, answered with the status codes Segment acts on.
//! - `/conformance/...` is the test-mode API the harness uses to create isolated workspaces, set
//!   up features, rules and billing customers, and read the canonical state back. It exists only
//!   when the service is started with an admin token, and every call must present it.
//!
//! The HTTP layer only frames requests and responses; every decision is made by
//! [`Destination`], which the harness can also drive in-process.

mod auth;
mod conformance;
mod destination;
mod ingest;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use axum::Json;
use axum::Router;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::net::TcpListener;

pub use destination::{Authenticated, Destination, FeatureSpec, Refusal, WorkspaceCreated};

use crate::engine::Faults;

/// How the service is set up.
#[derive(Debug, Clone, Default)]
pub struct ServiceConfig {
    /// The bearer token the conformance API requires; without one, that API does not exist.
    pub admin_token: Option<String>,
    /// Deliberate deviations from the specification, for testing the harness; none by default.
    pub faults: Faults,
    /// Answer this many ingest requests with 500 before behaving, as a flaky endpoint would; for
    /// testing the harness's retries. Zero by default.
    pub fail_first_deliveries: usize,
}

/// Everything the handlers share.
#[derive(Debug)]
struct AppState {
    admin_token: Option<String>,
    destination: Destination,
    /// Injected failures still to answer; see [`ServiceConfig::fail_first_deliveries`].
    failures_left: AtomicUsize,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(json!({ "message": self.message }))).into_response()
    }
}

/// The `Authorization` header as text; a header that is not visible ASCII counts as missing.
fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(AUTHORIZATION).and_then(|value| value.to_str().ok())
}

/// Builds the service's router.
pub fn router(config: ServiceConfig) -> Router {
    let state = Arc::new(AppState {
        admin_token: config.admin_token.filter(|token| !token.is_empty()),
        destination: Destination::with_faults(config.faults),
        failures_left: AtomicUsize::new(config.fail_first_deliveries),
    });
    let mut router = Router::new().merge(ingest::routes());
    if state.admin_token.is_some() {
        router = router.nest("/conformance", conformance::routes(state.clone()));
    }
    router
        .fallback(|| async { Refusal::new(404, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            Refusal::new(405, "method not allowed on this endpoint")
        })
        .with_state(state)
}

/// Serves the destination on an already bound listener.
pub async fn serve(listener: TcpListener, config: ServiceConfig) -> std::io::Result<()> {
    axum::serve(listener, router(config)).await
}

/// Starts the service on an ephemeral loopback port in the current Tokio runtime and returns its
/// address. The harness uses it to run the reference destination behind real HTTP.
pub async fn spawn_local(config: ServiceConfig) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(serve(listener, config));
    Ok(address)
}
