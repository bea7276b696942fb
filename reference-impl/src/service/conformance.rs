//! The conformance API: set up a workspace's state and read it back, behind the admin token.
//!
//! Bodies are parsed strictly: an unknown field is refused rather than ignored, so a typo in a
//! scenario or a partner's client shows up as an error naming the field instead of a silently
//! different setup.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use super::auth::check_admin;
use super::{AppState, FeatureSpec, Refusal, authorization};
use crate::engine::{BillingCustomer, RuleSpec};

pub(super) fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/workspaces", post(create_workspace))
        .route("/workspaces/{workspace}/features", post(create_feature))
        .route("/workspaces/{workspace}/rules", post(create_rule))
        .route("/workspaces/{workspace}/billing-customers", post(import_billing_customers))
        .route("/workspaces/{workspace}/state", get(read_state))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
        .layer(DefaultBodyLimit::max(MAX_CONFORMANCE_BODY))
}

/// Billing imports can be large; anything bigger than this is refused with 413.
pub(super) const MAX_CONFORMANCE_BODY: usize = 64 * 1024 * 1024;

/// Extractor failures (an undecodable path, a body over the limit) answered as JSON refusals like
/// every other error of the API.
impl From<PathRejection> for Refusal {
    fn from(rejection: PathRejection) -> Self {
        Refusal::new(rejection.status().as_u16(), lowercase_first(&rejection.body_text()))
    }
}

impl From<BytesRejection> for Refusal {
    fn from(rejection: BytesRejection) -> Self {
        Refusal::new(rejection.status().as_u16(), lowercase_first(&rejection.body_text()))
    }
}

/// axum words its refusals as sentences; every other refusal here is a lowercase fragment.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

async fn require_admin(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let expected = state.admin_token.as_deref().expect("routes exist only with a token");
    match check_admin(authorization(&headers), expected) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

async fn create_workspace(State(state): State<Arc<AppState>>) -> Response {
    let created = state.destination.create_workspace();
    tracing::debug!(workspace = %created.workspace, "workspace created");
    (StatusCode::CREATED, Json(created)).into_response()
}

async fn create_feature(
    State(state): State<Arc<AppState>>,
    workspace: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Refusal> {
    let (Path(workspace), body) = (workspace?, body?);
    let spec: FeatureSpec = parse_body(&body)?;
    let created = state.destination.create_feature(&workspace, &spec)?;
    let status = if created.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(created)).into_response())
}

async fn create_rule(
    State(state): State<Arc<AppState>>,
    workspace: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Refusal> {
    let (Path(workspace), body) = (workspace?, body?);
    let spec: RuleSpec = parse_body(&body)?;
    let created = state.destination.create_rule(&workspace, &spec)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn import_billing_customers(
    State(state): State<Arc<AppState>>,
    workspace: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Refusal> {
    let (Path(workspace), body) = (workspace?, body?);
    let customers: Vec<BillingCustomer> = parse_body(&body)?;
    let summary = state.destination.import_billing_customers(&workspace, &customers)?;
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

async fn read_state(
    State(state): State<Arc<AppState>>,
    workspace: Result<Path<String>, PathRejection>,
) -> Result<Response, Refusal> {
    let Path(workspace) = workspace?;
    Ok(Json(state.destination.state(&workspace)?).into_response())
}

/// Parses a JSON body, naming the path of the offending field when it does not fit.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = if path == "." {
            format!("invalid body: {}", error.inner())
        } else {
            format!("`{path}`: {}", error.inner())
        };
        Refusal::new(400, message)
    })
}
