//! `/api/v1/monitoring/…`: endpoint performance statistics of monitored
//! sources (so far Agora itself, for administrators).

use axum::extract::{Path, Query};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use agora_app::server::RequestCaller;
use agora_model::monitoring::{SourceOverview, SourceView, StatsAnswer, StatsQuery};

use super::{Answer, ErrorBody};

#[derive(OpenApi)]
#[openapi(paths(sources, statistics, overview), tags((name = "monitoring", description = "Endpoint performance statistics")))]
pub struct MonitoringApi;

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/monitoring/sources", get(sources))
        .route("/monitoring/sources/{source}/statistics", get(statistics))
        .route("/monitoring/sources/{source}/overview", get(overview))
}

/// The sources the caller may view (`agora`: this hub's own requests, for
/// administrators).
#[utoipa::path(get, path = "/monitoring/sources", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, body = Vec<SourceView>), (status = 401, body = ErrorBody)))]
async fn sources(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<Vec<SourceView>>> {
    Ok(Json(hub.monitoring_sources(&caller)?))
}

/// A statistic over `start` (inclusive) – `end` (exclusive), ISO-8601 UTC
/// [defaults: the first recorded call – now], of one endpoint or all; with
/// `timeslice` and `timeslice_is_static`, a series keyed by slice.
/// Percentiles are exact (interpolated between the nearest ranks).
#[utoipa::path(get, path = "/monitoring/sources/{source}/statistics", tag = "monitoring", security(("bearer" = [])),
    params(("source" = String, Path), StatsQuery),
    responses((status = 200, body = StatsAnswer), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn statistics(
    RequestCaller(hub, caller): RequestCaller,
    Path(source): Path<String>,
    Query(query): Query<StatsQuery>,
) -> Answer<Json<StatsAnswer>> {
    Ok(Json(hub.monitoring_statistics(&caller, &source, query).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct RangeQuery {
    /// ISO-8601 UTC, inclusive [default: the first recorded call].
    start: Option<String>,
    /// ISO-8601 UTC, exclusive [default: now].
    end: Option<String>,
}

/// Endpoints (visits, median, p90, p99, error rate), box plots per endpoint
/// and calls by weekday × hour of day, over a range.
#[utoipa::path(get, path = "/monitoring/sources/{source}/overview", tag = "monitoring", security(("bearer" = [])),
    params(("source" = String, Path), RangeQuery),
    responses((status = 200, body = SourceOverview), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn overview(
    RequestCaller(hub, caller): RequestCaller,
    Path(source): Path<String>,
    Query(range): Query<RangeQuery>,
) -> Answer<Json<SourceOverview>> {
    Ok(Json(hub.monitoring_overview(&caller, &source, range.start, range.end).await?))
}
