//! The HTTP service of the embedded endpoint: s3s (SigV4, routing, XML)
//! behind a SigV2 refusal and CORS.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use s3s::auth::SimpleAuth;
use s3s::config::{S3Config, StaticConfigProvider};
use s3s::service::S3ServiceBuilder;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::credentials::Credentials;
use crate::protocol::{self, s3_error_response};
use crate::store::Store;
use crate::S3Api;

/// Largest XML request body (DeleteObjects of 1000 keys of 1 KiB fits).
const XML_MAX_BODY: usize = 4 * 1024 * 1024;
/// How far a signed request's time may be from ours.
const MAX_CLOCK_SKEW_SECS: u32 = 15 * 60;

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Origins whose browsers may call the endpoint (exact `scheme://host:port`).
    pub allowed_origins: Vec<String>,
}

/// The embedded endpoint as an axum router.
pub fn router(store: Arc<Store>, credentials: &Credentials, config: &ServiceConfig) -> axum::Router {
    let s3 = {
        let mut builder = S3ServiceBuilder::new(S3Api::new(Arc::clone(&store)));
        builder.set_auth(SimpleAuth::from_single(credentials.access_key_id.clone(), credentials.secret_access_key.clone()));
        let mut s3_config = S3Config::default();
        s3_config.xml_max_body_size = XML_MAX_BODY;
        s3_config.presigned_url_max_skew_time_secs = MAX_CLOCK_SKEW_SECS;
        builder.set_config(Arc::new(StaticConfigProvider::new(Arc::new(s3_config))));
        builder.build()
    };
    let s3 = axum::error_handling::HandleError::new(s3, |err: s3s::HttpError| async move {
        tracing::error!(error = ?err, "the embedded S3 endpoint failed to answer");
        s3_error_response(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "We encountered an internal error. Please try again.")
    });
    axum::Router::new()
        .fallback_service(s3)
        .layer(middleware::from_fn(protocol::lenient_ranges))
        .layer(middleware::from_fn(limit_xml_bodies))
        .layer(middleware::from_fn(refuse_unsigned_amz_headers))
        .layer(middleware::from_fn(protocol::limit_presigned_expiry))
        .layer(middleware::from_fn_with_state(store, protocol::refuse_virtual_hosted))
        .layer(middleware::from_fn(refuse_sigv2))
        .layer(middleware::from_fn(no_sniffing))
        .layer(middleware::from_fn(protocol::request_ids))
        .layer(cors(config))
        .layer(middleware::from_fn(expose_user_metadata))
        .layer(middleware::from_fn_with_state(Arc::new(config.allowed_origins.clone()), refuse_foreign_preflights))
}

/// Response headers browsers of an allowed origin may read: what completing
/// a multipart upload, resuming and checking a download need.
const EXPOSED: [&str; 17] = [
    "etag",
    "content-length",
    "content-range",
    "content-type",
    "content-disposition",
    "content-encoding",
    "last-modified",
    "x-amz-request-id",
    "x-amz-id-2",
    "x-amz-version-id",
    "x-amz-mp-parts-count",
    "x-amz-tagging-count",
    "x-amz-checksum-crc32",
    "x-amz-checksum-crc32c",
    "x-amz-checksum-crc64nvme",
    "x-amz-checksum-sha1",
    "x-amz-checksum-sha256",
];

/// Browsers upload straight to this endpoint: preflights are answered for
/// the allowed origins, and `ETag` is exposed so they can complete multipart
/// uploads.
fn cors(config: &ServiceConfig) -> CorsLayer {
    let origins: Vec<HeaderValue> = config.allowed_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::HEAD, Method::PUT, Method::POST, Method::DELETE])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(EXPOSED.map(header::HeaderName::from_static))
        .max_age(Duration::from_secs(3600))
}

/// A preflight from an origin that is not allowed is refused with `403`, as
/// AWS answers it, rather than answered without a grant.
async fn refuse_foreign_preflights(State(allowed): State<Arc<Vec<String>>>, request: Request, next: Next) -> Response {
    let is_preflight = request.method() == Method::OPTIONS && request.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).unwrap_or("");
    if is_preflight && !allowed.iter().any(|o| o == origin) {
        return s3_error_response(
            StatusCode::FORBIDDEN,
            "AccessForbidden",
            "CORSResponse: This CORS request is not allowed. The origin is not among the endpoint's allowed origins (--s3-cors-origins / AGORA_S3_CORS_ORIGINS).",
        );
    }
    next.run(request).await
}

