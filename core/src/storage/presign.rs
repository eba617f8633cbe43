//! Presigned URLs: one key, one method, minutes of validity. Signed by
//! [`super::sigv4::QuerySigner`] with keys that are static (the embedded
//! endpoint's, configured ones) or from the AWS chain, cached until shortly
//! before they expire.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use agora_model::files::md5_base64;
use agora_model::tags::{format_tagging_header, Tag};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::sigv4::{Presign, QuerySigner, SigningKeys, Target};
use super::{Storage, StorageError, StorageResult};

pub const DEFAULT_PRESIGN_EXPIRY: Duration = Duration::from_secs(15 * 60);
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(60 * 60);
/// Chain credentials are refreshed this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A validated expiry: more than zero, at most an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresignExpiry(Duration);

impl PresignExpiry {
    pub fn new(duration: Duration) -> StorageResult<Self> {
        if duration.is_zero() || duration > MAX_PRESIGN_EXPIRY {
            return Err(StorageError::Invalid(format!(
                "a presigned URL must expire within 1 to {} seconds; {} was asked for",
                MAX_PRESIGN_EXPIRY.as_secs(),
                duration.as_secs()
            )));
        }
        Ok(Self(duration))
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

impl Default for PresignExpiry {
    fn default() -> Self {
        Self(DEFAULT_PRESIGN_EXPIRY)
    }
}

/// How a presigned GET's answer is to be taken by a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// Saved under this name, never shown: anything a browser could run.
    Attachment { filename: &'a str },
    /// Shown as this type: only passive ones (see
    /// [`agora_model::files::inline_content_type`]).
    Inline { content_type: &'static str },
}

/// The body a presigned write may carry: its exact length and MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDigest {
    pub size: u64,
    pub md5: [u8; 16],
}

impl BodyDigest {
    /// The ETag S3 gives an object (or part) written in one request with
    /// these bytes: the hex MD5.
    pub fn etag(&self) -> String {
        hex::encode(self.md5)
    }
}

/// A request someone else will send: the URL, the method, and the headers
/// that were signed and must be sent exactly as given (besides
/// `content-length`, also signed, which the body sets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Where signing keys come from.
pub(crate) enum KeySource {
    Static(SigningKeys),
    /// No credentials anywhere: every presign fails with a clear message.
    Missing,
    Chain {
        provider: SharedCredentialsProvider,
        cached: Mutex<Option<(SigningKeys, Option<SystemTime>)>>,
    },
}

/// Everything presigning needs, built once per [`Storage`].
pub(crate) struct Presigner {
    pub(crate) signer: QuerySigner,
    pub(crate) target: Target,
    pub(crate) keys: KeySource,
}

impl Presigner {
    async fn keys(&self) -> StorageResult<SigningKeys> {
        let (provider, cached) = match &self.keys {
            KeySource::Static(keys) => return Ok(keys.clone()),
            KeySource::Missing => {
                return Err(StorageError::AccessDenied(
                    "no S3 credentials are configured (AGORA_S3_ACCESS_KEY_ID or the AWS chain), so no URL can be signed".into(),
                ))
            }
            KeySource::Chain { provider, cached } => (provider, cached),
        };
        if let Some((keys, expiry)) = cached.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let fresh = expiry.is_none_or(|at| at > SystemTime::now() + REFRESH_MARGIN);
            if fresh {
                return Ok(keys.clone());
            }
        }
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| StorageError::AccessDenied(format!("no credentials for signing URLs: {e}")))?;
        let keys = SigningKeys {
            access_key_id: credentials.access_key_id().to_owned(),
            secret_access_key: credentials.secret_access_key().to_owned(),
            session_token: credentials.session_token().map(str::to_owned),
        };
        *cached.lock().unwrap_or_else(|e| e.into_inner()) = Some((keys.clone(), credentials.expiry()));
        Ok(keys)
    }

