//! Server functions for the API keys page.

use agora_model::accounts::{ApiKeyView, CreatedApiKey, NewApiKey};
use agora_model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::server::{fail, request};

#[server(prefix = "/api/fn", endpoint = "api_keys")]
pub async fn api_keys() -> Result<Vec<ApiKeyView>, ApiError> {
    let (hub, caller) = request().await?;
    hub.api_keys(&caller).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "create_api_key", input = Json)]
pub async fn create_api_key(request: NewApiKey) -> Result<CreatedApiKey, ApiError> {
    let (hub, caller) = crate::server::request().await?;
    hub.create_api_key(&caller, request).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: String) -> Result<(), ApiError> {
    let (hub, caller) = request().await?;
    hub.revoke_api_key(&caller, &id).await.map_err(fail)
}
