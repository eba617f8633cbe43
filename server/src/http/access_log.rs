//! One log line per request: method, route template, status, duration; and
//! the same request recorded for Agora's own monitoring.
//!
//! The route *template* (`/datasets/{id}`), never the concrete path or query:
//! paths and queries can carry names and presigned tokens, and templates keep
//! the log aggregatable.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use agora_core::client_addr::ClientAddr;
use agora_core::monitoring::{CallerSlot, Monitor};

/// Label for requests no route matched: static files and 404s.
const FALLBACK_ROUTE: &str = "<fallback>";

pub async fn access_log(State(monitor): State<Monitor>, mut request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let ip = request.extensions().get::<ClientAddr>().map(|c| c.0);
    let caller = CallerSlot::default();
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    monitor.record(
        method.as_str(),
        route.as_deref().unwrap_or(FALLBACK_ROUTE),
        response.status().as_u16(),
        start.elapsed(),
        ip,
        caller.0.get().cloned(),
    );
    tracing::info!(
        target: "agora::access",
        method = %method,
        route = route.as_deref().unwrap_or(FALLBACK_ROUTE),
        status = response.status().as_u16(),
        duration_ms = start.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