/// User metadata has names of its own (`x-amz-meta-*`), which no fixed list
/// can name: a response granted to a browser exposes the ones it carries.
async fn expose_user_metadata(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let names: Vec<String> =
        response.headers().keys().map(|n| n.as_str()).filter(|n| n.starts_with("x-amz-meta-")).map(str::to_owned).collect();
    if names.is_empty() {
        return response;
    }
    if let Some(exposed) = response.headers().get(header::ACCESS_CONTROL_EXPOSE_HEADERS).and_then(|v| v.to_str().ok()) {
        let joined = format!("{exposed},{}", names.join(","));
        if let Ok(value) = HeaderValue::from_str(&joined) {
            response.headers_mut().insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
        }
    }
    response
}

/// SigV2 is off: requests signed with it get S3's AccessDenied, not a check.
async fn refuse_sigv2(request: Request, next: Next) -> Response {
    let v2_header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("AWS "));
    let v2_query = request.uri().query().is_some_and(|q| {
        q.split('&').any(|pair| pair.starts_with("AWSAccessKeyId=")) && !q.split('&').any(|pair| pair.starts_with("X-Amz-Algorithm="))
    });
    if v2_header || v2_query {
        return s3_error_response(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Signature Version 2 is not supported; sign requests with Signature Version 4",
        );
    }
    next.run(request).await
}

/// Browsers take an object's `Content-Type` as it is, never guessing one
/// from its bytes (an uploaded "image" that is HTML does not run as a page).
async fn no_sniffing(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// A signed request may carry only the `x-amz-*` headers it signed, as S3
/// requires (see [`crate::unsigned_headers`]).
async fn refuse_unsigned_amz_headers(request: Request, next: Next) -> Response {
    let unsigned = crate::unsigned_headers::unsigned_amz_headers(request.headers(), request.uri().query().unwrap_or(""));
    if !unsigned.is_empty() {
        let message = format!("There were headers present in the request which were not signed: {}", unsigned.join(", "));
        return s3_error_response(StatusCode::FORBIDDEN, "AccessDenied", &message);
    }
    next.run(request).await
}

/// Requests whose body is XML (completing uploads, deleting keys, tagging…)
/// must declare a length within [`XML_MAX_BODY`]; object and part data
/// (PUT without a sub-resource, or UploadPart) streams without a limit.
async fn limit_xml_bodies(request: Request, next: Next) -> Response {
    if carries_xml(request.method(), request.uri().query().unwrap_or("")) {
        let length = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let chunked = request.headers().get(header::TRANSFER_ENCODING).is_some();
        match length {
            Some(n) if n > XML_MAX_BODY as u64 => {
                return s3_error_response(StatusCode::BAD_REQUEST, "MaxMessageLengthExceeded", "the XML request body is larger than 4 MiB");
            }
            None if chunked => {
                return s3_error_response(
                    StatusCode::LENGTH_REQUIRED,
                    "MissingContentLength",
                    "XML request bodies must declare a Content-Length",
                );
            }
            _ => {}
        }
    }
    next.run(request).await
}

/// Whether a request's body is an XML document rather than object data.
fn carries_xml(method: &Method, query: &str) -> bool {
    let keys = || {
        query
            .split('&')
            .map(|pair| pair.split('=').next().unwrap_or(""))
            .filter(|k| !k.is_empty() && !k.starts_with("X-Amz-") && !k.starts_with("x-amz-") && *k != "x-id")
    };
    match *method {
        Method::POST => true,
        Method::PUT => {
            let is_part = keys().all(|k| k == "partNumber" || k == "uploadId");
            !is_part
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_requests_are_told_apart_from_data() {
        assert!(!carries_xml(&Method::PUT, ""));
        assert!(!carries_xml(&Method::PUT, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc&x-id=PutObject"));
        assert!(!carries_xml(&Method::PUT, "partNumber=3&uploadId=abc&X-Amz-Date=1"));
        assert!(carries_xml(&Method::PUT, "tagging"));
        assert!(carries_xml(&Method::PUT, "tagging=&X-Amz-Date=1"));
        assert!(carries_xml(&Method::POST, "uploadId=abc"));
        assert!(carries_xml(&Method::POST, "delete"));
        assert!(!carries_xml(&Method::GET, "list-type=2"));
    }
}
