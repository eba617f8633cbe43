//! `/healthz`: the process answers. `/readyz`: every component it depends on
//! answers too (data directory now; storage and index as they arrive).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::AppState;

pub async fn healthz() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Json(json!({ "status": "ok", "version": agora_model::VERSION })))
}

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let report = state.readiness.check().await;
    let status = if report.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, [(header::CACHE_CONTROL, "no-store")], Json(report))
}
