//! `/api/v1/dashboards/…`: list, create, view, save (optimistically), share,
//! duplicate, delete, statistic panels, markdown preview; and the
//! administrators' routes: flags, storage and evictions, stored records,
//! export and import.

use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use utoipa::OpenApi;

use agora_app::server::RequestCaller;
use agora_core::dashboards::transfer::{ExportFile, ImportReport, Selection};
use agora_model::dashboards::{
    DashboardAdmin, DashboardChange, DashboardFlags, DashboardList, DashboardView, DuplicateRequest, Eviction, MarkdownRequest,
    NewDashboard, StatFigure,
};
use agora_model::datasets::ShareRequest;

use super::{Answer, Body, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    paths(list, create, show, update, delete, share, duplicate, stat, markdown, flags, admin, record, evict, export, import),
    tags((name = "dashboards", description = "Dashboards of Plotly figures, markdown and dataset statistics"))
)]
pub struct DashboardsApi;

pub fn router<S: Clone + Send + Sync + 'static>(dashboard_max_bytes: u64) -> Router<S> {
    let body_limit = usize::try_from(dashboard_max_bytes.saturating_mul(2)).unwrap_or(usize::MAX).saturating_add(1 << 20);
    Router::new()
        .route("/dashboards", get(list).post(create))
        .route("/dashboards/markdown", post(markdown))
        .route("/dashboards/{id}", get(show).patch(update).delete(delete))
        .route("/dashboards/{id}/members", post(share))
        .route("/dashboards/{id}/duplicate", post(duplicate))
        .route("/dashboards/{id}/panels/{panel}/figure", get(stat))
        .route("/admin/dashboards", get(admin))
        .route("/admin/dashboards/evict", post(evict))
        .route("/admin/dashboards/export", get(export))
        .route("/admin/dashboards/import", post(import))
        .route("/admin/dashboards/{id}/record", get(record))
        .route("/admin/dashboards/{id}/flags", put(flags))
        .layer(DefaultBodyLimit::max(body_limit))
}

/// The dashboards the caller owns or is a member of, most recently used
/// first (at most 500). Dashboards shared by link are not listed for others.
#[utoipa::path(get, operation_id = "list_dashboards", path = "/dashboards", tag = "dashboards", security(("bearer" = [])), responses(
    (status = 200, body = DashboardList), (status = 401, body = ErrorBody)))]
async fn list(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<DashboardList>> {
    Ok(Json(hub.dashboards_of(&caller).await?))
}

/// Creates a dashboard owned by the caller (a logged-in person). Panels are
/// checked: Plotly figure JSON (`{data, layout}`), markdown, dataset
/// statistics, placed on a 12-column grid, and the whole against the
/// dashboard JSON schema.
#[utoipa::path(post, operation_id = "create_dashboard", path = "/dashboards", tag = "dashboards", security(("bearer" = [])), request_body = NewDashboard, responses(
    (status = 201, body = DashboardView), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody, description = "over AGORA_MAX_DASHBOARD_BYTES")))]
async fn create(RequestCaller(hub, caller): RequestCaller, Body(request): Body<NewDashboard>) -> Answer<(StatusCode, Json<DashboardView>)> {
    Ok((StatusCode::CREATED, Json(hub.create_dashboard(&caller, request).await?)))
}

/// One dashboard; "not found" also when the caller may not see it. Anyone
/// with the link reads a dashboard whose visibility is `public`.
#[utoipa::path(get, operation_id = "get_dashboard", path = "/dashboards/{id}", tag = "dashboards", security((), ("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = DashboardView), (status = 404, body = ErrorBody)))]
async fn show(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<Json<DashboardView>> {
    Ok(Json(hub.dashboard(&caller, &id).await?))
}

/// Saves a change made from `version`. Someone else's save since then is a
/// 409 (`field: version`); a protected dashboard refuses (403).
#[utoipa::path(patch, operation_id = "update_dashboard", path = "/dashboards/{id}", tag = "dashboards", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = DashboardChange, responses((status = 200, body = DashboardView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn update(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(change): Body<DashboardChange>,
) -> Answer<Json<DashboardView>> {
    Ok(Json(hub.update_dashboard(&caller, &id, change).await?))
}

/// Deletes a dashboard (its owner; never a protected one).
#[utoipa::path(delete, operation_id = "delete_dashboard", path = "/dashboards/{id}", tag = "dashboards", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<StatusCode> {
    hub.delete_dashboard(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a person view or edit access (`role: null` takes it away). Owner only.
#[utoipa::path(post, operation_id = "share_dashboard", path = "/dashboards/{id}/members", tag = "dashboards", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = ShareRequest, responses((status = 200, body = DashboardView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn share(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(share): Body<ShareRequest>,
) -> Answer<Json<DashboardView>> {
    Ok(Json(hub.share_dashboard(&caller, &id, share).await?))
}

