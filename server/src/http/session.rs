//! Renews the session cookie of an active person, so a session lasts as long
//! as they keep using Agora and ends `AGORA_SESSION_TTL_MINS` after they stop.

use axum::extract::{Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use agora_core::auth::cookie::{self, SESSION_COOKIE};
use agora_core::hub::Hub;

pub async fn renew_session(State(hub): State<Hub>, request: Request, next: Next) -> Response {
    let token = cookie::session_from(request.headers().get_all(COOKIE).iter().filter_map(|v| v.to_str().ok())).map(str::to_owned);
    let mut response = next.run(request).await;
    let Some(token) = token else { return response };
    let sets_session =
        response.headers().get_all(SET_COOKIE).iter().any(|v| v.to_str().is_ok_and(|v| v.starts_with(&format!("{SESSION_COOKIE}="))));
    if sets_session || !(response.status().is_success() || response.status().is_redirection()) {
        return response;
    }
    if let Some(renewed) = hub.renewed_session_cookie(&token).and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(SET_COOKIE, renewed);
    }
    response
}
