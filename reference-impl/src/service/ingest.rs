//! `POST /segment/events`: where Segment delivers messages.
//!
//! The checks run in the order a customer would want to learn about problems: credentials first
//! (401), then size (413), then the message itself (400 or 501). A refused message changes
//! nothing, and a redelivered `messageId` is acknowledged without being applied again.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

use super::auth::{api_key, unauthorized};
use super::{ApiError, AppState};
use crate::engine::{IngestError, Ingested, MAX_MESSAGE_BYTES};

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/segment/events", post(ingest))
}

async fn ingest(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let key = api_key(&headers)?;
    let workspace = state.workspace_by_key(&key).ok_or_else(|| unauthorized("unknown API key"))?;

    // Read one byte past the limit so an oversized body is told apart from one at the limit.
    let body = to_bytes(body, MAX_MESSAGE_BYTES + 1).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("message is over the limit of {MAX_MESSAGE_BYTES} bytes"),
        )
    })?;

    let outcome = workspace.lock().expect("workspace lock poisoned").ingest(&body);
    match outcome {
        Ok(ingested) => {
            tracing::debug!(outcome = ingested.outcome(), "message accepted");
            Ok(Json(
                json!({ "message": accepted_message(&ingested), "outcome": ingested.outcome() }),
            ))
        }
        Err(error) => {
            tracing::debug!(%error, "message refused");
            Err(refusal(&error))
        }
    }
}

fn accepted_message(ingested: &Ingested) -> &'static str {
    match ingested {
        Ingested::Duplicate => "already accepted: a message with this `messageId` changed nothing",
        _ => "accepted",
    }
}

fn refusal(error: &IngestError) -> ApiError {
    let status = StatusCode::from_u16(error.status()).expect("engine statuses are valid");
    ApiError::new(status, error.to_string())
}
