//! Server functions for the admin pages.

use agora_model::accounts::{AdminUserChange, UserView};
use agora_model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::server::{fail, request};

#[server(prefix = "/api/fn", endpoint = "admin_users")]
pub async fn admin_users() -> Result<Vec<UserView>, ApiError> {
    let (hub, caller) = request().await?;
    hub.users(&caller).await.map_err(fail)
}

#[server(prefix = "/api/fn", endpoint = "admin_update_user", input = Json)]
pub async fn admin_update_user(id: String, change: AdminUserChange) -> Result<UserView, ApiError> {
    let (hub, caller) = request().await?;
    hub.admin_update_user(&caller, &id, change).await.map_err(fail)
}
