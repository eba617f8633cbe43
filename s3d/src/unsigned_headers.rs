//! S3 refuses a SigV4 request that carries an `x-amz-*` header its signature
//! does not cover ("There were headers present in the request which were not
//! signed"). s3s does not check it, and without the check anyone holding a
//! presigned PUT could add `x-amz-copy-source` (turning it into a copy of
//! any object), `x-amz-tagging`, `x-amz-meta-*` or `x-amz-acl` to it.

use axum::http::HeaderMap;

/// The `x-amz-*` headers of a SigV4-signed request that are not among its
/// signed headers (from `Authorization: AWS4-HMAC-SHA256 …SignedHeaders=…`
/// or the presigned `X-Amz-SignedHeaders`), sorted. Unsigned and SigV2
/// requests have none: s3s refuses those on its own.
pub(crate) fn unsigned_amz_headers(headers: &HeaderMap, query: &str) -> Vec<String> {
    let Some(signed) = signed_headers(headers, query) else { return Vec::new() };
    let signed: Vec<&str> = signed.split(';').map(str::trim).collect();
    let mut unsigned: Vec<String> = headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| name.starts_with("x-amz-") && !signed.iter().any(|s| s.eq_ignore_ascii_case(name)))
        .map(str::to_owned)
        .collect();
    unsigned.sort();
    unsigned.dedup();
    unsigned
}

/// Whether `name` (lower case) is among a SigV4 request's signed headers.
pub(crate) fn is_signed(headers: &HeaderMap, query: &str, name: &str) -> bool {
    signed_headers(headers, query).is_some_and(|signed| signed.split(';').any(|s| s.trim().eq_ignore_ascii_case(name)))
}

fn signed_headers(headers: &HeaderMap, query: &str) -> Option<String> {
    if let Some(auth) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let rest = auth.strip_prefix("AWS4-HMAC-SHA256")?;
        return rest.split(',').find_map(|part| part.trim().strip_prefix("SignedHeaders=")).map(str::to_owned);
    }
    let mut presigned = false;
    let mut signed = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "X-Amz-Algorithm" => presigned = true,
            "X-Amz-SignedHeaders" => signed = Some(percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned()),
            _ => {}
        }
    }
    // A presigned request without SignedHeaders signs only `host`.
    presigned.then(|| signed.unwrap_or_else(|| "host".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        map
    }

    #[test]
    fn an_added_copy_source_on_a_presigned_put_is_unsigned() {
        let query =
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=content-length%3Bcontent-md5%3Bhost%3Bx-amz-tagging&X-Amz-Signature=ab";
        let sent = headers(&[("x-amz-tagging", "a=b"), ("x-amz-copy-source", "agora/sys/session-secret"), ("content-md5", "x")]);
        assert_eq!(unsigned_amz_headers(&sent, query), vec!["x-amz-copy-source".to_string()]);
        let sent = headers(&[("x-amz-tagging", "a=b")]);
        assert!(unsigned_amz_headers(&sent, query).is_empty());
    }

    #[test]
    fn header_signed_requests_are_checked_against_their_signed_headers() {
        let auth = "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=ab";
        let sent = headers(&[
            ("authorization", auth),
            ("x-amz-date", "20260101T000000Z"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-amz-meta-owner", "mallory"),
            ("X-Amz-Acl", "public-read"),
        ]);
        assert_eq!(unsigned_amz_headers(&sent, ""), vec!["x-amz-acl".to_string(), "x-amz-meta-owner".to_string()]);
    }

    #[test]
    fn presigned_without_signed_headers_signs_only_host_and_unsigned_requests_are_left_to_s3s() {
        let sent = headers(&[("x-amz-meta-a", "1")]);
        assert_eq!(unsigned_amz_headers(&sent, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab"), vec!["x-amz-meta-a".to_string()]);
        assert!(unsigned_amz_headers(&sent, "").is_empty());
    }
}
