//! `POST /segment/events`: where Segment delivers messages.
//!
//! The checks run in the order a customer would want to learn about problems: credentials first
//! (401), then size (413), then the message itself (400 or 501). A refused message changes
//! nothing, and a redelivered `messageId` is acknowledged without being applied again.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Value, json};

use super::{AppState, Refusal, authorization};
use crate::engine::{IngestError, Ingested, MAX_MESSAGE_BYTES};

pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/segment/events", post(ingest))
}

async fn ingest(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, Refusal> {
    let injected = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1));
    if injected.is_ok() {
        return Err(Refusal::new(500, "injected failure: this service was started to fail first"));
    }

    // A bad key is refused before the body is read at all.
    let workspace = state.destination.authenticate(authorization(&headers))?;
    let body = to_bytes(body, MAX_MESSAGE_BYTES)
        .await
        .map_err(|_| Refusal::from(IngestError::TooLarge { limit: MAX_MESSAGE_BYTES }))?;

    let ingested = workspace.ingest(&body).inspect_err(|refusal| {
        tracing::debug!(status = refusal.status, message = %refusal.message, "message refused");
    })?;
    tracing::debug!(outcome = ingested.outcome(), "message accepted");
    Ok(Json(json!({ "message": accepted_message(&ingested), "outcome": ingested.outcome() })))
}

fn accepted_message(ingested: &Ingested) -> &'static str {
    match ingested {
        Ingested::Duplicate => "already accepted: a message with this `messageId` changed nothing",
        _ => "accepted",
    }
}
