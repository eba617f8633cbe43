//! `/api/v1/search`: datasets and files the caller may read.

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use agora_app::server::RequestCaller;
use agora_model::search::{HitKind, SearchRequest, SearchResults, SearchSort};
use agora_model::ApiError;

use super::{Answer, ErrorBody};

#[derive(OpenApi)]
#[openapi(paths(search), tags((name = "search", description = "Search across datasets and files")))]
pub struct SearchApi;

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/search", get(search))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct SearchQuery {
    /// Words (one typo forgiven in words of 4+ letters), `"exact phrases"`,
    /// `-excluded`, `label:key=value`, `label:key`, `type:image`.
    #[serde(default)]
    q: String,
    /// `dataset`, `file`, `dashboard` or `run` (default: all).
    kind: Option<String>,
    /// Only this dataset (its id).
    dataset: Option<String>,
    size_min: Option<u64>,
    size_max: Option<u64>,
    /// `YYYY-MM-DD` (UTC), inclusive.
    modified_from: Option<String>,
    /// `YYYY-MM-DD` (UTC), inclusive.
    modified_to: Option<String>,
    /// `relevance` (default), `newest`, `name` or `size`.
    sort: Option<String>,
    #[serde(default)]
    offset: usize,
    /// 1 to 100 [default: 20].
    limit: Option<usize>,
}

impl SearchQuery {
    fn into_request(self) -> Result<SearchRequest, ApiError> {
        let kind = match self.kind.as_deref() {
            None | Some("") | Some("all") => None,
            Some("dataset") => Some(HitKind::Dataset),
            Some("file") => Some(HitKind::File),
            Some("dashboard") => Some(HitKind::Dashboard),
            Some("run") => Some(HitKind::Run),
            Some(other) => return Err(ApiError::invalid("kind", format!("must be dataset, file, dashboard or run, not {other:?}"))),
        };
        let sort = match self.sort.as_deref().unwrap_or("relevance") {
            "relevance" => SearchSort::Relevance,
            "newest" => SearchSort::Newest,
            "name" => SearchSort::Name,
            "size" => SearchSort::Size,
            other => return Err(ApiError::invalid("sort", format!("must be relevance, newest, name or size, not {other:?}"))),
        };
        Ok(SearchRequest {
            q: self.q,
            kind,
            dataset: self.dataset.filter(|d| !d.is_empty()),
            size_min: self.size_min,
            size_max: self.size_max,
            modified_from: self.modified_from.filter(|d| !d.is_empty()),
            modified_to: self.modified_to.filter(|d| !d.is_empty()),
            sort,
            offset: self.offset,
            limit: self.limit,
        })
    }
}

/// Searches what the caller may read: hits, counts per kind and label
/// counts never include anything else. Bad syntax degrades to words (with
/// `notes` saying so); bad parameters are a 400 naming the field.
#[utoipa::path(get, path = "/search", tag = "search", security((), ("bearer" = [])), params(SearchQuery),
    responses((status = 200, body = SearchResults), (status = 400, body = ErrorBody)))]
async fn search(RequestCaller(hub, caller): RequestCaller, Query(query): Query<SearchQuery>) -> Answer<Json<SearchResults>> {
    Ok(Json(hub.search(&caller, query.into_request()?).await?))
}
