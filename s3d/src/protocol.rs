//! Where S3 as AWS answers it differs from what s3s does on its own, fixed
//! around it as HTTP middleware: request ids, complete error bodies, the
//! presigned-URL lifetime limit, lenient `Range` parsing and refusing
//! virtual-hosted-style requests this endpoint cannot route.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::store::Store;

/// Longest lifetime of a presigned URL (7 days), as AWS enforces it.
pub(crate) const MAX_PRESIGNED_EXPIRY_SECS: u64 = 604_800;
/// Error bodies larger than this are passed on untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// An S3 error document, as every error of this endpoint is shaped.
pub(crate) fn s3_error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message></Error>", escape(message));
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Every response carries `x-amz-request-id` (and `x-amz-id-2`), and every
/// error document names its `Message`, `Resource` and `RequestId`, as AWS's
/// do: clients log the id, and SDKs show the message.
pub(crate) async fn request_ids(request: Request, next: Next) -> Response {
    let id = crate::store::fsutil::random_id()[..16].to_ascii_uppercase();
    let resource = request.uri().path().to_owned();
    let is_head = request.method() == Method::HEAD;
    let mut response = next.run(request).await;
    let value = HeaderValue::from_str(&id).expect("hex is a valid header value");
    response.headers_mut().insert("x-amz-request-id", value.clone());
    response.headers_mut().insert("x-amz-id-2", value);
    let is_xml_error = response.status().is_client_error() || response.status().is_server_error();
    let is_xml = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.contains("xml"));
    if !is_xml_error || !is_xml || is_head {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return s3_error_response(parts.status, "InternalError", "We encountered an internal error. Please try again.");
    };
    let completed = complete_error_document(&String::from_utf8_lossy(&bytes), &resource, &id);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(completed))
}

/// Adds what an `<Error>` document lacks of `Message`, `Resource` and
/// `RequestId`; anything else is returned as it was.
fn complete_error_document(document: &str, resource: &str, id: &str) -> String {
    let Some(end) = document.rfind("</Error>") else { return document.to_owned() };
    let code = between(document, "<Code>", "</Code>").unwrap_or("InternalError");
    let mut added = String::new();
    if !document.contains("<Message>") {
        added.push_str(&format!("<Message>{}</Message>", escape(default_message(code))));
    }
    if !document.contains("<Resource>") {
        added.push_str(&format!("<Resource>{}</Resource>", escape(resource)));
    }
    if !document.contains("<RequestId>") {
        added.push_str(&format!("<RequestId>{id}</RequestId>"));
    }
    format!("{}{added}{}", &document[..end], &document[end..])
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(close)?;
    Some(&text[start..start + len])
}

/// AWS's wording for the errors that s3s sends without a message.
fn default_message(code: &str) -> &'static str {
    match code {
        "AccessDenied" => "Access Denied",
        "NoSuchKey" => "The specified key does not exist.",
        "NoSuchBucket" => "The specified bucket does not exist",
        "NoSuchUpload" => {
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
        }
        "NoSuchCORSConfiguration" => "The CORS configuration does not exist",
        "BucketNotEmpty" => "The bucket you tried to delete is not empty",
        "BucketAlreadyOwnedByYou" => "Your previous request to create the named bucket succeeded and you already own it.",
        "PreconditionFailed" => "At least one of the pre-conditions you specified did not hold",
        "InvalidRange" => "The requested range is not satisfiable",
        "InvalidPartOrder" => "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
        "SignatureDoesNotMatch" => {
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        }
        "InvalidAccessKeyId" => "The AWS Access Key Id you provided does not exist in our records.",
        "MalformedXML" => "The XML you provided was not well-formed or did not validate against our published schema",
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "NotImplemented" => "A header you provided implies functionality that is not implemented",
        "RequestTimeTooSkewed" => "The difference between the request time and the current time is too large.",
        "ConditionalRequestConflict" => "A conflicting conditional operation is currently in progress against this resource. Try again.",
        _ => "The request could not be completed",
    }
}

/// A presigned URL may live at most 7 days, and `X-Amz-Expires` must be a
/// number of seconds: AWS answers anything else with
/// `400 AuthorizationQueryParametersError`.
pub(crate) async fn limit_presigned_expiry(request: Request, next: Next) -> Response {
    let query = request.uri().query().unwrap_or("");
    let expires = query.split('&').find_map(|pair| pair.strip_prefix("X-Amz-Expires="));
    if let Some(expires) = expires {
        match expires.parse::<u64>() {
            Ok(secs) if secs <= MAX_PRESIGNED_EXPIRY_SECS => {}
            Ok(_) => {
                return s3_error_response(
                    StatusCode::BAD_REQUEST,
                    "AuthorizationQueryParametersError",
                    "X-Amz-Expires must be less than a week (in seconds) that is 604800",
                );
            }
            Err(_) => {
                return s3_error_response(
                    StatusCode::BAD_REQUEST,
                    "AuthorizationQueryParametersError",
                    "X-Amz-Expires should be a number of seconds",
                );
            }
        }
    }
    next.run(request).await
}

/// A `Range` header that is not one valid byte range is ignored and the
/// whole object served (RFC 9110 §14.2, and what AWS does); s3s would
/// refuse the request instead. A header the request's signature covers
/// cannot be dropped without breaking it: such a request keeps s3s's
/// `400 InvalidArgument` (see docs/storage.md).
pub(crate) async fn lenient_ranges(mut request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        let unusable = request
            .headers()
            .get(header::RANGE)
            .is_some_and(|value| value.to_str().map_or(true, |v| s3s::dto::Range::parse(v.trim()).is_err()));
        if unusable && !crate::unsigned_headers::is_signed(request.headers(), request.uri().query().unwrap_or(""), "range") {
            request.headers_mut().remove(header::RANGE);
        }
    }
    next.run(request).await
}

/// This endpoint routes path-style requests only. A virtual-hosted-style one
/// (`Host: {bucket}.{domain}`, path `/{key}`) would otherwise be read as a
/// request for a bucket named after the key (an empty PUT would create it),
/// so it gets a clear error instead.
pub(crate) async fn refuse_virtual_hosted(State(store): State<Arc<Store>>, request: Request, next: Next) -> Response {
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let host = host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
    let first_label = host.split_once('.').map(|(label, _)| label);
    let first_segment = request.uri().path().trim_start_matches('/').split('/').next().unwrap_or("");
    let virtual_hosted = !first_segment.is_empty()
        && host.parse::<std::net::IpAddr>().is_err()
        && first_label.is_some_and(|bucket| store.bucket_exists(bucket) && !store.bucket_exists(first_segment));
    if virtual_hosted {
        return s3_error_response(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "This endpoint serves path-style requests only (http://host/bucket/key); \
             configure the client for path-style addressing (force_path_style, addressing_style = path)",
        );
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_documents_gain_message_resource_and_request_id() {
        let bare = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code></Error>";
        let done = complete_error_document(bare, "/agora/a&b.txt", "ABC123");
        assert_eq!(
            done,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>\
             <Resource>/agora/a&amp;b.txt</Resource><RequestId>ABC123</RequestId></Error>"
        );
        let with_message = "<Error><Code>InvalidTag</Code><Message>bad tag</Message></Error>";
        assert!(complete_error_document(with_message, "/b/k", "X").contains("<Message>bad tag</Message><Resource>/b/k</Resource>"));
        assert_eq!(complete_error_document("not xml", "/", "X"), "not xml");
    }
}
