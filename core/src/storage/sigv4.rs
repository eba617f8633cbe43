//! SigV4 query-string signing (presigned URLs), per AWS's "Authenticating
//! Requests: Using Query Parameters". Pure computation: the signing key is
//! derived once per day and region and cached, so one URL costs one SHA-256
//! and one HMAC.

use std::fmt::Write as _;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// Where requests go and how the bucket appears in their URL.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: String,
    /// `host` or `host:port`, as the Host header carries it.
    pub authority: String,
    pub bucket: String,
    /// `bucket.host/key` instead of `host/bucket/key`.
    pub virtual_hosted: bool,
}

impl Target {
    /// Parses `scheme://host[:port]` (anything after the authority is ignored).
    pub fn from_endpoint(endpoint: &str, bucket: &str, virtual_hosted: bool) -> Option<Target> {
        let (scheme, rest) = endpoint.split_once("://")?;
        let authority = rest.split('/').next()?.to_owned();
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        let authority = authority.strip_suffix(default_port).map(str::to_owned).unwrap_or(authority);
        (!authority.is_empty()).then(|| Target { scheme: scheme.to_owned(), authority, bucket: bucket.to_owned(), virtual_hosted })
    }

    /// The origin presigned URLs point at: what browsers upload to and
    /// download from.
    pub fn origin(&self) -> String {
        if self.virtual_hosted {
            format!("{}://{}.{}", self.scheme, self.bucket, self.authority)
        } else {
            format!("{}://{}", self.scheme, self.authority)
        }
    }

    fn host_and_path(&self, key: &str) -> (String, String) {
        let mut path = String::with_capacity(key.len() + self.bucket.len() + 2);
        path.push('/');
        if self.virtual_hosted {
            encode_into(key, true, &mut path);
            (format!("{}.{}", self.bucket, self.authority), path)
        } else {
            encode_into(&self.bucket, true, &mut path);
            path.push('/');
            encode_into(key, true, &mut path);
            (self.authority.clone(), path)
        }
    }
}

/// Keys to sign with.
#[derive(Clone)]
pub struct SigningKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

pub struct QuerySigner {
    region: String,
    /// (yyyymmdd, secret it was derived from, derived key)
    day_key: Mutex<Option<(String, String, [u8; 32])>>,
}

/// One presigned request's parts.
pub struct Presign<'a> {
    pub method: &'a str,
    pub key: &'a str,
    /// Operation parameters (`uploadId`, `partNumber`, `response-…`).
    pub params: &'a [(&'a str, &'a str)],
    /// Headers the sender must send as given (lower-case names).
    pub headers: &'a [(&'a str, &'a str)],
    pub expires_secs: u64,
    pub now: OffsetDateTime,
}

impl QuerySigner {
    pub fn new(region: impl Into<String>) -> Self {
        Self { region: region.into(), day_key: Mutex::new(None) }
    }

    /// The presigned URL for `request`.
    pub fn presign(&self, target: &Target, keys: &SigningKeys, request: &Presign<'_>) -> String {
        let now = request.now.to_offset(time::UtcOffset::UTC);
        let date = format!("{:04}{:02}{:02}", now.year(), u8::from(now.month()), now.day());
        let amz_date = format!("{date}T{:02}{:02}{:02}Z", now.hour(), now.minute(), now.second());
        let scope = format!("{date}/{}/s3/aws4_request", self.region);
        let (host, path) = target.host_and_path(request.key);

        let mut headers: Vec<(String, String)> = Vec::with_capacity(request.headers.len() + 1);
        headers.push(("host".into(), host.clone()));
        headers.extend(request.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned())));
        headers.sort();
        let signed_headers = headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");

        let credential = format!("{}/{scope}", keys.access_key_id);
        let expires = request.expires_secs.to_string();
        let mut query: Vec<(String, String)> = vec![
            ("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()),
            ("X-Amz-Credential".into(), credential),
            ("X-Amz-Date".into(), amz_date.clone()),
            ("X-Amz-Expires".into(), expires),
            ("X-Amz-SignedHeaders".into(), signed_headers.clone()),
        ];
        if let Some(token) = &keys.session_token {
            query.push(("X-Amz-Security-Token".into(), token.clone()));
        }
        query.extend(request.params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut encoded: Vec<(String, String)> = query.iter().map(|(k, v)| (encode(k, false), encode(v, false))).collect();
        encoded.sort();
        let mut canonical_query = String::with_capacity(512);
        for (i, (k, v)) in encoded.iter().enumerate() {
            if i > 0 {
                canonical_query.push('&');
            }
            canonical_query.push_str(k);
            canonical_query.push('=');
            canonical_query.push_str(v);
        }

        let mut canonical = String::with_capacity(1024);
        let _ = write!(canonical, "{}\n{path}\n{canonical_query}\n", request.method);
        for (k, v) in &headers {
            let _ = writeln!(canonical, "{k}:{v}");
        }
        let _ = write!(canonical, "\n{signed_headers}\nUNSIGNED-PAYLOAD");

        let string_to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let signing_key = self.signing_key(&date, &keys.secret_access_key);
        let mut mac = HmacSha256::new_from_slice(&signing_key).expect("HMAC takes any key length");
        mac.update(string_to_sign.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());

        format!("{}://{host}{path}?{canonical_query}&X-Amz-Signature={signature}", target.scheme)
    }

    fn signing_key(&self, date: &str, secret: &str) -> [u8; 32] {
        let mut cached = self.day_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((day, from, key)) = cached.as_ref() {
            if day == date && from == secret {
                return *key;
            }
        }
        let hmac = |key: &[u8], data: &str| -> [u8; 32] {
            let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(data.as_bytes());
            mac.finalize().into_bytes().into()
        };
        let k_date = hmac(format!("AWS4{secret}").as_bytes(), date);
        let k_region = hmac(&k_date, &self.region);
        let k_service = hmac(&k_region, "s3");
        let key = hmac(&k_service, "aws4_request");
        *cached = Some((date.to_owned(), secret.to_owned(), key));
        key
    }
}

/// URI-encodes per SigV4: unreserved characters stay, `/` stays in paths.
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    encode_into(s, keep_slash, &mut out);
    out
}

fn encode_into(s: &str, keep_slash: bool, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published example of a presigned GET ("Authenticating Requests:
    /// Using Query Parameters", example: GET examplebucket/test.txt).
    #[test]
    fn matches_the_aws_documentation_example() {
        let signer = QuerySigner::new("us-east-1");
        let target = Target::from_endpoint("https://s3.amazonaws.com", "examplebucket", true).unwrap();
        let keys = SigningKeys {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let now = OffsetDateTime::from_unix_timestamp(1_369_353_600).unwrap(); // 2013-05-24T00:00:00Z
        let url = signer.presign(
            &target,
            &keys,
            &Presign { method: "GET", key: "test.txt", params: &[], headers: &[], expires_secs: 86400, now },
        );
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn keys_are_encoded_segment_by_segment() {
        assert_eq!(encode("ds/1/a b+c/ünï.txt", true), "ds/1/a%20b%2Bc/%C3%BCn%C3%AF.txt");
        assert_eq!(encode("a/b=c&d", false), "a%2Fb%3Dc%26d");
    }

    #[test]
    fn default_ports_are_dropped_from_the_host() {
        assert_eq!(Target::from_endpoint("https://s3.example.com:443", "b", false).unwrap().authority, "s3.example.com");
        assert_eq!(Target::from_endpoint("http://127.0.0.1:3900", "b", false).unwrap().authority, "127.0.0.1:3900");
        assert!(Target::from_endpoint("nonsense", "b", false).is_none());
    }
}
