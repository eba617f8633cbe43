//! Server functions for the training-run pages.

use agora_model::dashboards::DashboardView;
use agora_model::files::DownloadLink;
use agora_model::runs::RunView;
use agora_model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::server::{fail, request};

#[server(prefix = "/api/fn", endpoint = "list_runs")]
pub async fn list_runs(id: String) -> Result<Vec<RunView>, ApiError> {
    let (hub, caller) = request().await?;
    hub.runs(&caller, &id).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "run")]
pub async fn run(id: String, run: String) -> Result<RunView, ApiError> {
    let (hub, caller) = request().await?;
    hub.run(&caller, &id, &run).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "artifact_link")]
pub async fn artifact_link(id: String, run: String, round: i64, name: String) -> Result<DownloadLink, ApiError> {
    let (hub, caller) = request().await?;
    hub.artifact_download(&caller, &id, &run, round, &name).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "run_dashboard", input = Json)]
pub async fn run_dashboard(id: String, run: String, compare: Vec<String>) -> Result<DashboardView, ApiError> {
    let (hub, caller) = request().await?;
    hub.run_dashboard(&caller, &id, &run, compare).await.map_err(fail)
}
