//! `/api/v1/datasets/{id}/runs/…`: training sessions reported by training
//! clients (an API key with write access to the dataset), their rounds,
//! logs (appended, downloaded, watched live) and model artifacts.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{header, StatusCode};
use axum::response::sse::Event;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use agora_app::server::{RequestCaller, RestError};
use agora_model::dashboards::DashboardView;
use agora_model::files::{DownloadLink, UploadTicket};
use agora_model::runs::{ArtifactUpload, LogAccepted, LogAppend, NewRun, RoundReport, RunEnd, RunView};
use agora_model::ApiError;

use super::{Answer, Body, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    paths(start, list, show, heartbeat, round, end, append_log, log, log_events, artifact_upload, artifact_download, dashboard),
    tags((name = "runs", description = "Training sessions, rounds, live logs and model artifacts of a dataset"))
)]
pub struct RunsApi;

/// Bodies up to this size (a log append of 10,000 lines).
const BODY_LIMIT: usize = 32 * 1024 * 1024;
/// How often a live log also looks in storage for chunks other nodes stored.
const POLL_OTHER_NODES: std::time::Duration = std::time::Duration::from_secs(2);

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/datasets/{id}/runs", get(list).post(start))
        .route("/datasets/{id}/runs/{run}", get(show))
        .route("/datasets/{id}/runs/{run}/heartbeat", post(heartbeat))
        .route("/datasets/{id}/runs/{run}/rounds", post(round))
        .route("/datasets/{id}/runs/{run}/end", post(end))
        .route("/datasets/{id}/runs/{run}/logs", get(log).post(append_log))
        .route("/datasets/{id}/runs/{run}/logs/events", get(log_events))
        .route("/datasets/{id}/runs/{run}/rounds/{round}/artifacts", post(artifact_upload))
        .route("/datasets/{id}/runs/{run}/rounds/{round}/artifacts/{name}", get(artifact_download))
        .route("/datasets/{id}/runs/{run}/dashboard", post(dashboard))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// Starts a training session. Send an `idempotency_key` to make retries
/// safe: the same key gives the same session.
#[utoipa::path(post, path = "/datasets/{id}/runs", tag = "runs", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = NewRun, responses((status = 201, body = RunView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn start(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(request): Body<NewRun>,
) -> Answer<(StatusCode, Json<RunView>)> {
    Ok((StatusCode::CREATED, Json(hub.start_run(&caller, &id, request).await?)))
}

/// The dataset's sessions, newest first, each with its status (`stale`:
/// running but silent for longer than the hub allows).
#[utoipa::path(get, operation_id = "list_runs", path = "/datasets/{id}/runs", tag = "runs", security((), ("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Vec<RunView>), (status = 404, body = ErrorBody)))]
async fn list(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<Json<Vec<RunView>>> {
    Ok(Json(hub.runs(&caller, &id).await?))
}

#[utoipa::path(get, operation_id = "get_run", path = "/datasets/{id}/runs/{run}", tag = "runs", security((), ("bearer" = [])), params(("id" = String, Path), ("run" = String, Path)),
    responses((status = 200, body = RunView), (status = 404, body = ErrorBody)))]
async fn show(RequestCaller(hub, caller): RequestCaller, Path((id, run)): Path<(String, String)>) -> Answer<Json<RunView>> {
    Ok(Json(hub.run(&caller, &id, &run).await?))
}

