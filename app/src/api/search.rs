//! Server function for search (the page and the header's instant results).

use agora_model::search::{SearchRequest, SearchResults};
use agora_model::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::server::{fail, request};

#[server(prefix = "/api/fn", endpoint = "search", input = Json)]
pub async fn search(query: SearchRequest) -> Result<SearchResults, ApiError> {
    let (hub, caller) = request().await?;
    hub.search(&caller, query).await.map_err(fail)
}