/// "Save as new": a private copy owned by the caller.
#[utoipa::path(post, path = "/dashboards/{id}/duplicate", tag = "dashboards", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = DuplicateRequest, responses((status = 201, body = DashboardView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn duplicate(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(request): Body<DuplicateRequest>,
) -> Answer<(StatusCode, Json<DashboardView>)> {
    Ok((StatusCode::CREATED, Json(hub.duplicate_dashboard(&caller, &id, request).await?)))
}

/// The current Plotly figure of a dataset statistic panel (by its
/// position), computed from the index. The caller must read the dataset.
#[utoipa::path(get, path = "/dashboards/{id}/panels/{panel}/figure", tag = "dashboards", security((), ("bearer" = [])),
    params(("id" = String, Path), ("panel" = usize, Path)), responses((status = 200, body = StatFigure), (status = 404, body = ErrorBody)))]
async fn stat(RequestCaller(hub, caller): RequestCaller, Path((id, panel)): Path<(String, usize)>) -> Answer<Json<StatFigure>> {
    Ok(Json(hub.dashboard_stat(&caller, &id, panel).await?))
}

/// Markdown rendered and sanitised as a markdown panel shows it.
#[utoipa::path(post, path = "/dashboards/markdown", tag = "dashboards", security(("bearer" = [])), request_body = MarkdownRequest,
    responses((status = 200, body = String, content_type = "text/html"), (status = 400, body = ErrorBody)))]
async fn markdown(RequestCaller(hub, caller): RequestCaller, Body(request): Body<MarkdownRequest>) -> Answer<axum::response::Html<String>> {
    Ok(axum::response::Html(hub.render_markdown(&caller, &request.text).await?))
}

/// Whitelists or protects a dashboard (administrators only). Protecting
/// whitelists too; unprotecting leaves the whitelist as it is.
#[utoipa::path(put, path = "/admin/dashboards/{id}/flags", tag = "dashboards", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = DashboardFlags, responses((status = 200, body = DashboardView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn flags(
    RequestCaller(hub, caller): RequestCaller,
    Path(id): Path<String>,
    Body(flags): Body<DashboardFlags>,
) -> Answer<Json<DashboardView>> {
    Ok(Json(hub.set_dashboard_flags(&caller, &id, flags).await?))
}

/// Storage against the budget, every dashboard, and the eviction history
/// (administrators only).
#[utoipa::path(get, path = "/admin/dashboards", tag = "dashboards", security(("bearer" = [])), responses(
    (status = 200, body = DashboardAdmin), (status = 403, body = ErrorBody)))]
async fn admin(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<DashboardAdmin>> {
    Ok(Json(hub.dashboard_admin(&caller).await?))
}

/// The whole stored record of a dashboard, with its flags and version
/// (administrators only).
#[utoipa::path(get, path = "/admin/dashboards/{id}/record", tag = "dashboards", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn record(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<Json<serde_json::Value>> {
    Ok(Json(hub.dashboard_record(&caller, &id).await?))
}

/// Runs an eviction pass now (administrators only); it also runs after
/// every save and every minute.
#[utoipa::path(post, path = "/admin/dashboards/evict", tag = "dashboards", security(("bearer" = [])), responses(
    (status = 200, body = Vec<Eviction>), (status = 403, body = ErrorBody)))]
async fn evict(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<Vec<Eviction>>> {
    Ok(Json(hub.evict_dashboards(&caller).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct ExportQuery {
    /// Only whitelisted (and protected) dashboards.
    #[serde(default)]
    whitelisted: bool,
}

/// Every dashboard (or only whitelisted ones) as one export file, as
/// `agora dashboards export` writes it (administrators only).
#[utoipa::path(get, path = "/admin/dashboards/export", tag = "dashboards", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)))]
async fn export(RequestCaller(hub, caller): RequestCaller, Query(query): Query<ExportQuery>) -> Answer<Json<ExportFile>> {
    let selection = if query.whitelisted { Selection::Whitelisted } else { Selection::All };
    Ok(Json(hub.export_dashboards(&caller, selection).await?))
}

/// Imports an export file: checked whole first (a dashboard that fails is
/// named with the reason, and nothing is written); ids, owners and flags are
/// kept; importing the same file again changes nothing.
#[utoipa::path(post, path = "/admin/dashboards/import", tag = "dashboards", security(("bearer" = [])), request_body = Object,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn import(RequestCaller(hub, caller): RequestCaller, Body(file): Body<ExportFile>) -> Answer<Json<ImportReport>> {
    Ok(Json(hub.import_dashboards(&caller, file).await?))
}
