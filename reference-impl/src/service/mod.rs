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
//! Workspaces live in memory, each behind its own lock, so scenarios running in parallel in
//! different workspaces never wait for each other.

mod auth;
mod conformance;
mod ingest;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use tokio::net::TcpListener;

use crate::engine::Workspace;

/// How the service is set up.
#[derive(Debug, Clone, Default)]
pub struct ServiceConfig {
    /// The bearer token the conformance API requires; without one, that API does not exist.
    pub admin_token: Option<String>,
}

/// Everything the handlers share.
#[derive(Debug)]
struct AppState {
    admin_token: Option<String>,
    registry: RwLock<Registry>,
}

type SharedWorkspace = Arc<Mutex<Workspace>>;

#[derive(Debug, Default)]
struct Registry {
    next: u64,
    by_id: HashMap<String, SharedWorkspace>,
    by_api_key: HashMap<String, SharedWorkspace>,
}

impl AppState {
    fn workspace_by_id(&self, id: &str) -> Option<SharedWorkspace> {
        self.registry.read().expect("registry lock poisoned").by_id.get(id).cloned()
    }

    fn workspace_by_key(&self, key: &str) -> Option<SharedWorkspace> {
        self.registry.read().expect("registry lock poisoned").by_api_key.get(key).cloned()
    }
}

/// A refused request: an HTTP status and the message Segment (or the harness) shows.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "message": self.message }))).into_response()
    }
}

/// Builds the service's router.
pub fn router(config: ServiceConfig) -> Router {
    let state = Arc::new(AppState {
        admin_token: config.admin_token.filter(|token| !token.is_empty()),
        registry: RwLock::default(),
    });
    let mut router = Router::new().merge(ingest::routes());
    if state.admin_token.is_some() {
        router = router.nest("/conformance", conformance::routes(state.clone()));
    }
    router
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this endpoint")
        })
        .with_state(state)
}

/// Serves the destination on an already bound listener until the future is dropped.
pub async fn serve(listener: TcpListener, config: ServiceConfig) -> std::io::Result<()> {
    axum::serve(listener, router(config)).await
}

/// Starts the service on an ephemeral loopback port in the current runtime and returns its
/// address. The harness uses it to run the reference destination in-process.
pub async fn spawn_local(config: ServiceConfig) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let address = listener.local_addr()?;
    tokio::spawn(serve(listener, config));
    Ok(address)
}