    async fn presign(
        &self,
        method: &str,
        key: &str,
        params: &[(&str, &str)],
        headers: &[(&str, &str)],
        expiry: PresignExpiry,
    ) -> StorageResult<PresignedRequest> {
        let keys = self.keys().await?;
        let now = OffsetDateTime::now_utc();
        let request = Presign { method, key, params, headers, expires_secs: expiry.duration().as_secs(), now };
        let url = self.signer.presign(&self.target, &keys, &request);
        Ok(PresignedRequest {
            method: method.to_owned(),
            url,
            // `content-length` is signed but not listed: every HTTP client
            // sends it from the body (browsers refuse to set it by hand).
            headers: headers.iter().filter(|(k, _)| *k != "content-length").map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            expires_at: (now.unix_timestamp().max(0) as u64) + expiry.duration().as_secs(),
        })
    }
}

impl Storage {
    /// A PUT of one key that writes exactly `bytes`: its length and MD5
    /// are signed (`content-length`, `content-md5`), as are the content type
    /// and tags when given, so storage refuses a body of another size or
    /// other bytes. The uploader sends the returned headers as they are.
    pub async fn presign_put(
        &self,
        key: &str,
        bytes: BodyDigest,
        content_type: Option<&str>,
        tags: &[Tag],
        expiry: PresignExpiry,
    ) -> StorageResult<PresignedRequest> {
        super::check_tags(tags)?;
        let tagging = (!tags.is_empty()).then(|| format_tagging_header(tags));
        let (length, md5) = (bytes.size.to_string(), md5_base64(&bytes.md5));
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(4);
        headers.push(("content-length", &length));
        headers.push(("content-md5", &md5));
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        if let Some(tagging) = tagging.as_deref() {
            headers.push(("x-amz-tagging", tagging));
        }
        self.presigner.presign("PUT", key, &[], &headers, expiry).await
    }

    /// A GET of one key, answered with the type and disposition `delivery`
    /// says (`response-content-type` and `response-content-disposition`,
    /// signed), whatever the object was stored with.
    pub async fn presign_get(&self, key: &str, delivery: Delivery<'_>, expiry: PresignExpiry) -> StorageResult<PresignedRequest> {
        let params: Vec<(&str, String)> = match delivery {
            Delivery::Attachment { filename } => vec![("response-content-disposition", content_disposition(filename))],
            Delivery::Inline { content_type } => {
                vec![("response-content-disposition", "inline".to_owned()), ("response-content-type", content_type.to_owned())]
            }
        };
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.presigner.presign("GET", key, &params, &[], expiry).await
    }

    /// One part of a multipart upload that writes exactly `bytes` (length
    /// and MD5 signed, as for [`Storage::presign_put`]).
    pub async fn presign_upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: i32,
        bytes: BodyDigest,
        expiry: PresignExpiry,
    ) -> StorageResult<PresignedRequest> {
        let part = part_number.to_string();
        let (length, md5) = (bytes.size.to_string(), md5_base64(&bytes.md5));
        let headers = [("content-length", length.as_str()), ("content-md5", md5.as_str())];
        self.presigner.presign("PUT", key, &[("partNumber", &part), ("uploadId", upload_id)], &headers, expiry).await
    }
}

/// `attachment` with an ASCII fallback and the exact UTF-8 name (RFC 6266).
pub fn content_disposition(filename: &str) -> String {
    let fallback: String =
        filename.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    // RFC 5987 attr-chars stay as they are; everything else is %-encoded.
    const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(filename, ATTR_CHAR);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_bounded() {
        assert!(PresignExpiry::new(Duration::ZERO).is_err());
        assert!(PresignExpiry::new(Duration::from_secs(3601)).is_err());
        assert_eq!(PresignExpiry::new(Duration::from_secs(3600)).unwrap().duration().as_secs(), 3600);
        assert_eq!(PresignExpiry::default().duration(), DEFAULT_PRESIGN_EXPIRY);
    }

    #[test]
    fn content_disposition_keeps_the_name_and_stays_a_valid_header() {
        let value = content_disposition("résumé \"final\".csv");
        assert!(value.starts_with("attachment; filename=\"r_sum_ _final_.csv\""), "{value}");
        assert!(value.contains("filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.csv"), "{value}");
        assert!(value.is_ascii());
    }
}
