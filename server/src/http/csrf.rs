//! Cross-site request forgery: a state-changing request (anything but GET,
//! HEAD, OPTIONS) that a browser says came from another site is refused.
//! Browsers send `Sec-Fetch-Site` (and `Origin`) on such requests; scripts
//! send neither and authenticate with a Bearer header, which another site
//! cannot make a browser send. Only a Bearer credential exempts a request:
//! one that has it is authenticated by it or fails, never by the cookie.
//! Any other `Authorization` (Basic, which a browser may add by itself on
//! a cross-site request) exempts nothing.

use axum::extract::Request;
use axum::http::header::{HOST, ORIGIN};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use agora_app::server::{bearer, RestError};
use agora_model::ApiError;

fn authority_of(origin: &str) -> &str {
    origin.split_once("://").map_or(origin, |(_, rest)| rest)
}

/// Whether the request may change state as far as its origin goes.
fn same_origin(request: &Request) -> bool {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) || bearer(request.headers()).is_some() {
        return true;
    }
    let header = |name| request.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (header(ORIGIN.as_str()), header(HOST.as_str())) {
        (Some(origin), Some(host)) => authority_of(origin).eq_ignore_ascii_case(host),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

pub async fn refuse_cross_site_writes(request: Request, next: Next) -> Response {
    if same_origin(&request) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), "refused a cross-site state-changing request");
    RestError(ApiError::forbidden("cross-site requests may not change anything here")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(method: Method, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method(method).uri("/api/fn/logout");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn cross_site_posts_are_refused_and_everything_else_passes() {
        assert!(same_origin(&request(Method::GET, &[("sec-fetch-site", "cross-site")])));
        assert!(same_origin(&request(Method::POST, &[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&request(Method::POST, &[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&request(Method::POST, &[("sec-fetch-site", "same-site")])));
        assert!(same_origin(&request(Method::POST, &[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")])));
        assert!(!same_origin(&request(Method::POST, &[("origin", "https://evil.example"), ("host", "127.0.0.1:3000")])));
        assert!(!same_origin(&request(Method::DELETE, &[("origin", "null"), ("host", "127.0.0.1:3000")])));
        assert!(same_origin(&request(Method::POST, &[])), "scripts send no browser headers");
        assert!(same_origin(&request(Method::POST, &[("sec-fetch-site", "cross-site"), ("authorization", "Bearer x")])));
        for other in ["Basic ZG9yYTpwdw==", "Digest x", "Bearer", "agora_key_123"] {
            let headers = [("sec-fetch-site", "cross-site"), ("authorization", other)];
            assert!(!same_origin(&request(Method::POST, &headers)), "{other:?} is no Bearer credential");
        }
    }
}
