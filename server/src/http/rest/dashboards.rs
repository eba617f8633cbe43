//! `/api/v1/dashboards/…`: create, view, save (optimistically), delete; and
//! the administrators' flags.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::{Json, Router};
use utoipa::OpenApi;

use agora_app::server::RequestCaller;
use agora_model::dashboards::{DashboardChange, DashboardFlags, DashboardView, NewDashboard};

use super::{Answer, Body, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    paths(create, show, update, delete, flags),
    tags((name = "dashboards", description = "Dashboards of Plotly figures, markdown and dataset statistics"))
)]
pub struct DashboardsApi;

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/dashboards", post(create))
        .route("/dashboards/{id}", axum::routing::get(show).patch(update).delete(delete))
        .route("/admin/dashboards/{id}/flags", put(flags))
}

/// Creates a dashboard owned by the caller (a logged-in person). Panels are
/// checked: Plotly figure JSON (`{data, layout}`), markdown, dataset
/// statistics, placed on a 12-column grid.
#[utoipa::path(post, path = "/dashboards", tag = "dashboards", security(("bearer" = [])), request_body = NewDashboard, responses(
    (status = 201, body = DashboardView), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody, description = "over AGORA_MAX_DASHBOARD_BYTES")))]
async fn create(RequestCaller(hub, caller): RequestCaller, Body(request): Body<NewDashboard>) -> Answer<(StatusCode, Json<DashboardView>)> {
    Ok((StatusCode::CREATED, Json(hub.create_dashboard(&caller, request).await?)))
}

/// One dashboard; "not found" also when the caller may not see it.
#[utoipa::path(get, path = "/dashboards/{id}", tag = "dashboards", security((), ("bearer" = [])), params(("id" = String, Path)), responses(
    (status = 200, body = DashboardView), (status = 404, body = ErrorBody)))]
async fn show(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<Json<DashboardView>> {
    Ok(Json(hub.dashboard(&caller, &id).await?))
}

/// Saves a change made from `version`. Someone else's save since then is a
/// 409 (`field: version`); a protected dashboard refuses (403).
#[utoipa::path(patch, path = "/dashboards/{id}", tag = "dashboards", security(("bearer" = [])), params(("id" = String, Path)),
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
#[utoipa::path(delete, path = "/dashboards/{id}", tag = "dashboards", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(RequestCaller(hub, caller): RequestCaller, Path(id): Path<String>) -> Answer<StatusCode> {
    hub.delete_dashboard(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
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
