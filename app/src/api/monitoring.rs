//! Server functions for the monitoring pages.

use agora_model::monitoring::{SourceOverview, SourceView, StatsAnswer, StatsQuery};
use agora_model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::server::{fail, request};

#[server(prefix = "/api/fn", endpoint = "monitoring_sources")]
pub async fn monitoring_sources() -> Result<Vec<SourceView>, ApiError> {
    let (hub, caller) = request().await?;
    hub.monitoring_sources(&caller).map_err(fail)
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
