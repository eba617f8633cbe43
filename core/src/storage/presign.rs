//! Presigned URLs: one key, one method, minutes of validity.

use std::time::{Duration, SystemTime};

use agora_model::tags::{format_tagging_header, Tag};
use aws_sdk_s3::presigning::PresigningConfig;
use serde::{Deserialize, Serialize};

use super::{Storage, StorageError, StorageResult};

pub const DEFAULT_PRESIGN_EXPIRY: Duration = Duration::from_secs(15 * 60);
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(60 * 60);

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

/// A request someone else will send: the URL, the method, and the headers
/// that were signed and must be sent exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Unix seconds.
    pub expires_at: u64,
}

fn presigning(expiry: PresignExpiry) -> StorageResult<PresigningConfig> {
    PresigningConfig::expires_in(expiry.duration()).map_err(|e| StorageError::Invalid(e.to_string()))
}

fn into_request(presigned: aws_sdk_s3::presigning::PresignedRequest, expiry: PresignExpiry) -> PresignedRequest {
    let expires_at = SystemTime::now().checked_add(expiry.duration()).unwrap_or(SystemTime::now());
    PresignedRequest {
        method: presigned.method().to_owned(),
        url: presigned.uri().to_owned(),
        headers: presigned.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        expires_at: expires_at.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default(),
    }
}

impl Storage {
    /// A PUT of one key. Content type and tags, when given, are signed: the
    /// uploader must send them as returned.
    pub async fn presign_put(&self, key: &str, content_type: Option<&str>, tags: &[Tag], expiry: PresignExpiry) -> StorageResult<PresignedRequest> {
        super::check_tags(tags)?;
        let mut request = self.presigner.put_object().bucket(&self.bucket).key(key);
        if let Some(content_type) = content_type {
            request = request.content_type(content_type);
        }
        if !tags.is_empty() {
            request = request.tagging(format_tagging_header(tags));
        }
        let presigned = request.presigned(presigning(expiry)?).await.map_err(StorageError::from_sdk)?;
        Ok(into_request(presigned, expiry))
    }

    /// A GET of one key; with `filename`, browsers save it under that name.
    pub async fn presign_get(&self, key: &str, filename: Option<&str>, expiry: PresignExpiry) -> StorageResult<PresignedRequest> {
        let mut request = self.presigner.get_object().bucket(&self.bucket).key(key);
        if let Some(name) = filename {
            request = request.response_content_disposition(content_disposition(name));
        }
        let presigned = request.presigned(presigning(expiry)?).await.map_err(StorageError::from_sdk)?;
        Ok(into_request(presigned, expiry))
    }

    /// One part of a multipart upload.
    pub async fn presign_upload_part(&self, key: &str, upload_id: &str, part_number: i32, expiry: PresignExpiry) -> StorageResult<PresignedRequest> {
        let presigned = self
            .presigner
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .presigned(presigning(expiry)?)
            .await
            .map_err(StorageError::from_sdk)?;
        Ok(into_request(presigned, expiry))
    }
}

/// `attachment` with an ASCII fallback and the exact UTF-8 name (RFC 6266).
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    // RFC 5987 attr-chars stay as they are; everything else is %-encoded.
    const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!').remove(b'#').remove(b'$').remove(b'&').remove(b'+').remove(b'-')
        .remove(b'.').remove(b'^').remove(b'_').remove(b'`').remove(b'|').remove(b'~');
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