/// The session is alive (send one at least every few minutes).
#[utoipa::path(post, path = "/datasets/{id}/runs/{run}/heartbeat", tag = "runs", security(("bearer" = [])), params(("id" = String, Path), ("run" = String, Path)),
    responses((status = 200, body = RunView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the session has ended")))]
async fn heartbeat(RequestCaller(hub, caller): RequestCaller, Path((id, run)): Path<(String, String)>) -> Answer<Json<RunView>> {
    Ok(Json(hub.heartbeat(&caller, &id, &run).await?))
}

/// A round's metrics (name → finite number) and notes. Reporting the same
/// round again replaces it, so a retry gives one round.
#[utoipa::path(post, path = "/datasets/{id}/runs/{run}/rounds", tag = "runs", security(("bearer" = [])), params(("id" = String, Path), ("run" = String, Path)),
    request_body = RoundReport, responses((status = 200, body = RunView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn round(RequestCaller(hub, caller): RequestCaller, Path((id, run)): Path<(String, String)>, body: Bytes) -> Answer<Json<RunView>> {
    let report: RoundReport = parse_round(&body)?;
    Ok(Json(hub.report_round(&caller, &id, &run, report).await?))
}

/// JSON has no NaN or infinity; Python writes them anyway (`NaN`,
/// `Infinity`): say so instead of "not valid JSON".
fn parse_round(body: &[u8]) -> Result<RoundReport, RestError> {
    serde_json::from_slice(body).map_err(|err| {
        let text = String::from_utf8_lossy(body);
        let message = if ["NaN", "Infinity"].iter().any(|word| text.contains(word)) {
            "NaN and infinite values are not numbers; report finite metrics (Python: json.dumps(..., allow_nan=False) finds them)"
                .to_owned()
        } else {
            format!("is not a round report: {err}")
        };
        let field = if message.starts_with("NaN") { "metrics" } else { "body" };
        RestError(ApiError::invalid(field, message))
    })
}

/// Ends the session: `finished`, or `failed` with a reason. Again with the
/// same status changes nothing.
#[utoipa::path(post, path = "/datasets/{id}/runs/{run}/end", tag = "runs", security(("bearer" = [])), params(("id" = String, Path), ("run" = String, Path)),
    request_body = RunEnd, responses((status = 200, body = RunView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn end(
    RequestCaller(hub, caller): RequestCaller,
    Path((id, run)): Path<(String, String)>,
    Body(end): Body<RunEnd>,
) -> Answer<Json<RunView>> {
    Ok(Json(hub.end_run(&caller, &id, &run, end).await?))
}

/// Appends log lines (at most 10,000 per request, 16 KiB each). Stored
/// before the answer; watchers see them at once. Past the session's log
/// limit, lines are dropped and the log ends with a "truncated" marker.
#[utoipa::path(post, path = "/datasets/{id}/runs/{run}/logs", tag = "runs", security(("bearer" = [])), params(("id" = String, Path), ("run" = String, Path)),
    request_body = LogAppend, responses((status = 200, body = LogAccepted), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn append_log(
    RequestCaller(hub, caller): RequestCaller,
    Path((id, run)): Path<(String, String)>,
    Body(append): Body<LogAppend>,
) -> Answer<Json<LogAccepted>> {
    Ok(Json(hub.append_log(&caller, &id, &run, append.lines).await?))
}

/// The whole log as text, to download, streamed chunk by chunk.
#[utoipa::path(get, path = "/datasets/{id}/runs/{run}/logs", tag = "runs", security((), ("bearer" = [])), params(("id" = String, Path), ("run" = String, Path)),
    responses((status = 200, content_type = "text/plain"), (status = 404, body = ErrorBody)))]
async fn log(RequestCaller(hub, caller): RequestCaller, Path((id, run)): Path<(String, String)>) -> Answer<impl IntoResponse> {
    let chunks = hub.run_log(&caller, &id, &run).await?;
    let disposition = format!("attachment; filename=\"run-{run}.log\"");
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        axum::body::Body::from_stream(chunks),
    ))
}

/// Server-sent events: first `tail` (the log's last 2,000 lines), then
/// `lines` as they are appended (`{"lines": [...]}`), on this node at once
/// and from other nodes within 2 s. Like every live stream, it ends with an
/// `ended` event once the caller's right to the dataset is gone (checked
/// every 2 s), and counts toward the per-account and per-node stream caps.
#[utoipa::path(get, path = "/datasets/{id}/runs/{run}/logs/events", tag = "runs", security((), ("bearer" = [])), params(("id" = String, Path), ("run" = String, Path)),
    responses((status = 200, content_type = "text/event-stream"), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn log_events(
    RequestCaller(hub, caller): RequestCaller,
    Path((id, run)): Path<(String, String)>,
) -> Answer<super::live::LiveResponse> {
    use tokio::sync::broadcast::error::RecvError;
    let watch = hub.watch_log(&caller, &id, &run).await?;
    let watched = agora_core::live::Watched::RunLog { dataset: id.clone(), run: run.clone() };
    let permit = watch.permit;
    let first = Event::default().event("tail").data(serde_json::json!({ "lines": watch.tail }).to_string());
    struct State {
        hub: agora_core::hub::Hub,
        id: String,
        run: String,
        live: tokio::sync::broadcast::Receiver<std::sync::Arc<agora_core::datasets::runs::LogChunk>>,
        /// Chunks sent, so a chunk seen live and in storage goes once.
        sent: std::collections::HashSet<String>,
        last: Option<String>,
        poll: tokio::time::Interval,
        queue: std::collections::VecDeque<Vec<String>>,
    }
    let mut poll = tokio::time::interval(POLL_OTHER_NODES);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = State {
        hub: hub.clone(),
        id,
        run,
        live: watch.live,
        sent: watch.last_chunk.iter().cloned().collect(),
        last: watch.last_chunk,
        poll,
        queue: Default::default(),
    };
    let lines = |lines: Vec<String>| Event::default().event("lines").data(serde_json::json!({ "lines": lines }).to_string());
    let rest = futures::stream::unfold(state, move |mut state| async move {
        loop {
            if let Some(batch) = state.queue.pop_front() {
                return Some((Ok(lines(batch)), state));
            }
            tokio::select! {
                received = state.live.recv() => match received {
                    Ok(chunk) => {
                        if state.sent.insert(chunk.key.clone()) {
                            if state.last.as_deref().is_none_or(|last| chunk.key.as_str() > last) {
                                state.last = Some(chunk.key.clone());
                            }
                            state.queue.push_back(chunk.lines.clone());
                        }
                    }
                    // Fell behind: storage has what was missed.
                    Err(RecvError::Lagged(_)) => state.poll.reset_immediately(),
                    Err(RecvError::Closed) => return None,
                },
                _ = state.poll.tick() => {
                    let Ok(chunks) = state.hub.log_chunks_after(&state.id, &state.run, state.last.as_deref()).await else { continue };
                    for chunk in chunks {
                        if state.sent.insert(chunk.key.clone()) {
                            state.queue.push_back(chunk.lines);
                        }
                        state.last = Some(chunk.key);
                    }
                }
            }
        }
    });
    let stream = futures::StreamExt::chain(futures::stream::once(async move { Ok(first) }), rest);
    Ok(super::live::guarded(Box::pin(stream), hub, caller, watched, permit))
}

/// Starts uploading an artifact of a reported round (`model.h5`…, any
/// size): the answer is an upload ticket as for dataset files; send the
/// bytes, then complete it with `POST /datasets/{id}/uploads/{upload_id}/complete`.
#[utoipa::path(post, path = "/datasets/{id}/runs/{run}/rounds/{round}/artifacts", tag = "runs", security(("bearer" = [])),
    params(("id" = String, Path), ("run" = String, Path), ("round" = i64, Path)), request_body = ArtifactUpload,
    responses((status = 201, body = UploadTicket), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn artifact_upload(
    RequestCaller(hub, caller): RequestCaller,
    Path((id, run, round)): Path<(String, String, i64)>,
    Body(upload): Body<ArtifactUpload>,
) -> Answer<(StatusCode, Json<UploadTicket>)> {
    Ok((StatusCode::CREATED, Json(hub.start_artifact_upload(&caller, &id, &run, round, upload).await?)))
}

/// A presigned download of an artifact.
#[utoipa::path(get, path = "/datasets/{id}/runs/{run}/rounds/{round}/artifacts/{name}", tag = "runs", security((), ("bearer" = [])),
    params(("id" = String, Path), ("run" = String, Path), ("round" = i64, Path), ("name" = String, Path)),
    responses((status = 200, body = DownloadLink), (status = 404, body = ErrorBody)))]
async fn artifact_download(
    RequestCaller(hub, caller): RequestCaller,
    Path((id, run, round, name)): Path<(String, String, i64, String)>,
) -> Answer<Json<DownloadLink>> {
    Ok(Json(hub.artifact_download(&caller, &id, &run, round, &name).await?))
}

#[derive(serde::Deserialize, utoipa::ToSchema, Default)]
struct DashboardRequest {
    /// Other sessions of the dataset to overlay.
    #[serde(default)]
    compare: Vec<String>,
}

/// "Save as dashboard": a new dashboard with one chart per metric.
#[utoipa::path(post, path = "/datasets/{id}/runs/{run}/dashboard", tag = "runs", security(("bearer" = [])), params(("id" = String, Path), ("run" = String, Path)),
    request_body = DashboardRequest, responses((status = 201, body = DashboardView), (status = 404, body = ErrorBody)))]
async fn dashboard(
    RequestCaller(hub, caller): RequestCaller,
    Path((id, run)): Path<(String, String)>,
    Body(request): Body<DashboardRequest>,
) -> Answer<(StatusCode, Json<DashboardView>)> {
    Ok((StatusCode::CREATED, Json(hub.run_dashboard(&caller, &id, &run, request.compare).await?)))
}
