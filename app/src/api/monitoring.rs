//! Server functions for the monitoring pages.

use agora_model::monitoring::{
    AlertRule, DestinationPolicyView, EndpointToggle, NewAlertRule, NewSource, SourceOverview, SourceView, StatsAnswer, StatsQuery,
};
use agora_model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::server::{fail, request};

#[server(prefix = "/api/fn", endpoint = "monitoring_sources")]
pub async fn monitoring_sources() -> Result<Vec<SourceView>, ApiError> {
    let (hub, caller) = request().await?;
    hub.monitoring_sources(&caller).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "monitoring_policy")]
pub async fn monitoring_policy() -> Result<DestinationPolicyView, ApiError> {
    let (hub, caller) = request().await?;
    hub.monitoring_policy(&caller).map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "monitoring_source")]
pub async fn monitoring_source(source: String) -> Result<SourceView, ApiError> {
    let (hub, caller) = request().await?;
    hub.monitoring_source(&caller, &source).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "add_monitoring_source", input = Json)]
pub async fn add_monitoring_source(source: NewSource) -> Result<SourceView, ApiError> {
    let (hub, caller) = request().await?;
    hub.add_monitoring_source(&caller, source).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "delete_monitoring_source")]
pub async fn delete_monitoring_source(source: String) -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    hub.delete_monitoring_source(&caller, &source).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "toggle_monitoring_endpoint", input = Json)]
pub async fn toggle_monitoring_endpoint(source: String, toggle: EndpointToggle) -> Result<SourceView, ApiError> {
    let (hub, caller) = request().await?;
    hub.toggle_monitoring_endpoint(&caller, &source, toggle).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "monitoring_rules")]
pub async fn monitoring_rules(source: String) -> Result<Vec<AlertRule>, ApiError> {
    let (hub, caller) = request().await?;
    hub.monitoring_rules(&caller, &source).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "add_monitoring_rule", input = Json)]
pub async fn add_monitoring_rule(source: String, rule: NewAlertRule) -> Result<AlertRule, ApiError> {
    let (hub, caller) = request().await?;
    hub.add_monitoring_rule(&caller, &source, rule).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "delete_monitoring_rule")]
pub async fn delete_monitoring_rule(source: String, rule: String) -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    hub.delete_monitoring_rule(&caller, &source, &rule).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "monitoring_overview")]
pub async fn monitoring_overview(source: String, start: Option<String>, end: Option<String>) -> Result<SourceOverview, ApiError> {
    let (hub, caller) = request().await?;
    hub.monitoring_overview(&caller, &source, start, end).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "monitoring_statistics", input = Json)]
pub async fn monitoring_statistics(source: String, query: StatsQuery) -> Result<StatsAnswer, ApiError> {
    let (hub, caller) = request().await?;
    hub.monitoring_statistics(&caller, &source, query).await.map_err(fail)
}
