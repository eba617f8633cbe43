//! The web side of authentication, shared by server functions and REST
//! handlers: who the caller is (one extractor), how errors become HTTP
//! responses, and the session cookie on server-function responses.

use agora_core::auth::caller::Caller;
use agora_core::auth::cookie;
use agora_core::client_addr::ClientAddr;
use agora_core::hub::{Credentials, Hub};
use agora_model::accounts::TokenResponse;
use agora_model::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use leptos::prelude::*;

/// The token of an `Authorization: Bearer …` header (scheme
/// case-insensitive). With one, the caller
/// is whoever it authenticates, or the request fails: the session cookie is
/// never used beside it (so the CSRF check may trust a request that has one).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Resolves the caller of a request: Bearer credential, else session
/// cookie, else anonymous.
pub async fn caller_of(parts: &Parts) -> Result<(Hub, Caller), ApiError> {
    let hub = parts.extensions.get::<Hub>().cloned().ok_or_else(|| {
        tracing::error!("the hub is missing from the request extensions");
        ApiError::internal()
    })?;
    let session_cookie = cookie::session_from(parts.headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()));
    let ip = parts.extensions.get::<ClientAddr>().map(|c| c.0);
    let caller = hub.caller(Credentials { bearer: bearer(&parts.headers), session_cookie }, ip).await?;
    // Agora's own monitoring records who made the request.
    if let (Some(slot), Some(user)) = (parts.extensions.get::<agora_core::monitoring::CallerSlot>(), caller.user()) {
        let _ = slot.0.set(user.id.clone());
    }
    Ok((hub, caller))
}

/// The extractor REST handlers take: the hub and the caller.
pub struct RequestCaller(pub Hub, pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for RequestCaller {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (hub, caller) = caller_of(parts).await?;
        Ok(RequestCaller(hub, caller))
    }
}

/// An error as a REST response: the kind's status, `Retry-After` when rate
/// limited, and `{"error": {"code", "message", "field"}}`.
#[derive(Debug)]
pub struct RestError(pub ApiError);

impl From<ApiError> for RestError {
    fn from(err: ApiError) -> Self {
        RestError(err)
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let err = self.0;
        let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = serde_json::json!({ "code": err.kind.code(), "message": err.message });
        if let Some(field) = &err.field {
            body["field"] = field.clone().into();
        }
        let mut response = (status, axum::Json(serde_json::json!({ "error": body }))).into_response();
        if let Some(secs) = err.retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The hub and caller of the server function being run.
pub async fn request() -> Result<(Hub, Caller), ApiError> {
    let parts = use_context::<Parts>().ok_or_else(|| {
        tracing::error!("a server function ran without the request in its context");
        ApiError::internal()
    })?;
    caller_of(&parts).await.map_err(fail)
}

/// Gives a server function's error its HTTP status (and `Retry-After`).
pub fn fail(err: ApiError) -> ApiError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        if let Some(secs) = err.retry_after_secs {
            response.insert_header(RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    err
}

fn set_cookie(value: String) {
    if let (Some(response), Ok(value)) = (use_context::<leptos_axum::ResponseOptions>(), HeaderValue::from_str(&value)) {
        response.append_header(SET_COOKIE, value);
    }
}

/// Puts a session token in the browser's cookie.
pub fn start_session(hub: &Hub, token: &TokenResponse) {
    let now = agora_core::accounts::unix_now();
    let max_age = (token.expires_at - now).clamp(0, hub.session_ttl().as_secs() as i64) as u64;
    set_cookie(cookie::set_session(&token.token, max_age, hub.https()));
}

pub fn end_session(hub: &Hub) {
    set_cookie(cookie::clear_session(hub.https()));
}
