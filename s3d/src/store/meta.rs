//! What the store keeps about an object, next to its bytes.

use std::collections::BTreeMap;

use agora_model::tags::Tag;

use super::checksum::{Algorithm, Checksum, ChecksumType};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One immutable data file. An object's bytes are its blobs in order: one for
/// a single PUT, one per part for a multipart upload (completing an upload
/// moves the part files instead of copying them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    pub id: String,
    pub size: u64,
}

/// Headers stored with an object and returned on GET/HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectHeaders {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// `Expires`: when a cache should stop using the object.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// `x-amz-meta-*` user metadata, keys lower-cased.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// The ETag without quotes: hex MD5, or `md5-of-part-md5s-N` for multipart.
    pub etag: String,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    #[serde(default)]
    pub headers: ObjectHeaders,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    pub blobs: Vec<BlobRef>,
    /// The multipart upload this object was completed from: a retried
    /// Complete of that upload (after a crash, or a lost response) answers
    /// with this object instead of committing again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// The additional checksum it was stored with (`x-amz-checksum-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
}

impl ObjectMeta {
    /// Whether this object is what completing `upload_id` made.
    pub(crate) fn completed_from(&self, upload_id: &str) -> bool {
        self.upload_id.as_deref() == Some(upload_id)
    }
}

/// What a multipart upload remembers between its parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadMeta {
    pub upload_id: String,
    pub key: String,
    #[serde(with = "time::serde::rfc3339")]
    pub initiated: OffsetDateTime,
    #[serde(default)]
    pub headers: ObjectHeaders,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// The checksum every part carries, and how the object's is built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<(Algorithm, ChecksumType)>,
}

/// One uploaded part: the record `part-NNNNN.json`, which names the file
/// holding exactly the bytes it describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartMeta {
    pub part_number: i32,
    pub size: u64,
    /// Hex MD5 of the part, without quotes.
    pub etag: String,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
    /// The part's data file in the upload's directory, unique to this upload
    /// of the part (`part-NNNNN-{id}`). Records written before parts had
    /// unique files leave it out; theirs is `part-NNNNN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The part's additional checksum, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
}

impl PartMeta {
    pub(crate) fn file_name(&self) -> String {
        self.file.clone().unwrap_or_else(|| format!("part-{:05}", self.part_number))
    }
}
