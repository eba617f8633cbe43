//! Server functions for the dashboard pages.

use agora_model::dashboards::{
    DashboardAdmin, DashboardChange, DashboardFlags, DashboardList, DashboardView, DuplicateRequest, Eviction, NewDashboard, StatFigure,
};
use agora_model::datasets::ShareRequest;
use agora_model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::server::{fail, request};

#[server(prefix = "/api/fn", endpoint = "list_dashboards")]
pub async fn list_dashboards() -> Result<DashboardList, ApiError> {
    let (hub, caller) = request().await?;
    hub.dashboards_of(&caller).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "create_dashboard", input = Json)]
pub async fn create_dashboard(dashboard: NewDashboard) -> Result<DashboardView, ApiError> {
    let (hub, caller) = request().await?;
    hub.create_dashboard(&caller, dashboard).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "dashboard")]
pub async fn dashboard(id: String) -> Result<DashboardView, ApiError> {
    let (hub, caller) = request().await?;
    hub.dashboard(&caller, &id).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "save_dashboard", input = Json)]
pub async fn save_dashboard(id: String, change: DashboardChange) -> Result<DashboardView, ApiError> {
    let (hub, caller) = request().await?;
    hub.update_dashboard(&caller, &id, change).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "share_dashboard", input = Json)]
pub async fn share_dashboard(id: String, share: ShareRequest) -> Result<DashboardView, ApiError> {
    let (hub, caller) = request().await?;
    hub.share_dashboard(&caller, &id, share).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "duplicate_dashboard", input = Json)]
pub async fn duplicate_dashboard(id: String, copy: DuplicateRequest) -> Result<DashboardView, ApiError> {
    let (hub, caller) = request().await?;
    hub.duplicate_dashboard(&caller, &id, copy).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "delete_dashboard")]
pub async fn delete_dashboard(id: String) -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    hub.delete_dashboard(&caller, &id).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "dashboard_stat")]
pub async fn dashboard_stat(id: String, panel: usize) -> Result<StatFigure, ApiError> {
    let (hub, caller) = request().await?;
    hub.dashboard_stat(&caller, &id, panel).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "render_markdown", input = Json)]
pub async fn render_markdown(text: String) -> Result<String, ApiError> {
    let (hub, caller) = request().await?;
    hub.render_markdown(&caller, &text).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "dashboard_overview")]
pub async fn dashboard_overview() -> Result<DashboardAdmin, ApiError> {
    let (hub, caller) = request().await?;
    hub.dashboard_admin(&caller).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "set_dashboard_flags", input = Json)]
pub async fn set_dashboard_flags(id: String, flags: DashboardFlags) -> Result<DashboardView, ApiError> {
    let (hub, caller) = request().await?;
    hub.set_dashboard_flags(&caller, &id, flags).await.map_err(fail)
}

/// The stored record, pretty-printed.
#[server(prefix = "/api/fn", endpoint = "dashboard_record")]
pub async fn dashboard_record(id: String) -> Result<String, ApiError> {
    let (hub, caller) = request().await?;
    let record = hub.dashboard_record(&caller, &id).await.map_err(fail)?;
    Ok(serde_json::to_string_pretty(&record).unwrap_or_default())
}

#[server(prefix = "/api/fn", endpoint = "evict_dashboards")]
pub async fn evict_dashboards() -> Result<Vec<Eviction>, ApiError> {
    let (hub, caller) = request().await?;
    hub.evict_dashboards(&caller).await.map_err(fail)
}
