//! `/api/v1/monitoring/…`: monitored sources (Agora itself, for
//! administrators, and remote flask-monitoring-dashboard services, for the
//! person who added them), their endpoint performance statistics and alert
//! rules.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use utoipa::OpenApi;

use agora_app::server::RequestCaller;
use agora_model::monitoring::{
    AlertRule, DestinationPolicyView, EndpointToggle, NewAlertRule, NewSource, SourceOverview, SourceView, StatsAnswer, StatsQuery,
};

use super::{Answer, Body, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    paths(policy, sources, add_source, source, delete_source, toggle_endpoint, rules, add_rule, delete_rule, statistics, overview),
    tags((name = "monitoring", description = "Endpoint performance statistics of Agora and remote flask-monitoring-dashboard services"))
)]
pub struct MonitoringApi;

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/monitoring/policy", get(policy))
        .route("/monitoring/sources", get(sources).post(add_source))
        .route("/monitoring/sources/{source}", get(source).delete(delete_source))
        .route("/monitoring/sources/{source}/endpoints", put(toggle_endpoint))
        .route("/monitoring/sources/{source}/rules", get(rules).post(add_rule))
        .route("/monitoring/sources/{source}/rules/{rule}", delete(delete_rule))
        .route("/monitoring/sources/{source}/statistics", get(statistics))
        .route("/monitoring/sources/{source}/overview", get(overview))
}

/// Where remote sources may be fetched from (administrators): the inside
/// addresses an operator allowed (`AGORA_MONITOR_ALLOW`), what is refused
/// unless allowed and what always is, and the limits on fetches.
#[utoipa::path(get, path = "/monitoring/policy", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, body = DestinationPolicyView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn policy(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<DestinationPolicyView>> {
    Ok(Json(hub.monitoring_policy(&caller)?))
}

/// The sources the caller may view, Agora first (`agora`: this hub's own
/// requests, for administrators), each with its health and the calls of the
/// last 24 hours.
#[utoipa::path(get, path = "/monitoring/sources", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, body = Vec<SourceView>), (status = 401, body = ErrorBody)))]
async fn sources(RequestCaller(hub, caller): RequestCaller) -> Answer<Json<Vec<SourceView>>> {
    Ok(Json(hub.monitoring_sources(&caller).await?))
}

/// Adds a remote flask-monitoring-dashboard service. The address and
/// credentials are tried first; a wrong address, token or password is a 400
/// naming the field, and nothing is saved. Its calls are then fetched every
/// `AGORA_MONITOR_FETCH_SECS`, starting with the retention period's history.
#[utoipa::path(post, path = "/monitoring/sources", tag = "monitoring", security(("bearer" = [])), request_body = NewSource,
    responses((status = 201, body = SourceView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn add_source(RequestCaller(hub, caller): RequestCaller, Body(request): Body<NewSource>) -> Answer<(StatusCode, Json<SourceView>)> {
    Ok((StatusCode::CREATED, Json(hub.add_monitoring_source(&caller, request).await?)))
}

/// One source: health, last fetch, its error, switched-off endpoints.
#[utoipa::path(get, path = "/monitoring/sources/{source}", tag = "monitoring", security(("bearer" = [])), params(("source" = String, Path)),
    responses((status = 200, body = SourceView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn source(RequestCaller(hub, caller): RequestCaller, Path(source): Path<String>) -> Answer<Json<SourceView>> {
    Ok(Json(hub.monitoring_source(&caller, &source).await?))
}

/// Deletes a remote source with everything fetched from it; its fetches stop.
#[utoipa::path(delete, path = "/monitoring/sources/{source}", tag = "monitoring", security(("bearer" = [])), params(("source" = String, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_source(RequestCaller(hub, caller): RequestCaller, Path(source): Path<String>) -> Answer<StatusCode> {
    hub.delete_monitoring_source(&caller, &source).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Switches an endpoint on or off for display: a switched-off endpoint stays
/// in the endpoint table and leaves box plots, the load heatmap and
/// all-endpoint statistics.
#[utoipa::path(put, path = "/monitoring/sources/{source}/endpoints", tag = "monitoring", security(("bearer" = [])),
    params(("source" = String, Path)), request_body = EndpointToggle,
    responses((status = 200, body = SourceView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn toggle_endpoint(
    RequestCaller(hub, caller): RequestCaller,
    Path(source): Path<String>,
    Body(toggle): Body<EndpointToggle>,
) -> Answer<Json<SourceView>> {
    Ok(Json(hub.toggle_monitoring_endpoint(&caller, &source, toggle).await?))
}

/// A source's alert rules with their state (firing, last value, last check).
#[utoipa::path(get, path = "/monitoring/sources/{source}/rules", tag = "monitoring", security(("bearer" = [])), params(("source" = String, Path)),
    responses((status = 200, body = Vec<AlertRule>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn rules(RequestCaller(hub, caller): RequestCaller, Path(source): Path<String>) -> Answer<Json<Vec<AlertRule>>> {
    Ok(Json(hub.monitoring_rules(&caller, &source).await?))
}

/// Adds an alert rule, checked at every fetch: mail goes to the caller when
/// the statistic over the window rises above the threshold, and when it is
/// back below.
#[utoipa::path(post, path = "/monitoring/sources/{source}/rules", tag = "monitoring", security(("bearer" = [])),
    params(("source" = String, Path)), request_body = NewAlertRule,
    responses((status = 201, body = AlertRule), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_rule(
    RequestCaller(hub, caller): RequestCaller,
    Path(source): Path<String>,
    Body(rule): Body<NewAlertRule>,
) -> Answer<(StatusCode, Json<AlertRule>)> {
    Ok((StatusCode::CREATED, Json(hub.add_monitoring_rule(&caller, &source, rule).await?)))
}

#[utoipa::path(delete, path = "/monitoring/sources/{source}/rules/{rule}", tag = "monitoring", security(("bearer" = [])),
    params(("source" = String, Path), ("rule" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_rule(RequestCaller(hub, caller): RequestCaller, Path((source, rule)): Path<(String, String)>) -> Answer<StatusCode> {
    hub.delete_monitoring_rule(&caller, &source, &rule).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A statistic over `start` (inclusive) – `end` (exclusive), ISO-8601 UTC
/// [defaults: the first recorded call – now], of one endpoint or all; with
/// `timeslice` and `timeslice_is_static`, a series keyed by slice.
/// Percentiles are exact (interpolated between the nearest ranks) unless a
/// slice (or the range) holds whole past days: those are answered from day
/// rollups, whose percentiles are within 1 % (counts, sums, extremes and
/// addresses stay exact).
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
