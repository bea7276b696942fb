//! The conformance API: set up a workspace's state and read it back, behind the admin token.
//!
//! Bodies are parsed strictly: an unknown field is refused rather than ignored, so a typo in a
//! scenario or a partner's client shows up as an error naming the field instead of a silently
//! different setup.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::auth::check_admin;
use super::{ApiError, AppState, SharedWorkspace};
use crate::engine::{BillingCustomer, CommandError, RuleSpec, Workspace};

pub(super) fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/workspaces", post(create_workspace))
        .route("/workspaces/{workspace}/features", post(create_feature))
        .route("/workspaces/{workspace}/rules", post(create_rule))
        .route("/workspaces/{workspace}/billing-customers", post(import_billing_customers))
        .route("/workspaces/{workspace}/state", get(read_state))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

async fn require_admin(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let expected = state.admin_token.as_deref().expect("routes exist only with a token");
    match check_admin(&headers, expected) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn create_workspace(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let mut registry = state.registry.write().expect("registry lock poisoned");
    registry.next += 1;
    let id = format!("ws-{}", registry.next);
    let api_key = format!("kana_test_{}", uuid::Uuid::new_v4().simple());
    let workspace: SharedWorkspace = Arc::new(Mutex::new(Workspace::new()));
    registry.by_id.insert(id.clone(), workspace.clone());
    registry.by_api_key.insert(api_key.clone(), workspace);
    tracing::debug!(workspace = %id, "workspace created");
    (StatusCode::CREATED, Json(json!({ "workspace": id, "apiKey": api_key })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeatureSpec {
    id: String,
}

async fn create_feature(
    State(state): State<Arc<AppState>>,
    Path(workspace): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec: FeatureSpec = parse_body(&body)?;
    let created = lock(&state, &workspace)?
        .lock()
        .expect("workspace lock poisoned")
        .create_feature(&spec.id)
        .map_err(invalid)?;
    let status = if created.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(created)).into_response())
}

async fn create_rule(
    State(state): State<Arc<AppState>>,
    Path(workspace): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let spec: RuleSpec = parse_body(&body)?;
    let created = lock(&state, &workspace)?
        .lock()
        .expect("workspace lock poisoned")
        .create_rule(&spec)
        .map_err(invalid)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn import_billing_customers(
    State(state): State<Arc<AppState>>,
    Path(workspace): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let customers: Vec<BillingCustomer> = parse_body(&body)?;
    let summary = lock(&state, &workspace)?
        .lock()
        .expect("workspace lock poisoned")
        .import_billing_customers(&customers)
        .map_err(invalid)?;
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

async fn read_state(
    State(state): State<Arc<AppState>>,
    Path(workspace): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = lock(&state, &workspace)?.lock().expect("workspace lock poisoned").state();
    Ok(Json(snapshot).into_response())
}

fn lock(state: &AppState, workspace: &str) -> Result<SharedWorkspace, ApiError> {
    state
        .workspace_by_id(workspace)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no workspace `{workspace}`")))
}

/// Parses a JSON body, naming the path of the offending field when it does not fit.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = if path == "." {
            format!("invalid body: {}", error.inner())
        } else {
            format!("`{path}`: {}", error.inner())
        };
        ApiError::new(StatusCode::BAD_REQUEST, message)
    })
}

fn invalid(error: CommandError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, error.to_string())
}
