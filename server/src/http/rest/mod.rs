//! The REST API under `/api/v1`, for scripts: JSON in and out, errors as
//! `{"error": {"code", "message", "field"}}` with the kind's status, and an
//! OpenAPI document at `/api/v1/openapi.json`. Handlers are thin: the caller
//! from [`RequestCaller`], one hub operation, the answer.

mod accounts;
mod dashboards;
mod datasets;
mod live;
mod monitoring;
mod runs;
mod search;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use agora_app::server::RestError;
use agora_model::ApiError;

/// A JSON body whose problems are answered in the API's error shape.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = RestError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(RestError(body_error(&rejection))),
        }
    }
}

fn body_error(rejection: &JsonRejection) -> ApiError {
    let message = match rejection {
        JsonRejection::MissingJsonContentType(_) => "send the body as JSON with Content-Type: application/json".to_string(),
        JsonRejection::JsonSyntaxError(err) => format!("is not valid JSON: {}", err.body_text()),
        JsonRejection::JsonDataError(err) => format!("does not match the expected shape: {}", err.body_text()),
        other => other.body_text(),
    };
    let message = message.replace("Failed to deserialize the JSON body into the target type: ", "");
    if matches!(rejection, JsonRejection::BytesRejection(_)) {
        return ApiError::new(agora_model::ErrorKind::TooLarge, message);
    }
    ApiError::invalid("body", message)
}

pub type Answer<T> = Result<T, RestError>;

/// The error shape, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
struct ErrorDetail {
    /// invalid, unauthenticated, forbidden, not_found, conflict, too_large, rate_limited, unavailable, internal
    code: String,
    message: String,
    /// The input field at fault, when there is one.
    field: Option<String>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("A session token from POST /api/v1/auth/token, or an API key (agk_…).".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Agora REST API", description = "Datasets, dashboards and accounts for ML teams. Authenticate with `Authorization: Bearer <token or API key>`."),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    nest((path = "/api/v1", api = accounts::AccountsApi), (path = "/api/v1", api = datasets::DatasetsApi), (path = "/api/v1", api = search::SearchApi), (path = "/api/v1", api = dashboards::DashboardsApi), (path = "/api/v1", api = runs::RunsApi), (path = "/api/v1", api = monitoring::MonitoringApi)),
)]
pub struct ApiDoc;

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

async fn no_such_route() -> RestError {
    RestError(ApiError::not_found("no such API route; see /api/v1/openapi.json"))
}

/// `dashboard_max_bytes`: the size limit of one dashboard, which its routes
/// accept bodies up to (with room for whitespace) so that the size check
/// answers with the dashboard's size and the limit.
pub fn router<S: Clone + Send + Sync + 'static>(dashboard_max_bytes: u64) -> Router<S> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .merge(accounts::router())
        .merge(datasets::router())
        .merge(runs::router())
        .merge(monitoring::router())
        .merge(search::router())
        .merge(dashboards::router(dashboard_max_bytes))
        .fallback(no_such_route)
}
