//! Server functions: thin wrappers that get state from context, call one
//! domain function, and map its error.

pub mod account;
pub mod admin;
pub mod dashboards;
pub mod datasets;
pub mod keys;
pub mod monitoring;
pub mod runs;
pub mod search;

use agora_model::health::ReadinessReport;
use agora_model::ApiError;
use leptos::prelude::*;

/// The hub's component health, for the status card on the home page.
#[server(prefix = "/api/fn", endpoint = "hub_status")]
pub async fn hub_status() -> Result<ReadinessReport, ApiError> {
    let readiness = expect_context::<agora_core::readiness::Readiness>();
    Ok(readiness.check().await)
}
